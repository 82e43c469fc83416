"""The original PowerTrader trainer, reproduced exactly (compat mode), each of its defects behind a flag.

Model (see docs/powertrader.md): a memory is one candle's body change in % (its *pattern*) with the next
candle's close/high/low moves in % relative to this close, and three weights. Walking candle by candle, the
current pattern matches the memories whose relative distance `|c - m| / |(c + m) / 2| * 100` is within the
threshold; no match appends a memory, matches nudge the matched memories' weights; the threshold adapts
towards `target_matches` neighbours.

Schedule of the original (reconstructed from its golden output, `tests/data/powertrader/golden`), per
timeframe, for candle series prepared as it prepared them (newest candle dropped as still forming; intraday
timeframes keep the older half):
  pass 1: 1-hour series, steps t in [start, int(0.25 * L1))        (`mix_1hour_patterns`)
  pass 2: own series,    steps t in [start, int(0.25 * L))         (`partial_schedule`)
  pass 3: own series,    steps t in [int(0.5 * L), L)
where step t matches candle t-1 and learns candle t's moves, and `start` = 10. The threshold restarts at its
initial value in each pass. New memories become visible to matching only at a flush, every 200 steps of a
pass (`stale_until_flush`); all of them reach the files at the end. Weight updates stay in memory and are lost
at each flush and at the end (`weights_not_persisted`): the golden weights are all 1.0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.intel.powertrader.candles import Candles
from quantdesk.intel.powertrader.memory_io import MemoryBank
from quantdesk.intel.powertrader.timeframes import is_intraday

Progress = Callable[[int, int], None]  # (steps done, steps total) of one timeframe


@dataclass(frozen=True)
class CompatFlags:
    """The original's defects (True = reproduce it). `CompatFlags()` is the original; `CompatFlags.fixed()`
    is the same algorithm with every defect fixed."""

    weights_not_persisted: bool = True  # weight updates never reach the files (all stay 1.0)
    stale_until_flush: bool = True  # new memories are not matched until the next 200-step flush
    zero_sum_perfect_match: bool = True  # c + m == 0 -> distance 0 (opposite moves "match perfectly")
    close_weight_unit_slip: bool = True  # close-weight update compares a % with a % x 100
    mix_1hour_patterns: bool = True  # a pass over 1-hour candles in every timeframe's memory
    intraday_older_half: bool = True  # hour timeframes trained on the older half of their history only
    partial_schedule: bool = True  # 10..25 % then 50..100 % of the series instead of the whole history
    threshold_reset_per_pass: bool = True  # every pass restarts from the initial threshold
    drop_newest_candle: bool = True  # the newest candle is treated as still forming and skipped

    @classmethod
    def fixed(cls) -> CompatFlags:
        return cls(**{f.name: False for f in fields(cls)})

    @classmethod
    def from_names(cls, on: list[str] | None = None, off: list[str] | None = None,
                   base: CompatFlags | None = None) -> CompatFlags:
        """Flags by name (errors list the known names)."""
        known = {f.name for f in fields(cls)}
        changes: dict[str, bool] = {}
        for value, names in ((True, on or []), (False, off or [])):
            for name in names:
                key = name.strip().replace("-", "_")
                if key not in known:
                    raise ParameterError(f"unknown compat flag {name!r}; known: {', '.join(sorted(known))}")
                changes[key] = value
        return replace(base or cls(), **changes)

    def as_dict(self) -> dict[str, bool]:
        return asdict(self)


@dataclass(frozen=True)
class CompatConfig:
    """The original's numbers (its settings)."""

    initial_threshold: float = 1.0
    target_matches: int = 20
    threshold_step: float = 0.01
    small_threshold_step: float = 0.001
    small_below: float = 0.1
    threshold_max: float = 100.0
    flush_every: int = 200
    weight_step: float = 0.25
    weight_tolerance: float = 0.10
    start_index: int = 10
    first_fraction: float = 0.25
    mid_fraction: float = 0.5

    def validate(self) -> CompatConfig:
        if not (0 <= self.initial_threshold <= self.threshold_max):
            raise ParameterError(f"initial_threshold must be in [0, {self.threshold_max}], got {self.initial_threshold}")
        if self.flush_every < 1 or self.target_matches < 0 or self.start_index < 1:
            raise ParameterError("flush_every >= 1, target_matches >= 0 and start_index >= 1 are required")
        return self


# ---- series preparation and the schedule ------------------------------------------------------------------
@dataclass(frozen=True)
class Series:
    """Patterns and outcomes of one prepared candle series: step t uses pattern[t-1] and move_*[t]."""

    pattern: np.ndarray  # body change of candle i, %
    move_close: np.ndarray  # candle i close vs candle i-1 close, % (index 0 unused)
    move_high: np.ndarray
    move_low: np.ndarray

    def __len__(self) -> int:
        return int(self.pattern.shape[0])


def prepare_series(c: Candles, tf: str, flags: CompatFlags) -> Series:
    o, h, lo, cl = c.open, c.high, c.low, c.close
    if flags.drop_newest_candle and len(cl):
        o, h, lo, cl = o[:-1], h[:-1], lo[:-1], cl[:-1]
    if flags.intraday_older_half and is_intraday(tf):
        n = len(cl) - len(cl) // 2  # the original keeps the newest-first list from len // 2 on
        o, h, lo, cl = o[:n], h[:n], lo[:n], cl[:n]
    pattern = (cl - o) / o * 100
    prev = np.concatenate([[np.nan], cl[:-1]])
    with np.errstate(invalid="ignore"):
        mc = (cl - prev) / prev * 100
        mh = (h - prev) / prev * 100
        ml = (lo - prev) / prev * 100
    return Series(pattern, mc, mh, ml)


def schedule(own: Series, hourly: Series | None, cfg: CompatConfig, flags: CompatFlags) -> list[tuple[Series, range]]:
    """The passes (series, steps) of one timeframe's training."""
    passes: list[tuple[Series, range]] = []
    if flags.partial_schedule:
        if flags.mix_1hour_patterns and hourly is not None:
            passes.append((hourly, range(cfg.start_index, int(len(hourly) * cfg.first_fraction))))
        passes.append((own, range(cfg.start_index, int(len(own) * cfg.first_fraction))))
        passes.append((own, range(int(len(own) * cfg.mid_fraction), len(own))))
    else:
        if flags.mix_1hour_patterns and hourly is not None:
            passes.append((hourly, range(1, len(hourly))))
        passes.append((own, range(1, len(own))))
    return [(s, r) for s, r in passes if len(r) > 0]


# ---- one step's arithmetic ----------------------------------------------------------------------------------
def distances(current: float, patterns: np.ndarray, zero_sum_perfect_match: bool) -> np.ndarray:
    """The original's relative distance in %, in its order of operations (so float results are identical)."""
    diff = np.abs(current - patterns)
    den = np.abs((current + patterns) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = diff / den * 100
    zero = den == 0
    if zero.any():
        # the original catches the division error and calls it a perfect match; fixed: only equal patterns match
        d[zero] = 0.0 if zero_sum_perfect_match else np.where(diff[zero] == 0, 0.0, np.inf)
    return d


def next_threshold(thr: float, n_matches: int, cfg: CompatConfig) -> float:
    step = cfg.small_threshold_step if thr < cfg.small_below else cfg.threshold_step
    thr = thr - step if n_matches > cfg.target_matches else thr + step
    return min(max(thr, 0.0), cfg.threshold_max)


def _nudge(w: np.ndarray, realised: float, predicted: float, cfg: CompatConfig, lo: float, hi: float) -> np.ndarray:
    tol = cfg.weight_tolerance * abs(predicted)
    if realised > predicted + tol:
        w = w + cfg.weight_step
    elif realised < predicted - tol:
        w = w - cfg.weight_step
    return np.clip(w, lo, hi)


# ---- the trainer ------------------------------------------------------------------------------------------------
class _State:
    """Disk view (what the files would hold), the visible match set and the pending new memories."""

    def __init__(self, bank: MemoryBank) -> None:
        self.disk = bank.copy()
        self.visible = bank.copy()
        self.pending: list[tuple[float, float, float, float]] = []

    def flush(self, flags: CompatFlags) -> None:
        """What the original's periodic save does: new memories reach the files (and the match set)."""
        n_old = len(self.disk)
        if flags.stale_until_flush:
            new = _rows(self.pending, self.disk.patterns.shape[1])
            new_w = [np.ones(len(new[1])) for _ in range(3)]
        else:  # memories were added to the match set directly; their weights may have moved already
            v = self.visible
            new = (v.patterns[n_old:], v.close[n_old:], v.high[n_old:], v.low[n_old:])
            new_w = [v.w_close[n_old:], v.w_high[n_old:], v.w_low[n_old:]]
        base = self.disk.copy()
        if flags.weights_not_persisted:
            new_w = [np.ones(len(new[1])) for _ in range(3)]
        else:
            base.w_close = self.visible.w_close[:n_old].copy()
            base.w_high = self.visible.w_high[:n_old].copy()
            base.w_low = self.visible.w_low[:n_old].copy()
        self.disk = base.extended(*new, *new_w)
        self.pending = []
        self.visible = self.disk.copy()


def _rows(pending: list[tuple[float, float, float, float]], p: int) -> tuple[np.ndarray, ...]:
    if not pending:
        z = np.empty(0)
        return np.empty((0, p)), z, z.copy(), z.copy()
    a = np.array(pending, dtype=np.float64)
    return a[:, :1], a[:, 1].copy(), a[:, 2].copy(), a[:, 3].copy()


def train_compat(tf: str, candles: dict[str, Candles], bank: MemoryBank | None = None,
                 cfg: CompatConfig | None = None, flags: CompatFlags | None = None,
                 progress: Progress | None = None) -> MemoryBank:
    """Train one timeframe as the original did; returns the bank the original would have left in its files
    (memories in order, the weights as persisted, the final threshold)."""
    cfg = (cfg or CompatConfig()).validate()
    flags = flags or CompatFlags()
    if tf not in candles:
        raise DataError(f"no {tf} candles given")
    if flags.mix_1hour_patterns and "1hour" not in candles:
        raise DataError("compat training mixes in 1-hour candles: give the 1hour series too")
    own = prepare_series(candles[tf], tf, flags)
    hourly = prepare_series(candles["1hour"], "1hour", flags) if flags.mix_1hour_patterns else None
    passes = schedule(own, hourly, cfg, flags)
    start = bank if bank is not None else MemoryBank.empty()
    if start.patterns.shape[1] != 1:
        raise DataError(f"compat memories have one-number patterns; this memory has {start.patterns.shape[1]}")
    state = _State(start)
    total = sum(len(r) for _, r in passes)
    done = 0
    thr = start.threshold if start.threshold is not None else cfg.initial_threshold
    for series, steps in passes:
        if flags.threshold_reset_per_pass:
            thr = cfg.initial_threshold
        for k, t in enumerate(steps):
            thr = _step(state, series, t, thr, cfg, flags)
            if flags.stale_until_flush and (k + 1) % cfg.flush_every == 0:
                state.flush(flags)
            done += 1
            if progress is not None and (done % 256 == 0 or done == total):
                progress(done, total)
    state.flush(flags)
    out = state.disk
    out.threshold = thr
    return out


def _step(state: _State, s: Series, t: int, thr: float, cfg: CompatConfig, flags: CompatFlags) -> float:
    current = float(s.pattern[t - 1])
    rc, rh, rl = float(s.move_close[t]), float(s.move_high[t]), float(s.move_low[t])
    vis = state.visible
    if len(vis):
        matched = np.flatnonzero(distances(current, vis.patterns[:, 0], flags.zero_sum_perfect_match) <= thr)
    else:
        matched = np.empty(0, dtype=np.int64)
    n = int(matched.size)
    if n == 0:
        if flags.stale_until_flush:
            state.pending.append((current, rc, rh, rl))
        else:
            one = np.ones(1)
            state.visible = vis.extended(np.array([[current]]), np.array([rc]), np.array([rh]), np.array([rl]),
                                         one, one.copy(), one.copy())
    else:
        pc = float(np.sum(vis.close[matched] * vis.w_close[matched])) / n
        ph = float(np.sum(vis.high[matched] * vis.w_high[matched])) / n
        pl = float(np.sum(vis.low[matched] * vis.w_low[matched])) / n
        ref = pc * 100 if flags.close_weight_unit_slip else pc
        vis.w_close[matched] = _nudge(vis.w_close[matched], rc, ref, cfg, -2.0, 2.0)
        vis.w_high[matched] = _nudge(vis.w_high[matched], rh, ph, cfg, 0.0, 2.0)
        vis.w_low[matched] = _nudge(vis.w_low[matched], rl, pl, cfg, 0.0, 2.0)
    return next_threshold(thr, n, cfg)
