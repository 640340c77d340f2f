"""The real `patchbayd` command line: help, flag errors, whole-file config reports, and the
unit's reload step (check-config) on a bad file."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from tests.support import BASE_CONFIG, PATCHBAYD, run_daemon_cmd

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "patchbay.service"

BAD = """
[daemon]
listen = 8780
log_level = "loud"
lisen = "x:1"

[stores.a]
kind = "push"
"""
BAD_LINES = [
    "daemon.listen: expected a string, got int",
    "daemon.log_level: must be one of debug, info, warning, error; got 'loud'",
    "daemon.lisen: unknown key",
    "stores.a.ingest_token: required",
]


@pytest.mark.parametrize("command", [[], ["run"], ["check-config"]])
def test_dash_h_is_help(command: list[str]) -> None:
    short, long = run_daemon_cmd(*command, "-h"), run_daemon_cmd(*command, "--help")
    assert short.returncode == long.returncode == 0, short.stderr
    assert short.stdout == long.stdout
    assert short.stdout.startswith("Usage: patchbayd")


def test_a_bad_listen_flag_is_named_once(workdir: Path) -> None:
    result = run_daemon_cmd("run", "--listen", "bogus", "--state-dir", str(workdir / "s"))
    assert result.returncode == 2
    assert result.stderr.count("--listen") == 1, result.stderr
    assert "expected HOST:PORT or [IPV6]:PORT, got 'bogus'" in result.stderr
    assert not (workdir / "s").exists()


@pytest.mark.parametrize("command", [["check-config"], ["run", "--state-dir"]])
def test_a_bad_config_is_reported_in_full(workdir: Path, command: list[str]) -> None:
    path = workdir / "bad.toml"
    path.write_text(BAD)
    if command[-1] == "--state-dir":
        command = [*command, str(workdir / "s")]
    result = run_daemon_cmd(*command, "--config", str(path))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == len(BAD_LINES) + 1, result.stderr
    for line, expected in zip(lines, BAD_LINES, strict=False):
        assert line.startswith(f"patchbayd: {path}: {expected}"), (line, expected)
    assert lines[-1] == f"patchbayd: {len(BAD_LINES)} errors in {path}"
    assert not (workdir / "s").exists()


def reload_check(config: Path) -> list[str]:
    """The unit's first ExecReload line, with this venv's patchbayd and the given config."""
    lines = [line for line in UNIT.read_text().splitlines() if line.startswith("ExecReload=")]
    command = shlex.split(lines[0].removeprefix("ExecReload="))
    assert command[0] == "/opt/patchbay/bin/patchbayd" and "--config" in command
    command[0] = PATCHBAYD
    command[command.index("--config") + 1] = str(config)
    return command


def test_the_units_reload_step_fails_on_a_bad_config_naming_file_and_key(workdir: Path) -> None:
    path = workdir / "config.toml"
    path.write_text("bogus_key = 1\n" + BASE_CONFIG)
    result = subprocess.run(reload_check(path), capture_output=True, text=True, timeout=30)
    assert result.returncode != 0  # systemd stops here: no SIGHUP, `systemctl reload` fails
    assert f"patchbayd: {path}: bogus_key: unknown key" in result.stderr

    path.write_text(BASE_CONFIG)
    result = subprocess.run(reload_check(path), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr  # ... and a good file goes on to the signal
