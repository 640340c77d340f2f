"""Integrations end to end: the real CLI and daemon against the sandbox's provider accounts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.support import Daemon, Sandbox, wait

KEY = "sandbox-omnisend-0f9e8d7c"


def key_file(workdir: Path, value: str = KEY) -> str:
    path = workdir / "key"
    path.write_text(value + "\n")
    return str(path)


def connect(
    hub: Daemon, sandbox: Sandbox, provider: str, key: str, *extra: str, check: bool = True
) -> tuple[int, dict]:
    result = hub.connect(sandbox.url, provider, *extra, store="shop", key=key, check=check)
    return result.returncode, json.loads(result.stdout) if result.stdout else {}


PROVIDERS = [
    ("omnisend", "sandbox-o", ()),
    ("klaviyo", "sandbox-k", ()),
    ("salesmanago", "sandbox-secret", ("--client-id", "c1", "--owner", "me@example.com")),
    ("benchmark", "sandbox-b", ()),
]


@pytest.mark.parametrize(("provider", "key", "extra"), PROVIDERS)
def test_connect_verifies_then_lists_and_shows_without_the_key(
    hub: Daemon, sandbox: Sandbox, provider: str, key: str, extra: tuple[str, ...]
) -> None:
    code, made = connect(hub, sandbox, provider, key, *extra)
    assert code == 0 and made["state"] == "connected" and made["provider"] == provider
    listed = json.loads(hub.cli("integrations", "list", "--json").stdout)
    assert [i["id"] for i in listed["integrations"]] == [made["id"]]
    cards = {c["provider"]: c["state"] for c in listed["cards"]}
    assert cards[provider] == "connected" and cards["mailchimp"] == "available"
    shown = hub.cli("integrations", "show", str(made["id"])).stdout
    assert "sha256:" in shown and key not in shown
    assert "integration.connected" in shown  # the audit trail


def test_mailchimp_needs_a_data_centre_in_the_key_or_a_base_url(
    hub: Daemon, sandbox: Sandbox
) -> None:
    code, made = connect(
        hub, sandbox, "mailchimp", "sandbox-mc-us1", "--base-url", f"{sandbox.url}/mailchimp/3.0"
    )
    assert code == 0 and made["account"] == "Sandbox Store"
    no_dc = hub.cli(
        "integrations",
        "connect",
        "mailchimp",
        "--store",
        "shop",
        "--api-key-file",
        key_file(hub.directory, "nodatacentre"),
        check=False,
    )
    assert no_dc.returncode == 1 and "data centre" in no_dc.stderr


def test_wrong_key_exits_1_with_the_providers_reason_and_stores_nothing(
    hub: Daemon, sandbox: Sandbox
) -> None:
    wrong = "live-wrong-key-123456"
    code, answer = connect(hub, sandbox, "omnisend", wrong, check=False)
    assert code == 1
    assert "credentials rejected" in answer["error"]["message"]
    assert "invalid API key" in answer["error"]["message"]  # Omnisend's own words
    assert json.loads(hub.cli("integrations", "list", "--json").stdout)["integrations"] == []
    human = hub.cli(
        "integrations",
        "connect",
        "klaviyo",
        "--store",
        "shop",
        "--api-key-file",
        key_file(hub.directory, wrong),
        "--base-url",
        f"{sandbox.url}/klaviyo",
        check=False,
    )
    assert human.returncode == 1 and "Missing or invalid private key" in human.stderr
    for place in [hub.stderr(), human.stdout, human.stderr, *state_files(hub)]:
        assert wrong not in place


def state_files(hub: Daemon) -> list[str]:
    return [p.read_bytes().decode("latin-1") for p in hub.state_dir.iterdir() if p.is_file()]


def test_disconnect_asks_stops_traffic_and_wipes_the_credential(
    hub: Daemon, sandbox: Sandbox
) -> None:
    _, made = connect(hub, sandbox, "omnisend", KEY)
    assert any(KEY in text for text in state_files(hub))  # stored while connected
    refused = hub.cli("integrations", "disconnect", str(made["id"]), check=False)
    assert refused.returncode == 2 and "--yes" in refused.stderr  # no terminal to ask on
    hub.cli("integrations", "disconnect", str(made["id"]), "--yes")
    listed = json.loads(hub.cli("integrations", "list", "--json").stdout)
    assert listed["integrations"] == []
    assert {c["provider"]: c["state"] for c in listed["cards"]}["omnisend"] == "available"
    assert not any(KEY in text for text in state_files(hub))
    before = sandbox.state("omnisend")["requests"]
    gone = hub.cli("integrations", "check", str(made["id"]), check=False)
    assert gone.returncode == 1 and "no integration" in gone.stderr
    assert sandbox.state("omnisend")["requests"] == before  # no traffic after disconnect
    assert "integration disconnected" in hub.stderr()


def test_disconnect_finishes_under_a_reader_and_says_what_became_of_its_syncs(
    hub: Daemon, sandbox: Sandbox
) -> None:
    """Disconnect once answered 500 ("database table is locked") at the checkpoint that
    purges the credential, after the row was already gone: nothing logged, the purge not
    done, the syncs pointing at nothing. A reader holding the WAL now only defers the
    purge, which the daemon finishes (and logs) once the reader lets go."""
    _, made = connect(hub, sandbox, "omnisend", KEY)
    sync = json.loads(
        hub.cli("sync", "create", str(made["id"]), "--segment", "all", "--json").stdout
    )
    reader = sqlite3.connect(hub.state_dir / "patchbay.db")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM integrations").fetchone()  # holds a WAL snapshot
    done = hub.cli("integrations", "disconnect", str(made["id"]), "--yes", check=False)
    assert done.returncode == 0, done.stderr
    assert f"syncs {sync['id']} are in error" in done.stdout
    shown = json.loads(hub.cli("sync", "show", str(sync["id"]), "--json").stdout)
    assert shown["state"] == "error" and "disconnected" in shown["reason"]
    assert "integration disconnected; credentials wiped" in hub.stderr()
    reader.rollback()
    reader.close()
    wait(lambda: "credential copy purged from the write-ahead log" in hub.stderr())
    assert not any(KEY in text for text in state_files(hub))


def test_a_key_revoked_while_in_use_puts_the_integration_in_error(
    hub: Daemon, sandbox: Sandbox
) -> None:
    _, made = connect(hub, sandbox, "klaviyo", "sandbox-k-2")
    sandbox.faults("klaviyo", revoked_keys=["sandbox-k-2"])
    checked = hub.cli("integrations", "check", str(made["id"]), "--json", check=False)
    assert checked.returncode == 1
    assert "Missing or invalid private key" in json.loads(checked.stdout)["error"]["message"]
    data = json.loads(hub.cli("integrations", "show", str(made["id"]), "--json").stdout)
    assert data["state"] == "error" and "Missing or invalid private key" in data["reason"]
    # the detail names the failure among its recent problems, and says how the limit is used
    assert any(
        "Missing or invalid private key" in e["fields"].get("reason", "") for e in data["problems"]
    )
    assert all(e["level"] in ("warning", "error") for e in data["problems"])
    assert data["usage"]["limit"] == data["rate_limit"] and data["usage"]["sent_last_minute"] >= 1
    shown = hub.cli("integrations", "show", str(made["id"])).stdout
    assert "recent warnings and errors:" in shown and "sent last minute" in shown
    sandbox.faults("klaviyo", revoked_keys=[])
    data = json.loads(hub.cli("integrations", "check", str(made["id"]), "--json").stdout)
    assert data["state"] == "connected" and data["reason"] is None


def test_a_check_that_fails_for_a_passing_reason_still_fails(hub: Daemon, sandbox: Sandbox) -> None:
    """A provider answering 503 is no working key: the check says so and exits 1 (it
    reported success, exit 0, before), and the integration is not put in error for it."""
    _, made = connect(hub, sandbox, "omnisend", KEY)
    sandbox.faults("omnisend", down=True)
    checked = hub.cli("integrations", "check", str(made["id"]), check=False)
    assert checked.returncode == 1
    assert "check failed" in checked.stderr and "HTTP 503" in checked.stderr
    sandbox.faults("omnisend", down=False)
    shown = json.loads(hub.cli("integrations", "show", str(made["id"]), "--json").stdout)
    assert shown["state"] == "connected"
    assert hub.cli("integrations", "check", str(made["id"])).returncode == 0


@pytest.mark.parametrize(
    ("knobs", "words"),
    [
        ({"down": True}, "Service Unavailable (HTTP 503)"),
        ({"error_rate": 1.0, "error_status": 500}, "(HTTP 500)"),
        ({"latency_ms": 2500}, "did not answer within 1 s"),
        ({"malformed": True}, "malformed response"),
    ],
)
def test_an_unhealthy_provider_refuses_the_connect_clearly(
    hub: Daemon, sandbox: Sandbox, knobs: dict, words: str
) -> None:
    sandbox.faults("omnisend", **knobs)
    code, answer = connect(hub, sandbox, "omnisend", KEY, check=False)
    assert code == 1 and words in answer["error"]["message"], answer
    assert json.loads(hub.cli("integrations", "list", "--json").stdout)["integrations"] == []


def test_429s_are_waited_out_not_failed(hub: Daemon, sandbox: Sandbox) -> None:
    sandbox.faults("omnisend", error_rate=0.6, error_status=429)
    code, made = connect(hub, sandbox, "omnisend", KEY)
    assert code == 0
    for _ in range(3):
        hub.cli("integrations", "check", str(made["id"]))
    shown = json.loads(hub.cli("integrations", "show", str(made["id"]), "--json").stdout)
    assert shown["state"] == "connected" and shown["throttled"] >= 1


def test_bad_connect_requests_are_usage_errors(hub: Daemon, sandbox: Sandbox) -> None:
    missing = hub.cli(
        "integrations",
        "connect",
        "salesmanago",
        "--store",
        "shop",
        "--api-key-file",
        key_file(hub.directory),
        check=False,
    )
    assert missing.returncode == 1 and "--client-id" in missing.stderr
    no_store = hub.cli(
        "integrations",
        "connect",
        "omnisend",
        "--store",
        "nope",
        "--api-key-file",
        key_file(hub.directory),
        check=False,
    )
    assert no_store.returncode == 1 and "no store 'nope'" in no_store.stderr
    no_key = hub.cli("integrations", "connect", "omnisend", "--store", "shop", check=False)
    assert no_key.returncode == 2 and "--api-key-file" in no_key.stderr
    rate = hub.cli(
        "integrations",
        "connect",
        "omnisend",
        "--store",
        "shop",
        "--api-key-file",
        key_file(hub.directory),
        "--rate-limit",
        "lots",
        check=False,
    )
    assert rate.returncode == 1 and "400/min" in rate.stderr
    # The providers are the daemon's (GET /v1/providers); asked before any key is read.
    unknown = hub.cli("integrations", "connect", "mailgun", "--store", "shop", check=False)
    assert unknown.returncode == 2 and "unknown provider 'mailgun'" in unknown.stderr
    assert "omnisend, klaviyo" in unknown.stderr and "--api-key-file" not in unknown.stderr


def test_the_key_never_reaches_argv_logs_or_api(hub: Daemon, sandbox: Sandbox) -> None:
    env_key = "sandbox-from-env-5a4b3c"
    result = hub.cli(
        "integrations",
        "connect",
        "omnisend",
        "--store",
        "shop",
        "--api-key-env",
        "PB_TEST_KEY",
        "--base-url",
        f"{sandbox.url}/omnisend",
        "--json",
        env_extra={"PB_TEST_KEY": env_key},
    )
    made = json.loads(result.stdout)
    sandbox.faults("omnisend", revoked_keys=[env_key])
    hub.cli("integrations", "check", str(made["id"]), check=False)
    outputs = [
        result.stdout,
        result.stderr,
        hub.stderr(),
        hub.cli("integrations", "show", str(made["id"]), "--json").stdout,
        hub.cli("logs", "--json", "-n", "1000").stdout,
        hub.cli("status", "--json").stdout,
    ]
    for text in outputs:
        assert env_key not in text


def test_the_same_account_twice_in_one_store_is_refused(hub: Daemon, sandbox: Sandbox) -> None:
    """A second integration for the same provider, store and account was accepted
    silently, and every consent change then went out twice."""
    _, first = connect(hub, sandbox, "omnisend", KEY)
    code, again = connect(hub, sandbox, "omnisend", KEY + "-2", check=False)
    assert code == 1
    assert (
        f"already connected to store shop as integration {first['id']}"
        in (again["error"]["message"])
    )
    listed = json.loads(hub.cli("integrations", "list", "--json").stdout)["integrations"]
    assert [i["id"] for i in listed] == [first["id"]]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["sync", "create", "1", "--segment", "all", "--map", "nonsense"], "STORE_FIELD="),
        (["sync", "create", "1", "--segment", "all", "--acquired-since", "soon"], "a date"),
        (["console", "--json"], "--json"),
        (["--json", "console"], "no --json"),
    ],
    ids=["map", "acquired-since", "console-json", "json-console"],
)
def test_usage_errors_exit_2_before_reaching_the_daemon(
    hub: Daemon, args: list[str], words: str
) -> None:
    result = hub.cli(*args, check=False)
    assert result.returncode == 2 and words in result.stderr, result.stderr


def test_the_console_with_no_daemon_exits_3_instead_of_waiting(hub: Daemon) -> None:
    result = hub.cli("console", "--socket", str(hub.directory / "nobody.sock"), check=False)
    assert result.returncode == 3 and "cannot reach patchbayd" in result.stderr


def test_liveness_and_readiness_are_apart(hub: Daemon, sandbox: Sandbox) -> None:
    """/healthz said ok with the store unreachable and every provider down. It still
    answers for the process; /readyz fails with the reasons, and status shows them."""
    wait(lambda: httpx.get(hub.url("/readyz")).status_code == 200)  # the shop connected
    _, made = connect(hub, sandbox, "omnisend", KEY)
    sandbox.faults("omnisend", down=True)
    hub.cli("integrations", "check", str(made["id"]), check=False)
    ready = httpx.get(hub.url("/readyz"))
    assert ready.status_code == 503
    [reason] = ready.json()["reasons"]
    assert reason.startswith(f"integration {made['id']} (omnisend):") and "503" in reason
    assert httpx.get(hub.url("/healthz")).json() == {"status": "ok"}
    assert "DEGRADED: integration" in hub.cli("status").stdout
    sandbox.faults("omnisend", down=False)
    hub.cli("integrations", "check", str(made["id"]))
    assert httpx.get(hub.url("/readyz")).json() == {"status": "ready"}
    assert "DEGRADED" not in hub.cli("status").stdout
