"""`vwap_flow`: volume-weighted order-flow pressure + session-VWAP discount, long only.

Pressure (in [-1, 1]) from OHLCV only: the close location value CLV = ((close - low) - (high - close)) /
(high - low) (0 when high == low) says where the bar closed in its range (+1 at the high, -1 at the low);

    pressure[i] = sum(CLV x volume over the last `window` bars) / sum(volume over the same bars)

(0 when the window has no volume; undefined, so no signal, before `window` bars). VWAP is the session VWAP
of the catalog's `vwap` (typical price (h+l+c)/3 weighted by volume, reset each UTC day / ISO week), computed
here bar by bar from the bar times with the same running sums as the catalog's streaming `VWAP` (a test checks
it equals the catalog kernel for every session), so it is the same in backtest, paper and live.

On the close of bar i (fills at the next open): when flat, buy with all cash if pressure > `threshold` and
close < VWAP x (1 - deviation_pct / 100) (buyers are active while the price is still at a discount to VWAP);
when long, close if close >= VWAP (back at fair value) or pressure < `exit_pressure` (flow turned negative).

Parameters:
    window (int, 20, 2..5000): bars in the pressure sum.
    threshold (float, 0.1, -1..1): minimum pressure to enter.
    deviation_pct (float, 0.5, 0..50): required discount of the close under VWAP, in %.
    exit_pressure (float, 0.0, -1..1): exit when pressure falls below this (must be < threshold).
    session (choice, '1d', {'1d', '1w', 'none'}): VWAP reset period.
"""

from __future__ import annotations

from typing import Any

from quantdesk.core.errors import ParameterError
from quantdesk.strategies.base import ChoiceParam, FloatParam, IntParam, Strategy

DAY_NS = 86_400 * 1_000_000_000


class VwapFlow(Strategy):
    """Buy a VWAP discount while volume-weighted pressure is positive; exit at VWAP or when pressure turns."""

    name = "vwap_flow"
    description = (
        "Buy when CLV x volume pressure > threshold and close is k % under session VWAP; exit at VWAP."
    )
    params = {
        "window": IntParam(20, 2, 5000, description="bars in the pressure window"),
        "threshold": FloatParam(0.1, -1.0, 1.0, description="minimum pressure to enter"),
        "deviation_pct": FloatParam(0.5, 0.0, 50.0, description="close must be this % under VWAP"),
        "exit_pressure": FloatParam(0.0, -1.0, 1.0, description="exit when pressure < this"),
        "session": ChoiceParam("1d", ("1d", "1w", "none"), description="VWAP session reset"),
    }
    search_space = {"window": "10:50:10", "threshold": "0.05:0.25:0.05", "deviation_pct": "0:1:0.25"}
    search_constraints = ("threshold>exit_pressure",)

    @classmethod
    def validate_params(cls, values: Any) -> dict[str, Any]:
        out = super().validate_params(values)
        if out["exit_pressure"] >= out["threshold"]:
            raise ParameterError(
                f"vwap_flow: parameter 'exit_pressure' ({out['exit_pressure']}) must be < "
                f"'threshold' ({out['threshold']})"
            )
        return out

    @staticmethod
    def session_id(ts_ns: int, session: str) -> int:
        """UTC day, ISO week (Monday 00:00 UTC) or 0, as in quantdesk.indicators' vwap."""
        if session == "1d":
            return ts_ns // DAY_NS
        if session == "1w":
            return (ts_ns // DAY_NS + 3) // 7
        return 0

    @staticmethod
    def clv(high: float, low: float, close: float) -> float:
        rng = high - low
        return ((close - low) - (high - close)) / rng if rng > 0 else 0.0

    def on_start(self) -> None:
        # session VWAP kept here (written when the batch engine could not feed 'timestamp' to Ind("vwap"))
        self._sid: int | None = None
        self._pv = 0.0
        self._pvol = 0.0
        self.vwap = float("nan")
        self._cur = self.engine.view
        self._eng = self.engine
        self._flow: list[float] = []  # CLV x volume per bar seen
        self._vol: list[float] = []
        self._sf = 0.0
        self._sv = 0.0
        self.pressure = float("nan")

    def _update_pressure(self) -> float:
        d = self.data
        h, lo, c, v = d.high[-1], d.low[-1], d.close[-1], d.volume[-1]
        f = self.clv(h, lo, c) * v
        self._flow.append(f)
        self._vol.append(v)
        self._sf += f
        self._sv += v
        n = len(self._flow)
        w = self.p.window
        if n > w:
            self._sf -= self._flow[n - 1 - w]
            self._sv -= self._vol[n - 1 - w]
        if n % 1000 == 0:  # re-sum now and then so float drift cannot build up
            self._sf = sum(self._flow[-w:])
            self._sv = sum(self._vol[-w:])
        if n < w:
            return float("nan")
        return self._sf / self._sv if self._sv > 0 else 0.0

    def on_bar(self, bar) -> None:
        pr = self.pressure = self._update_pressure()
        d = self.data
        c = d.close[-1]
        sid = self.session_id(self.time, self.p.session)
        if sid != self._sid:
            self._sid, self._pv, self._pvol = sid, 0.0, 0.0
        v = d.volume[-1]
        self._pv += (d.high[-1] + d.low[-1] + c) / 3.0 * v
        self._pvol += v
        vw = self.vwap = self._pv / self._pvol if self._pvol > 0.0 else float("nan")
        if pr != pr or vw != vw:
            return
        pos = self._eng.position_f
        if pos == 0.0:
            if pr > self.p.threshold and c < vw * (1.0 - self.p.deviation_pct / 100.0):
                self.buy_all_cash(tag="buying pressure under VWAP")
        elif pos > 0.0 and (c >= vw or pr < self.p.exit_pressure):
            self.close(tag="back at VWAP or pressure faded")
