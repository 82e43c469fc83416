"""Overlap studies (moving averages, bands, SAR): TA-Lib-exact numba kernels and streaming twins.

Kernels take numpy arrays and return arrays of the same length with NaN during the warm-up (TA-Lib's
lookback), leading NaN in the input shift the warm-up like TA-Lib's Python wrapper does. Other modules
import the moving averages from here:

    from quantdesk.indicators.overlap import sma, ema, wma, ma
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from quantdesk.indicators import _ma_core as C
from quantdesk.indicators._ma_core import check_float, check_int, check_matype, prep
from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.indicators.streaming import StreamingIndicator

NAN = math.nan
MATYPE_DESC = "moving-average type: 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, 6 KAMA, 7 MAMA, 8 T3"
MAX_PERIOD = 100_000


def _period_param(default: int, minimum: int = 2, description: str = "number of bars") -> Param:
    return Param("period", int, default, minimum, MAX_PERIOD, description=description)


def _matype_param(name: str = "matype", default: int = 0) -> Param:
    return Param(name, int, default, 0, 8, choices=tuple(range(9)), description=MATYPE_DESC)


# =========================================================================================== kernels
def sma(close: np.ndarray, period: int = 30) -> np.ndarray:
    """Simple moving average (TA_SMA)."""
    period = check_int("sma", "period", period, 1)
    x, s = prep(close, "close", "sma")
    out = np.empty(len(x))
    C._sma_core(x, s, period, out)
    return out


def ema(close: np.ndarray, period: int = 30) -> np.ndarray:
    """Exponential moving average, seeded with the SMA of the first `period` values (TA_EMA)."""
    period = check_int("ema", "period", period, 1)
    x, s = prep(close, "close", "ema")
    out = np.empty(len(x))
    C._ema_core(x, s, period, 2.0 / (period + 1), out)
    return out


def wma(close: np.ndarray, period: int = 30) -> np.ndarray:
    """Linearly weighted moving average (TA_WMA)."""
    period = check_int("wma", "period", period, 1)
    x, s = prep(close, "close", "wma")
    out = np.empty(len(x))
    C._wma_core(x, s, period, out)
    return out


def _ma_by_code(name: str, matype: int, close: np.ndarray, period: int) -> np.ndarray:
    """Validate, then run the shared MA core for TA-Lib MA type `matype` (one path for dema/tema/trima/kama)."""
    period = check_int(name, "period", period, 1)
    x, s = prep(close, "close", name)
    out = np.empty(len(x))
    C._ma_core(x, s, period, matype, out)
    return out


def dema(close: np.ndarray, period: int = 30) -> np.ndarray:
    """Double exponential moving average 2*EMA - EMA(EMA) (TA_DEMA)."""
    return _ma_by_code("dema", 3, close, period)


def tema(close: np.ndarray, period: int = 30) -> np.ndarray:
    """Triple exponential moving average (TA_TEMA)."""
    return _ma_by_code("tema", 4, close, period)


def trima(close: np.ndarray, period: int = 30) -> np.ndarray:
    """Triangular moving average (TA_TRIMA)."""
    return _ma_by_code("trima", 5, close, period)


def kama(close: np.ndarray, period: int = 30) -> np.ndarray:
    """Kaufman adaptive moving average (TA_KAMA; fast 2, slow 30)."""
    return _ma_by_code("kama", 6, close, period)


def t3(close: np.ndarray, period: int = 5, vfactor: float = 0.7) -> np.ndarray:
    """Tillson T3 moving average (TA_T3)."""
    period = check_int("t3", "period", period, 1)
    vfactor = check_float("t3", "vfactor", vfactor, 0.0, 1.0)
    x, s = prep(close, "close", "t3")
    out = np.empty(len(x))
    C._t3_core(x, s, period, vfactor, out)
    return out


def mama(
    close: np.ndarray, fast_limit: float = 0.5, slow_limit: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """MESA adaptive moving average: (mama, fama) (TA_MAMA)."""
    fast_limit = check_float("mama", "fast_limit", fast_limit, 0.01, 0.99)
    slow_limit = check_float("mama", "slow_limit", slow_limit, 0.01, 0.99)
    x, s = prep(close, "close", "mama")
    m = np.empty(len(x))
    f = np.empty(len(x))
    C._mama_core(x, s, fast_limit, slow_limit, m, f)
    return m, f


def ma(close: np.ndarray, period: int = 30, matype: int = 0) -> np.ndarray:
    """Moving average of any TA-Lib type (TA_MA): 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, 6 KAMA,
    7 MAMA (period ignored), 8 T3 (vfactor 0.7). Period 1 returns the input unchanged."""
    period = check_int("ma", "period", period, 1)
    matype = check_matype("ma", "matype", matype)
    x, s = prep(close, "close", "ma")
    out = np.empty(len(x))
    C._ma_core(x, s, period, matype, out)
    return out


# =========================================================================================== streaming
class _Single(StreamingIndicator):
    inputs: ClassVar[tuple[str, ...]] = ("close",)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.update = C.fast_update(cls.inputs)  # type: ignore[method-assign]  # per-class update, built once

    def _bind(self, state) -> None:
        self._state = state
        self.step = state.step  # instance attribute: update() calls it directly


class SMA(_Single):
    def __init__(self, period: int = 30) -> None:
        self._bind(C.SMAState(check_int("sma", "period", period, 1)))


class EMA(_Single):
    def __init__(self, period: int = 30) -> None:
        self._bind(C.EMAState(check_int("ema", "period", period, 1)))


class WMA(_Single):
    def __init__(self, period: int = 30) -> None:
        self._bind(C.WMAState(check_int("wma", "period", period, 1)))


class DEMA(_Single):
    def __init__(self, period: int = 30) -> None:
        self._bind(C.make_ma_state(check_int("dema", "period", period, 1), 3))


class TEMA(_Single):
    def __init__(self, period: int = 30) -> None:
        self._bind(C.make_ma_state(check_int("tema", "period", period, 1), 4))


class TRIMA(_Single):
    def __init__(self, period: int = 30) -> None:
        self._bind(C.make_ma_state(check_int("trima", "period", period, 1), 5))


class KAMA(_Single):
    def __init__(self, period: int = 30) -> None:
        self._bind(C.make_ma_state(check_int("kama", "period", period, 1), 6))


class T3(_Single):
    def __init__(self, period: int = 5, vfactor: float = 0.7) -> None:
        period = check_int("t3", "period", period, 1)
        self._bind(C.T3State(period, check_float("t3", "vfactor", vfactor, 0.0, 1.0)))


class MAMA(_Single):
    def __init__(self, fast_limit: float = 0.5, slow_limit: float = 0.05) -> None:
        fast_limit = check_float("mama", "fast_limit", fast_limit, 0.01, 0.99)
        slow_limit = check_float("mama", "slow_limit", slow_limit, 0.01, 0.99)
        self._bind(C.MAMAState(fast_limit, slow_limit))


class MA(_Single):
    def __init__(self, period: int = 30, matype: int = 0) -> None:
        period = check_int("ma", "period", period, 1)
        self._bind(C.make_ma_state(period, check_matype("ma", "matype", matype)))


# =========================================================================================== registry
def _reg_ma(name, kernel, streaming, desc, default=30, talib=None):
    register(
        IndicatorSpec(
            name=name,
            group="overlap",
            inputs=("close",),
            params=(_period_param(default, 1),),
            outputs=(name,),
            kernel=kernel,
            description=desc,
            streaming=streaming,
            talib=talib or name.upper(),
            talib_params={"period": "timeperiod"},
            overlay=True,
        )
    )


_reg_ma("sma", sma, SMA, "Simple moving average: the plain mean of the last `period` closes.")
_reg_ma(
    "ema",
    ema,
    EMA,
    "Exponential moving average (weight 2/(period+1)), seeded with the SMA of the first period closes.",
)
_reg_ma("wma", wma, WMA, "Linearly weighted moving average: the newest close weighs `period`, the oldest 1.")
_reg_ma("dema", dema, DEMA, "Double exponential moving average (2*EMA - EMA of EMA): less lag than an EMA.")
_reg_ma("tema", tema, TEMA, "Triple exponential moving average (3*EMA - 3*EMA2 + EMA3): even less lag.")
_reg_ma(
    "trima",
    trima,
    TRIMA,
    "Triangular moving average: an SMA of an SMA, weighting the middle of the window most.",
)
_reg_ma(
    "kama",
    kama,
    KAMA,
    "Kaufman adaptive moving average: fast in trends, slow in noise, from the efficiency ratio.",
)
register(
    IndicatorSpec(
        name="t3",
        group="overlap",
        inputs=("close",),
        params=(
            _period_param(5, 1),
            Param(
                "vfactor",
                float,
                0.7,
                0.0,
                1.0,
                description="volume factor: 0 = triple EMA, 1 = smoother DEMA-like",
            ),
        ),
        outputs=("t3",),
        kernel=t3,
        description="Tillson T3: six chained EMAs combined for a smooth average with little lag.",
        streaming=T3,
        talib="T3",
        talib_params={"period": "timeperiod", "vfactor": "vfactor"},
        overlay=True,
    )
)
register(
    IndicatorSpec(
        name="mama",
        group="overlap",
        inputs=("close",),
        params=(
            Param("fast_limit", float, 0.5, 0.01, 0.99, description="upper limit of the adaptive alpha"),
            Param("slow_limit", float, 0.05, 0.01, 0.99, description="lower limit of the adaptive alpha"),
        ),
        outputs=("mama", "fama"),
        kernel=mama,
        description="MESA adaptive moving average (Ehlers) and its following average FAMA; crossings signal turns.",
        streaming=MAMA,
        talib="MAMA",
        talib_params={"fast_limit": "fastlimit", "slow_limit": "slowlimit"},
        overlay=True,
    )
)
register(
    IndicatorSpec(
        name="ma",
        group="overlap",
        inputs=("close",),
        params=(_period_param(30, 1), _matype_param()),
        outputs=("ma",),
        kernel=ma,
        description="Moving average of a chosen type (SMA, EMA, WMA, DEMA, TEMA, TRIMA, KAMA, MAMA, T3).",
        streaming=MA,
        talib="MA",
        talib_params={"period": "timeperiod", "matype": "matype"},
        overlay=True,
    )
)


# =========================================================================================== bands & co
def bbands(
    close: np.ndarray, period: int = 20, nbdev_up: float = 2.0, nbdev_dn: float = 2.0, matype: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bollinger Bands (upper, middle, lower) (TA_BBANDS): MA of `matype` +/- nbdev population stddevs."""
    period = check_int("bbands", "period", period, 2)
    nbdev_up = check_float("bbands", "nbdev_up", nbdev_up, -3e37, 3e37)
    nbdev_dn = check_float("bbands", "nbdev_dn", nbdev_dn, -3e37, 3e37)
    matype = check_matype("bbands", "matype", matype)
    x, s = prep(close, "close", "bbands")
    n = len(x)
    up, mid, lo = np.empty(n), np.empty(n), np.empty(n)
    C._bbands_core(x, s, period, nbdev_up, nbdev_dn, matype, C.ma_lookback(period, matype), up, mid, lo)
    return up, mid, lo


def midpoint(close: np.ndarray, period: int = 14) -> np.ndarray:
    """(highest + lowest close) / 2 over `period` bars (TA_MIDPOINT)."""
    period = check_int("midpoint", "period", period, 2)
    x, s = prep(close, "close", "midpoint")
    out = np.empty(len(x))
    C._midpoint_core(x, x, s, period, out)
    return out


def midprice(high: np.ndarray, low: np.ndarray, period: int = 14) -> np.ndarray:
    """(highest high + lowest low) / 2 over `period` bars (TA_MIDPRICE)."""
    period = check_int("midprice", "period", period, 2)
    (h, lo), s = C.prep_many("midprice", high=high, low=low)
    out = np.empty(len(h))
    C._midpoint_core(h, lo, s, period, out)
    return out


def accbands(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Acceleration Bands (upper, middle, lower) (TA_ACCBANDS): SMAs of high*(1+4(h-l)/(h+l)), close, low*(1-...)."""
    period = check_int("accbands", "period", period, 2)
    (h, lo, c), s = C.prep_many("accbands", high=high, low=low, close=close)
    n = len(h)
    up, mid, lw = np.empty(n), np.empty(n), np.empty(n)
    C._accbands_core(h, lo, c, s, period, up, mid, lw)
    return up, mid, lw


def sar(high: np.ndarray, low: np.ndarray, acceleration: float = 0.02, maximum: float = 0.2) -> np.ndarray:
    """Parabolic SAR (TA_SAR)."""
    acceleration = check_float("sar", "acceleration", acceleration, 0.0, 3e37)
    maximum = check_float("sar", "maximum", maximum, 0.0, 3e37)
    (h, lo), s = C.prep_many("sar", high=high, low=low)
    out = np.empty(len(h))
    C._sarext_core(
        h,
        lo,
        s,
        0.0,
        0.0,
        acceleration,
        acceleration,
        maximum,
        acceleration,
        acceleration,
        maximum,
        False,
        out,
    )
    return out


def sarext(
    high: np.ndarray,
    low: np.ndarray,
    start_value: float = 0.0,
    offset_on_reverse: float = 0.0,
    acceleration_init_long: float = 0.02,
    acceleration_long: float = 0.02,
    acceleration_max_long: float = 0.2,
    acceleration_init_short: float = 0.02,
    acceleration_short: float = 0.02,
    acceleration_max_short: float = 0.2,
) -> np.ndarray:
    """Parabolic SAR, extended (TA_SAREXT): separate long/short acceleration; negative values while short."""
    f = "sarext"
    args = (
        check_float(f, "start_value", start_value, -3e37, 3e37),
        check_float(f, "offset_on_reverse", offset_on_reverse, 0.0, 3e37),
        check_float(f, "acceleration_init_long", acceleration_init_long, 0.0, 3e37),
        check_float(f, "acceleration_long", acceleration_long, 0.0, 3e37),
        check_float(f, "acceleration_max_long", acceleration_max_long, 0.0, 3e37),
        check_float(f, "acceleration_init_short", acceleration_init_short, 0.0, 3e37),
        check_float(f, "acceleration_short", acceleration_short, 0.0, 3e37),
        check_float(f, "acceleration_max_short", acceleration_max_short, 0.0, 3e37),
    )
    (h, lo), s = C.prep_many(f, high=high, low=low)
    out = np.empty(len(h))
    C._sarext_core(h, lo, s, *args, True, out)
    return out


def mavp(
    close: np.ndarray, periods: np.ndarray, min_period: int = 2, max_period: int = 30, matype: int = 0
) -> np.ndarray:
    """Moving average with a variable period per bar (TA_MAVP): bar i uses MA(periods[i]) clamped to [min, max]."""
    min_period = check_int("mavp", "min_period", min_period, 1)
    max_period = check_int("mavp", "max_period", max_period, 1)
    matype = check_matype("mavp", "matype", matype)
    if min_period > max_period:
        raise C.ParameterError(
            f"mavp: parameter 'min_period' ({min_period}) must be <= 'max_period' ({max_period})"
        )
    (x, per), s = C.prep_many("mavp", close=close, periods=periods)
    out = np.empty(len(x))
    C._mavp_core(x, per, s, min_period, max_period, matype, C.ma_lookback(max_period, matype), out)
    return out


class BBANDS(_Single):
    def __init__(
        self, period: int = 20, nbdev_up: float = 2.0, nbdev_dn: float = 2.0, matype: int = 0
    ) -> None:
        self._bind(
            C.BBandsState(
                check_int("bbands", "period", period, 2),
                check_float("bbands", "nbdev_up", nbdev_up, -3e37, 3e37),
                check_float("bbands", "nbdev_dn", nbdev_dn, -3e37, 3e37),
                check_matype("bbands", "matype", matype),
            )
        )


class MIDPOINT(_Single):
    def __init__(self, period: int = 14) -> None:
        self._bind(C.MidState(check_int("midpoint", "period", period, 2)))


class MIDPRICE(_Single):
    inputs = ("high", "low")

    def __init__(self, period: int = 14) -> None:
        self._bind(C.MidState(check_int("midprice", "period", period, 2)))


class ACCBANDS(_Single):
    inputs = ("high", "low", "close")

    def __init__(self, period: int = 20) -> None:
        self._bind(C.ACCBandsState(check_int("accbands", "period", period, 2)))


class SAR(_Single):
    inputs = ("high", "low")

    def __init__(self, acceleration: float = 0.02, maximum: float = 0.2) -> None:
        a = check_float("sar", "acceleration", acceleration, 0.0, 3e37)
        m = check_float("sar", "maximum", maximum, 0.0, 3e37)
        self._bind(C.SARState(0.0, 0.0, a, a, m, a, a, m, False))


class SAREXT(_Single):
    inputs = ("high", "low")

    def __init__(
        self,
        start_value: float = 0.0,
        offset_on_reverse: float = 0.0,
        acceleration_init_long: float = 0.02,
        acceleration_long: float = 0.02,
        acceleration_max_long: float = 0.2,
        acceleration_init_short: float = 0.02,
        acceleration_short: float = 0.02,
        acceleration_max_short: float = 0.2,
    ) -> None:
        f = "sarext"
        self._bind(
            C.SARState(
                check_float(f, "start_value", start_value, -3e37, 3e37),
                check_float(f, "offset_on_reverse", offset_on_reverse, 0.0, 3e37),
                check_float(f, "acceleration_init_long", acceleration_init_long, 0.0, 3e37),
                check_float(f, "acceleration_long", acceleration_long, 0.0, 3e37),
                check_float(f, "acceleration_max_long", acceleration_max_long, 0.0, 3e37),
                check_float(f, "acceleration_init_short", acceleration_init_short, 0.0, 3e37),
                check_float(f, "acceleration_short", acceleration_short, 0.0, 3e37),
                check_float(f, "acceleration_max_short", acceleration_max_short, 0.0, 3e37),
                True,
            )
        )


class MAVP(_Single):
    inputs = ("close", "periods")

    def __init__(self, min_period: int = 2, max_period: int = 30, matype: int = 0) -> None:
        lo = check_int("mavp", "min_period", min_period, 1)
        hi = check_int("mavp", "max_period", max_period, 1)
        if lo > hi:
            raise C.ParameterError(f"mavp: parameter 'min_period' ({lo}) must be <= 'max_period' ({hi})")
        self._bind(C.MAVPState(lo, hi, check_matype("mavp", "matype", matype)))


def _f(name, default, lo, hi, desc):
    return Param(name, float, default, lo, hi, description=desc)


register(
    IndicatorSpec(
        name="bbands",
        group="overlap",
        inputs=("close",),
        params=(
            _period_param(20, 2),
            _f("nbdev_up", 2.0, -3e37, 3e37, "standard deviations above the middle band"),
            _f("nbdev_dn", 2.0, -3e37, 3e37, "standard deviations below the middle band"),
            _matype_param(),
        ),
        outputs=("upper", "middle", "lower"),
        kernel=bbands,
        description="Bollinger Bands: a moving average with bands a number of standard deviations above and below.",
        streaming=BBANDS,
        talib="BBANDS",
        talib_params={
            "period": "timeperiod",
            "nbdev_up": "nbdevup",
            "nbdev_dn": "nbdevdn",
            "matype": "matype",
        },
        overlay=True,
    )
)
register(
    IndicatorSpec(
        name="midpoint",
        group="overlap",
        inputs=("close",),
        params=(_period_param(14, 2),),
        outputs=("midpoint",),
        kernel=midpoint,
        description="Midpoint of the highest and lowest close over the period.",
        streaming=MIDPOINT,
        talib="MIDPOINT",
        talib_params={"period": "timeperiod"},
        overlay=True,
    )
)
register(
    IndicatorSpec(
        name="midprice",
        group="overlap",
        inputs=("high", "low"),
        params=(_period_param(14, 2),),
        outputs=("midprice",),
        kernel=midprice,
        description="Midpoint of the highest high and lowest low over the period.",
        streaming=MIDPRICE,
        talib="MIDPRICE",
        talib_params={"period": "timeperiod"},
        overlay=True,
    )
)
register(
    IndicatorSpec(
        name="accbands",
        group="overlap",
        inputs=("high", "low", "close"),
        params=(_period_param(20, 2),),
        outputs=("upper", "middle", "lower"),
        kernel=accbands,
        description="Acceleration Bands (Headley): SMA of close with bands widened by the bar's relative range.",
        streaming=ACCBANDS,
        talib="ACCBANDS",
        talib_params={"period": "timeperiod"},
        overlay=True,
    )
)
register(
    IndicatorSpec(
        name="sar",
        group="overlap",
        inputs=("high", "low"),
        params=(
            _f("acceleration", 0.02, 0.0, 3e37, "acceleration factor step (and initial value)"),
            _f("maximum", 0.2, 0.0, 3e37, "maximum acceleration factor"),
        ),
        outputs=("sar",),
        kernel=sar,
        description="Parabolic SAR (Wilder): a trailing stop that accelerates toward price; a cross flips the trend.",
        streaming=SAR,
        talib="SAR",
        talib_params={"acceleration": "acceleration", "maximum": "maximum"},
        overlay=True,
    )
)
register(
    IndicatorSpec(
        name="sarext",
        group="overlap",
        inputs=("high", "low"),
        params=(
            _f(
                "start_value",
                0.0,
                -3e37,
                3e37,
                "initial SAR (0 = automatic; >0 start long; <0 start short at |value|)",
            ),
            _f("offset_on_reverse", 0.0, 0.0, 3e37, "fraction added to the SAR when the trend reverses"),
            _f("acceleration_init_long", 0.02, 0.0, 3e37, "initial acceleration factor, long"),
            _f("acceleration_long", 0.02, 0.0, 3e37, "acceleration step, long"),
            _f("acceleration_max_long", 0.2, 0.0, 3e37, "maximum acceleration, long"),
            _f("acceleration_init_short", 0.02, 0.0, 3e37, "initial acceleration factor, short"),
            _f("acceleration_short", 0.02, 0.0, 3e37, "acceleration step, short"),
            _f("acceleration_max_short", 0.2, 0.0, 3e37, "maximum acceleration, short"),
        ),
        outputs=("sarext",),
        kernel=sarext,
        description="Parabolic SAR with separate long/short accelerations; the value is negative while short.",
        streaming=SAREXT,
        talib="SAREXT",
        talib_params={
            "start_value": "startvalue",
            "offset_on_reverse": "offsetonreverse",
            "acceleration_init_long": "accelerationinitlong",
            "acceleration_long": "accelerationlong",
            "acceleration_max_long": "accelerationmaxlong",
            "acceleration_init_short": "accelerationinitshort",
            "acceleration_short": "accelerationshort",
            "acceleration_max_short": "accelerationmaxshort",
        },
        overlay=True,
    )
)
register(
    IndicatorSpec(
        name="mavp",
        group="overlap",
        inputs=("close", "periods"),  # 'periods': a column of per-bar periods
        params=(
            Param("min_period", int, 2, 1, MAX_PERIOD, description="smallest period used"),
            Param("max_period", int, 30, 1, MAX_PERIOD, description="largest period used"),
            _matype_param(),
        ),
        outputs=("mavp",),
        kernel=mavp,
        description="Moving average whose period changes bar by bar (column 'periods'), clamped to [min, max].",
        streaming=MAVP,
        talib="MAVP",
        talib_params={"min_period": "minperiod", "max_period": "maxperiod", "matype": "matype"},
        overlay=True,
    )
)
