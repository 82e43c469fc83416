"""VADER (vaderSentiment, MIT; the wheel ships its lexicon, so it runs offline) behind our scorer interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from quantdesk.core.errors import ConfigError


class VaderScorer:
    """VADER's compound score, in [-1, 1]. Needs `pip install vaderSentiment` (the `sentiment` extra)."""

    name = "vader"

    def __init__(self) -> None:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError:
            raise ConfigError(
                "the vader scorer needs the vaderSentiment package: pip install 'quantdesk[sentiment]'"
            ) from None
        self._sia: Any = SentimentIntensityAnalyzer()

    def score(self, text: str) -> float:
        return float(self._sia.polarity_scores(text)["compound"])

    def score_many(self, texts: Sequence[str]) -> list[float]:
        return [self.score(t) for t in texts]
