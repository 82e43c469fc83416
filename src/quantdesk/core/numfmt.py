"""Numbers for people: one set of rules for CLI tables and HTML reports, so a figure reads the same everywhere.

    format_key("total_return_pct", 12.3456)        -> "12.35%"
    format_key("final_equity", 10523.456)          -> "10,523.46"
    format_key("entry_price", 0.00001234)          -> "0.00001234"   (shortest exact decimals, at most 8)
    format_value(0.153, "fraction")                -> "15.30%"
    metric_label("final_equity", currency="USDT")  -> "Final equity (USDT)"

Rules: percentages 2 decimals and a `%` (`_pct` keys are in percent units, except the risk layer's limits and
stress results, which are fractions: FRACTION_KEYS); money 2 decimals with thousands separators; prices at the
instrument's precision (the decimals the values need, or the precision given); ratios 2 decimals (Sharpe,
profit factor...) or 3 (beta, correlation, weights, probabilities); quantities up to 8 decimals without trailing
zeros (`0`, never `0E-8`). Integers print as they are (ids and counts stay greppable). JSON output never goes
through this module: it keeps full precision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Literal

Kind = Literal["pct", "fraction", "money", "price", "qty", "ratio", "ratio3", "count", "bars", "days", "hours",
               "general"]

# label, kind: the backtest metrics (quantdesk.backtest.metrics) and a few research figures
METRICS: dict[str, tuple[str, Kind]] = {
    "start_equity": ("Start equity", "money"),
    "final_equity": ("Final equity", "money"),
    "total_return_pct": ("Total return", "pct"),
    "annual_return_pct": ("Annual return, CAGR", "pct"),
    "annual_volatility_pct": ("Annual volatility", "pct"),
    "sharpe": ("Sharpe ratio (annualised)", "ratio"),
    "sortino": ("Sortino ratio (annualised)", "ratio"),
    "calmar": ("Calmar ratio", "ratio"),
    "max_drawdown_pct": ("Max drawdown", "pct"),
    "max_drawdown_duration_bars": ("Longest drawdown", "bars"),
    "max_drawdown_duration_days": ("Longest drawdown", "days"),
    "num_trades": ("Closed trades", "count"),
    "open_trades": ("Open trades", "count"),
    "win_rate_pct": ("Win rate", "pct"),
    "profit_factor": ("Profit factor", "ratio"),
    "expectancy": ("Expectancy per trade", "money"),
    "avg_win": ("Average win", "money"),
    "avg_loss": ("Average loss", "money"),
    "best_trade_pct": ("Best trade", "pct"),
    "worst_trade_pct": ("Worst trade", "pct"),
    "avg_holding_hours": ("Average holding time", "hours"),
    "avg_holding_bars": ("Average holding time", "bars"),
    "exposure_pct": ("Time in the market", "pct"),
    "var_95_pct": ("VaR 95% of one bar", "pct"),
    "cvar_95_pct": ("CVaR 95% of one bar", "pct"),
    "buy_and_hold_return_pct": ("Buy & hold return", "pct"),
    "total_fees": ("Fees paid", "money"),
    "periods_per_year": ("Bars per year", "general"),
    "bars": ("Bars", "count"),
    "duration_days": ("Duration", "days"),
    "final_return_pct": ("Final return", "pct"),
    "wfe": ("Walk-forward efficiency", "ratio"),
    "dsr": ("Deflated Sharpe ratio", "ratio3"),
    "psr": ("Probabilistic Sharpe ratio", "ratio3"),
    "pbo": ("Probability of backtest overfitting", "ratio3"),
}

# `_pct` keys of the risk layer that hold FRACTIONS (0.15 = 15%): limits, stress results, heat
FRACTION_KEYS = frozenset({
    "max_position_pct", "max_gross_exposure_pct", "daily_loss_pct", "price_band_pct", "stop_pct", "risk_pct",
    "total_pct", "trough_pct", "heat_pct",
})
_MONEY = ("pnl", "value", "equity", "cash", "fees", "fee_paid", "expectancy", "avg_win", "avg_loss", "allocation",
          "heat", "notional", "balance", "commission", "var_value", "cvar_value")
_PRICES = ("price", "open", "high", "low", "close", "entry", "exit", "stop", "last", "bid", "ask", "mark", "limit_price")
_QTY = ("quantity", "qty", "size", "amount", "filled", "filled_qty", "volume", "position")
_RATIO2 = ("sharpe", "sortino", "calmar", "profit_factor", "wfe", "sharpe_ratio")
_RATIO3 = ("beta", "corr", "correlation", "weight", "ratio", "skew", "skewness", "kurtosis", "dsr", "psr", "pbo",
           "probability", "prob_loss", "prob_ruin", "risk_contribution")
_UNIT_TEXT = {"pct": "%", "fraction": "%", "bars": "bars", "days": "days", "hours": "hours"}


def _norm(key: str) -> str:
    return str(key).strip().lower().replace(" ", "_").replace("-", "_")


def infer_kind(key: str | None) -> Kind:
    """The kind of a value from its key (column or field name); 'general' when the name says nothing."""
    if not key:
        return "general"
    k = _norm(key)
    if k in METRICS:
        return METRICS[k][1]
    leaf = k.rsplit(".", 1)[-1]
    if leaf.endswith("_pct") or leaf in ("pct", "%") or leaf.endswith("_%"):
        if leaf in FRACTION_KEYS or k.startswith("risk."):
            return "fraction"
        return "pct"
    if leaf in _RATIO2 or any(leaf.endswith("_" + r) for r in _RATIO2):
        return "ratio"
    if leaf in _RATIO3 or any(leaf.endswith("_" + r) or leaf.startswith(r + "_") for r in _RATIO3):
        return "ratio3"
    if leaf in _PRICES or leaf.endswith("_price") or leaf.startswith("price_"):
        return "price"
    if leaf in _MONEY or any(leaf.endswith("_" + m) for m in _MONEY):
        return "money"
    if leaf in _QTY or any(leaf.endswith("_" + q) for q in _QTY):
        return "qty"
    if leaf.endswith("_days"):
        return "days"
    if leaf.endswith("_hours"):
        return "hours"
    if leaf.endswith("_bars"):
        return "bars"
    return "general"


def metric_label(key: str, currency: str | None = None) -> str:
    """A metric's name for people, with its unit: "Total return (%)", "Final equity (USDT)"."""
    k = _norm(key)
    if k in METRICS:
        label, kind = METRICS[k]
    else:
        kind = infer_kind(k)
        base = k[:-4] if k.endswith("_pct") else k
        label = base.replace("_", " ").strip().capitalize()
    unit = _UNIT_TEXT.get(kind)
    if kind == "money" and currency:
        unit = currency
    return f"{label} ({unit})" if unit else label


def quote_currency(symbol: str | None) -> str | None:
    """'BTC/USDT' -> 'USDT' (the account currency of a backtest); 'ETH/BTC,LTC/BTC' -> 'BTC' (one quote for all);
    None when unknown or mixed."""
    if not symbol:
        return None
    quotes = set()
    for part in str(symbol).split(","):
        if "/" not in part:
            return None
        quotes.add(part.split("/", 1)[1].split(":", 1)[0].strip())
    return quotes.pop() if len(quotes) == 1 and "" not in quotes else None


def decimals_needed(values: Iterable[Any], max_decimals: int = 8) -> int:
    """Decimals the values need to print exactly (their shortest repr), at most `max_decimals`: the precision of
    prices read from a venue or a file (a tick of 0.01 gives 2)."""
    best = 0
    for i, v in enumerate(values):
        if i >= 2000:
            break
        if v is None or isinstance(v, bool):
            continue
        if isinstance(v, Decimal):
            if not v.is_finite():
                continue
            exp = v.normalize().as_tuple().exponent
            best = max(best, -exp if isinstance(exp, int) and exp < 0 else 0)
        else:
            try:
                f = float(v)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(f):
                continue
            text = repr(f)
            if "e" in text or "E" in text:
                mant, _, exp_txt = text.lower().partition("e")
                frac = len(mant.split(".", 1)[1]) if "." in mant else 0
                best = max(best, frac - int(exp_txt))
            elif "." in text:
                frac_part = text.split(".", 1)[1].rstrip("0")
                best = max(best, len(frac_part))
        if best >= max_decimals:
            return max_decimals
    return min(max(best, 0), max_decimals)


def _group(text: str) -> str:
    """Thousands separators on a plain decimal string ("-1234.5" -> "-1,234.5"); "-0" -> "0"."""
    neg = text.startswith("-")
    whole, dot, frac = text.lstrip("-").partition(".")
    frac = frac.rstrip("0")
    out = f"{int(whole or 0):,}" + ("." + frac if frac else "")
    return "0" if out == "0" else ("-" if neg else "") + out


def _fixed(v: float, decimals: int) -> str:
    """Fixed decimals with thousands separators; a value that rounds to zero prints without a sign."""
    r = round(v, decimals)
    return f"{(r if r != 0 else 0.0):,.{decimals}f}"


def _strip(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_value(value: Any, kind: Kind = "general", *, precision: int | None = None, signed: bool = False) -> str:
    """One value as text (see the module docstring); None / NaN -> "-", infinities -> "inf" / "-inf"."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            return "-" if value.is_nan() else ("inf" if value > 0 else "-inf")
        if kind in ("qty", "general") or (kind == "price" and precision is None):
            return _group(format(value.normalize(), "f"))  # exact: Decimal('0E-8') -> "0"
        value = float(value)
    if isinstance(value, int) and kind in ("general", "qty", "bars", "price"):
        return str(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        v = 0.0  # no "-0.00"
    sign = "+" if signed and v > 0 else ""
    if kind == "pct":
        return f"{sign}{_fixed(v, 2)}%"
    if kind == "fraction":
        return f"{sign}{_fixed(v * 100, 2)}%"
    if kind == "money":
        return sign + _fixed(v, 2)
    if kind == "price":
        p = decimals_needed([v]) if precision is None else max(0, min(int(precision), 12))
        return sign + _fixed(v, p)
    if kind == "qty":
        return sign + _strip(f"{v:,.8f}")
    if kind == "ratio":
        return sign + _fixed(v, 2)
    if kind == "ratio3":
        return sign + _fixed(v, 3)
    if kind == "count":
        return f"{sign}{round(v):,}"
    if kind in ("bars", "days", "hours"):
        return f"{sign}{round(v):,}" if float(v).is_integer() else f"{sign}{v:,.1f}"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1e5:
        return f"{sign}{v:,.0f}"
    decimals = min(10, max(2, 5 - math.floor(math.log10(a))))
    return sign + _strip(f"{v:,.{decimals}f}")


def format_key(key: str | None, value: Any, *, precision: int | None = None, signed: bool = False) -> str:
    """`format_value` with the kind inferred from the key."""
    return format_value(value, infer_kind(key), precision=precision, signed=signed)


__all__ = ["FRACTION_KEYS", "METRICS", "Kind", "decimals_needed", "format_key", "format_value", "infer_kind",
           "metric_label", "quote_currency"]
