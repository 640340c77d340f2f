"""Stores end to end: the daemon sets up the sandbox's Shopify shop and reads it in full."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import BASE_CONFIG, Daemon, Sandbox, sandbox_config, wait


def store(daemon: Daemon, name: str = "shop") -> dict:
    return next(s for s in daemon.status()["stores"] if s["name"] == name)


def test_shopify_store_is_set_up_and_read_page_by_page(workdir: Path, sandbox: Sandbox) -> None:
    shop = "my-hyphen-shop-2"  # hyphens are kept verbatim, everywhere
    sandbox.post(f"/_sandbox/shopify/{shop}/seed", {"customers": 600, "orders": 0})
    daemon = Daemon(workdir, config_text=sandbox_config(sandbox.url, shop=shop)).start()
    try:
        wait(lambda: daemon.status()["counts"]["customers"] == 600)
        assert store(daemon)["state"] == "ok"
        state = sandbox.state("shopify")
        requests = state["requests"]
        pages = sum(n for k, n in requests.items() if k.startswith("GET") and "customers" in k)
        assert pages == 3  # 600 customers, 250 a page
        hooks = state["shops"][shop]["webhooks"]
        address = f"{daemon.status()['public_url']}/webhooks/shopify/shop"
        assert sorted(h["topic"] for h in hooks) == [
            "customers/create",
            "customers/update",
            "orders/paid",
        ]
        assert {h["address"] for h in hooks} == {address}
        assert store(daemon)["webhooks"] == address
        # the store view: health, what came in, how much waits, when the import saved
        listed = daemon.api("/v1/stores")["stores"]
        view = next(s for s in listed if s["name"] == "shop")
        assert view["state"] == "ok" and view["customers"] == 600
        assert view["last_received_from"] == "shopify" and view["last_received_at"]
        assert view["import_saved_at"] and view["quarantined"] == 0
        assert next(s for s in listed if s["name"] == "demo")["import_saved_at"] is None
    finally:
        daemon.kill()


def test_a_restart_does_not_register_the_webhooks_twice(workdir: Path, sandbox: Sandbox) -> None:
    daemon = Daemon(
        workdir,
        config_text=sandbox_config(sandbox.url, daemon='public_url = "https://hooks.example.com"'),
    ).start()
    try:
        wait(lambda: store(daemon)["state"] == "ok")
        daemon.stop()
        daemon.start()
        wait(lambda: store(daemon)["state"] == "ok")
        hooks = sandbox.state("shopify")["shops"]["patchbay-demo"]["webhooks"]
        assert len(hooks) == 3
        assert {h["address"] for h in hooks} == {"https://hooks.example.com/webhooks/shopify/shop"}
    finally:
        daemon.kill()


def test_a_restart_reads_only_what_changed_since_the_saved_cursor(
    workdir: Path, sandbox: Sandbox
) -> None:
    """Before, the import cursor lived in memory: every start read the whole store again
    (20,000 customers, 22 s) and logged them all as imported."""
    sandbox.post("/_sandbox/shopify/patchbay-demo/seed", {"customers": 600, "orders": 5})
    daemon = Daemon(workdir, config_text=sandbox_config(sandbox.url)).start()

    def reads(kind: str) -> int:
        requests = sandbox.state("shopify")["requests"]
        return sum(n for k, n in requests.items() if k.startswith("GET") and f"/{kind}" in k)

    try:
        wait(lambda: daemon.status()["counts"]["customers"] == 600)
        wait(lambda: store(daemon)["state"] == "ok")
        customers, orders = reads("customers"), reads("orders")
        assert (customers, orders) == (3, 1)
        daemon.stop()
        seen = len(daemon.stderr())
        daemon.start()
        wait(lambda: store(daemon)["state"] == "ok")  # the first poll after the start is done
        log = daemon.stderr()[seen:]
        assert "store import goes on where it stood" in log
        assert "store customers imported" not in log
        assert reads("customers") == customers + 1  # one page, since the cursor
        assert reads("orders") == orders  # read once, ever
    finally:
        daemon.kill()


def test_an_unreachable_store_does_not_stop_the_daemon(workdir: Path) -> None:
    config = (
        BASE_CONFIG
        + """
[stores.gone]
kind = "shopify"
shop = "gone"
base_url = "http://127.0.0.1:9/shopify/gone"
access_token = "sandbox-x"
webhook_secret = "s"
"""
    )
    daemon = Daemon(workdir, config_text=config).start()
    try:
        wait(lambda: store(daemon, "gone")["state"] == "error")
        assert "unreachable" in store(daemon, "gone")["reason"]
        assert store(daemon, "demo")["state"] == "ok"
        assert "gone (shopify, error: " in daemon.cli("status").stdout
        assert "store unreachable; retrying" in daemon.stderr()
    finally:
        daemon.kill()


def test_a_wrong_shopify_token_is_reported_with_shopifys_reason(
    workdir: Path, sandbox: Sandbox
) -> None:
    config = sandbox_config(sandbox.url).replace("sandbox-shopify-token", "shpat_wrong_token")
    daemon = Daemon(workdir, config_text=config).start()
    try:
        wait(lambda: store(daemon)["state"] == "error")
        assert "Invalid API key or access token" in store(daemon)["reason"]
        assert "shpat_wrong_token" not in daemon.stderr()
        assert "shpat_wrong_token" not in json.dumps(daemon.status())
    finally:
        daemon.kill()
