"""One instrument of the engine: its bar columns, its cursor, its position cache and the views strategies read."""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.engine.views import Namespace, SeriesView
from quantdesk.model.data import BarView
from quantdesk.model.instrument import Instrument


class Leg:
    """An instrument's bars (`ts`, `o`, `h`, `l`, `c`, `v` columns), its cursor (`view.index` = its own bar index,
    -1 before its first bar), its float position cache, its price and indicator views and streaming indicators.
    A one-instrument engine is the one-leg case of several."""

    __slots__ = ("instrument", "iid", "symbol", "ts", "o", "h", "l", "c", "v", "view", "data", "ind", "streams",
                 "detail", "frame", "position_f", "working")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.iid = instrument.id
        self.symbol = instrument.id.symbol
        self.ts: Any = array("q")
        self.o: Any = array("d")
        self.h: Any = array("d")
        self.l: Any = array("d")  # noqa: E741 - the low column, as o/h/c/v
        self.c: Any = array("d")
        self.v: Any = array("d")
        self.view = BarView(self.iid, self.ts, self.o, self.h, self.l, self.c, self.v)
        self.view.index = -1
        self.data = Namespace()
        self.ind = Namespace()
        self.streams: list[tuple[Any, list[array[float]]]] = []
        self.detail: tuple[list[tuple[Any, ...]], np.ndarray, np.ndarray] | None = None
        self.frame: pd.DataFrame | None = None
        self.position_f = 0.0
        self.working: list[Any] = []  # the venue's working orders of this instrument (bound by the engine)

    @property
    def last_close(self) -> float:
        i = self.view.index
        return float(self.c[i]) if i >= 0 else math.nan

    def load(self, columns: tuple[Any, ...], view: BarView) -> None:
        """Take a whole history at once (backtests): the feed's columns and a view over them."""
        self.ts, self.o, self.h, self.l, self.c, self.v = columns
        self.view = view

    def append(self, ts: int, o: float, h: float, low: float, c: float, v: float) -> None:
        """One new bar (paper and live)."""
        self.ts.append(ts)
        self.o.append(o)
        self.h.append(h)
        self.l.append(low)
        self.c.append(c)
        self.v.append(v)

    def bind_price_views(self) -> None:
        cur = self.view
        self.data = Namespace({name: SeriesView(col, cur, name) for name, col in
                               (("open", self.o), ("high", self.h), ("low", self.l), ("close", self.c),
                                ("volume", self.v))})

    def update_streams(self) -> None:
        """Streaming indicators take the bar the cursor now shows."""
        view = self.view
        for stream, lists in self.streams:
            value = stream.update(view)
            if len(lists) == 1:
                lists[0].append(float(value[0] if isinstance(value, tuple) else value))
            else:
                for lst, x in zip(lists, value, strict=True):
                    lst.append(float(x))


def as_instruments(instrument: Instrument | Sequence[Instrument]) -> list[Instrument]:
    """The engine's instruments: one, or a non-empty sequence without repeats."""
    if isinstance(instrument, Instrument):
        return [instrument]
    out = list(instrument)
    if not out or not all(isinstance(i, Instrument) for i in out):
        raise TypeError("instrument must be an Instrument or a non-empty sequence of Instruments")
    if len({i.id for i in out}) != len(out):
        raise ValueError("the same instrument was given twice")
    return out
