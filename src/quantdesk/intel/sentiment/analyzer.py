"""`analyze(texts)`: score + label + entities + events for each text, with the scorer of your choice."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from quantdesk.core.errors import ParameterError
from quantdesk.intel.sentiment.crypto import CryptoLexiconScorer
from quantdesk.intel.sentiment.entities import DEFAULT_QUOTE, EntityFinder, symbol_for
from quantdesk.intel.sentiment.events import detect_events
from quantdesk.intel.sentiment.text import tokenize
from quantdesk.intel.sentiment.types import DEFAULT_THRESHOLD, ScoredText, label_of

SCORERS = ("crypto", "vader", "wordlist", "llm")


class Scorer(Protocol):
    name: str

    def score(self, text: str) -> float: ...

    def score_many(self, texts: Sequence[str]) -> list[float]: ...


_CACHE: dict[str, Any] = {}


def get_scorer(name: str = "crypto", **options: Any) -> Scorer:
    """A scorer by name. `wordlist` needs `path=` (and `fmt=`), `llm` needs `settings=` (LLMSettings or dict)."""
    if name == "crypto" and not options:
        if "crypto" not in _CACHE:
            _CACHE["crypto"] = CryptoLexiconScorer()
        return _CACHE["crypto"]
    if name == "crypto":
        return CryptoLexiconScorer(**options)
    if name == "vader":
        if "vader" not in _CACHE:
            from quantdesk.intel.sentiment.vader import VaderScorer

            _CACHE["vader"] = VaderScorer()
        return _CACHE["vader"]
    if name == "wordlist":
        from quantdesk.intel.sentiment.wordlist import WordListScorer

        if "path" not in options:
            raise ParameterError("scorer 'wordlist' needs the path of a word list file")
        return WordListScorer(**options)
    if name == "llm":
        from quantdesk.intel.sentiment.llm import LLMScorer

        if "settings" not in options:
            raise ParameterError("scorer 'llm' needs its settings (base_url, model, api_key_env)")
        return LLMScorer(options["settings"])
    raise ParameterError(f"unknown scorer {name!r}; one of {', '.join(SCORERS)}")


def _finder(quote: str) -> EntityFinder:
    key = f"entities:{quote}"
    if key not in _CACHE:
        _CACHE[key] = EntityFinder(quote=quote)
    return _CACHE[key]


def analyze(texts: Iterable[str], scorer: Scorer | str = "crypto", *, threshold: float = DEFAULT_THRESHOLD,
            quote: str = DEFAULT_QUOTE) -> list[ScoredText]:
    """One ScoredText per text, in order. Texts are scored as given (no truncation here)."""
    sc = get_scorer(scorer) if isinstance(scorer, str) else scorer
    finder = _finder(quote)
    fast = sc if isinstance(sc, CryptoLexiconScorer) else None
    out = []
    for text in texts:
        if not isinstance(text, str):
            raise ParameterError(f"texts must be strings, got {type(text).__name__}")
        tokens = tokenize(text)
        bases, named = finder.spans(tokens)
        s = fast.score_tokens(tokens, named) if fast is not None else sc.score(text)
        out.append(ScoredText(text, s, label_of(s, threshold), tuple(symbol_for(b, finder.quote) for b in bases),
                              tuple(detect_events(text, tokens)), sc.name))
    return out
