"""Round trips as a trader reads them (FreqUI's trade table): P&L net of fees and in %, why the trade was entered
(the entry order's tag) and why it was exited (stop-loss, take-profit, the strategy's signal, a manual close or a
force-exit), how long it lasted, and for the open trade its unrealised P&L at the last price.

Money is Decimal throughout; the stored round trip has gross realised P&L and every fee of the trip, so
    closed: pnl = realized - fees
    open:   pnl = realized (of partial exits) + (mark - entry_price) x open quantity x side - fees
and pnl_pct = pnl / (entry_price x quantity) x 100.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from quantdesk.core.timeutil import iso
from quantdesk.model.money import plain

_BRACKET = {"stop_loss": "stop-loss", "take_profit": "take-profit", "trailing_stop": "trailing stop"}


def _dec(x: Any) -> Decimal | None:
    if x is None or x == "":
        return None
    return x if isinstance(x, Decimal) else Decimal(str(x))


def order_reason(order: Mapping[str, Any] | None) -> str | None:
    """Why an order was placed, in words: its tag (strategy signal, manual, simulated, force_exit...), a bracket
    child's role, or its type."""
    if not order:
        return None
    tags = [t for t in (order.get("tags") or []) if t]
    for t in tags:
        if t in _BRACKET:
            return _BRACKET[t]
    if tags:
        return str(tags[0]).replace("_", " ") if tags[0] in ("force_exit", "manual", "simulated") else str(tags[0])
    otype = str(order.get("type") or "")
    if otype in ("stop", "trailing_stop"):
        return "stop-loss" if otype == "stop" else "trailing stop"
    return f"{otype} order" if otype else None


def _duration(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86_400)
    h, s = divmod(s, 3_600)
    m, s = divmod(s, 60)
    return f"{d}d {h}h {m}m" if d else f"{h}h {m}m" if h else f"{m}m {s}s"


def trade_view(trade: Mapping[str, Any], orders: Mapping[str, Mapping[str, Any]],
               marks: Mapping[str, Any], now_ns: int | None) -> dict[str, Any]:
    """One stored round trip with the trader's columns added (see the module docstring)."""
    qty = _dec(trade.get("quantity")) or Decimal(0)
    entry = _dec(trade.get("entry_price"))
    fees = _dec(trade.get("fees")) or Decimal(0)
    realized = _dec(trade.get("realized_pnl")) or Decimal(0)
    is_open = trade.get("status") == "open"
    sign = Decimal(1) if trade.get("side") == "long" else Decimal(-1)
    mark = _dec(marks.get(str(trade.get("symbol")))) if is_open else None
    unrealized = (mark - entry) * qty * sign if (is_open and mark is not None and entry is not None) else None
    if is_open and unrealized is None:
        pnl = None  # no price yet
    else:
        pnl = realized + (unrealized or Decimal(0)) - fees
    notional = entry * qty if entry is not None else None
    pct = float(pnl / notional * 100) if (pnl is not None and notional) else None
    end = trade.get("exit_ts") if not is_open else now_ns
    duration = (int(end) - int(trade["entry_ts"])) / 1e9 if end is not None and trade.get("entry_ts") else None
    return {
        **trade,
        "pnl": plain(pnl) if pnl is not None else None,
        "pnl_pct": pct,
        "realized_pnl_gross": plain(realized),
        "unrealized_pnl": plain(unrealized) if unrealized is not None else None,
        "mark_price": plain(mark) if mark is not None else None,
        "entry_time": iso(int(trade["entry_ts"])) if trade.get("entry_ts") else None,
        "exit_time": iso(int(trade["exit_ts"])) if trade.get("exit_ts") else None,
        "duration_s": duration,
        "duration": _duration(duration) if duration is not None else None,
        "entry_tag": order_reason(orders.get(str(trade.get("entry_order_id") or ""))),
        "exit_reason": order_reason(orders.get(str(trade.get("exit_order_id") or ""))) if not is_open else None,
    }


def account_pnl(starting_cash: Decimal, equity: Decimal, realized_gross: Decimal, fees: Decimal) -> dict[str, str]:
    """The Portfolio cards, consistent by construction: realized (net of every fee paid) + unrealized = total
    = equity - starting cash."""
    total = equity - starting_cash
    realized = realized_gross - fees
    return {"total_pnl": plain(total), "realized_pnl": plain(realized), "unrealized_pnl": plain(total - realized),
            "realized_pnl_gross": plain(realized_gross), "fees": plain(fees)}
