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
    ImprovedConfig,
    Neighbours,
    TimeframeModel,
    calibration_grid,
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
        self.pit_lo: deque[float] = deque(maxlen=calibration_window)
        self.pit_hi: deque[float] = deque(maxlen=calibration_window)
        k = self.cfg.k
        self._buf = [np.zeros((2, k)) for _ in range(3)]
        self._pit = np.full((2, 2), np.nan)
        self._nbn = np.zeros(2, dtype=np.int64)

    def step(self, ts: float, o: float, h: float, lo: float, c: float) -> tuple[Neighbours, float, float]:
        """Learn from the previous candle's now-known outcome, then predict the candle after this one.
        Returns (one-row neighbours with calibration curves, sigma, close)."""
        self.hist.append((ts, o, h, lo, c))
        arr = np.array(self.hist)
        window = Candles(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4])
        f = features(window, self.cfg)
        i = len(arr) - 1
        m, cfg = self.model, self.cfg
        if i >= 1:
            j = i - 1
            created = np.full(len(arr), np.inf)
            created[j] = ts + TF_SECONDS[self.tf]
            pit = np.full((len(arr), 2), np.nan)
            nb_lo, nb_hi, nb_w = (np.zeros((len(arr), cfg.k)) for _ in range(3))
            nb_n = np.zeros(len(arr), dtype=np.int64)
            m.n_mem = knn.walk(f.X, f.Y, f.valid, created, j, j + 1, m.mem_x, m.mem_y, m.mem_w, m.mem_last,
                               m.mem_created, m.n_mem, cfg.k, cfg.min_neighbours, cfg.bandwidth,
                               cfg.weight_step, cfg.weight_min, cfg.weight_max, float(cfg.capacity) / 2.0,
                               m.steps - j, pit, nb_lo, nb_hi, nb_w, nb_n)
            m.steps += 1
            if np.isfinite(pit[j]).all():
                self.pit_lo.append(float(pit[j, 0]))
                self.pit_hi.append(float(pit[j, 1]))
        grid_lo = calibration_grid(np.fromiter(self.pit_lo, float))
        grid_hi = calibration_grid(np.fromiter(self.pit_hi, float))
        nb = Neighbours(np.zeros((1, cfg.k)), np.zeros((1, cfg.k)), np.zeros((1, cfg.k)),
                        np.zeros(1, dtype=np.int64), grid_lo[None, :], grid_hi[None, :])
        knn.query_many(f.X[i:i + 1], np.array([np.inf]), m.mem_x, m.mem_y, m.mem_w, m.mem_created, m.n_mem,
                       cfg.k, nb.lo, nb.hi, nb.w, nb.n)
        if nb.n[0] < cfg.min_neighbours:
            nb.n[0] = 0
        return nb, float(f.sigma[i]), float(c)

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
