"""report.html of a backtest: one self-contained page in the dashboard's dark theme (plotly.js embedded, opens
offline).

Contents: the headline figures as cards; one chart on one time axis (candles with the overlay indicators and the
trade markers, volume, a pane per oscillator, equity with buy & hold, drawdown; see report_figures); every metric
with its unit; the trades; the run events; the configuration. Big data: at most `max_candles` candles, each
aggregating consecutive bars (said on the page); dense trade markers aggregated (said on the page).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.backtest import plot_theme as th
from quantdesk.backtest.report_figures import (
    MAX_MARKERS,
    indicator_panes,
    marker_traces,
    pane_color,
    trade_markers,
)
from quantdesk.core.numfmt import decimals_needed, format_key, metric_label, quote_currency

MAX_CANDLES = 5_000
MAX_TRADE_ROWS = 1_000
HEADLINE = ("total_return_pct", "annual_return_pct", "sharpe", "max_drawdown_pct", "num_trades", "win_rate_pct",
            "profit_factor", "final_equity", "buy_and_hold_return_pct", "exposure_pct")
SIGNED = {"total_return_pct", "annual_return_pct", "sharpe", "sortino", "calmar", "expectancy",
          "buy_and_hold_return_pct", "best_trade_pct", "worst_trade_pct"}
TRADE_TABLE = (("side", "Side"), ("entry_time", "Entry (UTC)"), ("exit_time", "Exit (UTC)"),
               ("entry_price", "Entry price"), ("exit_price", "Exit price"), ("quantity", "Quantity"),
               ("fees", "Fees"), ("pnl", "P&L"), ("return_pct", "Return (%)"), ("bars_held", "Bars held"),
               ("status", "Status"))


def downsample_ohlc(df: pd.DataFrame, max_candles: int = MAX_CANDLES) -> tuple[pd.DataFrame, int]:
    """Aggregate consecutive bars into at most `max_candles` candles (open first, high max, low min, close last,
    volume sum; stamped with the first bar's time). Returns (frame, bars per candle)."""
    n = len(df)
    if n <= max_candles:
        return df, 1
    step = math.ceil(n / max_candles)
    groups = np.arange(n) // step
    g = df.groupby(groups, sort=True)
    out = pd.DataFrame(
        {
            "open": g["open"].first().to_numpy(),
            "high": g["high"].max().to_numpy(),
            "low": g["low"].min().to_numpy(),
            "close": g["close"].last().to_numpy(),
        },
        index=df.index[::step],
    )
    if "volume" in df:
        out["volume"] = g["volume"].sum().to_numpy()
    return out, step


def every(series: pd.Series, step: int, how: str = "last") -> pd.Series:
    """One value per `step` consecutive points (the bucket's last / min / max), stamped with the bucket's first time,
    and the very last point kept, so a downsampled curve still ends where the run ends."""
    if step <= 1:
        return series
    n = len(series)
    groups = np.arange(n) // step
    agg = getattr(series.groupby(groups), how)()
    out = pd.Series(agg.to_numpy(), index=series.index[::step][: len(agg)])
    if len(series) and out.index[-1] != series.index[-1]:
        out = pd.concat([out, series.iloc[-1:]])
    return out


def _bars(data: pd.DataFrame) -> pd.DataFrame:
    cols = {str(c).lower(): c for c in data.columns}
    bars = pd.DataFrame({k: data[cols[k]].astype("float64") for k in ("open", "high", "low", "close") if k in cols},
                        index=data.index)
    if "volume" in cols:
        bars["volume"] = data[cols["volume"]].astype("float64")
    return bars


def build_figure(result: Any, data: pd.DataFrame | None = None, *, max_candles: int = MAX_CANDLES,
                 max_markers: int | None = None) -> tuple[Any, list[str]]:
    """The report's chart and the notes to print above it (aggregation)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    symbol = result.data_info.get("symbol", result.config.symbol)
    currency = quote_currency(symbol)
    unit = f" ({currency})" if currency else ""
    notes: list[str] = []
    symbols = list(result.data_info.get("symbols") or [])
    chart_symbol = str(symbol) if symbol else None
    trades = result.trades
    if isinstance(data, Mapping):  # several instruments: the chart shows the first (the strategy's default)
        symbols = symbols or [str(k) for k in data]
        data = data[next(iter(data))] if data else None
    if len(symbols) > 1:
        chart_symbol = symbols[0]
        if "symbol" in trades and len(trades):
            trades = trades[trades["symbol"].astype(str) == chart_symbol]
        unit_price = quote_currency(chart_symbol)
        notes.append(f"{len(symbols)} instruments traded; the chart shows {chart_symbol} with its trades, the "
                     f"equity is the whole account's (every trade is in the table).")
        if unit_price:
            unit = f" ({unit_price})"
    candles, step = None, 1
    if data is not None and len(data) and {"open", "high", "low", "close"} <= {str(c).lower() for c in data.columns}:
        bars = _bars(data)
        candles, step = downsample_ohlc(bars, max_candles)
        if step > 1:
            notes.append(f"{len(bars):,} bars are shown as {len(candles):,} candles of {step} bars each "
                         f"(OHLC aggregated: first open, highest high, lowest low, last close).")
    low = float(candles["low"].min()) if candles is not None else math.nan
    high = float(candles["high"].max()) if candles is not None else math.nan
    panes = indicator_panes(result, low, high, symbol=chart_symbol)
    overlays = [p for p in panes if p.overlay]
    oscillators = [p for p in panes if not p.overlay]
    has_volume = candles is not None and "volume" in candles and bool((candles["volume"].fillna(0) > 0).any())

    rows: list[tuple[str, str, int]] = [("price", f"Price{unit}" if len(symbols) <= 1 else f"{chart_symbol}{unit}", 460)]
    if has_volume:
        rows.append(("volume", "Volume", 90))
    rows += [(f"pane:{p.key}", p.title, 150) for p in oscillators]
    rows += [("equity", f"Equity ({currency})" if currency else "Equity", 210), ("drawdown", "Drawdown (%)", 130)]
    total = sum(h for _, _, h in rows)
    spacing = 24 / total
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=spacing,
                        row_heights=[h / total for _, _, h in rows])
    row_of = {name: i + 1 for i, (name, _, _) in enumerate(rows)}
    precision = decimals_needed(candles["close"]) if candles is not None else 2

    if candles is not None:
        fig.add_trace(go.Candlestick(
            x=candles.index, open=candles["open"], high=candles["high"], low=candles["low"], close=candles["close"],
            name="price", increasing={"line": {"color": th.COLORS["up"]}, "fillcolor": th.COLORS["up"]},
            decreasing={"line": {"color": th.COLORS["down"]}, "fillcolor": th.COLORS["down"]},
            showlegend=False), row=1, col=1)
    if has_volume and candles is not None:
        up = (candles["close"] >= candles["open"]).to_numpy()
        fig.add_trace(go.Bar(x=candles.index, y=candles["volume"], name="volume", showlegend=False,
                             marker={"color": np.where(up, "rgba(38,166,154,.45)", "rgba(239,83,80,.45)").tolist(),
                                     "line": {"width": 0}}, hovertemplate="volume %{y:,.4s}<extra></extra>"),
                      row=row_of["volume"], col=1)
    color_i = 0
    for p in overlays:
        for out, s in p.series.items():
            s2 = every(s, step, "last")
            label = p.title if len(p.series) == 1 else f"{p.title} {out}"
            fig.add_trace(go.Scatter(x=s2.index, y=s2.to_numpy(), mode="lines", name=label,
                                     line={"width": 1.4, "color": pane_color(color_i)},
                                     hovertemplate=f"{label} %{{y:,.{precision}f}}<extra></extra>"), row=1, col=1)
            color_i += 1
    for p in oscillators:
        r = row_of[f"pane:{p.key}"]
        for out, s in p.series.items():
            s2 = every(s, step, "last")
            label = p.title if len(p.series) == 1 else f"{p.title} {out}"
            if "hist" in out.lower():
                vals = s2.to_numpy()
                colors = np.where(vals >= 0, "rgba(38,166,154,.6)", "rgba(239,83,80,.6)").tolist()
                fig.add_trace(go.Bar(x=s2.index, y=vals, name=label, marker={"color": colors, "line": {"width": 0}},
                                     hovertemplate=f"{label} %{{y:,.4g}}<extra></extra>"), row=r, col=1)
            else:
                fig.add_trace(go.Scatter(x=s2.index, y=s2.to_numpy(), mode="lines", name=label,
                                         line={"width": 1.3, "color": pane_color(color_i)},
                                         hovertemplate=f"{label} %{{y:,.4g}}<extra></extra>"), row=r, col=1)
            color_i += 1
        vals = np.concatenate([s.to_numpy(dtype=np.float64) for s in p.series.values()])
        vals = vals[np.isfinite(vals)]
        levels = list(p.levels)
        if not levels and len(vals) and vals.min() < 0 < vals.max():
            levels = [0.0]
        for lv in levels:
            fig.add_hline(y=lv, line={"color": th.COLORS["muted"], "width": 1, "dash": "dot"}, opacity=0.6,
                          row=r, col=1)
        if p.bounds is not None:
            fig.update_yaxes(range=list(p.bounds), row=r, col=1)

    if candles is not None:
        sets, bucket = trade_markers(trades, pd.DatetimeIndex(candles.index), max_markers or MAX_MARKERS,
                                     lows=candles["low"].to_numpy(), highs=candles["high"].to_numpy())
    else:
        sets, bucket = trade_markers(trades, pd.DatetimeIndex(result.equity.index), max_markers or MAX_MARKERS)
    for tr in marker_traces(sets, currency, precision):
        fig.add_trace(tr, row=1, col=1)
    if bucket:
        n_events = sum(ms.events for ms in sets)
        drawn = sum(len(ms.x) for ms in sets)
        notes.append(f"{n_events:,} trade entries and exits are drawn as {drawn:,} markers: events of the same kind "
                     f"within {bucket} candle(s) are aggregated into one marker, drawn below the candles for buys "
                     f"and above them for sells (hover a marker for the count and the average fill price; the "
                     f"marker grows with the count).")

    eq = result.equity.astype("float64")
    dd = (eq / eq.cummax() - 1.0) * 100.0
    eq_s, dd_s = every(eq, step, "last"), every(dd, step, "min")
    fig.add_trace(go.Scatter(x=eq_s.index, y=eq_s.to_numpy(), mode="lines", name="equity",
                             line={"color": th.COLORS["accent"], "width": 1.6},
                             hovertemplate="equity %{y:,.2f}" + (f" {currency}" if currency else "") + "<extra></extra>"),
                  row=row_of["equity"], col=1)
    if candles is not None and len(eq) and len(symbols) <= 1:  # (several instruments: no single buy & hold)
        close = _bars(data)["close"].reindex(eq.index).ffill()  # type: ignore[arg-type]
        first = close.dropna()
        if len(first):
            bh = float(eq.iloc[0]) * close / float(first.iloc[0])
            bh_s = every(bh, step, "last")
            fig.add_trace(go.Scatter(x=bh_s.index, y=bh_s.to_numpy(), mode="lines", name="buy & hold",
                                     line={"color": th.COLORS["muted"], "width": 1, "dash": "dot"},
                                     hovertemplate="buy & hold %{y:,.2f}<extra></extra>"),
                          row=row_of["equity"], col=1)
    fig.add_trace(go.Scatter(x=dd_s.index, y=dd_s.to_numpy(), mode="lines", name="drawdown", fill="tozeroy",
                             line={"color": th.COLORS["down"], "width": 1}, fillcolor="rgba(239,83,80,.25)",
                             hovertemplate="drawdown %{y:.2f}%<extra></extra>", showlegend=False),
                  row=row_of["drawdown"], col=1)

    th.themed(fig, height=total + 110)
    for i, (_name, title, _) in enumerate(rows, start=1):
        fig.update_yaxes(title_text=title, row=i, col=1)
    fig.update_yaxes(ticksuffix="%", row=row_of["drawdown"], col=1)
    fig.update_yaxes(tickformat=",", row=1, col=1)
    fig.update_xaxes(rangeslider_visible=False, showspikes=True, spikemode="across", spikethickness=1,
                     spikecolor=th.COLORS["muted"], spikedash="dot")
    fig.update_xaxes(title_text="time (UTC)", row=len(rows), col=1)
    linear: dict[str, Any] = {"yaxis.type": "linear", "yaxis.autorange": True}
    if candles is not None:  # the price axis spans the candles and the markers, not down to zero
        ys = [candles["low"].to_numpy(), candles["high"].to_numpy(), *[np.asarray(ms.y) for ms in sets]]
        allv = np.concatenate(ys)
        allv = allv[np.isfinite(allv)]
        if len(allv):
            lo, hi = float(allv.min()), float(allv.max())
            margin = 0.03 * (hi - lo) if hi > lo else abs(hi) * 0.01 + 1e-9
            linear = {"yaxis.type": "linear", "yaxis.range": [lo - margin, hi + margin]}
            fig.update_yaxes(range=[lo - margin, hi + margin], row=1, col=1)
    fig.update_layout(hovermode="x", bargap=0, margin={"t": 60},
                      updatemenus=[{"type": "buttons", "direction": "right", "x": 1, "xanchor": "right", "y": 1.04,
                                    "yanchor": "bottom", "bgcolor": th.COLORS["panel2"],
                                    "bordercolor": th.COLORS["border"], "font": {"color": th.COLORS["accent"]},
                                    "buttons": [{"label": "linear price", "method": "relayout", "args": [linear]},
                                                {"label": "log price", "method": "relayout",
                                                 "args": [{"yaxis.type": "log", "yaxis.autorange": True}]}]}])
    return fig, notes


def _config_items(cfg: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for k, v in cfg.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and v and k != "params":
            items.extend(_config_items(v, name + "."))
        else:
            items.append((name, th.text_value(v) if v not in (None, "", {}, []) else "-"))
    return items


def _trade_rows(trades: pd.DataFrame) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for record in trades.to_dict(orient="records"):
        rec = {str(k): v for k, v in record.items()}
        rec["status"] = "open (marked to the last close)" if bool(rec.get("is_open")) else "closed"
        for col in ("entry_time", "exit_time"):
            t = rec.get(col)
            rec[col] = pd.Timestamp(t) if t is not None and not pd.isna(t) else None
        rows.append(rec)
    return rows


def effective_params(strategy: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The parameters the run used: the given ones over the strategy's defaults (the given ones if unknown)."""
    try:
        from quantdesk.strategies.loader import load_strategy

        return dict(load_strategy(strategy).validate_params(dict(params or {})))
    except Exception:  # noqa: BLE001 - a strategy not loadable here: show what was given
        return dict(params or {})


def render_html(result: Any, *, data: pd.DataFrame | None = None, engine: str | None = None,
                max_candles: int = MAX_CANDLES) -> str:
    """The self-contained interactive report."""
    from quantdesk.core.jsonable import to_jsonable

    cfg = result.config
    info = to_jsonable(result.data_info)
    symbol = info.get("symbol", cfg.symbol)
    currency = quote_currency(symbol)
    used = effective_params(cfg.strategy, cfg.params)
    params = ", ".join(f"{k}={v}" for k, v in used.items())
    title = f"Backtest: {cfg.strategy}" + (f" ({params})" if params else "") + \
        f" on {symbol} {info.get('timeframe', cfg.timeframe)}"
    sub = (f"{html.escape(str(engine or 'event'))} engine · {html.escape(str(info.get('first')))} to "
           f"{html.escape(str(info.get('last')))} · {format_key('rows', info.get('rows'))} bars · data fingerprint "
           f"<code>{html.escape(str(info.get('fingerprint'))[:16])}</code>")
    m = dict(result.metrics)
    cards = [(metric_label(k, currency), format_key(k, m[k], signed=k in SIGNED),
              th.sign_class(m[k]) if k in SIGNED else "") for k in HEADLINE if k in m]
    fig, notes = build_figure(result, data, max_candles=max_candles)
    notes_html = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    open_n = int(result.trades["is_open"].astype(bool).sum()) if len(result.trades) else 0
    if open_n:
        notes_html += (f'<p class="explain">{open_n} trade(s) still open at the end: marked to the last close in the '
                       f"equity and the total return; trade statistics count closed trades only.</p>")
    metric_rows = [(metric_label(k, currency), format_key(k, v, signed=k in SIGNED)) for k, v in m.items()]
    trades = result.trades
    trade_note = ""
    shown = trades
    if len(trades) > MAX_TRADE_ROWS:
        trade_note = f'<p class="explain">First {MAX_TRADE_ROWS:,} of {len(trades):,} trades; all are in trades.csv.</p>'
        shown = trades.head(MAX_TRADE_ROWS)
    trade_cols = [(k, h if k not in ("pnl", "fees") or not currency else f"{h} ({currency})") for k, h in TRADE_TABLE]
    trades_html = th.table(_trade_rows(shown), trade_cols, table_id="trades", signed=("pnl", "return_pct"),
                           kinds={"bars_held": "count"}) if len(shown) else '<p class="muted">No trades.</p>'
    events_html = '<p class="muted">None.</p>'
    if result.events:
        evs = [to_jsonable(e) for e in result.events]
        keys: list[str] = []
        for e in evs:
            keys.extend(k for k in e if k not in keys)
        events_html = th.table(evs, [(k, k.replace("_", " ")) for k in keys], table_id="events")
    body = (th.kpis(cards) + notes_html + th.card(None, th.figure_block(fig, "chart"), card_id="chart-card")
            + '<div class="grid-2">'
            + th.card("Metrics", th.kv_table(metric_rows, table_id="metrics"))
            + th.card("Configuration", th.kv_table(_config_items({**cfg.model_dump(mode="json"), "params": used}),
                                                       table_id="config"))
            + "</div>"
            + th.card(f"Trades ({len(trades):,})", trade_note + trades_html)
            + th.card("Run events (denials, errors)", events_html))
    return th.page(title, body, subtitle=sub)


__all__ = ["MAX_CANDLES", "MAX_TRADE_ROWS", "build_figure", "downsample_ohlc", "every", "render_html"]
