"""Several daemons on one PostgreSQL, as real processes with the sandbox: the work spread
over them by leases, killed daemons taken over with nothing lost or sent twice, a paused
daemon kept from acting on the lease it lost, and the database's connections cut.

Sizes are small by default so CI stays quick; PATCHBAY_CLUSTER_CONTACTS raises the
contact count (the closing figures were taken with 50000). Kill points come from a
printed seed (PATCHBAY_KILL_SEED replays one).
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from patchbayd.engine.outbox import IN_FLIGHT
from tests.postgres import fresh_database
from tests.support import BASE_CONFIG, PATCHBAY, Daemon, Sandbox, wait

EXAMPLES = resources.files("patchbayd.route_examples")
CONTACTS = int(os.environ.get("PATCHBAY_CLUSTER_CONTACTS", "3000"))
CHUNK = 250
PENDING = "SELECT count(*) FROM inbox WHERE processed_at IS NULL"


@pytest.fixture
def shared() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
def daemons(workdir: Path, shared: str) -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    for i in range(3):
        directory = workdir / f"d{i}"
        directory.mkdir()
        started.append(Daemon(directory, config_text=BASE_CONFIG, database_url=shared))
    for d in started:
        d.start()
    yield started
    for d in started:
        d.kill()


def seeded() -> random.Random:
    seed = int(os.environ.get("PATCHBAY_KILL_SEED") or random.SystemRandom().randrange(10**9))
    print(f"PATCHBAY_KILL_SEED={seed}")
    return random.Random(seed)


def person(i: int, version: int) -> dict[str, Any]:
    return {
        "id": f"c{i:06d}",
        "email": f"member{i}@example.com",
        "first_name": f"V{version}-{i}",
        "created_at": "2026-06-01T00:00:00Z",
        "updated_at": f"2026-06-0{version}T00:00:00Z",
        "email_consent": {"state": "subscribed", "updated_at": "2026-06-01T00:00:00Z"},
    }


def coupon(n: int, customer: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"e{n}-{customer['id']}",
        "type": "loyalty.coupon_created",
        "occurred_at": "2026-11-22T10:00:00Z",
        "customer": {"id": customer["id"], "email": customer["email"]},
        "data": {"code": f"K{n}-{customer['id']}", "value": "10%"},
    }


def paid(n: int, customer: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"o{n}-{customer['id']}",
        "customer_id": customer["id"],
        "email": customer["email"],
        "status": "paid",
        "total": "9.50",
        "currency": "EUR",
        "created_at": "2026-11-01T10:00:00Z",
        "items": [],
    }


def sent(sandbox: Sandbox, name: str, key: str) -> list[str]:
    """What Omnisend holds of events named `name`: their `key` property, sorted."""
    events = sandbox.state("omnisend")["events"]
    return sorted(str(e["properties"][key]) for e in events if e.get("eventName") == name)


def short(expected: list[str], got: list[str]) -> str:
    """How far `got` is from `expected`, for a failure message."""
    return f"{len(got)} of {len(expected)}, missing e.g. {sorted(set(expected) - set(got))[:5]}"


def post(d: Daemon, kind: str, items: list[dict[str, Any]]) -> None:
    answer = httpx.post(
        d.url(f"/ingest/demo/{kind}"),
        json={"items": items},
        headers={"Authorization": "Bearer demo-token"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text


def connect(d: Daemon, sandbox: Sandbox, provider: str, *extra: str) -> int:
    return int(json.loads(d.connect(sandbox.url, provider, *extra).stdout)["id"])


def holders(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT name, holder FROM leases").fetchall())


def scalar(url: str, sql: str) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
        return row[0] if row else None


def holder_of(daemons: list[Daemon], url: str, lease: str) -> Daemon:
    """The daemon holding `lease` (waiting until one does)."""
    names = {d.status()["daemon"]: d for d in daemons}
    wait(lambda: holders(url).get(lease) in names, timeout=30)
    return names[holders(url)[lease]]


def contacts(sandbox: Sandbox) -> dict[str, str]:
    found = sandbox.state("omnisend")["contacts"]
    return {c["email"]: c.get("firstName", "") for c in found}


def follow_log(d: Daemon, then: Callable[[], None], within: float = 30.0) -> list[dict[str, Any]]:
    """Events `patchbay logs --follow --json` prints on daemon `d` after `then()` ran, up
    to the first sync event from another daemon (or `within` seconds)."""
    follower = subprocess.Popen(
        [PATCHBAY, "logs", "--follow", "--json", "--lines", "0"],
        env=d.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert follower.stdout is not None
    reader = threading.Thread(target=lambda: [lines.put(x) for x in follower.stdout or ()])
    reader.start()
    seen: list[dict[str, Any]] = []
    try:
        time.sleep(0.5)  # its SSE stream opened (a missed early event only costs a rerun)
        then()
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                event = json.loads(lines.get(timeout=max(0.1, deadline - time.monotonic())))
            except queue.Empty:
                break
            seen.append(event)
            if event.get("component") == "sync" and event.get("fields", {}).get("daemon"):
                break
    finally:
        follower.terminate()
        follower.wait(10)
        reader.join(10)
    return seen


def notable(log: str) -> str:
    """A daemon's lines about leases, syncs and trouble (not its per-contact lines)."""
    keep = [
        line
        for line in log.splitlines()
        if any(w in line for w in (" cluster:", " sync:", "WARNING", "ERROR", "daemon:"))
    ]
    return "\n".join(keep[-40:])


def explain(daemons: list[Daemon], url: str, sandbox: Sandbox, expected: dict[str, str]) -> str:
    """Where things stand when the contacts did not all arrive: for the failure message."""
    found = contacts(sandbox)
    wrong = [e for e, name in expected.items() if found.get(e) != name]
    syncs = daemons[0].api("/v1/syncs")
    return "\n".join(
        [
            f"{len(wrong)} of {len(expected)} contacts missing or stale, e.g. {wrong[:3]}",
            f"inbox pending: {scalar(url, PENDING)}",
            f"leases: {holders(url)}",
            f"syncs: {json.dumps(syncs)[:1500]}",
            *(f"--- daemon {i}:\n{notable(d.stderr())}" for i, d in enumerate(daemons)),
        ]
    )


def test_three_daemons_share_the_work_and_lose_nothing_when_killed(
    daemons: list[Daemon], shared: str, sandbox: Sandbox
) -> None:
    rng = seeded()
    # The provider allows twice the client's limit: three daemons each sending at the
    # limit would go past it; one limiter for the whole cluster never does.
    sandbox.faults("omnisend", rate_limit_per_min=1200)
    omnisend = connect(daemons[0], sandbox, "omnisend", "--rate-limit", "600/min")
    sync = json.loads(
        daemons[1].cli("sync", "create", str(omnisend), "--segment", "all", "--json").stdout
    )
    # Loyalty events routed to Omnisend (an idempotency key each) and an order feed.
    daemons[2].cli("routes", "import", str(EXAMPLES / "coupon_created.toml"))
    daemons[1].cli("orders", "export", str(omnisend), "--mode", "active")
    chunks = [
        [person(i, 1) for i in range(start, min(start + CHUNK, CONTACTS))]
        for start in range(0, CONTACTS, CHUNK)
    ]
    # Every tenth contact changes later: the provider must end with the newer values.
    changed = [person(i, 2) for i in range(0, CONTACTS, 10)]
    chunks += [changed[start : start + CHUNK] for start in range(0, len(changed), CHUNK)]
    kills = set(rng.sample(range(1, len(chunks)), 3))
    killed: list[str] = []
    for n, chunk in enumerate(chunks):
        if n in kills:
            victim = rng.choice(daemons)
            killed.append(victim.status()["daemon"])
            victim.kill()  # SIGKILL: no goodbye, its leases expire
            victim.start()
        post(daemons[n % 3], "customers", chunk)
        buyers = chunk[:5]
        post(daemons[(n + 1) % 3], "events", [coupon(n, c) for c in buyers])
        post(daemons[(n + 2) % 3], "orders", [paid(n, c) for c in buyers])
    expected = {
        f"member{i}@example.com": f"V{2 if i % 10 == 0 else 1}-{i}" for i in range(CONTACTS)
    }
    try:
        wait(lambda: contacts(sandbox) == expected, timeout=60 + CONTACTS / 100)
    except AssertionError:
        raise AssertionError(explain(daemons, shared, sandbox, expected)) from None

    # Every routed event and every order exactly once (the provider dedupes by key, so a
    # resend after a kill is one event there; a second send under another key is not).
    coupons = sorted(f"K{n}-{c['id']}" for n, chunk in enumerate(chunks) for c in chunk[:5])
    orders = sorted(f"o{n}-{c['id']}" for n, chunk in enumerate(chunks) for c in chunk[:5])
    # One request each, at the client's 600/min: the time scales with their number.
    budget = 30 + (len(coupons) + len(orders)) / 8
    try:
        wait(lambda: len(sent(sandbox, "coupon created", "code")) >= len(coupons), budget)
        wait(lambda: len(sent(sandbox, "Placed Order", "order_id")) >= len(orders), budget)
    except AssertionError:
        raise AssertionError(
            f"coupons: {short(coupons, sent(sandbox, 'coupon created', 'code'))}; "
            f"orders: {short(orders, sent(sandbox, 'Placed Order', 'order_id'))}\n"
            + explain(daemons, shared, sandbox, {})
        ) from None
    assert sent(sandbox, "coupon created", "code") == coupons
    assert sent(sandbox, "Placed Order", "order_id") == orders
    assert "429" not in sandbox.state("omnisend")["statuses"]
    assert scalar(shared, PENDING) == 0
    live = {d.status()["daemon"] for d in daemons}
    # A killed daemon's leases go to the living within a lease time or two.
    wait(lambda: set(holders(shared).values()) <= live, timeout=20)
    assert not set(holders(shared).values()) & set(killed)
    # Every daemon sees the whole cluster and the sync's state, whichever ran it.
    for d in daemons:
        seen = {m["name"] for m in d.status()["daemons"] if m["alive"]}
        assert live <= seen
        assert d.api(f"/v1/syncs/{sync['id']}")["state"] in ("active", "idle")
    # A console on another daemon follows the sync the holder runs: its log lines and
    # progress cross over (`patchbay logs --follow` there, as the console reads it).
    runner = holder_of(daemons, shared, f"integration:{omnisend}")
    other = next(d for d in daemons if d is not runner)
    seen = follow_log(other, lambda: post(other, "customers", [person(0, 3)]))
    assert any(
        e["component"] == "sync" and e["fields"].get("daemon") == runner.status()["daemon"]
        for e in seen
    ), f"the sync's events did not cross to another daemon: {seen[-5:]}"


def test_a_paused_daemon_does_not_act_on_the_lease_it_lost(
    daemons: list[Daemon], shared: str, sandbox: Sandbox
) -> None:
    first = daemons[0]
    post(first, "customers", [person(i, 1) for i in range(5)])
    # One order is one request: more than the provider allows if each daemon had its own
    # limiter (three times 300/min against 450/min), never with the cluster's one.
    sandbox.faults("omnisend", rate_limit_per_min=450)
    omnisend = connect(first, sandbox, "omnisend", "--rate-limit", "300/min")
    first.cli("orders", "export", str(omnisend), "--mode", "active")
    holder = holder_of(daemons, shared, f"integration:{omnisend}")
    others = [d for d in daemons if d is not holder]
    sandbox.faults("omnisend", latency_ms=50)

    def order(i: int) -> dict[str, Any]:
        return {
            "id": f"o{i:04d}",
            "customer_id": f"c{i % 5:06d}",
            "email": f"member{i % 5}@example.com",
            "status": "paid",
            "total": "1.00",
            "currency": "EUR",
            "created_at": "2026-11-01T10:00:00Z",
            "items": [],
        }

    def placed() -> list[str]:
        events = sandbox.state("omnisend")["events"]
        return sorted(e["properties"]["order_id"] for e in events)

    post(others[0], "orders", [order(i) for i in range(20)])
    holder.signal(signal.SIGSTOP)  # a partition: alive, but silent past its lease
    try:
        wait(
            lambda: (
                holders(shared).get(f"integration:{omnisend}")
                in {d.status()["daemon"] for d in others}
            ),
            timeout=30,
        )
        post(others[1], "orders", [order(i) for i in range(20, 40)])
        wait(lambda: len(placed()) >= 40, timeout=60)
    finally:
        holder.signal(signal.SIGCONT)
    # When it runs again it must find out it lost its leases before doing anything more.
    wait(lambda: "leases lapsed" in holder.stderr() or "leases lost" in holder.stderr())
    post(holder, "orders", [order(i) for i in range(40, 50)])
    wait(lambda: len(placed()) >= 50, timeout=60)
    requests = sandbox.state("omnisend")["requests"].get("POST /v5/events", 0)
    # Only what was in flight when it stopped may have gone twice (the provider dedupes).
    assert requests <= 50 + IN_FLIGHT, requests
    assert "429" not in sandbox.state("omnisend")["statuses"]
    assert placed() == [f"o{i:04d}" for i in range(50)], "an order went out twice or not at all"


def test_cut_database_connections_lose_nothing_acknowledged(
    daemons: list[Daemon], shared: str
) -> None:
    """What a PostgreSQL restart does to the daemons: every connection dropped at once,
    under load. Each request answered 202 must end up processed."""
    name = shared.rsplit("/", 1)[1]
    acknowledged = 0
    for n in range(12):
        if n in (4, 8):
            with psycopg.connect(shared.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
                c.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
        items = [person(i, 1) for i in range(n * 100, n * 100 + 100)]
        answer = httpx.post(
            daemons[n % 3].url("/ingest/demo/customers"),
            json={"items": items},
            headers={"Authorization": "Bearer demo-token"},
            timeout=30,
        )
        if answer.status_code == 202:
            acknowledged += 100
        else:
            assert answer.status_code == 503, answer.text  # refused, said so: not lost
    assert acknowledged >= 1000  # the pool reconnected: most requests went through
    wait(
        lambda: scalar(shared, PENDING) == 0,
        timeout=60,
    )
    assert scalar(shared, "SELECT count(*) FROM customers") >= acknowledged
    for d in daemons:
        assert d.status()["state"] == "running"
