"""Price transforms, TA-Lib exact: AVGPRICE, MEDPRICE, TYPPRICE, WCLPRICE (overlays drawn on price)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from quantdesk.indicators._kernel_inputs import finite_or_raise, shaped
from quantdesk.indicators.registry import IndicatorSpec, InputName, register
from quantdesk.indicators.streaming import FastStreaming

__all__ = ["avgprice", "medprice", "typprice", "wclprice", "AVGPRICE", "MEDPRICE", "TYPPRICE", "WCLPRICE"]


# Each kernel also returns the sum of out - out (0.0 unless some input was NaN/inf: a non-finite input makes
# the output non-finite), so the inputs are read once; `finite_or_raise` turns a non-zero total into the
# usual DataError. (Only an overflowing sum could make it non-zero with finite inputs; the full check then
# finds nothing and the result stands.)


@njit(cache=True)
def _avgprice(o, h, lo, c):
    n = o.shape[0]
    out = np.empty(n)
    acc = 0.0
    for i in range(n):
        v = (o[i] + h[i] + lo[i] + c[i]) / 4
        out[i] = v
        acc += v - v
    return out, acc


@njit(cache=True)
def _medprice(h, lo):
    n = h.shape[0]
    out = np.empty(n)
    acc = 0.0
    for i in range(n):
        v = (h[i] + lo[i]) / 2.0
        out[i] = v
        acc += v - v
    return out, acc


@njit(cache=True)
def _typprice(h, lo, c):
    n = h.shape[0]
    out = np.empty(n)
    acc = 0.0
    for i in range(n):
        v = (h[i] + lo[i] + c[i]) / 3.0
        out[i] = v
        acc += v - v
    return out, acc


@njit(cache=True)
def _wclprice(h, lo, c):
    n = h.shape[0]
    out = np.empty(n)
    acc = 0.0
    for i in range(n):
        v = (h[i] + lo[i] + (c[i] * 2.0)) / 4.0
        out[i] = v
        acc += v - v
    return out, acc


def avgprice(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:  # noqa: A002
    """Average price: (open + high + low + close) / 4."""
    out, acc = _avgprice(*shaped("avgprice", open=open, high=high, low=low, close=close))
    finite_or_raise(acc, "avgprice", open=open, high=high, low=low, close=close)
    return out


def medprice(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Median price: (high + low) / 2."""
    out, acc = _medprice(*shaped("medprice", high=high, low=low))
    finite_or_raise(acc, "medprice", high=high, low=low)
    return out


def typprice(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Typical price: (high + low + close) / 3."""
    out, acc = _typprice(*shaped("typprice", high=high, low=low, close=close))
    finite_or_raise(acc, "typprice", high=high, low=low, close=close)
    return out


def wclprice(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Weighted close price: (high + low + 2 x close) / 4."""
    out, acc = _wclprice(*shaped("wclprice", high=high, low=low, close=close))
    finite_or_raise(acc, "wclprice", high=high, low=low, close=close)
    return out


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


# (name, inputs, batch kernel, streaming class, description)
_TRANSFORMS: tuple[tuple[str, tuple[InputName, ...], Callable[..., np.ndarray], type[FastStreaming], str], ...] = (
    ("avgprice", ("open", "high", "low", "close"), avgprice, AVGPRICE,
     "Average price: the mean of open, high, low and close."),
    ("medprice", ("high", "low"), medprice, MEDPRICE, "Median price: the midpoint of the bar's high and low."),
    ("typprice", ("high", "low", "close"), typprice, TYPPRICE,
     "Typical price: the mean of high, low and close (used by CCI and MFI)."),
    ("wclprice", ("high", "low", "close"), wclprice, WCLPRICE,
     "Weighted close: (high + low + 2 x close) / 4, a bar's price with extra weight on the close."),
)  # fmt: skip
for _name, _inputs, _kernel, _cls, _desc in _TRANSFORMS:
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
