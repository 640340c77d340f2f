"""The cluster's backends side by side, in one run: what moving the state from SQLite to
PostgreSQL costs a single daemon, and what a second daemon on the same PostgreSQL buys.

1. Durable ingest (POST /ingest answered 202 only after its rows are committed):
   throughput and p50/p95/p99 latency under the same load for one daemon on SQLite, one on
   PostgreSQL, and two on one PostgreSQL with the connections spread round-robin over both
   ports; beside them, the time PostgreSQL takes to commit an inbox insert on its own, and
   the simple model those two figures give for N daemons on N hosts.
2. Initial sync of 100,000 contacts to the sandbox's Omnisend on each backend (the same
   steps as test_sync_throughput.py).

    python -m pytest -m bench -s tests/bench/test_cluster.py
    PATCHBAY_BENCH_SECONDS=5 PATCHBAY_BENCH_CONTACTS=20000 ...   # smaller run

Every figure comes from this machine in this run: the daemons, PostgreSQL and the load
generator share its cores, so read them against each other, not as capacity on their own.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from patchbayd.clock import isoformat
from patchbayd.db.inbox import Incoming
from patchbayd.db.postgres import translate
from tests import postgres
from tests.bench import test_sync_throughput as sync_bench
from tests.bench.loadgen import post
from tests.bench.test_ingest import peak_rss_mb
from tests.support import BASE_CONFIG, Daemon, Sandbox, sandbox_config

SECONDS = float(os.environ.get("PATCHBAY_BENCH_SECONDS", "10"))
WARMUP = 1.0  # seconds of the same load first, not counted: pools filled, code paths warm
CONNECTIONS = 32
BATCH = 5  # customers per request: a small batch, as a shop's webhook relay sends them
COMMITS = 500  # timed inbox commits per size
PARALLEL = 4  # connections committing at once, for the database's aggregate figure
CONTACTS = int(os.environ.get("PATCHBAY_BENCH_CONTACTS", "100000"))
CORES = os.cpu_count() or 1
TICKS = os.sysconf("SC_CLK_TCK")
TOKEN = "demo-token"
PATH = "/ingest/demo/customers"
# Per-request debug lines would be a cost of the benchmark, not of the daemon.
CONFIG = BASE_CONFIG.replace('log_level = "debug"', 'log_level = "info"')

pytestmark = pytest.mark.bench


# --- load generator -------------------------------------------------------------------
# tests/bench/loadgen.py's approach (keep-alive HTTP/1.1 on raw asyncio streams, lighter
# than a client library, so the server is what is measured), with batches of BATCH
# customers, several ports round-robin, and p95. It runs in this process: the daemons
# are processes of their own.


@dataclass
class Load:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return self.statuses.get(202, 0)

    @property
    def other(self) -> int:
        return sum(self.statuses.values()) - self.ok

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds

    def ms(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


async def _worker(port: int, prefix: str, deadline: float, load: Load) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.monotonic() < deadline:
            items = [
                {
                    "id": f"{prefix}-{i + k}",
                    "email": f"{prefix}-{i + k}@example.com",
                    "email_consent": {"state": "subscribed"},
                }
                for k in range(BATCH)
            ]
            i += BATCH
            body = json.dumps({"items": items}).encode()
            started = time.perf_counter()
            status = await post(reader, writer, "127.0.0.1", PATH, TOKEN, body)
            load.latencies.append(time.perf_counter() - started)
            load.statuses[status] = load.statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _run(ports: Sequence[int], seconds: float, tag: str) -> Load:
    load = Load()
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(
        *(_worker(ports[n % len(ports)], f"{tag}{n}", deadline, load) for n in range(CONNECTIONS))
    )
    load.seconds = time.monotonic() - started
    return load


# --- CPU accounting -------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICKS  # less idle and iowait


@dataclass
class Measured:
    load: Load
    daemon_cores: float  # CPU seconds per second, all the daemons together
    loadgen_cores: float
    other_cores: float  # the rest of the machine: PostgreSQL, mostly
    rows_per_commit: float


def measure(daemons: Sequence[Daemon], tag: str) -> Measured:
    """The same load against `daemons` (connections round-robin over their ports): a
    warm-up, then SECONDS measured, with where the machine's CPU went meanwhile."""
    ports = [d.port() for d in daemons]
    pids = [d.proc.pid for d in daemons if d.proc is not None]
    warm = asyncio.run(_run(ports, WARMUP, f"{tag}w"))
    assert warm.other == 0, warm.statuses
    since = isoformat(datetime.now(UTC))
    daemon_before = sum(process_cpu(p) for p in pids)
    own_before, machine_before = time.process_time(), machine_cpu()
    load = asyncio.run(_run(ports, SECONDS, tag))
    daemon_cpu = sum(process_cpu(p) for p in pids) - daemon_before
    own_cpu, machine = time.process_time() - own_before, machine_cpu() - machine_before
    # The rows of one commit share its one `received_at` (milliseconds): the distinct
    # values count the commits (commits within one millisecond count once, so ≈).
    rows, commits = daemons[0].execute(
        "SELECT count(*), count(DISTINCT received_at) FROM inbox WHERE received_at >= ?",
        (since,),
    )[0]
    return Measured(
        load,
        daemon_cpu / load.seconds,
        own_cpu / load.seconds,
        max(0.0, machine - daemon_cpu - own_cpu) / load.seconds,
        rows / max(1, commits),
    )


# --- PostgreSQL on its own ------------------------------------------------------------


def inbox_rows(prefix: str, count: int) -> list[Incoming]:
    """Rows as the ingest endpoint makes them (canonical JSON, content-hash dedupe key)."""
    return [
        Incoming.of(
            "demo",
            "customers",
            "ingest",
            {
                "id": f"{prefix}-{k}",
                "email": f"{prefix}-{k}@example.com",
                "email_consent": {"state": "subscribed"},
            },
        )
        for k in range(count)
    ]


def timed_commits(url: str, size: int, repeats: int, tag: str) -> list[float]:
    """Seconds for each of `repeats` commits of a `size`-row inbox insert, issued as the
    daemon issues it (the same statement, client-side binding, BEGIN/INSERT/COMMIT)."""
    marks = ",".join(["(?, ?, ?, ?, ?, ?)"] * size)
    sql = translate(
        "INSERT INTO inbox (store, kind, source, dedupe, payload, received_at)"
        f" VALUES {marks} ON CONFLICT DO NOTHING"
    )
    batches = [inbox_rows(f"{tag}-{n}", size) for n in range(repeats)]
    took = []
    with psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        for rows in batches:
            now = isoformat(datetime.now(UTC))
            values = [v for r in rows for v in (r.store, r.kind, r.source, r.dedupe, r.payload)]
            params = [x for i in range(0, len(values), 5) for x in (*values[i : i + 5], now)]
            started = time.perf_counter()
            with conn.transaction():
                conn.execute(sql, params)
            took.append(time.perf_counter() - started)
    return took


@dataclass
class Commits:
    one_ms: float  # mean time of a 1-row commit
    fifty_ms: float  # mean time of a 50-row commit
    parallel_rows_per_second: float  # 50-row commits on PARALLEL connections at once

    def ms(self, rows: float) -> float:
        """Commit time for `rows` rows, on the line through the two measured sizes."""
        return self.one_ms + (self.fifty_ms - self.one_ms) * (rows - 1) / 49

    def ceiling(self, rows: float) -> float:
        """Rows per second one serial committer can commit (the cluster's inbox inserts
        are one at a time: see write_in_order)."""
        return rows / (self.ms(rows) / 1000)


def time_commits(url: str) -> Commits:
    """The database alone (no daemon running): mean ms per commit of 1 and 50 rows, then
    50-row commits from PARALLEL connections at once, since N daemons commit in parallel."""
    timed_commits(url, 1, 50, "warm")
    one = statistics.fmean(timed_commits(url, 1, COMMITS, "one")) * 1000
    fifty = statistics.fmean(timed_commits(url, 50, COMMITS, "fifty")) * 1000
    each = COMMITS // PARALLEL
    started = time.monotonic()
    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(lambda n: timed_commits(url, 50, each, f"par{n}"), range(PARALLEL)))
    seconds = time.monotonic() - started
    return Commits(one, fifty, PARALLEL * each * 50 / seconds)


# --- 1. durable ingest ----------------------------------------------------------------


def daemon_at(directory: Path, url: str | None) -> Daemon:
    directory.mkdir()
    return Daemon(directory, config_text=CONFIG, database_url=url, lease="15s")


def test_durable_ingest_sqlite_postgresql_and_two_daemons(workdir: Path) -> None:
    """Same load on each: what PostgreSQL's network commit costs one daemon against SQLite,
    and whether a second daemon on the same database adds throughput."""
    postgres.require()
    results: dict[str, Measured] = {}

    single = daemon_at(workdir / "sqlite", None).start()
    try:
        results["1 daemon, SQLite"] = measure([single], "s")
    finally:
        single.kill()

    with postgres.fresh_database() as url:
        single = daemon_at(workdir / "pg", url).start()
        try:
            results["1 daemon, PostgreSQL"] = measure([single], "p")
        finally:
            single.kill()
        commits = time_commits(url)  # on the inbox just filled, with no daemon running

    with postgres.fresh_database() as url:
        pair = [daemon_at(workdir / f"pg{n}", url) for n in (1, 2)]
        try:
            for d in pair:
                d.start()
            results["2 daemons, PostgreSQL"] = measure(pair, "c")
            pending = pair[0].counts()["inbox_pending"]
        finally:
            for d in pair:
                d.kill()

    print(
        f"\ndurable ingest: {CONNECTIONS} connections x {BATCH} customers a request, "
        f"{SECONDS:g} s each after {WARMUP:g} s warm-up, loopback, {CORES} CPU cores"
    )
    print(
        f"  {'':22} {'req/s':>7} {'cust/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
        f" {'rows/commit':>11}   CPU cores busy: daemons / loadgen / rest (PostgreSQL)"
    )
    for name, m in results.items():
        r = m.load
        print(
            f"  {name:22} {r.per_second:7.0f} {r.per_second * BATCH:7.0f} {r.ms(0.50):7.1f}"
            f" {r.ms(0.95):7.1f} {r.ms(0.99):7.1f} {m.rows_per_commit:11.1f}"
            f"   {m.daemon_cores:.2f} / {m.loadgen_cores:.2f} / {m.other_cores:.2f}"
            f"  (non-202: {r.other})"
        )
    print(f"  (2 daemons: {pending} rows still in the shared inbox when the load stopped)")

    print(f"\nPostgreSQL alone, inbox INSERT ... ON CONFLICT DO NOTHING, {COMMITS} commits each")
    print(f"  1-row commit:  {commits.one_ms:6.2f} ms mean = {commits.ceiling(1):7.0f} rows/s")
    print(f"  50-row commit: {commits.fifty_ms:6.2f} ms mean = {commits.ceiling(50):7.0f} rows/s")
    print(
        f"  50-row commits on {PARALLEL} connections at once: "
        f"{commits.parallel_rows_per_second:7.0f} rows/s together"
    )

    b = results["1 daemon, PostgreSQL"]
    per_cpu = b.load.per_second * BATCH / max(b.daemon_cores, 1e-9)
    rows = b.rows_per_commit
    ceiling = commits.ceiling(rows)
    print(
        "\nmodel: N daemons on N hosts ingest at most "
        "min(N x per-daemon CPU ceiling, database commit ceiling)"
    )
    print(
        f"  per-daemon CPU ceiling, from 1 daemon on PostgreSQL: "
        f"{b.load.per_second * BATCH:.0f} customers/s on {b.daemon_cores:.2f} cores busy"
        f" = {per_cpu:.0f} customers per daemon CPU-second"
    )
    print(
        f"  database commit ceiling: 1 / {commits.ms(rows):.2f} ms x {rows:.1f} rows a commit"
        f" (group commit seen under this load; time on the 1-to-50-row line) = {ceiling:.0f}"
        " customers/s"
    )
    for n in (1, 2, 4, 8):
        bound = "CPU" if n * per_cpu < ceiling else "database"
        print(
            f"  N={n}: min({n * per_cpu:7.0f}, {ceiling:7.0f}) = "
            f"{min(n * per_cpu, ceiling):7.0f} customers/s ({bound}-bound)"
        )
    print(
        "  The commit ceiling is one serial committer's for the whole cluster: inbox inserts"
        "\n  take an advisory lock to commit in id order (syncs resume after the highest id"
        "\n  they saw), so N daemons do not commit inbox rows in parallel. Without that lock"
        f"\n  {PARALLEL} connections at once committed {commits.parallel_rows_per_second:.0f}"
        f" rows/s against {commits.ceiling(50):.0f} from one (50-row commits),"
        "\n  on the same cores as the committing clients: what a per-store order would buy."
    )
    print(
        f"  NOTE: this machine has only {CORES} CPU cores, shared by the daemons, PostgreSQL"
        "\n  and the load generator: 2 daemons here compete for the same cores rather than"
        "\n  bringing their own, so (c) shows the cost of coordination, not the gain of a"
        "\n  second host."
    )

    for m in results.values():
        assert m.load.ok > 0 and m.load.other == 0, m.load.statuses


# --- 2. initial sync ------------------------------------------------------------------


def initial_sync(directory: Path, sandbox: Sandbox, url: str | None) -> dict[str, float]:
    """test_sync_throughput's initial sync on one backend: ingest CONTACTS customers, wait
    for the inbox to be applied, then one sync of them all to the sandbox's Omnisend."""
    directory.mkdir()
    sandbox.reset()
    daemon = Daemon(directory, config_text=sandbox_config(sandbox.url), database_url=url)
    daemon.start()
    try:
        people = sync_bench.customers(CONTACTS)
        loaded = time.monotonic()
        sync_bench.load(daemon, people)
        load_seconds = time.monotonic() - loaded
        daemon.connect(sandbox.url, "omnisend", "--rate-limit", "none", key="sandbox-bench")
        started = time.monotonic()
        daemon.cli("sync", "create", "1", "--segment", "all", "--mode", "once")
        counts = sync_bench.finished_run(daemon)["counts"]
        seconds = time.monotonic() - started
        rss = peak_rss_mb(daemon.proc.pid)  # type: ignore[union-attr]
    finally:
        daemon.kill()
    assert counts["sent"] == CONTACTS and counts["failed"] == 0, counts
    assert len(sandbox.state("omnisend")["contacts"]) == CONTACTS
    return {"load": load_seconds, "sync": seconds, "rss": rss}


def test_initial_sync_on_sqlite_and_postgresql(workdir: Path, sandbox: Sandbox) -> None:
    """The sync reads every customer and writes a sent mark for each: the backend is on
    its path for every contact, so this shows what PostgreSQL costs a whole-list sync."""
    postgres.require()
    runs = {"SQLite": initial_sync(workdir / "sqlite", sandbox, None)}
    with postgres.fresh_database() as url:
        runs["PostgreSQL"] = initial_sync(workdir / "pg", sandbox, url)
    print(
        f"\ninitial sync of {CONTACTS} contacts (PATCHBAY_BENCH_CONTACTS) to the sandbox's"
        f" Omnisend (no rate limit), one daemon, {CORES} CPU cores"
    )
    for name, r in runs.items():
        print(
            f"  {name:10} ingest beforehand {CONTACTS / r['load']:7.0f} rows/s"
            f"   sync {CONTACTS / r['sync']:7.0f} rows/s ({r['sync']:.1f} s)"
            f"   daemon peak RSS {r['rss']:.0f} MB"
        )
