"""The CLI and console talk to the daemon only over its control socket (and start its
programs as processes): nothing under console/patchbay imports patchbayd, not even inside
a function. Mentions in strings (`-m patchbayd.sandbox`) are fine."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console" / "patchbay"


def daemon_imports(path: Path) -> list[str]:
    """`file:line: module` for each import of patchbayd (or a module in it) in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [
            f"{path}:{node.lineno}: {name}"
            for name in names
            if name == "patchbayd" or name.startswith("patchbayd.")
        ]
    return found


def test_the_console_package_imports_nothing_from_the_daemon() -> None:
    files = sorted(CONSOLE.rglob("*.py"))
    assert CONSOLE / "cli.py" in files  # the package really was found
    found = [line.removeprefix(f"{ROOT}/") for path in files for line in daemon_imports(path)]
    assert not found, "console/patchbay imports patchbayd:\n" + "\n".join(found)


def test_the_check_finds_imports_anywhere_and_ignores_strings(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os, patchbayd\n"
        "from patchbayd.config import default_socket\n"
        "def f():\n"
        "    import json, patchbayd.sandbox.server as server\n"
        "    from . import patchbayd_like\n"
        "    return ['-m', 'patchbayd.sandbox']\n"
        "import patchbayd_other\n"
    )
    assert [line.rsplit(":", 2)[1:] for line in daemon_imports(sample)] == [
        ["1", " patchbayd"],
        ["2", " patchbayd.config"],
        ["4", " patchbayd.sandbox.server"],
    ]
