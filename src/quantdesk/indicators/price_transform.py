"""Price transforms, TA-Lib exact: AVGPRICE, MEDPRICE, TYPPRICE, WCLPRICE (overlays drawn on price)."""

from __future__ import annotations

import numpy as np
from numba import njit

from quantdesk.indicators._b_common import FastStreaming, arrays
from quantdesk.indicators.registry import IndicatorSpec, register

__all__ = ["avgprice", "medprice", "typprice", "wclprice", "AVGPRICE", "MEDPRICE", "TYPPRICE", "WCLPRICE"]


@njit(cache=True)
def _avgprice(o, h, lo, c):
    n = o.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = (o[i] + h[i] + lo[i] + c[i]) / 4
    return out


@njit(cache=True)
def _medprice(h, lo):
    n = h.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = (h[i] + lo[i]) / 2.0
    return out


@njit(cache=True)
def _typprice(h, lo, c):
    n = h.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = (h[i] + lo[i] + c[i]) / 3.0
    return out


@njit(cache=True)
def _wclprice(h, lo, c):
    n = h.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = (h[i] + lo[i] + (c[i] * 2.0)) / 4.0
    return out


def avgprice(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:  # noqa: A002
    """Average price: (open + high + low + close) / 4."""
    return _avgprice(*arrays("avgprice", open=open, high=high, low=low, close=close))


def medprice(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Median price: (high + low) / 2."""
    return _medprice(*arrays("medprice", high=high, low=low))


def typprice(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Typical price: (high + low + close) / 3."""
    return _typprice(*arrays("typprice", high=high, low=low, close=close))


def wclprice(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Weighted close price: (high + low + 2 x close) / 4."""
    return _wclprice(*arrays("wclprice", high=high, low=low, close=close))


class AVGPRICE(FastStreaming):
    inputs = ("open", "high", "low", "close")

    def step(self, open_: float, high: float, low: float, close: float) -> float:
        return (open_ + high + low + close) / 4


class MEDPRICE(FastStreaming):
    inputs = ("high", "low")

    def step(self, high: float, low: float) -> float:
        return (high + low) / 2.0


class TYPPRICE(FastStreaming):
    inputs = ("high", "low", "close")

    def step(self, high: float, low: float, close: float) -> float:
        return (high + low + close) / 3.0


class WCLPRICE(FastStreaming):
    inputs = ("high", "low", "close")

    def step(self, high: float, low: float, close: float) -> float:
        return (high + low + (close * 2.0)) / 4.0


for _name, _inputs, _kernel, _cls, _desc in (
    ("avgprice", ("open", "high", "low", "close"), avgprice, AVGPRICE,
     "Average price: the mean of open, high, low and close."),
    ("medprice", ("high", "low"), medprice, MEDPRICE, "Median price: the midpoint of the bar's high and low."),
    ("typprice", ("high", "low", "close"), typprice, TYPPRICE,
     "Typical price: the mean of high, low and close (used by CCI and MFI)."),
    ("wclprice", ("high", "low", "close"), wclprice, WCLPRICE,
     "Weighted close: (high + low + 2 x close) / 4, a bar's price with extra weight on the close."),
):  # fmt: skip
    register(
        IndicatorSpec(
            name=_name,
            group="price_transform",
            inputs=_inputs,
            params=(),
            outputs=(_name,),
            kernel=_kernel,
            description=_desc,
            streaming=_cls,
            talib=_name.upper(),
            talib_params={},
            overlay=True,
        )
    )
