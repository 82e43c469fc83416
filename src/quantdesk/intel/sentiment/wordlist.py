"""A finance word list the USER supplies, scored with the crypto scorer's rules.

Why no finance lexicon ships with QuantDesk: the Loughran-McDonald master dictionary is free for academic
research but its terms require a licence for commercial use, which an Apache-2.0 project cannot pass on to its
users; no other finance lexicon we found has a clear redistribution licence. So QuantDesk ships none and reads
one at run time from a file the user has the right to use:

- the Loughran-McDonald master dictionary CSV (columns `Word`, `Positive`, `Negative`, ...; a non-zero
  Positive/Negative marks the word), read with `format="lm"`: positive words get +`weight`, negative -`weight`;
- or a two-column file `word,valence` (`format="valence"`, valences in [-4, 4]).

The words are added to (and override) the crypto lexicon's words, and the crypto scorer's negation/intensifier/
contrast rules apply, so `wordlist` = crypto + the user's finance vocabulary.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path
from typing import Literal

from quantdesk.core.errors import ConfigError
from quantdesk.intel.sentiment.crypto import CryptoLexiconScorer
from quantdesk.intel.sentiment.lexicon import crypto_lexicon

WordListFormat = Literal["lm", "valence"]


def read_word_list(path: str | Path, fmt: WordListFormat = "lm", weight: float = 1.5) -> dict[str, float]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"word list not found: {p}")
    text = p.read_text(encoding="utf-8-sig", errors="replace")
    out: dict[str, float] = {}
    if fmt == "lm":
        reader = csv.DictReader(io.StringIO(text))
        cols = {c.lower(): c for c in reader.fieldnames or ()}
        missing = [c for c in ("word", "positive", "negative") if c not in cols]
        if missing:
            raise ConfigError(f"{p}: not a Loughran-McDonald CSV (missing column(s) {', '.join(missing)})")
        for n, row in enumerate(reader, 2):
            word = (row[cols["word"]] or "").strip().lower()
            try:
                pos, neg = float(row[cols["positive"]] or 0), float(row[cols["negative"]] or 0)
            except ValueError:
                raise ConfigError(f"{p}:{n}: Positive/Negative must be numbers") from None
            if word and (pos or neg):
                out[word] = weight if pos and not neg else -weight if neg and not pos else 0.0
    elif fmt == "valence":
        for n, fields in enumerate(csv.reader(io.StringIO(text)), 1):
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) != 2:
                raise ConfigError(f"{p}:{n}: expected 'word,valence'")
            try:
                v = float(fields[1])
            except ValueError:
                if n == 1:
                    continue  # a header line
                raise ConfigError(f"{p}:{n}: valence {fields[1]!r} is not a number") from None
            if not -4 <= v <= 4:
                raise ConfigError(f"{p}:{n}: valence {v} is outside [-4, 4]")
            out[fields[0].strip().lower()] = v
    else:
        raise ConfigError(f"unknown word list format {fmt!r} (lm or valence)")
    if not out:
        raise ConfigError(f"{p}: no scored words found")
    return out


class WordListScorer(CryptoLexiconScorer):
    name = "wordlist"

    def __init__(self, path: str | Path, fmt: WordListFormat = "lm", weight: float = 1.5) -> None:
        base = crypto_lexicon()
        words = {**base.words, **read_word_list(path, fmt, weight)}
        super().__init__(replace(base, words=words, source=f"{base.source}+{path}"))
