"""The views a strategy reads: price and indicator series up to the current bar, and indicator declarations.

They live in the engine, which moves their cursor; the Strategy API (quantdesk.strategies.base) re-exports them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Ind:
    """Declare a catalog indicator: `Ind("rsi", period=14)`."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def __init__(self, name: str, **params: Any) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "params", params)


class Cursor(Protocol):
    """What a view follows: the engine's BarView (`index` is the current bar)."""

    index: int


class SeriesView:
    """Values of one series up to the current bar. `[-1]` now, `[-2]` previous, `[k >= 0]` from the start.

    Never exposes the future: positions after the current bar raise IndexError (also in backtests, where the
    whole array is precomputed). Looking back past the first bar gives NaN, like an indicator's warm-up values
    (TA-Lib's convention), so `fast[-2] <= slow[-2]` on the first bar is simply False instead of an error.
    """

    __slots__ = ("_data", "_cursor", "name")

    def __init__(self, data: Sequence[float], cursor: Cursor, name: str = "") -> None:
        self._data = data  # a list, an array.array("d") or a float numpy array
        self._cursor = cursor  # any object with `.index` (the engine's BarView)
        self.name = name

    def __getitem__(self, k: int) -> float:
        i = self._cursor.index
        if k < 0:
            j = i + 1 + k
            return self._data[j] if j >= 0 else math.nan
        if k > i:
            raise IndexError(f"{self.name}[{k}] is in the future (current bar index {i})")
        return self._data[k]

    def __len__(self) -> int:
        return self._cursor.index + 1

    def __float__(self) -> float:
        return float(self._data[self._cursor.index])

    @property
    def value(self) -> float:
        return self._data[self._cursor.index]

    @property
    def values(self) -> Sequence[float]:
        """A copy of the values up to and including the current bar."""
        return self._data[: self._cursor.index + 1]

    def tail(self, n: int) -> Sequence[float]:
        """A copy of the last `n` values up to and including the current bar (fewer at the start)."""
        end = self._cursor.index + 1
        return self._data[max(0, end - n) : end]

    def __repr__(self) -> str:
        return f"SeriesView({self.name}, now={self.value if len(self._data) else None})"


class Namespace:
    """Attribute and item access over named views (`self.ind.fast`, `self.ind["fast"]`)."""

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self.__dict__.update(items or {})

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]

    def __contains__(self, key: str) -> bool:
        return key in self.__dict__

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"no indicator or series {name!r}; have {sorted(self.__dict__)}")


class MarketData(Namespace):
    """`self.data`: `data.close` etc. are the first instrument's series (as with one instrument);
    `data["ETH/BTC"]` is the namespace (open..volume) of that instrument."""

    def __init__(self, items: Mapping[str, Any], resolve: Any) -> None:
        super().__init__(items)
        object.__setattr__(self, "_resolve", resolve)

    def __getitem__(self, key: Any) -> Any:
        d = self.__dict__
        if isinstance(key, str) and key in d and not key.startswith("_"):
            return d[key]
        return d["_resolve"](key)

    def __contains__(self, key: Any) -> bool:
        try:
            self[key]
        except (KeyError, TypeError):
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return (k for k in self.__dict__ if not k.startswith("_"))
