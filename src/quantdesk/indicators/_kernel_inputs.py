"""Input and parameter checks for the TA-Lib-compatible kernels (momentum, volume, volatility, statistic, math,
price transform): kernels are thin Python wrappers that check their inputs and parameters with these, then call
an `@njit` core. Errors name the indicator, the input or parameter, and the problem.
"""

from __future__ import annotations

import math

import numpy as np

from quantdesk.core.errors import DataError, ParameterError

NAN = math.nan
MAX_PERIOD = 100_000


def arrays(indicator: str, **named: np.ndarray) -> list[np.ndarray]:
    """Validate inputs (1-D float64, finite everywhere, equal lengths) and return them in order.

    Unlike `validation.check_array`, leading NaN are refused too: TA-Lib-style running sums would carry them
    into every later value."""
    out = []
    length = None
    for name, values in named.items():
        arr = np.ascontiguousarray(values, dtype=np.float64)
        if arr.ndim != 1:
            raise DataError(f"{indicator}: input {name!r} must be 1-D, got shape {arr.shape}")
        if length is None:
            length = len(arr)
        elif len(arr) != length:
            lengths = {k: len(np.asarray(v)) for k, v in named.items()}
            raise DataError(f"{indicator}: inputs have different lengths {lengths}")
        with np.errstate(over="ignore", invalid="ignore"):
            total = float(arr.sum())
        if math.isfinite(total):  # any NaN/inf makes the sum non-finite (fast, no temporary)
            out.append(arr)
            continue
        finite = np.isfinite(arr)  # the sum may also have overflowed: check exactly
        if not finite.all():
            bad = int(np.argmin(finite))
            count = int((~finite).sum())
            raise DataError(
                f"{indicator}: input {name!r} has {count} NaN/inf value(s) inside the data, first at index {bad}"
            )
        out.append(arr)
    return out


def shaped(indicator: str, **named: np.ndarray) -> list[np.ndarray]:
    """The cheap half of `arrays`: 1-D contiguous float64 inputs of equal length, no pass over the values.

    For memory-bound kernels that check finiteness themselves while computing (they accumulate `v - v`, which
    is 0.0 for every finite v and NaN otherwise, and hand the total to `finite_or_raise`): one pass over the
    data instead of two."""
    out = []
    length = None
    for name, values in named.items():
        arr = np.ascontiguousarray(values, dtype=np.float64)
        if arr.ndim != 1:
            raise DataError(f"{indicator}: input {name!r} must be 1-D, got shape {arr.shape}")
        if length is None:
            length = len(arr)
        elif len(arr) != length:
            lengths = {k: len(np.asarray(v)) for k, v in named.items()}
            raise DataError(f"{indicator}: inputs have different lengths {lengths}")
        out.append(arr)
    return out


def finite_or_raise(acc: float, indicator: str, **named: np.ndarray) -> None:
    """After a fused kernel: `acc` (sum of v - v over the inputs) is 0.0 unless some value was NaN/inf; then
    run the full `arrays` check, which raises the same DataError as the unfused kernels."""
    if acc != 0.0 or acc != acc:
        arrays(indicator, **named)


def period(indicator: str, name: str, value: object, minimum: int = 2, maximum: int = MAX_PERIOD) -> int:
    """Range-check an integer parameter, naming it in the error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)):
        raise ParameterError(f"{indicator}: parameter {name!r} must be an integer, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ParameterError(f"{indicator}: parameter {name!r} must be an integer, got {value!r}")
    value = int(value)
    if not minimum <= value <= maximum:
        raise ParameterError(
            f"{indicator}: parameter {name!r} must be in [{minimum}, {maximum}], got {value!r}"
        )
    return value


def real(
    indicator: str, name: str, value: object, minimum: float = -3.0e37, maximum: float = 3.0e37
) -> float:
    """Range-check a float parameter, naming it in the error."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParameterError(f"{indicator}: parameter {name!r} must be a number, got {value!r}") from None
    if not math.isfinite(v) or not minimum <= v <= maximum:
        raise ParameterError(
            f"{indicator}: parameter {name!r} must be in [{minimum}, {maximum}], got {value!r}"
        )
    return v
