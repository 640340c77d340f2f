"""The README's CLI reference and the real command tree agree: every command and option
the README shows exists (and answers --help), and every command exists in the README.
A user copying a line from it gets a command, not 'No such command'."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from patchbay.cli import main as patchbay
from patchbayd.cli import main as patchbayd

README = Path(__file__).resolve().parents[2] / "README.md"
PROGRAMS: dict[str, click.Command] = {"patchbay": patchbay, "patchbayd": patchbayd}


def reference() -> list[str]:
    """The CLI section's code block, one entry per command (continuation lines joined,
    the description column cut off)."""
    text = README.read_text()
    section = text[text.index("## CLI") :]
    block = section[section.index("```\n") + 4 :]
    block = block[: block.index("```")]
    entries: list[str] = []
    for line in block.splitlines():
        stripped = line.strip()
        syntax = re.split(r"\s{3,}", stripped)[0]
        if stripped.startswith(("patchbay ", "patchbayd ")) or stripped in PROGRAMS:
            entries.append(syntax)
        elif stripped.startswith(("[", "|", "--")) and entries:
            entries[-1] += " " + syntax
    return entries


def alternatives(entry: str) -> list[list[str]]:
    """'patchbay sync list | show ID | run ID [--dry-run]' -> one word list per command."""
    program, *rest = entry.split()
    parts = [p.strip() for p in re.split(r"\s\|\s(?![^\[]*\])", " ".join(rest))]
    first = parts[0].split()
    group = resolve(program, first)[:-1] if len(parts) > 1 else []
    return [[program, *first]] + [[program, *group, *p.split()] for p in parts[1:]]


def resolve(program: str, words: list[str]) -> list[str]:
    """The longest prefix of `words` that names a command of `program`."""
    command, path = PROGRAMS[program], []
    for word in words:
        if isinstance(command, click.Group) and word in command.commands:
            command = command.commands[word]
            path.append(word)
        else:
            break
    return path


def command_of(program: str, path: list[str]) -> click.Command:
    command = PROGRAMS[program]
    for word in path:
        assert isinstance(command, click.Group)
        command = command.commands[word]
    return command


COMMANDS = [words for entry in reference() for words in alternatives(entry)]


@pytest.mark.parametrize("words", COMMANDS, ids=[" ".join(w) for w in COMMANDS])
def test_each_readme_command_exists_with_its_options(words: list[str]) -> None:
    program, rest = words[0], words[1:]
    path = resolve(program, rest)
    command = command_of(program, path)
    assert not isinstance(command, click.Group), f"{' '.join(words)}: names no command"
    options = set(re.findall(r"(?<![\w-])(-{1,2}[a-z][a-z-]*)", " ".join(rest)))
    known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    assert options <= known, f"{' '.join(words)}: no such option {options - known}"
    result = CliRunner().invoke(PROGRAMS[program], [*path, "--help"])
    assert result.exit_code == 0, result.output


def leaves(command: click.Command, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    if isinstance(command, click.Group):
        return [
            leaf for name, sub in command.commands.items() for leaf in leaves(sub, (*path, name))
        ]
    return [path]


def test_every_command_is_in_the_readme() -> None:
    shown = {(words[0], *resolve(words[0], words[1:])) for words in COMMANDS}
    every = {leaf for name, program in PROGRAMS.items() for leaf in leaves(program, (name,))}
    assert every - shown == set()
    assert len(COMMANDS) >= 35  # the extraction really read the block
