"""deploy/patchbay.service: systemd accepts it, and the README's recipe fits it.

The recipe is the README's "Deploy under systemd" section (repeated in the unit's header);
every path, user, group and mode in it is checked here against the unit's directives.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from patchbayd.config import ConfigError
from patchbayd.systemd import Notifier

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "patchbay.service"
README = ROOT / "README.md"
PATCHBAYD = Path(sys.executable).parent / "patchbayd"  # an existing stand-in executable


def directives(text: str) -> dict[str, list[str]]:
    """'Section.Key' -> its values in order (a unit file may repeat a key)."""
    found: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return found


UNIT_TEXT = UNIT.read_text()
SERVICE = {k.removeprefix("Service."): v for k, v in directives(UNIT_TEXT).items()}


def one(key: str) -> str:
    values = SERVICE[key]
    assert len(values) == 1, (key, values)
    return values[0]


def readme_section() -> str:
    text = README.read_text()
    start = text.index("## Deploy under systemd")
    return text[start : text.index("\n## ", start + 1)]


def sh_blocks(markdown: str) -> list[list[list[str]]]:
    """Each ```sh block as its command lines, split like the shell does (comments dropped)."""
    blocks, block, inside = [], [], False
    for line in markdown.splitlines():
        if line.strip() == "```sh":
            inside, block = True, []
        elif line.strip() == "```" and inside:
            inside = False
            blocks.append(block)
        elif inside and shlex.split(line, comments=True):
            block.append(shlex.split(line, comments=True))
    return blocks


def readme_commands() -> list[list[str]]:
    return [command for block in sh_blocks(readme_section()) for command in block]


def header_commands() -> list[list[str]]:
    header = UNIT_TEXT[: UNIT_TEXT.index("[Unit]")]
    return [shlex.split(line[4:]) for line in header.splitlines() if line.startswith("#   ")]


def option(command: list[str], flag: str) -> str:
    assert flag in command, (flag, command)
    return command[command.index(flag) + 1]


def find(commands: list[list[str]], *words: str) -> tuple[int, list[str]]:
    """The one command whose first words are `words`."""
    hits = [(i, c) for i, c in enumerate(commands) if c[: len(words)] == list(words)]
    assert len(hits) == 1, (words, hits)
    return hits[0]


# --- systemd-analyze verify ---------------------------------------------------------------


def verify_warnings(unit_text: str, tmp_path: Path) -> list[str]:
    """What `systemd-analyze verify` says about the unit (it exits 0 on mere warnings, so the
    output is what counts). The unit's /opt/patchbay/bin/patchbayd does not exist here, and
    verify insists on an executable, so the copy points at this venv's patchbayd instead."""
    analyze = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
    if not os.access(analyze, os.X_OK):
        pytest.skip("systemd-analyze is not installed")
    assert "/opt/patchbay/bin/patchbayd " in unit_text
    copy = tmp_path / UNIT.name
    copy.write_text(unit_text.replace("/opt/patchbay/bin/patchbayd ", f"{PATCHBAYD} "))
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""},
    )
    lines = (result.stdout + result.stderr).splitlines()
    assert result.returncode == 0 or lines, result
    return [line for line in lines if line.strip()]


def test_the_unit_passes_systemd_analyze_verify_without_a_warning(tmp_path: Path) -> None:
    assert verify_warnings(UNIT_TEXT, tmp_path) == []


def test_the_verify_check_sees_warnings_it_would_otherwise_miss(tmp_path: Path) -> None:
    broken = UNIT_TEXT.replace("UMask=0077\n", "UMask=0077\nMemoryMaxx=1G\nLimitNOFILE=lots\n")
    warnings = verify_warnings(broken, tmp_path)
    assert any("MemoryMaxx" in w for w in warnings), warnings
    assert any("lots" in w for w in warnings), warnings


# --- the unit -----------------------------------------------------------------------------


def test_the_unit_runs_the_venv_daemon_with_the_system_config() -> None:
    start = shlex.split(one("ExecStart"))
    assert start[:2] == ["/opt/patchbay/bin/patchbayd", "run"]
    assert option(start, "--config") == "/etc/patchbay/config.toml"


def test_a_reload_checks_the_config_before_it_signals() -> None:
    check, signal = (shlex.split(line) for line in SERVICE["ExecReload"])
    start = shlex.split(one("ExecStart"))
    assert check[:2] == [start[0], "check-config"]  # no "-" prefix: a failure stops the reload
    assert option(check, "--config") == option(start, "--config")
    assert signal == ["/bin/kill", "-HUP", "$MAINPID"]


def test_the_unit_keeps_notify_limits_directories_and_hardening() -> None:
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "30s",
        "Restart": "on-failure",
        "User": "patchbay",
        "Group": "patchbay",
        "StateDirectory": "patchbay",
        "StateDirectoryMode": "0700",
        "RuntimeDirectory": "patchbay",
        "RuntimeDirectoryMode": "0750",
        "UMask": "0077",
        "LimitNOFILE": "16384",
        "MemoryHigh": "512M",
        "MemoryMax": "768M",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictNamespaces": "yes",
        "RestrictSUIDSGID": "yes",
        "MemoryDenyWriteExecute": "yes",
        "CapabilityBoundingSet": "",
    }
    assert {key: one(key) for key in expected} == expected
    assert SERVICE["SystemCallFilter"] == ["@system-service", "~@privileged @resources"]


# --- the README's recipe against the unit ------------------------------------------------


def test_the_readme_recipe_fits_the_unit() -> None:
    commands = readme_commands()
    user, group = one("User"), one("Group")
    start = shlex.split(one("ExecStart"))
    config_path = option(start, "--config")

    # The user and its group, made first, at home in the StateDirectory.
    i_user, useradd = find(commands, "useradd")
    assert useradd[-1] == user and "--system" in useradd
    assert "--user-group" in useradd and group == user
    assert option(useradd, "--home-dir") == f"/var/lib/{one('StateDirectory')}"
    assert option(useradd, "--shell") == "/usr/sbin/nologin"
    for i, command in enumerate(commands):
        if group in command[1:] or user in command[1:]:
            assert i >= i_user, f"{command} comes before the user exists"

    # The venv the unit's ExecStart (and ExecReload) lives in, outside /home and /root.
    _, venv = find(commands, "python3", "-m", "venv")
    prefix = venv[3]
    assert start[0] == f"{prefix}/bin/patchbayd"
    assert not prefix.startswith(("/home", "/root", "/usr/local"))
    _, pip = find(commands, f"{prefix}/bin/pip", "install")
    assert pip[2:] == ["."]
    for command in commands:
        assert "pip" not in Path(command[0]).name or command[0] == f"{prefix}/bin/pip"
        if command[0].startswith("/"):
            assert command[0].startswith(f"{prefix}/bin/"), command

    # The config: root:patchbay 0640 in a root:patchbay 0750 directory, where the unit reads it.
    i_dir, config_dir = find(commands, "install", "-d")
    assert config_dir[-1] == str(Path(config_path).parent)
    assert option(config_dir, "-o") == "root" and option(config_dir, "-g") == group
    assert option(config_dir, "-m") == "0750"
    i_cfg, install_config = next(
        (i, c) for i, c in enumerate(commands) if c[0] == "install" and c[-1] == config_path
    )
    assert i_dir < i_cfg
    assert option(install_config, "-o") == "root" and option(install_config, "-g") == group
    assert option(install_config, "-m") == "0640"
    assert (ROOT / install_config[-2]).is_file()
    _, check = find(commands, start[0], "check-config")
    assert option(check, "--config") == config_path

    # The unit itself, from this repository.
    _, install_unit = next(
        (i, c) for i, c in enumerate(commands) if c[0] == "install" and c[-2].endswith(".service")
    )
    assert ROOT / install_unit[-2] == UNIT
    assert install_unit[-1] == f"/etc/systemd/system/{UNIT.name}"
    assert option(install_unit, "-m") == "0644"
    for command in commands:
        if command[0] == "systemctl" and command[1] != "daemon-reload":
            assert command[-1] == UNIT.stem, command


def test_the_readme_names_the_units_socket_and_paths() -> None:
    section = readme_section()
    runtime = f"/run/{one('RuntimeDirectory')}"
    assert f"{runtime}/patchbay.sock" in section
    assert f"/var/lib/{one('StateDirectory')}" in section
    assert f"`{one('Group')}`" in section
    assert "/usr/local/bin" not in section and "pip install . " not in section


def test_the_unit_header_gives_the_readme_recipe() -> None:
    assert header_commands() == sh_blocks(readme_section())[0]


# --- a refused reload, as systemd sees it ------------------------------------------------


def test_a_refused_reload_ends_the_reload_and_shows_in_status(tmp_path: Path) -> None:
    path = tmp_path / "n.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        error = ConfigError("/etc/patchbay/config.toml", "daemon.nope", "unknown key")
        Notifier({"NOTIFY_SOCKET": str(path)}).reload_refused("running; 1 stores", error)
        message = sock.recv(4096).decode()
    assert message.splitlines() == [
        "READY=1",
        "STATUS=running; 1 stores; reload refused: "
        "/etc/patchbay/config.toml: daemon.nope: unknown key",
    ]
