"""What a run of the engine produced: a record the backtest runner and the reports read, so nothing outside the
engine reads its internals, and the equity curve computed from the fill snapshots."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quantdesk.engine.portfolio import RoundTrip
from quantdesk.model.orders import Order


@dataclass
class EngineResult:
    """`timeline`: the steps' timestamps (UTC ns); `equity`: cash + positions at each step's closes;
    `orders`/`trips`: every order and round trip; `events`: risk decisions, halts, strategy errors;
    `indicator_series`/`indicator_owner`: batch indicator values and the instrument each belongs to;
    `denied`/`resized`: the risk engine's decisions by rule; `last_close`: each instrument's last price."""

    timeline: np.ndarray
    equity: np.ndarray
    orders: list[Order]
    trips: list[RoundTrip]
    events: list[dict[str, Any]]
    indicator_series: dict[str, np.ndarray] = field(default_factory=dict)
    indicator_owner: dict[str, Any] = field(default_factory=dict)
    denied: dict[str, int] = field(default_factory=dict)
    resized: dict[str, int] = field(default_factory=dict)
    last_close: dict[Any, float] = field(default_factory=dict)


class FillSnapshots:
    """The account after every fill: `step[i]`, `cash[i]` and the positions of every leg
    (`position[i * legs:(i + 1) * legs]`). Typed arrays, so a run with many fills adds no object for the garbage
    collector to trace."""

    __slots__ = ("step", "cash", "position")

    def __init__(self) -> None:
        self.step = array("q")
        self.cash = array("d")
        self.position = array("d")

    def __len__(self) -> int:
        return len(self.step)

    def record(self, step: int, cash: float, legs: Sequence[Any]) -> None:
        """The account after a fill of `step`: its cash and every leg's `position_f`."""
        self.step.append(step)
        self.cash.append(cash)
        if len(legs) == 1:
            self.position.append(legs[0].position_f)
        else:
            self.position.extend([leg.position_f for leg in legs])


def equity_curve(timeline: Any, legs: Sequence[Any], snaps: FillSnapshots, starting_cash: float) -> np.ndarray:
    """cash + sum(position x last close) after every step. `snaps` are the account after fills (the last one of a
    step wins); before a leg's first bar its mark is 0 (it has no position then)."""
    tl = np.frombuffer(timeline, dtype=np.int64) if len(timeline) else np.zeros(0, np.int64)
    n = len(tl)
    cash = np.full(n, starting_cash)
    pos = np.zeros((n, len(legs)))
    if len(snaps) and n:
        idx = np.frombuffer(snaps.step, dtype=np.int64)
        row = np.full(n, -1, dtype=np.int64)
        row[idx] = np.arange(len(idx))  # last snapshot of a step wins
        row = np.maximum.accumulate(row)
        has = row >= 0
        cash[has] = np.frombuffer(snaps.cash, dtype=np.float64)[row[has]]
        pos[has] = np.frombuffer(snaps.position, dtype=np.float64).reshape(len(idx), len(legs))[row[has]]
    equity = cash
    for j, leg in enumerate(legs):
        close = np.asarray(leg.c, dtype=np.float64)
        if len(legs) == 1 and len(close) == n:  # one instrument: its bars are the timeline
            mark = close
        else:
            ts = np.frombuffer(leg.ts, dtype=np.int64) if len(leg.ts) else np.zeros(0, np.int64)
            at = np.searchsorted(ts, tl, side="right") - 1  # this instrument's last bar at each step
            mark = np.where(at >= 0, close[np.maximum(at, 0)] if len(close) else 0.0, 0.0)
        equity = equity + pos[:, j] * mark
    return equity
