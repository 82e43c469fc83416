"""Monte Carlo robustness analysis of a backtest: how lucky was the order (or the choice) of its outcomes?

    from quantdesk.research.montecarlo import monte_carlo
    mc = monte_carlo(trades=result.trades, equity=result.equity, method="trades-shuffle", sims=1000, seed=7)
    mc.percentiles["max_drawdown_pct"]["p5"], mc.prob_loss, mc.prob_ruin
    mc.summary()                                   # JSON-able document (what `quantdesk monte-carlo --json` prints)
    mc.backtest["final_return_pct"]                # the backtest's own figure, the original's, and why they differ
    write_outputs(mc, "out/mc")                    # summary.json, simulations.csv, montecarlo.html (mc_report.py)

Methods (every simulation is one row of a (sims, n) matrix of returns, compounded from 1.0):
- `trades-shuffle`: a random PERMUTATION (without replacement) of the closed trades' returns. The product of
  (1 + r) does not depend on the order, so every simulation ends at the original final return; what varies is
  the path: drawdowns (and the ruin probability). The Sharpe of the trade returns is order-independent too.
- `trades-bootstrap`: n trades drawn WITH replacement from the trade returns (final return, drawdown and
  Sharpe all vary).
- `returns-block-bootstrap`: the per-bar returns of the equity curve resampled in blocks, which keeps the
  short-range dependence (volatility clustering, holding periods). `block_kind="circular"`: blocks of exactly
  `block` bars, starting anywhere, wrapping around the end (so `block = n` reproduces the series as a rotation);
  `"stationary"` (Politis & Romano): block lengths geometric with mean `block`.

Trade returns are EQUITY returns: trade i (in entry order) earned `pnl_i / E_{i-1}` where `E_0` is the start
equity and `E_i = E_{i-1} + pnl_i`, so compounding them in the original order reproduces start equity + total
closed pnl. (The `return_pct` column is per notional, which is not what compounds in the account.)

Statistics per simulation: `final_return_pct` (end / start - 1, in %), `max_drawdown_pct` (<= 0, like
backtest metrics; the start value 1.0 counts as a peak), `sharpe` (mean / std (ddof=1) of the simulated returns
x sqrt(periods per year): bars per year of the equity index for bar returns, trades per year of the trade span
for trades; NaN when the std is zero). Reported: mean/std and percentiles 5/25/50/75/95 (numpy's linear
interpolation), `prob_loss` = share of simulations with final return < 0, `prob_ruin` = share whose max
drawdown reached `ruin_dd_pct` (drawdown <= -ruin_dd_pct), and where the ORIGINAL sits in each distribution.

Seeded and reproducible: `numpy.random.default_rng(seed)`, the same seed gives identical numbers. Fully
vectorised; large bar series are processed in chunks of simulations to bound memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, ParameterError

METHODS = ("trades-shuffle", "trades-bootstrap", "returns-block-bootstrap")
BLOCK_KINDS = ("circular", "stationary")
PERCENTILES = (5, 25, 50, 75, 95)
STATS = ("final_return_pct", "max_drawdown_pct", "sharpe")
_FAN_POINTS = 400  # equity fan chart: at most this many steps are kept
_CHUNK_CELLS = 4_000_000  # simulations x steps per chunk (~32 MB of float64)


# ---- inputs ----------------------------------------------------------------------------------------------
def trade_equity_returns(trades: pd.DataFrame, start_equity: float, *, include_open: bool = False) -> np.ndarray:
    """Per-trade equity returns `pnl_i / E_{i-1}` (entry order; closed trades unless `include_open`)."""
    if trades is None or len(trades) == 0:
        return np.zeros(0, dtype=np.float64)
    t = trades
    if not include_open and "is_open" in t:
        t = t.loc[~_as_bool(t["is_open"])]
    if "entry_time" in t and len(t):
        t = t.assign(_et=pd.to_datetime(t["entry_time"], utc=True)).sort_values("_et", kind="stable")
    pnl = pd.to_numeric(t["pnl"], errors="coerce").to_numpy(dtype=np.float64)
    pnl = pnl[np.isfinite(pnl)]
    if not (start_equity > 0):
        raise DataError(f"start equity must be > 0, got {start_equity}")
    eq_before = start_equity + np.concatenate(([0.0], np.cumsum(pnl)[:-1]))
    if np.any(eq_before <= 0):
        raise DataError("the account equity went to zero or below during the trades: returns are undefined")
    return pnl / eq_before


def _as_bool(s: pd.Series) -> np.ndarray:
    if s.dtype == bool:
        return s.to_numpy()
    return s.astype(str).str.strip().str.lower().isin(("true", "1", "yes")).to_numpy()


def bar_returns(equity: pd.Series | np.ndarray) -> np.ndarray:
    eq = np.asarray(equity, dtype=np.float64)
    eq = eq[np.isfinite(eq)]
    if len(eq) < 2:
        return np.zeros(0, dtype=np.float64)
    if np.any(eq <= 0):
        raise DataError("the equity curve has values <= 0: bar returns are undefined")
    return eq[1:] / eq[:-1] - 1.0


def _trades_per_year(trades: pd.DataFrame | None, n: int) -> float:
    """Trades per year from the span of the entry times (NaN when unknown: Sharpe is then per trade)."""
    if trades is None or n < 2 or "entry_time" not in trades:
        return math.nan
    et = pd.to_datetime(trades["entry_time"], utc=True, errors="coerce").dropna()
    if len(et) < 2:
        return math.nan
    years = (et.max() - et.min()) / pd.Timedelta(days=365)
    return n / years if years > 0 else math.nan


# ---- resampling (pure, vectorised) -----------------------------------------------------------------------
def shuffle_matrix(values: np.ndarray, sims: int, rng: np.random.Generator) -> np.ndarray:
    """(sims, n): each row an independent permutation of `values` (without replacement)."""
    return rng.permuted(np.broadcast_to(values, (sims, len(values))), axis=1)


def bootstrap_matrix(values: np.ndarray, sims: int, rng: np.random.Generator) -> np.ndarray:
    """(sims, n): each row n draws with replacement."""
    n = len(values)
    return values[rng.integers(0, n, size=(sims, n))]


def block_bootstrap_indices(
    n: int, sims: int, block: int, rng: np.random.Generator, kind: str = "circular"
) -> np.ndarray:
    """(sims, n) indices into a series of length n, resampled in blocks (see the module docstring)."""
    if n <= 0:
        return np.zeros((sims, 0), dtype=np.int64)
    if block < 1:
        raise ParameterError(f"block length must be >= 1, got {block}")
    if kind == "circular":
        b = min(block, n)
        k = -(-n // b)
        starts = rng.integers(0, n, size=(sims, k))
        idx = (starts[:, :, None] + np.arange(b)[None, None, :]) % n
        return idx.reshape(sims, k * b)[:, :n]
    if kind == "stationary":
        p = 1.0 / block
        new = rng.random((sims, n)) < p
        new[:, 0] = True
        starts = rng.integers(0, n, size=(sims, n))
        pos = np.arange(n)
        last = np.maximum.accumulate(np.where(new, pos[None, :], 0), axis=1)
        first_idx = np.take_along_axis(starts, last, axis=1)
        return (first_idx + (pos[None, :] - last)) % n
    raise ParameterError(f"block kind must be one of {list(BLOCK_KINDS)}, got {kind!r}")


def path_statistics(returns: np.ndarray, periods_per_year: float = math.nan) -> dict[str, np.ndarray]:
    """Final return %, max drawdown % (<= 0) and Sharpe of each row of a (sims, n) return matrix."""
    r = np.atleast_2d(np.asarray(returns, dtype=np.float64))
    sims, n = r.shape
    if n == 0:
        z = np.zeros(sims)
        return {"final_return_pct": z, "max_drawdown_pct": z.copy(), "sharpe": np.full(sims, math.nan)}
    eq = np.cumprod(1.0 + r, axis=1)
    peak = np.maximum(np.maximum.accumulate(eq, axis=1), 1.0)  # the start (1.0) is a peak
    dd = np.minimum((eq / peak - 1.0).min(axis=1), 0.0)
    if n > 1:
        sd = r.std(axis=1, ddof=1)
        scale = math.sqrt(periods_per_year) if periods_per_year and periods_per_year > 0 else 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            sharpe = np.where(sd > 1e-15 * np.maximum(1.0, np.abs(r).max(axis=1)), r.mean(axis=1) / sd * scale,
                              math.nan)
    else:
        sharpe = np.full(sims, math.nan)
    return {"final_return_pct": (eq[:, -1] - 1.0) * 100.0, "max_drawdown_pct": dd * 100.0, "sharpe": sharpe}


def prob_loss(final_return_pct: np.ndarray) -> float:
    x = np.asarray(final_return_pct, dtype=np.float64)
    return float((x < 0).mean()) if len(x) else math.nan


def prob_ruin(max_drawdown_pct: np.ndarray, ruin_dd_pct: float) -> float:
    """Share of simulations whose drawdown reached `ruin_dd_pct` percent (max_drawdown_pct <= -ruin_dd_pct)."""
    x = np.asarray(max_drawdown_pct, dtype=np.float64)
    return float((x <= -abs(ruin_dd_pct) + 1e-12).mean()) if len(x) else math.nan


def percentiles(values: np.ndarray) -> dict[str, float]:
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if not len(x):
        return {f"p{q}": math.nan for q in PERCENTILES}
    return {f"p{q}": float(v) for q, v in zip(PERCENTILES, np.percentile(x, PERCENTILES), strict=True)}


# ---- the analysis ----------------------------------------------------------------------------------------
@dataclass
class MonteCarloResult:
    method: str
    sims: int
    seed: int
    n: int  # trades (trade methods) or bar returns (block bootstrap)
    block: int | None
    block_kind: str | None
    ruin_dd_pct: float
    start_equity: float
    periods_per_year: float
    stats: dict[str, np.ndarray]  # per simulation
    original: dict[str, float]
    fan_steps: np.ndarray  # step numbers kept for the fan chart (0 = start)
    fan: dict[str, np.ndarray]  # "p5".. "p95" -> equity (currency) at fan_steps
    original_path: np.ndarray  # original equity at fan_steps
    sample_paths: np.ndarray  # a few simulated equity paths at fan_steps
    percentiles: dict[str, dict[str, float]] = field(default_factory=dict)
    prob_loss: float = math.nan
    prob_ruin: float = math.nan
    fan_times: list[Any] | None = None  # timestamps of fan_steps when known (bars)
    # per statistic: the backtest's own figure next to the "original" one, and why they differ (see reconcile)
    backtest: dict[str, dict[str, Any]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        dist = {}
        for key, vals in self.stats.items():
            finite = vals[np.isfinite(vals)]
            dist[key] = {
                "mean": float(finite.mean()) if len(finite) else math.nan,
                "std": float(finite.std(ddof=1)) if len(finite) > 1 else math.nan,
                "min": float(finite.min()) if len(finite) else math.nan,
                "max": float(finite.max()) if len(finite) else math.nan,
                **self.percentiles[key],
                "original": self.original.get(key, math.nan),
                "original_percentile": _rank(finite, self.original.get(key, math.nan)),
            }
        return {
            "method": self.method,
            "sims": self.sims,
            "seed": self.seed,
            "n": self.n,
            "unit": "bars" if self.method == "returns-block-bootstrap" else "trades",
            "block": self.block,
            "block_kind": self.block_kind,
            "start_equity": self.start_equity,
            "periods_per_year": self.periods_per_year,
            "ruin_dd_pct": self.ruin_dd_pct,
            "prob_loss": self.prob_loss,
            "prob_ruin": self.prob_ruin,
            "distributions": dist,
            "backtest": self.backtest,
        }


def _rank(values: np.ndarray, x: float) -> float:
    """Percent of simulations strictly below x plus half of the ties (where the original sits)."""
    if not len(values) or not np.isfinite(x):
        return math.nan
    below = float((values < x).sum())
    ties = float((np.isclose(values, x, rtol=1e-9, atol=1e-12)).sum())
    below -= float(((values < x) & np.isclose(values, x, rtol=1e-9, atol=1e-12)).sum())
    return (below + 0.5 * ties) / len(values) * 100.0


def _simulate_chunk(context: tuple, task: tuple) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One chunk of simulations: path statistics and the fan-chart samples (module-level: picklable)."""
    r, method, block, block_kind, ppy, steps = context
    m, seed_seq = task
    rng = np.random.default_rng(seed_seq)
    if method == "trades-shuffle":
        mat = shuffle_matrix(r, m, rng)
    elif method == "trades-bootstrap":
        mat = bootstrap_matrix(r, m, rng)
    else:
        mat = r[block_bootstrap_indices(len(r), m, block, rng, block_kind)]
    stats = path_statistics(mat, ppy)
    eq = np.cumprod(1.0 + mat, axis=1)
    return stats, np.concatenate((np.ones((m, 1)), eq), axis=1)[:, steps]


def monte_carlo(
    *,
    trades: pd.DataFrame | None = None,
    equity: pd.Series | None = None,
    returns: np.ndarray | None = None,
    method: str = "trades-shuffle",
    sims: int = 1000,
    block: int = 24,
    block_kind: str = "circular",
    ruin_dd_pct: float = 50.0,
    seed: int = 7,
    start_equity: float | None = None,
    periods_per_year: float | None = None,
    sample_paths: int = 20,
    executor: Any = None,
) -> MonteCarloResult:
    """Run the simulations (see the module docstring). `returns` overrides the returns derived from
    trades/equity (per-trade equity returns for trade methods, per-bar returns for the block bootstrap).
    `executor` (quantdesk.research.executors) spreads the chunks of simulations over processes or Ray; the
    result is identical whichever executor runs them."""
    if method not in METHODS:
        raise ParameterError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if not isinstance(sims, (int, np.integer)) or sims < 1:
        raise ParameterError(f"sims must be a positive integer, got {sims!r}")
    if sims > 1_000_000:
        raise ParameterError(f"sims must be <= 1,000,000, got {sims}")
    if not (0 < ruin_dd_pct <= 100):
        raise ParameterError(f"ruin drawdown must be in (0, 100] percent, got {ruin_dd_pct}")
    if method == "returns-block-bootstrap":
        if block_kind not in BLOCK_KINDS:
            raise ParameterError(f"block kind must be one of {list(BLOCK_KINDS)}, got {block_kind!r}")
        if not isinstance(block, (int, np.integer)) or block < 1:
            raise ParameterError(f"block length must be a positive integer, got {block!r}")
    eq_series = pd.Series(equity, dtype="float64") if equity is not None and not isinstance(equity, pd.Series) \
        else equity
    if start_equity is None:
        start_equity = float(eq_series.iloc[0]) if eq_series is not None and len(eq_series) else 10_000.0
    fan_times = None
    if returns is not None:
        r = np.asarray(returns, dtype=np.float64)
        ppy = periods_per_year if periods_per_year else math.nan
    elif method == "returns-block-bootstrap":
        if eq_series is None:
            raise DataError("the block bootstrap needs the equity curve (equity.csv)")
        r = bar_returns(eq_series)
        if periods_per_year:
            ppy = periods_per_year
        else:
            from quantdesk.backtest.metrics import infer_periods_per_year

            ppy = infer_periods_per_year(eq_series.index)
        if isinstance(eq_series.index, pd.DatetimeIndex):
            fan_times = list(eq_series.index)
    else:
        if trades is None:
            raise DataError(f"method {method} needs the trade list (trades.csv)")
        r = trade_equity_returns(trades, start_equity)
        ppy = periods_per_year if periods_per_year else _trades_per_year(trades, len(r))
    r = r[np.isfinite(r)]
    n = len(r)
    if n == 0:
        unit = "bar returns" if method == "returns-block-bootstrap" else "closed trades"
        raise DataError(f"nothing to simulate: the run has no {unit}")

    steps = np.unique(np.linspace(0, n, min(n + 1, _FAN_POINTS)).round().astype(np.int64))
    # Chunks of simulations, each with its own child seed: the numbers depend only on (seed, sims, n), never
    # on which executor ran the chunks or in what order they finished.
    chunk = max(1, min(sims, _CHUNK_CELLS // max(n, 1)))
    sizes = [min(chunk, sims - start) for start in range(0, sims, chunk)]
    tasks = list(zip(sizes, np.random.SeedSequence(seed).spawn(len(sizes)), strict=True))
    context = (r, method, int(block), block_kind, ppy, steps)
    if executor is None or len(tasks) == 1:
        results = [_simulate_chunk(context, task) for task in tasks]
    else:
        results = executor.map(_simulate_chunk, context, tasks)
    parts: dict[str, list[np.ndarray]] = {k: [st[k] for st, _ in results] for k in STATS}
    fan_rows = [rows for _, rows in results]
    stats = {k: np.concatenate(v) for k, v in parts.items()}
    fan_eq = np.concatenate(fan_rows) * start_equity
    fan = {f"p{q}": v for q, v in zip(PERCENTILES, np.percentile(fan_eq, PERCENTILES, axis=0), strict=True)}
    orig_stats = path_statistics(r[None, :], ppy)
    original = {k: float(v[0]) for k, v in orig_stats.items()}
    orig_eq = np.concatenate(([1.0], np.cumprod(1.0 + r))) * start_equity
    res = MonteCarloResult(
        method=method,
        sims=int(sims),
        seed=int(seed),
        n=n,
        block=int(block) if method == "returns-block-bootstrap" else None,
        block_kind=block_kind if method == "returns-block-bootstrap" else None,
        ruin_dd_pct=float(ruin_dd_pct),
        start_equity=float(start_equity),
        periods_per_year=float(ppy) if ppy == ppy else math.nan,
        stats=stats,
        original=original,
        fan_steps=steps,
        fan=fan,
        original_path=orig_eq[steps],
        sample_paths=fan_eq[: max(0, sample_paths)],
        fan_times=[fan_times[int(s)] for s in steps] if fan_times is not None else None,
    )
    if returns is None and eq_series is not None:
        res.backtest = reconcile(method, original, trades, eq_series, float(start_equity), ppy)
    res.percentiles = {k: percentiles(v) for k, v in stats.items()}
    res.prob_loss = prob_loss(stats["final_return_pct"])
    res.prob_ruin = prob_ruin(stats["max_drawdown_pct"], ruin_dd_pct)
    return res


# ---- the original run vs the backtest --------------------------------------------------------------------
def reconcile(method: str, original: dict[str, float], trades: pd.DataFrame | None, equity: pd.Series,
              start_equity: float, ppy: float) -> dict[str, dict[str, Any]]:
    """The backtest's final return, max drawdown and Sharpe (`compute_metrics` of its trades and equity curve, as
    the backtest reports them) next to the "original" figures the simulations are compared with, and why they
    differ when they do: trade methods see closed trades only (an open trade's unrealised P&L is left out), the
    equity between trades only (no drawdown inside a trade) and per-trade returns (a different Sharpe)."""
    from quantdesk.backtest.metrics import compute_metrics

    eq = pd.Series(equity, dtype="float64").dropna()
    if len(eq) < 2:
        return {}
    empty = pd.DataFrame({"pnl": [], "is_open": []})
    bt = compute_metrics(trades if trades is not None and "entry_time" in trades else empty, eq)
    out: dict[str, dict[str, Any]] = {}
    names = {"final_return_pct": "total_return_pct"}  # the backtest's name for the same figure
    for key in STATS:
        b, o = float(bt.get(names.get(key, key), math.nan)), float(original.get(key, math.nan))
        same = bool(math.isfinite(b) and math.isfinite(o) and math.isclose(b, o, rel_tol=1e-6, abs_tol=1e-9))
        out[key] = {"backtest": b, "original": o, "matches": same, "why": None}
    if method == "returns-block-bootstrap":
        for key, row in out.items():
            if not row["matches"] and key == "sharpe":
                row["why"] = ("annualised with the equity index's bars per year; the backtest may have used a "
                              "risk-free rate or an explicit --periods-per-year")
        return out
    t = trades if trades is not None else pd.DataFrame()
    is_open = _as_bool(t["is_open"]) if "is_open" in t and len(t) else np.zeros(len(t), dtype=bool)
    pnl = pd.to_numeric(t["pnl"], errors="coerce").fillna(0.0).to_numpy() if "pnl" in t else np.zeros(len(t))
    n_open, n_closed = int(is_open.sum()), int((~is_open).sum())
    fr = out["final_return_pct"]
    if not fr["matches"]:
        if n_open:
            unreal = float(pnl[is_open].sum())
            fr["why"] = (f"the backtest's return includes {n_open} trade(s) still open at the end (unrealised P&L "
                         f"{unreal:+,.2f}, {unreal / start_equity * 100:+.2f}% of the start equity); the simulations "
                         f"resample the {n_closed} closed trades only")
        else:
            gap = (fr["backtest"] - fr["original"]) / 100.0 * start_equity
            fr["why"] = (f"the equity moved by {gap:+,.2f} more than the closed trades' P&L (costs or cash flows "
                         f"outside the trades)")
    dd = out["max_drawdown_pct"]
    if not dd["matches"]:
        dd["why"] = ("the backtest measures the drawdown bar by bar, including the swings inside trades; the "
                     "simulations see the equity only between trades, so their drawdowns are shallower")
    sh = out["sharpe"]
    if not sh["matches"]:
        per = f"{ppy:,.1f} trades a year" if math.isfinite(ppy) else "no annualisation (per trade)"
        sh["why"] = f"Sharpe of the trade returns ({per}); the backtest's is the Sharpe of its bar returns"
    return out


# ---- run directories -------------------------------------------------------------------------------------
def load_run_dir(path: str | Path) -> tuple[pd.DataFrame, pd.Series]:
    """trades.csv and equity.csv of a backtest output folder (`quantdesk backtest --out DIR`)."""
    d = Path(path)
    if not d.is_dir():
        raise DataError(f"run folder not found: {d}")
    tp, ep = d / "trades.csv", d / "equity.csv"
    missing = [p.name for p in (tp, ep) if not p.is_file()]
    if missing:
        raise DataError(f"{d} is not a backtest output folder: missing {', '.join(missing)}")
    try:
        trades = pd.read_csv(tp)
        eq = pd.read_csv(ep)
    except Exception as exc:  # noqa: BLE001 - any parse problem is a data error for the user
        raise DataError(f"cannot read {d}: {exc}") from None
    if "pnl" not in trades.columns:
        raise DataError(f"{tp} has no 'pnl' column")
    if "equity" not in eq.columns:
        raise DataError(f"{ep} has no 'equity' column")
    for col in ("entry_time", "exit_time"):
        if col in trades:
            trades[col] = pd.to_datetime(trades[col], utc=True, errors="coerce")
    if "is_open" in trades:
        trades["is_open"] = _as_bool(trades["is_open"])
    index = pd.to_datetime(eq["timestamp"], utc=True, errors="coerce") if "timestamp" in eq else None
    equity = pd.Series(eq["equity"].to_numpy(dtype=np.float64), name="equity")
    if index is not None and not index.isna().any():
        equity.index = pd.DatetimeIndex(index)
    return trades, equity


# ---- report ----------------------------------------------------------------------------------------------
def render_html(mc: MonteCarloResult, title: str = "Monte Carlo") -> str:
    """Self-contained page (plotly.js embedded): see quantdesk.research.mc_report."""
    from quantdesk.research.mc_report import render_html as render

    return render(mc, title)


def write_outputs(mc: MonteCarloResult, out_dir: str | Path, *, title: str = "Monte Carlo",
                  extra: dict[str, Any] | None = None) -> dict[str, Path]:
    """DIR/summary.json, DIR/simulations.csv (one row per simulation) and DIR/montecarlo.html."""
    import json

    from quantdesk.core.jsonable import to_jsonable

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"summary.json": out / "summary.json", "simulations.csv": out / "simulations.csv",
             "montecarlo.html": out / "montecarlo.html"}
    doc = mc.summary()
    if extra:
        doc.update(extra)
    paths["summary.json"].write_text(json.dumps(to_jsonable(doc), indent=2))
    pd.DataFrame(mc.stats).rename_axis("sim").to_csv(paths["simulations.csv"], float_format="%.10g")
    paths["montecarlo.html"].write_text(render_html(mc, title), encoding="utf-8")
    return paths
