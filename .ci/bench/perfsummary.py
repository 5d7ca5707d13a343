#!/usr/bin/env python3
"""Summarizes `perf script -F comm,tid,ip,sym,dso` of ecom serve: the share of samples by the
function of ecom nearest the sampled instruction, then, for each regular expression given, the
share of samples with a frame whose mangled name matches it (and their leaves)."""
import collections
import re
import subprocess
import sys


def samples(path):
    stack = None
    frame = re.compile(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")
    for line in open(path, errors="replace"):
        if not line.strip():
            if stack is not None:
                yield stack
            stack = None
        elif not line[0].isspace():
            stack = []
        elif stack is not None and (match := frame.match(line)):
            stack.append((match.group(1), match.group(2)))
    if stack:
        yield stack


def demangled(names):
    result = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names),
                            capture_output=True, text=True)
    return result.stdout.split("\n") if result.returncode == 0 else names


def show(counter, total, limit):
    top = counter.most_common(limit)
    for (name, count), readable in zip(top, demangled([name for name, _ in top])):
        print(f"{100.0 * count / total:6.2f} %  {readable[:160]}")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: perfsummary.py SAMPLES.txt [REGEX…]")
    stacks = list(samples(sys.argv[1]))
    total = len(stacks) or 1
    ecom = re.compile(r"^\$s\d+Ecom")
    nearest = collections.Counter()
    for stack in stacks:
        nearest[next((symbol for symbol, dso in stack if dso.endswith("/ecom") and ecom.match(symbol)),
                     "(no frame of ecom's own modules)")] += 1
    print(f"{len(stacks)} samples; by the nearest function of ecom's modules:")
    show(nearest, total, 30)
    for pattern in sys.argv[2:]:
        wanted = re.compile(pattern)
        leaves = collections.Counter()
        for stack in stacks:
            if any(wanted.search(symbol) for symbol, _ in stack):
                leaves[stack[0][0]] += 1
        print(f"\n{pattern}: {100.0 * sum(leaves.values()) / total:.2f} % of the samples; their leaves:")
        show(leaves, total, 8)


if __name__ == "__main__":
    main()
