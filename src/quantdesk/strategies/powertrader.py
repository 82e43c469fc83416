"""`powertrader`: the PowerTrader trader: enter on multi-timeframe signal levels, add by DCA, exit on a trailing
profit line; every number configurable; optional protections the original lacks.

Rules (the original's, evaluated on the close of every bar; market orders fill at the next bar's open):

1. Entry: flat, LONG >= `trade_start_level` and SHORT < `short_veto_level` (the original: SHORT == 0, spot long
   only) and the memory is not stale: buy `start_allocation_pct` % of the account value. `level_basis`: 'all'
   compares LONG/SHORT as published (the original); 'active' (default) scales them to seven timeframes when
   fewer can be active (on daily bars only 1day and 1week exist), which is the same thing on hourly or finer bars.
2. DCA: stage k (0 = the first add) fires when the P&L vs the average cost is <= `dca_level_<k+1>` (defaults
   -2.5, -5, -10, -20, -30, -40, -50 %; `dca_level_7` repeats for deeper stages), or, for the first
   `dca_signal_stages` stages, when LONG >= k + `dca_signal_offset` while the P&L is
   negative. Size: `dca_multiplier` x the position's current value (x2: the position triples). At most
   `max_dca_buys_per_24h` adds in any rolling 24 h of bar time (a trigger blocked by it is a "24 h cap hit").
3. Exit: no stop loss (unless `stop_loss_pct` > 0). A trailing profit line starts at average cost x
   (1 + `pm_start_pct` %), or `pm_start_pct_after_dca` % after any DCA; once the price is above it, it trails the
   peak by `trailing_gap_pct` % and never drops below its start; sell all when the price crosses it from above.
   The trail restarts after each DCA.
4. Protections (off by default, as in the original): `stop_loss_pct` closes at that loss; `max_capital_at_risk_pct`
   refuses an add that would make the position's cost exceed that % of the equity.

Levels come from the catalog indicator `powertrader_levels` (`memory_dir`: a trained memory folder; empty: the
improved model trains on the bars themselves, walk-forward; `mode`: 'auto', 'compat' or 'improved' memory of
the folder; `alpha`: the improved bounds' tail probability). Staleness (`max_training_age_hours` > 0): the
memory folder's training is older than that at the bar's time -> no new entries (exits and DCA continue).
With `record_events` every decision is recorded in `self.events` (for the DCA risk report).

Parameters (defaults = the original's settings): memory_dir, mode, alpha, trade_start_level (3), level_basis,
short_veto_level (1), start_allocation_pct (0.5), dca_multiplier (2), dca_level_1 (-2.5), dca_level_2 (-5),
dca_level_3 (-10), dca_level_4 (-20), dca_level_5 (-30), dca_level_6 (-40), dca_level_7 (-50), dca_signal_stages (4), dca_signal_offset (4), max_dca_buys_per_24h (2), pm_start_pct
(5), pm_start_pct_after_dca (2.5), trailing_gap_pct (0.5), stop_loss_pct (0 = off), max_capital_at_risk_pct
(0 = off), max_training_age_hours (0 = off), record_events.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from quantdesk.core.errors import ParameterError
from quantdesk.strategies.base import BoolParam, ChoiceParam, FloatParam, Ind, IntParam, Strategy, TextParam

DAY_NS = 86_400 * 1_000_000_000
DEFAULT_LEVELS = (-2.5, -5.0, -10.0, -20.0, -30.0, -40.0, -50.0)


def parse_levels(text: str) -> list[float]:  # the API's ladder takes the levels as one text
    """'-2.5,-5,-10' -> [-2.5, -5.0, -10.0]; each a loss in % (negative), getting deeper."""
    try:
        levels = [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ParameterError(f"parameter 'dca_levels' must be comma-separated numbers, got {text!r}") from None
    if not levels:
        raise ParameterError("parameter 'dca_levels' needs at least one level, e.g. -2.5,-5,-10")
    if any(not (-100 < v < 0) for v in levels):
        raise ParameterError(f"parameter 'dca_levels': every level must be a loss in % between -100 and 0, got {text!r}")
    return levels


class PowerTrader(Strategy):
    """Signal-level entries, DCA adds, trailing-profit exits (the PowerTrader trader)."""

    name = "powertrader"
    description = "PowerTrader: enter on multi-timeframe levels, DCA by loss/signal stages, trailing profit exit."
    params = {
        "memory_dir": TextParam("", description="trained PowerTrader memory folder; empty = self-training walk-forward"),
        "mode": ChoiceParam("auto", ("auto", "compat", "improved"), "which memory of the folder to use"),
        "alpha": FloatParam(0.1, 0.01, 0.49, "improved bounds' tail probability"),
        "trade_start_level": FloatParam(3.0, 0.0, 7.0, "enter at LONG >= this"),
        "level_basis": ChoiceParam("active", ("active", "all"),
                                   "'all': LONG/SHORT as published (original); 'active': scaled to 7 timeframes when "
                                   "fewer can be active (daily bars)"),
        "short_veto_level": FloatParam(1.0, 0.0, 7.0, "no entry while SHORT >= this (original: any SHORT)"),
        "start_allocation_pct": FloatParam(0.5, 0.001, 100.0, "entry size, % of the account value"),
        "dca_multiplier": FloatParam(2.0, 0.0, 100.0, "each add = this x the position's value"),
        **{f"dca_level_{i + 1}": FloatParam(v, -99.9, -0.01, f"P&L % that triggers DCA stage {i + 1}")
           for i, v in enumerate(DEFAULT_LEVELS)},
        "dca_signal_stages": IntParam(4, 0, 50, description="stages that a signal level can also trigger"),
        "dca_signal_offset": IntParam(4, 0, 7, description="stage k also fires at LONG >= k + this (P&L < 0)"),
        "max_dca_buys_per_24h": IntParam(2, 0, 1000, description="rolling 24 h cap on DCA adds"),
        "pm_start_pct": FloatParam(5.0, 0.0, 1000.0, "trailing profit line start above average cost, %"),
        "pm_start_pct_after_dca": FloatParam(2.5, 0.0, 1000.0, "the same after any DCA, %"),
        "trailing_gap_pct": FloatParam(0.5, 0.0, 99.0, "the line trails the peak by this %"),
        "stop_loss_pct": FloatParam(0.0, 0.0, 100.0, "protection: close at this loss % (0 = off, original)"),
        "max_capital_at_risk_pct": FloatParam(0.0, 0.0, 1000.0,
                                              "protection: cap on the position's cost, % of equity (0 = off)"),
        "max_training_age_hours": FloatParam(0.0, 0.0, 1e6, "stale memory blocks entries (0 = off)"),
        "record_events": BoolParam(True, "keep every decision in self.events (for the DCA report)"),
    }

    # the trader's entry level, DCA size and trailing gap; the DCA levels keep their (ordered) defaults
    search_space = {"trade_start_level": "2:5:1", "dca_multiplier": "1:3:1", "trailing_gap_pct": "0.25:1:0.25"}

    @classmethod
    def learns_online(cls, params: Any) -> bool:
        """Without a memory folder the levels' model trains on the bars themselves (research.bias reads this)."""
        return not str(params["memory_dir"]).strip()

    @classmethod
    def validate_params(cls, values: Any) -> dict[str, Any]:
        out = super().validate_params(values)
        levels = [out[f"dca_level_{i + 1}"] for i in range(len(DEFAULT_LEVELS))]
        for i in range(1, len(levels)):
            if levels[i] > levels[i - 1]:
                raise ParameterError(f"powertrader: parameter 'dca_level_{i + 1}' ({levels[i]}) must not be above "
                                     f"dca_level_{i} ({levels[i - 1]}): stages get deeper")
        return out

    def indicators(self) -> dict[str, Ind]:
        return {"pt": Ind("powertrader_levels", memory_dir=self.p.memory_dir, mode=self.p.mode, alpha=self.p.alpha)}

    # ---- state ------------------------------------------------------------------------------------------
    def on_start(self) -> None:
        self.levels = [self.p[f"dca_level_{i + 1}"] for i in range(len(DEFAULT_LEVELS))]
        self.events: list[dict[str, Any]] = []
        self._dca_times: deque[int] = deque()
        self._pending: dict[str, tuple[str, int]] = {}  # client order id -> (kind, stage)
        self._trained_at: float | None = None
        if self.p.max_training_age_hours > 0 and self.p.memory_dir:
            self._trained_at = _trained_at(self.p.memory_dir)
        self._reset()

    def _reset(self) -> None:
        self.stages = 0  # DCA adds filled in this position
        self._reset_trail()

    def _reset_trail(self) -> None:
        self.peak: float | None = None
        self.above = False

    def _event(self, kind: str, **data: Any) -> None:
        if self.p.record_events:
            self.events.append({"ts": self.time, "kind": kind, **data})

    def stale(self) -> bool:
        """The original's rule: a training older than the limit blocks new entries."""
        if self.p.max_training_age_hours <= 0 or not self.p.memory_dir:
            return False
        if self._trained_at is None:
            return True
        return (self.time / 1e9 - self._trained_at) / 3600.0 > self.p.max_training_age_hours

    def trail_line(self, avg: float) -> float:
        pm = self.p.pm_start_pct_after_dca if self.stages > 0 else self.p.pm_start_pct
        start = avg * (1 + pm / 100)
        if self.peak is None:
            return start
        return max(start, self.peak * (1 - self.p.trailing_gap_pct / 100))

    # ---- events -------------------------------------------------------------------------------------------
    def on_fill(self, event: Any) -> None:
        kind, stage = self._pending.pop(event.client_order_id, ("", -1))
        if kind == "dca":
            self.stages = max(self.stages, stage + 1)
            self._reset_trail()
        if self.engine.position_f == 0.0:
            self._reset()

    def on_order_event(self, event: Any) -> None:
        status = getattr(event, "status", None)
        name = getattr(status, "name", str(status)).lower() if status is not None else ""
        if name in ("cancelled", "canceled", "rejected", "expired", "denied"):
            self._pending.pop(getattr(event, "client_order_id", ""), None)

    # ---- per bar --------------------------------------------------------------------------------------------
    def on_bar(self, bar: Any) -> None:
        price = float(bar.close)
        long_level = self.ind.pt.long[-1]
        short_level = self.ind.pt.short[-1]
        if self.p.level_basis == "active":
            active = self.ind.pt.active[-1]
            scale = 7.0 / active if active > 0 else 0.0
            long_level, short_level = long_level * scale, short_level * scale
        if not (long_level == long_level):  # NaN before the bar length is known
            return
        if self.open_orders:
            return
        if self.is_flat:
            if self.stale():
                if long_level >= self.p.trade_start_level:
                    self._event("stale_block", price=price, long=long_level)
                return
            if long_level >= self.p.trade_start_level and short_level < self.p.short_veto_level:
                notional = self.p.start_allocation_pct / 100 * self.equity
                self._buy(notional, "entry", -1, price, long_level)
            return
        if not self.is_long:
            return
        avg_price = self.position.avg_price
        if avg_price is None:
            return
        avg = float(avg_price)
        pnl = (price - avg) / avg * 100
        if self.p.stop_loss_pct > 0 and pnl <= -self.p.stop_loss_pct:
            self._sell(price, pnl, "stop")
            return
        # trailing profit line: active once the price is above its start; sell on a cross from above
        line = self.trail_line(avg)
        if self.above and price < line:
            self._sell(price, pnl, "trail")
            return
        if price >= line:
            self.peak = price if self.peak is None else max(self.peak, price)
            self.above = price >= self.trail_line(avg)
        # DCA
        k = self.stages
        level = self.levels[min(k, len(self.levels) - 1)]
        by_loss = pnl <= level
        by_signal = k < self.p.dca_signal_stages and long_level >= k + self.p.dca_signal_offset and pnl < 0
        if not (by_loss or by_signal):
            return
        now = self.time
        while self._dca_times and self._dca_times[0] <= now - DAY_NS:
            self._dca_times.popleft()
        if len(self._dca_times) >= self.p.max_dca_buys_per_24h:
            self._event("cap_hit", stage=k, price=price, pnl=pnl)
            return
        notional = self.p.dca_multiplier * self.position_size * price
        cost = self.position_size * avg
        if self.p.max_capital_at_risk_pct > 0 and cost + notional > self.p.max_capital_at_risk_pct / 100 * self.equity:
            self._event("risk_cap_block", stage=k, price=price, pnl=pnl, cost=cost, notional=notional)
            return
        if self._buy(notional, "dca", k, price, long_level, pnl=pnl, trigger="loss" if by_loss else "signal"):
            self._dca_times.append(now)

    def _buy(self, notional: float, kind: str, stage: int, price: float, long_level: float, **extra: Any) -> bool:
        fee = float(self.engine.instrument.taker_fee)
        room = self.cash / (1 + fee) * 0.999
        if notional > room:
            self._event("cash_short", stage=stage, wanted=notional, room=room)
            notional = room
        if notional <= 0:
            return False
        order = self.buy(notional=notional, tag=f"pt_{kind}" if stage < 0 else f"pt_dca_{stage + 1}")
        if order is None:
            return False
        self._pending[order.client_order_id] = (kind, stage)
        self._event(kind, stage=stage, price=price, notional=notional, long=long_level, **extra)
        return True

    def _sell(self, price: float, pnl: float, why: str) -> None:
        order = self.close(tag=f"pt_exit_{why}")
        if order is not None:
            self._pending[order.client_order_id] = ("exit", -1)
            self._event("exit", reason=why, price=price, pnl=pnl, stages=self.stages)


def _trained_at(memory_dir: str) -> float | None:
    from datetime import datetime

    from quantdesk.intel.powertrader.training import read_status

    try:
        status = read_status(memory_dir)
    except Exception:  # noqa: BLE001 - an unreadable status is the same as none: stale
        return None
    if not status:
        return None
    stamps = [e.get("trained_at") for e in status.get("timeframes", {}).values()]
    if not stamps or any(not s for s in stamps):
        return None
    return min(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() for s in stamps)
