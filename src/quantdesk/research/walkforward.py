"""Walk-forward analysis: optimise on a train window, trade the chosen parameters on the next (unseen) test
window, move on; stitch the out-of-sample (OOS) results.

    from quantdesk.research.walkforward import walk_forward
    wf = walk_forward("sma_cross", df, train="180d", test="30d", space={"fast": (5, 30, 5), "slow": (20, 100, 20)})
    wf.windows          # one row per window: bounds, chosen params, IS and OOS metrics, walk-forward efficiency
    wf.oos_equity       # the stitched out-of-sample equity curve
    wf.summary()        # JSON-able (what `quantdesk walk-forward --json` prints)
    write_outputs(wf, "out/wf")   # windows.csv, oos_equity.csv, summary.json, report.html

WINDOWS: `train`, `test` and `step` are durations (`180d`, `12h`, `4w`) or bar counts (`500b`); `step` defaults
to `test` and must be >= `test` (test windows never overlap). Rolling: window k trains on
[start + k*step, start + k*step + train) and tests on the following `test`; anchored (`anchored=True`): every
train window starts at the first bar and grows by `step`. Only complete test windows are used.

OUT OF SAMPLE WITH WARM-UP: the test run is fed `warmup` bars BEFORE the test window (default: the whole train
window, so indicators are exactly as warm as in a continuous run; the strategy's `warmup` attribute or the
`warmup=` argument, in bars, override it, capped by the bars available), but no order can be placed during
those bars: the strategy sees them (its indicators and on_bar state warm up) and every order call returns None
until the first test bar. So every OOS trade starts inside the test window (an order placed on a test bar's
close fills at the next bar's open), and the OOS equity and metrics cover the test bars only (the equity
before the first test bar is the untouched starting cash). A position still open at the end of a test window
is marked to the window's last close (an open trade), like at the end of any backtest.

STITCHING: window k's OOS equity is rescaled to start at window k-1's final stitched equity (window 0 starts at
the configured cash): stitched_k = end_{k-1} * equity_k / equity_k[0], i.e. the per-bar OOS returns compound.

METRICS: in-sample (IS) = the optimiser's metrics of the chosen parameters on the train window; OOS = metrics of
the test run over the test bars. Totals: OOS = `compute_metrics` of the stitched curve and all OOS trades; IS =
the mean of the windows' IS metrics. Walk-forward efficiency (WFE) = annualised OOS return / annualised IS return,
annualised LINEARLY (Pardo's definition: the window's return x bars per year / the window's bars), i.e. the ratio
of the returns per bar `(oos_total_return / test_bars) / (is_total_return / train_bars)`; per window, and overall
(stitched OOS total return over all test bars / the mean of the windows' IS returns per bar). NaN when the IS return
is <= 0 (the ratio then has no meaning). Compounded annualisation (CAGR) is not used for WFE: it turns a 3-day
window's +8 % into +1,000 %+ a year and makes the ratio explode.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.research.space import refuse_unsearchable

HEADLINE = ("total_return_pct", "annual_return_pct", "sharpe", "max_drawdown_pct", "num_trades", "win_rate_pct",
            "profit_factor", "exposure_pct")
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")
_UNITS = {"d": "D", "day": "D", "days": "D", "h": "h", "hour": "h", "hours": "h", "w": "W", "week": "W",
          "weeks": "W", "min": "min", "b": "bars", "bar": "bars", "bars": "bars"}


@dataclass(frozen=True)
class Span:
    """A window length: `bars` (int) or a `delta` (Timedelta)."""

    text: str
    bars: int | None = None
    delta: pd.Timedelta | None = None


def parse_span(text: str, what: str = "span") -> Span:
    """'180d' / '12h' / '4w' / '90min' (durations) or '500b' (bars)."""
    m = _SPAN.match(str(text))
    unit = _UNITS.get(m.group(2).lower()) if m else None
    if m is None or unit is None:
        raise ParameterError(f"{what} {text!r}: expected a duration like 180d, 12h, 4w or a bar count like 500b")
    value = float(m.group(1))
    if value <= 0:
        raise ParameterError(f"{what} {text!r} must be > 0")
    if unit == "bars":
        if not value.is_integer():
            raise ParameterError(f"{what} {text!r}: a bar count must be a whole number")
        return Span(str(text), bars=int(value))
    return Span(str(text), delta=pd.Timedelta(value, unit=cast(Any, unit)))  # one of pandas' units (_UNITS)


@dataclass(frozen=True)
class Window:
    number: int
    train_start: int  # positions in the data, [start, end)
    train_end: int
    test_start: int
    test_end: int


def make_windows(index: pd.DatetimeIndex, train: Span, test: Span, step: Span | None = None,
                 anchored: bool = False) -> list[Window]:
    """The walk-forward windows over `index` (see the module docstring). Duration windows are measured in time
    from the first bar ([t, t + span)), bar windows in bars; only complete test windows are kept."""
    step = step or test
    n = len(index)
    if n < 2:
        return []
    ns = pd.DatetimeIndex(index).as_unit("ns").asi8  # any resolution (read_csv gives us)
    bar_ns = int(np.median(np.diff(ns)))
    end_ns = int(ns[-1]) + bar_ns  # the data covers [first, last + one bar)

    def at(pos: int) -> int:
        return int(ns[pos]) if pos < n else end_ns + (pos - n) * bar_ns

    def adv(pos: int, t: int, span: Span) -> tuple[int, int]:
        if span.bars is not None:
            p2 = pos + span.bars
            return p2, at(p2)
        assert span.delta is not None  # a span is bars or a delta
        t2 = t + int(span.delta.value)
        return int(np.searchsorted(ns, t2, side="left")), t2

    out: list[Window] = []
    start = (0, int(ns[0]))
    end = adv(0, int(ns[0]), train)
    while len(out) < 100_000:
        if not anchored:
            end = adv(*start, train)
        test_end = adv(*end, test)
        a, b, d = start[0] if not anchored else 0, end[0], test_end[0]
        complete = d <= n if test.bars is not None else test_end[1] <= end_ns
        if b >= n or not complete or d <= b or b - a < 2:
            break
        out.append(Window(len(out), a, b, b, min(d, n)))
        if anchored:
            end = adv(*end, step)
        else:
            start = adv(*start, step)
    return out


# ---- the analysis ----------------------------------------------------------------------------------------
@dataclass
class WindowResult:
    window: Window
    times: dict[str, str]
    params: dict[str, Any]
    is_metrics: dict[str, float]
    oos_metrics: dict[str, float]
    wfe: float
    warmup_bars: int
    trades: pd.DataFrame
    equity: pd.Series  # OOS equity over the test bars (unscaled)
    n_trials: int
    feasible: int


@dataclass
class WalkForwardResult:
    strategy: str
    method: str
    objective: str
    anchored: bool
    train: str
    test: str
    step: str
    results: list[WindowResult]
    oos_equity: pd.DataFrame  # timestamp index: equity, window, drawdown_pct
    oos_trades: pd.DataFrame
    oos_metrics: dict[str, float]
    is_mean_metrics: dict[str, float]
    wfe: float
    cash: float
    executor: dict[str, Any] = field(default_factory=dict)

    @property
    def windows(self) -> pd.DataFrame:
        rows = []
        for r in self.results:
            w = r.window
            row: dict[str, Any] = {"window": w.number, **r.times,
                                   "train_bars": w.train_end - w.train_start, "test_bars": w.test_end - w.test_start,
                                   "warmup_bars": r.warmup_bars, "trials": r.n_trials, "feasible_trials": r.feasible,
                                   "params": json.dumps(r.params, sort_keys=True, default=str)}
            for k, v in r.params.items():
                row[f"param_{k}"] = v
            for k in HEADLINE:
                row[f"is_{k}"] = r.is_metrics.get(k, math.nan)
            for k in HEADLINE:
                row[f"oos_{k}"] = r.oos_metrics.get(k, math.nan)
            row["wfe"] = r.wfe
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        from quantdesk.core.jsonable import to_jsonable

        return to_jsonable({
            "strategy": self.strategy,
            "method": self.method,
            "objective": self.objective,
            "anchored": self.anchored,
            "train": self.train,
            "test": self.test,
            "step": self.step,
            "executor": self.executor,
            "n_windows": len(self.results),
            "cash": self.cash,
            "wfe": self.wfe,
            "oos": self.oos_metrics,
            "is_mean": self.is_mean_metrics,
            "windows": [
                {"window": r.window.number, **r.times, "params": r.params, "warmup_bars": r.warmup_bars,
                 "is": {k: r.is_metrics.get(k) for k in HEADLINE}, "oos": {k: r.oos_metrics.get(k) for k in HEADLINE},
                 "wfe": r.wfe, "trials": r.n_trials, "feasible_trials": r.feasible}
                for r in self.results
            ],
        })


def _per_bar(metrics: Mapping[str, Any], bars: int) -> float:
    """Total return (%) per bar: the linear annualisation of WFE without the common bars-per-year factor."""
    tr = metrics.get("total_return_pct", math.nan)
    try:
        tr = float(tr)
    except (TypeError, ValueError):
        return math.nan
    return tr / bars if bars > 0 and math.isfinite(tr) else math.nan


def _ratio(oos: float, ins: float) -> float:
    if not (isinstance(ins, float) and math.isfinite(ins) and ins > 0) or not math.isfinite(oos):
        return math.nan
    return oos / ins


def run_oos(strategy: str, params: Mapping[str, Any], data: pd.DataFrame, test_start: int, test_end: int,
            warmup: int, base_config: Any) -> tuple[pd.DataFrame, pd.Series, dict[str, float], int]:
    """Run `params` on data[test_start - warmup : test_end] with orders blocked during the warm-up; return the
    trades, the equity over the test bars, the OOS metrics and the warm-up used."""
    from quantdesk.backtest.metrics import compute_metrics
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.strategies.loader import create_strategy

    w = max(0, min(int(warmup), test_start))
    frame = data.iloc[test_start - w : test_end]
    cfg = base_config.model_copy(update={"params": dict(params), "start": None, "end": None})
    strat = create_strategy(cfg.strategy, dict(params))
    res = run_backtest(cfg, frame, strategy=strat, orders_from=frame.index[w] if w else None)
    equity = res.equity.iloc[w:]
    t_first = frame.index[w]
    trades = res.trades
    if len(trades):
        trades = trades.loc[pd.to_datetime(trades["entry_time"], utc=True) >= t_first].reset_index(drop=True)
    metrics = compute_metrics(trades, equity, close=frame["close"].iloc[w:])
    return trades, equity, metrics, w


def _declared_warmup(strategy: str, params: Mapping[str, Any]) -> int | None:
    from quantdesk.strategies.loader import create_strategy

    try:
        w = getattr(create_strategy(strategy, dict(params)), "warmup", None)
        w = w() if callable(w) else w
        return None if w is None else max(0, int(w))
    except Exception:  # noqa: BLE001 - no usable declaration
        return None


def _why_no_trial(table: pd.DataFrame) -> str:
    """The first trial's error, or that no trial met the constraints / produced a score."""
    if "error" in table.columns:
        errors = table["error"].dropna()
        errors = errors[errors.astype(str) != ""]
        if len(errors):
            return f": {errors.iloc[0]}"
    return ": no trial met the constraints or produced a score (no trades?)" if len(table) else ""


def walk_forward(
    strategy: str,
    data: pd.DataFrame,
    *,
    train: str | Span,
    test: str | Span,
    step: str | Span | None = None,
    anchored: bool = False,
    space: Mapping[str, Any] | None = None,
    method: str = "grid",
    objective: str = "sharpe",
    constraints: Sequence[str] = (),
    trials: int | None = None,
    base_config: Any = None,
    executor: Any = None,
    seed: int = 42,
    warmup: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> WalkForwardResult:
    """Walk-forward optimisation and out-of-sample testing (see the module docstring)."""
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.fastpath import prepare_frame
    from quantdesk.backtest.metrics import compute_metrics
    from quantdesk.research.optimize import optimize
    from quantdesk.strategies.loader import load_strategy

    cls = load_strategy(strategy)
    tr = train if isinstance(train, Span) else parse_span(train, "--train")
    te = test if isinstance(test, Span) else parse_span(test, "--test")
    st = (step if isinstance(step, Span) else parse_span(step, "--step")) if step is not None else te
    if warmup is not None and warmup < 0:
        raise ParameterError(f"--warmup must be >= 0 bars, got {warmup}")
    base = base_config or BacktestConfig(strategy=strategy)
    if base.strategy != strategy:
        base = base.model_copy(update={"strategy": strategy})
    refuse_unsearchable(cls, base.params, "walk-forward")
    if not isinstance(data, pd.DataFrame):
        raise ParameterError("walk_forward: data must be one OHLCV DataFrame")
    frame = prepare_frame(data, base)
    base = base.model_copy(update={"start": None, "end": None})
    index = pd.DatetimeIndex(frame.index)
    # step >= test (no overlapping test windows), compared in bars when both are bars, else in time
    if st.bars is not None and te.bars is not None and st.bars < te.bars or \
            st.delta is not None and te.delta is not None and st.delta < te.delta:
        raise ParameterError(f"--step {st.text} must be >= --test {te.text} (test windows may not overlap)")
    windows = make_windows(index, tr, te, st, anchored)
    if not windows:
        raise DataError(f"the data ({len(frame)} bars, {index[0]} to {index[-1]}) is too short for one "
                        f"walk-forward window of train {tr.text} + test {te.text}")
    if (st.bars is None) != (te.bars is None):
        # mixed units: verify the produced windows do not overlap
        for a, b in zip(windows, windows[1:], strict=False):
            if b.test_start < a.test_end:
                raise ParameterError(f"--step {st.text} is shorter than --test {te.text}: test windows overlap")

    results: list[WindowResult] = []
    total = len(windows)
    for w in windows:
        if progress:
            progress(w.number, total, f"window {w.number + 1}/{total}: optimising")
        train_df = frame.iloc[w.train_start : w.train_end]
        opt = optimize(strategy, train_df, space, method=method, objective=objective, constraints=constraints,
                       trials=trials, base_config=base, executor=executor, seed=seed)
        if not opt.best_params and not opt.best_metrics:
            raise DataError(f"window {w.number}: no trial of the optimisation ran successfully on the train window "
                            f"({index[w.train_start]} to {index[w.train_end - 1]}){_why_no_trial(opt.table)}")
        params = dict(opt.best_params)
        declared = _declared_warmup(strategy, params)
        wu = declared if declared is not None else (warmup if warmup is not None else w.train_end - w.train_start)
        trades, equity, oos_m, used = run_oos(strategy, params, frame, w.test_start, w.test_end, wu, base)
        feasible = int(opt.table["feasible"].sum()) if "feasible" in opt.table else len(opt.table)
        times = {"train_start": index[w.train_start], "train_end": index[w.train_end - 1],
                 "test_start": index[w.test_start], "test_end": index[w.test_end - 1]}
        from quantdesk.core.timeutil import iso

        results.append(WindowResult(
            window=w, times={k: iso(v) for k, v in times.items()}, params=params,
            is_metrics=dict(opt.best_metrics), oos_metrics=oos_m,
            wfe=_ratio(_per_bar(oos_m, w.test_end - w.test_start), _per_bar(opt.best_metrics, w.train_end - w.train_start)),
            warmup_bars=used, trades=trades, equity=equity, n_trials=len(opt.table), feasible=feasible,
        ))
    if progress:
        progress(total, total, "done")

    # stitch
    parts, level = [], float(base.cash)
    for r in results:
        eq = r.equity.astype("float64")
        scaled = level * eq / float(eq.iloc[0])
        parts.append(pd.DataFrame({"equity": scaled.to_numpy(), "window": r.window.number}, index=eq.index))
        level = float(scaled.iloc[-1])
    stitched = pd.concat(parts)
    stitched.index.name = "timestamp"
    stitched["drawdown_pct"] = (stitched["equity"] / stitched["equity"].cummax() - 1.0) * 100.0
    all_trades = pd.concat([r.trades.assign(window=r.window.number) for r in results], ignore_index=True) \
        if any(len(r.trades) for r in results) else results[0].trades.assign(window=pd.Series(dtype="int64"))
    closes = pd.concat([frame["close"].iloc[r.window.test_start : r.window.test_end] for r in results])
    oos_total = compute_metrics(all_trades, stitched["equity"], close=closes)
    is_mean: dict[str, float] = {}
    for k in results[0].is_metrics:
        vals = np.array([r.is_metrics.get(k, math.nan) for r in results], dtype=np.float64)
        vals = vals[np.isfinite(vals)]
        is_mean[k] = float(vals.mean()) if len(vals) else math.nan
    ex_desc = executor.describe() if executor is not None and hasattr(executor, "describe") else {}
    return WalkForwardResult(
        strategy=strategy, method=method, objective=objective, anchored=anchored, train=tr.text, test=te.text,
        step=st.text, results=results, oos_equity=stitched, oos_trades=all_trades, oos_metrics=oos_total,
        is_mean_metrics=is_mean,
        wfe=_ratio(_per_bar(oos_total, sum(r.window.test_end - r.window.test_start for r in results)),
                   float(np.mean([_per_bar(r.is_metrics, r.window.train_end - r.window.train_start) for r in results]))),
        cash=float(base.cash), executor=ex_desc,
    )


# ---- output files ----------------------------------------------------------------------------------------
def write_outputs(wf: WalkForwardResult, out_dir: str | Path, extra: Mapping[str, Any] | None = None
                  ) -> dict[str, Path]:
    """DIR/windows.csv, DIR/oos_equity.csv, DIR/oos_trades.csv, DIR/summary.json, DIR/report.html."""
    from quantdesk.core.timeutil import iso
    from quantdesk.research.wf_report import render_html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in
             ("windows.csv", "oos_equity.csv", "oos_trades.csv", "summary.json", "report.html")}
    wf.windows.to_csv(paths["windows.csv"], index=False, float_format="%.10g")
    eq = wf.oos_equity.reset_index()
    eq["timestamp"] = [iso(t) for t in eq["timestamp"]]
    eq.to_csv(paths["oos_equity.csv"], index=False, float_format="%.10g")
    tr = wf.oos_trades.copy()
    for col in ("entry_time", "exit_time"):
        if col in tr and len(tr):
            tr[col] = [iso(t) if not pd.isna(t) else "" for t in pd.to_datetime(tr[col], utc=True)]
    tr.to_csv(paths["oos_trades.csv"], index=False, float_format="%.10g")
    doc = wf.summary()
    if extra:
        doc.update(extra)
    doc["files"] = {k: str(v) for k, v in paths.items()}
    from quantdesk.core.jsonable import to_jsonable

    paths["summary.json"].write_text(json.dumps(to_jsonable(doc), indent=2))
    paths["report.html"].write_text(render_html(wf), encoding="utf-8")
    return paths
