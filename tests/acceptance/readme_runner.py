"""Read README.md the way a person does: its shell commands in order, its Python and TOML snippets.

`commands()` yields every command of every ```bash block (continuation lines joined, comments stripped, `VAR=x`
prefixes kept as environment, a trailing `&` meaning "in the background"); `snippets(lang)` yields the other
blocks. The README test runs them; this module only parses, so a parsing rule is checked once here.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
_FENCE = re.compile(r"^```(\w*)\s*$")
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass
class Snippet:
    lang: str
    line: int  # 1-based line of the opening fence
    text: str


@dataclass
class Command:
    line: int
    text: str  # as written (joined)
    argv: list[str]  # after the environment prefix, `$Q` kept as a word
    env: dict[str, str] = field(default_factory=dict)
    background: bool = False

    @property
    def words(self) -> list[str]:
        """The arguments after the program (`$Q` or `make`)."""
        return self.argv[1:]


def snippets(lang: str | None = None, path: Path = README) -> Iterator[Snippet]:
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m and m.group(1):
            start, body = i, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            if lang is None or m.group(1) == lang:
                yield Snippet(m.group(1), start + 1, "\n".join(body) + "\n")
        i += 1


def commands(path: Path = README) -> Iterator[Command]:
    for snip in snippets("bash", path):
        logical: list[tuple[int, str]] = []
        pending, first = "", 0
        for k, raw in enumerate(snip.text.splitlines()):
            if not pending:
                first = snip.line + 1 + k
            if raw.rstrip().endswith("\\"):
                pending += raw.rstrip()[:-1] + " "
                continue
            logical.append((first, pending + raw))
            pending = ""
        for line, text in logical:
            words = shlex.split(text, comments=True)
            if not words:
                continue
            background = words[-1] == "&"
            if background:
                words = words[:-1]
            env: dict[str, str] = {}
            while words and _ASSIGN.match(words[0]) and len(words) > 1:
                key, _, value = words.pop(0).partition("=")
                env[key] = value
            if len(words) == 1 and _ASSIGN.match(words[0]):
                continue  # `Q=.venv/bin/quantdesk`: the shell variable the commands use
            yield Command(line, text.strip(), words, env, background)
