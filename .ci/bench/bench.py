#!/usr/bin/env python3
"""ecom's benchmarks: starts release `ecom serve` processes against a real PostgreSQL (and
RabbitMQ), seeds them through the API, measures, and prints a table of figures.

`.ci/bench/run` builds the binaries, starts the throwaway servers and calls this with their
URLs in the environment; run that, not this file. Only the Python standard library, `wrk`,
`curl` and `psql` are used. Nothing here ever fails on a timing: a missed target is a
figure in the table, not an exit status.
"""

import argparse
import contextlib
import http.client
import http.server
import json
import os
import platform
import random
import re
import secrets
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

SERVICES = ["gateway", "users", "products", "cart", "orders", "notifications"]

# Targets from the issues, for a 2-core machine.
TARGET_READ_GAIN = {"catalog": 3.0, "product": 2.0, "cart": 3.0}
TARGET_HEALTH_OF_CEILING = 0.50
TARGET_READ_P99_MS = {"catalog": 20, "product": 20, "cart": 50, "health": 20}
TARGET_STALENESS_P99_MS = 100
TARGET_ORDERS_PER_S = 500
TARGET_COMMITS_PER_ORDER = 8
TARGET_STATEMENTS_PER_ORDER = 25
TARGET_LAG_P99_LOCAL_MS = 50
TARGET_LAG_P99_AMQP_MS = 100
TARGET_BROWSE_RATIO = 2.0
TARGET_CLI_RATIO = 2.0
TARGET_CLI_RSS_MB = 30
TARGET_CLI_START_MS = 12
TARGET_REPL_PROMPT_MS = 50
TARGET_STREAM_LAG_P99_MS = 100
TARGET_EVENTS_OVERHEAD = 0.10
TARGET_RSS_IDLE_MB = 80
TARGET_RSS_LOAD_MB = 250


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- HTTP ----------------------------------------------------------------------------------


class Client:
    """One keep-alive connection to a base URL; reconnects after an error."""

    def __init__(self, base, timeout=30):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self.connection = None

    def request(self, method, path, body=None, headers=None):
        """(status, decoded JSON or None, seconds)."""
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            start = time.perf_counter()
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise
                continue
            elapsed = time.perf_counter() - start
            decoded = None
            if raw and response.getheader("Content-Type", "").startswith("application/json"):
                decoded = json.loads(raw)
            return response.status, decoded, elapsed
        raise RuntimeError("unreachable")

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def expect(status, body, wanted, what):
    if status not in wanted:
        raise RuntimeError(f"{what}: HTTP {status} {json.dumps(body)[:300] if body else ''}")
    return body


def wait_for(url, seconds, process=None):
    """Polls url until it answers 200; fails early if process died."""
    deadline = time.monotonic() + seconds
    client = Client(url, timeout=2)
    path = urlsplit(url).path or "/"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode} while starting")
        try:
            status, _, _ = client.request("GET", path)
            if status == 200:
                client.close()
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {seconds} s")


# --- processes -----------------------------------------------------------------------------


def free_port():
    """A port from .ci/bench/run's list (ecom_free_port), else one the kernel picks."""
    pool = os.environ.get("BENCH_PORTS", "").split()
    free_port.used = getattr(free_port, "used", set())
    for text in pool:
        if text not in free_port.used:
            free_port.used.add(text)
            return int(text)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def process_cpu_seconds(pid):
    """User and system CPU a process has used, in seconds (its threads included)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def as_remote_client():
    """`preexec_fn` of a child started with `start_new_session` that stands in for a client on
    another machine (the stream readers, the webhook receiver): the lowest CPU priority, for its
    session's scheduling group as well as for itself. With autogroup scheduling
    (`kernel.sched_autogroup_enabled`, Debian's default) the kernel shares the cores between
    sessions first, and nice counts only within one: a niced child in the bench's session took
    what ecom serve and the buyers left of that session's share. Kernels without autogroup have
    no /proc/self/autogroup, and nice alone does it there."""
    try:
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write("19")
    except OSError:
        pass
    os.nice(19)


def machine_busy_seconds():
    """CPU the machine spent in user and system time, niced processes (the bench's stand-ins for
    remote clients) left out: /proc/stat counts their user time apart, as `nice`."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    user, _nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


class RSSSampler:
    """Samples a process's resident memory every 100 ms while in a `with` block; keeps the peak."""

    peak_kib = 0

    def __init__(self, pid):
        self.pid = pid
        self.stopped = threading.Event()

    def __enter__(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def run(self):
        while not self.stopped.wait(0.1):
            value = rss_kib(self.pid)
            if value:
                self.peak_kib = max(self.peak_kib, value)

    def __exit__(self, *_):
        self.stopped.set()
        self.thread.join()


def serve_environment(secret, admin, log_level, ports, amqp_url=None, pool_size=None):
    """The environment of an `ecom serve` on `ports`, none of the caller's ecom settings leaking in."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("ECOM_") and key not in {"DB_URL", "DATABASE_URL", "RABBITMQ_URL", "SECRET_KEY", "PORT", "HOST"}}
    env.update(
        SECRET_KEY=secret,
        PORT=str(ports["gateway"]),
        ECOM_ADMIN_EMAIL=admin[0],
        ECOM_ADMIN_PASSWORD=admin[1],
        LOG_LEVEL=log_level,
    )
    if pool_size:
        env["ECOM_DB_POOL_SIZE"] = str(pool_size)
    for service in SERVICES[1:]:
        env[f"ECOM_{service.upper()}_PORT"] = str(ports[service])
    if amqp_url:
        env["ECOM_AMQP_URL"] = amqp_url
    # The events phase's webhook receiver listens on loopback over plain HTTP.
    env["ECOM_WEBHOOK_ALLOW_INSECURE"] = "1"
    return env


class ServeProcess:
    """One release `ecom serve` process, ready once every URL of `ready` answers `/ready` with 200."""

    def __init__(self, binary, name, workdir, env, only=(), ready=()):
        self.binary, self.name, self.env, self.only, self.ready = binary, name, env, list(only), list(ready)
        self.log_path = os.path.join(workdir, f"serve-{name}.log")
        self.process = None
        self.peak_kib = 0

    def launch(self):
        self.log_file = open(self.log_path, "ab")
        arguments = [argument for service in self.only for argument in ("--only", service)]
        self.process = subprocess.Popen(
            [self.binary, "serve", *arguments], env=self.env, stdin=subprocess.DEVNULL, stdout=self.log_file,
            stderr=self.log_file)

    def wait_ready(self):
        try:
            for url in self.ready:
                wait_for(url + "/ready", 180, self.process)
        except RuntimeError:
            log(f"ecom serve ({self.name}) did not get ready; last lines of {self.log_path}:")
            subprocess.run(["tail", "-n", "20", self.log_path], stdout=sys.stderr)
            raise

    def start(self):
        self.launch()
        self.wait_ready()

    @property
    def rss_kib(self):
        return rss_kib(self.process.pid)

    def sampling(self):
        """RSS sampling for a load phase; the peak is folded into self.peak_kib."""
        server = self

        class Sampler(RSSSampler):
            def __exit__(self, *exc):
                super().__exit__(*exc)
                server.peak_kib = max(server.peak_kib, self.peak_kib)

        return Sampler(self.process.pid)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log_file.close()


class Server(ServeProcess):
    """A release `ecom serve` (all in one) on free ports with its own databases."""

    def __init__(self, binary, name, database_url, workdir, amqp_url=None, log_level="info", pool_size=None):
        self.ports = {service: free_port() for service in SERVICES}
        self.admin = (f"admin-{name}@bench.example", "bench-admin-" + secrets.token_hex(8))
        self.secret = secrets.token_urlsafe(48)
        self.database_prefix = f"bench_{name}_{secrets.token_hex(3)}"
        self.database_url = replace_database(database_url, self.database_prefix)
        env = serve_environment(self.secret, self.admin, log_level, self.ports, amqp_url, pool_size)
        env["DB_URL"] = self.database_url
        # An earlier build measured for before and after may have no notifications service.
        help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
        services = [service for service in SERVICES if service != "notifications" or service in help_text]
        super().__init__(binary, name, workdir, env, ready=[self.url(service) for service in services])

    def url(self, service="gateway"):
        return f"http://127.0.0.1:{self.ports[service]}"

    def database(self, service):
        return replace_database(self.database_url, f"{self.database_prefix}_{service}")

    def second_products(self, amqp_url, log_level):
        """Another products process on this server's products database, as a second replica of
        the service would run. It holds its events in the outbox (ECOM_HOLD_EVENTS), where this
        server's relay takes them, so the checkout saga stays whole; it needs the broker only
        because `--only products` refuses in-process events."""
        ports = {**self.ports, "products": free_port()}
        env = serve_environment(self.secret, self.admin, log_level, ports, amqp_url)
        env.update(DB_URL=self.database("products"), ECOM_HOLD_EVENTS="1")
        return ServeProcess(self.binary, f"{self.name}-products-2", os.path.dirname(self.log_path), env,
                            only=["products"], ready=[f"http://127.0.0.1:{ports['products']}"])


class Split:
    """One release `ecom serve --only <service>` per service, all on one database and one broker:
    the deployment where every call between services is an HTTP request."""

    def __init__(self, binary, name, database_url, workdir, amqp_url, log_level="info"):
        self.ports = {service: free_port() for service in SERVICES}
        self.admin = (f"admin-{name}@bench.example", "bench-admin-" + secrets.token_hex(8))
        self.secret = secrets.token_urlsafe(48)
        self.database_name = f"bench_{name}_{secrets.token_hex(3)}"
        self.server_url = database_url
        database = replace_database(database_url, self.database_name)
        self.processes = {}
        for service in SERVICES:
            env = serve_environment(self.secret, self.admin, log_level, self.ports, amqp_url)
            if service != "gateway":
                env["DB_URL"] = database
            self.processes[service] = ServeProcess(
                binary, f"{name}-{service}", workdir, env, only=[service], ready=[self.url(service)])

    def url(self, service="gateway"):
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self):
        # Made beforehand, as an operator would: five processes creating it at once would race.
        psql(self.server_url, f"CREATE DATABASE {self.database_name}")
        for process in self.processes.values():
            process.launch()
        for process in self.processes.values():
            process.wait_ready()

    def sampling(self):
        """RSS sampling of every process for a load phase."""
        samplers = contextlib.ExitStack()
        for process in self.processes.values():
            samplers.enter_context(process.sampling())
        return samplers

    def stop(self):
        for process in reversed(list(self.processes.values())):
            process.stop()


def replace_database(url, name):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def psql(url, sql):
    """Rows of a query as lists of strings."""
    out = subprocess.run(
        ["psql", url, "-X", "-A", "-t", "-q", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"psql: {out.stderr.strip()}")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


# --- wrk -----------------------------------------------------------------------------------

WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


class WrkResult:
    def __init__(self, rps, p50, p99, requests, non_2xx, socket_errors):
        self.rps, self.p50, self.p99, self.requests = rps, p50, p99, requests
        self.non_2xx, self.socket_errors = non_2xx, socket_errors

    @property
    def bad(self):
        return self.non_2xx + self.socket_errors

    def __repr__(self):
        return f"{self.rps:.0f} req/s p50 {self.p50:.2f} ms p99 {self.p99:.2f} ms ({self.bad} bad)"

    def as_dict(self):
        return {"rps": self.rps, "p50_ms": self.p50, "p99_ms": self.p99, "requests": self.requests, "bad": self.bad,
                "non_2xx": self.non_2xx, "socket_errors": self.socket_errors}


def run_wrk(url, connections, duration, script=None, script_args=(), headers=()):
    threads = min(connections, max(1, os.cpu_count() or 1))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "10s"]
    for header in headers:
        command += ["-H", header]
    if script:
        command += ["-s", script]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    out = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
    text = out.stdout
    if out.returncode != 0 or "Requests/sec" not in text:
        raise RuntimeError(f"wrk failed: {out.stderr.strip() or text.strip()}")

    def latency(percentile):
        match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        return float(match.group(1)) * WRK_UNITS[match.group(2)]

    requests = int(re.search(r"(\d+) requests in", text).group(1))
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    non_2xx = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    socket_errors = sum(int(g) for g in match.groups()) if match else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    return WrkResult(rps, latency(50), latency(99), requests, non_2xx, socket_errors)


def best_of(runs, measure):
    """Runs `measure` `runs` times and keeps the median run by throughput."""
    results = sorted((measure() for _ in range(runs)), key=lambda result: result.rps)
    return results[len(results) // 2]


# --- data ----------------------------------------------------------------------------------

ADJECTIVES = """Aurora Pulse Summit Harbor Cedar Nimbus Quartz Ember Atlas Meadow Polar Vertex Willow
Cobalt Drift Falcon Granite Halo Ivory Juniper Kestrel Lumen Maple Nova Onyx Prairie Quill Ridge Sierra
Tundra Umber Vale Wren Zephyr Alder Birch Canyon Delta Echo Fjord""".split()
NOUNS = """Headphones Kettle Backpack Lamp Blender Jacket Skillet Speaker Notebook Tent Bottle Watch
Keyboard Mug Pillow Scarf Toaster Router Charger Boots Helmet Drone Camera Grinder Thermos Blanket Easel
Trowel Hammock Lantern Compass Satchel Kayak Tripod Monitor Printer Desk Chair Shelf Rug""".split()
MATERIALS = """steel oak bamboo wool linen leather cotton aluminium ceramic glass copper walnut
canvas silicone granite cork hemp titanium""".split()
FEATURES = [
    "Folds flat for travel", "Dishwasher safe", "Two-year warranty", "Charges in under an hour",
    "Water-resistant", "Made to last", "Quiet in use", "Fits in a carry-on", "Easy to clean",
    "Ships in recycled packaging",
]
SEARCH_TERM = "kettle"


def catalog(start, count, seed=7):
    """Products start..start+count, the same on every run."""
    rng = random.Random(seed * 1_000_003 + start)
    products = []
    for number in range(start, start + count):
        adjective, noun, material = rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(MATERIALS)
        products.append({
            "sku": f"BENCH-{number:06d}",
            "name": f"{adjective} {noun} {rng.randint(100, 999)}",
            "description": f"{adjective} {noun.lower()} in {material}. {rng.choice(FEATURES)}. {rng.choice(FEATURES)}.",
            "price_cents": rng.randint(199, 199_999),
            "stock": 1_000_000,
            "is_active": True,
        })
    return products


def import_catalog(server, token, start, count, batch=10_000):
    client = Client(server.url(), timeout=600)
    for offset in range(start, start + count, batch):
        size = min(batch, start + count - offset)
        status, body, _ = client.request(
            "POST", "/admin/products/import", {"products": catalog(offset, size)}, {"Authorization": f"Bearer {token}"})
        expect(status, body, {200}, "catalog import")
    client.close()


def login(client, email, password):
    status, body, _ = client.request("POST", "/api/login", {"email": email, "password": password})
    return expect(status, body, {200}, f"login {email}")["token"]


def register_users(server, count, tag):
    """count users with their passwords and access tokens."""
    client = Client(server.url())
    users = []
    for index in range(count):
        email, password = f"{tag}-{index}-{secrets.token_hex(3)}@bench.example", "bench-password-" + secrets.token_hex(6)
        status, body, _ = client.request("POST", "/api/users", {"email": email, "password": password})
        expect(status, body, {201}, f"register {email}")
        users.append({"email": email, "password": password, "token": login(client, email, password)})
    client.close()
    return users


def product_ids(server, limit=100):
    client = Client(server.url())
    status, body, _ = client.request("GET", f"/api/products?limit={limit}")
    client.close()
    return [item["id"] for item in expect(status, body, {200}, "product list")["items"]]


# --- load drivers --------------------------------------------------------------------------


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def run_threads(count, target):
    threads = [threading.Thread(target=target, args=(index,), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_users(server, users, session):
    """One thread and keep-alive connection per user. `session(index, client)` is a generator
    that makes requests and yields, for each, the key it counts under and its latency (None to
    leave it out of the latencies). Returns the seconds taken, the counts and the latencies."""
    statuses, latencies, lock = {}, [], threading.Lock()

    def worker(index):
        client = Client(server.url())
        mine = []
        for key, elapsed in session(index, client):
            with lock:
                statuses[key] = statuses.get(key, 0) + 1
            if elapsed is not None:
                mine.append(elapsed)
        client.close()
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    run_threads(len(users), worker)
    return time.monotonic() - started, statuses, latencies


def checkout_load(server, users, products, duration, rate=None):
    """Each user in a thread of its own: add a line to the cart, check out, again, until the
    time is up; as fast as they can, or together at `rate` checkouts a second. Returns
    client-side figures; confirmation is read from the orders database."""
    start = time.monotonic()
    deadline = start + duration

    def session(index, client):
        auth = {"Authorization": f"Bearer {users[index]['token']}"}
        rng = random.Random(index)
        interval = len(users) / rate if rate else 0
        next_at = start + index * interval / len(users)
        while time.monotonic() < deadline:
            if rate:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                next_at += interval
                if next_at - interval >= deadline:
                    break
            status, _, _ = client.request(
                "POST", "/api/cart/items", {"product_id": rng.choice(products), "quantity": 1}, auth)
            if status not in (200, 201):
                yield f"cart {status}", None
                continue
            status, _, elapsed = client.request(
                "POST", "/api/orders", None, {**auth, "Idempotency-Key": str(uuid.uuid4())})
            yield status, elapsed if status == 201 else None

    elapsed, statuses, latencies = run_users(server, users, session)
    return {
        "workers": len(users),
        "seconds": elapsed,
        "created": statuses.get(201, 0),
        "statuses": {str(k): v for k, v in statuses.items()},
        "checkout_p50_ms": percentile(latencies, 0.5) * 1000,
        "checkout_p99_ms": percentile(latencies, 0.99) * 1000,
    }


def settle_orders(server, since, seconds=120):
    """Waits until no order made since `since` is pending; then the confirmation figures,
    computed from the orders' own timestamps (created_at is set by the transaction that writes
    the order, updated_at by the one that confirms it)."""
    url = server.database("orders")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pending = int(psql(url, f"SELECT count(*) FROM orders.orders WHERE status = 'pending' AND created_at >= '{since}'")[0][0])
        if pending == 0:
            break
        time.sleep(0.5)
    row = psql(url, f"""
        SELECT count(*) FILTER (WHERE status = 'confirmed'),
               count(*) FILTER (WHERE status = 'pending'),
               count(*) FILTER (WHERE status NOT IN ('confirmed', 'pending')),
               COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at))
                   FILTER (WHERE status = 'confirmed'), 0) * 1000,
               COALESCE(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at))
                   FILTER (WHERE status = 'confirmed'), 0) * 1000,
               COALESCE(extract(epoch FROM max(updated_at) FILTER (WHERE status = 'confirmed') - min(created_at)), 0)
        FROM orders.orders WHERE created_at >= '{since}'""")[0]
    confirmed, pending, other = int(row[0]), int(row[1]), int(row[2])
    span = float(row[5])
    return {
        "confirmed": confirmed, "pending": pending, "other": other,
        "lag_p50_ms": float(row[3]), "lag_p99_ms": float(row[4]),
        "span_s": span, "confirmed_per_s": confirmed / span if span > 0 else 0.0,
    }


def saga_hops(server, since):
    """Where each confirmed order's lag went, from the timestamps the saga leaves: the order's
    transaction start (orders.created_at), the start of the products transaction that reserved
    it (the created_at of its stock.reserved in the products outbox), and the start of the orders
    transaction that confirmed it (updated_at). Percentiles in ms per hop, over orders made since
    `since`."""
    epoch = lambda column: f"extract(epoch FROM {column}) * 1000"
    orders_db, products_db = server.database("orders"), server.database("products")
    orders = {row[0]: (float(row[1]), float(row[2])) for row in psql(orders_db, f"""
        SELECT id, {epoch('created_at')}, {epoch('updated_at')} FROM orders.orders
        WHERE status = 'confirmed' AND created_at >= '{since}'""")}
    reserved = {row[0]: float(row[1]) for row in psql(products_db, f"""
        SELECT body::json -> 'data' ->> 'order_id', {epoch('created_at')} FROM products.outbox
        WHERE routing_key = 'stock.reserved' AND created_at >= '{since}'""")}
    hops = {"order → reservation begins": [], "→ confirmation begins": []}
    for order, (start, confirmed) in orders.items():
        if order not in reserved:
            continue
        hops["order → reservation begins"].append(reserved[order] - start)
        hops["→ confirmation begins"].append(confirmed - reserved[order])
    return {name: {"p50": percentile(values, 0.5), "p99": percentile(values, 0.99), "orders": len(values)}
            for name, values in hops.items()}


def database_activity(server):
    """Transactions committed, statements run (BEGIN, COMMIT and ROLLBACK aside) and transaction
    blocks begun (BEGIN … COMMIT: the other commits are statements that committed on their own,
    one round trip each) so far in the store's databases (those named after the server);
    statements and blocks are None where pg_stat_statements is not loaded."""
    url = server.database("orders")
    mine = f"SELECT oid FROM pg_database WHERE datname LIKE '{server.database_prefix}%'"
    commits = int(psql(url, f"SELECT COALESCE(sum(xact_commit), 0) FROM pg_stat_database WHERE datid IN ({mine})")[0][0])
    try:
        psql(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        by_query = {
            (row[0], row[1]): (int(row[2]), row[3], int(row[4]), float(row[5]))
            for row in psql(url, rf"""SELECT substr(d.datname, {len(server.database_prefix) + 2}), s.queryid, s.calls,
                left(regexp_replace(s.query, '\s+', ' ', 'g'), 150), s.plans, s.total_exec_time + s.total_plan_time
                FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE s.dbid IN ({mine})
                AND s.query !~* '^\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION)\M'""")
        }
        statements = sum(calls for calls, _, _, _ in by_query.values())
        blocks = int(psql(url, rf"""SELECT COALESCE(sum(s.calls), 0) FROM pg_stat_statements s WHERE s.dbid IN ({mine})
            AND s.query ~* '^\s*(BEGIN|START TRANSACTION)\M'""")[0][0])
    except RuntimeError:
        statements, blocks, by_query = None, None, {}
    return commits, statements, by_query, blocks


def table_writes(server):
    """Rows inserted, updated (and of those, HOT: without new index entries) and deleted so far,
    per table of the store's service databases."""
    writes = {}
    for service in ("products", "orders", "carts", "notifications"):
        with contextlib.suppress(RuntimeError):
            for row in psql(server.database(service), """SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del
                FROM pg_stat_user_tables"""):
                writes[f"{service}.{row[0]}"] = tuple(int(value) for value in row[1:])
    return writes


def log_table_writes(server, before, orders):
    """Logs, per confirmed order since `before` (table_writes), each table's writes."""
    if not orders:
        return
    log("rows written per confirmed order (inserted, updated, of which HOT, deleted):")
    for table, now in sorted(table_writes(server).items()):
        then = before.get(table, (0, 0, 0, 0))
        delta = [(a - b) / orders for a, b in zip(now, then)]
        if any(value >= 0.05 for value in delta):
            log(f"  {table:<34} {delta[0]:5.2f} {delta[1]:5.2f} {delta[2]:5.2f} {delta[3]:5.2f}")


def database_cost(server, before, orders):
    """Per confirmed order: transactions and statements since `before` (database_activity),
    the buyer's cart add and the bench's own few queries included."""
    # Backends report their counts at most once a second.
    time.sleep(1.5)
    commits, statements, by_query, blocks = database_activity(server)
    per_order = lambda now, then: (now - then) / orders if orders and now is not None and then is not None else None
    if orders and by_query:
        # Where the statements go, for the log: the most frequent per confirmed order.
        # Plannings count how often PostgreSQL planned the statement (a prepared statement whose
        # generic plan it keeps is planned once per connection).
        # Time counts planning and execution as PostgreSQL measured them (not the round trips).
        zero = (0, "", 0, 0.0)
        delta = sorted(((calls - before[2].get(key, zero)[0], plans - before[2].get(key, zero)[2],
                         spent - before[2].get(key, zero)[3], key[0], text)
                        for key, (calls, text, plans, spent) in by_query.items()), reverse=True)
        log("statements per confirmed order, most frequent first (calls, plannings, µs of PostgreSQL's time):")
        for calls, plans, spent, database, text in delta[:25]:
            if calls > 0:
                log(f"  {calls / orders:5.2f} {plans / orders:5.2f} {spent * 1000 / orders:6.0f}  {database:<9} {text}")
        log(f"PostgreSQL's time in statements per confirmed order: {sum(d[2] for d in delta) * 1000 / orders:.0f} µs")
    planned = sum(plans - before[2].get(key, (0, "", 0, 0.0))[2] for key, (_, _, plans, _) in by_query.items())
    if orders and by_query:
        log(f"plannings per confirmed order: {planned / orders:.2f}")
    return {"commits_per_order": per_order(commits, before[0]), "statements_per_order": per_order(statements, before[1]),
            "blocks_per_order": per_order(blocks, before[3]), "plannings_per_order": planned / orders if orders and by_query else None}


def cpu_and_wal(server, since=None, orders=0):
    """CPU spent (the machine's, ecom serve's and this bench's own threads') and WAL written
    (bytes, full-page images and syncs to disk, from pg_stat_wal): the totals so far, or with
    `since` (an earlier answer) the amounts per order since then, in ms and KB."""
    wal = psql(server.database("orders"), "SELECT pg_current_wal_lsn() - '0/0', wal_fpi, wal_sync FROM pg_stat_wal")[0]
    bench = os.times()
    now = {"machine": machine_busy_seconds(), "ecom": process_cpu_seconds(server.process.pid),
           "bench": bench.user + bench.system, "wal": int(wal[0]), "fpi": int(wal[1]), "sync": int(wal[2])}
    if since is None:
        return now
    count = max(1, orders)
    per = {key: (now[key] - since[key]) / count for key in now}
    return {"machine_ms": per["machine"] * 1000, "ecom_ms": per["ecom"] * 1000, "bench_ms": per["bench"] * 1000,
            "rest_ms": (per["machine"] - per["ecom"] - per["bench"]) * 1000, "wal_kb": per["wal"] / 1024, "fpi": per["fpi"],
            "wal_syncs": per["sync"]}


def database_now(server):
    return psql(server.database("orders"), "SELECT now()")[0][0]


def login_load(server, users, duration, stop=None):
    """Logins in a loop, one thread per user, until the time is up (or `stop` is set)."""
    deadline = time.monotonic() + duration

    def session(index, client):
        credentials = {"email": users[index]["email"], "password": users[index]["password"]}
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            status, _, elapsed = client.request("POST", "/api/login", credentials)
            yield status, elapsed if status == 200 else None

    elapsed, statuses, latencies = run_users(server, users, session)
    return {
        "workers": len(users), "seconds": elapsed, "logins": statuses.get(200, 0),
        "per_s": statuses.get(200, 0) / elapsed, "statuses": {str(k): v for k, v in statuses.items()},
        "p50_ms": percentile(latencies, 0.5) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def paced_browse(url, rate, duration, threads=4):
    """GETs at a fixed total rate from a few connections; latency of each request."""
    latencies, failures, lock = [], [0], threading.Lock()
    interval = threads / rate
    path = urlsplit(url).path + ("?" + urlsplit(url).query if urlsplit(url).query else "")
    start = time.monotonic() + 0.05

    def worker(index):
        client = Client(url)
        mine = []
        next_at = start + index * interval / threads
        end = start + duration
        while next_at < end:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            status, _, elapsed = client.request("GET", path)
            if status == 200:
                mine.append(elapsed)
            else:
                with lock:
                    failures[0] += 1
            next_at += interval
        client.close()
        with lock:
            latencies.extend(mine)

    run_threads(threads, worker)
    return {
        "rate": rate, "requests": len(latencies), "failures": failures[0],
        "p50_ms": percentile(latencies, 0.5) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def measure_cli(report, ecom, gateway, workdir, runs=15, before=None):
    """The one-shot CLI against curl: each command in turn, `runs` rounds after a warm-up, so
    that a slow moment of the machine falls on all of them; median wall time and peak RSS.
    With `before`, an earlier ecom runs the same commands in the same rounds, so both builds
    are measured against one curl in one run."""
    log(f"one-shot CLI against curl: {ecom}" + (f", and before: {before}" if before else ""))
    home = os.path.join(workdir, "home")
    os.makedirs(home, exist_ok=True)
    env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": os.path.join(home, ".config")}

    def install(binary, folder):
        # As installed: the binary alone in its directory. Foundation lists the directory of the
        # executable when it first makes its main bundle (URLSession's cookie storage does), which
        # in a build directory of thousands of files is a sixth of the command's time.
        installed = os.path.join(workdir, folder, "ecom")
        os.makedirs(os.path.dirname(installed), exist_ok=True)
        shutil.copy2(binary, installed)
        return installed

    builds = {"after": install(ecom, "bin")}
    if before:
        builds["before"] = install(before, "bin-before")
    commands = {"curl": ["curl", "-sf", "-o", "/dev/null", gateway + "/api/products"]}
    for build, binary in builds.items():
        commands[(build, "version")] = [binary, "--version"]
        commands[(build, "help")] = [binary, "--help"]
        commands[(build, "list")] = [binary, "products", "list", "--json", "--server", gateway]
    times = {name: [] for name in commands}
    prompts = {build: [] for build in builds}
    for attempt in range(runs + 1):
        for name, command in commands.items():
            elapsed = wall_times(command, 1, env)[0]
            if attempt > 0:
                times[name].append(elapsed)
        for build, binary in builds.items():
            prompt = repl_prompt_ms(binary, {**env, "ECOM_SERVER": gateway})
            if attempt > 0:
                prompts[build].append(prompt)
    median = {name: statistics.median(values) for name, values in times.items()}
    rss = {name: statistics.median(peak_rss_mb(commands[name], env) for _ in range(3))
           for name in commands if name == "curl" or name[1] == "list"}
    figures = {}
    for build, binary in builds.items():
        figures[build] = {
            "list_ms": median[(build, "list")], "version_ms": median[(build, "version")],
            "help_ms": median[(build, "help")], "repl_ms": statistics.median(prompts[build]),
            "list_rss_mb": rss[(build, "list")], "binary_mb": os.path.getsize(binary) / 1e6,
            "ratio": median[(build, "list")] / median["curl"]}
    after = figures["after"]

    def earlier(text):
        return f"{text(figures['before'])} before → " if before else ""

    report.add("cli", f"`ecom products list --json` vs `curl`, median of {runs} alternating runs (binary {after['binary_mb']:.0f} MB)",
               earlier(lambda f: f"{f['list_ms']:.1f} ms (×{f['ratio']:.1f}), {f['list_rss_mb']:.1f} MB")
               + f"{after['list_ms']:.1f} ms vs {median['curl']:.1f} ms (×{after['ratio']:.1f}); "
               f"peak RSS {after['list_rss_mb']:.1f} MB vs {rss['curl']:.1f} MB",
               f"≤ ×{TARGET_CLI_RATIO:.0f} · ≤ {TARGET_CLI_RSS_MB} MB",
               after["ratio"] <= TARGET_CLI_RATIO and after["list_rss_mb"] <= TARGET_CLI_RSS_MB)
    report.add("cli", "`ecom --version` · `ecom --help`, median wall time",
               earlier(lambda f: f"{f['version_ms']:.1f} · {f['help_ms']:.1f} ms")
               + f"{after['version_ms']:.1f} ms · {after['help_ms']:.1f} ms", f"≤ {TARGET_CLI_START_MS} ms each",
               max(after["version_ms"], after["help_ms"]) <= TARGET_CLI_START_MS)
    report.add("cli", "the REPL's prompt on a pseudo-terminal, from exec, median",
               earlier(lambda f: f"{f['repl_ms']:.1f} ms") + f"{after['repl_ms']:.1f} ms",
               f"≤ {TARGET_REPL_PROMPT_MS} ms", after["repl_ms"] <= TARGET_REPL_PROMPT_MS)
    return {"times_ms": {"/".join(name) if isinstance(name, tuple) else name: values for name, values in times.items()},
            "repl_ms": prompts, "curl_ms": median["curl"], "curl_rss_mb": rss["curl"], "builds": figures}


def repl_prompt_ms(ecom, env):
    """Milliseconds from starting `ecom` on a pseudo-terminal to its prompt (`> `) on the
    terminal; Ctrl-D then ends the REPL."""
    master, slave = os.openpty()
    start = time.perf_counter()
    process = subprocess.Popen([ecom], stdin=slave, stdout=slave, stderr=slave, env={**env, "TERM": "xterm"},
                               start_new_session=True)
    os.close(slave)
    seen = b""
    elapsed = None
    deadline = start + 10
    while elapsed is None and time.perf_counter() < deadline:
        if not select.select([master], [], [], 0.5)[0]:
            continue
        try:
            seen += os.read(master, 4096)
        except OSError:
            break
        if b"> " in seen:
            elapsed = (time.perf_counter() - start) * 1000
    os.write(master, b"\x04")
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    os.close(master)
    if elapsed is None:
        raise RuntimeError(f"the REPL printed no prompt within 10 s: {seen[-200:]!r}")
    return elapsed


def peak_rss_mb(command, env):
    """Peak resident memory of one run, from GNU time."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + command, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, env=env, check=True)
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def wall_times(command, runs, env=None):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        times.append((time.perf_counter() - start) * 1000)
    return times


def follow_cursor(server, pages, limit=100):
    """The cursor after `pages` pages of `limit` products, as a client paging through gets it."""
    client = Client(server.url())
    cursor = None
    for _ in range(pages):
        path = f"/api/products?limit={limit}" + (f"&cursor={quote(cursor)}" if cursor else "")
        status, body, _ = client.request("GET", path)
        cursor = expect(status, body, {200}, "catalog page")["next_cursor"]
        if cursor is None:
            break
    client.close()
    return cursor


# --- reads and the cache ---------------------------------------------------------------------

TOKENS_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tokens.lua")
CART_LINES = 3
# The reads of issue 14: key, label and path ({id}: a product's).
READS = [
    ("catalog", "GET /api/products (first page, 20 products)", "/api/products"),
    ("product", "GET /api/products/{id}", "/api/products/{id}"),
    ("cart", f"GET /api/cart ({CART_LINES} lines)", "/api/cart"),
    ("health", "GET /health", "/health"),
]


def fill_carts(deployment, users, products):
    """CART_LINES lines in each user's cart, for the cart read."""
    for index, user in enumerate(users):
        client = Client(deployment.url())
        for offset in range(CART_LINES):
            status, body, _ = client.request(
                "POST", "/api/cart/items", {"product_id": products[(index + offset * 7) % len(products)], "quantity": 1},
                {"Authorization": f"Bearer {user['token']}"})
            expect(status, body, {200, 201}, "cart add")
        client.close()


def mark(target, met):
    """A target with ✓ or ✗, or with why it was not judged when `met` is a string."""
    if isinstance(met, str):
        return f"{target} ({met})"
    return f"{target} {'✓' if met else '✗'}"


def answers(result):
    if result.bad == 0:
        return "no non-2xx"
    parts = [f"{result.non_2xx:,} non-2xx"] if result.non_2xx else []
    if result.socket_errors:
        parts.append(f"{result.socket_errors:,} socket errors")
    return ", ".join(parts)


def read_row(report, section, what, key, result, ceiling_rps, before_rps, reference=None):
    """A read's row: its figures, its share of the ceiling, its gain over the `--before` run (and,
    for the split deployment, its share of the all-in-one figure), with the issue's targets."""
    if result.requests == 0:
        report.add(section, what, "no request completed", mark("no non-2xx", False))
        return result.as_dict()
    figure = [f"{result.rps:,.0f} req/s", f"p50 {result.p50:.1f} ms", f"p99 {result.p99:.1f} ms", answers(result)]
    of_ceiling = result.rps / ceiling_rps if ceiling_rps else None
    if of_ceiling is not None:
        figure.append(f"{of_ceiling:.1%} of ceiling")
    gain = result.rps / before_rps if before_rps else None
    if gain is not None:
        figure.append(f"×{gain:.2f} before ({before_rps:,.0f})")
    if reference is not None and reference.rps:
        figure.append(f"×{result.rps / reference.rps:.2f} all in one")
    targets = []
    if key in TARGET_READ_GAIN:
        wanted = TARGET_READ_GAIN[key]
        targets.append(mark(f"≥ ×{wanted:g} before", gain >= wanted if gain is not None else "give --before"))
    if key == "health":
        targets.append(mark(f"≥ {TARGET_HEALTH_OF_CEILING:.0%} of ceiling",
                            of_ceiling >= TARGET_HEALTH_OF_CEILING if of_ceiling is not None else "no ceiling"))
    targets.append(mark(f"p99 ≤ {TARGET_READ_P99_MS[key]} ms", result.p99 <= TARGET_READ_P99_MS[key]))
    targets.append(mark("no non-2xx", result.bad == 0))
    report.add(section, what, " · ".join(figure), " · ".join(targets))
    return {**result.as_dict(), "of_ceiling": of_ceiling, "before_rps": before_rps, "gain": gain}


def measure_reads(report, section, deployment, product_id, tokens, settings, ceiling_rps, before, reference=None):
    """The four reads of the issue through `deployment`'s gateway, a row each. Returns the
    WrkResults by key and the figures for --json."""
    conns, duration, repeat = settings
    results, figures = {}, {}
    with deployment.sampling():
        for key, label, path in READS:
            # The cart is read across many shoppers, each request with the next one's token.
            options = {"script": TOKENS_SCRIPT, "script_args": tokens} if key == "cart" else {}
            if key == "cart":
                label = f"GET /api/cart ({CART_LINES} lines, {len(tokens)} users)"
            log(f"{section}: {label}, {conns} connections")
            url = deployment.url() + path.replace("{id}", product_id)
            result = best_of(repeat, lambda: run_wrk(url, conns, duration, **options))
            results[key] = result
            figures[key] = read_row(report, section, f"{label} via gateway, {conns} conn.", key, result, ceiling_rps,
                                    before.get(key), reference and reference.get(key))
    return results, figures


def measure_split(report, split, catalog_size, settings, ceiling_rps, before, all_in_one):
    """The reads on a split deployment, seeded like the all-in-one server, and the catalog reads
    straight from its products service, which show what the gateway's hop costs."""
    conns, duration, repeat = settings
    admin_token = login(Client(split.url()), *split.admin)
    import_catalog(split, admin_token, 0, catalog_size)
    cart_users = register_users(split, 32, "split")
    products = product_ids(split)
    fill_carts(split, cart_users, products)
    results, figures = measure_reads(
        report, "split", split, products[0], [user["token"] for user in cart_users], settings, ceiling_rps, before,
        all_in_one)
    direct = {}
    with split.sampling():
        for key, label, path in READS[:2]:
            log(f"split: {label} straight from the products service")
            result = best_of(repeat, lambda: run_wrk(split.url("products") + path.replace("{id}", products[0]), conns, duration))
            direct[key] = result.as_dict()
            hop = f"; through the gateway ×{results[key].rps / result.rps:.2f}" if result.rps else ""
            report.add("split", f"{label} straight from the products service, {conns} conn.", fmt_rps(result) + hop)
    peaks = {name: process.peak_kib for name, process in split.processes.items()}
    report.add("memory", "RSS of the split processes, peak under the reads",
               " · ".join(f"{name} {kib / 1024:.0f} MB" for name, kib in peaks.items()))
    return {"reads": figures, "direct": direct, "rss_peak_kib": peaks}


def load_before(path):
    """Throughput by layout and read from a previous run's --json: {"all_in_one": {"catalog": rps, …}}.
    A file from before the reads table had the all-in-one catalog reads under "http" and the cart
    under "cart"."""
    with open(path) as source:
        data = json.load(source)
    if "reads" in data:
        return {layout: {key: figures["rps"] for key, figures in reads.items()} for layout, reads in data["reads"].items()}
    older = {}
    for entry in data.get("http", []):
        older["catalog" if entry["route"].startswith("GET /api/products (") else "product"] = entry["gateway"]["rps"]
    if "cart" in data:
        older["cart"] = data["cart"]["rps"]
    return {"all_in_one": older}


def probe_product(products):
    """The product the staleness probe changes, the first of the catalog's first page, and the
    products the buyers take, all the others: only the probe changes its stock."""
    if len(products) < 2:
        raise RuntimeError("the staleness probe needs a catalog of two products or more")
    return products[0], products[1:]


class StalenessProbe:
    """While in a `with` block: changes one product's stock through one products process and
    reads it on another until that one shows the change, the two taking turns, read as one
    product or on the catalog's first page in turn; each change is also read back at once from
    the process that made it (read-your-writes).

    A change's staleness runs from its answer to the sending of the last read on the other
    process that still showed the old stock (0 when the first read showed the new one): that
    process answered with the old stock at least that long after the change. The answer of the
    first read that showed the new stock bounds it from above, with one read's latency in it;
    under load that latency dwarfs a short staleness, so it is printed beside it, not judged."""

    POLL_PAUSE = 0.002
    GIVE_UP = 5.0

    def __init__(self, admin_token, product_id, first, second, interval=0.1):
        self.auth = {"Authorization": f"Bearer {admin_token}"}
        self.product_id = product_id
        self.ends = [first, second]
        self.interval = interval
        self.stopped = threading.Event()
        self.stale, self.fresh, self.read_latencies = [], [], []
        self.changes = self.failed = self.not_seen = self.own_stale = 0

    def __enter__(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.stopped.set()
        self.thread.join()

    def run(self):
        clients = [{"change": Client(url), "own": Client(url), "read": Client(url)} for url in self.ends]

        def on_page(body):
            return next((item["stock"] for item in body["items"] if item["id"] == self.product_id), None)

        views = [(f"/api/products/{self.product_id}", lambda body: body["stock"]), ("/api/products", on_page)]
        back = [None]
        delta = -1
        turn = 0
        while not self.stopped.wait(self.interval):
            changer, reader = clients[turn % 2], clients[(turn + 1) % 2]
            path, stock = views[turn // 2 % 2]
            turn += 1
            try:
                status, body, _ = changer["change"].request(
                    "POST", f"/admin/products/{self.product_id}/stock", {"delta": delta, "reason": "bench staleness probe"},
                    self.auth)
            except (OSError, http.client.HTTPException):
                status = None
            changed = time.perf_counter()
            if status != 200:
                self.failed += 1
                continue
            # The stock stays at 1,000,000 (the most a product holds) or one below.
            delta = -delta
            self.changes += 1
            wanted = body["stock"]

            def read_own():
                try:
                    status, body, _ = changer["own"].request("GET", path)
                except (OSError, http.client.HTTPException):
                    status = None
                back[0] = status == 200 and stock(body) == wanted

            own = threading.Thread(target=read_own, daemon=True)
            own.start()
            stale, fresh = 0.0, None
            while fresh is None and time.perf_counter() - changed < self.GIVE_UP:
                sent = time.perf_counter()
                try:
                    status, body, elapsed = reader["read"].request("GET", path)
                except (OSError, http.client.HTTPException):
                    status, body, elapsed = None, None, None
                if elapsed is not None:
                    self.read_latencies.append(elapsed)
                if status == 200 and stock(body) == wanted:
                    fresh = time.perf_counter() - changed
                else:
                    if status == 200:
                        stale = sent - changed
                    time.sleep(self.POLL_PAUSE)
            if fresh is None:
                self.not_seen += 1
                stale = fresh = self.GIVE_UP
            self.stale.append(stale)
            self.fresh.append(fresh)
            own.join()
            self.own_stale += 0 if back[0] else 1
        for client in clients:
            for connection in client.values():
                connection.close()

    def figures(self):
        return {
            "changes": self.changes, "failed_changes": self.failed, "not_seen": self.not_seen, "own_stale": self.own_stale,
            "p50_ms": percentile(self.stale, 0.5) * 1000, "p99_ms": percentile(self.stale, 0.99) * 1000,
            "max_ms": max(self.stale, default=float("nan")) * 1000,
            "fresh_p50_ms": percentile(self.fresh, 0.5) * 1000, "fresh_p99_ms": percentile(self.fresh, 0.99) * 1000,
            "read_p50_ms": percentile(self.read_latencies, 0.5) * 1000,
            "read_p99_ms": percentile(self.read_latencies, 0.99) * 1000,
        }

    def report(self, report, load):
        figures = self.figures()
        notes = ""
        if figures["not_seen"]:
            notes += f"; {figures['not_seen']} not seen within {self.GIVE_UP:g} s"
        if figures["failed_changes"]:
            notes += f"; {figures['failed_changes']} changes refused"
        report.add(
            "cache", f"staleness under {load}: a stock change on one of two products processes, until the other "
            "shows it (as the product and on the first page, in turn)",
            f"stale p50 {figures['p50_ms']:.1f} ms · p99 {figures['p99_ms']:.1f} ms · max {figures['max_ms']:.1f} ms over "
            f"{figures['changes']} changes; shown by an answer p50 {figures['fresh_p50_ms']:.1f} ms · p99 "
            f"{figures['fresh_p99_ms']:.1f} ms after the change (one read there took p50 {figures['read_p50_ms']:.1f} ms · "
            f"p99 {figures['read_p99_ms']:.1f} ms); the changing process showed its own change at once "
            f"{figures['changes'] - figures['own_stale']} of {figures['changes']} times{notes}",
            mark(f"p99 ≤ {TARGET_STALENESS_P99_MS} ms", figures["p99_ms"] <= TARGET_STALENESS_P99_MS) + " · "
            + mark("read-your-writes", figures["own_stale"] == 0 and figures["changes"] > 0))
        return figures


# --- the run -------------------------------------------------------------------------------


class Report:
    def __init__(self):
        self.rows = []
        self.data = {}

    def add(self, section, what, figure, target="", met=None):
        mark = "" if met is None else (" ✓" if met else " ✗")
        self.rows.append((section, what, figure, target + mark if target else mark.strip()))

    # The order of the table, whatever the order the phases ran in.
    SECTIONS = ["ceiling", "reads", "split", "cache", "checkout", "login", "cli", "large catalog", "memory"]

    def markdown(self):
        lines = ["| | measurement | figure | target |", "|---|---|---|---|"]
        order = {section: index for index, section in enumerate(self.SECTIONS)}
        for section, what, figure, target in sorted(self.rows, key=lambda row: order.get(row[0], len(order))):
            lines.append(f"| {section} | {what} | {figure} | {target} |")
        return "\n".join(lines)


def fmt_rps(result):
    if result.requests == 0:
        return "no request completed"
    flag = f" ({result.bad} errors)" if result.bad else ""
    return f"{result.rps:,.0f} req/s · p50 {result.p50:.1f} ms · p99 {result.p99:.1f} ms{flag}"


def machine_description():
    model = ""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as info:
            memory = f"{int(info.readline().split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), {memory}, {platform.system()} {platform.release()}"


def load_average():
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


PHASES = ["reads", "checkout", "events", "login", "cli", "catalog", "memory", "split", "amqp"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True, help="folder with the release ecom and ecom-bench-ceiling")
    parser.add_argument("--quick", action="store_true", help="short runs (3 s each), one of each")
    parser.add_argument("--duration", type=float, help="seconds per HTTP measurement")
    parser.add_argument("--repeat", type=int, help="runs of each HTTP measurement; the median is kept")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--catalog", type=int, default=1000, help="products for the ordinary measurements")
    parser.add_argument("--large-catalog", type=int, default=100_000, help="products for the large-catalog measurements (0: skip)")
    parser.add_argument("--checkout-workers", type=int, default=32)
    parser.add_argument("--cli-bin", help="the ecom the cli phase measures (default: the one of --bin)")
    parser.add_argument("--cli-before", metavar="BIN",
                        help="an earlier ecom the cli phase runs in the same rounds, for before and after in one run")
    parser.add_argument("--paced-rate", type=int,
                        help="orders/s of the paced checkout (default: half the flat-out rate), to compare builds at one rate")
    parser.add_argument("--login-workers", type=int, default=8)
    parser.add_argument("--webhook-endpoints", type=int, default=10, help="webhook endpoints of the events phase's busy run (default 10)")
    parser.add_argument("--event-streams", type=int, default=100, help="open admin streams of the events phase's busy run (default 100)")
    parser.add_argument("--log-level", default="info", help="LOG_LEVEL of the servers (default info, as shipped)")
    parser.add_argument("--pool-size", type=int,
                        help="ECOM_DB_POOL_SIZE of the all-in-one servers (default: ecom's own, 8)")
    parser.add_argument("--only", default="", help=f"comma-separated phases: {','.join(PHASES)}")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--before", metavar="FILE",
                        help="the --json of an earlier run: each read's throughput is compared with it")
    args = parser.parse_args()

    duration = args.duration or (3 if args.quick else 10)
    repeat = args.repeat or (1 if args.quick else 3)
    checkout_seconds = 5 if args.quick else 15
    phases = set(filter(None, args.only.split(","))) or set(PHASES)
    # The names of the reads before they were one table.
    if phases & {"http", "cart"}:
        phases = (phases - {"http", "cart"}) | {"reads"}
    if phases - set(PHASES):
        sys.exit(f"bench: unknown phases {', '.join(sorted(phases - set(PHASES)))}; known: {', '.join(PHASES)}")
    database_url = os.environ.get("BENCH_DATABASE_URL")
    amqp_url = os.environ.get("BENCH_AMQP_URL")
    if not database_url:
        sys.exit("bench: BENCH_DATABASE_URL is not set (run .ci/bench/run)")
    for phase, what in [("amqp", "the RabbitMQ checkout"), ("split", "the split deployment")]:
        if phase in phases and not amqp_url:
            log(f"no BENCH_AMQP_URL: skipping {what}")
            phases.discard(phase)
    before = load_before(args.before) if args.before else {}
    ecom = os.path.join(args.bin, "ecom")
    ceiling_binary = os.path.join(args.bin, "ecom-bench-ceiling")
    workdir = tempfile.mkdtemp(prefix="ecom-bench.")
    report = Report()
    report.data["machine"] = machine_description()
    report.data["load_before"] = load_average()
    report.data["settings"] = {"duration_s": duration, "repeat": repeat, "connections": args.connections, "log_level": args.log_level}
    conns = args.connections
    servers = []
    ceiling = None

    def on_term(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        log(f"machine: {report.data['machine']}; load average {report.data['load_before']}; logs in {workdir}")

        # The machine's ceiling: a bare Hummingbird JSON route.
        ceiling_rps = None
        if phases & {"reads", "split"}:
            port = free_port()
            ceiling_log = open(os.path.join(workdir, "ceiling.log"), "ab")
            ceiling = subprocess.Popen([ceiling_binary, str(port)], stdout=ceiling_log, stderr=ceiling_log, stdin=subprocess.DEVNULL)
            wait_for(f"http://127.0.0.1:{port}/json", 30, ceiling)
            log("ceiling: bare Hummingbird JSON route")
            result = best_of(repeat, lambda: run_wrk(f"http://127.0.0.1:{port}/json", conns, duration))
            report.add("ceiling", f"bare Hummingbird JSON route, {conns} connections", fmt_rps(result))
            report.data["ceiling"] = result.as_dict()
            ceiling_rps = result.rps or None
            ceiling.send_signal(signal.SIGTERM)
            ceiling.wait(30)
            ceiling = None

        log("starting ecom serve (in-process events)")
        server = Server(ecom, "local", database_url, workdir, log_level=args.log_level, pool_size=args.pool_size)
        servers.append(server)
        server.start()
        time.sleep(2)
        idle_start = server.rss_kib
        admin_token = login(Client(server.url()), *server.admin)
        log(f"seeding {args.catalog} products and {max(args.checkout_workers, args.login_workers)} users")
        import_catalog(server, admin_token, 0, args.catalog)
        users = register_users(server, max(args.checkout_workers, args.login_workers, 8), "local")
        probed, products = probe_product(product_ids(server))
        time.sleep(2)
        idle_seeded = server.rss_kib
        report.data["rss_idle_kib"] = {"after_start": idle_start, "after_seed": idle_seeded}

        gateway = server.url("gateway")
        all_in_one = None

        if "reads" in phases:
            cart_users = users[:32]
            fill_carts(server, cart_users, products)
            all_in_one, figures = measure_reads(
                report, "reads", server, probed, [user["token"] for user in cart_users], (conns, duration, repeat),
                ceiling_rps, before.get("all_in_one", {}))
            report.data.setdefault("reads", {})["all_in_one"] = figures
            # The carts are emptied by checkout below; these lines would end up in the first orders.
            for user in cart_users:
                Client(gateway).request("DELETE", "/api/cart", None, {"Authorization": f"Bearer {user['token']}"})

        if "events" in phases:
            report.data["events"] = measure_events(
                report, server, users[:args.checkout_workers], products, checkout_seconds, ecom, ceiling_binary, workdir, admin_token,
                args.paced_rate, args.webhook_endpoints, args.event_streams, rounds=repeat)

        if "checkout" in phases:
            buyers = users[:args.checkout_workers]
            with server.sampling():
                report.data["checkout_local"] = measure_checkout(
                    report, server, buyers, products, checkout_seconds, "in-process events", TARGET_LAG_P99_LOCAL_MS,
                    args.paced_rate)
            if amqp_url:
                # A run of its own, so that the second process (whose inbox worker takes a share of the
                # reservations) leaves the figures above alone.
                log("starting a second products process on the same database, for the cache's staleness")
                replica = server.second_products(amqp_url, args.log_level)
                servers.append(replica)
                replica.start()
                log(f"cache staleness: {len(buyers)} buyers for {checkout_seconds} s, as fast as they can")
                since = database_now(server)
                with server.sampling(), StalenessProbe(admin_token, probed, gateway, replica.ready[0]) as probe:
                    load = checkout_load(server, buyers, products, checkout_seconds)
                replica.stop()
                settle_orders(server, since)
                report.data["staleness"] = probe.report(
                    report, f"the checkout load ({len(buyers)} buyers flat out, {load['created'] / load['seconds']:.0f} orders/s)")
            else:
                log("no BENCH_AMQP_URL: a second products process needs RabbitMQ; the cache's staleness is not measured")

        if "login" in phases:
            log("browse latency idle, then during a login storm")
            browse_url = gateway + "/api/products"
            browse_seconds = max(5, duration)
            idle = paced_browse(browse_url, 200, browse_seconds)
            stop = threading.Event()
            storm = {}

            def storm_thread():
                storm.update(login_load(server, users[:args.login_workers], browse_seconds + 2, stop))

            with server.sampling():
                thread = threading.Thread(target=storm_thread, daemon=True)
                thread.start()
                time.sleep(1)
                busy = paced_browse(browse_url, 200, browse_seconds)
                stop.set()
                thread.join()
            report.add("login", f"POST /api/login, {args.login_workers} clients",
                       f"{storm['per_s']:.0f} logins/s · p50 {storm['p50_ms']:.0f} ms · p99 {storm['p99_ms']:.0f} ms")
            ratio = busy["p99_ms"] / idle["p99_ms"]
            report.add("login", "browse p99 (first page at 200 req/s) idle → during logins",
                       f"{idle['p99_ms']:.1f} → {busy['p99_ms']:.1f} ms (×{ratio:.1f}); p50 {idle['p50_ms']:.1f} → {busy['p50_ms']:.1f} ms",
                       f"≤ ×{TARGET_BROWSE_RATIO:.0f}", ratio <= TARGET_BROWSE_RATIO)
            report.data["login"] = {"storm": storm, "browse_idle": idle, "browse_during": busy}

        if "cli" in phases:
            report.data["cli"] = measure_cli(report, args.cli_bin or ecom, gateway, workdir, before=args.cli_before)

        if "catalog" in phases and args.large_catalog > args.catalog:
            extra = args.large_catalog - args.catalog
            log(f"importing {extra} more products for the large catalog")
            started = time.monotonic()
            with server.sampling():
                import_catalog(server, admin_token, args.catalog, extra)
            import_seconds = time.monotonic() - started
            psql(server.database("products"), "ANALYZE products.products")
            deep_pages = args.large_catalog // 200
            cursor = follow_cursor(server, deep_pages)
            matches = psql(server.database("products"),
                           f"SELECT count(*) FROM products.products WHERE name ILIKE '%{SEARCH_TERM}%' OR description ILIKE '%{SEARCH_TERM}%'")[0][0]
            size = f"{args.large_catalog // 1000}k" if args.large_catalog % 1000 == 0 else str(args.large_catalog)
            report.add("large catalog", f"import {extra:,} products ({-(-extra // 10_000)} requests of ≤ 10,000)",
                       f"{import_seconds:.1f} s ({extra / import_seconds:,.0f} products/s)")
            large = {}
            with server.sampling():
                for label, path in [
                    ("first page", "/api/products"),
                    (f"deep page (after {deep_pages * 100:,} products)", f"/api/products?cursor={quote(cursor)}"),
                    (f"search ?q={SEARCH_TERM} ({int(matches):,} matches)", f"/api/products?q={SEARCH_TERM}"),
                ]:
                    log(f"{size} catalog: {label}")
                    result = best_of(repeat, lambda: run_wrk(gateway + path, conns, duration))
                    large[label] = result.as_dict()
                    report.add("large catalog", f"{size} products: {label} via gateway, {conns} conn.", fmt_rps(result))
            report.data["large_catalog"] = {"import_s": import_seconds, **large}

        if "memory" in phases:
            time.sleep(3)
            idle_after = server.rss_kib
            report.add("memory", "RSS of `ecom serve` (all in one), idle after start / after seeding",
                       f"{idle_start / 1024:.0f} MB / {idle_seeded / 1024:.0f} MB",
                       f"≤ {TARGET_RSS_IDLE_MB} MB", idle_seeded / 1024 <= TARGET_RSS_IDLE_MB)
            report.add("memory", "RSS under load: peak over the phases above / idle afterwards",
                       f"{server.peak_kib / 1024:.0f} MB / {idle_after / 1024:.0f} MB",
                       f"≤ {TARGET_RSS_LOAD_MB} MB", server.peak_kib / 1024 <= TARGET_RSS_LOAD_MB)
            report.data["rss_peak_kib"] = server.peak_kib
            report.data["rss_idle_after_kib"] = idle_after

        server.stop()

        if "split" in phases:
            log("starting a split deployment: one `ecom serve --only <service>` per service, one database")
            split = Split(ecom, "split", database_url, workdir, amqp_url, log_level=args.log_level)
            servers.append(split)
            split.start()
            measured = measure_split(
                report, split, args.catalog, (conns, duration, repeat), ceiling_rps, before.get("split", {}), all_in_one)
            report.data.setdefault("reads", {})["split"] = measured.pop("reads")
            report.data["split"] = measured
            split.stop()

        if "amqp" in phases:
            log("starting ecom serve with RabbitMQ")
            server = Server(ecom, "amqp", database_url, workdir, amqp_url=amqp_url, log_level=args.log_level,
                            pool_size=args.pool_size)
            servers.append(server)
            server.start()
            admin_token = login(Client(server.url()), *server.admin)
            import_catalog(server, admin_token, 0, min(args.catalog, 1000))
            users = register_users(server, args.checkout_workers, "amqp")
            products = product_ids(server)
            with server.sampling():
                report.data["checkout_amqp"] = measure_checkout(
                    report, server, users, products, checkout_seconds, "RabbitMQ", TARGET_LAG_P99_AMQP_MS, args.paced_rate)
            server.stop()
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    except Exception as error:
        log(f"failed: {error}; logs kept in {workdir}")
        status = 1
    else:
        status = 0
    finally:
        for server in servers:
            server.stop()
        if ceiling is not None:
            ceiling.kill()
            ceiling.wait()

    if status == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    if report.rows:
        print_report(report, args, duration, repeat)
    return status


def print_report(report, args, duration, repeat):
    report.data["load_after"] = load_average()
    print()
    print(f"Machine: {report.data['machine']}")
    print(f"Load average before / after: {report.data['load_before']} / {report.data['load_after']}; "
          f"{duration:g} s per HTTP figure, median of {repeat}; servers at LOG_LEVEL={args.log_level}"
          f"{f', ECOM_DB_POOL_SIZE={args.pool_size}' if args.pool_size else ''}; wrk and the servers share the cores")
    print()
    print(report.markdown())
    if args.json:
        report.data["rows"] = report.rows
        with open(args.json, "w") as out:
            json.dump(report.data, out, indent=2, default=str)
        log(f"figures written to {args.json}")


def measure_checkout(report, server, users, products, seconds, transport, lag_target, paced_rate=None):
    """Checkout twice: as fast as the buyers can (throughput; events queue up, so the lag there
    says how far behind confirmation fell), then paced at half that rate (the lag of a server
    that keeps up)."""
    log(f"checkout, {transport}: {len(users)} buyers for {seconds} s, as fast as they can")
    since = database_now(server)
    activity = database_activity(server)
    spent, writes = cpu_and_wal(server), table_writes(server)
    load = checkout_load(server, users, products, seconds)
    settled = settle_orders(server, since)
    # After database_cost, which waits for the backends to report their counts.
    cost = database_cost(server, activity, settled["confirmed"])
    spent = cpu_and_wal(server, since=spent, orders=settled["confirmed"])
    log_table_writes(server, writes, settled["confirmed"])
    rate = paced_rate or max(2, int(settled["confirmed_per_s"] / 2))
    log(f"checkout, {transport}: paced at {rate}/s for {seconds} s")
    since = database_now(server)
    paced_load = checkout_load(server, users, products, seconds, rate=rate)
    paced = settle_orders(server, since)
    try:
        hops = saga_hops(server, since)
    except (RuntimeError, ValueError) as error:
        log(f"checkout, {transport}: the saga's hops could not be read: {error}")
        hops = {}

    refused = sum(v for k, v in load["statuses"].items() if k != "201")
    notes = f"; {refused} checkouts refused {load['statuses']}" if refused else ""
    if settled["pending"]:
        notes += f"; {settled['pending']} still pending"
    report.add(
        "checkout", f"confirmed orders/s, {transport}, {len(users)} buyers flat out",
        f"{settled['confirmed_per_s']:.0f}/s ({settled['confirmed']} in {settled['span_s']:.1f} s; "
        f"POST /api/orders p50 {load['checkout_p50_ms']:.0f} ms, p99 {load['checkout_p99_ms']:.0f} ms; "
        f"lag p50 {settled['lag_p50_ms']:.0f} ms, p99 {settled['lag_p99_ms']:.0f} ms{notes})",
        f"≥ {TARGET_ORDERS_PER_S}/s", settled["confirmed_per_s"] >= TARGET_ORDERS_PER_S)
    statements = cost["statements_per_order"]
    commits = cost["commits_per_order"]
    report.add(
        "checkout", f"database work per confirmed order, {transport}, flat out (the buyer's cart add included)",
        ("no order confirmed" if commits is None else f"{commits:.1f} commits"
         + (f" ({cost['blocks_per_order']:.1f} of them BEGIN … COMMIT)" if cost["blocks_per_order"] is not None else "") + " · ")
        + ("" if commits is None else f"{statements:.1f} statements besides BEGIN/COMMIT" if statements is not None
           else "statements not counted (no pg_stat_statements)"),
        f"≤ {TARGET_COMMITS_PER_ORDER} commits, ≤ {TARGET_STATEMENTS_PER_ORDER} statements",
        commits is not None and statements is not None
        and commits <= TARGET_COMMITS_PER_ORDER and statements <= TARGET_STATEMENTS_PER_ORDER)
    report.add(
        "checkout", f"CPU and WAL per confirmed order, {transport}, flat out",
        f"machine {spent['machine_ms']:.2f} ms: ecom serve {spent['ecom_ms']:.2f} ms · the bench's buyers "
        f"{spent['bench_ms']:.2f} ms · the rest (PostgreSQL{', RabbitMQ' if 'RabbitMQ' in transport else ''}) "
        f"{spent['rest_ms']:.2f} ms; WAL {spent['wal_kb']:.1f} KB, {spent['fpi']:.2f} full-page images, "
        f"{spent['wal_syncs']:.2f} syncs to disk")
    report.add(
        "checkout", f"order.created → confirmed lag, {transport}, paced at {rate} orders/s",
        f"p50 {paced['lag_p50_ms']:.0f} ms · p99 {paced['lag_p99_ms']:.0f} ms "
        f"({paced['confirmed']} confirmed; POST /api/orders p50 {paced_load['checkout_p50_ms']:.0f} ms)",
        f"p99 ≤ {lag_target} ms", paced["lag_p99_ms"] <= lag_target)
    if hops:
        report.add(
            "checkout", f"where that lag goes, {transport}: each hop's p50 · p99 (from the saga's own timestamps)",
            " · ".join(f"{name} {figures['p50']:.1f} · {figures['p99']:.1f} ms" for name, figures in hops.items()))
    return {"flat_out": {**load, **settled, **cost, "cpu": spent}, "paced": {"rate": rate, **paced_load, **paced, "hops": hops}}


class WebhookSink:
    """Webhook endpoints on loopback: `ecom-bench-ceiling`'s `POST /hook/N`, which answers 204 to
    every delivery. The store shares the cores with it, so it is the cheapest receiver at hand
    (Python's http.server cost more than the deliveries did); deliveries are counted in the
    notifications database."""

    def __init__(self, binary, workdir):
        self.port = free_port()
        log_file = open(os.path.join(workdir, "webhook-sink.log"), "ab")
        # At the lowest CPU priority, as if on another machine: what it costs is not the store's.
        self.process = subprocess.Popen([binary, str(self.port)], stdout=log_file, stderr=log_file, stdin=subprocess.DEVNULL,
                                        start_new_session=True, preexec_fn=as_remote_client)
        wait_for(f"http://127.0.0.1:{self.port}/json", 30, self.process)

    def url(self, index):
        return f"http://127.0.0.1:{self.port}/hook/{index}"

    def close(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


# The stream readers' program: `count` threads each open an admin event stream and count its
# `event:` lines, until stdin closes; then it prints the total. Each reads what has come in one
# call: a line-by-line reader in Python would cost more than the streams cost the server.
STREAM_READER = r"""
import socket, sys, threading
host, port, token, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
marker, stop, lock = b"\nevent: ", threading.Event(), threading.Lock()
connections, totals, opened = [], [], threading.Semaphore(0)

def read():
    connection = socket.create_connection((host, port), timeout=30)
    with lock:
        connections.append(connection)
    connection.sendall(f"GET /admin/events/stream HTTP/1.1\r\nHost: {host}\r\n"
                       f"Authorization: Bearer {token}\r\n\r\n".encode())
    opened.release()
    tail, counted = b"", 0
    while not stop.is_set():
        try:
            chunk = connection.recv(256 * 1024)
        except OSError:
            break
        if not chunk:
            break
        data = tail + chunk
        counted += data.count(marker)
        # A marker cut in two by the read is counted with the next one.
        tail = data[-(len(marker) - 1):]
    connection.close()
    with lock:
        totals.append(counted)

threads = [threading.Thread(target=read, daemon=True) for _ in range(count)]
for thread in threads:
    thread.start()
for _ in threads:
    opened.acquire()
print("open", flush=True)
sys.stdin.read()
stop.set()
with lock:
    for connection in connections:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
for thread in threads:
    thread.join(5)
with lock:
    print(sum(totals), flush=True)
"""


class StreamReaders:
    """`count` admin event streams read, their events counted and thrown away, until closed: by a
    process of its own at the lowest CPU priority, as if on another machine. Not by threads of the
    bench's own process: they would share its interpreter lock with the buyers, and a reader
    holding it while starved of CPU would hold the buyers back, which the server does not cause."""

    def __init__(self, server, token, count):
        self.events = 0
        host, port = "127.0.0.1", server.url().rsplit(":", 1)[1]
        self.process = subprocess.Popen(
            [sys.executable, "-c", STREAM_READER, host, port, token, str(count)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
            preexec_fn=as_remote_client)
        if self.process.stdout.readline().strip() != "open":
            raise RuntimeError("the event stream readers did not start")

    def close(self):
        self.process.stdin.close()
        self.events = int(self.process.stdout.readline().strip() or 0)
        self.process.wait(10)


def measure_events(report, server, users, products, seconds, ecom, ceiling_binary, workdir, admin_token, paced_rate=None,
                   endpoint_count=10, stream_count=100, rounds=3):
    """Live events: the lag from an order's confirmation (committed) to its line printed by
    `ecom listen`, paced; what a stream line and a webhook delivery cost ecom serve, paced;
    then checkout flat out with the notifications service running but
    nothing listening, and again with webhook endpoints (10) and open streams (100), the two
    taken in turn `rounds` times, so that the machine's drift between two runs (a fifth of the
    throughput, here) weighs on both alike; the medians are compared."""
    config = os.path.join(workdir, "cli-admin")
    env = {**os.environ, "XDG_CONFIG_HOME": config, "ECOM_SERVER": server.url()}
    subprocess.run([ecom, "login", "--email", server.admin[0], "--password-stdin"], input=server.admin[1].encode(),
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wal():
        return int(psql(server.database("orders"), "SELECT pg_current_wal_lsn() - '0/0'")[0][0])

    def cpu():
        return process_cpu_seconds(server.process.pid), machine_busy_seconds(), wal()

    def cpu_per_order(start, settled):
        ecom_cpu, machine_cpu, wal_bytes = cpu()
        confirmed = max(1, settled["confirmed"])
        return {"ecom_ms": (ecom_cpu - start[0]) * 1000 / confirmed, "machine_ms": (machine_cpu - start[1]) * 1000 / confirmed,
                "wal_kb": (wal_bytes - start[2]) / 1024 / confirmed}

    def quiet_run():
        since = database_now(server)
        start = cpu()
        load = checkout_load(server, users, products, seconds)
        settled = settle_orders(server, since)
        return {"load": load, "settled": settled, "cpu": cpu_per_order(start, settled)}

    log(f"events: checkout flat out for {seconds} s, the notifications service running, nothing listening")
    first_quiet = quiet_run()

    rate = paced_rate or max(2, int(first_quiet["settled"]["confirmed_per_s"] / 2))
    log(f"events: `ecom listen --types order.confirmed`, checkout paced at {rate}/s for {seconds} s")
    listen = subprocess.Popen([ecom, "listen", "--json", "--types", "order.confirmed"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    printed = {}

    def read_lines():
        for line in listen.stdout:
            at = time.time()
            try:
                printed[json.loads(line)["data"]["order_id"]] = at
            except (ValueError, KeyError):
                pass

    def paced_checkout(pace=None, until=None):
        """Checkout paced at `pace` (`rate` unless given) until every order settled, and then until
        `until(since)` says so if given: when it began, the orders, and the CPU per order."""
        since = database_now(server)
        start = cpu()
        checkout_load(server, users, products, seconds, rate=pace or rate)
        settled = settle_orders(server, since)
        if until:
            until(since)
        return since, settled, cpu_per_order(start, settled)

    reader = threading.Thread(target=read_lines, daemon=True)
    reader.start()
    time.sleep(1)
    since, paced, paced_cpu = paced_checkout()
    time.sleep(2)
    listen.terminate()
    listen.wait(10)
    rows = psql(server.database("orders"),
                f"SELECT id, extract(epoch FROM updated_at) FROM orders.orders WHERE status = 'confirmed' AND created_at >= '{since}'")
    lags = [(printed[row[0]] - float(row[1])) * 1000 for row in rows if row[0] in printed]
    missing = len(rows) - len(lags)
    report.add(
        "events", f"order confirmed → line printed by ecom listen, paced at {rate} orders/s",
        f"p50 {percentile(lags, 0.5):.0f} ms · p99 {percentile(lags, 0.99):.0f} ms ({len(lags)} lines"
        + (f"; {missing} confirmed orders never printed" if missing else "") + ")",
        f"p99 ≤ {TARGET_STREAM_LAG_P99_MS} ms", bool(lags) and not missing and percentile(lags, 0.99) <= TARGET_STREAM_LAG_P99_MS)

    # What a stream line costs the server, at a pace the cores can keep: the same paced checkout with
    # the streams open, against the run above. Unlike the flat-out ratio below, this does not move
    # with how the machine shares two saturated cores.
    streamed_cpu, line_us = None, None
    if stream_count:
        log(f"events: checkout paced at {rate}/s for {seconds} s with {stream_count} streams")
        streams = StreamReaders(server, admin_token, stream_count)
        time.sleep(2)
        _, streamed, streamed_cpu = paced_checkout()
        time.sleep(1)
        streams.close()
        lines_per_order = streams.events / max(1, streamed["confirmed"])
        line_us = (streamed_cpu["ecom_ms"] - paced_cpu["ecom_ms"]) * 1000 / lines_per_order if lines_per_order else 0
        report.add(
            "events", f"ecom serve's CPU per stream line, paced at {rate} orders/s with {stream_count} streams",
            f"{line_us:.1f} µs ({streamed_cpu['ecom_ms']:.2f} ms per order against {paced_cpu['ecom_ms']:.2f} ms with one "
            f"`ecom listen`; {lines_per_order:.0f} lines per order)", "")

    busy_what = f"{endpoint_count} webhook endpoints and {stream_count} streams"
    sink = WebhookSink(ceiling_binary, workdir)
    client = Client(server.url())

    def log_head():
        return int(psql(server.database("notifications"), "SELECT COALESCE(max(seq), 0) FROM notifications.event_log")[0][0])

    def add_endpoints():
        endpoints = []
        for index in range(endpoint_count):
            status, body, _ = client.request("POST", "/admin/webhooks", {"url": sink.url(index), "types": []},
                                             {"Authorization": f"Bearer {admin_token}"})
            expect(status, body, (201,), "webhook endpoint")
            endpoints.append(body["id"])
        return endpoints

    def delete_endpoints(endpoints):
        for endpoint in endpoints:
            client.request("DELETE", f"/admin/webhooks/{endpoint}", None, {"Authorization": f"Bearer {admin_token}"})

    # What a delivery costs the server, at a pace the dispatcher keeps up with (ten endpoints that
    # take every event want about 40 deliveries per order, more than it sends flat out): a slow
    # checkout without endpoints, then the same with them until every delivery due was made.
    if endpoint_count:
        slow = max(2, rate // 6)
        log(f"events: checkout paced at {slow}/s for {seconds} s, nothing listening")
        _, quiet_slow, quiet_slow_cpu = paced_checkout(slow)
        endpoints = add_endpoints()
        opened_at = log_head()
        made = due = 0

        def delivered(since):
            """Waits (two minutes at most) until every delivery due since `since` was made."""
            nonlocal made, due
            due = (log_head() - opened_at) * endpoint_count
            deadline = time.monotonic() + 120
            while True:
                made = int(psql(server.database("notifications"), "SELECT count(*) FROM notifications.webhook_deliveries "
                                f"WHERE state = 'delivered' AND delivered_at >= '{since}'")[0][0])
                if made >= due or time.monotonic() >= deadline:
                    return
                time.sleep(0.5)

        log(f"events: checkout paced at {slow}/s for {seconds} s with {endpoint_count} webhook endpoints, until delivered")
        _, hooked, hooked_cpu = paced_checkout(slow, until=delivered)
        delete_endpoints(endpoints)
        per_order = made / max(1, hooked["confirmed"])
        delivery_us = (hooked_cpu["ecom_ms"] - quiet_slow_cpu["ecom_ms"]) * 1000 / per_order if per_order else 0
        report.add(
            "events", f"ecom serve's CPU per webhook delivery, paced at {slow} orders/s with {endpoint_count} endpoints",
            f"{delivery_us:.0f} µs ({hooked_cpu['ecom_ms']:.2f} ms per order against {quiet_slow_cpu['ecom_ms']:.2f} ms without; "
            f"{per_order:.0f} deliveries per order, {made} of {due} due made)", "")

    def busy_run():
        endpoints = add_endpoints()
        opened_at = log_head()
        streams = StreamReaders(server, admin_token, stream_count)
        time.sleep(2)
        since = database_now(server)
        start = cpu()
        activity = database_activity(server)
        load = checkout_load(server, users, products, seconds)
        settled = settle_orders(server, since)
        spent = cpu_per_order(start, settled)
        cost = database_cost(server, activity, settled["confirmed"])
        # Every stream and endpoint was there before the load began: each should have had every event logged since.
        time.sleep(1)
        streams.close()
        logged = log_head() - opened_at
        # Deliveries made by the time every order had settled (deleting the endpoints deletes them,
        # so that the next quiet run does not deliver this run's backlog).
        delivered, rows = (int(value) for value in psql(
            server.database("notifications"),
            f"SELECT count(*) FILTER (WHERE state = 'delivered' AND delivered_at >= '{since}'), count(*) FILTER (WHERE created_at >= '{since}') "
            "FROM notifications.webhook_deliveries")[0])
        # Deliveries not (yet) made, by state and last error, for the log.
        for state, error, count in psql(
                server.database("notifications"),
                f"SELECT state, regexp_replace(COALESCE(last_error, '-'), '\\s+', ' ', 'g'), count(*) FROM notifications.webhook_deliveries "
                f"WHERE created_at >= '{since}' AND state <> 'delivered' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5"):
            log(f"events: {count} delivery rows {state}: {error}")
        delete_endpoints(endpoints)
        return {"load": load, "settled": settled, "cpu": spent, "cost": cost, "delivered": delivered, "rows": rows,
                "deliveries_due": logged * endpoint_count, "stream_lines": streams.events, "stream_lines_expected": logged * stream_count}

    quiets, busies = [first_quiet], []
    for round_index in range(rounds):
        if round_index:
            log(f"events: checkout flat out for {seconds} s, nothing listening (round {round_index + 1} of {rounds})")
            quiets.append(quiet_run())
        log(f"events: checkout flat out for {seconds} s with {busy_what} (round {round_index + 1} of {rounds})")
        busies.append(busy_run())
    sink.close()

    def rate_of(run):
        return run["settled"]["confirmed_per_s"]

    def median_of(runs, value):
        return statistics.median(value(run) for run in runs)

    def cpu_of(key):
        return lambda run: run["cpu"][key]

    quiet_rate, busy_rate = median_of(quiets, rate_of), median_of(busies, rate_of)
    ratio = busy_rate / quiet_rate if quiet_rate else 0
    last = busies[-1]
    rounds_text = ", ".join(f"{rate_of(b):.0f}/{rate_of(q):.0f}" for q, b in zip(quiets, busies))
    report.add(
        "events", f"confirmed orders/s flat out: {busy_what}, against none (median of {rounds} rounds, taken in turn)",
        f"{busy_rate:.0f}/s against {quiet_rate:.0f}/s ({ratio:.0%}; each round {rounds_text}; last round: "
        f"{last['delivered']} of {last['deliveries_due']} deliveries made, {last['rows']} delivery rows written, "
        f"{last['stream_lines']} of {last['stream_lines_expected']} stream lines read; POST /api/orders p99 "
        f"{median_of(busies, lambda run: run['load']['checkout_p99_ms']):.0f} ms against "
        f"{median_of(quiets, lambda run: run['load']['checkout_p99_ms']):.0f} ms)",
        f"≥ {1 - TARGET_EVENTS_OVERHEAD:.0%}", ratio >= 1 - TARGET_EVENTS_OVERHEAD)
    busy_cost = last["cost"]

    def deliveries_per_order(run):
        return run["delivered"] / run["settled"]["confirmed"] if run["settled"]["confirmed"] else 0.0

    # What the busy rounds add per delivery made, so that builds that keep up with different
    # shares of the deliveries compare.
    made = median_of(busies, deliveries_per_order)
    extra_wal = median_of(busies, cpu_of("wal_kb")) - median_of(quiets, cpu_of("wal_kb"))
    per_delivery = f"{extra_wal / made:.2f} KB more per delivery made" if made else "no delivery made"
    report.add(
        "events", f"CPU per confirmed order, flat out, until every order settled: {busy_what}, against none (medians)",
        f"ecom serve {median_of(busies, cpu_of('ecom_ms')):.1f} ms against {median_of(quiets, cpu_of('ecom_ms')):.1f} ms; the machine "
        f"without niced clients {median_of(busies, cpu_of('machine_ms')):.1f} ms against {median_of(quiets, cpu_of('machine_ms')):.1f} ms; "
        f"WAL {median_of(busies, cpu_of('wal_kb')):.1f} KB against {median_of(quiets, cpu_of('wal_kb')):.1f} KB "
        f"({made:.1f} deliveries made per order, {per_delivery}); "
        f"{busy_cost['commits_per_order']:.1f} commits and "
        + (f"{busy_cost['statements_per_order']:.1f}" if busy_cost["statements_per_order"] is not None else "(no pg_stat_statements)")
        + " statements per order with them (last round)", "")
    return {"quiet": {**first_quiet["load"], **first_quiet["settled"], "cpu": first_quiet["cpu"]},
            "paced": {"rate": rate, "lags_ms": {"p50": percentile(lags, 0.5), "p99": percentile(lags, 0.99)}, "missing": missing,
                      "cpu": paced_cpu},
            "streamed": {"cpu": streamed_cpu, "line_us": line_us}, "busy": {**last["load"], **last["settled"], "cpu": last["cpu"]},
            "deliveries": last["delivered"], "delivery_rows": last["rows"], "stream_lines": last["stream_lines"],
            "stream_lines_expected": last["stream_lines_expected"],
            "rounds": [{"quiet_per_s": rate_of(q), "busy_per_s": rate_of(b)} for q, b in zip(quiets, busies)]}

if __name__ == "__main__":
    sys.exit(main())
