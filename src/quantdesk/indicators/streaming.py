"""Base class for streaming indicators: one bar in, the latest value out.

Paper and live trading feed bars one at a time; the value after each update must equal the batch kernel's
value at the same index (tests check this value for value, warm-up included: NaN while warming up).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from operator import attrgetter, itemgetter
from typing import Any, ClassVar

NAN = math.nan


class StreamingIndicator:
    """Subclasses set `inputs` (names of the bar fields they read) and implement `step(*values)`.

    `update(bar)` accepts a Mapping (`{"close": ...}`), any object with attributes `open/high/low/close/volume`
    (e.g. the model's Bar), or a plain number for single-input indicators.
    """

    inputs: ClassVar[tuple[str, ...]] = ("close",)
    # Getters built once per subclass: per-bar dispatch must cost well under a microsecond, because a
    # bundle of indicators is updated on every bar in paper/live trading.
    _by_key: ClassVar[Callable[[Any], Any]] = itemgetter("close")
    _by_attr: ClassVar[Callable[[Any], Any]] = attrgetter("close")
    _single: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._by_key = itemgetter(*cls.inputs)
        cls._by_attr = attrgetter(*cls.inputs)
        cls._single = len(cls.inputs) == 1

    def update(self, bar: Any) -> Any:
        kind = type(bar)
        if kind is float or kind is int or isinstance(bar, (int, float)):
            if not self._single:
                raise TypeError(f"{type(self).__name__} needs a bar with {self.inputs}, got a number")
            return self.step(float(bar))
        values = self._by_key(bar) if kind is dict or isinstance(bar, Mapping) else self._by_attr(bar)
        if self._single:
            return self.step(float(values))
        return self.step(*map(float, values))

    def step(self, *values: float) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError
