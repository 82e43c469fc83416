"""Base classes for streaming indicators: one bar in, the latest value out. `FastStreaming` adds a fast path
for plain dict bars (what paper and live trading feed).

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
    # (Callable[..., Any]: getters are not descriptors, so `self._by_key(bar)` passes the bar alone)
    _by_key: ClassVar[Callable[..., Any]] = itemgetter("close")
    _by_attr: ClassVar[Callable[..., Any]] = attrgetter("close")
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

    # Every subclass defines `step(self, <one float per input>)`: the arity differs per indicator, so the base
    # declares the attribute (a base method `step(*values)` would make each override a signature mismatch).
    step: Callable[..., Any]


def _dict_update(inputs: tuple[str, ...]) -> Callable[[Any, Any], Any]:
    """`update(bar)` specialised for the number of inputs: a plain dict is read key by key (no itemgetter tuple,
    no map/star-call); anything else goes through the generic base-class path (same semantics)."""
    base = StreamingIndicator.update
    if len(inputs) == 1:
        (k0,) = inputs

        def update(self, bar):
            t = type(bar)
            if t is dict:
                return self.step(float(bar[k0]))
            if t is float:
                return self.step(bar)
            return base(self, bar)

    elif len(inputs) == 2:
        k0, k1 = inputs

        def update(self, bar):
            if type(bar) is dict:
                return self.step(float(bar[k0]), float(bar[k1]))
            return base(self, bar)

    elif len(inputs) == 3:
        k0, k1, k2 = inputs

        def update(self, bar):
            if type(bar) is dict:
                return self.step(float(bar[k0]), float(bar[k1]), float(bar[k2]))
            return base(self, bar)

    elif len(inputs) == 4:
        k0, k1, k2, k3 = inputs

        def update(self, bar):
            if type(bar) is dict:
                return self.step(float(bar[k0]), float(bar[k1]), float(bar[k2]), float(bar[k3]))
            return base(self, bar)

    else:
        get = itemgetter(*inputs)

        def update(self, bar):
            if type(bar) is dict:
                return self.step(*map(float, get(bar)))
            return base(self, bar)

    update._generated = True  # type: ignore[attr-defined]
    return update


class FastStreaming(StreamingIndicator):
    """StreamingIndicator with a fast path for plain dict bars (same semantics as the base `update`).

    Streaming bundles must cost a few microseconds per bar in total, so the per-call dispatch matters:
    `isinstance(bar, Mapping)` and a generator of float() calls cost more than most `step` bodies. Each
    subclass gets an `update` specialised for its number of inputs (unless it defines its own).
    """

    _get: Callable[[Any], Any] = staticmethod(itemgetter("close"))
    _single = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._get = staticmethod(itemgetter(*cls.inputs))
        cls._single = len(cls.inputs) == 1
        own = next(k.__dict__["update"] for k in cls.__mro__ if "update" in k.__dict__)
        if own is FastStreaming.__dict__["update"] or getattr(own, "_generated", False):
            # this subclass's own update, specialised at class creation (not overridden by hand below us)
            cls.update = _dict_update(cls.inputs)  # type: ignore[method-assign,assignment]

    def update(self, bar: Any) -> Any:
        if type(bar) is dict:
            if self._single:
                return self.step(float(self._get(bar)))
            return self.step(*map(float, self._get(bar)))
        return StreamingIndicator.update(self, bar)
