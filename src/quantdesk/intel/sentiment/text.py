"""Tokenising short market text: words (with inner apostrophes and hyphens), $cashtags, numbers and
percentages, and the punctuation that ends a clause. One compiled regex: the hot path of every scorer."""

from __future__ import annotations

import re

_TOKEN_RE = re.compile(
    r"\$[A-Za-z][A-Za-z0-9]{0,9}\b"  # $BTC cashtag
    r"|[+\-−]?\$?\d[\d,]*(?:\.\d+)?%?[kKmMbB]?"  # 12%, +5%, $3,000, 1.5b
    r"|[A-Za-z][A-Za-z0-9]*(?:['’\-][A-Za-z0-9]+)*"  # won't, layer-2, Bankman-Fried
    r"|[,;:!?]|\s[-–—]\s|[–—]"  # clause ends (a spaced dash too)
)
BOUNDARIES = frozenset({",", ";", ":", "!", "?", "-", "–", "—"})


def tokenize(text: str) -> list[str]:
    """Tokens in their original case; a spaced dash becomes "-"; curly apostrophes become straight ones."""
    out = _TOKEN_RE.findall(text)
    for k, tok in enumerate(out):
        if tok[0] == " " or tok[0] == "\t":
            out[k] = "-"
        elif "’" in tok:
            out[k] = tok.replace("’", "'")
    return out


def is_number(token: str) -> bool:
    c = token[0]
    return c.isdigit() or (c in "+-−$" and len(token) > 1 and (token[1].isdigit() or token[1] == "$"))
