"""The backtest report's chart: price (candles) with the overlay indicators, volume, one pane per oscillator, equity
(with buy & hold) and drawdown, all on one time axis.

Where an indicator goes: the catalog says (`IndicatorSpec.overlay`): moving averages, bands, VWAP... are drawn on the
price axis; oscillators (RSI, MACD, ROC...) get a pane of their own, with their usual reference levels (RSI 30/70)
or a zero line. The strategy's `indicators()` declarations map each recorded series (`key`, `key.output`,
`SYMBOL:key...`) to its catalog entry; a series that cannot be mapped (a custom strategy's own series) goes on the
price axis only when its values lie in the price range.

Trade markers sit off the candles (buys below the candle's low, sells above its high, like a trading terminal's
bar markers) so the candles stay visible; the fill price is in the hover text. One marker per entry and per exit
while they are sparse; when there are more than `max_markers` (and at most a third of the candles drawn), the
events of each kind are AGGREGATED into buckets of consecutive candles: one marker per bucket (below the bucket's
lowest low / above its highest high), sized by the count, with the count and the average fill price in the hover
text. Every trade is still represented: the counts (each
trace's `customdata[:, 0]`) add up to the number of entries and exits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.backtest.plot_theme import COLORS, PALETTE

MAX_MARKERS = 200
# usual reference levels of bounded oscillators (catalog name -> levels)
REFERENCE_LEVELS: dict[str, tuple[float, ...]] = {
    "rsi": (30.0, 70.0), "mfi": (20.0, 80.0), "stoch": (20.0, 80.0), "stochf": (20.0, 80.0),
    "stochrsi": (20.0, 80.0), "willr": (-80.0, -20.0), "cci": (-100.0, 100.0), "ultosc": (30.0, 70.0),
    "cmo": (-50.0, 50.0), "adx": (25.0,),
}
BOUNDED = {"rsi": (0.0, 100.0), "mfi": (0.0, 100.0), "stoch": (0.0, 100.0), "stochf": (0.0, 100.0),
           "stochrsi": (0.0, 100.0), "ultosc": (0.0, 100.0), "willr": (-100.0, 0.0), "aroon": (0.0, 100.0)}


@dataclass
class Pane:
    """One group of series: `overlay` ones share the price axis; the others get their own pane."""

    key: str
    title: str
    overlay: bool
    series: dict[str, pd.Series] = field(default_factory=dict)  # output name -> values
    levels: tuple[float, ...] = ()
    bounds: tuple[float, float] | None = None
    catalog: str | None = None


def _declarations(result: Any) -> dict[str, Any]:
    """The strategy's `indicators()` as {key: Ind} (per-symbol groups as {"SYM:key": Ind}); {} when unknown."""
    from quantdesk.strategies.base import Ind

    try:
        from quantdesk.strategies.loader import create_strategy

        strat = create_strategy(result.config.strategy, dict(result.config.params or {}))
        decls = dict(strat.indicators() or {})
    except Exception:  # noqa: BLE001 - a strategy we cannot rebuild here: fall back to the value-range rule
        return {}
    out: dict[str, Any] = {}
    for key, decl in decls.items():
        if isinstance(decl, Ind):
            out[str(key)] = decl
        elif isinstance(decl, dict):
            for k2, d2 in decl.items():
                if isinstance(d2, Ind):
                    out[f"{key}:{k2}"] = d2
    return out


def _title(decl: Any, spec: Any) -> str:
    params = ", ".join(str(v) for v in (decl.params or {}).values())
    return f"{spec.name.upper()}({params})" if params else spec.name.upper()


def _in_price_range(values: pd.Series, low: float, high: float) -> bool:
    v = values.to_numpy(dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v) or not (math.isfinite(low) and math.isfinite(high)):
        return False
    span = high - low
    return bool(np.min(v) >= low - span and np.max(v) <= high + span and low <= float(np.median(v)) <= high)


def indicator_panes(result: Any, price_low: float = math.nan, price_high: float = math.nan,
                    symbol: str | None = None) -> list[Pane]:
    """Group `result.indicators` by declaration: overlays first, then one pane per oscillator."""
    from quantdesk.indicators import registry

    decls = _declarations(result)
    panes: dict[str, Pane] = {}
    for name, series in (result.indicators or {}).items():
        s = pd.Series(series).astype("float64")
        sym, _, rest = str(name).rpartition(":") if ":" in str(name) else ("", "", str(name))
        key, _, output = rest.partition(".")
        decl = decls.get(key) or decls.get(f"{sym}:{key}")
        spec = None
        if decl is not None:
            try:
                spec = registry.get(decl.name)
            except Exception:  # noqa: BLE001 - not in the catalog (a provider missing): range rule below
                spec = None
        group = f"{sym}:{key}" if sym else key
        other_symbol = bool(sym and symbol and sym != symbol)
        if spec is not None:
            overlay = bool(spec.overlay) and not other_symbol
            title = _title(decl, spec)
            levels = REFERENCE_LEVELS.get(spec.name, ())
            bounds = BOUNDED.get(spec.name)
            catalog = spec.name
        else:
            overlay = not other_symbol and _in_price_range(s, price_low, price_high)
            title, levels, bounds, catalog = key, (), None, None
        if sym:
            title = f"{sym} {title}"
        pane = panes.setdefault(group, Pane(group, title, overlay, levels=levels, bounds=bounds, catalog=catalog))
        pane.series[output or key] = s
    ordered = [p for p in panes.values() if p.overlay] + [p for p in panes.values() if not p.overlay]
    return ordered


# ---- trade markers ---------------------------------------------------------------------------------------------
@dataclass
class MarkerSet:
    """The markers of one kind of event (e.g. long entries): one point per event or per bucket of events."""

    name: str
    symbol: str
    color: str
    x: list[Any]
    y: np.ndarray  # where the marker is drawn: the fill price, or off the candles when aggregated
    counts: np.ndarray  # events each point stands for
    first: list[Any]
    last: list[Any]
    avg_price: np.ndarray  # mean fill price of the events of each point

    @property
    def events(self) -> int:
        return int(self.counts.sum())


MARKER_KINDS = (
    # name, side, time column, price column, symbol, colour, closed only, a buy (drawn below the candles)
    ("long entry", "long", "entry_time", "entry_price", "triangle-up", COLORS["up"], False, True),
    ("long exit", "long", "exit_time", "exit_price", "triangle-down", COLORS["exit"], True, False),
    ("short entry", "short", "entry_time", "entry_price", "triangle-down", COLORS["down"], False, False),
    ("short exit", "short", "exit_time", "exit_price", "triangle-up", COLORS["exit"], True, True),
)


def trade_markers(trades: pd.DataFrame, candle_times: pd.DatetimeIndex, max_markers: int = MAX_MARKERS, *,
                  lows: np.ndarray | None = None, highs: np.ndarray | None = None) -> tuple[list[MarkerSet], int]:
    """Markers of the trades' entries and exits; returns (sets, candles per bucket: 0 = not aggregated).
    `lows` / `highs` (per candle) place aggregated markers off the candles."""
    if trades is None or not len(trades):
        return [], 0
    side = trades["side"].astype(str).str.lower().to_numpy()
    is_open = trades["is_open"].astype(bool).to_numpy() if "is_open" in trades else np.zeros(len(trades), bool)
    events = []
    for name, sd, tcol, pcol, shape, color, closed_only, buy in MARKER_KINDS:
        mask = side == sd
        if closed_only:
            mask &= ~is_open
        t = pd.to_datetime(trades.loc[mask, tcol], utc=True)
        p = pd.to_numeric(trades.loc[mask, pcol], errors="coerce").to_numpy(dtype=np.float64)
        ok = ~t.isna().to_numpy() & np.isfinite(p)
        events.append((name, shape, color, pd.DatetimeIndex(t[ok]), p[ok], buy))
    total = sum(len(e[3]) for e in events)
    limit = max(20, min(int(max_markers), max(1, len(candle_times) // 3)))
    times = candle_times.as_unit("ns").asi8 if len(candle_times) else np.zeros(0, dtype=np.int64)

    def positions(t: pd.DatetimeIndex) -> np.ndarray:
        if not len(times):
            return np.zeros(len(t), dtype=np.int64)
        return np.clip(np.searchsorted(times, t.as_unit("ns").asi8, side="right") - 1, 0, len(times) - 1)

    bucket = 0
    if total > limit:
        bucket = 1
        while True:
            used = sum(len(np.unique(positions(e[3]) // bucket)) for e in events)
            if used <= limit or bucket >= max(1, len(times)):
                break
            bucket *= 2
    have_range = lows is not None and highs is not None and len(lows) == len(times) and len(times) > 0
    if have_range:
        lo_all, hi_all = float(np.nanmin(lows)), float(np.nanmax(highs))  # type: ignore[arg-type]
        pad = 0.02 * (hi_all - lo_all) if hi_all > lo_all else 0.0
    out = []
    for name, shape, color, t, p, buy in events:
        if not len(t):
            continue
        order = np.argsort(t.as_unit("ns").asi8, kind="stable")
        t, p = t[order], p[order]
        if bucket == 0:
            ones = np.ones(len(t), dtype=np.int64)
            y = p
            if have_range:
                pos = positions(t)
                y = np.asarray(lows, dtype=np.float64)[pos] - pad if buy else \
                    np.asarray(highs, dtype=np.float64)[pos] + pad
            out.append(MarkerSet(name, shape, color, list(t), y, ones, list(t), list(t), p))
            continue
        groups = positions(t) // bucket
        _, start, counts = np.unique(groups, return_index=True, return_counts=True)
        avg = np.add.reduceat(p, start) / counts
        y = avg
        if have_range:
            cuts = np.arange(0, len(times), bucket)
            g = groups[start]
            if buy:
                y = np.minimum.reduceat(np.asarray(lows, dtype=np.float64), cuts)[g] - pad
            else:
                y = np.maximum.reduceat(np.asarray(highs, dtype=np.float64), cuts)[g] + pad
        last_idx = start + counts - 1
        out.append(MarkerSet(name, shape, color, [t[i] for i in start], y, counts.astype(np.int64),
                             [t[i] for i in start], [t[i] for i in last_idx], avg))
    return out, bucket


def marker_traces(sets: list[MarkerSet], currency: str | None, precision: int) -> list[Any]:
    """Plotly traces of the marker sets (size grows with the count of an aggregated marker)."""
    import plotly.graph_objects as go

    traces = []
    unit = f" {currency}" if currency else ""
    for ms in sets:
        sizes = np.clip(9 + 1.5 * np.sqrt(ms.counts - 1), 9, 18)
        custom = [[int(c), _when(a), _when(b), float(v)]
                  for c, a, b, v in zip(ms.counts, ms.first, ms.last, ms.avg_price, strict=True)]
        many = bool((ms.counts > 1).any())
        hover = (f"{ms.name}: %{{customdata[0]}} trade(s)<br>%{{customdata[1]}} to %{{customdata[2]}}<br>"
                 f"average fill %{{customdata[3]:,.{precision}f}}{unit}<extra></extra>" if many else
                 f"{ms.name}<br>%{{customdata[1]}}<br>fill %{{customdata[3]:,.{precision}f}}{unit}<extra></extra>")
        traces.append(go.Scatter(
            x=ms.x, y=ms.y, mode="markers", name=f"{ms.name} ({ms.events:,})", customdata=custom,
            hovertemplate=hover, meta={"kind": "trades", "events": ms.events},
            marker={"symbol": ms.symbol, "size": sizes, "color": ms.color, "opacity": 0.85,
                    "line": {"width": 0.5, "color": COLORS["bg"]}}))
    return traces


def _when(t: Any) -> str:
    return pd.Timestamp(t).strftime("%Y-%m-%d %H:%M")


def pane_color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


__all__ = ["MAX_MARKERS", "MarkerSet", "Pane", "indicator_panes", "marker_traces", "trade_markers"]
