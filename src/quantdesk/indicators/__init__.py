"""Technical indicators: TA-Lib-exact numba kernels, streaming twins, candlestick patterns.

    from quantdesk.indicators import catalog, compute, stream
    compute("rsi", df, period=14)          # DataFrame, one column per output
    rsi = stream("rsi", period=14); rsi.update(bar)
"""

from quantdesk.indicators.registry import IndicatorSpec, Param, catalog, compute, get, register, specs, stream

__all__ = ["IndicatorSpec", "Param", "catalog", "compute", "get", "register", "specs", "stream"]
