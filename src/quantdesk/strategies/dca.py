"""`dca`: dollar-cost-averaging ladder with a 24 h buy cap and a trailing take-profit, long only.

Idea: enter with a base order, then buy more at deeper drawdowns from the first entry price (the reference),
each ladder order larger than the previous one, so the average entry falls faster than the price; exit the
whole position with a trailing take-profit once the price has recovered above the average entry.

Rules, evaluated on the close of every bar (market orders fill at the next bar's open):

1. Flat: buy the base order, notional `base_order` (quote currency) or, when that is 0, `base_order_pct` % of
   the equity. Its fill price becomes the reference price `ref`.
2. Ladder: levels (percent below `ref`) are `first_level_pct x level_scale**k` for k = 0 .. max_levels-1
   (defaults: 2, 4, 8, 16 %). Level k is bought once, in order, when close <= ref x (1 - level_k / 100); its
   notional is base x multiplier**(k+1) (defaults: x1.5, x2.25, x3.375, x5.06). At most one ladder order per
   bar (a gap through several levels buys them on consecutive bars).
3. Cap: at most `max_buys_per_24h` buy orders (base + ladder) submitted within any rolling 24 hours of bar time;
   a level reached while the cap is full is bought on a later bar if the price is still at or below it.
4. Trailing take-profit: once close >= avg_entry x (1 + tp_activate_pct / 100) the trail is active; from then
   on `peak` = highest close since activation, and the position is closed when close <= peak x
   (1 - trail_pct / 100). After the exit the cycle restarts at rule 1 on the next bar.

Order notionals are capped at the available cash (net of the taker fee); a capped order below 1 % of the base
is skipped.

Parameters:
    base_order (float, 0.0, 0..1e12): base order notional in quote currency; 0 = use base_order_pct.
    base_order_pct (float, 5.0, 0.1..100): base order as % of equity (when base_order is 0).
    first_level_pct (float, 2.0, 0.1..90): first ladder level, % below the reference price.
    level_scale (float, 2.0, 1.0..10): each next level is this times deeper; must be > 1 when max_levels > 1.
    max_levels (int, 4, 0..20): number of ladder levels (0 = base order only); the deepest must be < 100 %.
    multiplier (float, 1.5, 1.0..10): size multiplier per level.
    max_buys_per_24h (int, 3, 1..1000): rolling 24 h cap on buy orders.
    tp_activate_pct (float, 3.0, 0.1..1000): trail activates this % above the average entry.
    trail_pct (float, 1.0, 0.1..99): exit when the close falls this % from the highest close since activation.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from quantdesk.core.errors import ParameterError
from quantdesk.strategies.base import FloatParam, IntParam, Strategy

DAY_NS = 86_400 * 1_000_000_000


class Dca(Strategy):
    """Laddered dollar-cost averaging with a 24 h buy cap and a trailing take-profit."""

    name = "dca"
    description = (
        "DCA ladder: buy more at 2/4/8/16 % drawdowns (x1.5 each), 24 h buy cap, trailing take-profit."
    )
    params = {
        "base_order": FloatParam(
            0.0, 0.0, 1e12, description="base order notional (quote); 0 = use base_order_pct"
        ),
        "base_order_pct": FloatParam(5.0, 0.1, 100.0, description="base order as % of equity"),
        "first_level_pct": FloatParam(
            2.0, 0.1, 90.0, description="first ladder level, % below the reference"
        ),
        "level_scale": FloatParam(2.0, 1.0, 10.0, description="each next level is this times deeper"),
        "max_levels": IntParam(4, 0, 20, description="number of ladder levels"),
        "multiplier": FloatParam(1.5, 1.0, 10.0, description="size multiplier per level"),
        "max_buys_per_24h": IntParam(3, 1, 1000, description="rolling 24 h cap on buy orders"),
        "tp_activate_pct": FloatParam(3.0, 0.1, 1000.0, description="trail activates this % above avg entry"),
        "trail_pct": FloatParam(
            1.0, 0.1, 99.0, description="exit this % below the highest close since activation"
        ),
    }
    search_space = {"first_level_pct": "1:5:1", "level_scale": "1.5:2.5:0.5", "tp_activate_pct": "1:5:1"}

    @classmethod
    def validate_params(cls, values: Any) -> dict[str, Any]:
        out = super().validate_params(values)
        n = out["max_levels"]
        if n > 1 and out["level_scale"] <= 1.0:
            raise ParameterError(
                f"dca: parameter 'level_scale' ({out['level_scale']}) must be > 1 when max_levels > 1 "
                "(levels must get deeper)"
            )
        if n > 0:
            deepest = out["first_level_pct"] * out["level_scale"] ** (n - 1)
            if deepest >= 100.0:
                raise ParameterError(
                    f"dca: parameter 'max_levels' ({n}) gives a deepest level of {deepest:g} % (must be < 100 %; "
                    "lower max_levels, first_level_pct or level_scale)"
                )
        return out

    @classmethod
    def levels_of(cls, p: Any) -> list[float]:
        """Ladder levels in percent below the reference price."""
        return [p["first_level_pct"] * p["level_scale"] ** k for k in range(p["max_levels"])]

    def on_start(self) -> None:
        self._eng = self.engine
        self.levels = self.levels_of(self.p)
        self._buys: deque[int] = deque()  # submission times (ns) of buy orders in the last 24 h
        self._kind: dict[str, int] = {}  # client order id -> -1 base, k ladder level
        self._reset()

    def _reset(self) -> None:
        self.ref: float | None = None
        self.base: float = 0.0
        self.filled_levels = 0
        self.trailing = False
        self.peak = 0.0

    # ---- orders -------------------------------------------------------------------------------------
    def _cap_ok(self, now: int) -> bool:
        buys = self._buys
        while buys and buys[0] <= now - DAY_NS:
            buys.popleft()
        return len(buys) < self.p.max_buys_per_24h

    def _buy(self, notional: float, kind: int, now: int) -> None:
        fee = float(self._eng.instrument.taker_fee)
        room = self.cash / (1.0 + fee) * 0.9999
        if notional > room:
            notional = room
        if notional <= 0.01 * self.base or notional <= 0:
            return
        order = self.buy(notional=notional, tag="dca_base" if kind < 0 else f"dca_level_{kind + 1}")
        if order is not None:
            self._buys.append(now)
            self._kind[order.client_order_id] = kind

    def on_fill(self, event) -> None:
        kind = self._kind.pop(event.client_order_id, None)
        if kind is None:
            if self._eng.position_f == 0.0:
                self._reset()  # the exit filled: next cycle
            return
        if kind < 0:
            self.ref = float(event.price)
        else:
            self.filled_levels = max(self.filled_levels, kind + 1)

    # ---- per bar ------------------------------------------------------------------------------------
    def on_bar(self, bar) -> None:
        eng = self._eng
        close = eng.last_close
        if not close > 0:
            return
        now = self.time
        pos = eng.position_f
        if pos == 0.0:
            if self.ref is None and not self.open_orders and self._cap_ok(now):
                self.base = self.p.base_order or self.p.base_order_pct / 100.0 * self.equity
                self._buy(self.base, -1, now)
            return
        if pos < 0.0 or self.ref is None:
            return
        # trailing take-profit on the average entry
        avg_price = self.position.avg_price
        assert avg_price is not None  # a long position (pos > 0 here) has an average price
        avg = float(avg_price)
        if not self.trailing and close >= avg * (1.0 + self.p.tp_activate_pct / 100.0):
            self.trailing = True
            self.peak = close
        if self.trailing:
            if close > self.peak:
                self.peak = close
            if close <= self.peak * (1.0 - self.p.trail_pct / 100.0):
                if not self.open_orders:
                    self.close(tag="dca_take_profit")
                return
        # ladder
        k = self.filled_levels
        if k < len(self.levels) and close <= self.ref * (1.0 - self.levels[k] / 100.0):
            if not self.open_orders and self._cap_ok(now):
                self._buy(self.base * self.p.multiplier ** (k + 1), k, now)
