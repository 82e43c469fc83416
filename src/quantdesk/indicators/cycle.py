"""Cycle indicators (Ehlers' Hilbert transform family), TA-Lib-exact numba kernels and streaming twins."""

from __future__ import annotations

import numpy as np

from quantdesk.indicators import _hilbert as H
from quantdesk.indicators._ma_core import fast_update, prep
from quantdesk.indicators.registry import IndicatorSpec, register
from quantdesk.indicators.streaming import StreamingIndicator


def _run(close, kind: int, name: str, two: bool):
    x, s = prep(close, "close", name)
    n = len(x)
    o1 = np.empty(n)
    o2 = np.empty(n if two else 0)
    H._ht_core(x, s, kind, o1, o2)
    return (o1, o2) if two else o1


def ht_dcperiod(close: np.ndarray) -> np.ndarray:
    """Hilbert transform dominant cycle period in bars (TA_HT_DCPERIOD)."""
    return _run(close, H.HT_DCPERIOD, "ht_dcperiod", False)


def ht_dcphase(close: np.ndarray) -> np.ndarray:
    """Hilbert transform dominant cycle phase in degrees (TA_HT_DCPHASE)."""
    return _run(close, H.HT_DCPHASE, "ht_dcphase", False)


def ht_phasor(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hilbert transform phasor components (inphase, quadrature) (TA_HT_PHASOR)."""
    return _run(close, H.HT_PHASOR, "ht_phasor", True)


def ht_sine(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hilbert transform sine wave (sine, leadsine) (TA_HT_SINE)."""
    return _run(close, H.HT_SINE, "ht_sine", True)


def ht_trendmode(close: np.ndarray) -> np.ndarray:
    """Hilbert transform trend (1.0) vs cycle (0.0) mode (TA_HT_TRENDMODE; NaN during the 63-bar warm-up)."""
    return _run(close, H.HT_TRENDMODE, "ht_trendmode", False)


def ht_trendline(close: np.ndarray) -> np.ndarray:
    """Hilbert transform instantaneous trendline (TA_HT_TRENDLINE)."""
    return _run(close, H.HT_TRENDLINE, "ht_trendline", False)


class _HT(StreamingIndicator):
    inputs = ("close",)
    kind = 0
    update = fast_update(("close",))

    def __init__(self) -> None:
        self._state = H.HTState(self.kind)
        self.step = self._state.step


class HT_DCPERIOD(_HT):
    kind = H.HT_DCPERIOD


class HT_DCPHASE(_HT):
    kind = H.HT_DCPHASE


class HT_PHASOR(_HT):
    kind = H.HT_PHASOR


class HT_SINE(_HT):
    kind = H.HT_SINE


class HT_TRENDMODE(_HT):
    kind = H.HT_TRENDMODE


class HT_TRENDLINE(_HT):
    kind = H.HT_TRENDLINE


def _reg(name, kernel, streaming, outputs, desc, group="cycle", overlay=False):
    register(
        IndicatorSpec(
            name=name,
            group=group,
            inputs=("close",),
            params=(),
            outputs=outputs,
            kernel=kernel,
            description=desc,
            streaming=streaming,
            talib=name.upper(),
            talib_params={},
            overlay=overlay,
        )
    )


_reg("ht_dcperiod", ht_dcperiod, HT_DCPERIOD, ("dcperiod",),
     "Dominant cycle period (bars) measured by Ehlers' Hilbert transform; 32-bar warm-up.")  # fmt: skip
_reg("ht_dcphase", ht_dcphase, HT_DCPHASE, ("dcphase",),
     "Phase (degrees) of the dominant price cycle from Ehlers' Hilbert transform; 63-bar warm-up.")  # fmt: skip
_reg("ht_phasor", ht_phasor, HT_PHASOR, ("inphase", "quadrature"),
     "In-phase and quadrature components of the detrended price (Ehlers' Hilbert transform).")  # fmt: skip
_reg("ht_sine", ht_sine, HT_SINE, ("sine", "leadsine"),
     "Ehlers' sine wave and lead sine of the dominant cycle phase; crossings mark cycle turns.")  # fmt: skip
_reg("ht_trendmode", ht_trendmode, HT_TRENDMODE, ("trendmode",),
     "Ehlers' trend-vs-cycle mode: 1 while the market trends, 0 while it cycles (TA-Lib gives 0, we NaN, in warm-up).")  # fmt: skip
_reg("ht_trendline", ht_trendline, HT_TRENDLINE, ("trendline",),
     "Ehlers' instantaneous trendline: price averaged over the measured dominant cycle.", "overlap", True)  # fmt: skip
