"""The trading record as citable text: each paper bot's journal (summary, monthly results from its equity
snapshots and closed trades, risk denials with their rule and numbers) and the stored alerts, one chunk per day.

A bot's source is its bot id (what the database and the API call it); alerts have the source `alerts` and the
UTC day as anchor.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from quantdesk.core.logging import get_logger
from quantdesk.core.timeutil import iso
from quantdesk.intel.kb.chunks import Chunk
from quantdesk.intel.kb.results import _num, _params, denial_sentence, month_sentences, monthly_table

log = get_logger(__name__)


def _dec(value: Any) -> float:
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return float("nan")


def bot_trades_frame(trades: list[dict[str, Any]]) -> pd.DataFrame:
    """Closed round trips as the columns `monthly_table` reads (exit_time ISO, pnl, return_pct)."""
    rows = []
    for t in trades:
        if t.get("status") != "closed" or t.get("exit_ts") is None:
            continue
        entry, qty, pnl = _dec(t.get("entry_price")), abs(_dec(t.get("quantity"))), _dec(t.get("realized_pnl"))
        cost = entry * qty
        rows.append({"exit_time": iso(int(t["exit_ts"])), "pnl": pnl,
                     "return_pct": pnl / cost * 100.0 if cost > 0 else 0.0})
    return pd.DataFrame(rows, columns=["exit_time", "pnl", "return_pct"])


def bot_chunks(url: str | None = None) -> list[Chunk]:
    from quantdesk.storage.trading import TradingStore

    store = TradingStore(url)
    out: list[Chunk] = []
    try:
        for row in store.list_bots():
            try:
                out += _one_bot(store, row)
            except Exception as exc:  # noqa: BLE001 - one unreadable bot must not stop the ingest
                log.warning("bot %s not ingested: %s", row.get("name"), exc)
    finally:
        store.close()
    return out


def _one_bot(store: Any, row: dict[str, Any]) -> list[Chunk]:
    bot_id, name = str(row["id"]), row["name"]
    state = store.load_state(bot_id)
    snaps = store.snapshots(bot_id)
    who = f"paper bot {name}"
    title = f"paper bot {name} ({row['strategy']} on {', '.join(row['symbols'])} {row['timeframe']})"
    meta = {"bot": name, "bot_id": bot_id, "strategy": row["strategy"]}
    start = _dec(row["starting_cash"])
    equity = _dec(snaps[-1]["equity"]) if snaps else _dec(row["cash"])
    closed = [t for t in state.trades if t.get("status") == "closed"]
    wins = sum(1 for t in closed if _dec(t.get("realized_pnl")) > 0)
    pnl = sum(_dec(t.get("realized_pnl")) for t in closed)
    positions = {s: p["quantity"] for s, p in state.positions.items() if _dec(p.get("quantity")) != 0}
    text = (f"Paper bot {name} (bot id {bot_id}), status {row['status']}: strategy {row['strategy']} with "
            f"{_params(row.get('params'))} on {', '.join(row['symbols'])} {row['timeframe']}. Starting cash "
            f"{_num(start)}, equity now {_num(equity)} ({_num((equity / start - 1) * 100 if start else 0, pct=True)})"
            f"; {len(closed)} closed trades, {wins} winners, realized P&L {_num(pnl)}; {len(state.fills)} fills, "
            f"{len(state.signals)} signals. Open positions: "
            f"{', '.join(f'{s} {q}' for s, q in positions.items()) or 'none'}.")
    chunks = [Chunk(bot_id, "summary", title, text, "journal", meta)]
    if snaps:
        ts = pd.to_datetime([int(s["ts"]) for s in snaps], unit="ns", utc=True)
        series = pd.Series([_dec(s["equity"]) for s in snaps], index=ts)
        table = monthly_table(series, bot_trades_frame(state.trades), start)
        for year, sentences in month_sentences(table, who).items():
            intro = f"Monthly results of {who} ({row['strategy']} on {', '.join(row['symbols'])}) in {year}."
            chunks.append(Chunk(bot_id, f"journal-{year}", title, " ".join([intro, *sentences]), "journal", meta))
    events = [_event_report(e) for e in state.risk_events]
    if events:
        chunks.append(Chunk(bot_id, "risk-events", title, f"Risk events of {who}: {len(events)} in all. "
                            + " ".join(denial_sentence(e) for e in events[-40:]), "risk", meta))
    return chunks


def _event_report(e: dict[str, Any]) -> dict[str, Any]:
    details = dict(e.get("details") or {})
    return {"ts": iso(int(e["ts"])) if e.get("ts") is not None else None, "type": e.get("type"),
            "rule": e.get("rule"), "symbol": details.get("symbol") or details.get("instrument"),
            "details": {**details, "reason": e.get("reason") or details.get("reason")}}


def alert_chunks(url: str | None = None, limit: int = 2000) -> list[Chunk]:
    """Stored alerts grouped by UTC day (newest `limit` alerts)."""
    from quantdesk.storage.alert_repo import AlertRepository

    rows = AlertRepository(url).query(limit=limit)
    days: dict[str, list[str]] = {}
    for a in sorted(rows, key=lambda r: int(r["ts"])):
        when = iso(int(a["ts"]))
        where = " ".join(x for x in (f"bot {a['bot']}" if a.get("bot") else "", a.get("symbol") or "") if x)
        days.setdefault(when[:10], []).append(
            f"At {when} a {a['severity']} {a['kind']} alert{(' for ' + where) if where else ''}: {a['title']}. "
            f"{(a.get('text') or '').strip()}")
    return [Chunk("alerts", day, f"alerts of {day}", f"Alerts raised on {day}: " + " ".join(lines), "alert")
            for day, lines in days.items()]
