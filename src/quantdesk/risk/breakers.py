"""Circuit breakers (daily loss, drawdown from peak) and per-symbol cooldowns.

Breakers are updated ONCE PER BAR (timeline step), after the venue matched the bar and the price cursors moved,
BEFORE the strategy sees the bar, with equity = cash + sum(position x close):

- start-of-day equity = the equity at the last bar BEFORE the first bar of the UTC day (the first equity seen
  for the first day); daily loss = (start-of-day - equity) / start-of-day; trips when >= `daily_loss_pct`.
- peak = the highest equity seen (since the start or the last `resume()`); drawdown = (peak - equity) / peak;
  trips when >= `max_drawdown_pct`.
A trip moves the trading state to HALTED (`on_breach="halt"`: working entry orders are cancelled; no order
that increases exposure passes; reducing/closing orders still do) or REDUCING (`"reduce"`: the same, plus
every open position is flattened by reduce-only market orders). With `auto_resume_next_day`, a DAILY-loss halt
lifts at the first bar of the next UTC day (new start-of-day). Any other halt (drawdown, kill switch, manual)
needs `risk.resume()`, which re-arms the breakers from the current equity (peak and start-of-day := equity).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DAY_NS = 86_400 * 1_000_000_000


@dataclass(slots=True)
class Trip:
    rule: str
    value: float
    limit: float
    reason: str


class Breakers:
    def __init__(self, daily_loss_pct: float | None, max_drawdown_pct: float | None) -> None:
        self.daily_loss_pct = daily_loss_pct
        self.max_drawdown_pct = max_drawdown_pct
        self.day: int | None = None
        self.sod = self.peak = self.last = float("nan")

    def __bool__(self) -> bool:
        return self.daily_loss_pct is not None or self.max_drawdown_pct is not None

    def rearm(self, equity: float) -> None:
        if equity == equity:  # not NaN
            self.peak = self.sod = self.last = equity

    def update(self, ts_ns: int, equity: float) -> tuple[bool, Trip | None]:
        """-> (a new UTC day started, the breach if any)."""
        day = ts_ns // DAY_NS
        new_day = False
        if self.day is None:
            self.day = day
            self.sod = self.peak = self.last = equity
        elif day != self.day:
            self.day = day
            self.sod = self.last
            new_day = True
        self.last = equity
        if equity > self.peak:
            self.peak = equity
        trip = None
        lim = self.daily_loss_pct
        if lim is not None and self.sod > 0:
            loss = (self.sod - equity) / self.sod
            if loss >= lim:
                trip = Trip("daily_loss_pct", loss, lim, f"daily loss {loss:.4%} >= limit {lim:.4%}")
        lim = self.max_drawdown_pct
        if trip is None and lim is not None and self.peak > 0:
            dd = (self.peak - equity) / self.peak
            if dd >= lim:
                trip = Trip("max_drawdown_pct", dd, lim, f"drawdown {dd:.4%} >= limit {lim:.4%}")
        return new_day, trip


class Cooldowns:
    """symbol -> (until_ns, until_bar). A symbol is cooling down while now < until_ns OR bar < until_bar."""

    def __init__(self, seconds: float, bars: int) -> None:
        self.ns = int(seconds * 1_000_000_000)
        self.bars = bars
        self.until: dict[Any, tuple[int | None, int | None]] = {}
        self.streak: dict[Any, int] = {}

    def start(self, iid: Any, now_ns: int, bar: int) -> tuple[int | None, int | None]:
        end = (now_ns + self.ns if self.ns else None, bar + self.bars if self.bars else None)
        self.until[iid] = end
        return end

    def active(self, iid: Any, now_ns: int, bar: int) -> tuple[int | None, int | None] | None:
        end = self.until.get(iid)
        if end is None:
            return None
        t, b = end
        if (t is not None and now_ns < t) or (b is not None and bar < b):
            return end
        del self.until[iid]
        return None
