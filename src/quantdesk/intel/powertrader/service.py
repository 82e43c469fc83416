"""PowerTrader use cases shared by the CLI and the API: load candles, train, read levels, import the original's
memory files, and background training jobs (bounded) with their progress."""

from __future__ import annotations

import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from quantdesk.core.errors import ConflictError, DataError, NotFoundError, ParameterError
from quantdesk.intel.powertrader import improved as imp
from quantdesk.intel.powertrader.candles import Candles, candles_from_frame, read_candle_dir
from quantdesk.intel.powertrader.compat import CompatFlags
from quantdesk.intel.powertrader.memory_io import file_names, memory_files_exist, read_bank, write_bank
from quantdesk.intel.powertrader.signals import describe_model, levels_batch, load_levels_model
from quantdesk.intel.powertrader.timeframes import TIMEFRAMES, parse_timeframes
from quantdesk.intel.powertrader.training import TrainSpec, read_status, run_training, training_age_hours

_COIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


def check_coin(coin: str) -> str:
    """A coin name that is safe as a folder name (`BTC`, `ETH-USD`)."""
    if not _COIN.match(coin or ""):
        raise ParameterError(f"coin {coin!r}: use 1-32 letters, digits, '.', '_' or '-' (e.g. BTC)")
    return coin.upper()


def default_memory_dir(coin: str) -> Path:
    """`$QD_HOME/powertrader/<COIN>`: where the API trains and where the CLI looks by default."""
    from quantdesk.core.config import get_settings

    return Path(get_settings().home) / "powertrader" / check_coin(coin)


def parse_until(text: str | None) -> float | None:
    if text is None or not str(text).strip():
        return None
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise ParameterError(f"--until {text!r}: not a UTC ISO-8601 time (e.g. 2019-01-01T00:00:00Z)") from None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.timestamp()


def load_candles(*, candles_dir: str | Path | None = None, symbol: str | None = None,
                 exchange: str | None = None, base_timeframe: str = "1h",
                 timeframes: tuple[str, ...] = TIMEFRAMES) -> dict[str, Candles]:
    """Candles per timeframe from a folder of `<tf>.csv` or resampled from the store's candles of a symbol."""
    if (candles_dir is None) == (symbol is None):
        raise ParameterError("give exactly one candle source: --candles-dir DIR or --symbol SYMBOL")
    if candles_dir is not None:
        return read_candle_dir(candles_dir, timeframes)
    from quantdesk import data as qdata

    frame = qdata.load(str(symbol), base_timeframe, exchange)
    if frame.empty:
        raise DataError(f"no {base_timeframe} candles for {symbol}")
    return candles_from_frame(frame, timeframes)


def train(*, coin: str, out_dir: str | Path, candles: dict[str, Candles], compat: bool = False,
          timeframes: tuple[str, ...] = TIMEFRAMES, flags_off: list[str] | None = None,
          until: float | None = None, fresh: bool = False, improved_cfg: imp.ImprovedConfig | None = None,
          listener: Any = None) -> dict[str, Any]:
    flags = CompatFlags.from_names(off=flags_off) if compat else CompatFlags()
    if flags_off and not compat:
        raise ParameterError("--flag-off applies to --compat training only")
    spec = TrainSpec(coin=check_coin(coin), out_dir=Path(out_dir).expanduser(), candles=candles,
                     mode="compat" if compat else "improved", timeframes=timeframes, flags=flags,
                     improved_cfg=improved_cfg or imp.ImprovedConfig(), until=until, fresh=fresh)
    if fresh:
        _clear(spec.out_dir, timeframes, spec.mode)
    return run_training(spec, listener)


def _clear(out: Path, timeframes: tuple[str, ...], mode: str) -> None:
    for tf in timeframes:
        names = [imp.model_file(tf)] if mode == "improved" else list(file_names(tf).values())
        for name in names:
            (out / name).unlink(missing_ok=True)


def levels_now(memory_dir: str | Path, bars: pd.DataFrame, mode: str = "auto", alpha: float = 0.1,
               tail: int = 1) -> dict[str, Any]:
    """The levels and every timeframe's bounds at the last `tail` bars of `bars` (UTC DatetimeIndex, OHLC)."""
    model = load_levels_model(str(memory_dir), mode)
    if bars.empty:
        raise DataError("no bars to compute levels on")
    ts = cast(pd.DatetimeIndex, bars.index).as_unit("ns").asi8 / 1e9
    out = levels_batch(model, ts, bars["open"].to_numpy(float), bars["high"].to_numpy(float),
                       bars["low"].to_numpy(float), bars["close"].to_numpy(float), alpha=alpha)
    rows = []
    for i in range(max(0, len(bars) - tail), len(bars)):
        row: dict[str, Any] = {"time": bars.index[i].isoformat().replace("+00:00", "Z"),
                               "price": float(bars["close"].iloc[i])}
        for key in ("long", "short", "active", "lower", "upper"):
            row[key] = _num(out[key][i])
        row["timeframes"] = {tf: {"lower": _num(out[f"lower_{tf}"][i]), "upper": _num(out[f"upper_{tf}"][i])}
                             for tf in TIMEFRAMES}
        rows.append(row)
    return {"model": describe_model(model), "rows": rows}


def level_series(memory_dir: str | Path, bars: pd.DataFrame, mode: str = "auto",
                 alpha: float = 0.1) -> dict[str, np.ndarray]:
    model = load_levels_model(str(memory_dir), mode)
    ts = cast(pd.DatetimeIndex, bars.index).as_unit("ns").asi8 / 1e9
    return levels_batch(model, ts, bars["open"].to_numpy(float), bars["high"].to_numpy(float),
                        bars["low"].to_numpy(float), bars["close"].to_numpy(float), alpha=alpha)


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def import_memories(src: str | Path, dest: str | Path, timeframes: tuple[str, ...] = TIMEFRAMES) -> dict[str, Any]:
    """Check the original's memory files in `src` (every file parses, one weight per memory) and copy them to
    `dest` unchanged in meaning (rewritten in the same format, each timeframe all-or-nothing)."""
    s, d = Path(src).expanduser(), Path(dest).expanduser()
    if not s.is_dir():
        raise NotFoundError(f"memory folder not found: {s}")
    found = [tf for tf in timeframes if memory_files_exist(s, tf)]
    if not found:
        raise DataError(f"{s}: no memories_<tf>.txt for {', '.join(timeframes)}")
    banks = {tf: read_bank(s, tf) for tf in found}  # everything is checked before anything is written
    out = {}
    for tf, bank in banks.items():
        if s.resolve() != d.resolve():
            write_bank(d, tf, bank)
        out[tf] = {"memories": len(bank), "threshold": bank.threshold}
    return {"source": str(s), "dest": str(d), "timeframes": out,
            "skipped": [tf for tf in timeframes if tf not in found]}


def status(out_dir: str | Path) -> dict[str, Any]:
    st = read_status(out_dir)
    if st is None:
        raise NotFoundError(f"{out_dir}: no training status (never trained here)")
    st["age_hours"] = training_age_hours(out_dir)
    return st


# ---- background jobs (the API) -----------------------------------------------------------------------------
class TrainingJobs:
    """Training runs on background threads, at most `max_running` at once (more is a ConflictError: 409)."""

    def __init__(self, max_running: int = 1) -> None:
        self.max_running = max_running
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def start(self, *, coin: str, symbol: str, exchange: str | None = None, compat: bool = False,
              timeframes: str | None = None, base_timeframe: str = "1h", until: str | None = None,
              fresh: bool = False) -> dict[str, Any]:
        coin = check_coin(coin)
        tfs = parse_timeframes(timeframes)
        until_ts = parse_until(until)
        out = default_memory_dir(coin)
        with self._lock:
            running = [j for j in self._jobs.values() if j["state"] == "running"]
            if len(running) >= self.max_running:
                raise ConflictError(f"{len(running)} training job(s) running (limit {self.max_running}); "
                                    "wait for it to finish")
            if any(j["coin"] == coin for j in running):
                raise ConflictError(f"{coin} is already training")
            job_id = uuid.uuid4().hex[:12]
            job = {"id": job_id, "coin": coin, "symbol": symbol, "mode": "compat" if compat else "improved",
                   "state": "running", "error": None, "started": time.time(), "out_dir": str(out),
                   "progress": None}
            self._jobs[job_id] = job
        candles = None
        try:  # bad input is reported now (4xx), not as a failed job later
            candles = load_candles(symbol=symbol, exchange=exchange, base_timeframe=base_timeframe,
                                   timeframes=tfs)
        except Exception:
            with self._lock:
                self._jobs.pop(job_id, None)
            raise
        thread = threading.Thread(target=self._run, name=f"qd-pt-train-{coin}", daemon=True,
                                  args=(job, dict(coin=coin, out_dir=out, candles=candles, compat=compat,
                                                  timeframes=tfs, until=until_ts, fresh=fresh)))
        thread.start()
        return self.view(job)

    def _run(self, job: dict[str, Any], kwargs: dict[str, Any]) -> None:
        def listener(data: dict[str, Any]) -> None:
            job["progress"] = data

        try:
            final = train(listener=listener, **kwargs)
            job.update(state="done", progress=final)
        except Exception as exc:  # noqa: BLE001 - reported in the job's status
            job.update(state="failed", error=f"{type(exc).__name__}: {exc}")

    @staticmethod
    def view(job: dict[str, Any]) -> dict[str, Any]:
        progress = job.get("progress") or {}
        return {"id": job["id"], "coin": job["coin"], "symbol": job["symbol"], "mode": job["mode"],
                "state": job["state"], "error": job["error"], "timeframes": progress.get("timeframes", {})}

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            jobs = list(self._jobs.values())
        return [self.view(j) for j in sorted(jobs, key=lambda j: j["started"], reverse=True)]

    def wait_idle(self, timeout: float = 60.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not any(j["state"] == "running" for j in self._jobs.values()):
                return True
            time.sleep(0.05)
        return False


def coins_on_disk() -> list[dict[str, Any]]:
    """Every coin folder under $QD_HOME/powertrader with its status (for the dashboard after a restart)."""
    from quantdesk.core.config import get_settings

    root = Path(get_settings().home) / "powertrader"
    out = []
    if root.is_dir():
        for d in sorted(p for p in root.iterdir() if p.is_dir()):
            st = read_status(d)
            if st is not None:
                st["age_hours"] = training_age_hours(d)
                out.append(st)
    return out


