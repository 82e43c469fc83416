"""Vectorised signals of the built-in strategies, for the compiled fast path (`quantdesk.backtest.fastpath`).

Each registered generator turns an OHLCV frame plus the strategy's VALIDATED parameters (the strategy class's own
`validate_params`, so defaults, ranges and error messages are those of the event engine) into two boolean arrays
`entries[i]` / `exits[i]`, read on the close of bar i, that reproduce the strategy's `on_bar` decisions:

- Every registered strategy is long only, all-cash, market orders, and decides "enter" only when flat and "exit"
  only when long, from conditions that depend on indicator values and prices alone. `fastpath.simulate` reads
  `entries` only while flat and `exits` only while long (a redundant signal is ignored; a signal on the last bar
  is never filled), so `entries = the entry condition` and `exits = the exit condition` on every bar give the
  same orders as the strategy's state machine.
- Indicators come from the strategy's own `indicators()` declarations computed with the catalog's batch kernels
  (`quantdesk.indicators.registry.compute`), exactly as the event engine does in batch mode, so values are
  bit-identical. NaN (warm-up) compares false, as in the strategies.

Vectorised: sma_cross, ema_cross (long only: its short side needs margin, which the fast path refuses; with
`allow_short` and no margin the strategy itself trades long only), rsi_reversion, macd, bollinger (both modes),
momentum (both modes), vwap_flow (its pressure and session VWAP are recomputed bar by bar with the
strategy's own float operations, `clv` and `session_id`), buy_and_hold.

Not vectorised (the event engine runs them):
- scalping: its bracket levels are percentages of the SIGNAL bar's close (the fast path's `sl_pct`/`tp_pct`
  are percentages of the entry FILL price), and its `max_bars` exit cancels the bracket and closes at the next
  open from a per-trade bar count; neither maps onto `simulate` without a dedicated kernel.
- dca (a ladder of partial buys sized from a reference fill price, a rolling 24 h buy cap and a trailing
  take-profit on the average entry) and pairs (two instruments, long/short legs): not expressible as one
  all-in entries/exits pair.

Multi-column: `signals_many(name, frame, [params, ...])` computes each distinct indicator (name + parameters)
once and returns `(bars, columns)` arrays, one column per parameter set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import ParameterError

if TYPE_CHECKING:
    from quantdesk.strategies.base import Strategy


class IndicatorCache:
    """Catalog indicators computed once per (name, parameters) on one frame: {output name: float64 array}."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._cache: dict[tuple[str, tuple[tuple[str, Any], ...]], dict[str, np.ndarray]] = {}

    def get(self, name: str, **params: Any) -> dict[str, np.ndarray]:
        key = (name, tuple(sorted(params.items())))
        hit = self._cache.get(key)
        if hit is None:
            from quantdesk.indicators import registry

            result = registry.compute(name, self.frame, **params)
            hit = {str(o): result[o].to_numpy(dtype=np.float64) for o in result.columns}
            self._cache[key] = hit
        return hit

    def declared(self, strategy_cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
        """The strategy's `indicators()` declarations for `params`, resolved: {key: array} for single-output
        indicators, {key: {output: array}} for multi-output ones (like the engine's views)."""
        decls = strategy_cls(dict(params)).indicators() or {}
        out: dict[str, Any] = {}
        for key, decl in decls.items():
            arrays = self.get(decl.name, **decl.params)
            out[key] = next(iter(arrays.values())) if len(arrays) == 1 else arrays
        return out

    def close(self) -> np.ndarray:
        return _col(self.frame, "close")

    def derived(self, key: Any, builder: Callable[[], np.ndarray]) -> np.ndarray:
        """A derived array (not a catalog indicator) cached under `key`."""
        k = ("__derived__", (("key", key),))
        hit = self._cache.get(k)
        if hit is None:
            hit = {"v": builder()}
            self._cache[k] = hit
        return hit["v"]


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    cols = {str(c).lower(): c for c in frame.columns}
    return frame[cols[name]].to_numpy(dtype=np.float64)


def _cross_up(f: np.ndarray, s: np.ndarray) -> np.ndarray:
    out = np.zeros(len(f), dtype=bool)
    if len(f) > 1:
        out[1:] = (f[1:] > s[1:]) & (f[:-1] <= s[:-1])
    return out


def _cross_down(f: np.ndarray, s: np.ndarray) -> np.ndarray:
    out = np.zeros(len(f), dtype=bool)
    if len(f) > 1:
        out[1:] = (f[1:] < s[1:]) & (f[:-1] >= s[:-1])
    return out


def _shift1(x: np.ndarray) -> np.ndarray:
    """x[i-1] at position i (NaN at 0, so comparisons there are false)."""
    out = np.full(len(x), np.nan)
    out[1:] = x[:-1]
    return out


# ---- generators: (cache, validated params, strategy class) -> (entries, exits) -------------------------------
Generator = Callable[[IndicatorCache, dict[str, Any], type], tuple[np.ndarray, np.ndarray]]


def _ma_cross(cache: IndicatorCache, p: dict[str, Any], cls: type) -> tuple[np.ndarray, np.ndarray]:
    ind = cache.declared(cls, p)
    f, s = ind["fast"], ind["slow"]
    return _cross_up(f, s), _cross_down(f, s)


def _rsi_reversion(cache: IndicatorCache, p: dict[str, Any], cls: type) -> tuple[np.ndarray, np.ndarray]:
    r = cache.declared(cls, p)["rsi"]
    exit_level = p["exit_level"] or p["upper"]
    return r < p["lower"], r > exit_level


def _macd(cache: IndicatorCache, p: dict[str, Any], cls: type) -> tuple[np.ndarray, np.ndarray]:
    m = cache.declared(cls, p)["macd"]
    line, hist = m["macd"], m["hist"]
    k = p["hist_min_pct"] / 100.0
    close = cache.close()
    thr = k * close  # the strategy: self._k * close[-1], the same float product
    n = len(close)
    ent = np.zeros(n, dtype=bool)
    ext = np.zeros(n, dtype=bool)
    if n > 1:
        ent[1:] = (hist[1:] > thr[1:]) & (hist[:-1] <= thr[:-1])
        if p["zero_line"]:
            ent[1:] &= line[1:] > 0.0
        ext[1:] = (hist[1:] < 0.0) & (hist[:-1] >= 0.0)
    return ent, ext


def _bollinger(cache: IndicatorCache, p: dict[str, Any], cls: type) -> tuple[np.ndarray, np.ndarray]:
    bb = cache.declared(cls, p)["bb"]
    c = cache.close()
    if p["mode"] == "breakout":
        return c > bb["upper"], c < bb["middle"]
    return c < bb["lower"], c >= bb["middle"]


def _momentum(cache: IndicatorCache, p: dict[str, Any], cls: type) -> tuple[np.ndarray, np.ndarray]:
    ind = cache.declared(cls, p)
    if p["mode"] == "roc":
        r = ind["roc"]
        return r > p["threshold"], r < p["exit_threshold"]
    c = cache.close()
    up = _shift1(ind["entry"]["upper"])  # channel of the previous bars (no look-ahead); nothing at bar 0
    dn = _shift1(ind["exit"]["lower"])
    return c > up, c < dn


def _vwap_flow_pressure(cache: IndicatorCache, window: int, clv: Callable[[float, float, float], float]
                        ) -> np.ndarray:
    """The strategy's `_update_pressure`, bar by bar, in the same float operations (running sums, re-summed
    with Python's `sum` every 1000 bars), so the values are bit-identical."""
    f = cache.frame
    h, lo, c, v = (_col(f, k).tolist() for k in ("high", "low", "close", "volume"))
    n = len(c)
    out = np.full(n, np.nan)
    flow: list[float] = []
    vol: list[float] = []
    sf = sv = 0.0
    w = window
    for i in range(n):
        fi = clv(h[i], lo[i], c[i]) * v[i]
        flow.append(fi)
        vol.append(v[i])
        sf += fi
        sv += v[i]
        m = len(flow)
        if m > w:
            sf -= flow[m - 1 - w]
            sv -= vol[m - 1 - w]
        if m % 1000 == 0:
            sf = sum(flow[-w:])
            sv = sum(vol[-w:])
        if m >= w:
            out[i] = sf / sv if sv > 0 else 0.0
    return out


def _vwap_flow_vwap(cache: IndicatorCache, session: str, session_id: Callable[[int, str], int]) -> np.ndarray:
    """The strategy's session VWAP, bar by bar in the same float operations (session from the bar time)."""
    f = cache.frame
    h, lo, c, v = (_col(f, k).tolist() for k in ("high", "low", "close", "volume"))
    ts = pd.DatetimeIndex(f.index).as_unit("ns").asi8.tolist()
    out = np.full(len(c), np.nan)
    sid = None
    pv = pvol = 0.0
    for i in range(len(c)):
        s = session_id(ts[i], session)
        if s != sid:
            sid, pv, pvol = s, 0.0, 0.0
        pv += (h[i] + lo[i] + c[i]) / 3.0 * v[i]
        pvol += v[i]
        out[i] = pv / pvol if pvol > 0.0 else np.nan
    return out


def _vwap_flow(cache: IndicatorCache, p: dict[str, Any], cls: Any) -> tuple[np.ndarray, np.ndarray]:
    pr = cache.derived(("vwap_flow.pressure", p["window"]),
                       lambda: _vwap_flow_pressure(cache, p["window"], cls.clv))
    vw = cache.derived(("vwap_flow.vwap", p["session"]),
                       lambda: _vwap_flow_vwap(cache, p["session"], cls.session_id))
    c = cache.close()
    ok = ~np.isnan(pr) & ~np.isnan(vw)
    ent = ok & (pr > p["threshold"]) & (c < vw * (1.0 - p["deviation_pct"] / 100.0))
    ext = ok & ((c >= vw) | (pr < p["exit_pressure"]))
    return ent, ext


def _buy_and_hold(cache: IndicatorCache, p: dict[str, Any], cls: type) -> tuple[np.ndarray, np.ndarray]:
    n = len(cache.frame)
    return np.ones(n, dtype=bool), np.zeros(n, dtype=bool)


@dataclass(frozen=True)
class SignalSpec:
    """A vectorisable built-in: its name and the generator of its entries/exits."""

    name: str
    generator: Generator
    note: str = ""


REGISTRY: dict[str, SignalSpec] = {
    s.name: s
    for s in (
        SignalSpec("sma_cross", _ma_cross, "SMA cross up enters, cross down exits"),
        SignalSpec("ema_cross", _ma_cross, "EMA cross up enters, cross down exits (long only)"),
        SignalSpec("rsi_reversion", _rsi_reversion, "RSI < lower enters, RSI > exit level exits"),
        SignalSpec("macd", _macd, "histogram crosses above threshold enters, below zero exits"),
        SignalSpec("bollinger", _bollinger, "mean_reversion and breakout modes"),
        SignalSpec("momentum", _momentum, "roc and donchian modes"),
        SignalSpec("vwap_flow", _vwap_flow, "pressure > threshold under a VWAP discount enters; VWAP or "
                   "pressure < exit_pressure exits"),
        SignalSpec("buy_and_hold", _buy_and_hold, "enter on the first bar, never exit"),
    )
}

NOT_VECTORISED: dict[str, str] = {
    "scalping": "bracket levels from the signal bar's close and a max-holding-bars exit",
    "dca": "a ladder of partial buys, a 24 h cap and a trailing take-profit",
    "pairs": "two instruments",
}


def vectorised_strategies() -> list[str]:
    return sorted(REGISTRY)


def is_vectorised(name: str) -> bool:
    return str(name).strip().lower() in REGISTRY


def _spec(name: str) -> SignalSpec:
    key = str(name).strip().lower()
    spec = REGISTRY.get(key)
    if spec is None:
        why = NOT_VECTORISED.get(key)
        reason = f" ({why})" if why else ""
        raise ParameterError(
            f"the fast engine has no vectorised form of strategy {name!r}{reason}; it runs "
            f"{', '.join(vectorised_strategies())}; use the event engine"
        )
    return spec


def strategy_class(name: str) -> type[Strategy]:
    from quantdesk.strategies.loader import load_strategy

    _spec(name)
    return load_strategy(str(name).strip().lower())


def validate(name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The strategy's own `validate_params` (same defaults, ranges and errors as the event engine)."""
    return strategy_class(name).validate_params(dict(params or {}))


def signals(name: str, frame: pd.DataFrame, params: Mapping[str, Any] | None = None, *,
            cache: IndicatorCache | None = None) -> tuple[np.ndarray, np.ndarray]:
    """1-D entries/exits of strategy `name` with `params` (validated here) on `frame`."""
    spec = _spec(name)
    cls = strategy_class(name)
    p = cls.validate_params(dict(params or {}))
    c = cache if cache is not None else IndicatorCache(frame)
    ent, ext = spec.generator(c, p, cls)
    return np.ascontiguousarray(ent, dtype=bool), np.ascontiguousarray(ext, dtype=bool)


def signals_many(name: str, frame: pd.DataFrame, params_list: Sequence[Mapping[str, Any]], *,
                 cache: IndicatorCache | None = None) -> tuple[np.ndarray, np.ndarray]:
    """2-D `(bars, len(params_list))` entries/exits (Fortran order); each distinct indicator computed once.
    Raises ParameterError for the first invalid parameter set (validate beforehand to skip bad ones)."""
    spec = _spec(name)
    cls = strategy_class(name)
    c = cache if cache is not None else IndicatorCache(frame)
    n, k = len(frame), len(params_list)
    ent = np.zeros((n, k), dtype=bool, order="F")
    ext = np.zeros((n, k), dtype=bool, order="F")
    for j, params in enumerate(params_list):
        p = cls.validate_params(dict(params))
        e, x = spec.generator(c, p, cls)
        ent[:, j] = e
        ext[:, j] = x
    return ent, ext


def indicator_series(name: str, frame: pd.DataFrame, params: Mapping[str, Any] | None = None, *,
                     cache: IndicatorCache | None = None) -> dict[str, pd.Series]:
    """The strategy's indicators named like the event engine's `indicators` ({key} or {key}.{output})."""
    cls = strategy_class(name)
    p = cls.validate_params(dict(params or {}))
    c = cache if cache is not None else IndicatorCache(frame)
    out: dict[str, pd.Series] = {}
    for key, decl in (cls(p).indicators() or {}).items():
        arrays = c.get(decl.name, **decl.params)
        for o, arr in arrays.items():
            nm = key if len(arrays) == 1 else f"{key}.{o}"
            out[nm] = pd.Series(arr, index=frame.index, name=nm)
    return out


__all__ = ["IndicatorCache", "NOT_VECTORISED", "REGISTRY", "SignalSpec", "indicator_series", "is_vectorised",
           "signals", "signals_many", "strategy_class", "validate", "vectorised_strategies"]
