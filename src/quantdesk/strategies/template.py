"""The file `quantdesk strategy new NAME` writes: a complete strategy that runs as it is, to edit."""

from __future__ import annotations

import re

from quantdesk.core.errors import ParameterError

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

TEMPLATE = '''"""{name}: {summary}

Run it:     quantdesk backtest --strategy {name} --symbol BTC/USDT --timeframe 1h
Optimise:   quantdesk optimize --strategy {name} --symbol BTC/USDT --timeframe 1h --out runs/{name}-opt
Paper:      quantdesk paper --strategy {name} --symbol BTC/USDT --timeframe 1m --bot-name {name}
The Strategy API (orders, brackets, sizing, several instruments) is documented in quantdesk/strategies/base.py.
"""

from quantdesk.strategies.base import FloatParam, Ind, IntParam, Strategy


class {cls}(Strategy):
    """{summary}"""

    name = "{name}"                       # --strategy {name}
    params = {{                           # default, minimum, maximum: validated, read as self.p.<name>
        "fast": IntParam(10, 2, 200, description="fast SMA period"),
        "slow": IntParam(30, 3, 500, description="slow SMA period"),
        "stop_pct": FloatParam(5.0, 0.1, 50.0, description="stop-loss below the entry, in %"),
    }}
    search_space = {{"fast": "5:30:5", "slow": "20:120:20"}}   # what `quantdesk optimize` searches by default
    search_constraints = ("slow>fast",)
    plot_config = {{"main": ["fast", "slow"]}}                # drawn on the bot's chart in the dashboard

    def indicators(self):                 # catalog indicators: batch in backtests, streaming in paper/live
        return {{"fast": Ind("sma", period=self.p.fast), "slow": Ind("sma", period=self.p.slow)}}

    def on_bar(self, bar):                # on the close of each bar; [-1] = now, [-2] = the bar before
        fast, slow = self.ind.fast, self.ind.slow
        # during the warm-up the values are NaN (like TA-Lib) and every comparison below is False
        crossed_up = fast[-2] <= slow[-2] and fast[-1] > slow[-1]
        crossed_down = fast[-2] >= slow[-2] and fast[-1] < slow[-1]
        if crossed_up and self.is_flat:
            # market order, filled at the next bar's open; the risk engine sizes it to its limits
            self.buy_all_cash(stop_loss=bar.close * (1 - self.p.stop_pct / 100), tag="sma_cross_up")
        elif crossed_down and self.is_long:
            self.close()
'''


def render(name: str, summary: str = "") -> str:
    """The source of a new strategy called `name` (lower-case letters, digits and _)."""
    if not NAME_RE.match(name):
        raise ParameterError(f"strategy name {name!r}: use lower-case letters, digits and _ (e.g. my_sma)")
    cls = "".join(part.capitalize() for part in name.split("_")) or "MyStrategy"
    summary = summary or "buy when the fast SMA crosses above the slow one, with a stop-loss; sell on the cross down."
    return TEMPLATE.format(name=name, cls=cls, summary=summary)
