"""Finished trials, stored as they finish: an append-only JSON-lines file (`DIR/trials.jsonl`).

Line 1 is a header `{"kind": "header", ...}` describing the study (strategy, data fingerprint, base config,
method, objective, space, constraints); every further line is one finished trial:

    {"kind": "trial", "id": 17, "key": "{\"fast\":10,\"slow\":30}", "params": {...}, "metrics": {...},
     "stats": {"sr": ..., "skew": ..., "kurtosis": ..., "n_obs": ...}, "error": null,
     "returns": "<base64 float64>", "returns_index": "<base64 int64 ns>"}

Each line is written with one `write` and flushed + fsynced, so an interruption loses at most the trials still
running. A torn last line (killed mid-write) is ignored on reading. `--resume` reads the finished trials back
and runs only the others; the header must match (same strategy, data, base config), else it refuses.
NaN/inf metrics are stored as the strings "nan"/"inf"/"-inf" (JSON has no such numbers).
"""

from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from quantdesk.core.errors import ParameterError

STORE_NAME = "trials.jsonl"
# header fields that must be equal for trials to be reused
IDENTITY = ("strategy", "data_fingerprint", "base_config", "max_return_periods")


def _enc_float(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _dec_float(v: Any) -> Any:
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return v


def encode_array(a: np.ndarray | None, dtype: str = "<f8") -> str | None:
    if a is None:
        return None
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def decode_array(text: str | None, dtype: str = "<f8") -> np.ndarray | None:
    if text is None:
        return None
    return np.frombuffer(base64.b64decode(text), dtype=dtype).copy()


def encode_record(rec: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(rec)
    out["kind"] = "trial"
    out["metrics"] = {k: _enc_float(v) for k, v in (rec.get("metrics") or {}).items()}
    out["stats"] = {k: _enc_float(v) for k, v in (rec.get("stats") or {}).items()}
    return out


def decode_record(rec: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(rec)
    out["metrics"] = {k: _dec_float(v) for k, v in (rec.get("metrics") or {}).items()}
    out["stats"] = {k: _dec_float(v) for k, v in (rec.get("stats") or {}).items()}
    return out


class TrialStore:
    """`open(path, header)`: reads what is there (checking the header), then appends new trials."""

    def __init__(self, path: Path, header: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.header = dict(header)
        self.records: dict[str, dict[str, Any]] = {}
        self._fh: TextIO | None = None
        self._load()

    def _load(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"kind": "header", **self.header}, default=str) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            return
        lines = list(_read_lines(self.path))
        if not lines or lines[0].get("kind") != "header":
            raise ParameterError(f"{self.path} is not an optimisation trial store (no header line)")
        old = lines[0]
        for key in IDENTITY:
            if json.dumps(old.get(key), sort_keys=True, default=str) != json.dumps(
                self.header.get(key), sort_keys=True, default=str
            ):
                raise ParameterError(
                    f"cannot resume from {self.path}: it was made with a different {key.replace('_', ' ')}; "
                    f"use another output folder (--out) or delete it"
                )
        for rec in lines[1:]:
            if rec.get("kind") == "trial" and "key" in rec:
                self.records.setdefault(rec["key"], decode_record(rec))
        self._truncate_torn_tail()

    def _truncate_torn_tail(self) -> None:
        """Drop a partial last line so that the next append starts on a fresh line."""
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as fh:
                fh.truncate(cut)

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def append(self, rec: Mapping[str, Any]) -> None:
        if rec["key"] in self.records:
            return
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open while appending
        self._fh.write(json.dumps(encode_record(rec), default=str) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.records[rec["key"]] = dict(rec)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _read_lines(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn line from an interrupted write


def read_trials(path: Path) -> list[dict[str, Any]]:
    """Every trial record of a store (decoded), in file order."""
    return [decode_record(r) for r in _read_lines(Path(path)) if r.get("kind") == "trial"]
