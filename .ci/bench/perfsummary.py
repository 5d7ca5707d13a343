#!/usr/bin/env python3
"""Summarizes `perf script -F comm,tid,ip,sym,dso` of ecom serve: the share of samples by the
function of ecom nearest the sampled instruction, then, for each regular expression given, the
share of samples with a frame whose mangled name matches it (and their leaves).

With --postgres, of PostgreSQL's processes instead (samples of other commands are left out): the
share of samples by what the server was doing, from the frames of its own functions, then by
the function sampled."""
import collections
import re
import subprocess
import sys


def samples(path, command=None):
    """Each sample's frames, innermost first, as (symbol, dso); only those of `command` if given."""
    stack = None
    frame = re.compile(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")
    for line in open(path, errors="replace"):
        if not line.strip():
            if stack is not None:
                yield stack
            stack = None
        elif not line[0].isspace():
            stack = [] if command is None or line.split()[0] == command else None
        elif stack is not None and (match := frame.match(line)):
            stack.append((match.group(1), match.group(2)))
    if stack:
        yield stack


# What a PostgreSQL backend was doing, by the first of these functions found in a sample's
# frames, in this order (a constraint check runs inside the executor, which runs inside a portal).
POSTGRES_PHASES = [
    ("flushing WAL to disk at commit", {"XLogFlush"}),
    ("CHECK constraints, read and compiled for each statement", {"ExecConstraints"}),
    ("foreign-key checks and other after-statement triggers", {"AfterTriggerEndQuery", "standard_ExecutorFinish"}),
    ("executor start-up (each plan's nodes)", {"standard_ExecutorStart"}),
    ("executor shut-down", {"standard_ExecutorEnd"}),
    ("executing the statements", {"standard_ExecutorRun", "PortalRun"}),
    ("committing (the rest)", {"CommitTransactionCommand"}),
    ("reading the client's messages", {"pq_getbyte", "pq_getmessage", "secure_read"}),
    ("sending results", {"pq_flush", "secure_write", "SendRowDescriptionMessage"}),
    ("parameters from their text (uuid, arrays…)", {"OidInputFunctionCall", "getTypeInputInfo"}),
    ("the plan cache and portals", {"GetCachedPlan", "FetchPreparedStatement", "CreatePortal", "PortalStart", "PortalDrop"}),
    ("parsing and planning", {"pg_parse_query", "pg_analyze_and_rewrite_varparams", "pg_plan_queries"}),
    ("starting transactions and snapshots", {"StartTransactionCommand", "GetTransactionSnapshot"}),
    ("background processes (WAL writer, checkpointer, autovacuum…)", {"AuxiliaryProcessMain", "AutoVacWorkerMain", "StartBackgroundWorker"}),
]


def postgres(path):
    stacks = list(samples(path, command="postgres"))
    total = len(stacks) or 1
    phases = collections.Counter()
    for stack in stacks:
        names = {symbol for symbol, _ in stack}
        phases[next((phase for phase, functions in POSTGRES_PHASES if names & functions), "other")] += 1
    print(f"{len(stacks)} samples of PostgreSQL's processes; by what the server was doing:")
    for phase, count in phases.most_common():
        print(f"{100.0 * count / total:6.2f} %  {phase}")
    print("\nby the function sampled:")
    show(collections.Counter(stack[0][0] for stack in stacks if stack), total, 25)


def demangled(names):
    result = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names),
                            capture_output=True, text=True)
    return result.stdout.split("\n") if result.returncode == 0 else names


def show(counter, total, limit):
    top = counter.most_common(limit)
    for (name, count), readable in zip(top, demangled([name for name, _ in top])):
        print(f"{100.0 * count / total:6.2f} %  {readable[:160]}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--postgres":
        return postgres(sys.argv[2])
    if len(sys.argv) < 2:
        sys.exit("usage: perfsummary.py SAMPLES.txt [REGEX…] | perfsummary.py --postgres SAMPLES.txt")
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
