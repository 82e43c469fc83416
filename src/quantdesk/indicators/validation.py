"""Input checks with clear errors naming the input and the problem, for the catalog's `compute` and for the
pattern and extra kernels: leading NaN are allowed (they shift the warm-up), NaN inside the data are not.

The other kernel families check their own way: the TA-Lib-compatible momentum/volume/volatility/statistic/math/
price kernels with `_kernel_inputs` (no NaN at all: their running sums would carry one forever), the moving
averages, overlap and cycle kernels with `_ma_core.prep` (leading NaN shift the warm-up, as in TA-Lib).
"""

from __future__ import annotations

import numpy as np

from quantdesk.core.errors import DataError, ParameterError


def check_array(values: np.ndarray, *, name: str, indicator: str) -> np.ndarray:
    """Return a contiguous float64 1-D array; refuse NaN/inf inside the data (leading NaN are allowed)."""
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise DataError(f"{indicator}: input {name!r} must be 1-D, got shape {arr.shape}")
    if np.isfinite(np.add.reduce(arr)):  # fast path, no temporary: any NaN/inf makes the sum non-finite
        return arr
    bad = ~np.isfinite(arr)
    if bad.any():
        first_valid = int(np.argmax(~bad)) if (~bad).any() else len(arr)
        inner = np.flatnonzero(bad[first_valid:])
        if inner.size:
            pos = first_valid + int(inner[0])
            raise DataError(
                f"{indicator}: input {name!r} has {inner.size} NaN/inf value(s) inside the data, first at index {pos}"
            )
    return arr


def check_same_length(indicator: str, **arrays: np.ndarray) -> int:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise DataError(f"{indicator}: inputs have different lengths {lengths}")
    return next(iter(lengths.values()), 0)


def check_period(indicator: str, name: str, value: int, minimum: int = 1, maximum: int = 100_000) -> int:
    if isinstance(value, bool) or int(value) != value:
        raise ParameterError(f"{indicator}: parameter {name!r} must be an integer, got {value!r}")
    if not minimum <= value <= maximum:
        raise ParameterError(f"{indicator}: parameter {name!r} must be in [{minimum}, {maximum}], got {value!r}")
    return int(value)
