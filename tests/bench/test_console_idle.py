"""Idle CPU of `patchbay console`: the real console in a pseudo-terminal (80x24,
TERM=xterm-256color), left alone for a window while (1) connected to an idle daemon on the
main screen, (2) on the syncs screen and (3) on the integrations screen (both polled by the
app), and (4) disconnected (the daemon stopped: it retries every second). CPU is read from
/proc/PID/stat (utime + stime of the process and its children) at both ends of the window.
The baseline in the same run: a minimal Textual app (header, a line of text, footer) idle
in the same kind of terminal. The goal is under 1 % in every state.

    python -m pytest -m bench -s tests/bench/test_console_idle.py
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from tests.support import PATCHBAY, Daemon, Sandbox, sandbox_config, short_tmpdir, wait

WINDOW = 20.0  # seconds of CPU measured per state
SETTLE = 3.0  # after a screen shows, before its window starts (first reads, layout)
GOAL = 1.0  # percent of one CPU
TICKS = os.sysconf("SC_CLK_TCK")

pytestmark = pytest.mark.bench

MINIMAL_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Static

class Idle(App):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self):
        yield Header()
        yield Static("idle baseline")
        yield Footer()

Idle().run()
"""

ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)")


class Terminal:
    """A program in a pseudo-terminal of 80x24; what it writes is drained and kept."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.master = master
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"},
            start_new_session=True,
        )
        os.close(slave)
        self._raw = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the program is gone
                return
            if not chunk:
                return
            with self._lock:
                self._raw += chunk

    def mark(self) -> int:
        with self._lock:
            return len(self._raw)

    def text(self, since: int = 0) -> str:
        """What was written since `since`, escape sequences removed (spacing is lost)."""
        with self._lock:
            raw = bytes(self._raw[since:])
        return re.sub(r"\s+", " ", ANSI.sub(" ", raw.decode(errors="replace")))

    def shows(self, needle: str, since: int = 0, timeout: float = 20.0) -> None:
        try:
            wait(lambda: needle in self.text(since), timeout)
        except AssertionError:
            raise AssertionError(
                f"{needle!r} never shown; exit {self.proc.poll()}; tail: {self.text(since)[-800:]}"
            ) from None

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> int | None:
        if self.proc.poll() is None:
            self.press("q")
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._reader.join(5)
        os.close(self.master)
        return self.proc.returncode


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and every live descendant, plus the reaped children's."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
        ppid = int(fields[1])
        utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
        stats[int(entry.name)] = (ppid, (utime + stime + cutime + cstime) / TICKS)
    tree, total = {pid}, 0.0
    grew = True
    while grew:
        grew = False
        for child, (ppid, _) in stats.items():
            if ppid in tree and child not in tree:
                tree.add(child)
                grew = True
    for member in tree:
        if member in stats:
            total += stats[member][1]
    return total


def idle_cpu(terminal: Terminal, others: dict[str, int] | None = None) -> dict[str, float]:
    """CPU % of one CPU over WINDOW seconds of the terminal's program (and `others`)."""
    pids = {"console": terminal.proc.pid, **(others or {})}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = time.monotonic()
    time.sleep(WINDOW)  # the measurement window itself, not a wait for something
    elapsed = time.monotonic() - start
    assert terminal.proc.poll() is None, "the program exited during the window"
    return {name: 100.0 * (cpu_seconds(pid) - before[name]) / elapsed for name, pid in pids.items()}


def baseline() -> float:
    terminal = Terminal([sys.executable, "-c", MINIMAL_APP], dict(os.environ))
    try:
        terminal.shows("idle baseline")
        time.sleep(SETTLE)
        return idle_cpu(terminal)["console"]
    finally:
        terminal.close()


def console_states() -> dict[str, dict[str, float]]:
    sandbox = Sandbox()
    daemon = Daemon(
        short_tmpdir(),
        config_text=sandbox_config(sandbox.url).replace(
            'log_level = "debug"', 'log_level = "info"'
        ),
    )
    terminal: Terminal | None = None
    try:
        daemon.start()
        made = daemon.connect(sandbox.url, "omnisend", store="shop", key="sandbox-bench")
        integration = str(json.loads(made.stdout)["id"])
        sync = json.loads(
            daemon.cli(
                "sync", "create", integration, "--segment", "all", "--mode", "active", "--json"
            ).stdout
        )["id"]
        wait(
            lambda: any(r["state"] == "done" for r in daemon.api(f"/v1/syncs/{sync}")["runs"]),
            timeout=60,
        )
        daemon_pid = {"daemon": daemon.proc.pid} if daemon.proc else {}
        figures: dict[str, dict[str, float]] = {}

        terminal = Terminal([PATCHBAY, "console"], daemon.env())
        terminal.shows("public connections")  # the status panel: connected, drawn
        time.sleep(SETTLE)
        figures["connected, main screen"] = idle_cpu(terminal, daemon_pid)

        at = terminal.mark()
        terminal.press("s")
        terminal.shows("g run now", at)
        time.sleep(SETTLE)
        figures["connected, syncs screen"] = idle_cpu(terminal, daemon_pid)

        at = terminal.mark()
        terminal.press("i")
        terminal.shows("k check key", at)
        time.sleep(SETTLE)
        figures["connected, integrations screen"] = idle_cpu(terminal, daemon_pid)

        at = terminal.mark()
        terminal.press("\x1b")  # integrations -> the main screen (screens switch, not stack)
        terminal.shows("public connections", at)
        daemon.stop()
        at = terminal.mark()
        terminal.shows("reconnecting automatically", at)
        time.sleep(SETTLE)
        figures["disconnected (daemon stopped)"] = idle_cpu(terminal)
        return figures
    finally:
        if terminal is not None:
            terminal.close()
        daemon.kill()
        sandbox.close()


def test_console_idle_cpu() -> None:
    base = baseline()
    states = console_states()
    print(f"\nidle CPU over {WINDOW:g} s windows, 80x24 pty, % of one CPU (goal < {GOAL:g} %)")
    print(f"  {'baseline: minimal Textual app':40} {base:5.2f} %")
    for name, cpu in states.items():
        daemon = f"   (daemon {cpu['daemon']:5.2f} %)" if "daemon" in cpu else ""
        print(f"  {'console ' + name:40} {cpu['console']:5.2f} %{daemon}")
    over = {name: cpu["console"] for name, cpu in states.items() if cpu["console"] >= GOAL}
    assert not over, f"idle CPU at or over {GOAL} %: {over}"
