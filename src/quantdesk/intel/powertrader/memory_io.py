"""The original PowerTrader's memory files, read and written byte for byte, and atomic file writes.

Per timeframe `tf` a memory directory holds:
- `memories_<tf>.txt`: memories joined by `~`; each is `"<pattern> <close move>{}<high move>{}<low move>"`
  (moves in percent; a pattern of several numbers is space separated, the original's has one number);
- `memory_weights_<tf>.txt`, `memory_weights_high_<tf>.txt`, `memory_weights_low_<tf>.txt`: one weight per
  memory, space separated;
- `neural_perfect_threshold_<tf>.txt`: the matching radius.
Numbers are written as Python writes a float (`repr`), with no trailing newline, as the original does.
Every write goes to a temporary file that is fsynced and renamed over the target, so a crash (even SIGKILL)
leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from quantdesk.core.errors import DataError


# ---- atomic writes ----------------------------------------------------------------------------------------
def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write `data` to `path` so that readers (and a restart after a crash) see the old or the new file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; memory files are ordinary readable files
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- the memory bank --------------------------------------------------------------------------------------
@dataclass
class MemoryBank:
    """Memories of one timeframe in the original's model: a pattern, the next candle's moves, three weights."""

    patterns: np.ndarray  # (n, p) float64, percent body changes (p = 1 in the original)
    close: np.ndarray  # (n,) next close vs this close, %
    high: np.ndarray  # (n,) next high vs this close, %
    low: np.ndarray  # (n,) next low vs this close, %
    w_close: np.ndarray = field(default_factory=lambda: np.empty(0))
    w_high: np.ndarray = field(default_factory=lambda: np.empty(0))
    w_low: np.ndarray = field(default_factory=lambda: np.empty(0))
    threshold: float | None = None

    def __post_init__(self) -> None:
        n = len(self.close)
        for name in ("w_close", "w_high", "w_low"):
            if len(getattr(self, name)) == 0 and n:
                setattr(self, name, np.ones(n))

    @classmethod
    def empty(cls, pattern_len: int = 1) -> MemoryBank:
        z = np.empty(0)
        return cls(np.empty((0, pattern_len)), z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), z.copy())

    def __len__(self) -> int:
        return len(self.close)

    def copy(self) -> MemoryBank:
        return MemoryBank(self.patterns.copy(), self.close.copy(), self.high.copy(), self.low.copy(),
                          self.w_close.copy(), self.w_high.copy(), self.w_low.copy(), self.threshold)

    def extended(self, patterns: np.ndarray, close: np.ndarray, high: np.ndarray, low: np.ndarray,
                 w_close: np.ndarray, w_high: np.ndarray, w_low: np.ndarray) -> MemoryBank:
        """A new bank with these memories appended (in order)."""
        return MemoryBank(
            np.vstack([self.patterns, np.asarray(patterns, dtype=np.float64).reshape(len(close), -1)])
            if len(close) else self.patterns.copy(),
            np.concatenate([self.close, close]), np.concatenate([self.high, high]),
            np.concatenate([self.low, low]), np.concatenate([self.w_close, w_close]),
            np.concatenate([self.w_high, w_high]), np.concatenate([self.w_low, w_low]), self.threshold)


def file_names(tf: str) -> dict[str, str]:
    """The original's file names for timeframe `tf`."""
    return {
        "memories": f"memories_{tf}.txt",
        "w_close": f"memory_weights_{tf}.txt",
        "w_high": f"memory_weights_high_{tf}.txt",
        "w_low": f"memory_weights_low_{tf}.txt",
        "threshold": f"neural_perfect_threshold_{tf}.txt",
    }


def _num(x: float) -> str:
    return repr(float(x))


def format_memories(bank: MemoryBank) -> str:
    parts = []
    for i in range(len(bank)):
        pattern = " ".join(_num(v) for v in bank.patterns[i])
        parts.append(f"{pattern} {_num(bank.close[i])}{{}}{_num(bank.high[i])}{{}}{_num(bank.low[i])}")
    return "~".join(parts)


def format_weights(weights: np.ndarray) -> str:
    return " ".join(_num(w) for w in weights)


def parse_memories(text: str, where: str = "memories") -> MemoryBank:
    """Parse a memories file's text; errors name the file and the memory number."""
    text = text.strip()
    if not text:
        return MemoryBank.empty()
    pats: list[list[float]] = []
    close: list[float] = []
    high: list[float] = []
    low: list[float] = []
    for k, item in enumerate(text.split("~")):
        pieces = item.split("{}")
        head = pieces[0].split()
        if len(pieces) != 3 or len(head) < 2:
            raise DataError(f"{where}: memory #{k + 1} is not '<pattern> <close>{{}}<high>{{}}<low>': {item[:80]!r}")
        try:
            nums = [float(x) for x in head]
            h, lo = float(pieces[1]), float(pieces[2])
        except ValueError:
            raise DataError(f"{where}: memory #{k + 1} has a value that is not a number: {item[:80]!r}") from None
        if pats and len(nums) - 1 != len(pats[0]):
            raise DataError(f"{where}: memory #{k + 1} has a pattern of {len(nums) - 1} numbers, the first has "
                            f"{len(pats[0])}")
        if not all(np.isfinite(nums)) or not (np.isfinite(h) and np.isfinite(lo)):
            raise DataError(f"{where}: memory #{k + 1} has a non-finite value: {item[:80]!r}")
        pats.append(nums[:-1])
        close.append(nums[-1])
        high.append(h)
        low.append(lo)
    return MemoryBank(np.array(pats, dtype=np.float64), np.array(close), np.array(high), np.array(low))


def parse_weights(text: str, where: str) -> np.ndarray:
    try:
        values = np.array([float(x) for x in text.split()], dtype=np.float64)
    except ValueError:
        raise DataError(f"{where}: weights must be numbers separated by spaces") from None
    if not np.all(np.isfinite(values)):
        raise DataError(f"{where}: a weight is not finite")
    return values


def memory_files_exist(directory: Path | str, tf: str) -> bool:
    return (Path(directory) / file_names(tf)["memories"]).is_file()


def read_bank(directory: Path | str, tf: str) -> MemoryBank:
    """Read one timeframe's memories, weights and threshold. Missing weight files mean weights of 1.0 (a fresh
    memory); weight files of another length than the memories are an error (the files do not belong together)."""
    d = Path(directory)
    recover_bank(d, tf, discard_uncommitted=False)
    names = file_names(tf)
    mem_path = d / names["memories"]
    if not mem_path.is_file():
        raise DataError(f"no PowerTrader memory for timeframe {tf}: {mem_path} does not exist")
    bank = parse_memories(mem_path.read_text(encoding="utf-8"), str(mem_path))
    for key in ("w_close", "w_high", "w_low"):
        path = d / names[key]
        if path.is_file():
            w = parse_weights(path.read_text(encoding="utf-8"), str(path))
            if len(w) != len(bank):
                raise DataError(f"{path}: {len(w)} weights for {len(bank)} memories in {mem_path.name}")
            setattr(bank, key, w)
    thr_path = d / names["threshold"]
    if thr_path.is_file():
        try:
            bank.threshold = float(thr_path.read_text(encoding="utf-8").strip())
        except ValueError:
            raise DataError(f"{thr_path}: the threshold is not a number") from None
        if not np.isfinite(bank.threshold) or bank.threshold < 0:
            raise DataError(f"{thr_path}: the threshold must be a finite number >= 0, got {bank.threshold}")
    return bank


def write_bank(directory: Path | str, tf: str, bank: MemoryBank, *, write_threshold: bool = True) -> None:
    """Write the files of one timeframe in the original's formats, all of them or none.

    The five files must agree (one weight per memory), so they are first written to a staging folder, a
    `COMMITTED` marker is written there, and only then are they moved into place; `recover_bank` finishes
    (marker present) or discards (marker absent) a write that a crash interrupted.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    recover_bank(d, tf)
    names = file_names(tf)
    stage = d / f".staging-{tf}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    contents = {
        names["memories"]: format_memories(bank),
        names["w_close"]: format_weights(bank.w_close),
        names["w_high"]: format_weights(bank.w_high),
        names["w_low"]: format_weights(bank.w_low),
    }
    if write_threshold and bank.threshold is not None:
        contents[names["threshold"]] = _num(bank.threshold)
    for name, text in contents.items():
        atomic_write_text(stage / name, text)
    atomic_write_text(stage / "COMMITTED", "\n".join(contents))
    recover_bank(d, tf)


def recover_bank(directory: Path | str, tf: str, *, discard_uncommitted: bool = True) -> None:
    """Finish (committed) or discard (not committed) an interrupted `write_bank` of timeframe `tf`.

    Readers pass `discard_uncommitted=False`: a staging folder without its marker may be a write in progress.
    """
    d = Path(directory)
    stage = d / f".staging-{tf}"
    if not stage.is_dir():
        return
    marker = stage / "COMMITTED"
    try:
        names = marker.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        if discard_uncommitted:
            shutil.rmtree(stage, ignore_errors=True)
        return
    for name in names:
        with contextlib.suppress(FileNotFoundError):  # another process may be finishing the same write
            os.replace(stage / name, d / name)
    _fsync_dir(d)
    shutil.rmtree(stage, ignore_errors=True)
