"""`buy_and_hold`: buy with all cash on the first bar where an order can be placed (it fills at the next
bar's open) and hold to the end. "First possible" rather than bar 0, so that a walk-forward test window, whose
warm-up bars accept no orders, still enters."""

from __future__ import annotations

from quantdesk.strategies.base import Strategy


class BuyAndHold(Strategy):
    name = "buy_and_hold"
    description = "Buy with all available cash at the start and hold to the end."
    params = {}

    def on_start(self) -> None:
        self._entered = False

    def on_bar(self, bar) -> None:
        if not self._entered and self.is_flat and not self.open_orders:
            self._entered = self.buy_all_cash() is not None
