"""DCA risk report: what a DCA ladder can cost in the worst case, and what a run actually did.

- `ladder(...)`: the theoretical ladder. Stage k fires at a loss of dca_levels[k] %; it buys `multiplier` x the
  position's value at that moment, so (with x2) the position triples per stage. Cumulative capital as a
  multiple of the entry and as % of the account shows where the original's defaults run out of money.
- `run_report(orders, bars, ...)`: for any run (backtest or paper) from its filled orders and bars: the position
  cycles (flat -> flat), the stages reached (buys - 1), the capital deployed (cost) and its peak as % of equity,
  the time under water (marked-to-market below the average cost), and 24 h cap hits (from the strategy's events
  when the powertrader strategy ran; otherwise the adds that filled the 24 h cap).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

DAY = pd.Timedelta(hours=24)


def ladder(start_allocation_pct: float = 0.5, dca_multiplier: float = 2.0,
           dca_levels: tuple[float, ...] = (-2.5, -5, -10, -20, -30, -40, -50), stages: int = 7) -> list[dict[str, Any]]:
    """Worst case: every stage fires by its loss level (prices from the entry, cost and value in % of the
    account at entry)."""
    rows = []
    cost = start_allocation_pct  # % of the account
    qty = 1.0  # units bought at the entry (price 1.0)
    entry_price = 1.0
    rows.append({"stage": 0, "trigger_pnl_pct": None, "price_vs_entry_pct": 0.0, "buy_pct_of_account":
                 start_allocation_pct, "cost_pct_of_account": cost, "cost_x_entry": 1.0})
    scale = start_allocation_pct / entry_price  # account % per unit at price 1
    for k in range(stages):
        level = dca_levels[min(k, len(dca_levels) - 1)]
        avg = cost / (qty * scale)  # average price of what is held
        price = avg * (1 + level / 100)
        value = qty * price * scale
        buy = dca_multiplier * value
        qty += buy / (price * scale)
        cost += buy
        rows.append({"stage": k + 1, "trigger_pnl_pct": level,
                     "price_vs_entry_pct": round((price / entry_price - 1) * 100, 4),
                     "buy_pct_of_account": buy, "cost_pct_of_account": cost, "cost_x_entry": cost / start_allocation_pct})
    return rows


def _fills(orders: pd.DataFrame) -> pd.DataFrame:
    if orders is None or orders.empty:
        return pd.DataFrame(columns=["ts", "side", "quantity", "price"])
    f = orders[orders["status"].astype(str).str.lower() == "filled"].copy()
    f["ts"] = pd.to_datetime(f["ts"], utc=True)
    f["quantity"] = f["quantity"].astype(float)
    f["price"] = f["price"].astype(float)
    f["side"] = f["side"].astype(str).str.lower()
    return f.sort_values("ts", kind="stable")[["ts", "side", "quantity", "price"]]


def run_report(orders: pd.DataFrame, bars: pd.DataFrame, equity: pd.Series | None = None,
               events: list[dict[str, Any]] | None = None, max_dca_buys_per_24h: int = 2) -> dict[str, Any]:
    """Cycles, stages, capital and time under water of a long-only run (see module doc)."""
    fills = _fills(orders)
    close = bars["close"].astype(float)
    idx = close.index
    cycles: list[dict[str, Any]] = []
    qty = cost = 0.0
    cur: dict[str, Any] | None = None
    buy_times: list[pd.Timestamp] = []
    saturations = 0
    row: Any  # a namedtuple (ts, side, quantity, price): the columns `_fills` keeps
    for row in fills.itertuples(index=False):
        if row.side.startswith("b"):
            if cur is None:
                cur = {"entry": row.ts, "buys": 0, "max_cost": 0.0, "buy_times": []}
            cur["buys"] += 1
            if cur["buys"] > 1:  # an add
                recent = [t for t in buy_times if t > row.ts - DAY]
                if len(recent) + 1 == max_dca_buys_per_24h:
                    saturations += 1
                buy_times.append(row.ts)
            qty += row.quantity
            cost += row.quantity * row.price
            cur["max_cost"] = max(cur["max_cost"], cost)
        else:
            if cur is None:
                continue
            avg = cost / qty if qty else 0.0
            sold = min(row.quantity, qty)
            cost -= sold * avg
            qty -= sold
            if qty <= 1e-12:
                cur.update(exit=row.ts, exit_price=row.price, avg_cost=avg)
                cycles.append(cur)
                cur, qty, cost = None, 0.0, 0.0
    if cur is not None:
        cur.update(exit=None, exit_price=None, avg_cost=cost / qty if qty else None)
        cycles.append(cur)
    eq = equity.astype(float) if equity is not None and len(equity) else None
    out_cycles = []
    total_under = pd.Timedelta(0)
    for c in cycles:
        stop = c["exit"] if c["exit"] is not None else idx[-1]
        under, longest = _under_water(fills, close, c["entry"], stop)
        total_under += under
        peak_pct = None
        if eq is not None:
            e_at = eq[eq.index <= c["entry"]]
            base = float(e_at.iloc[-1]) if len(e_at) else float(eq.iloc[0])
            peak_pct = 100 * c["max_cost"] / base if base > 0 else None
        out_cycles.append({"entry": c["entry"], "exit": c["exit"], "stages": c["buys"] - 1,
                           "max_cost": c["max_cost"], "max_cost_pct_equity": peak_pct,
                           "under_water_h": under / pd.Timedelta(hours=1),
                           "longest_under_water_h": longest / pd.Timedelta(hours=1)})
    by_stage: dict[int, dict[str, Any]] = {}
    for c in out_cycles:
        s = by_stage.setdefault(c["stages"], {"stage": c["stages"], "cycles": 0, "worst_cost": 0.0,
                                              "worst_cost_pct_equity": 0.0})
        s["cycles"] += 1
        s["worst_cost"] = max(s["worst_cost"], c["max_cost"])
        if c["max_cost_pct_equity"] is not None:
            s["worst_cost_pct_equity"] = max(s["worst_cost_pct_equity"], c["max_cost_pct_equity"])
    cap_hits = None
    if events is not None:
        cap_hits = sum(1 for e in events if e.get("kind") == "cap_hit")
    span = (idx[-1] - idx[0]) if len(idx) > 1 else pd.Timedelta(0)
    return {
        "cycles": len(out_cycles),
        "max_stage": max((c["stages"] for c in out_cycles), default=0),
        "by_stage": [by_stage[k] for k in sorted(by_stage)],
        "worst_cost_pct_equity": max((c["max_cost_pct_equity"] or 0.0 for c in out_cycles), default=0.0),
        "time_under_water_h": total_under / pd.Timedelta(hours=1),
        "time_under_water_pct": float(100 * total_under / span) if span > pd.Timedelta(0) else 0.0,
        "longest_under_water_h": max((c["longest_under_water_h"] for c in out_cycles), default=0.0),
        "cap_hits_24h": cap_hits,
        "cap_saturations_24h": saturations,
        "cycle_list": out_cycles,
    }


def _under_water(fills: pd.DataFrame, close: pd.Series, start: pd.Timestamp,
                 stop: pd.Timestamp) -> tuple[pd.Timedelta, pd.Timedelta]:
    """Total and longest time the bar closes sat below the running average cost between start and stop."""
    seg = close[(close.index >= start) & (close.index <= stop)]
    if seg.empty:
        return pd.Timedelta(0), pd.Timedelta(0)
    f = fills[(fills["ts"] >= start) & (fills["ts"] <= stop) & fills["side"].str.startswith("b")]
    qty = np.cumsum(f["quantity"].to_numpy())
    cost = np.cumsum((f["quantity"] * f["price"]).to_numpy())
    pos = np.searchsorted(f["ts"].to_numpy(), seg.index.to_numpy(), side="right") - 1
    ok = pos >= 0
    avg = np.full(len(seg), np.nan)
    avg[ok] = cost[pos[ok]] / qty[pos[ok]]
    below = ok & (seg.to_numpy() < avg)
    step = seg.index.to_series().diff().shift(-1).fillna(pd.Timedelta(0)).to_numpy()
    total = pd.Timedelta(step[below].sum()) if below.any() else pd.Timedelta(0)
    longest = run = pd.Timedelta(0)
    for b, s in zip(below, step, strict=True):
        run = run + pd.Timedelta(s) if b else pd.Timedelta(0)
        longest = max(longest, run)
    return total, longest
