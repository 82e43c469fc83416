"""The improved PowerTrader model: multi-candle normalised patterns, k-nearest neighbours with a distance
kernel, prediction intervals calibrated on a later fold, levels as probabilities.

What it fixes (each is a defect of the original, see compat.py): weights are part of the saved model; nothing
is lost at a flush (the state is checkpointed atomically); no division by a pattern sum (distances are
Euclidean on volatility-normalised features); one unit (log moves / recent volatility) for patterns and
outcomes; each timeframe learns only from its own candles, over its whole history, strictly causally (a
memory is used only after its outcome candle has closed).

Features of candle t (all divided by sigma_t = mean log(high/low) over the last `vol_window` candles):
for each of the last `pattern_len` candles its body log(c/o) and its upper and lower wicks, plus the trend
log(c_t / c_{t-vol_window}) / (sigma_t sqrt(vol_window)). Outcomes: the next candle's low, high and close as
log moves from close_t, divided by sigma_t.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.intel.powertrader import knn
from quantdesk.intel.powertrader.candles import Candles
from quantdesk.intel.powertrader.memory_io import atomic_write_bytes
from quantdesk.intel.powertrader.timeframes import TF_SECONDS

MODEL_VERSION = 1
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImprovedConfig:
    pattern_len: int = 3
    vol_window: int = 20
    k: int = 32
    min_neighbours: int = 8
    bandwidth: float = 0.25  # smoothing of the neighbours' outcome distribution, in sigma units
    weight_step: float = 0.02
    weight_min: float = 0.25
    weight_max: float = 2.0
    capacity: int = 50_000  # memories kept per timeframe (LRU by last use, discounted by weight)
    calibration_fraction: float = 0.3  # the later part of the history whose PIT values calibrate the model
    calibration_max: int = 5000  # at most this many (the most recent) PIT values are kept
    chunk: int = 2000  # steps between checkpoints / progress reports

    def validate(self) -> ImprovedConfig:
        checks = [
            (self.pattern_len >= 1, "pattern_len >= 1"), (self.vol_window >= 2, "vol_window >= 2"),
            (1 <= self.min_neighbours <= self.k <= 1000, "1 <= min_neighbours <= k <= 1000"),
            (self.bandwidth > 0, "bandwidth > 0"), (self.capacity >= self.k, "capacity >= k"),
            (0 < self.calibration_fraction < 1, "0 < calibration_fraction < 1"),
            (0 < self.weight_min <= 1 <= self.weight_max, "weight_min <= 1 <= weight_max"),
            (self.chunk >= 1, "chunk >= 1"),
        ]
        for ok, text in checks:
            if not ok:
                raise ParameterError(f"improved PowerTrader config: {text} is required")
        return self

    @property
    def dim(self) -> int:
        return 3 * self.pattern_len + 1

    @property
    def warmup(self) -> int:
        return max(self.vol_window, self.pattern_len - 1)


@dataclass
class Features:
    X: np.ndarray  # (n, dim) pattern features of candle t (NaN in the warm-up)
    Y: np.ndarray  # (n, 3) next candle's low, high, close moves in sigma_t units (NaN for the last candle)
    sigma: np.ndarray  # (n,) log-range volatility at t
    valid: np.ndarray  # (n,) features and outcome both known


def features(c: Candles, cfg: ImprovedConfig) -> Features:
    """Causal features: row t reads candles t - vol_window .. t only (its outcome: candle t + 1), so appending
    candles never changes a row, and a row computed on a short window equals the same row on the whole series."""
    o, h, lo, cl = (np.ascontiguousarray(a, dtype=np.float64) for a in (c.open, c.high, c.low, c.close))
    X, Y, sigma = knn.features_kernel(o, h, lo, cl, cfg.pattern_len, cfg.vol_window)
    valid = np.isfinite(X).all(axis=1) & np.isfinite(Y).all(axis=1)
    return Features(X, Y, sigma, valid)


#: probability levels of the calibration curve (raw PIT quantiles are stored at these levels)
CAL_LEVELS = (np.arange(41) + 0.5) / 41
MIN_CALIBRATION = 20


def calibration_grid(pits: np.ndarray) -> np.ndarray:
    """Raw PIT quantiles at CAL_LEVELS (all NaN = too few values: no recalibration)."""
    pits = np.asarray(pits, dtype=np.float64)
    pits = np.sort(pits[np.isfinite(pits)])
    if pits.size < MIN_CALIBRATION:
        return np.full(CAL_LEVELS.size, np.nan)
    return knn.grid_from_sorted(pits, pits.size, CAL_LEVELS)


@dataclass
class TimeframeModel:
    """The learnt state of one timeframe: memories, weights, use times, calibration, and where training is."""

    tf: str
    cfg: ImprovedConfig
    mem_x: np.ndarray
    mem_y: np.ndarray
    mem_w: np.ndarray
    mem_last: np.ndarray
    mem_created: np.ndarray  # close time (epoch s) of each memory's outcome candle
    n_mem: int = 0
    trained_until: float = -np.inf  # open time of the last candle whose outcome has been learnt
    steps: int = 0  # steps walked (the memories' clock for last use)
    pit_lo: np.ndarray = field(default_factory=lambda: np.empty(0))  # calibration PIT values, in time order
    pit_hi: np.ndarray = field(default_factory=lambda: np.empty(0))
    tail: np.ndarray = field(default_factory=lambda: np.empty((0, 5)))  # last candles (ts, o, h, l, c)

    @classmethod
    def new(cls, tf: str, cfg: ImprovedConfig) -> TimeframeModel:
        cap = cfg.capacity
        return cls(tf, cfg, np.zeros((cap, cfg.dim)), np.zeros((cap, 3)), np.ones(cap), np.zeros(cap),
                   np.full(cap, np.inf))

    # ---- calibration ------------------------------------------------------------------------------------
    def grids(self) -> tuple[np.ndarray, np.ndarray]:
        """Calibration curves (low, high) from the later fold's PIT values."""
        return calibration_grid(self.pit_lo), calibration_grid(self.pit_hi)

    # ---- persistence -----------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        n = self.n_mem
        meta = {"version": MODEL_VERSION, "tf": self.tf, "cfg": asdict(self.cfg), "n_mem": n,
                "trained_until": self.trained_until, "steps": self.steps}
        np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), mem_x=self.mem_x[:n],
                 mem_y=self.mem_y[:n], mem_w=self.mem_w[:n], mem_last=self.mem_last[:n],
                 mem_created=self.mem_created[:n], pit_lo=self.pit_lo, pit_hi=self.pit_hi, tail=self.tail)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "model") -> TimeframeModel:
        try:
            z = np.load(io.BytesIO(data), allow_pickle=False)
            meta = json.loads(bytes(z["meta"]).decode())
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user-facing problem
            raise DataError(f"{where}: not a PowerTrader improved model ({type(exc).__name__})") from None
        if meta.get("version") != MODEL_VERSION:
            raise DataError(f"{where}: model version {meta.get('version')} is not {MODEL_VERSION}")
        cfg = ImprovedConfig(**meta["cfg"]).validate()
        model = cls.new(meta["tf"], cfg)
        n = int(meta["n_mem"])
        model.mem_x[:n], model.mem_y[:n], model.mem_w[:n] = z["mem_x"], z["mem_y"], z["mem_w"]
        model.mem_last[:n], model.mem_created[:n] = z["mem_last"], z["mem_created"]
        model.n_mem, model.trained_until, model.steps = n, float(meta["trained_until"]), int(meta["steps"])
        model.pit_lo, model.pit_hi, model.tail = z["pit_lo"], z["pit_hi"], z["tail"]
        return model

    def save(self, path: Path | str) -> None:
        atomic_write_bytes(path, self.to_bytes())

    @classmethod
    def load(cls, path: Path | str) -> TimeframeModel:
        p = Path(path)
        if not p.is_file():
            raise DataError(f"no improved PowerTrader model at {p}")
        return cls.from_bytes(p.read_bytes(), str(p))


def model_file(tf: str) -> str:
    return f"improved_{tf}.npz"


# ---- training ------------------------------------------------------------------------------------------------
@dataclass
class WalkRecord:
    """Per-step outputs of a walk (used by the evaluation and the calibration)."""

    pit: np.ndarray  # (n, 2) PIT of the realised low / high (NaN where no prediction)
    nb_lo: np.ndarray  # (n, k)
    nb_hi: np.ndarray
    nb_w: np.ndarray
    nb_n: np.ndarray  # (n,)


def _candles_array(c: Candles) -> np.ndarray:
    return np.column_stack([c.ts, c.open, c.high, c.low, c.close])


def train_improved(model: TimeframeModel, candles: Candles, *, progress: Progress | None = None,
                   checkpoint: Callable[[TimeframeModel], None] | None = None,
                   record: bool = False, calibrate: bool = True) -> WalkRecord | None:
    """Walk the candles not learnt yet (incremental: open time > model.trained_until), in chunks; after each
    chunk `checkpoint(model)` may save it (a resumed walk gives the same model as an uninterrupted one).
    The candles must include the `vol_window` candles before the first new one (or the model's saved tail is
    used). `record`: return per-step neighbours and PIT values."""
    cfg = model.cfg
    tf_sec = TF_SECONDS[model.tf]
    arr = _candles_array(candles)
    if model.tail.size and (len(arr) == 0 or arr[0, 0] > model.tail[-1, 0]):
        arr = np.vstack([model.tail, arr])  # only new candles were given: continue from the saved tail
    if len(arr) and np.any(np.diff(arr[:, 0]) <= 0):
        raise DataError(f"{model.tf}: candle times must increase")
    c = Candles(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4])
    f = features(c, cfg)
    n = len(c)
    # step t learns candle t+1's outcome: it is new when candle t opened after the last learnt one
    first = int(np.searchsorted(c.ts, model.trained_until, side="right"))
    last = n - 1  # the last candle has no outcome yet
    created = np.full(n, np.inf)
    created[:-1] = c.ts[1:] + tf_sec
    k = cfg.k
    steps_total = max(0, last - first)
    rec = WalkRecord(np.full((n, 2), np.nan), np.zeros((n, k)), np.zeros((n, k)), np.zeros((n, k)),
                     np.zeros(n, dtype=np.int64))
    pit = rec.pit
    done = 0
    t = first
    while t < last:
        t1 = min(last, t + cfg.chunk)
        model.n_mem = knn.walk(f.X, f.Y, f.valid, created, t, t1, model.mem_x, model.mem_y, model.mem_w,
                               model.mem_last, model.mem_created, model.n_mem, k, cfg.min_neighbours,
                               cfg.bandwidth, cfg.weight_step, cfg.weight_min, cfg.weight_max,
                               float(cfg.capacity) / 2.0, model.steps - t, pit, rec.nb_lo, rec.nb_hi, rec.nb_w, rec.nb_n)
        model.steps += t1 - t
        model.trained_until = float(c.ts[t1 - 1])
        model.tail = arr[max(0, t1 - cfg.vol_window - cfg.pattern_len - 1): t1 + 1].copy()
        if calibrate:
            _update_calibration(model, pit[t:t1], f.valid[t:t1])
        done += t1 - t
        t = t1
        if checkpoint is not None:
            checkpoint(model)
        if progress is not None:
            progress(done, steps_total)
    return rec if record else None


def _update_calibration(model: TimeframeModel, pit: np.ndarray, valid: np.ndarray) -> None:
    """Append this chunk's PIT values (in time order) and keep the newest `calibration_fraction` of the steps
    walked (at most `calibration_max`): predictions made from earlier memories only, i.e. a later fold."""
    cfg = model.cfg
    ok = valid & np.isfinite(pit).all(axis=1)
    lo = np.concatenate([model.pit_lo, pit[ok, 0]])
    hi = np.concatenate([model.pit_hi, pit[ok, 1]])
    keep = int(min(cfg.calibration_max, max(20, round(cfg.calibration_fraction * max(model.steps, 1)))))
    model.pit_lo, model.pit_hi = lo[-keep:], hi[-keep:]


# ---- prediction ------------------------------------------------------------------------------------------------
@dataclass
class Neighbours:
    """Per prediction row: the neighbours' low/high outcomes, kernel weights, count, and calibration curves."""

    lo: np.ndarray  # (q, k)
    hi: np.ndarray
    w: np.ndarray
    n: np.ndarray  # (q,)
    grid_lo: np.ndarray  # (q, G)
    grid_hi: np.ndarray

    def rows(self, r: np.ndarray | slice) -> Neighbours:
        return Neighbours(self.lo[r], self.hi[r], self.w[r], self.n[r], self.grid_lo[r], self.grid_hi[r])


def neighbours_for(model: TimeframeModel, candles: Candles) -> tuple[Neighbours, Features]:
    """The neighbours of every candle of `candles` (as the prediction for the candle after it), using only
    memories whose outcome closed by that candle's close."""
    f = features(candles, model.cfg)
    q = len(candles)
    k = model.cfg.k
    g_lo, g_hi = model.grids()
    nb = Neighbours(np.zeros((q, k)), np.zeros((q, k)), np.zeros((q, k)), np.zeros(q, dtype=np.int64),
                    np.tile(g_lo, (q, 1)), np.tile(g_hi, (q, 1)))
    until = np.asarray(candles.ts, dtype=np.float64) + TF_SECONDS[model.tf]
    knn.query_many(f.X, until, model.mem_x, model.mem_y, model.mem_w, model.mem_created, model.n_mem, k,
                   nb.lo, nb.hi, nb.w, nb.n)
    nb.n[nb.n < model.cfg.min_neighbours] = 0
    return nb, f


def bounds_from(nb: Neighbours, close: np.ndarray, sigma: np.ndarray, alpha: float,
                bandwidth: float) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated lower (P(low <= lower) = alpha) and upper (P(high >= upper) = alpha) prices."""
    u_lo = knn.inverse_rows(alpha, nb.grid_lo, CAL_LEVELS)
    u_hi = knn.inverse_rows(1.0 - alpha, nb.grid_hi, CAL_LEVELS)
    z_lo = knn.quantile_many(u_lo, nb.lo, nb.w, nb.n, bandwidth)
    z_hi = knn.quantile_many(u_hi, nb.hi, nb.w, nb.n, bandwidth)
    return close * np.exp(z_lo * sigma), close * np.exp(z_hi * sigma)


def touch_probabilities(nb: Neighbours, rows: np.ndarray, price: np.ndarray, close: np.ndarray,
                        sigma: np.ndarray, bandwidth: float) -> tuple[np.ndarray, np.ndarray]:
    """For each (row, price): calibrated P(the candle's low reaches down to price) and P(its high reaches up
    to price), under the neighbours of `rows` (NaN where inactive)."""
    z = np.log(price / close[rows]) / sigma[rows]
    sub = nb.rows(rows)
    idx = np.arange(len(rows))
    p_low = knn.interp_rows(knn.cdf_many(z, sub.lo, sub.w, sub.n, bandwidth), idx, sub.grid_lo, CAL_LEVELS)
    p_high = 1.0 - knn.interp_rows(knn.cdf_many(z, sub.hi, sub.w, sub.n, bandwidth), idx, sub.grid_hi,
                                   CAL_LEVELS)
    return p_low, p_high


def describe(model: TimeframeModel) -> dict[str, Any]:
    return {"tf": model.tf, "memories": model.n_mem, "capacity": model.cfg.capacity, "steps": model.steps,
            "trained_until": model.trained_until if np.isfinite(model.trained_until) else None,
            "calibration_points": int(model.pit_lo.size)}
