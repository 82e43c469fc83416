"""Training runs: one coin, several timeframes, compat or improved, with progress, ETA, checkpoints, a lock and a
status file that other processes (the API, the dashboard, the strategy's staleness check) read.

Files in the output folder:
- compat: the original's files per timeframe (`memories_<tf>.txt`, ...), written all-or-nothing per timeframe;
- improved: `improved_<tf>.npz` per timeframe, rewritten atomically after every chunk of steps (a checkpoint):
  a run killed at any moment (even SIGKILL) resumes from the last checkpoint and ends with the same model as
  an uninterrupted run;
- `training_status.json`: per timeframe state, steps done/total, ETA, and when training finished;
- `.training.lock`: the pid of the running trainer (a second trainer on the same folder is refused; a lock
  left by a dead process is taken over).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quantdesk.core.errors import ConflictError, DataError, ParameterError
from quantdesk.intel.powertrader import improved as imp
from quantdesk.intel.powertrader.candles import Candles
from quantdesk.intel.powertrader.compat import CompatConfig, CompatFlags, train_compat
from quantdesk.intel.powertrader.memory_io import atomic_write_text, memory_files_exist, read_bank, write_bank
from quantdesk.intel.powertrader.timeframes import TF_SECONDS, TIMEFRAMES

STATUS_FILE = "training_status.json"
LOCK_FILE = ".training.lock"
Listener = Callable[[dict[str, Any]], None]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class TrainSpec:
    """What to train. `candles` per timeframe (and 1hour for compat's mixing)."""

    coin: str
    out_dir: Path
    candles: dict[str, Candles]
    mode: str = "improved"  # "improved" | "compat"
    timeframes: tuple[str, ...] = TIMEFRAMES
    flags: CompatFlags = field(default_factory=CompatFlags)
    compat_cfg: CompatConfig = field(default_factory=CompatConfig)
    improved_cfg: imp.ImprovedConfig = field(default_factory=imp.ImprovedConfig)
    until: float | None = None  # epoch s: only candles that closed by then (no look-ahead into a backtest)
    fresh: bool = False  # start from an empty memory instead of continuing the folder's


class StatusWriter:
    """Keeps `training_status.json` current (atomically, at most every `interval` s unless forced)."""

    def __init__(self, spec: TrainSpec, listener: Listener | None = None, interval: float = 0.5) -> None:
        self.path = spec.out_dir / STATUS_FILE
        self.listener = listener
        self.interval = interval
        self._last = 0.0
        previous = read_status(spec.out_dir) or {}
        self.data: dict[str, Any] = {
            "coin": spec.coin, "mode": spec.mode, "state": "running", "pid": os.getpid(),
            "started_at": utc_now(), "updated_at": utc_now(), "finished_at": None, "error": None,
            "timeframes": {tf: {"state": "waiting", "done": 0, "total": None, "eta_s": None,
                                "trained_at": previous.get("timeframes", {}).get(tf, {}).get("trained_at")}
                           for tf in spec.timeframes},
        }
        self._t0: dict[str, float] = {}

    def tf(self, tf: str, **changes: Any) -> None:
        entry = self.data["timeframes"][tf]
        if changes.get("state") == "running" and tf not in self._t0:
            self._t0[tf] = time.monotonic()
        entry.update(changes)
        done, total = entry.get("done") or 0, entry.get("total")
        if entry["state"] == "running" and total and done:
            elapsed = time.monotonic() - self._t0.get(tf, time.monotonic())
            entry["eta_s"] = round(elapsed / done * (total - done), 1)
        elif entry["state"] == "done":
            entry["eta_s"] = 0.0
        self.write(force=changes.get("state") in ("running", "done", "failed"))

    def write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        self.data["updated_at"] = utc_now()
        atomic_write_text(self.path, json.dumps(self.data, indent=1))
        if self.listener is not None:
            self.listener(json.loads(json.dumps(self.data)))


def read_status(out_dir: Path | str) -> dict[str, Any] | None:
    path = Path(out_dir) / STATUS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise DataError(f"{path}: unreadable training status") from None


def _parse_utc(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def training_age_hours(out_dir: Path | str, now: float | None = None) -> float | None:
    """Hours since the oldest timeframe of the folder finished training (None when never trained)."""
    status = read_status(out_dir)
    if not status:
        return None
    stamps = [_parse_utc(e.get("trained_at")) for e in status.get("timeframes", {}).values()]
    if not stamps or any(s is None for s in stamps):
        return None
    now = time.time() if now is None else now
    return (now - min(s for s in stamps if s is not None)) / 3600.0


def is_stale(out_dir: Path | str, max_age_hours: float, now: float | None = None) -> bool:
    """The original's rule: a coin whose training is older than the limit (or missing) takes no new entries."""
    age = training_age_hours(out_dir, now)
    return age is None or age > max_age_hours


# ---- the lock ---------------------------------------------------------------------------------------------------
class TrainingLock:
    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / LOCK_FILE

    def __enter__(self) -> TrainingLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if _pid_alive(self._holder()):
                    raise ConflictError(f"{self.path.parent}: a training is already running "
                                        f"(pid {self._holder()})") from None
                self.path.unlink(missing_ok=True)  # left by a dead trainer (e.g. killed): take it over
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            return self
        raise ConflictError(f"{self.path}: cannot take the training lock")

    def _holder(self) -> int:
        try:
            return int(self.path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def __exit__(self, *exc: object) -> None:
        if self._holder() == os.getpid():
            self.path.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not reaped yet) holds no lock
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


# ---- running ------------------------------------------------------------------------------------------------------
def _cut(c: Candles, tf: str, until: float | None) -> Candles:
    if until is None:
        return c
    return c.until(until - TF_SECONDS[tf])  # candles that closed at or before `until`


def run_training(spec: TrainSpec, listener: Listener | None = None) -> dict[str, Any]:
    """Train every requested timeframe; returns the final status (also in the folder's status file)."""
    if spec.mode not in ("improved", "compat"):
        raise ParameterError(f"training mode must be 'improved' or 'compat', got {spec.mode!r}")
    missing = [tf for tf in spec.timeframes if tf not in spec.candles]
    if spec.mode == "compat" and spec.flags.mix_1hour_patterns and "1hour" not in spec.candles:
        missing.append("1hour")
    if missing:
        raise DataError(f"no candles for timeframe(s) {', '.join(dict.fromkeys(missing))}")
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    with TrainingLock(spec.out_dir):
        status = StatusWriter(spec, listener)
        status.write(force=True)
        try:
            for tf in spec.timeframes:
                if spec.mode == "compat":
                    _train_compat_tf(spec, tf, status)
                else:
                    _train_improved_tf(spec, tf, status)
        except BaseException as exc:
            status.data["state"] = "failed"
            status.data["error"] = f"{type(exc).__name__}: {exc}"
            status.write(force=True)
            raise
        status.data["state"] = "done"
        status.data["finished_at"] = utc_now()
        status.write(force=True)
        return status.data


def _train_compat_tf(spec: TrainSpec, tf: str, status: StatusWriter) -> None:
    candles = {k: _cut(v, k, spec.until) for k, v in spec.candles.items()}
    bank = None
    if not spec.fresh and memory_files_exist(spec.out_dir, tf):
        bank = read_bank(spec.out_dir, tf)
    status.tf(tf, state="running")

    def progress(done: int, total: int) -> None:
        status.tf(tf, done=done, total=total)

    out = train_compat(tf, candles, bank, spec.compat_cfg, spec.flags, progress)
    write_bank(spec.out_dir, tf, out)
    status.tf(tf, state="done", memories=len(out), threshold=out.threshold, trained_at=utc_now())


def _train_improved_tf(spec: TrainSpec, tf: str, status: StatusWriter) -> None:
    path = spec.out_dir / imp.model_file(tf)
    if path.is_file() and not spec.fresh:
        model = imp.TimeframeModel.load(path)  # a checkpoint or a finished model: continue from it
        if model.cfg != spec.improved_cfg:
            raise ParameterError(f"{path}: trained with other settings; use --fresh to start over")
    else:
        model = imp.TimeframeModel.new(tf, spec.improved_cfg)
    candles = _cut(spec.candles[tf], tf, spec.until)
    status.tf(tf, state="running", done=0, total=None)

    def progress(done: int, total: int) -> None:
        status.tf(tf, done=done, total=total)

    imp.train_improved(model, candles, progress=progress, checkpoint=lambda m: m.save(path))
    model.save(path)
    status.tf(tf, state="done", memories=model.n_mem, trained_at=utc_now(),
              trained_until=model.trained_until if model.n_mem else None)
