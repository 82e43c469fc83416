"""Stress tests of a book over stored candles, by scenario text: the one runner of `quantdesk risk stress` and of
GET /api/v1/risk/stress.

Scenarios: crash:SHOCK, flash:DROP:RECOVERY, corr-breakdown:VOL_FACTOR, replay:NAME|all, file:PATH (see
quantdesk.risk.portfolio.stress). All are parsed before any candle is loaded, so a typo fails fast and names the scenario.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, ParameterError

MIN_RETURNS = 10
DEFAULT_STRESS = ("crash:-0.3", "flash:-0.2:0.5", "corr-breakdown:2.0", "replay:all")


def load_close(symbol: str, timeframe: str, exchange: str | None, start: str | None, end: str | None) -> pd.Series:
    from quantdesk.data import load

    df = load(symbol, timeframe, exchange=exchange, start=start, end=end)
    if df is None or len(df) == 0:
        span = f" between {start or 'the start'} and {end or 'the end'}" if (start or end) else ""
        raise DataError(f"no {timeframe} candles for {symbol}{span}")
    return df["close"].astype("float64")


def rows_note(info: dict[str, Any]) -> str:
    per = ", ".join(f"{k}: {v}" for k, v in info["rows"].items())
    return f"aligned on common timestamps (inner join): kept {info['rows_kept']} rows ({per})"


def _num(text: str, what: str, scenario: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParameterError(f"scenario {scenario!r}: {what} {text!r} is not a number") from None


def run_stress(
    scenarios: list[str], symbols: list[str], weights: np.ndarray, value: float, timeframe: str,
    exchange: str | None, start: str | None, end: str | None, betas: dict[str, float],
) -> dict[str, Any]:
    from quantdesk.risk.portfolio import stress as st
    from quantdesk.risk.portfolio.scenarios import load_scenarios

    if not value > 0:
        raise ParameterError(f"--value must be > 0, got {value:g}")
    unknown = [k for k in betas if k not in symbols]
    if unknown:
        raise ParameterError(f"--non-crypto: {', '.join(unknown)} not in --symbols")
    book = dict(zip(symbols, (weights * value).tolist(), strict=True))
    parsed = [(s, *st.parse_scenario(s)) for s in scenarios]  # validate all before loading anything
    need_prices = any(k in ("replay", "corr-breakdown") for _, k, _ in parsed)
    full: dict[str, pd.Series] = {}
    rets: pd.DataFrame | None = None
    info: dict[str, Any] = {}
    if need_prices:
        full = {s: load_close(s, timeframe, exchange, None, None) for s in symbols}
    results = []
    for text, kind, args in parsed:
        if kind == "crash":
            if len(args) != 1:
                raise ParameterError(f"scenario {text!r}: use crash:SHOCK, e.g. crash:-0.3")
            results.append(st.market_crash(book, _num(args[0], "shock", text), betas))
        elif kind == "flash":
            if len(args) not in (1, 2):
                raise ParameterError(f"scenario {text!r}: use flash:DROP:RECOVERY, e.g. flash:-0.2:0.5")
            rec = _num(args[1], "recovery", text) if len(args) == 2 else 0.5
            results.append(st.flash_crash(book, _num(args[0], "drop", text), rec, betas))
        elif kind == "corr-breakdown":
            if len(args) > 1:
                raise ParameterError(f"scenario {text!r}: use corr-breakdown:VOL_FACTOR, e.g. corr-breakdown:2.0")
            if rets is None:
                from quantdesk.core.timeutil import parse_utc
                from quantdesk.risk.portfolio.analytics import align_prices, to_returns

                lo = parse_utc(start, name="--start") if start else None
                hi = parse_utc(end, name="--end") if end else None
                prices, info = align_prices({k: v.loc[lo:hi] for k, v in full.items()})
                if info["rows_kept"] < MIN_RETURNS + 1:
                    raise DataError(f"corr-breakdown: only {info['rows_kept']} common timestamps across {', '.join(symbols)}")
                rets = to_returns(prices)
            r = st.correlation_breakdown(rets, weights, value=value, vol_factor=_num(args[0], "volatility factor", text) if args else 2.0)
            r.extra["alignment"] = rows_note(info)
            results.append(r)
        elif kind == "replay":
            if len(args) != 1:
                raise ParameterError(f"scenario {text!r}: use replay:NAME or replay:all ({', '.join(st.EPISODES)})")
            names = list(st.EPISODES) if args[0] == "all" else [args[0]]
            results.extend(st.historical_replay(book, full, n) for n in names)
        elif kind == "file":
            if not args:
                raise ParameterError(f"scenario {text!r}: use file:PATH")
            results.extend(st.user_scenario(book, spec) for spec in load_scenarios(args[0]))
    return {"book": book, "value": value, "timeframe": timeframe, "scenarios": [r.to_dict() for r in results]}
