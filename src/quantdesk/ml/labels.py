"""Labels: fixed horizon (sign or thresholded return), triple barrier (ATR-scaled take-profit / stop, time limit),
and meta-labels on a primary strategy's signals.

    spec = LabelSpec.parse("horizon:12")                       # y = 1 if close[t+12] > close[t]
    spec = LabelSpec.parse("horizon:12:threshold=0.002")       # |return| <= 0.2 %: no label (dropped)
    spec = LabelSpec.parse("barrier:tp=2:sl=1:max=24:atr=14")  # first touch of close +- k x ATR(14) within 24 bars
    labels = make_labels(frame, spec)                          # columns y, t1, ret

TIMING: a label belongs to the decision at the CLOSE of bar t (the features' time). Its interval runs from bar t
to bar `t1` (the bar where it resolves); purged cross-validation removes training samples whose interval overlaps
a test fold. `ret` is the log return of the trade the label describes (long unless a meta-label's side says
short), from close[t] to the exit.

TRIPLE BARRIER: upper = close[t] + tp x ATR[t], lower = close[t] - sl x ATR[t] (for a short side, take-profit
below and stop above). Bars t+1 ... t+max are scanned; a bar touching both barriers counts as the stop (the
conservative order, since the bar's path is unknown); a take-profit touch gives y = 1 and a stop y = 0 (exit at
the barrier price); no touch by t+max: y = 1 if the trade's return at close[t+max] is positive. Labels that cannot
resolve inside the data are NaN (t1 = -1).

META-LABELS (`meta_labels`): given a primary model's sides (+1 long / -1 short / 0 none per bar), y = 1 when the
primary trade succeeds by the label's rule; the secondary model then learns WHEN to trust the primary.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
import pandas as pd
from numba import njit
from pydantic import BaseModel, ConfigDict, Field

from quantdesk.core.errors import ParameterError


class LabelSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["horizon", "barrier"] = "horizon"
    horizon: int = Field(default=12, ge=1, le=100_000, description="Bars held (horizon) / time limit (barrier).")
    threshold: float = Field(default=0.0, ge=0.0, lt=1.0, description="horizon: |log return| below = no label.")
    tp: float = Field(default=2.0, gt=0, description="barrier: take-profit distance in ATRs.")
    sl: float = Field(default=1.0, gt=0, description="barrier: stop distance in ATRs.")
    atr: int = Field(default=14, ge=1, le=10_000, description="barrier: ATR period.")

    @classmethod
    def parse(cls, text: str) -> LabelSpec:
        """`horizon:N[:threshold=x]` or `barrier:tp=2:sl=1:max=24[:atr=14]` (commas work as separators too)."""
        raw = text.strip().lower()
        kind, _, rest = raw.partition(":")
        parts = [p for p in rest.replace(",", ":").split(":") if p]
        kw: dict[str, Any] = {"kind": kind}
        if kind not in ("horizon", "barrier"):
            raise ParameterError(f"--label {text!r}: expected horizon:N or barrier:tp=..:sl=..:max=..")
        for p in parts:
            k, eq, v = p.partition("=")
            if not eq:
                if kind == "horizon" and "horizon" not in kw:
                    k, v = "horizon", k
                else:
                    raise ParameterError(f"--label {text!r}: expected key=value, got {p!r}")
            k = {"max": "horizon", "n": "horizon", "thr": "threshold"}.get(k.strip(), k.strip())
            if k not in cls.model_fields or k == "kind":
                raise ParameterError(f"--label {text!r}: unknown key {k!r} (horizon/max, threshold, tp, sl, atr)")
            try:
                kw[k] = float(v) if k in ("threshold", "tp", "sl") else int(v)
            except ValueError:
                raise ParameterError(f"--label {text!r}: {k} must be a number, got {v!r}") from None
        try:
            return cls(**kw)
        except ValueError as exc:
            raise ParameterError(f"--label {text!r}: {exc}") from None

    def text(self) -> str:
        if self.kind == "horizon":
            return f"horizon:{self.horizon}" + (f":threshold={self.threshold:g}" if self.threshold else "")
        return f"barrier:tp={self.tp:g}:sl={self.sl:g}:max={self.horizon}:atr={self.atr}"

    def canonical(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())


@njit(cache=True)
def _barrier(high, low, close, atr, side, tp, sl, max_bars):  # pragma: no cover - compiled
    n = close.shape[0]
    y = np.full(n, np.nan)
    t1 = np.full(n, -1, dtype=np.int64)
    ret = np.full(n, np.nan)
    for t in range(n):
        s = side[t]
        a = atr[t]
        if s == 0 or not (a > 0) or not (close[t] > 0):
            continue
        c0 = close[t]
        if s > 0:
            win, lose = c0 + tp * a, c0 - sl * a
        else:
            win, lose = c0 - tp * a, c0 + sl * a
        last = t + max_bars
        for j in range(t + 1, min(last, n - 1) + 1):
            if s > 0:
                hit_lose, hit_win = low[j] <= lose, high[j] >= win
            else:
                hit_lose, hit_win = high[j] >= lose, low[j] <= win
            if hit_lose or hit_win:
                px = lose if hit_lose else win
                y[t] = 0.0 if hit_lose else 1.0
                t1[t] = j
                ret[t] = np.log(px / c0) if s > 0 else -np.log(px / c0)
                break
        if t1[t] < 0 and last <= n - 1:
            r = np.log(close[last] / c0) if s > 0 else -np.log(close[last] / c0)
            y[t] = 1.0 if r > 0 else 0.0
            t1[t] = last
            ret[t] = r
    return y, t1, ret


def make_labels(frame: pd.DataFrame, spec: LabelSpec, side: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    """Columns `y` (1/0, NaN = no label), `t1` (bar position where the label resolves, -1 = unresolved) and `ret`
    (the trade's log return), indexed like `frame`. `side`: +1/-1/0 per bar (meta-labels; default all long)."""
    close = frame["close"].to_numpy(dtype=np.float64)
    n = len(close)
    sides = np.ones(n, dtype=np.int64) if side is None else np.sign(np.nan_to_num(
        np.asarray(side, dtype=np.float64))).astype(np.int64)
    if len(sides) != n:
        raise ParameterError(f"side has {len(sides)} values for {n} bars")
    if spec.kind == "horizon":
        h = spec.horizon
        ret = np.full(n, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ret[: max(0, n - h)] = np.log(close[h:] / close[: n - h]) if n > h else np.zeros(0)
        ret = ret * np.where(sides == 0, np.nan, sides)
        y = np.where(ret > spec.threshold, 1.0, np.where(ret < -spec.threshold, 0.0, np.nan))
        if spec.threshold == 0.0:
            y = np.where(ret > 0, 1.0, 0.0)
        y[~np.isfinite(ret)] = np.nan
        t1 = np.where(np.isfinite(y), np.arange(n) + h, -1).astype(np.int64)
    else:
        from quantdesk.indicators import registry

        atr = registry.compute("atr", frame, period=spec.atr)["atr"].to_numpy(dtype=np.float64)
        y, t1, ret = _barrier(frame["high"].to_numpy(np.float64), frame["low"].to_numpy(np.float64), close,
                              atr, sides, float(spec.tp), float(spec.sl), int(spec.horizon))
    return pd.DataFrame({"y": y, "t1": t1, "ret": ret}, index=frame.index)


def meta_labels(frame: pd.DataFrame, sides: np.ndarray | pd.Series, spec: LabelSpec) -> pd.DataFrame:
    """Labels only where the primary model has a side (+1/-1): y = 1 if that trade succeeds; NaN elsewhere.
    The `side` column is kept so it can be used as a feature."""
    s = np.sign(np.nan_to_num(np.asarray(sides, dtype=np.float64)))
    out = make_labels(frame, spec, side=s)
    out["side"] = s
    return out


def sides_from_backtest(result: Any, frame: pd.DataFrame) -> np.ndarray:
    """The primary strategy's sides per bar from a backtest result: +1 where a long entry was decided (the bar
    whose close placed the entry order, i.e. the bar before the fill), -1 for a short entry, 0 elsewhere."""
    out = np.zeros(len(frame), dtype=np.float64)
    trades = result.trades
    if len(trades) == 0:
        return out
    ts = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    entry = pd.DatetimeIndex(pd.to_datetime(trades["entry_time"], utc=True)).as_unit("ns").asi8
    pos = np.searchsorted(ts, entry, side="left") - 1  # fills at the open of the bar after the decision
    ok = pos >= 0
    out[pos[ok]] = np.where(trades["side"].to_numpy()[ok] == "long", 1.0, -1.0)
    return out
