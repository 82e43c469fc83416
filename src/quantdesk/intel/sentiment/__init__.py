"""Market sentiment from news and social text, offline (issue 19).

    from quantdesk.intel.sentiment import analyze
    [r.to_dict() for r in analyze(["Bitcoin surges to record high as ETF inflows soar"])]
    # [{"text": ..., "score": 0.77, "label": "positive", "entities": ["BTC/USDT"], "events": [...], ...}]

Scorers: `crypto` (the QuantDesk crypto lexicon with negation/intensifier/contrast rules; default), `vader`
(the vaderSentiment wheel's lexicon), `wordlist` (a finance word list the user supplies, e.g. their licensed
Loughran-McDonald file), `llm` (any OpenAI-compatible endpoint; optional). Sources, the store, the per-asset
series (catalog indicator `sentiment`), the risk rule and the event alerts live in the sub-modules; see
docs/sentiment.md.
"""

from __future__ import annotations

from quantdesk.intel.sentiment.types import LABELS, ScoredText, label_of

__all__ = ["LABELS", "ScoredText", "analyze", "get_scorer", "label_of"]


def __getattr__(name: str):  # lazy: importing the package must stay cheap for the indicator registry
    if name in ("analyze", "get_scorer"):
        from quantdesk.intel.sentiment import analyzer

        return getattr(analyzer, name)
    raise AttributeError(name)
