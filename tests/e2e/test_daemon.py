"""The real patchbayd as a subprocess: readiness, signals, locks, modes, status, logs, HTTP."""

from __future__ import annotations

import json
import signal
import socket
import stat
import subprocess
import time

import httpx
import pytest

from tests.support import BASE_CONFIG, PATCHBAY, Daemon, run_daemon_cmd, wait


def test_ready_only_once_both_listeners_accept(daemon: Daemon) -> None:
    ready = daemon.notify.wait_for("READY=1")  # type: ignore[union-attr]
    assert "STATUS=running" in ready
    # At the moment READY=1 was sent, both sockets already accepted connections:
    with socket.socket(socket.AF_UNIX) as ctl:
        ctl.connect(str(daemon.socket))
    assert httpx.get(daemon.url("/healthz")).json() == {"status": "ok"}


def test_watchdog_pings_at_half_the_interval(unstarted_daemon: Daemon) -> None:
    unstarted_daemon.extra_env["WATCHDOG_USEC"] = "200000"  # 0.2 s -> a ping every 0.1 s
    unstarted_daemon.start()
    notify = unstarted_daemon.notify
    assert notify is not None
    for _ in range(3):
        notify.messages = [m for m in notify.messages if "WATCHDOG=1" not in m]
        notify.wait_for("WATCHDOG=1", timeout=2)


def test_sigterm_stops_gracefully_with_exit_0_and_removes_the_socket(daemon: Daemon) -> None:
    started = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - started < 10
    daemon.notify.wait_for("STOPPING=1")  # type: ignore[union-attr]
    assert not daemon.socket.exists()
    assert "patchbayd stopped" in daemon.stderr()


def test_sigterm_with_a_log_stream_open_still_stops(daemon: Daemon) -> None:
    follower = subprocess.Popen(
        [PATCHBAY, "logs", "--follow"],
        env=daemon.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert follower.stdout is not None
    assert "patchbayd ready" in follower.stdout.readline()
    assert daemon.stop() == 0
    _out, err = follower.communicate(timeout=10)
    assert follower.returncode == 0
    assert "closed the log stream" in err


def test_sighup_reloads_a_good_config_and_refuses_a_bad_one(daemon: Daemon) -> None:
    daemon.config_path.write_text(
        BASE_CONFIG + '\n[stores.more]\nkind = "push"\ningest_token = "t2"\n'
    )
    daemon.signal(signal.SIGHUP)
    daemon.notify.wait_for("RELOADING=1")  # type: ignore[union-attr]
    wait(lambda: len(daemon.status()["stores"]) == 2)

    daemon.config_path.write_text(BASE_CONFIG + "\nbogus_key = 1\n")
    daemon.signal(signal.SIGHUP)
    wait(lambda: "config reload refused" in daemon.stderr())
    assert "bogus_key" in daemon.stderr()
    assert [s["name"] for s in daemon.status()["stores"]] == ["demo", "more"]
    assert daemon.proc is not None and daemon.proc.poll() is None


def test_second_daemon_on_the_same_state_dir_refuses(daemon: Daemon, workdir) -> None:
    result = run_daemon_cmd(
        "run",
        "--config",
        str(daemon.config_path),
        "--state-dir",
        str(daemon.state_dir),
        "--socket",
        str(workdir / "other.sock"),
    )
    assert result.returncode == 1
    assert "another patchbayd" in result.stderr and str(daemon.state_dir) in result.stderr
    assert daemon.status()["state"] == "running"


def test_second_daemon_on_the_same_socket_refuses(daemon: Daemon, workdir) -> None:
    result = run_daemon_cmd(
        "run",
        "--config",
        str(daemon.config_path),
        "--state-dir",
        str(workdir / "state2"),
        "--socket",
        str(daemon.socket),
    )
    assert result.returncode == 1
    assert "another daemon is answering" in result.stderr
    assert daemon.status()["state"] == "running"


def test_stale_socket_from_a_killed_daemon_is_cleaned_up(daemon: Daemon) -> None:
    daemon.kill()
    assert daemon.socket.exists()  # SIGKILL leaves it behind
    daemon.start()
    assert daemon.status()["state"] == "running"


def test_file_and_socket_modes(daemon: Daemon) -> None:
    assert stat.S_IMODE(daemon.socket.stat().st_mode) == 0o660
    assert stat.S_IMODE(daemon.state_dir.stat().st_mode) == 0o700
    for name in ("patchbay.db", "patchbay.db-wal", "patchbayd.lock"):
        assert stat.S_IMODE((daemon.state_dir / name).stat().st_mode) == 0o600, name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[daemon]\nlisten = 5\n", "daemon.listen: expected a string"),
        ("[daemon\n", ": line 1: "),
        ('[stores.a]\nkind = "push"\n', "stores.a.ingest_token: required"),
        ("[daemon]\nnope = 1\n", "daemon.nope: unknown key"),
    ],
)
def test_bad_config_exits_2_naming_file_key_and_reason(workdir, text: str, expected: str) -> None:
    path = workdir / "bad.toml"
    path.write_text(text)
    for command in (["check-config"], ["run", "--state-dir", str(workdir / "s")]):
        result = run_daemon_cmd(*command, "--config", str(path))
        assert result.returncode == 2, result.stderr
        assert str(path) in result.stderr and expected in result.stderr
    assert not (workdir / "s").exists()


def test_check_config_accepts_the_example() -> None:
    result = run_daemon_cmd("check-config", "--config", "config.example.toml")
    assert result.returncode == 0, result.stderr
    assert "2 stores" in result.stdout


def test_status_json_before_or_after_the_command(daemon: Daemon) -> None:
    after = json.loads(daemon.cli("status", "--json").stdout)
    before = json.loads(daemon.cli("--json", "status").stdout)
    for status in (after, before):
        assert status["state"] == "running"
        assert status["schema_version"] >= 1
        assert status["state_dir"] == str(daemon.state_dir)
        assert status["socket"] == str(daemon.socket)
        assert {"version", "uptime_seconds", "listen", "counts", "pid"} <= set(status)
        assert status["control_socket"] == str(daemon.socket)  # the one the CLI used
    human = daemon.cli("status").stdout
    assert "running" in human and f"control socket: {daemon.socket}" in human


def test_control_api_over_curl_style_unix_socket(daemon: Daemon) -> None:
    transport = httpx.HTTPTransport(uds=str(daemon.socket))
    with httpx.Client(transport=transport, base_url="http://patchbay") as client:
        assert client.get("/v1/status").json()["state"] == "running"
        missing = client.get("/v1/nothing")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        bad = client.get("/v1/log", params={"backlog": "lots"})
        assert bad.status_code == 400 and "backlog" in bad.json()["error"]["message"]


def test_logs_filter_by_level_and_follow(daemon: Daemon) -> None:
    lines = daemon.cli("logs", "--json").stdout
    events = json.loads(lines)["events"]
    assert any(e["message"] == "patchbayd ready" for e in events)
    assert json.loads(daemon.cli("logs", "--json", "--level", "error").stdout)["events"] == []

    follower = subprocess.Popen(
        [PATCHBAY, "logs", "--follow", "--json", "-n", "1"],
        env=daemon.env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert follower.stdout is not None
    try:
        json.loads(follower.stdout.readline())  # the backlog line: the stream is open
        daemon.signal(signal.SIGHUP)  # makes the daemon log "config reloaded"
        event = json.loads(follower.stdout.readline())
        assert event["message"] == "config reloaded"
    finally:
        follower.kill()
        follower.wait()


def test_healthz_turns_503_when_the_database_is_gone(daemon: Daemon) -> None:
    assert httpx.get(daemon.url("/healthz")).status_code == 200
    port = daemon.port()
    (daemon.state_dir / "patchbay.db").unlink()
    response = httpx.get(f"http://127.0.0.1:{port}/healthz")
    assert response.status_code == 503
    assert response.json()["reason"] == "database unusable"


def test_metrics_in_prometheus_text_format(daemon: Daemon) -> None:
    httpx.get(daemon.url("/healthz"))
    httpx.get(daemon.url("/no/such/thing"))
    body = httpx.get(daemon.url("/metrics"))
    assert body.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = body.text
    assert 'patchbay_http_requests_total{route="/healthz",status="200"}' in text
    assert 'patchbay_http_requests_total{route="unmatched",status="404"}' in text
    assert "patchbay_uptime_seconds" in text
    assert 'patchbay_log_events_total{level="info"}' in text


def test_cli_exits_3_with_a_hint_when_no_daemon(workdir) -> None:
    result = subprocess.run(
        [PATCHBAY, "status", "--socket", str(workdir / "none.sock")], capture_output=True, text=True
    )
    assert result.returncode == 3
    assert "cannot reach patchbayd" in result.stderr and "hint:" in result.stderr


def test_cli_usage_error_exits_2() -> None:
    result = subprocess.run([PATCHBAY, "logs", "--level", "loud"], capture_output=True, text=True)
    assert result.returncode == 2


def test_json_log_format(unstarted_daemon: Daemon) -> None:
    unstarted_daemon.start(args=("--log-format", "json"))
    first = unstarted_daemon.stderr().splitlines()[0]
    record = json.loads(first)
    assert record["message"] == "patchbayd ready" and record["level"] == "info"


def test_log_survives_restart_in_the_event_log_table(daemon: Daemon) -> None:
    assert daemon.stop() == 0
    daemon.start()
    events = json.loads(daemon.cli("logs", "--json").stdout)["events"]
    assert [e["message"] for e in events].count("patchbayd ready") == 2
    ids = [e["id"] for e in events]
    assert ids == sorted(set(ids))
