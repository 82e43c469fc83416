"""Text handling shared by indexing and answering: one tokenizer (so BM25, the vectors and the abstention score
see the same terms), sentence spans (so quotes are verbatim slices of the source) and heading slugs.

The stemmer is a small suffix stripper of our own (plural, -ing, -ed, -ly, -ity...) plus a table of irregular
forms common in trading questions ("lost" -> "loss"); a full Porter stemmer would add a dependency for little
gain on this vocabulary.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both but
by can could did do does doing down during each few for from further had has have having he her here hers herself
him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only
or other our ours ourselves out over own same she should so some such than that the their theirs them themselves
then there these they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours yourself yourselves
tell explain describe mean means meant use used using give gives does do get got whats also may might must shall
one way ways thing things kind much many something someone anything
""".split())

# irregular or derived forms that people use interchangeably in questions about results
_IRREGULAR = {
    "lost": "loss", "lose": "loss", "loses": "loss", "losing": "loss", "losses": "loss", "loser": "loss",
    "losers": "loss", "won": "win", "wins": "win", "winning": "win", "winner": "win", "winners": "win",
    "bought": "buy", "buying": "buy", "buys": "buy", "sold": "sell", "selling": "sell", "sells": "sell",
    "fell": "fall", "falling": "fall", "falls": "fall", "fallen": "fall", "rose": "rise", "rising": "rise",
    "rises": "rise", "risen": "rise", "held": "hold", "holding": "hold", "holds": "hold", "ran": "run",
    "running": "run", "runs": "run", "drawdowns": "drawdown", "better": "good", "best": "good", "worse": "bad",
    "worst": "bad", "indices": "index", "daily": "day", "created": "develop", "creator": "develop", "data": "data", "analyses": "analysis", "bots": "bot",
    "volatile": "volatility", "volatilities": "volatility", "correlated": "correlation",
    "correlations": "correlation", "optimise": "optimize", "optimised": "optimize", "optimisation": "optimize",
    "optimization": "optimize", "optimizer": "optimize", "optimiser": "optimize", "jan": "january",
    "feb": "february", "mar": "march", "apr": "april", "jun": "june", "jul": "july", "aug": "august",
    "sep": "september", "sept": "september", "oct": "october", "nov": "november", "dec": "december",
}
_SUFFIXES = (("ational", "ate"), ("ization", "ize"), ("isation", "ize"), ("fulness", "ful"), ("iveness", "ive"),
             ("ements", "e"), ("ement", "e"), ("ments", ""), ("ment", ""), ("ities", ""), ("ity", ""),
             ("ingly", ""), ("edly", ""), ("ings", ""), ("ing", ""), ("ies", "y"), ("ied", "y"), ("sses", "ss"),
             ("ness", ""), ("ed", ""), ("ly", ""), ("es", ""), ("s", ""))
_WORD = re.compile(r"[a-z0-9]+(?:[._/'-][a-z0-9]+)*")
_VOWEL = re.compile(r"[aeiouy]")


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light, deterministic stem: 'volatilities' and 'volatility' -> 'volatil', 'writing' and 'write' -> 'writ',
    'lost' -> 'loss'."""
    if word in _IRREGULAR:
        word = _IRREGULAR[word]
    if len(word) <= 3 or not word.isalpha():
        return word
    base = _strip(word)
    if len(base) >= 4 and base.endswith("e") and not base.endswith("ee"):
        base = base[:-1]  # 'rate', 'rated', 'rates' -> 'rat'; 'annualise', 'annualised' -> 'annualis'
    return base


def _strip(word: str) -> str:
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix):
            base = word[: -len(suffix)] + repl
            if len(base) >= 3 and _VOWEL.search(base[:-1] or base):
                if suffix == "es" and not base.endswith(("ss", "x", "ch", "sh", "z")):
                    base = word[:-1]  # "rates" -> "rate", but "boxes" -> "box"
                if suffix == "s" and word.endswith(("ss", "us", "is")):
                    return word  # "loss", "bonus", "analysis"
                if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz" and suffix in ("ing", "ed"):
                    base = base[:-1]  # "stopped" -> "stop"
                return base
    return word


def words(text: str) -> list[str]:
    """Lower-case word tokens; `sma_cross`, `BTC/USDT`, `max_drawdown_pct` and `2018-03` stay whole and are
    also split into their parts, so both spellings match."""
    out: list[str] = []
    for match in _WORD.finditer(text.lower().replace("_", ".")):
        token = match.group(0)
        if any(c in token for c in "./'-"):
            parts = [p for p in re.split(r"[./'-]", token) if p]
            if token[0].isdigit() and "-" in token:  # dates like 2018-03: keep whole and the parts
                out.append(token)
            elif len(parts) > 1:
                out.append(token.replace(".", "_"))
            out.extend(parts)
        else:
            out.append(token)
    return out


def tokenize(text: str) -> list[str]:
    """Index terms: words without stopwords, stemmed. Used for BM25, the vectors and evidence scores alike."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9`*])|\n\s*\n|\n(?=\s*(?:[-*+] |\d+\. |#|\|))")
_ABBREV = ("e.g.", "i.e.", "etc.", "vs.", "approx.", "fig.", "no.", "cf.", "dr.", "mr.", "ms.")


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence of `text`; slices are verbatim, stripped of surrounding whitespace.

    Breaks after . ! ? before a capital, at blank lines, before list items and headings; not after e.g./i.e.
    """
    start = 0
    for match in _SENT_END.finditer(text):
        before = text[start:match.start()].rstrip()
        if before.lower().endswith(_ABBREV):
            continue
        yield from _trimmed(text, start, match.start())
        start = match.end()
    yield from _trimmed(text, start, len(text))


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start >= 2:
        yield start, end


_FENCE = re.compile(r"^(```|~~~).*?^(```|~~~)[^\n]*$", re.M | re.S)
_CODE_LINE = re.compile(r"^(?: {4}|\t|>>> |\$ ).*$", re.M)


def code_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of fenced code blocks and code-looking lines (indented, `>>>`, `$ `): not quoted as prose."""
    spans = [m.span() for m in _FENCE.finditer(text)]
    spans += [m.span() for m in _CODE_LINE.finditer(text)]
    return sorted(spans)


def slug(heading: str) -> str:
    """GitHub-style heading anchor: 'Relative Strength Index (RSI)' -> 'relative-strength-index-rsi'."""
    text = re.sub(r"[`*_~\[\]()]", "", heading.strip().lower())
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"\s+", "-", text).strip("-") or "section"


_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)*%?")


def numbers(text: str) -> set[str]:
    """The numbers written in a text, normalised ('1,000.50' -> '1000.50'), for the LLM answer verifier."""
    return {n.replace(",", "").rstrip("%") for n in _NUMBER.findall(text)}
