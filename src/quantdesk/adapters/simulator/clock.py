"""The simulator's own clock: simulated milliseconds that run `speed` times faster than the wall clock.

`speed = 60` replays one minute of market per wall second; `speed = 0` stops the clock, which then moves only by
`advance` (tests step it exactly). Changing the speed or jumping keeps the time continuous (no step back).
"""

from __future__ import annotations

import threading
import time


class SimClock:
    def __init__(self, start_ms: int, speed: float) -> None:
        self._lock = threading.Lock()
        self._anchor_sim = int(start_ms)
        self._anchor_wall = time.monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    def now_ms(self) -> int:
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> int:
        if self._speed == 0:
            return self._anchor_sim
        return self._anchor_sim + int((time.monotonic() - self._anchor_wall) * 1000.0 * self._speed)

    def set_speed(self, speed: float) -> None:
        with self._lock:
            self._anchor_sim = self._now_locked()
            self._anchor_wall = time.monotonic()
            self._speed = float(speed)

    def jump_to(self, t_ms: int) -> int:
        """Move the clock forward to `t_ms` (never back); returns the new now."""
        with self._lock:
            now = self._now_locked()
            self._anchor_sim = max(now, int(t_ms))
            self._anchor_wall = time.monotonic()
            return self._anchor_sim

    def wall_seconds_until(self, t_ms: int) -> float | None:
        """Wall seconds until the clock reads `t_ms` (None when stopped)."""
        with self._lock:
            if self._speed == 0:
                return None
            return max(0.0, (t_ms - self._now_locked()) / 1000.0 / self._speed)
