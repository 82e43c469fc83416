"""A pre-trade risk rule: no new exposure on an asset for a while after a text names a negative event about it
(a hack, an exploit, a rug pull, a depeg, a delisting...). Orders that only reduce or close pass.

    from quantdesk.intel.sentiment.risk import SentimentEventBlock, attach_sentiment_rule
    risk = RiskEngine.from_settings({"sentiment_block": {"events": ["hack", "exploit"], "hours": 24}})
    attach_sentiment_rule(risk)                 # reads risk.settings.sentiment_block; no-op when it is absent
    run_backtest(config, df, risk=risk)

The rule follows the `RiskRule` protocol of quantdesk.risk.engine: `(order, context) -> Denial | None`. It asks
its provider (the sentiment store by default) for the asset's texts published up to the engine clock's now, so
in a backtest it sees exactly what was published before each order, never later.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quantdesk.core.timeutil import iso
from quantdesk.intel.sentiment.entities import base_of
from quantdesk.intel.sentiment.series import HOUR_NS, TextProvider, current_provider
from quantdesk.risk.rules import Denial, Impact

DEFAULT_BLOCK_EVENTS = ("hack", "exploit", "rug_pull", "depeg", "delisting")
RULE = "sentiment_event"


class SentimentEventBlock:
    def __init__(self, events: Iterable[str] = DEFAULT_BLOCK_EVENTS, hours: float = 24.0,
                 provider: TextProvider | None = None) -> None:
        self.events = frozenset(events)
        self.window_ns = int(hours * HOUR_NS)
        self.hours = hours
        self.provider = provider

    def last_event(self, base: str, now_ns: int) -> tuple[int, str] | None:
        """(publication ns, kind) of the latest blocking event on `base` within the window, else None."""
        m = (self.provider or current_provider()).mentions(base, upto_ns=now_ns)
        for i in range(len(m) - 1, -1, -1):
            ts = int(m.ts[i])
            if now_ns - ts > self.window_ns:
                break
            hit = [k for k in m.events[i].split() if k in self.events]
            if hit:
                return ts, hit[0]
        return None

    def __call__(self, order: Any, context: Any) -> Denial | None:
        if Impact(order, context).reducing:
            return None
        instrument = order.instrument
        base = getattr(instrument, "base", None) or base_of(str(instrument))
        now = int(context.clock.now_ns())
        hit = self.last_event(base, now)
        if hit is None:
            return None
        ts, kind = hit
        age_h = (now - ts) / HOUR_NS
        return Denial(f"{RULE}: {kind} reported on {base} at {iso(ts)} ({age_h:.1f}h ago, block {self.hours:g}h)",
                      RULE, self.hours, age_h, {"event": kind, "published": iso(ts), "base": base})


def attach_sentiment_rule(risk: Any, provider: TextProvider | None = None) -> SentimentEventBlock | None:
    """Add the rule to a RiskEngine when its settings have `sentiment_block`; returns it (or None)."""
    settings = getattr(risk, "settings", None)
    cfg = getattr(settings, "sentiment_block", None) if settings is not None else None
    if cfg is None:
        return None
    rule = SentimentEventBlock(cfg.events, cfg.hours, provider)
    risk.add_rule(rule)
    return rule
