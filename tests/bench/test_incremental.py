"""Incremental pass over 1,000,000 stored contacts with 1 % changed: seconds and the
daemon's peak RSS (goal: under 10 s, under 300 MB), beside a full re-scan of the same
store that can only compare payload hashes (what change detection without `seq` costs),
in the same run.

The million customers and their last-sent hashes are written straight into a state dir
(setting up through the ingest API would take minutes); the runs are the real daemon's.

    python -m pytest -m bench -s tests/bench/test_incremental.py
    PATCHBAY_BENCH_STORED=200000 ...   # smaller run
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from datetime import datetime

import pytest

from patchbayd.db import Database
from patchbayd.engine.mapping import SyncRules, payload_hash, to_contact
from patchbayd.model import StoreCustomer
from tests.bench.test_ingest import peak_rss_mb
from tests.support import Daemon, Sandbox

STORED = int(os.environ.get("PATCHBAY_BENCH_STORED", "1000000"))
CHANGED = STORED // 100
NOW = "2026-11-22T10:00:00.000Z"

pytestmark = pytest.mark.bench


def customer(i: int, first_name: str = "M") -> StoreCustomer:
    return StoreCustomer(
        store="demo",
        id=f"c{i:07d}",
        email=f"member{i}@example.com",
        first_name=first_name,
        created_at="2026-06-01T00:00:00.000Z",
        updated_at="2026-06-01T00:00:00.000Z",
        email_consent="subscribed",
        email_consent_at="2026-06-01T00:00:00.000Z",
        member={"points": i, "tier": "gold"},
    )


def build_state(state_dir, sandbox_url: str) -> None:
    state_dir.mkdir(mode=0o700)

    async def migrate() -> None:
        db = await Database.open(state_dir / "patchbay.db")
        await db.close()

    asyncio.run(migrate())
    rules = SyncRules()
    with sqlite3.connect(state_dir / "patchbay.db") as db:
        db.execute(
            "INSERT INTO integrations (id, provider, store, state, account, settings, secret,"
            " fingerprint, callback_token, created_at) VALUES (1, 'omnisend', 'demo', 'active',"
            " 'bench', ?, 'sandbox-bench', 'x', 'tok', ?)",
            (json.dumps({"base_url": f"{sandbox_url}/omnisend"}), NOW),
        )
        db.execute(
            "INSERT INTO syncs (id, integration_id, segment, destination, mode, rules,"
            " state, seq_done, created_at) VALUES (1, 1, 'all', NULL, 'active', '{}',"
            " 'active', ?, ?)",
            (STORED, NOW),
        )
        for start in range(0, STORED, 50_000):
            batch = [customer(i) for i in range(start, min(STORED, start + 50_000))]
            db.executemany(
                "INSERT INTO customers (store, id, email, first_name, created_at, updated_at,"
                " email_consent, email_consent_at, member, received_at, seq)"
                " VALUES ('demo', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        c.id,
                        c.email,
                        c.first_name,
                        c.created_at,
                        c.updated_at,
                        c.email_consent,
                        c.email_consent_at,
                        json.dumps(c.member),
                        NOW,
                        int(c.id[1:]) + 1,
                    )
                    for c in batch
                ],
            )
            db.executemany(
                "INSERT INTO sync_contacts (sync_id, customer_id, hash, status, attempts,"
                " updated_at) VALUES (1, ?, ?, 'sent', 1, ?)",
                [(c.id, payload_hash(to_contact(c, rules), None), NOW) for c in batch],
            )
        # 1 % changed since the last run: a new first name and a newer seq.
        db.executemany(
            "UPDATE customers SET first_name = 'Changed', seq = ? WHERE store = 'demo' AND id = ?",
            [(STORED + 1 + k, f"c{k * 100:07d}") for k in range(CHANGED)],
        )


def run_seconds(daemon: Daemon, count: int) -> dict:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        runs = daemon.api("/v1/syncs/1")["runs"]
        done = [r for r in runs if r["state"] != "running"]
        if len(done) >= count:
            run = done[0]
            took = datetime.fromisoformat(
                run["finished_at"].replace("Z", "+00:00")
            ) - datetime.fromisoformat(run["started_at"].replace("Z", "+00:00"))
            return {"seconds": took.total_seconds(), **run["counts"]}
        time.sleep(0.2)
    raise AssertionError("run did not finish")


def test_incremental_pass_over_a_million_stored_contacts(workdir, sandbox: Sandbox) -> None:
    began = time.monotonic()
    daemon = Daemon(workdir)
    build_state(daemon.state_dir, sandbox.url)
    setup = time.monotonic() - began
    daemon.start()  # resumes the active sync: an incremental run over what changed
    try:
        incremental = run_seconds(daemon, 1)
        rss = peak_rss_mb(daemon.proc.pid)  # type: ignore[union-attr]
        daemon.stop()
        with sqlite3.connect(daemon.state_dir / "patchbay.db") as db:
            db.execute("UPDATE syncs SET seq_done = 0, state = 'active' WHERE id = 1")
        daemon.start()
        rescan = run_seconds(daemon, 2)
        rescan_rss = peak_rss_mb(daemon.proc.pid)  # type: ignore[union-attr]
    finally:
        daemon.kill()
    print(f"\n{STORED} stored contacts, {CHANGED} changed (setup {setup:.0f} s)")
    print(
        f"  incremental (seq) pass: {incremental['seconds']:6.1f} s, peak RSS {rss:.0f} MB, "
        f"scanned {incremental['scanned']}, sent {incremental['sent']}"
    )
    print(
        f"  full re-scan by hash:   {rescan['seconds']:6.1f} s, peak RSS {rescan_rss:.0f} MB,"
        f" scanned {rescan['scanned']}, sent {rescan['sent']}, "
        f"unchanged {rescan['unchanged']}"
    )
    assert incremental["sent"] == CHANGED and incremental["scanned"] == CHANGED
    assert rescan["sent"] == 0 and rescan["unchanged"] == STORED
