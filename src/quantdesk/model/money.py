"""Decimal helpers for accounting: money and quantities never drift.

Research arrays hold floats; at the fill boundary a float price is converted with `to_decimal` and rounded
to the instrument's tick. Every amount the portfolio adds up is a Decimal quantised to a fixed exponent, so
sums are exact (the module context has 60 significant digits, far above any realistic amount).
"""

from __future__ import annotations

import decimal
import numbers
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

CONTEXT = decimal.Context(
    prec=60, rounding=ROUND_HALF_EVEN, traps=[decimal.InvalidOperation, decimal.DivisionByZero]
)
ZERO = Decimal(0)
ONE = Decimal(1)

__all__ = ["CONTEXT", "ONE", "ZERO", "Decimal", "quantum", "round_down", "round_nearest", "to_decimal"]

_QUANTA: dict[int, Decimal] = {}


def quantum(precision: int) -> Decimal:
    """`Decimal('1e-precision')`, cached."""
    q = _QUANTA.get(precision)
    if q is None:
        q = _QUANTA[precision] = Decimal(1).scaleb(-precision)
    return q


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """A float becomes the Decimal of its shortest repr (`0.1` -> `Decimal('0.1')`, not the binary expansion).

    numpy scalars are accepted; NaN and infinities are refused (ValueError): money is always finite.
    """
    if isinstance(value, Decimal):
        out = value
    elif isinstance(value, float):  # includes numpy.float64
        out = Decimal(float.__repr__(value))
    elif isinstance(value, (int, str)):
        out = Decimal(value)
    elif isinstance(value, numbers.Integral):
        out = Decimal(int(value))
    elif isinstance(value, numbers.Real):
        out = Decimal(float.__repr__(float(value)))
    else:
        raise TypeError(f"cannot use {value!r} as a number")
    if not out.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return out


def round_nearest(value: Decimal, step: Decimal) -> Decimal:
    """Round to the nearest multiple of `step` (half up)."""
    if step == 1 or (step.as_tuple().digits == (1,)):
        return value.quantize(step, rounding=ROUND_HALF_UP, context=CONTEXT)
    return ((value / step).quantize(ONE, rounding=ROUND_HALF_UP, context=CONTEXT) * step).quantize(
        step, context=CONTEXT
    )


def round_down(value: Decimal, step: Decimal) -> Decimal:
    """Round towards zero to a multiple of `step` (quantities: never more than asked or affordable)."""
    if step.as_tuple().digits == (1,):
        return value.quantize(step, rounding=ROUND_DOWN, context=CONTEXT)
    return ((value / step).quantize(ONE, rounding=ROUND_DOWN, context=CONTEXT) * step).quantize(
        step, context=CONTEXT
    )


def plain(value: Decimal) -> str:
    """Fixed-point text of an amount, as people and JSON readers expect: `0` (not `0E-8`), `0.00012` (not
    `1.2E-4`), trailing zeros of the stored precision kept (`1.50000000`)."""
    if value == 0:
        return "0"
    return format(value, "f")
