"""Self-training: the improved model learning from the very candles it predicts, one closed candle at a time.

This is what the `powertrader_levels` indicator uses when it is given no trained memory, and what the
walk-forward evaluation measures: every prediction is made before its candle opens, from memories whose
outcomes had closed, calibrated with the PIT values of earlier predictions only.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from quantdesk.intel.powertrader import knn
from quantdesk.intel.powertrader.candles import Candles
from quantdesk.intel.powertrader.improved import (
    CAL_LEVELS,
    MIN_CALIBRATION,
    ImprovedConfig,
    Neighbours,
    TimeframeModel,
    features,
)
from quantdesk.intel.powertrader.timeframes import TF_SECONDS


class SelfTrainedTimeframe:
    """Feed closed candles in order with `step`; each call returns the prediction for the next candle."""

    def __init__(self, tf: str, cfg: ImprovedConfig | None = None, calibration_window: int = 2000) -> None:
        self.cfg = (cfg or ImprovedConfig()).validate()
        self.tf = tf
        self.model = TimeframeModel.new(tf, self.cfg)
        self.hist: deque[tuple[float, float, float, float, float]] = deque(maxlen=self.cfg.warmup + 3)
        # the last `calibration_window` PIT values, in time order and as sorted windows (for the curves)
        self.window = calibration_window
        self.order: deque[tuple[float, float]] = deque()
        self.sorted_lo = np.empty(calibration_window + 1)
        self.sorted_hi = np.empty(calibration_window + 1)
        self.n_sorted = 0
        k = self.cfg.k
        # the neighbours found for the previous candle (its prediction), reused when its outcome arrives
        self._idx = np.zeros(k, dtype=np.int64)
        self._d = np.zeros(k)
        self._w = np.zeros(k)
        self._lo = np.zeros(k)
        self._hi = np.zeros(k)
        self._found = 0
        self._x_prev: np.ndarray | None = None
        self._pit = np.full(2, np.nan)

    def step(self, ts: float, o: float, h: float, lo: float, c: float) -> tuple[Neighbours, float, float]:
        """Learn from the previous candle's now-known outcome, then predict the candle after this one.
        Returns (one-row neighbours with calibration curves, sigma, close)."""
        self.hist.append((ts, o, h, lo, c))
        arr = np.array(self.hist)
        window = Candles(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4])
        f = features(window, self.cfg)
        i = len(arr) - 1
        m, cfg = self.model, self.cfg
        if i >= 1 and f.valid[i - 1]:
            m.n_mem = knn.learn_one(f.X[i - 1], f.Y[i - 1], ts + TF_SECONDS[self.tf], m.steps, self._idx,
                                    self._found, self._w, self._lo, self._hi, m.mem_x, m.mem_y, m.mem_w,
                                    m.mem_last, m.mem_created, m.n_mem, cfg.min_neighbours, cfg.bandwidth,
                                    cfg.weight_step, cfg.weight_min, cfg.weight_max, float(cfg.capacity) / 2.0,
                                    self._pit)
            if np.isfinite(self._pit).all():
                self._add_pit(float(self._pit[0]), float(self._pit[1]))
        if i >= 1:
            m.steps += 1
        grid_lo, grid_hi = self.grids()
        found = knn.query_one(f.X[i], m.mem_x, m.mem_y, m.mem_w, m.mem_created, m.n_mem, cfg.k, self._idx,
                              self._d, self._w, self._lo, self._hi) if m.n_mem >= cfg.min_neighbours else 0
        self._found = found
        k = cfg.k
        nb = Neighbours(np.zeros((1, k)), np.zeros((1, k)), np.zeros((1, k)), np.zeros(1, dtype=np.int64),
                        grid_lo[None, :], grid_hi[None, :])
        if found >= cfg.min_neighbours:
            nb.lo[0, :found] = self._lo[:found]
            nb.hi[0, :found] = self._hi[:found]
            nb.w[0, :found] = self._w[:found]
            nb.n[0] = found
        return nb, float(f.sigma[i]), float(c)

    def _add_pit(self, lo: float, hi: float) -> None:
        n = self.n_sorted
        knn.sorted_insert(self.sorted_lo, n, lo)
        knn.sorted_insert(self.sorted_hi, n, hi)
        n += 1
        self.order.append((lo, hi))
        if len(self.order) > self.window:
            old_lo, old_hi = self.order.popleft()
            knn.sorted_remove(self.sorted_lo, n, old_lo)
            knn.sorted_remove(self.sorted_hi, n, old_hi)
            n -= 1
        self.n_sorted = n

    def grids(self) -> tuple[np.ndarray, np.ndarray]:
        """Calibration curves from the PIT values so far (identity until there are enough)."""
        if self.n_sorted < MIN_CALIBRATION:
            nan = np.full(CAL_LEVELS.size, np.nan)
            return nan, nan.copy()
        return (knn.grid_from_sorted(self.sorted_lo, self.n_sorted, CAL_LEVELS),
                knn.grid_from_sorted(self.sorted_hi, self.n_sorted, CAL_LEVELS))

    def run(self, candles: Candles) -> tuple[Neighbours, np.ndarray]:
        """`step` over every candle; returns the stacked neighbours and the sigmas."""
        rows = []
        sig = np.full(len(candles), np.nan)
        for t in range(len(candles)):
            nb, s, _ = self.step(float(candles.ts[t]), float(candles.open[t]), float(candles.high[t]),
                                 float(candles.low[t]), float(candles.close[t]))
            rows.append(nb)
            sig[t] = s
        k = self.cfg.k
        if not rows:
            g = np.empty((0, 41))
            return Neighbours(np.zeros((0, k)), np.zeros((0, k)), np.zeros((0, k)), np.zeros(0, np.int64), g,
                              g.copy()), sig
        return Neighbours(*(np.concatenate([getattr(r, a) for r in rows])
                            for a in ("lo", "hi", "w", "n", "grid_lo", "grid_hi"))), sig
