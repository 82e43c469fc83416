"""Stress tests: shock scenarios applied to the current book, with the P&L per position and in total.

A book is {symbol: market value} in the account currency (long > 0, short < 0). A shock of -0.3 on a
position means its price falls 30 %, so its P&L is value * -0.3 (a short gains). Scenarios:

- `market_crash(book, shock)`: every crypto asset moves by `shock`; assets listed in `non_crypto`
  ({symbol: beta}) move by beta * shock.
- `flash_crash(book, drop, recovery)`: prices fall by `drop` (trough) and then recover the fraction
  `recovery` of the fall; reports the trough P&L and the end P&L (end move = drop * (1 - recovery)).
- `correlation_breakdown(returns, weights, vol_factor)`: every pairwise correlation goes to `target_corr`
  (default 1) and every volatility is multiplied by `vol_factor`; the parametric VaR is recomputed with the
  stressed covariance and compared with the normal one.
- `historical_replay(book, prices, episode)`: applies each asset's actual move over a named real episode
  (see EPISODES) to the current book. Window = [start, end) in UTC, bars stamped by their open time:
  the base price is the close of the last bar stamped before `start` (the price when the window opened),
  the end price the close of the last bar stamped before `end`, an asset's trough its lowest close in
  between; the book's trough P&L is the worst value-weighted P&L over the window (prices aligned on the union
  of bar times, last price carried forward), not the sum of the assets' separate troughs.
  Assets whose data do not reach the window (no bar within `max_gap` before start or before end) are
  skipped and listed in `missing`; `status` says "ok", "partial" (some skipped: the totals cover the others) or
  "no data" (none covered: the totals are NaN, null in JSON, not a P&L of 0).
- `user_scenario(book, spec)`: per-asset shocks from a scenario file (see scenarios.py), default shock else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.risk.portfolio import analytics as an
from quantdesk.risk.portfolio.scenarios import ScenarioSpec


@dataclass(frozen=True)
class Episode:
    name: str
    start: pd.Timestamp
    end: pd.Timestamp  # exclusive
    description: str
    data: str  # which shipped data set covers it


def _ep(name: str, start: str, end: str, description: str, data: str) -> Episode:
    return Episode(name, pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"), description, data)


EPISODES: dict[str, Episode] = {
    e.name: e
    for e in (
        _ep("btc-2017-12-top", "2017-12-17", "2018-02-07",
            "BTC's 2017-12-17 all-time high and the drawdown to the 2018-02-06 low (about -60 %)",
            "BTC/USD Coinbase 1h and 1d"),
        _ep("btc-2018-01-16", "2018-01-16", "2018-01-18",
            "BTC crash of 16-17 Jan 2018 (13.6k to a 9.4k intraday low)",
            "BTC/USD Coinbase 1h/1d; the ten Bittrex alt/BTC 5m pairs"),
        _ep("btc-2018-11-selloff", "2018-11-14", "2018-11-26",
            "November 2018 sell-off (6.3k to 3.8k)", "BTC/USD Coinbase 1h and 1d"),
        _ep("btc-2019-06-26", "2019-06-26", "2019-06-28",
            "26 Jun 2019 spike to 13.8k and the drop that followed", "BTC/USD Coinbase 1h (1d)"),
        _ep("btc-2022-01-21", "2022-01-21", "2022-01-25",
            "21-24 Jan 2022 sell-off (41k to a 33k low on the 24th)", "BTC-PERP FTX 1m"),
    )
}


@dataclass
class StressResult:
    """One scenario's outcome: a row per position and totals (P&L in currency, pct of the book's gross value)."""

    name: str
    kind: str
    positions: pd.DataFrame
    total_pnl: float
    total_pct: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "total_pnl": self.total_pnl,
            "total_pct": self.total_pct,
            "positions": self.positions.reset_index().to_dict(orient="records"),
            **self.extra,
        }


def _book(book: Mapping[str, float]) -> pd.Series:
    if not book:
        raise ParameterError("the book is empty: give at least one position {symbol: market value}")
    s = pd.Series({str(k): float(v) for k, v in book.items()}, dtype="float64")
    if not np.all(np.isfinite(s.to_numpy())):
        raise ParameterError("book: market values must be finite numbers")
    s.index.name = "symbol"
    return s


def _net(book: pd.Series) -> float:
    """Denominator for pct figures: the net value (the equity the book represents), or gross if net <= 0."""
    net = float(book.sum())
    return net if net > 0 else float(book.abs().sum())


def _shock_check(x: float, what: str) -> float:
    x = float(x)
    if not np.isfinite(x) or x < -1:
        raise ParameterError(f"{what} {x:g} must be a number >= -1 (a price cannot fall more than 100%)")
    return x


def apply_shocks(name: str, kind: str, book: Mapping[str, float], shocks: Mapping[str, float], **extra: Any) -> StressResult:
    b = _book(book)
    s = pd.Series({k: float(shocks[k]) for k in b.index}, dtype="float64")
    pnl = b * s
    frame = pd.DataFrame({"value": b, "shock": s, "pnl": pnl, "value_after": b + pnl})
    frame.index.name = "symbol"
    total = float(pnl.sum())
    return StressResult(name, kind, frame, total, total / _net(b), dict(extra))


def market_crash(book: Mapping[str, float], shock: float = -0.3, non_crypto: Mapping[str, float] | None = None) -> StressResult:
    shock = _shock_check(shock, "crash shock")
    non_crypto = dict(non_crypto or {})
    shocks = {k: (shock * float(non_crypto[k]) if k in non_crypto else shock) for k in book}
    for k, v in shocks.items():
        _shock_check(v, f"crash shock for {k} (beta x shock)")
    return apply_shocks(f"crash:{shock:g}", "market_crash", book, shocks, shock=shock, non_crypto_betas=non_crypto)


def flash_crash(
    book: Mapping[str, float], drop: float = -0.2, recovery: float = 0.5, non_crypto: Mapping[str, float] | None = None
) -> StressResult:
    drop = _shock_check(drop, "flash-crash drop")
    if drop > 0:
        raise ParameterError(f"flash-crash drop {drop:g} must be <= 0 (e.g. -0.2 for a 20% fall)")
    recovery = float(recovery)
    if not 0 <= recovery <= 1:
        raise ParameterError(f"flash-crash recovery {recovery:g} must be in [0, 1] (fraction of the fall regained)")
    b = _book(book)
    betas = pd.Series({k: float((non_crypto or {}).get(k, 1.0)) for k in b.index})
    trough = drop * betas
    end = trough * (1 - recovery)
    frame = pd.DataFrame(
        {"value": b, "trough_shock": trough, "trough_pnl": b * trough, "end_shock": end, "pnl": b * end, "value_after": b * (1 + end)}
    )
    frame.index.name = "symbol"
    total = float(frame["pnl"].sum())
    trough_total = float(frame["trough_pnl"].sum())
    return StressResult(
        f"flash:{drop:g}:{recovery:g}", "flash_crash", frame, total, total / _net(b),
        {"trough_pnl": trough_total, "trough_pct": trough_total / _net(b), "drop": drop, "recovery": recovery},
    )


def stressed_covariance(cov: np.ndarray, vol_factor: float = 2.0, target_corr: float = 1.0) -> np.ndarray:
    """Covariance with all off-diagonal correlations set to `target_corr` and vols scaled by `vol_factor`."""
    if not vol_factor > 0:
        raise ParameterError(f"volatility factor {vol_factor:g} must be > 0")
    if not -1 <= target_corr <= 1:
        raise ParameterError(f"target correlation {target_corr:g} must be in [-1, 1]")
    sd = np.sqrt(np.clip(np.diag(cov), 0, None)) * vol_factor
    corr = np.full(cov.shape, float(target_corr))
    np.fill_diagonal(corr, 1.0)
    return corr * np.outer(sd, sd)


def correlation_breakdown(
    returns: pd.DataFrame,
    weights: Any = None,
    *,
    value: float | None = None,
    vol_factor: float = 2.0,
    target_corr: float = 1.0,
    levels: tuple[float, ...] = an.DEFAULT_LEVELS,
    include_mean: bool = True,
) -> StressResult:
    """Parametric VaR with the normal vs the stressed covariance; per-position stressed component VaR."""
    from scipy.stats import norm

    frame = an._as_frame(returns)
    w, _ = an.resolve_weights(frame.columns, weights)
    x = frame.to_numpy()
    mu = x.mean(axis=0) if include_mean else np.zeros(len(w))
    cov = np.cov(x, rowvar=False, ddof=1).reshape(len(w), len(w))
    scov = stressed_covariance(cov, vol_factor, target_corr)
    sig, ssig = float(np.sqrt(w @ cov @ w)), float(np.sqrt(max(w @ scov @ w, 0.0)))
    rows = []
    for a in levels:
        z = float(norm.ppf(an._check_alpha(a)))
        base, stressed = z * sig - mu @ w, z * ssig - mu @ w
        row = {"level": a, "var": float(base), "stressed_var": float(stressed), "ratio": float(stressed / base) if base else np.nan}
        if value is not None:
            row["var_value"], row["stressed_var_value"] = float(base * value), float(stressed * value)
        rows.append(row)
    z = float(norm.ppf(an._check_alpha(levels[-1])))
    comp = w * (z * (scov @ w) / ssig - mu) if ssig > 0 else np.zeros(len(w))
    positions = pd.DataFrame({"weight": w, "stressed_component_var": comp}, index=pd.Index(frame.columns, name="symbol"))
    if value is not None:
        positions["value"] = w * float(value)
        positions["stressed_component_var_value"] = comp * float(value)
    worst = rows[-1]
    total = -worst["stressed_var"] * (value if value is not None else 1.0)
    return StressResult(
        f"corr-breakdown:{vol_factor:g}", "correlation_breakdown", positions, float(total), float(-worst["stressed_var"]),
        {"vol_factor": vol_factor, "target_corr": target_corr, "var_by_level": rows,
         "portfolio_vol": sig, "stressed_portfolio_vol": ssig, "component_level": levels[-1]},
    )


def historical_replay(
    book: Mapping[str, float],
    prices: Mapping[str, pd.Series],
    episode: str | Episode,
    *,
    max_gap: pd.Timedelta | str = "2D",
) -> StressResult:
    """Apply each asset's real move over the episode window to the current book (see the module docstring)."""
    if isinstance(episode, str):
        if episode not in EPISODES:
            raise ParameterError(f"unknown replay episode {episode!r}; choose from {', '.join(EPISODES)}")
        episode = EPISODES[episode]
    b = _book(book)
    gap = pd.Timedelta(max_gap)
    rows, missing, paths = {}, {}, {}
    for sym in b.index:
        s = prices.get(sym)
        if s is None or len(s) == 0:
            missing[sym] = "no price data"
            continue
        s = pd.Series(s, dtype="float64").dropna().sort_index()
        if not isinstance(s.index, pd.DatetimeIndex) or s.index.tz is None:
            raise DataError(f"replay {episode.name}: prices for {sym} need a UTC DatetimeIndex")
        before = s[s.index < episode.start]
        inside = s[(s.index >= episode.start) & (s.index < episode.end)]
        if before.empty or episode.start - before.index[-1] > gap:
            missing[sym] = f"no data at the window start {episode.start.isoformat()} (data {s.index[0].isoformat()} .. {s.index[-1].isoformat()})"
            continue
        if inside.empty or episode.end - inside.index[-1] > gap:
            missing[sym] = f"data end before the window end {episode.end.isoformat()} (last {s.index[-1].isoformat()})"
            continue
        base = float(before.iloc[-1])
        paths[sym] = inside
        ret = float(inside.iloc[-1]) / base - 1
        trough = float(inside.min()) / base - 1
        rows[sym] = {"base_price": base, "end_price": float(inside.iloc[-1]), "return": ret,
                     "trough_return": trough, "bars": int(len(inside))}
    covered = b[list(rows)]
    frame = pd.DataFrame.from_dict(rows, orient="index")
    if rows:
        frame.index.name = "symbol"
        frame.insert(0, "value", covered)
        frame["pnl"] = frame["value"] * frame["return"]
        frame["trough_pnl"] = frame["value"] * frame["trough_return"]
        frame["value_after"] = frame["value"] + frame["pnl"]
    # no asset with data over the episode: the P&L is unknown (NaN -> null in JSON, "no data" for people), not 0
    total = float(frame["pnl"].sum()) if rows else math.nan
    # the book's worst point: value-weighted moves on the union of bar times (last known price carried forward)
    trough_total = math.nan
    if rows:
        moves = pd.concat({k: v / rows[k]["base_price"] - 1 for k, v in paths.items()}, axis=1).sort_index().ffill().fillna(0.0)
        trough_total = float(min(0.0, (moves * frame["value"].reindex(moves.columns)).sum(axis=1).min()))
    denom = _net(b)
    return StressResult(
        f"replay:{episode.name}", "historical_replay", frame, total, total / denom,
        {"episode": episode.name, "start": episode.start, "end": episode.end, "description": episode.description,
         "trough_pnl": trough_total, "trough_pct": trough_total / denom,
         "covered": list(rows), "missing": missing,
         "status": "no data" if not rows else ("partial" if missing else "ok")},
    )


def user_scenario(book: Mapping[str, float], spec: ScenarioSpec) -> StressResult:
    shocks = {k: spec.shocks.get(k, spec.default_shock) for k in book}
    not_in_book = sorted(set(spec.shocks) - set(book))
    return apply_shocks(
        spec.name or "user", "user", book, shocks,
        description=spec.description, default_shock=spec.default_shock, shocks_not_in_book=not_in_book,
        defaulted=[k for k in book if k not in spec.shocks],
    )


def parse_scenario(text: str) -> tuple[str, list[str]]:
    """`crash:-0.3` -> ("crash", ["-0.3"]); used by the CLI; validates the kind."""
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    kinds = ("crash", "flash", "corr-breakdown", "replay", "file")
    if kind not in kinds:
        raise ParameterError(f"scenario {text!r}: unknown kind {kind!r}; use one of {', '.join(k + ':...' for k in kinds)}")
    if kind == "file":
        return kind, [rest] if rest else []
    return kind, [p for p in rest.split(":") if p != ""] if rest else []
