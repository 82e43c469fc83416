"""The QuantDesk crypto lexicon and coin table (package data), loaded once and cached.

`crypto_lexicon.tsv` holds terms (single words or phrases of up to 4 words) with a kind and a value: sentiment
words with a valence in [-4, 4] (plain words, movements that compose with what moves: increase, decrease,
amplify, reduce; reversals; modifiers), negators, boosters, diminishers, contrast and concession words and
dampeners and frames (neutral parts and neutral texts). `crypto.py` documents what each kind does. `coins.tsv`
maps coin names and tickers to base currencies. Both are written by the project (Apache-2.0).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from quantdesk.core.errors import ConfigError

KINDS = ("word", "negator", "booster", "diminisher", "contrast", "concession", "increase", "decrease", "reversal",
         "amplify", "reduce", "modifier", "dampener", "frame")
VALENCE_KINDS = ("word", "increase", "decrease", "reversal", "amplify", "reduce", "modifier")
MAX_PHRASE = 4


@dataclass(frozen=True)
class Lexicon:
    """Terms by kind; phrases are keys with spaces. `phrase_heads` = first words of multi-word terms."""

    words: dict[str, float] = field(default_factory=dict)
    negators: dict[str, float] = field(default_factory=dict)
    boosters: dict[str, float] = field(default_factory=dict)
    diminishers: dict[str, float] = field(default_factory=dict)
    contrasts: dict[str, float] = field(default_factory=dict)
    concessions: dict[str, float] = field(default_factory=dict)
    increases: dict[str, float] = field(default_factory=dict)
    decreases: dict[str, float] = field(default_factory=dict)
    reversals: dict[str, float] = field(default_factory=dict)
    amplifiers: dict[str, float] = field(default_factory=dict)
    reducers: dict[str, float] = field(default_factory=dict)
    modifiers: dict[str, float] = field(default_factory=dict)
    dampeners: dict[str, float] = field(default_factory=dict)
    frames: dict[str, float] = field(default_factory=dict)
    phrase_heads: frozenset[str] = frozenset()
    source: str = ""

    def __len__(self) -> int:
        return sum(len(d) for d in (self.words, self.negators, self.boosters, self.diminishers,
                                    self.contrasts, self.concessions, self.increases, self.decreases,
                                    self.reversals, self.amplifiers, self.reducers, self.modifiers,
                                    self.dampeners, self.frames))


def parse_lexicon(text: str, source: str = "<lexicon>") -> Lexicon:
    """Parse the TSV format (term, kind, value); raises ConfigError naming the line."""
    tables: dict[str, dict[str, float]] = {k: {} for k in KINDS}
    heads: set[str] = set()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = raw.rstrip("\n").split("\t")
        if len(parts) != 3:
            raise ConfigError(f"{source}:{n}: expected 'term<TAB>kind<TAB>value', got {raw!r}")
        term, kind, value = parts[0].strip().lower(), parts[1].strip(), parts[2].strip()
        if kind not in tables:
            raise ConfigError(f"{source}:{n}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
        try:
            v = float(value)
        except ValueError:
            raise ConfigError(f"{source}:{n}: value {value!r} is not a number") from None
        if kind in VALENCE_KINDS and not -4.0 <= v <= 4.0:
            raise ConfigError(f"{source}:{n}: valence {v} is outside [-4, 4]")
        if kind in ("diminisher", "dampener", "frame") and not 0.0 <= v <= 1.0:
            raise ConfigError(f"{source}:{n}: a {kind} scales by a factor in [0, 1], got {v}")
        words = term.split()
        if not words or len(words) > MAX_PHRASE:
            raise ConfigError(f"{source}:{n}: a term has 1 to {MAX_PHRASE} words, got {term!r}")
        key = " ".join(words)
        twice = [k for k, table in tables.items() if key in table]
        if twice:
            raise ConfigError(f"{source}:{n}: {key!r} is listed twice (as {twice[0]} and {kind})")
        tables[kind][key] = v
        if len(words) > 1:
            heads.add(words[0])
    return Lexicon(tables["word"], tables["negator"], tables["booster"], tables["diminisher"],
                   tables["contrast"], tables["concession"], tables["increase"], tables["decrease"],
                   tables["reversal"], tables["amplify"], tables["reduce"], tables["modifier"],
                   tables["dampener"], tables["frame"], frozenset(heads), source)


def _data(name: str) -> str:
    return resources.files("quantdesk.intel.sentiment").joinpath("data").joinpath(name).read_text(encoding="utf-8")


@functools.cache
def crypto_lexicon() -> Lexicon:
    """The bundled QuantDesk crypto lexicon."""
    return parse_lexicon(_data("crypto_lexicon.tsv"), "crypto_lexicon.tsv")


def load_lexicon(path: str | Path) -> Lexicon:
    """A lexicon in the same TSV format from a file (a user's own terms)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"lexicon file not found: {p}")
    return parse_lexicon(p.read_text(encoding="utf-8"), str(p))


@dataclass(frozen=True)
class CoinAlias:
    base: str
    words: tuple[str, ...]  # lower-case words of the alias
    upper_only: bool  # `!`: counts only written upper-case (SOL) or as a cashtag
    capitalised_only: bool  # `^`: counts only capitalised (Avalanche)


@functools.cache
def coin_aliases() -> tuple[CoinAlias, ...]:
    out = []
    for n, raw in enumerate(_data("coins.tsv").splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        parts = raw.split("\t")
        if len(parts) != 2:
            raise ConfigError(f"coins.tsv:{n}: expected 'BASE<TAB>aliases', got {raw!r}")
        base = parts[0].strip().upper()
        for alias in parts[1].split(","):
            alias = alias.strip()
            upper, cap = alias.endswith("!"), alias.endswith("^")
            words = tuple(alias.rstrip("!^").lower().split())
            out.append(CoinAlias(base, words, upper, cap))
    return tuple(out)
