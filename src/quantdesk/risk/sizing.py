"""Position sizing: how many units to trade. Pure formulas + small sizer objects usable three ways:

    qty = fixed_fraction_qty(equity=10_000, price=50, fraction=0.1)          # 20.0 (a formula)
    self.buy(sizer=FixedFraction(0.1))                                       # in a strategy (Strategy API)
    qty = self.size(RiskPerTrade(0.01), stop=bar.close * 0.95)                # the quantity only
    [risk.sizing] method = "fixed_fraction"; fraction = 0.1                  # by configuration, no code

Formulas (equity and price in quote currency, quantities in base units):
- fixed fraction:   qty = equity x fraction / price
- fixed notional:   qty = notional / price
- Kelly:            f* = W - (1 - W) / R   (W = win rate, R = average win / average loss), f = clip(scale x f*,
                    0, cap); qty = equity x f / price. From history: W and R from the strategy's closed round trips
                    (net P&L), fewer than `min_trades` trades -> `fallback` fraction (default 0: no trade).
- volatility target: vol = stdev of the last `window` simple bar returns ("stdev") or ATR(window) / price
                    ("atr"); f = target_vol / vol; qty = equity x f / price (vol and target per bar).
- risk per trade:   qty = equity x risk_pct / |entry - stop|  (stop given, or entry x stop_pct away).
Every sizer takes `max_fraction` (a cap on qty x price / equity). Results are floats >= 0 (the engine rounds
down to the lot size).

BY CONFIGURATION (`risk.sizing`): the engine applies the sizer to STRATEGY orders that give no quantity
(`notional=` orders and `buy_all_cash()`) and that increase exposure: the order becomes a quantity order of
`sizer quantity` at the reference price (last close); an all-cash buy is capped at the smaller of that and the
quantity the cash buys at the reference price incl. the taker fee. A sized quantity of 0 drops the order (logged).
Orders with an explicit quantity are never resized.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quantdesk.risk.context import SizingHost


# ---- formulas ---------------------------------------------------------------------------------------
def fixed_fraction_qty(equity: float, price: float, fraction: float) -> float:
    return max(equity * fraction / price, 0.0) if price > 0 else 0.0


def fixed_notional_qty(notional: float, price: float) -> float:
    return max(notional / price, 0.0) if price > 0 else 0.0


def kelly_fraction(win_rate: float, payoff: float) -> float:
    """Full Kelly f* = W - (1 - W) / R (can be negative: no edge)."""
    if payoff <= 0:
        return 0.0
    return win_rate - (1.0 - win_rate) / payoff


def kelly_from_pnls(pnls: list[float] | np.ndarray) -> tuple[float, float] | None:
    """(win rate, payoff) from trade P&Ls; None without at least one win and one loss."""
    x = np.asarray(pnls, dtype=np.float64)
    wins, losses = x[x > 0], x[x < 0]
    if len(x) == 0 or len(losses) == 0 or len(wins) == 0:
        return None
    return len(wins) / len(x), float(wins.mean() / -losses.mean())


def realized_vol(closes: np.ndarray, window: int) -> float:
    c = np.asarray(closes, dtype=np.float64)[-(window + 1) :]
    if len(c) < 3:
        return math.nan
    r = np.diff(c) / c[:-1]
    return float(np.std(r, ddof=1))


def atr_pct(high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int) -> float:
    """Simple-mean ATR over the last `window` bars, divided by the last close."""
    h, lo, c = (np.asarray(a, dtype=np.float64) for a in (high, low, close))
    if len(c) < 2:
        return math.nan
    prev = c[:-1]
    tr = np.maximum.reduce([h[1:] - lo[1:], np.abs(h[1:] - prev), np.abs(lo[1:] - prev)])
    return float(tr[-window:].mean() / c[-1])


def vol_target_qty(equity: float, price: float, target_vol: float, vol: float) -> float:
    if not (vol > 0) or not price > 0:
        return 0.0
    return equity * (target_vol / vol) / price


def risk_per_trade_qty(equity: float, risk_pct: float, entry: float, stop: float) -> float:
    dist = abs(entry - stop)
    return equity * risk_pct / dist if dist > 0 else 0.0


# ---- sizers -----------------------------------------------------------------------------------------
@dataclass(slots=True)
class SizingContext:
    equity: float
    price: float
    closes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    highs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lows: np.ndarray = field(default_factory=lambda: np.zeros(0))
    trade_pnls: list[float] = field(default_factory=list)
    stop: float | None = None


class Sizer:
    max_fraction: float | None = None

    def raw(self, ctx: SizingContext) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def quantity(self, ctx: SizingContext) -> float:
        q = self.raw(ctx)
        if not (q > 0) or not math.isfinite(q):
            return 0.0
        if self.max_fraction is not None and ctx.price > 0:
            q = min(q, ctx.equity * self.max_fraction / ctx.price)
        return max(q, 0.0)


@dataclass(slots=True)
class FixedFraction(Sizer):
    fraction: float
    max_fraction: float | None = None

    def raw(self, ctx: SizingContext) -> float:
        return fixed_fraction_qty(ctx.equity, ctx.price, self.fraction)


@dataclass(slots=True)
class FixedNotional(Sizer):
    notional: float
    max_fraction: float | None = None

    def raw(self, ctx: SizingContext) -> float:
        return fixed_notional_qty(self.notional, ctx.price)


@dataclass(slots=True)
class Kelly(Sizer):
    win_rate: float | None = None
    payoff: float | None = None
    scale: float = 1.0
    cap: float = 0.25
    min_trades: int = 10
    fallback: float = 0.0
    max_fraction: float | None = None

    def fraction(self, ctx: SizingContext) -> float:
        if self.win_rate is not None and self.payoff is not None:
            w, r = self.win_rate, self.payoff
        else:
            est = kelly_from_pnls(ctx.trade_pnls) if len(ctx.trade_pnls) >= self.min_trades else None
            if est is None:
                return self.fallback
            w, r = est
        return min(max(self.scale * kelly_fraction(w, r), 0.0), self.cap)

    def raw(self, ctx: SizingContext) -> float:
        return fixed_fraction_qty(ctx.equity, ctx.price, self.fraction(ctx))


@dataclass(slots=True)
class VolTarget(Sizer):
    target_vol: float
    method: str = "stdev"
    window: int = 20
    max_fraction: float | None = None

    def vol(self, ctx: SizingContext) -> float:
        if self.method == "atr":
            n = self.window + 1
            return atr_pct(ctx.highs[-n:], ctx.lows[-n:], ctx.closes[-n:], self.window)
        return realized_vol(ctx.closes, self.window)

    def raw(self, ctx: SizingContext) -> float:
        return vol_target_qty(ctx.equity, ctx.price, self.target_vol, self.vol(ctx))


@dataclass(slots=True)
class RiskPerTrade(Sizer):
    risk_pct: float
    stop_pct: float | None = None
    max_fraction: float | None = None

    def raw(self, ctx: SizingContext) -> float:
        stop = ctx.stop
        if stop is None:
            if self.stop_pct is None:
                raise ValueError("RiskPerTrade needs a stop price (stop=...) or stop_pct")
            stop = ctx.price * (1.0 - self.stop_pct)
        return risk_per_trade_qty(ctx.equity, self.risk_pct, ctx.price, stop)


def sizer_from_settings(s: Any) -> Sizer:
    """A sizer from `risk.sizing` (quantdesk.risk.config.SizingSettings)."""
    m = s.method
    if m == "fixed_fraction":
        return FixedFraction(s.fraction, s.max_fraction)
    if m == "fixed_notional":
        return FixedNotional(s.notional, s.max_fraction)
    if m == "kelly":
        return Kelly(s.win_rate, s.payoff, s.kelly_scale, s.cap, s.min_trades, 0.0, s.max_fraction)
    if m == "vol_target":
        return VolTarget(s.target_vol, s.vol_method, s.window, s.max_fraction)
    if m == "risk_per_trade":
        return RiskPerTrade(s.risk_pct, s.stop_pct, s.max_fraction)
    raise ValueError(f"unknown sizing method {m!r}")


def context_from_engine(
    engine: SizingHost,
    symbol: Any = None,
    *,
    stop: float | None = None,
    price: float | None = None,
    lookback: int = 500,
) -> SizingContext:
    """The sizing inputs of `symbol` in a running engine: equity, last close (or `price`), recent OHLC and the
    net P&L of the closed round trips of that instrument."""
    leg = engine.leg(symbol)
    end = leg.view.index + 1
    start = max(0, end - lookback)
    pnls = [
        float(t.realized - t.fees)
        for t in engine.portfolio.trips
        if not t.is_open and t.instrument == leg.iid
    ]
    return SizingContext(
        equity=engine.equity_f,
        price=float(price) if price is not None else leg.last_close,
        closes=np.asarray(leg.c[start:end], dtype=np.float64),
        highs=np.asarray(leg.h[start:end], dtype=np.float64),
        lows=np.asarray(leg.l[start:end], dtype=np.float64),
        trade_pnls=pnls,
        stop=None if stop is None else float(stop),
    )
