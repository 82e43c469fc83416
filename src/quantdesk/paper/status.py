"""Bot status rows from the database with bounded work: what `GET /bots`, `/bots/{name}`,
`/paper-trading/status` and `quantdesk paper status` show.

Each row is the bot's current state (the bots row: status, cursor, cash; its positions; the last account
snapshot's equity) and the sizes of its history (orders, fills, signals, open orders) counted by the database
over indexes: a handful of grouped queries per page of bots, never a load of the order or fill history.
"""

from __future__ import annotations

from typing import Any

from quantdesk.storage.trading import TradingStore

PUBLIC_CONFIG_KEYS = ("params", "exchange", "start", "end", "feed", "speed", "fee", "maker_fee", "slippage_bps",
                      "margin", "risk")


def public_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """What a bot was started with (BotSpec), for people and dashboards: parameters, replay window, speed, fees,
    risk (True = the configured limits, False = none, or the bot's own limits). Holds no secret."""
    return {k: cfg.get(k) for k in PUBLIC_CONFIG_KEYS if k in cfg}


def status_rows(store: TradingStore, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Status rows of these bots rows (from `list_bots_page` / `find_bot`)."""
    info = store.overview([r["id"] for r in rows])
    out = []
    for row in rows:
        o = info[row["id"]]
        out.append({
            "bot": row["name"], "id": row["id"], "mode": row.get("mode") or "paper", "status": row["status"],
            "strategy": row["strategy"],
            "symbols": row["symbols"], "timeframe": row["timeframe"], "cursor": row["cursor_index"],
            "starting_cash": row["starting_cash"], "cash": row["cash"],
            "equity": o["equity"] if o["equity"] is not None else row["cash"],
            "positions": o["positions"], "orders": o["orders"], "fills": o["fills"], "signals": o["signals"],
            "open_orders": o["open_orders"], "updated_at": row["updated_at"],
            "config": public_config(row.get("config") or {}),
        })
    return out


def bot_status_page(store: TradingStore, limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """(status rows of `limit` bots from `offset`, in creation order; the number of bots)."""
    return status_rows(store, store.list_bots_page(limit, offset)), store.count_bots()


def bot_status(store: TradingStore, name_or_id: str) -> dict[str, Any] | None:
    row = store.find_bot(name_or_id)
    return None if row is None else status_rows(store, [row])[0]
