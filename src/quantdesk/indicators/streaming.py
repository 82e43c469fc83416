"""Base class for streaming indicators: one bar in, the latest value out.

Paper and live trading feed bars one at a time; the value after each update must equal the batch kernel's
value at the same index (tests check this value for value, warm-up included: NaN while warming up).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

NAN = math.nan


class StreamingIndicator:
    """Subclasses set `inputs` (names of the bar fields they read) and implement `step(*values)`.

    `update(bar)` accepts a Mapping (`{"close": ...}`), any object with attributes `open/high/low/close/volume`
    (e.g. the model's Bar), or a plain number for single-input indicators.
    """

    inputs: ClassVar[tuple[str, ...]] = ("close",)

    def update(self, bar: Any) -> Any:
        if isinstance(bar, (int, float)):
            if len(self.inputs) != 1:
                raise TypeError(f"{type(self).__name__} needs a bar with {self.inputs}, got a number")
            return self.step(float(bar))
        if isinstance(bar, Mapping):
            return self.step(*(float(bar[name]) for name in self.inputs))
        return self.step(*(float(getattr(bar, name)) for name in self.inputs))

    def step(self, *values: float) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError
