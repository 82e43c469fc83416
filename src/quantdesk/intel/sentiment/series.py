"""The per-asset sentiment series, joined to bars causally: a text counts at every bar stamped at or after its
publication time, never earlier (bars stamped by their open time thus see a text published mid-bar from the
next bar on: conservative, never early).

Outputs at each bar time t, from the asset's texts with publication time <= t:
- `mean`: time-decayed mean score, weights 2^(-(t - t_i) / half_life); 0 when the total weight is below 2^-20
  (about 20 half-lives without news: no information left);
- `count`, `pos_share`, `neg_share`: texts in the window (t - window, t], share labelled positive / negative
  (0 when there are none);
- `neg_events`: texts in the window that name a negative event (hack, exploit, delisting... events.NEGATIVE_EVENTS).

Texts come from a provider: the configured database by default (`StoreProvider`; a SQLite database that does
not exist yet is read as empty and is not created), or any object with `mentions(base, after_seq, upto_ns)`
installed with `use_provider(...)` (tests, research on a CSV of headlines: `MemoryProvider`). The batch
kernel (numba) and the streaming twin (`SentimentStream`, the same arithmetic one bar at a time) agree.
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numba import njit

from quantdesk.core.errors import DataError
from quantdesk.intel.sentiment.entities import base_of
from quantdesk.intel.sentiment.events import NEGATIVE_EVENTS
from quantdesk.intel.sentiment.store import Mentions

HOUR_NS = 3_600_000_000_000
MIN_WEIGHT = 2.0**-20
OUTPUTS = ("mean", "count", "pos_share", "neg_share", "neg_events")


class TextProvider(Protocol):
    def mentions(self, base: str, *, after_seq: int = -1, upto_ns: int | None = None) -> Mentions: ...


class MemoryProvider:
    """Texts held in memory: rows of (published_ns, base, score, label, events)."""

    def __init__(self, rows: Sequence[tuple[int, str, float, str, str]] = ()) -> None:
        self._rows: list[tuple[int, int, str, float, str, str]] = []
        self.extend(rows)

    def extend(self, rows: Sequence[tuple[int, str, float, str, str]]) -> None:
        for ts, base, score, label, events in rows:
            self._rows.append((len(self._rows), int(ts), base.upper(), float(score), label, events))

    @classmethod
    def from_scored(cls, items: Sequence[tuple[int, Any]]) -> MemoryProvider:
        """From (published_ns, ScoredText) pairs: one row per named asset."""
        rows = []
        for ts, sc in items:
            for sym in sc.entities:
                rows.append((ts, base_of(sym), sc.score, sc.label, " ".join(sc.events)))
        return cls(rows)

    def mentions(self, base: str, *, after_seq: int = -1, upto_ns: int | None = None) -> Mentions:
        b = base.upper()
        sel = [r for r in self._rows if r[2] == b and r[0] > after_seq and (upto_ns is None or r[1] <= upto_ns)]
        if not sel:
            return Mentions.empty()
        sel.sort(key=lambda r: (r[1], r[0]))
        lab = np.array([r[4] for r in sel])
        return Mentions(np.array([r[0] for r in sel], dtype=np.int64), np.array([r[1] for r in sel], dtype=np.int64),
                        np.array([r[3] for r in sel], dtype=float), lab == "positive", lab == "negative",
                        tuple(r[5] for r in sel))


class StoreProvider:
    """The configured database; an SQLite file that does not exist is read as empty (and not created)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self._store: Any = None

    def _open(self) -> Any:
        if self._store is not None:
            return self._store
        import sqlalchemy as sa

        from quantdesk.storage.db import database_url

        url = database_url(self.url)
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            if not Path(parsed.database).is_file():
                return None
        from quantdesk.intel.sentiment.store import SentimentStore

        self._store = SentimentStore(url)
        return self._store

    def mentions(self, base: str, *, after_seq: int = -1, upto_ns: int | None = None) -> Mentions:
        store = self._open()
        if store is None:
            return Mentions.empty()
        return store.mentions(base, after_seq=after_seq, upto_ns=upto_ns)


_PROVIDER: list[TextProvider] = []


def current_provider() -> TextProvider:
    return _PROVIDER[-1] if _PROVIDER else StoreProvider()


@contextlib.contextmanager
def use_provider(provider: TextProvider) -> Iterator[TextProvider]:
    """Within the block, the sentiment indicator reads its texts from `provider`."""
    _PROVIDER.append(provider)
    try:
        yield provider
    finally:
        _PROVIDER.remove(provider)


def window_ns(hours: float) -> int:
    return int(round(hours * HOUR_NS))


def _as_ns(values: Any) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype.kind == "f":
        if a.size and not np.all(np.isfinite(a)):
            raise DataError("sentiment: bar times must be finite")
        return a.astype(np.int64)
    return a.astype(np.int64)


def _neg_event_flags(events: Sequence[str]) -> np.ndarray:
    return np.array([any(k in NEGATIVE_EVENTS for k in e.split()) for e in events], dtype=bool)


@njit(cache=True)
def _decayed_mean(bar_ts: np.ndarray, ts: np.ndarray, score: np.ndarray, k: float) -> np.ndarray:
    n = bar_ts.shape[0]
    out = np.zeros(n)
    s = 0.0
    w = 0.0
    j = 0
    m = ts.shape[0]
    for i in range(n):
        t = bar_ts[i]
        if i > 0:
            d = math.exp(-float(t - bar_ts[i - 1]) * k)
            s *= d
            w *= d
        while j < m and ts[j] <= t:
            wi = math.exp(-float(t - ts[j]) * k)
            s += wi * score[j]
            w += wi
            j += 1
        out[i] = s / w if w >= MIN_WEIGHT else 0.0
    return out


def compute_series(bar_ts: np.ndarray, m: Mentions, half_life_h: float = 12.0,
                   window_h: float = 24.0) -> tuple[np.ndarray, ...]:
    """The five outputs at bar times `bar_ts` (UTC ns, non-decreasing; float64 input must be whole ns, as
    whole-second bar times are). All time comparisons are on int64 ns: exact to the nanosecond."""
    t = _as_ns(bar_ts)
    if t.size and np.any(np.diff(t) < 0):
        raise DataError("sentiment: bar times must not decrease")
    ts = m.ts.astype(np.int64)
    k = math.log(2.0) / (half_life_h * HOUR_NS)
    mean = _decayed_mean(t, ts, m.score.astype(np.float64), k)
    hi = np.searchsorted(ts, t, side="right")
    lo = np.searchsorted(ts, t - window_ns(window_h), side="right")
    cpos = np.concatenate(([0], np.cumsum(m.positive.astype(np.int64))))
    cneg = np.concatenate(([0], np.cumsum(m.negative.astype(np.int64))))
    cev = np.concatenate(([0], np.cumsum(_neg_event_flags(m.events).astype(np.int64))))
    count = (hi - lo).astype(np.float64)
    safe = np.where(count > 0, count, 1.0)
    pos = np.where(count > 0, (cpos[hi] - cpos[lo]) / safe, 0.0)
    neg = np.where(count > 0, (cneg[hi] - cneg[lo]) / safe, 0.0)
    events = (cev[hi] - cev[lo]).astype(np.float64)
    return mean, count, pos, neg, events


def sentiment_kernel(timestamp: np.ndarray, close: np.ndarray, symbol: str = "BTC/USDT",
                     half_life_h: float = 12.0, window_h: float = 24.0) -> tuple[np.ndarray, ...]:
    """Catalog kernel: `close` only fixes the bars (the values come from the texts)."""
    last = int(np.max(_as_ns(timestamp))) if len(timestamp) else None
    m = current_provider().mentions(base_of(symbol), upto_ns=last)
    return compute_series(timestamp, m, half_life_h, window_h)


def _bar_ns(bar: Any) -> int:
    """Bar time (UTC ns) of a mapping with `timestamp` (catalog records) or an engine bar (`ts_ns`)."""
    if isinstance(bar, dict):
        return int(bar["timestamp"])
    ts = getattr(bar, "ts_ns", None)
    return int(ts if ts is not None else bar["timestamp"])


class SentimentStream:
    """Streaming twin of the `sentiment` indicator: update(bar) with the bar's `timestamp` (UTC ns)."""

    def __init__(self, symbol: str = "BTC/USDT", half_life_h: float = 12.0, window_h: float = 24.0,
                 provider: TextProvider | None = None) -> None:
        self.base = base_of(symbol)
        self.k = math.log(2.0) / (half_life_h * HOUR_NS)
        self.window = window_ns(window_h)
        self.provider = provider
        self._seq = -1
        self._pending: list[tuple[int, float, bool, bool, bool]] = []  # texts not yet counted
        self._win: deque[tuple[int, bool, bool, bool]] = deque()
        self._npos = self._nneg = self._nev = 0
        self._s = self._w = 0.0
        self._last: int | None = None

    def update(self, bar: Any) -> tuple[float, float, float, float, float]:
        t = _bar_ns(bar)
        if self._last is not None and t < self._last:
            raise DataError("sentiment: bar times must not decrease")
        provider = self.provider or current_provider()
        new = provider.mentions(self.base, after_seq=self._seq)
        if len(new):
            self._seq = int(new.seq.max())
            flags = _neg_event_flags(new.events)
            for i in range(len(new)):
                self._pending.append((int(new.ts[i]), float(new.score[i]), bool(new.positive[i]),
                                      bool(new.negative[i]), bool(flags[i])))
            self._pending.sort(key=lambda r: r[0])
        if self._last is not None:
            d = math.exp(-float(t - self._last) * self.k)
            self._s *= d
            self._w *= d
        self._last = t
        n = 0
        for ts, score, pos, neg, ev in self._pending:
            if ts > t:
                break
            wi = math.exp(-float(t - ts) * self.k)
            self._s += wi * score
            self._w += wi
            self._win.append((ts, pos, neg, ev))
            self._npos += pos
            self._nneg += neg
            self._nev += ev
            n += 1
        del self._pending[:n]
        cutoff = t - self.window
        while self._win and self._win[0][0] <= cutoff:
            _, pos, neg, ev = self._win.popleft()
            self._npos -= pos
            self._nneg -= neg
            self._nev -= ev
        count = len(self._win)
        mean = self._s / self._w if self._w >= MIN_WEIGHT else 0.0
        if count:
            return mean, float(count), self._npos / count, self._nneg / count, float(self._nev)
        return mean, 0.0, 0.0, 0.0, 0.0
