"""`buy_and_hold`: buy with all cash on the first bar (fills at the second bar's open) and hold."""

from __future__ import annotations

from quantdesk.strategies.base import Strategy


class BuyAndHold(Strategy):
    name = "buy_and_hold"
    description = "Buy with all available cash at the start and hold to the end."
    params = {}

    def on_bar(self, bar) -> None:
        if self.bar_index == 0:
            self.buy_all_cash()
