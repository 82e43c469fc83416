"""`quantdesk kb brief`: a short market brief written from QuantDesk's own data, every statement cited.

Price action comes from the candle store, trend, momentum and volatility from the indicator catalog (sma, rsi,
natr); regimes, anomalies and sentiment from whatever catalog indicators other packages registered under those
names (skipped when none is registered); open positions and recent alerts from the database. A citation names
the data: `candles:<exchange>:<symbol>:<timeframe>` at a bar time, `indicator:<name>` with its parameters, a bot
id, or an alert id. No language model is involved: the sentences are templates filled with the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from quantdesk.core.errors import NotFoundError
from quantdesk.core.logging import get_logger
from quantdesk.core.timeutil import iso

log = get_logger(__name__)
TIMEFRAME_PREFERENCE = ("1d", "12h", "8h", "6h", "4h", "2h", "1h", "30m", "15m", "5m", "1m")
INTEL_WORDS = ("regime", "anomal", "sentiment")
MAX_SYMBOLS = 5
HISTORY = 300


class Brief:
    """Statements with numbered citations (the same citation is numbered once)."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.statements: list[dict[str, Any]] = []
        self.citations: list[dict[str, Any]] = []
        self._keys: dict[tuple[str, str, str | None], int] = {}

    def cite(self, source: str, anchor: str, detail: str | None = None) -> int:
        key = (source, anchor, detail)
        if key not in self._keys:
            self._keys[key] = len(self.citations) + 1
            self.citations.append({"n": self._keys[key], "source": source, "anchor": anchor, "detail": detail})
        return self._keys[key]

    def say(self, text: str, *cites: int) -> None:
        self.statements.append({"text": text, "citations": sorted(set(cites))})

    def as_dict(self) -> dict[str, Any]:
        text = " ".join(f"{s['text']} {''.join(f'[{n}]' for n in s['citations'])}".strip() for s in self.statements)
        return {"title": self.title, "generated_at": iso(datetime.now(UTC)), "statements": self.statements,
                "citations": self.citations, "text": text}


def _fmt(x: float) -> str:
    return f"{x:,.2f}" if abs(x) >= 1 else f"{x:.6g}"


def pick_timeframe(available: Iterable[str], wanted: str | None) -> str:
    have = set(available)
    if wanted:
        if wanted not in have:
            raise NotFoundError(f"no {wanted} candles stored for this symbol (stored: {', '.join(sorted(have))})")
        return wanted
    for tf in TIMEFRAME_PREFERENCE:
        if tf in have:
            return tf
    return sorted(have)[0]


def intel_indicator_names(specs: Iterable[Any]) -> list[str]:
    """Catalog indicators published by the intelligence packages (regimes, anomalies, sentiment), by name."""
    return sorted(s.name for s in specs if any(w in s.name for w in INTEL_WORDS)
                  and not any(w in s.name for w in ("cdl_",)))


def market_brief(symbols: list[str] | None = None, timeframe: str | None = None, *, store: Any = None,
                 url: str | None = None) -> dict[str, Any]:
    from quantdesk.data import open_store

    store = store or open_store()
    catalog = store.catalog()
    if not catalog:
        raise NotFoundError("no candles stored: import some with `quantdesk data import` first")
    stored: dict[str, list[dict[str, Any]]] = {}
    for e in catalog:
        stored.setdefault(e["symbol"], []).append(e)
    if symbols:
        unknown = [s for s in symbols if s not in stored]
        if unknown:
            raise NotFoundError(f"no candles stored for {', '.join(unknown)}; stored symbols: "
                                f"{', '.join(sorted(stored))}")
    chosen = list(symbols) if symbols else sorted(stored)[:MAX_SYMBOLS]
    brief = Brief(f"Market brief: {', '.join(chosen)}")
    for symbol in chosen:
        tf = pick_timeframe({e["timeframe"] for e in stored[symbol]}, timeframe)
        entry = next(e for e in stored[symbol] if e["timeframe"] == tf)
        _price_action(brief, symbol, tf, entry["exchange"], store)
    _positions(brief, chosen, url)
    _alerts(brief, chosen, url)
    return brief.as_dict()


def _price_action(brief: Brief, symbol: str, tf: str, exchange: str, store: Any) -> None:
    from quantdesk import data as qdata
    from quantdesk.indicators import compute, specs

    df = qdata.load(symbol, tf, exchange, store=store, tail=HISTORY)
    src = f"candles:{exchange}:{symbol}:{tf}"
    close = df["close"]
    t_last = iso(df.index[-1])
    last = brief.cite(src, t_last, "close")
    brief.say(f"{symbol} last closed at {_fmt(close.iloc[-1])} on {t_last} ({tf} bars, {exchange}).", last)
    n = min(len(df) - 1, 30)
    if n >= 1:
        first = brief.cite(src, iso(df.index[-1 - n]), "close")
        change = (close.iloc[-1] / close.iloc[-1 - n] - 1) * 100
        brief.say(f"Over the last {n} bars it {'rose' if change > 0 else 'fell' if change < 0 else 'was flat at'} "
                  f"{abs(change):.2f}% from {_fmt(close.iloc[-1 - n])}.", first, last)
        window = df.iloc[-(n + 1):]
        hi_t: Any = window["high"].idxmax()  # bar times (the frame's index labels)
        lo_t: Any = window["low"].idxmin()
        brief.say(f"Its range over those bars was {_fmt(window['low'].min())} (on {iso(lo_t)}) to "
                  f"{_fmt(window['high'].max())} (on {iso(hi_t)}).",
                  brief.cite(src, iso(lo_t), "low"), brief.cite(src, iso(hi_t), "high"))
    if len(df) >= 60:
        sma20 = compute("sma", df, period=20)["sma"].iloc[-1]
        sma50 = compute("sma", df, period=50)["sma"].iloc[-1]
        c1 = brief.cite("indicator:sma", t_last, f"period=20 on {symbol} {tf}")
        c2 = brief.cite("indicator:sma", t_last, f"period=50 on {symbol} {tf}")
        above = close.iloc[-1] > sma50
        trend = "an uptrend" if above and sma20 > sma50 else "a downtrend" if not above and sma20 < sma50 else \
            "no clear trend"
        brief.say(f"The close is {'above' if above else 'below'} its 50-bar SMA ({_fmt(sma50)}) and the 20-bar SMA "
                  f"({_fmt(sma20)}) is {'above' if sma20 > sma50 else 'below'} it: {trend}.", c1, c2, last)
    if len(df) >= 30:
        rsi = compute("rsi", df, period=14)["rsi"].iloc[-1]
        state = "overbought (above 70)" if rsi > 70 else "oversold (below 30)" if rsi < 30 else "neutral"
        brief.say(f"The 14-bar RSI is {rsi:.1f}, {state}.", brief.cite("indicator:rsi", t_last,
                                                                       f"period=14 on {symbol} {tf}"))
        natr = compute("natr", df, period=14)["natr"]
        now, usual = natr.iloc[-1], float(np.nanmedian(natr.to_numpy()))
        if math.isfinite(now) and math.isfinite(usual) and usual > 0:
            word = "higher than" if now > 1.25 * usual else "lower than" if now < 0.8 * usual else "close to"
            brief.say(f"Volatility (14-bar NATR) is {now:.2f}% of price, {word} its median of {usual:.2f}% over "
                      f"the last {len(df)} bars.", brief.cite("indicator:natr", t_last, f"period=14 on {symbol} {tf}"))
    for name in intel_indicator_names(specs()):
        try:
            out = compute(name, df)
        except Exception as exc:  # noqa: BLE001 - another package's indicator must not break the brief
            log.debug("brief: %s skipped: %s", name, exc)
            continue
        values = ", ".join(f"{col} {_fmt(float(v))}" for col, v in out.iloc[-1].items()
                           if isinstance(v, (int, float, np.floating)) and math.isfinite(float(v)))
        if values:
            brief.say(f"{name} on {symbol}: {values}.", brief.cite(f"indicator:{name}", t_last,
                                                                   f"defaults on {symbol} {tf}"))


def _positions(brief: Brief, symbols: list[str], url: str | None) -> None:
    from decimal import Decimal

    from quantdesk.storage.trading import TradingStore

    try:
        store = TradingStore(url)
    except Exception as exc:  # noqa: BLE001 - no database yet: no positions to report
        log.debug("brief: no positions (%s)", exc)
        return
    bots = store.list_bots()
    held = 0
    try:
        for bot in bots:
            for p in store.positions(bot["id"]):
                qty = Decimal(str(p["quantity"]))
                if qty != 0 and p["symbol"] in symbols:
                    held += 1
                    brief.say(f"Paper bot {bot['name']} ({bot['status']}) holds {qty.normalize()} {p['symbol']} at "
                              f"an average price of {p.get('avg_price') or 'n/a'}.",
                              brief.cite(str(bot["id"]), "positions", f"bot {bot['name']}"))
    finally:
        store.close()
    if bots and not held:
        brief.say(f"None of the {len(bots)} paper bots holds a position in {', '.join(symbols)}.",
                  *[brief.cite(str(b["id"]), "positions", f"bot {b['name']}") for b in bots[:5]])


def _alerts(brief: Brief, symbols: list[str], url: str | None) -> None:
    from quantdesk.storage.alert_repo import AlertRepository

    try:
        rows = AlertRepository(url).query(limit=50)
    except Exception as exc:  # noqa: BLE001
        log.debug("brief: no alerts (%s)", exc)
        return
    recent = [a for a in rows if not a.get("symbol") or a["symbol"] in symbols][:3]
    for a in recent:
        brief.say(f"Alert at {iso(int(a['ts']))}: {a['severity']} {a['kind']}, {a['title']}.",
                  brief.cite("alerts", str(a["id"]), a.get("bot") or None))

