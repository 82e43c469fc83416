"""What defines a paper bot (`BotSpec`, stored as `bots.config`) and the candles it replays.

A bot's spec is the run (quantdesk.engine.spec.RunSpec: strategy, params, instruments, costs, margin, risk) plus
its own part (name, feed, pacing, replay window); it turns into the backtest of the same run and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from quantdesk.engine.spec import RunSpec
from quantdesk.paper.feeds import make_feed


@dataclass
class BotSpec:
    """Everything that defines a paper bot (stored as `bots.config`)."""

    name: str
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    symbols: list[str] = field(default_factory=lambda: ["BTC/USDT"])
    timeframe: str = "1m"
    exchange: str | None = None
    start: str | None = None
    end: str | None = None
    cash: float = 10_000.0
    fee: float = 0.001
    maker_fee: float | None = None
    slippage_bps: float = 0.0
    margin: bool = False
    risk: dict[str, Any] | None | bool = True  # True = the configured settings.risk; False/None = no rules
    feed: str = "replay"
    speed: Any = "max"
    bar_sleep: float = 0.0
    price_precisions: dict[str, int] = field(default_factory=dict)  # filled at creation from the data

    def to_config(self) -> dict[str, Any]:
        return asdict(self)

    def run_spec(self) -> RunSpec:
        """The run this bot is (quantdesk.engine.spec): `risk=True` means the configured limits."""
        risk: dict[str, Any] | None
        if self.risk is True:
            from quantdesk.core.config import get_settings

            settings: Any = get_settings()  # the composed quantdesk.settings.Settings (it adds `risk`)
            risk = settings.risk.model_dump(mode="json")
        else:
            risk = dict(self.risk) if isinstance(self.risk, dict) else None
        return RunSpec(strategy=self.strategy, params=dict(self.params), symbols=tuple(self.symbols),
                       exchange=self.exchange, timeframe=self.timeframe, cash=self.cash, fee=self.fee,
                       maker_fee=self.maker_fee, slippage_bps=self.slippage_bps, margin=self.margin, risk=risk,
                       price_precisions=dict(self.price_precisions))

    def to_backtest_config(self) -> Any:
        """The backtest of this bot's run over its replay window: the same orders on the same bars."""
        from quantdesk.backtest.config import BacktestConfig

        return BacktestConfig.from_run(self.run_spec(), start=self.start, end=self.end)

    @classmethod
    def from_run(cls, run: RunSpec, name: str, **paper: Any) -> BotSpec:
        """A paper bot of `run`; `paper`: its own part (feed, speed, start, end...)."""
        return cls(name=name, strategy=run.strategy, params=dict(run.params), symbols=list(run.symbols),
                   timeframe=run.timeframe, exchange=run.exchange, cash=run.cash, fee=run.fee,
                   maker_fee=run.maker_fee, slippage_bps=run.slippage_bps, margin=run.margin,
                   risk=dict(run.risk) if run.risk is not None else None,
                   price_precisions=dict(run.price_precisions), **paper)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> BotSpec:
        known = {k: v for k, v in cfg.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def load_frames(spec: BotSpec) -> dict[str, pd.DataFrame]:
    """The replay candles of every symbol (quantdesk.data.load, start/end inclusive)."""
    from quantdesk import data as qdata

    if spec.feed != "replay":
        make_feed(spec.feed)  # raises a clear error naming what the feed needs
    return {s: qdata.load(s, spec.timeframe, spec.exchange, spec.start, spec.end) for s in spec.symbols}
