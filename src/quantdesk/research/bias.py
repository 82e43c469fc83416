"""Look-ahead and recursion (warm-up dependency) checks: re-run a strategy on cut data and compare.

    from quantdesk.research.bias import check_bias
    report = check_bias("sma_cross", frame, params={"fast": 10}, samples=20)
    report.passed, report.findings, report.summary()

LOOK-AHEAD (the future leaks into the past): the strategy runs once on the whole data, then on the data CUT
after bar c, for several cut points c (half of them at bars where the full run placed orders, half spread
evenly). Nothing known at or before bar c may change when the bars after c are removed:
- every series in `result.indicators` (the strategy's declared indicators, computed in batch),
- every per-bar value the strategy records (see RECORDED VALUES below),
- the orders (signals) created at or before bar c: time, client order id, side and type, in sequence.
A difference names the series (or "orders"), the first bar where the runs differ and the cut.

RECURSION (warm-up dependency): the strategy runs on the data with the PAST removed (starting `s` bars later)
for a few start offsets. After the declared warm-up W, every indicator / recorded value must equal the full
run's value at the same bar within `tolerance` (normalised by the mean absolute value of the series): e.g. an
EMA, which is seeded at the start of the data and forgets the seed only gradually, needs more warm-up than
its NaN look-back. For each series we report the bars (counted from the later start) it took to converge, and
flag it when that exceeds W. Orders are not compared here: a position carried from the past legitimately
changes the later decisions.

DECLARED WARM-UP W: the strategy's `warmup` attribute (an int number of bars, or a method/property returning
one), else `--warmup`, else the automatic default `WARMUP_FACTOR x` the longest indicator look-back (leading
NaN bars of the full run), which covers the seeding of the usual recursive indicators (EMA, Wilder RSI, MACD).

LEARNING STRATEGIES: a strategy class whose `learns_online(params)` (Strategy API) returns True (e.g. a model trained walk-forward
on the bars it trades) depends on the start of the data by design: the recursion check is skipped (with a note),
the look-ahead check is not.

RECORDED VALUES: a strategy can expose per-bar values for the check as `self.recorded = {"name": [v0, v1,
...]}` (one value per bar seen, in bar order) or `self.history = [(time_ns, value, ...), ...]` (rows keyed by
bar time, as the `pairs` built-in records). They are compared like indicators.

Multi-instrument strategies: pass `data` as `{symbol: frame}`; the cuts and starts are applied to every frame
by time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, ParameterError

WARMUP_FACTOR = 10
DEFAULT_TOLERANCE = 1e-3
LOOKAHEAD_RTOL = 1e-9


@dataclass
class Finding:
    kind: str  # "look-ahead" | "recursion"
    source: str  # "indicator" | "recorded" | "orders"
    name: str
    first_bar: int | None  # bar index in the full data where the runs first differ
    first_time: str | None
    cut: int | None = None  # look-ahead: last bar kept; recursion: the start offset
    bars_to_converge: int | None = None  # recursion: None = never within the data
    warmup: int | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class BiasReport:
    strategy: str
    params: dict[str, Any]
    bars: int
    cuts: list[int]
    starts: list[int]
    warmup: int
    warmup_source: str
    tolerance: float
    checked: list[str]  # series compared (indicators + recorded)
    findings: list[Finding] = field(default_factory=list)
    convergence: dict[str, int | None] = field(default_factory=dict)  # worst bars to converge per series
    lookbacks: dict[str, int] = field(default_factory=dict)
    orders_checked: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # the strategy failed in the full run (then nothing was checked)

    @property
    def lookahead(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "look-ahead"]

    @property
    def recursion(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "recursion"]

    @property
    def passed(self) -> bool:
        return self.error is None and not self.findings

    @property
    def status(self) -> str:
        if self.error is not None:
            return "ERROR"
        if not self.findings:
            return "PASS"
        kinds = sorted({f.kind.upper() for f in self.findings})
        return " + ".join(kinds)

    def summary(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "params": self.params,
            "status": self.status,
            "passed": self.passed,
            "bars": self.bars,
            "cuts": self.cuts,
            "starts": self.starts,
            "warmup": self.warmup,
            "warmup_source": self.warmup_source,
            "tolerance": self.tolerance,
            "checked": self.checked,
            "orders_checked": self.orders_checked,
            "lookbacks": self.lookbacks,
            "convergence_bars": self.convergence,
            "lookahead": [f.as_dict() for f in self.lookahead],
            "recursion": [f.as_dict() for f in self.recursion],
            "notes": self.notes,
            "error": self.error,
        }


# ---- one run -----------------------------------------------------------------------------------------------
@dataclass
class _Run:
    index: pd.DatetimeIndex  # the timeline (bars)
    series: dict[str, np.ndarray]  # indicator + recorded series aligned to `index`
    orders: pd.DataFrame
    error: str | None
    strategy: Any


def _timeline(data: pd.DataFrame | Mapping[str, pd.DataFrame]) -> pd.DatetimeIndex:
    if isinstance(data, Mapping):
        idx: pd.Index | None = None
        for f in data.values():
            idx = f.index if idx is None else idx.union(f.index)
        if idx is None:
            raise DataError("no data: give at least one frame")
        return pd.DatetimeIndex(idx)
    return pd.DatetimeIndex(data.index)


def _slice(data: Any, t0: pd.Timestamp | None, t1: pd.Timestamp | None) -> Any:
    def cut(f: pd.DataFrame) -> pd.DataFrame:
        m = np.ones(len(f), dtype=bool)
        if t0 is not None:
            m &= f.index >= t0
        if t1 is not None:
            m &= f.index <= t1
        return f.loc[m]

    if isinstance(data, Mapping):
        return {k: cut(v) for k, v in data.items()}
    return cut(data)


def _recorded(strat: Any, index: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    rec = getattr(strat, "recorded", None)
    n = len(index)
    if isinstance(rec, Mapping):
        for key, values in rec.items():
            arr = np.full(n, np.nan)
            try:
                vals = np.asarray(list(values), dtype=np.float64)[:n]
            except (TypeError, ValueError):
                continue  # not numbers: not comparable
            arr[: len(vals)] = vals
            out[f"recorded:{key}"] = arr
    hist = getattr(strat, "history", None)
    if isinstance(hist, Sequence) and not isinstance(hist, (str, bytes)) and hist:
        first = hist[0]
        ts = None
        if isinstance(first, (tuple, list)) and len(first) >= 2:
            try:
                ts = np.array([int(h[0]) for h in hist], dtype=np.int64)
            except (TypeError, ValueError, IndexError):
                ts = None
        if ts is not None:
            pos = np.searchsorted(index.asi8, ts)
            ok = (pos < n) & (index.asi8[np.minimum(pos, n - 1)] == ts)
            for j in range(1, len(first)):
                arr = np.full(n, np.nan)
                try:
                    vals = np.array([float(h[j]) for h in hist], dtype=np.float64)
                except (TypeError, ValueError, IndexError):
                    continue
                arr[pos[ok]] = vals[ok]
                out[f"history[{j}]"] = arr
    return out


def _make_runner(
    strategy: str, params: Mapping[str, Any], config_kwargs: Mapping[str, Any]
) -> Callable[[Any], _Run]:
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.strategies.loader import create_strategy

    def run(data: Any) -> _Run:
        strat = create_strategy(strategy, dict(params))
        cfg = BacktestConfig(strategy=strategy, params=dict(params), **dict(config_kwargs))
        engine_log = logging.getLogger("quantdesk.engine.engine")
        level = engine_log.level
        engine_log.setLevel(logging.CRITICAL)  # a strategy error is reported in the BiasReport instead
        try:
            res = run_backtest(cfg, data, strategy=strat)
        finally:
            engine_log.setLevel(level)
        index = pd.DatetimeIndex(res.equity.index)
        series: dict[str, np.ndarray] = {}
        for name, s in res.indicators.items():
            s = pd.Series(s)
            series[f"indicator:{name}"] = (
                s.reindex(index).to_numpy(dtype=np.float64) if not s.index.equals(index) else s.to_numpy(np.float64)
            )
        series.update(_recorded(strat, index))
        errors = [e for e in res.events if e.get("event") == "StrategyErrored"]
        err = f"{errors[0].get('callback')}: {errors[0].get('error')}" if errors else None
        return _Run(index, series, res.orders, err, strat)

    return run


def _declared_warmup(strat: Any) -> int | None:
    w = getattr(strat, "warmup", None)
    if callable(w):
        w = w()
    if w is None:
        return None
    try:
        w = int(w)
    except (TypeError, ValueError):
        return None
    return max(0, w)


def _lookback(values: np.ndarray) -> int:
    finite = np.isfinite(values)
    return int(np.argmax(finite)) if finite.any() else len(values)


def _differs(a: np.ndarray, b: np.ndarray, *, rtol: float, scale: float = 0.0) -> np.ndarray:
    """Element-wise: True where a and b differ (NaN equals NaN; NaN vs a number differs)."""
    na, nb = np.isnan(a), np.isnan(b)
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= rtol * np.maximum(np.maximum(np.abs(a), np.abs(b)), scale)
    return ~((na & nb) | (~na & ~nb & close))


def _order_keys(orders: pd.DataFrame, t_max: pd.Timestamp) -> list[tuple]:
    if orders is None or len(orders) == 0:
        return []
    ts = pd.to_datetime(orders["ts"], utc=True)
    sel = orders.loc[(ts <= t_max).to_numpy()]
    rows: list[Any] = list(sel.itertuples(index=False))  # namedtuples of the orders' columns
    return [
        (pd.Timestamp(r.ts).value, str(r.client_order_id), str(r.side), str(r.type))
        for r in rows
    ]


def _iso(index: pd.DatetimeIndex, i: int | None) -> str | None:
    if i is None or i < 0 or i >= len(index):
        return None
    from quantdesk.core.timeutil import iso

    return iso(index[i])


def _cut_points(n: int, order_bars: np.ndarray, samples: int, first: int) -> list[int]:
    lo, hi = max(first, 1), n - 2
    if hi < lo:
        return []
    k_orders = samples // 2
    chosen: list[int] = []
    ob = np.unique(order_bars[(order_bars >= lo) & (order_bars <= hi)])
    if len(ob) and k_orders:
        chosen.extend(ob[np.linspace(0, len(ob) - 1, min(k_orders, len(ob))).round().astype(int)].tolist())
    rest = samples - len(chosen)
    if rest > 0:
        chosen.extend(np.linspace(lo, hi, rest).round().astype(int).tolist())
    return sorted(set(int(c) for c in chosen))


def check_bias(
    strategy: str,
    data: pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    params: Mapping[str, Any] | None = None,
    samples: int = 20,
    starts: Sequence[int] | None = None,
    warmup: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    lookahead: bool = True,
    recursion: bool = True,
    config: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BiasReport:
    """Run both checks (see the module docstring). `config`: extra BacktestConfig fields (cash, fee, margin...).
    `starts`: start offsets in bars for the recursion check (default: two, at 1/8 and 1/4 of the data)."""
    from quantdesk.strategies.loader import load_strategy

    if samples < 1:
        raise ParameterError(f"samples must be >= 1, got {samples}")
    if not (tolerance > 0):
        raise ParameterError(f"tolerance must be > 0, got {tolerance}")
    cls = load_strategy(strategy)
    p = cls.validate_params(dict(params or {}))
    # the config label: the symbol(s) of a dict, else the default
    cfg = dict(config or {})
    if isinstance(data, Mapping):
        cfg.setdefault("symbol", ",".join(data))
    run = _make_runner(strategy, p, cfg)
    index = _timeline(data)
    n = len(index)
    if n < 20:
        raise DataError(f"the bias check needs at least 20 bars, got {n}")
    full = run(data)
    names = sorted(full.series)
    lookbacks = {k: _lookback(v) for k, v in full.series.items()}
    declared = _declared_warmup(full.strategy)
    if declared is not None:
        w, source = declared, "strategy.warmup"
    elif warmup is not None:
        w, source = int(warmup), "option"
    else:
        w, source = WARMUP_FACTOR * max([lb for lb in lookbacks.values() if lb < n] or [0]), \
            f"auto ({WARMUP_FACTOR} x longest look-back)"
    report = BiasReport(
        strategy=strategy, params=p, bars=n, cuts=[], starts=[], warmup=w, warmup_source=source,
        tolerance=tolerance, checked=names, lookbacks=lookbacks,
    )
    if recursion and cls.learns_online(p):
        recursion = False  # a model that learns from every past bar depends on the start by design
        report.notes.append("recursion not checked: with these parameters the strategy learns from all of its "
                            "past (learns_online), so its values depend on where the data starts by design; "
                            "look-ahead is checked")
    if full.error is not None:
        report.error = full.error
        return report

    if lookahead:
        order_ts = pd.to_datetime(full.orders["ts"], utc=True) if len(full.orders) else pd.DatetimeIndex([])
        order_bars = np.searchsorted(index.asi8, pd.DatetimeIndex(order_ts).asi8) if len(order_ts) else \
            np.zeros(0, dtype=np.int64)
        first_cut = min(max(lookbacks.values(), default=0), n // 2) + 1
        report.cuts = _cut_points(n, np.asarray(order_bars), samples, first_cut)
    if recursion:
        if starts is None:
            starts = sorted({max(1, n // 8), max(1, n // 4)})
        report.starts = [int(s) for s in starts if 0 < int(s) < n - 1]
        if not report.starts:
            raise ParameterError(f"recursion start offsets must be between 1 and {n - 2} bars")
        short = [s for s in report.starts if n - s <= w]
        if short and names:
            report.notes.append(
                f"the data after start offset(s) {short} is not longer than the warm-up ({w} bars): the recursion "
                f"check there only measures convergence; use more bars for a stricter check")

    total = len(report.cuts) + len(report.starts)
    done = 0
    seen: set[tuple[str, str]] = set()
    for c in report.cuts:
        cut_run = run(_slice(data, None, index[c]))
        for name in names:
            a = full.series[name][: c + 1]
            b = cut_run.series.get(name)
            if b is None:
                continue
            b = b[: c + 1]
            bad = _differs(a, b, rtol=LOOKAHEAD_RTOL)
            if bad.any() and ("look-ahead", name) not in seen:
                j = int(np.argmax(bad))
                seen.add(("look-ahead", name))
                report.findings.append(Finding(
                    "look-ahead", name.split(":", 1)[0] if ":" in name else "recorded", _short(name), j,
                    _iso(index, j), cut=c,
                    detail=f"value at bar {j} is {_num(a[j])} with all the data but {_num(b[j])} when the data "
                           f"ends at bar {c} ({_iso(index, c)})",
                ))
        ka, kb = _order_keys(full.orders, index[c]), _order_keys(cut_run.orders, index[c])
        report.orders_checked = max(report.orders_checked, len(ka))
        if ka != kb and ("look-ahead", "orders") not in seen:
            m = next((i for i, (x, y) in enumerate(zip(ka, kb, strict=False)) if x != y), min(len(ka), len(kb)))
            first = ka[m] if m < len(ka) else kb[m]
            j = int(np.searchsorted(index.asi8, first[0]))
            seen.add(("look-ahead", "orders"))
            report.findings.append(Finding(
                "look-ahead", "orders", "orders", j, _iso(index, j), cut=c,
                detail=f"order #{m + 1} at or before the cut differs: full data {_fmt_order(ka, m)}, data ending "
                       f"at bar {c}: {_fmt_order(kb, m)}",
            ))
        done += 1
        if progress:
            progress(done, total)

    worst: dict[str, int | None] = {}
    for s in report.starts:
        later = run(_slice(data, index[s], None))
        for name in names:
            a = full.series[name][s:]
            b = later.series.get(name)
            if b is None or len(b) != len(a):
                continue
            fin = np.abs(full.series[name][np.isfinite(full.series[name])])
            scale = float(fin.mean()) if len(fin) else 1.0
            scale = scale if scale > 0 else 1.0
            bad = _differs(a, b, rtol=tolerance, scale=scale) & ~(np.isnan(a) & np.isnan(b))
            # both-NaN bars agree; convergence = first bar after which nothing differs
            if bad.any():
                last_bad = len(bad) - 1 - int(np.argmax(bad[::-1]))
                conv = last_bad + 1 if last_bad < len(bad) - 1 else None
            else:
                conv = 0
            prev = worst.get(name, 0)
            worst[name] = None if (conv is None or prev is None) else max(prev, conv)
            if (conv is None or conv > w) and ("recursion", name) not in seen:
                seen.add(("recursion", name))
                # the first differing bar past the warm-up (the last bar when the warm-up outlasts the data)
                j = s + (int(np.argmax(bad[w:])) + w if bad[w:].any() else min(w, len(a) - 1))
                report.findings.append(Finding(
                    "recursion", name.split(":", 1)[0] if ":" in name else "recorded", _short(name), j,
                    _iso(index, j), cut=s, bars_to_converge=conv, warmup=w,
                    detail=(f"starting {s} bars later, the value still differs "
                            + (f"until {conv} bars after the start" if conv is not None else
                               "at the last bar (never converges within the data)")
                            + f"; declared warm-up {w} bars ({source}); at bar {j}: {_num(a[j - s])} vs "
                              f"{_num(b[j - s])}"),
                ))
        done += 1
        if progress:
            progress(done, total)
    report.convergence = {_short(k): v for k, v in worst.items()}
    return report


def _short(name: str) -> str:
    return name.split(":", 1)[1] if name.startswith(("indicator:", "recorded:")) else name


def _num(x: float) -> str:
    return "NaN" if x != x else f"{x:.10g}"


def _fmt_order(keys: list[tuple], m: int) -> str:
    if m >= len(keys):
        return "no order"
    ts, cid, side, typ = keys[m]
    return f"{cid} {side} {typ} at {pd.Timestamp(ts, tz='UTC').isoformat()}"


def check_builtins(
    data: pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    samples: int = 6,
    names: Sequence[str] | None = None,
    multi_data: Mapping[str, pd.DataFrame] | None = None,
    **kwargs: Any,
) -> dict[str, BiasReport]:
    """`check_bias` for every built-in strategy (default parameters). A strategy that fails on one instrument
    (e.g. `pairs` needs two) is re-run on `multi_data` (a dict of frames; default: the data plus a synthetic
    companion instrument, see `companion_frame`) with `margin=True`."""
    from quantdesk.strategies.loader import builtin_strategies

    out: dict[str, BiasReport] = {}
    for name in names or list(builtin_strategies()):
        rep = check_bias(name, data, samples=samples, **kwargs)
        if rep.error is not None and not isinstance(data, Mapping):
            multi = multi_data if multi_data is not None else {"BTC/USDT": data, "SYN/USDT": companion_frame(data)}
            cfg = dict(kwargs.get("config") or {})
            cfg.setdefault("margin", True)
            rep = check_bias(name, multi, samples=samples, **{**kwargs, "config": cfg})
        out[name] = rep
    return out


def companion_frame(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A deterministic synthetic second instrument tracking `frame` (for strategies that need two instruments
    in a bias check: the check compares runs with themselves, so the pair need not be real)."""
    rng = np.random.default_rng(seed)
    n = len(frame)
    drift = np.exp(np.cumsum(rng.normal(0.0, 0.002, n)) - np.linspace(0, 0, n))
    out = frame[["open", "high", "low", "close", "volume"]].astype("float64").copy()
    for col in ("open", "high", "low", "close"):
        out[col] = (out[col] * 0.05 * drift).round(8)
    out["high"] = out[["open", "high", "low", "close"]].max(axis=1)
    out["low"] = out[["open", "high", "low", "close"]].min(axis=1)
    return out
