""""Why?" for a backtest, a risk denial or a signal: its own recorded numbers plus the knowledge pages.

    explain("backtest", run_id)          # (or "latest") return vs buy and hold, drawdown, losing trades, worst month, fees
    explain("denial", "bot-1")           # the latest risk denial of a bot: rule, value, limit, reason
    explain("denial", run_id, 3)         # or the 3rd denial recorded in a backtest's report folder
    explain("signal", "bot-1", 2)        # a bot's signal: side, size, confidence, reason (ML features), its order

Each statement cites the record it came from (run id, bot id + seq) and the knowledge page section it quotes;
quotes from knowledge pages are verbatim first sentences of the section that matches the strategy family or rule.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, cast

import pandas as pd

from quantdesk.core.errors import NotFoundError, ParameterError
from quantdesk.core.timeutil import iso
from quantdesk.intel.kb.brief import Brief
from quantdesk.intel.kb.results import _num, _params, denial_sentence, monthly_table
from quantdesk.intel.kb.text import sentence_spans

KINDS = ("backtest", "denial", "signal")
FAMILY = {  # built-in strategy -> knowledge section (strategies.md) explaining when it loses
    "sma_cross": "why-trend-following-loses-money-in-sideways-markets",
    "ema_cross": "why-trend-following-loses-money-in-sideways-markets",
    "macd": "why-trend-following-loses-money-in-sideways-markets",
    "momentum": "time-series-momentum", "rsi_reversion": "mean-reversion", "bollinger": "mean-reversion",
    "pairs": "pairs-trading-and-statistical-arbitrage", "dca": "dollar-cost-averaging-dca",
    "scalping": "scalping", "vwap_flow": "vwap-and-order-flow-strategies", "buy_and_hold": "buy-and-hold-as-a-benchmark",
}
RULE_SECTION = {  # risk rule -> knowledge section (risk.md)
    "daily_loss": "daily-loss-limit-and-drawdown-circuit-breakers",
    "drawdown": "daily-loss-limit-and-drawdown-circuit-breakers",
    "cooldown": "cooldowns", "correlation": "beta-and-correlation", "kill": "daily-loss-limit-and-drawdown-circuit-breakers",
}


def _knowledge(page: str, anchor: str) -> tuple[str, str, str] | None:
    """(source, anchor, first two sentences verbatim) of a bundled knowledge section."""
    from quantdesk.intel.kb.sources import knowledge_chunks

    for c in knowledge_chunks():
        if c.source.endswith(f"/{page}") and c.anchor == anchor:
            spans = list(sentence_spans(c.text))[:2]
            return c.source, c.anchor, c.text[spans[0][0]:spans[-1][1]] if spans else c.text
    return None


def _quote_knowledge(brief: Brief, page: str, anchor: str) -> None:
    found = _knowledge(page, anchor)
    if found:
        source, anc, quote = found
        brief.say(quote, brief.cite(source, anc))


def explain(kind: str, ident: str, seq: int | None = None, *, url: str | None = None) -> dict[str, Any]:
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ParameterError(f"cannot explain {kind!r}: expected one of {', '.join(KINDS)}")
    if not ident or not ident.strip():
        raise ParameterError("give the run id (backtest) or the bot name or id (denial, signal)")
    if kind == "backtest":
        return _backtest(ident.strip(), url)
    if kind == "denial":
        return _denial(ident.strip(), seq, url)
    return _signal(ident.strip(), seq, url)


def _run(ident: str, url: str | None) -> dict[str, Any]:
    from quantdesk.storage import db

    if ident == "latest":
        runs = db.list_runs(url, limit=1)
        if not runs:
            raise NotFoundError("no backtest run is recorded yet (run `quantdesk backtest ...` first)")
        ident = str(runs[0]["id"])
    try:
        uuid.UUID(ident)
    except ValueError:
        raise NotFoundError(f"{ident!r} is not a backtest run id (see `quantdesk backtest list`) nor 'latest'") \
            from None
    return db.get_run(ident, url)


def _backtest(run_id: str, url: str | None) -> dict[str, Any]:
    run = _run(run_id, url)
    run_id = str(run["id"])
    m = run.get("metrics") or {}
    strategy = run["strategy"]
    brief = Brief(f"Why backtest run {run_id} ({strategy} on {run['symbol']} {run['timeframe']}) did what it did")
    src = brief.cite(run_id, "summary", "recorded metrics")
    ret, bh = m.get("total_return_pct"), m.get("buy_and_hold_return_pct")
    compare = ""
    if isinstance(ret, (int, float)) and isinstance(bh, (int, float)):
        compare = f", {'more' if ret > bh else 'less'} than buy and hold's {_num(bh, pct=True)}"
    brief.say(f"The run of {strategy} with {_params(run.get('params'))} returned {_num(ret, pct=True)}{compare}.", src)
    brief.say(f"It closed {_num(m.get('num_trades'), 0)} trades with a win rate of {_num(m.get('win_rate_pct'), 1, pct=True)}"
              f": the average win was {_num(m.get('avg_win'))} and the average loss {_num(m.get('avg_loss'))} "
              f"(profit factor {_num(m.get('profit_factor'))}).", src)
    fees, cash = m.get("total_fees"), (run.get("config") or {}).get("cash")
    if isinstance(fees, (int, float)) and isinstance(cash, (int, float)) and cash:
        brief.say(f"Fees cost {_num(fees)}, {_num(100 * fees / cash, 1, pct=True)} of the starting cash.", src)
    out_dir: str | None = run.get("out_dir")
    eq_path = Path(out_dir) / "equity.csv" if out_dir else None
    if out_dir and eq_path is not None and eq_path.is_file():
        eq = pd.read_csv(eq_path)
        series = pd.Series(eq["equity"].to_numpy(dtype=float), index=pd.to_datetime(eq["timestamp"], utc=True))
        trough = series.index[int((series / series.cummax() - 1).to_numpy().argmin())]
        peak = cast(pd.Timestamp, series.loc[:trough].idxmax())
        dd = (series.loc[trough] / series.loc[peak] - 1) * 100
        brief.say(f"Its deepest drawdown, {dd:.2f}%, ran from the equity peak on {iso(peak)[:10]} to the trough on "
                  f"{iso(trough)[:10]}.", brief.cite(run_id, "equity.csv", str(eq_path)))
        trades_path = Path(out_dir) / "trades.csv"
        trades = pd.read_csv(trades_path, keep_default_na=False) if trades_path.is_file() else None
        table = monthly_table(series, trades, float(cash or series.iloc[0]))
        worst: Any = table["return_pct"].idxmin()  # a monthly pd.Period label
        row = table.loc[worst]
        if row["return_pct"] < 0:
            brief.say(f"The worst month was {worst.strftime('%B %Y')}: {row['return_pct']:.2f}% with "
                      f"{int(row['trades'])} trades closed, {int(row['winners'])} of them winners.",
                      brief.cite(run_id, f"monthly-{worst.year}", "monthly results"))
        summary = Path(out_dir) / "summary.json"
        if summary.is_file():
            events = json.loads(summary.read_text(encoding="utf-8")).get("events") or []
            rules: dict[str, int] = {}
            for e in events:
                if e.get("rule"):
                    rules[e["rule"]] = rules.get(e["rule"], 0) + 1
            if rules:
                brief.say("The risk engine intervened: " + ", ".join(f"{r} {n} times" for r, n in rules.items())
                          + ".", brief.cite(run_id, "risk-events", "summary.json events"))
    section = FAMILY.get(strategy)
    if section:
        _quote_knowledge(brief, "strategies.md", section)
    if isinstance(ret, (int, float)) and ret < 0:
        _quote_knowledge(brief, "strategies.md", "why-a-strategy-loses-money")
    return brief.as_dict()


def _bot_state(ident: str, url: str | None) -> tuple[dict[str, Any], Any]:
    from quantdesk.storage.trading import TradingStore

    store = TradingStore(url)
    try:
        bot = store.find_bot(ident)
        if bot is None:
            raise NotFoundError(f"no bot named {ident!r} (see `quantdesk paper status`)")
        return bot, store.load_state(bot["id"])
    finally:
        store.close()


def _pick(rows: list[dict[str, Any]], seq: int | None, what: str, owner: str) -> dict[str, Any]:
    if not rows:
        raise NotFoundError(f"{owner} has no {what}")
    if seq is None:
        return rows[-1]
    for r in rows:
        if int(r.get("seq", -1)) == seq:
            return r
    raise NotFoundError(f"{owner} has no {what} with seq {seq} (seqs {rows[0].get('seq')} to {rows[-1].get('seq')})")


def _rule_section(rule: str) -> str:
    for key, section in RULE_SECTION.items():
        if key in rule:
            return section
    return "exposure-and-position-limits"


def _denial(ident: str, seq: int | None, url: str | None) -> dict[str, Any]:
    try:
        uuid.UUID(ident)
        is_run = True
    except ValueError:
        is_run = False
    if is_run:
        run = _run(ident, url)
        summary = Path(run["out_dir"]) / "summary.json" if run.get("out_dir") else None
        if summary is None or not summary.is_file():
            raise NotFoundError(f"backtest run {ident} has no report folder with its risk events")
        events = [dict(e, seq=i + 1) for i, e in enumerate(json.loads(summary.read_text())["events"] or [])
                  if e.get("rule")]
        event = _pick(events, seq, "risk denial", f"backtest run {ident}")
        brief = Brief(f"Why backtest run {ident} was denied an order (risk event {event['seq']})")
        cite = brief.cite(ident, f"risk-events/{event['seq']}", "summary.json events")
    else:
        bot, state = _bot_state(ident, url)
        events = [e for e in state.risk_events if e.get("rule")]
        event = _pick(events, seq, "risk denial or halt", f"bot {bot['name']}")
        event = {**event, "ts": iso(int(event["ts"])), "details": {**(event.get("details") or {}),
                                                                   "reason": event.get("reason")}}
        brief = Brief(f"Why bot {bot['name']} was stopped by its risk rules (event {event['seq']})")
        cite = brief.cite(str(bot["id"]), f"risk-events/{event['seq']}", f"bot {bot['name']}")
    brief.say(denial_sentence(event).rstrip("."), cite)
    details = event.get("details") or {}
    value, limit = details.get("value", event.get("value")), details.get("limit", event.get("limit"))
    if isinstance(value, (int, float)) and isinstance(limit, (int, float)):
        brief.say(f"The order would have taken {event['rule']} to {_num(value, 4)}, "
                  f"{'above' if value > limit else 'below'} the limit of {_num(limit, 4)}.", cite)
    _quote_knowledge(brief, "risk.md", _rule_section(str(event["rule"])))
    return brief.as_dict()


def _signal(ident: str, seq: int | None, url: str | None) -> dict[str, Any]:
    bot, state = _bot_state(ident, url)
    sig = _pick(state.signals, seq, "signal", f"bot {bot['name']}")
    brief = Brief(f"Why bot {bot['name']} signalled (signal {sig['seq']})")
    cite = brief.cite(str(bot["id"]), f"signals/{sig['seq']}", f"bot {bot['name']}")
    size = f"quantity {sig['quantity']}" if sig.get("quantity") else f"notional {sig.get('notional')}"
    conf = f" with confidence {sig['confidence']:.2f}" if sig.get("confidence") is not None else ""
    brief.say(f"At {iso(int(sig['ts']))} ({sig['source']} signal) the bot decided to {sig['side']} "
              f"{sig.get('symbol') or ''} ({size}){conf}.".replace("  ", " "), cite)
    reason = (sig.get("reason") or "").strip()
    features = None
    if reason.startswith("{"):
        try:
            features = json.loads(reason).get("features")
        except (ValueError, AttributeError):
            features = None
    if features:
        brief.say("The model's features at that bar: " + ", ".join(f"{k} = {v}" for k, v in features.items()) + ".",
                  cite)
    elif reason:
        brief.say(f"The recorded reason: {reason}.", cite)
    coid = sig.get("client_order_id")
    order = state.orders.get(coid) if coid else None
    if order:
        brief.say(f"It placed order {coid}, now {order['status']}"
                  + (f", filled {order['filled_qty']} at an average price of {order['avg_price']}"
                     if order.get("avg_price") else "") + ".",
                  brief.cite(str(bot["id"]), f"orders/{coid}", f"bot {bot['name']}"))
    section = FAMILY.get(bot["strategy"])
    if section:
        _quote_knowledge(brief, "strategies.md", section)
    return brief.as_dict()
