"""The adversarial suite's figures line, printed at the end of any run that probed.

Only the hook lives here: the hostile-input fixtures are in test_hostile_input.py, so
they apply to that module alone and leave the package's other modules untouched.
"""

from __future__ import annotations

import pytest

from tests.adversarial.harness import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.cases:
        terminalreporter.write_line(TALLY.line())
        for note in sorted(TALLY.notes):
            terminalreporter.write_line(f"adversarial note: {note}")
