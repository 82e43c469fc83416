"""What a person running `quantdesk paper` or `quantdesk up` sees on the console while bots trade: each fill,
what the risk engine did to the strategy's orders (denied or sized down, with the rule and the numbers; repeats
summarised), and a progress line per bot at most every few seconds."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape

from quantdesk.core.timeutil import iso


def _num(value: Any, digits: int = 8) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = f"{x:,.{digits}f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def fill_line(bot: str, f: Mapping[str, Any]) -> str:
    ts = f.get("ts")
    when = iso(int(ts)) if isinstance(ts, (int, float)) else str(ts or "")
    return (f"[green]fill[/] {bot} {when} {str(f.get('side', '')).upper()} {_num(f.get('quantity'))} "
            f"{f.get('symbol')} @ {_num(f.get('price'), 2)} fee {_num(f.get('fee'), 4)}")


def progress_line(s: Mapping[str, Any]) -> str:
    """One bot's state: bar k/n (time), equity and its change, open positions, fills, risk decisions."""
    start = float(s.get("starting_cash") or 0) or None
    equity = float(s.get("equity") or 0)
    change = f" ({(equity / start - 1) * 100:+.2f}%)" if start else ""
    pos = ", ".join(f"{sym} {_num(q)}" for sym, q in (s.get("positions") or {}).items() if float(q or 0)) or "flat"
    risk = s.get("risk") or {}
    acted = {**{f"denied by {k}": v for k, v in (risk.get("denied_by_rule") or {}).items()},
             **{f"sized to fit {k}": v for k, v in (risk.get("resized_by_rule") or {}).items()}}
    risk_txt = ("; risk: " + ", ".join(f"{v} {k}" for k, v in acted.items())) if acted else ""
    total = s.get("bars_total")
    bars = f"bar {s.get('bars')}/{total}" if total else f"bar {s.get('bars')}"
    when = f" ({s['time']})" if s.get("time") else ""
    return (f"[cyan]{s.get('bot')}[/] {s.get('status', '')} {bars}{when}: equity {_num(equity, 2)}{change}, "
            f"{pos}, {s.get('fills', 0)} fills{escape(risk_txt)}")


class RiskNotes:
    """Risk decisions on the console: the first of each (bot, kind, rule) in full, then at most one line per
    `every_s` seconds with how many more there were."""

    def __init__(self, console: Console, every_s: float = 30.0) -> None:
        self.console = console
        self.every_s = every_s
        self._last: dict[tuple[str, str, str], float] = {}
        self._held: Counter[tuple[str, str, str]] = Counter()

    def note(self, bot: str, event: Mapping[str, Any]) -> None:
        kind = str(event.get("type") or event.get("event") or "")
        if kind not in ("OrderResized", "OrderDenied", "TradingStateChanged", "KillSwitchActivated"):
            return
        rule = str(event.get("rule") or "")
        key = (bot, kind, rule)
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.every_s:
            self._held[key] += 1
            return
        more = self._held.pop(key, 0)
        self._last[key] = now
        details = event.get("details") or {}
        reason = details.get("reason") or event.get("reason") or ""
        what = {"OrderResized": "order sized down", "OrderDenied": "order denied"}.get(kind, kind)
        extra = f" (+{more} more since the last note)" if more else ""
        self.console.print(f"[yellow]risk[/] {bot}: {what}: {escape(str(reason))}{extra}", highlight=False)


class Progress:
    """Calls `print` for a bot at most once per `every_s` seconds (the first call prints)."""

    def __init__(self, every_s: float = 15.0) -> None:
        self.every_s = every_s
        self._last: dict[str, float] = {}

    def due(self, bot: str) -> bool:
        now = time.monotonic()
        if now - self._last.get(bot, -1e18) >= self.every_s:
            self._last[bot] = now
            return True
        return False
