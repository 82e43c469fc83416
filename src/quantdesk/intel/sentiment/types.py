"""What a scorer says about one text: score in [-1, 1], label, entities (ccxt symbols) and events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Label = Literal["positive", "negative", "neutral"]
LABELS: tuple[Label, ...] = ("positive", "negative", "neutral")
DEFAULT_THRESHOLD = 0.15  # |score| below this is neutral; chosen on the dev split of the labelled set


def label_of(score: float, threshold: float = DEFAULT_THRESHOLD) -> Label:
    """positive / negative / neutral by a symmetric dead band around 0."""
    if score >= threshold:
        return "positive"
    if score <= -threshold:
        return "negative"
    return "neutral"


@dataclass(frozen=True, slots=True)
class ScoredText:
    """One analysed text. `entities` are ccxt symbols (BTC/USDT), `events` event kinds (hack, listing...)."""

    text: str
    score: float
    label: Label
    entities: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    scorer: str = "crypto"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "score": self.score,
            "label": self.label,
            "entities": list(self.entities),
            "events": list(self.events),
            "scorer": self.scorer,
        }
