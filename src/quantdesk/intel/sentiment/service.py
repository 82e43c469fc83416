"""Sentiment use cases shared by the CLI and the API (score texts, news feed, per-asset series, sources, poll)."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import ParameterError
from quantdesk.core.timeutil import iso, parse_utc
from quantdesk.intel.sentiment.config import SentimentSettings, load_sentiment_settings, sample_source
from quantdesk.intel.sentiment.entities import base_of, symbol_for
from quantdesk.intel.sentiment.series import HOUR_NS, OUTPUTS, StoreProvider, compute_series
from quantdesk.intel.sentiment.store import SentimentStore

MAX_TEXTS = 1000
MAX_CHARS = 2000
MAX_POINTS = 20_000


def check_texts(texts: Sequence[Any], *, max_texts: int = MAX_TEXTS, max_chars: int = MAX_CHARS) -> list[str]:
    """The texts to score, validated: at most `max_texts`, each a string of at most `max_chars` characters."""
    if len(texts) > max_texts:
        raise ParameterError(f"too many texts: {len(texts)} (at most {max_texts} per call)")
    out = []
    for k, t in enumerate(texts):
        if not isinstance(t, str):
            raise ParameterError(f"texts[{k}] is not a string")
        if len(t) > max_chars:
            raise ParameterError(f"texts[{k}] has {len(t)} characters (at most {max_chars})")
        out.append(t)
    return out


def score_texts(texts: Sequence[str], scorer: str = "crypto", settings: SentimentSettings | None = None) -> list[dict[str, Any]]:
    from quantdesk.intel.sentiment.analyzer import analyze

    s = settings or SentimentSettings()
    if scorer == s.scorer:
        sc: Any = s.make_scorer()
    elif scorer in ("crypto", "vader"):
        sc = scorer
    else:
        raise ParameterError(f"scorer {scorer!r} is not configured here; use crypto or vader (or configure it)")
    return [r.to_dict() for r in analyze(texts, sc, threshold=s.threshold, quote=s.quote)]


@functools.cache
def _store(url: str) -> SentimentStore:
    return SentimentStore(url)


def store(url: str | None = None) -> SentimentStore:
    from quantdesk.storage.db import database_url

    return _store(database_url(url))


def news(symbol: str | None = None, limit: int = 50, event: str | None = None, url: str | None = None) -> list[dict[str, Any]]:
    return store(url).items(symbol=symbol, limit=limit, event=event)


def series(symbol: str, *, start: str | None = None, end: str | None = None, every: str = "1h",
           half_life_h: float = 12.0, window_h: float = 24.0, url: str | None = None) -> list[dict[str, Any]]:
    """The series on a regular UTC grid (`every`) from start to end (default: the span of the asset's texts)."""
    from quantdesk.model.timeframe import Timeframe

    step = Timeframe.parse(every).timedelta
    m = StoreProvider(url).mentions(base_of(symbol))
    if start is None and end is None and not len(m):
        return []
    try:
        if end:
            t1 = parse_utc(end, name="end")
        else:
            t1 = pd.Timestamp(int(m.ts[-1]) if len(m) else time.time_ns(), tz="UTC").ceil(step)
        if start:
            t0 = parse_utc(start, name="start")
        else:
            t0 = pd.Timestamp(int(m.ts[0]), tz="UTC").floor(step) if len(m) else t1 - 24 * step
        if t1 < t0:
            raise ParameterError(f"end {iso(t1)} is before start {iso(t0)}")
        n = int((t1 - t0) / step) + 1
        if n > MAX_POINTS:
            raise ParameterError(f"{n} points from {iso(t0)} to {iso(t1)} every {every}: at most {MAX_POINTS}")
        grid = pd.date_range(t0, periods=n, freq=step)
    except (OverflowError, pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta):
        raise ParameterError(f"the series from {start or 'the first text'} to {end or 'the last text'} every "
                             f"{every} leaves the supported time range") from None
    cols = compute_series(grid.as_unit("ns").asi8, m, half_life_h, window_h)
    return [{"ts": iso(t), **{k: float(c[i]) for k, c in zip(OUTPUTS, cols, strict=True)}}
            for i, t in enumerate(grid)]


def summary(symbol: str, *, now_ns: int | None = None, half_life_h: float = 12.0, window_h: float = 24.0,
            limit: int = 20, url: str | None = None) -> dict[str, Any]:
    """The asset's sentiment now (or at `now_ns`), its latest texts and the latest Fear & Greed reading."""
    base = base_of(symbol)
    st = store(url)
    m = st.mentions(base)
    now = now_ns if now_ns is not None else time.time_ns()
    cols = compute_series(np.array([now], dtype=np.int64), m, half_life_h, window_h)
    fng = st.index_values(limit=1)
    return {
        "symbol": symbol_for(base),
        "asof": iso(now),
        "texts": int(len(m)),
        "last_text": iso(int(m.ts[-1])) if len(m) else None,
        **{k: float(c[0]) for k, c in zip(OUTPUTS, cols, strict=True)},
        "half_life_h": half_life_h,
        "window_h": window_h,
        "news": st.items(symbol=symbol, limit=limit),
        "fear_greed": fng[0] if fng else None,
    }


def sources_info(settings: SentimentSettings) -> list[dict[str, Any]]:
    out = []
    for src in [sample_source(), *settings.sources]:
        where = getattr(src, "url", None) or getattr(src, "path", "")
        out.append({"name": src.name, "type": src.type, "where": str(where), "interval_s": src.interval_s,
                    "enabled": src.enabled, "builtin": src.name == "sample"})
    return out


def load_settings(path: str | None = None) -> SentimentSettings:
    return load_sentiment_settings(path)


def window_ns(hours: float) -> int:
    return int(hours * HOUR_NS)
