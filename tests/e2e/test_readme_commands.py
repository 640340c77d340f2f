"""The README's command lines, run as written against a real daemon and the sandbox.

What counts as a command line (`readme_commands()`):
  * every line of a fenced block labelled sh, bash, shell or console (in a console block,
    only the lines after a `$ ` prompt), continuation lines joined, comments cut off, a
    chain `a && b` taken step by step;
  * every inline code span of two words or more whose first word is a program
    (`patchbay status`, `curl --unix-socket SOCK …`; a lone `patchbay` is a name).
The unlabelled blocks are the CLI reference (a synopsis: [options], a | b; its commands
and options are checked by tests/console/test_readme_cli.py), the ingest formats and the
source tree; none of them may hold a `$ ` prompt (label it sh, and it is run here).

Each command line is either in RUN (run here, exit code and output checked) or in
NOT_RUN with the reason; one that is in neither fails the test, and so does a table entry
the README no longer has. Placeholders are substituted from `placeholders()` (each a value
made by this test), and the install paths of the README from INSTALL_PATHS; the commands
run from the repository's root with this venv's bin first on PATH (as after
`. .venv/bin/activate`), no terminal, PATCHBAY_SOCKET pointing at the test daemon and
PATCHBAY_CONFIG at its config (so that nothing reads /etc/patchbay on this machine).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import BIN, Daemon, Notify, Sandbox, sandbox_config, short_tmpdir

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SHELL_BLOCKS = {"sh", "bash", "shell", "console"}
PROGRAMS = {
    "patchbay",
    "patchbayd",
    "python",
    "python3",
    "pip",
    "curl",
    "install",
    "useradd",
    "usermod",
    "systemctl",
    "systemd-analyze",
    "sudo",
}
TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Run:
    """How a command line is run here: `daemon` ones are started, seen ready and stopped
    with SIGTERM; the others run to their end. `output`: a text the output must hold;
    `variants`: the same line again with a placeholder standing for another one (FILE ->
    BAD_FILE), and the exit code then."""

    expect: int = 0
    output: str = ""
    daemon: bool = False
    needs: str = ""  # a program that must be installed (else the line is skipped)
    variants: tuple[tuple[dict[str, str], int], ...] = ()


BAD_CONFIG = '[daemon]\nlisten = "nowhere"\nlog_level = "loud"\n'

RUN: dict[str, Run] = {
    # Run it: the tail of the one-line quick start. Without a terminal `patchbay demo`
    # runs headless (the README says so), which is how it runs here.
    ".venv/bin/patchbay demo": Run(output="patchbay demo: done"),
    "patchbay demo --headless": Run(output="patchbay demo: done"),
    # Configuration
    "patchbayd check-config --config FILE": Run(variants=(({"FILE": "BAD_FILE"}, 2),)),
    "patchbayd run --state-dir DIR --socket PATH --listen HOST:PORT": Run(daemon=True),
    # Deploy: the check of the installed config, with this venv for /opt/patchbay
    "/opt/patchbay/bin/patchbayd check-config --config /etc/patchbay/config.toml": Run(),
    "patchbayd check-config": Run(),  # the unit's ExecReload=; reads $PATCHBAY_CONFIG here
    # CLI and the control API
    "patchbay status": Run(output="running"),
    "patchbay integrations show ID": Run(output="omnisend"),
    "patchbay inbox quarantined": Run(),
    "patchbay routes examples": Run(),
    "curl --unix-socket SOCK http://patchbay/v1/status": Run(output='"version"', needs="curl"),
    # Architecture: the import-graph tests
    "python -m pytest tests/daemon/test_structure.py tests/console/test_no_daemon_imports.py": (
        Run(output="passed")
    ),
}

INSTALLS = "installs from the network (.ci/run does it in a fresh venv; this test runs in one)"
AS_ROOT = "deploys as root onto this machine (tests/daemon/test_deploy.py checks it)"
NOT_RUN: dict[str, str] = {
    "python3 -m venv .venv": INSTALLS,
    ".venv/bin/pip install -q -e .": INSTALLS,
    ".venv/bin/pip install -q -e '.[test]'": INSTALLS,
    ".venv/bin/python -m pytest": "the whole test suite, this test among it",
    "python -m pytest -m bench -s": "the benchmarks: minutes of load, run on their own",
    "python3 -m venv": "prose: names the module the deploy recipe needs",
    "pip install": "prose: a system-wide install, which the README says is refused",
    "patchbay logs --since": "prose: names the option (its value T is in the CLI reference)",
    "useradd --system --user-group --home-dir /var/lib/patchbay --no-create-home "
    "--shell /usr/sbin/nologin patchbay": AS_ROOT,
    "python3 -m venv /opt/patchbay": AS_ROOT,
    "/opt/patchbay/bin/pip install .": AS_ROOT,
    "install -d -o root -g patchbay -m 0750 /etc/patchbay": AS_ROOT,
    "install -o root -g patchbay -m 0640 config.example.toml /etc/patchbay/config.toml": AS_ROOT,
    "install -o root -g root -m 0644 deploy/patchbay.service "
    "/etc/systemd/system/patchbay.service": AS_ROOT,
    "systemctl daemon-reload": AS_ROOT,
    "systemctl enable --now patchbay": AS_ROOT,
    "systemctl reload patchbay": AS_ROOT,
    "usermod -aG patchbay alice": AS_ROOT,
    "systemd-analyze verify": "needs systemd (tests/daemon/test_deploy.py runs it where it can)",
    "patchbayd migrate-state --config /etc/patchbay/config.toml "
    "--to postgresql://patchbay@db.internal/patchbay": "a stopped daemon's state and that"
    " database host; tests/daemon/test_migrate_state.py runs it against a local PostgreSQL",
}

# Where the README's install paths are in this checkout: the venv running the tests, and
# the example config (which the deploy recipe installs as /etc/patchbay/config.toml).
INSTALL_PATHS = {
    ".venv/bin/": f"{BIN}/",
    "/opt/patchbay/bin/": f"{BIN}/",
    "/etc/patchbay/config.toml": "config.example.toml",
}


@dataclass
class Rig:
    """The daemon and sandbox the commands run against, and the placeholders' values."""

    daemon: Daemon
    sandbox: Sandbox
    placeholders: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = self.daemon.env()
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env["PATCHBAY_CONFIG"] = str(self.daemon.config_path)
        return env


def placeholders(rig: Rig, integration: str) -> dict[str, str]:
    """The README's placeholders -> what this test made for them."""
    work = rig.daemon.directory
    (work / "bad.toml").write_text(BAD_CONFIG)
    return {
        "FILE": "config.example.toml",  # "works as it is"; a bad one in RUN's variants
        "BAD_FILE": str(work / "bad.toml"),  # exit 2, listing each bad key
        "ID": integration,  # the integration connected below (omnisend on the sandbox)
        "SOCK": str(rig.daemon.socket),  # the test daemon's control socket
        "DIR": str(work / "readme" / "state"),  # `patchbayd run`: a daemon of its own
        "PATH": str(work / "readme" / "ctl.sock"),
        "HOST:PORT": "127.0.0.1:0",
    }


# -- the README's command lines -------------------------------------------------------------


def _inline_commands(prose: str) -> list[str]:
    found = []
    for span in re.findall(r"(?<!`)`([^`]+)`(?!`)", prose):
        words = span.split()
        if len(words) >= 2 and words[0].rsplit("/", 1)[-1] in PROGRAMS:
            found.append(" ".join(words))
    return found


def _steps(line: str) -> list[str]:
    """A shell line without its comment, cut at &&, each step's spacing normalized."""
    line = re.sub(r"(^|\s)#.*$", "", line)
    return [" ".join(step.split()) for step in line.split("&&") if step.strip()]


def readme_commands(text: str) -> list[str]:
    commands: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if fence is None:
            if stripped.startswith("```"):
                fence = stripped[3:].strip()
            else:
                prose.append(line)
            continue
        if stripped.startswith("```"):
            assert not pending, f"a continuation line ends the {fence} block: {pending!r}"
            fence = None
            continue
        if fence not in SHELL_BLOCKS:
            assert not stripped.startswith("$ "), (
                f"a `$ ` prompt in a ```{fence} block: label it sh to have it run: {line!r}"
            )
            continue
        if fence == "console" and not pending:
            if not stripped.startswith("$ "):
                continue  # output shown under a prompt
            stripped = stripped[2:]
        stripped = stripped.removeprefix("$ ")
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        commands.extend(_steps(pending + stripped))
        pending = ""
    commands.extend(_inline_commands("\n".join(prose)))
    return list(dict.fromkeys(commands))


COMMANDS = readme_commands(README.read_text())
RUNNABLE = [c for c in COMMANDS if c in RUN]


def test_every_readme_command_line_is_run_or_excused() -> None:
    unknown = [c for c in COMMANDS if c not in RUN and c not in NOT_RUN]
    assert not unknown, (
        "README command lines neither run by this test nor excused in NOT_RUN "
        f"(add each to RUN, with placeholders in placeholders(), or to NOT_RUN with why): {unknown}"
    )
    gone = [c for c in [*RUN, *NOT_RUN] if c not in COMMANDS]
    assert not gone, f"in this test's tables but no longer in the README: {gone}"
    assert not set(RUN) & set(NOT_RUN)


def test_the_extraction_finds_each_kind_of_command_line() -> None:
    """A change here must not make the test above pass by finding nothing."""
    sample = (
        "Check it with `patchbay status`; a `patchbay` alone is a name.\n"
        "```sh\npython3 -m venv .venv && .venv/bin/patchbay demo   # a comment\n```\n"
        '```console\n$ patchbay sync list \\\n    --json\n{"syncs": []}\n```\n'
        "```\npatchbay sync show ID        a synopsis\n```\n"
        '```toml\nname = "x"\n```\n'
    )
    assert readme_commands(sample) == [
        "python3 -m venv .venv",
        ".venv/bin/patchbay demo",
        "patchbay sync list --json",
        "patchbay status",
    ]
    with pytest.raises(AssertionError, match="label it sh"):
        readme_commands("```\n$ patchbay status\n```\n")


# -- running them ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    sandbox = Sandbox()
    daemon = Daemon(
        short_tmpdir(),
        config_text=sandbox_config(sandbox.url, daemon='integration_check_interval = "1h"'),
    )
    try:
        daemon.start()
        made = daemon.connect(sandbox.url, "omnisend", store="shop", key="sandbox-readme")
        made_rig = Rig(daemon, sandbox)
        made_rig.placeholders = placeholders(made_rig, str(json.loads(made.stdout)["id"]))
        yield made_rig
    finally:
        daemon.kill()
        sandbox.close()
        shutil.rmtree(daemon.directory, ignore_errors=True)


def argv(command: str, values: dict[str, str]) -> list[str]:
    """The command's words with each placeholder and install path replaced."""
    words = []
    for word in shlex.split(command):
        word = values.get(word, word)
        for path, here in INSTALL_PATHS.items():
            if word.startswith(path):
                word = here + word[len(path) :]
        words.append(word)
    return words


def run(rig: Rig, words: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        words,
        cwd=ROOT,
        env=rig.env(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def run_daemon(rig: Rig, words: list[str]) -> None:
    """Started as written, ready (READY=1, then `patchbay status` on its socket), and
    stopped by SIGTERM with exit 0."""
    directory = Path(rig.placeholders["DIR"]).parent
    directory.mkdir(exist_ok=True)
    notify = Notify(directory)
    stderr = directory / "stderr.log"
    proc = subprocess.Popen(
        words,
        cwd=ROOT,
        env={**rig.env(), "NOTIFY_SOCKET": str(notify.path)},
        stdout=subprocess.DEVNULL,
        stderr=stderr.open("wb"),
        stdin=subprocess.DEVNULL,
    )
    try:
        notify.wait_for("READY=1")
        status = run(rig, ["patchbay", "status", "--socket", rig.placeholders["PATH"]])
        assert status.returncode == 0 and "running" in status.stdout, status
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, stderr.read_text()
        assert TRACEBACK not in stderr.read_text()
    finally:
        proc.kill()
        proc.wait()
        notify.close()


@pytest.mark.parametrize("command", RUNNABLE)
def test_readme_command_runs_as_written(rig: Rig, command: str) -> None:
    spec = RUN[command]
    if spec.needs and shutil.which(spec.needs) is None:
        pytest.skip(f"{spec.needs} is not installed here")
    if spec.daemon:
        run_daemon(rig, argv(command, rig.placeholders))
        return
    for stand_ins, expect in (({}, spec.expect), *spec.variants):
        values = {**rig.placeholders, **{k: rig.placeholders[v] for k, v in stand_ins.items()}}
        words = argv(command, values)
        result = run(rig, words)
        out = result.stdout + result.stderr
        assert result.returncode == expect, f"{words} -> {result.returncode}, not {expect}\n{out}"
        assert TRACEBACK not in out, out
        if expect == 0:
            assert spec.output in out, f"{words}: no {spec.output!r} in\n{out}"
