"""Repository of the trading state (paper now, live later): what the paper node writes and recovers from.

    store = TradingStore(url)                 # migrated to head; SQLite (WAL) or PostgreSQL
    bot = store.create_bot(name="b1", strategy="sma_cross", params={...}, symbols=["BTC/USDT"], timeframe="1m",
                           config={...}, cash="10000", currency="USDT")
    store.write_ahead_orders(bot_id, [order_row, ...])   # BEFORE an order is handed to the venue (own commit)
    store.commit_bar(bot_id, BarCommit(...))             # fills + orders + positions + cash + cursor: ONE txn
    state = store.load_state(bot_id)                     # what recovery compares the replayed engine against

Rows are plain dicts (Decimal values as strings). Write-ahead orders are inserted with status "submitted";
`commit_bar` upserts orders by client_order_id, inserts fills (a fill already stored, same venue + trade id, is
skipped: idempotent), upserts positions/trades, appends risk events and an optional account snapshot, and moves
the bot's cursor, all in one transaction: a process killed at any moment leaves either the state before the bar
or the state after it (plus, possibly, write-ahead orders of the next bar).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from quantdesk.core.errors import NotFoundError, ParameterError
from quantdesk.storage import db
from quantdesk.storage.trading_models import (
    AccountSnapshot,
    Bot,
    FillRow,
    OrderRow,
    PositionRow,
    RiskEventRow,
    SignalRow,
    TradeRow,
)

BOT_STATUSES = ("created", "running", "paused", "stopped", "finished", "failed")
OPEN_ORDER_STATUSES = ("submitted", "accepted", "partially_filled")


def _now() -> datetime:
    return datetime.now(UTC)


def _row(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in sa.inspect(obj).mapper.column_attrs}


@dataclass
class BarCommit:
    """Everything one processed bar (or manual action) changed."""

    cursor_index: int
    cursor_ts: int | None
    cash: str
    orders: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    positions: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    risk_events: list[dict[str, Any]] = field(default_factory=list)
    snapshot: dict[str, Any] | None = None
    status: str | None = None


@dataclass
class BotState:
    bot: dict[str, Any]
    orders: dict[str, dict[str, Any]]
    fills: list[dict[str, Any]]
    positions: dict[str, dict[str, Any]]
    signals: list[dict[str, Any]]
    trades: list[dict[str, Any]]
    risk_events: list[dict[str, Any]]


def _sqlite_pragmas(engine: sa.Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - trivial
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # a killed process never corrupts or loses committed txns
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()


class TradingStore:
    """The trading-state repository over one database URL (None = the configured one)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = db.database_url(url)
        db.upgrade(self.url)
        self.engine = db.make_engine(self.url)
        _sqlite_pragmas(self.engine)
        # orders counted per bot (row id counted up to, count): `overview` adds only the orders added since
        self._order_counts: dict[str, tuple[int, int]] = {}
        self._counts_lock = threading.Lock()
        # bot id -> writes of another layer that must land in the same transaction as each commit of that bot
        # (the live node's journal mark); an extension point instead of a second, separately-committed write
        self.commit_hooks: dict[str, Callable[[Session], None]] = {}

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # ---- bots -----------------------------------------------------------------------------------------
    def create_bot(
        self,
        *,
        name: str,
        strategy: str,
        params: Mapping[str, Any],
        symbols: list[str],
        timeframe: str,
        config: Mapping[str, Any],
        cash: str,
        currency: str = "",
        mode: str = "paper",
        status: str = "created",
    ) -> dict[str, Any]:
        now = _now()
        bot = Bot(
            id=uuid.uuid4().hex,
            name=name,
            mode=mode,
            strategy=strategy,
            params=dict(params),
            symbols=list(symbols),
            timeframe=timeframe,
            status=status,
            config=dict(config),
            starting_cash=str(cash),
            cash=str(cash),
            currency=currency,
            cursor_index=-1,
            cursor_ts=None,
            created_at=now,
            updated_at=now,
        )
        with self.session() as s, s.begin():
            if s.scalar(sa.select(Bot.id).where(Bot.name == name)) is not None:
                raise ParameterError(f"a bot named {name!r} exists already (resume it, or pick another name)")
            s.add(bot)
        return _row(bot)

    def find_bot(self, name_or_id: str) -> dict[str, Any] | None:
        with self.session() as s:
            bot = s.scalar(sa.select(Bot).where(sa.or_(Bot.name == name_or_id, Bot.id == name_or_id)))
            return None if bot is None else _row(bot)

    def get_bot(self, name_or_id: str) -> dict[str, Any]:
        bot = self.find_bot(name_or_id)
        if bot is None:
            raise NotFoundError(f"no bot named {name_or_id!r}")
        return bot

    def list_bots(self) -> list[dict[str, Any]]:
        with self.session() as s:
            return [_row(b) for b in s.scalars(sa.select(Bot).order_by(Bot.created_at, Bot.name))]

    def set_status(self, bot_id: str, status: str) -> None:
        if status not in BOT_STATUSES:
            raise ParameterError(f"bot status {status!r}; expected one of {BOT_STATUSES}")
        with self.session() as s, s.begin():
            s.execute(sa.update(Bot).where(Bot.id == bot_id).values(status=status, updated_at=_now()))

    # ---- write-ahead ----------------------------------------------------------------------------------
    def write_ahead_orders(self, bot_id: str, orders: Iterable[dict[str, Any]]) -> None:
        """Insert orders (status 'submitted') in their own transaction, before the venue sees them."""
        rows = list(orders)
        with self.session() as s, s.begin():
            have = set(
                s.scalars(
                    sa.select(OrderRow.client_order_id).where(
                        OrderRow.client_order_id.in_([r["client_order_id"] for r in rows])
                    )
                )
            )
            for r in rows:
                if r["client_order_id"] not in have:
                    s.add(OrderRow(bot_id=bot_id, **r))

    def find_order(self, client_order_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(bot row, order row) of an order by its client order id (unique across bots), else None."""
        with self.session() as s:
            order = s.scalar(sa.select(OrderRow).where(OrderRow.client_order_id == client_order_id))
            if order is None:
                return None
            return _row(s.get(Bot, order.bot_id)), _row(order)

    def mark_orders(self, bot_id: str, client_order_ids: list[str], status: str, reason: str) -> None:
        with self.session() as s, s.begin():
            s.execute(
                sa.update(OrderRow)
                .where(OrderRow.bot_id == bot_id, OrderRow.client_order_id.in_(client_order_ids))
                .values(status=status, reason=reason)
            )

    def add_signal(self, bot_id: str, signal: dict[str, Any]) -> dict[str, Any]:
        """Record a manual trade / simulated signal (its own transaction, before it acts); returns the row."""
        with self.session() as s, s.begin():
            seq = s.scalar(sa.select(sa.func.max(SignalRow.seq)).where(SignalRow.bot_id == bot_id))
            row = SignalRow(bot_id=bot_id, seq=(seq or 0) + 1, created_at=_now(), **signal)
            s.add(row)
        return _row(row)

    def set_signal_order(self, bot_id: str, seq: int, client_order_id: str | None) -> None:
        with self.session() as s, s.begin():
            s.execute(
                sa.update(SignalRow)
                .where(SignalRow.bot_id == bot_id, SignalRow.seq == seq)
                .values(client_order_id=client_order_id)
            )

    # ---- one bar ----------------------------------------------------------------------------------------
    def commit_bar(self, bot_id: str, c: BarCommit) -> None:
        with self.session() as s, s.begin():
            if c.orders:
                ids = [o["client_order_id"] for o in c.orders]
                existing = {
                    r.client_order_id: r
                    for r in s.scalars(sa.select(OrderRow).where(OrderRow.client_order_id.in_(ids)))
                }
                for o in c.orders:
                    row = existing.get(o["client_order_id"])
                    if row is None:
                        s.add(OrderRow(bot_id=bot_id, **o))
                    else:
                        for k, v in o.items():
                            setattr(row, k, v)
            if c.fills:
                venue_ids = {(f["venue"], f["trade_id"]) for f in c.fills}
                have = set(
                    s.execute(
                        sa.select(FillRow.venue, FillRow.trade_id).where(
                            FillRow.bot_id == bot_id,
                            FillRow.trade_id.in_([t for _, t in venue_ids]),
                        )
                    ).all()
                )
                for f in c.fills:
                    if (f["venue"], f["trade_id"]) not in have:
                        s.add(FillRow(bot_id=bot_id, **f))
            for p in c.positions:
                prow = s.get(PositionRow, (bot_id, p["symbol"]))
                if prow is None:
                    s.add(PositionRow(bot_id=bot_id, **p))
                else:
                    for k, v in p.items():
                        setattr(prow, k, v)
            for t in c.trades:
                trow = s.scalar(sa.select(TradeRow).where(TradeRow.bot_id == bot_id, TradeRow.seq == t["seq"]))
                if trow is None:
                    s.add(TradeRow(bot_id=bot_id, **t))
                else:
                    for k, v in t.items():
                        setattr(trow, k, v)
            if c.risk_events:
                have_seq = set(
                    s.scalars(
                        sa.select(RiskEventRow.seq).where(
                            RiskEventRow.bot_id == bot_id,
                            RiskEventRow.seq.in_([e["seq"] for e in c.risk_events]),
                        )
                    )
                )
                for e in c.risk_events:
                    if e["seq"] not in have_seq:
                        s.add(RiskEventRow(bot_id=bot_id, **e))
            if c.snapshot is not None:
                s.add(AccountSnapshot(bot_id=bot_id, **c.snapshot))
            values: dict[str, Any] = {
                "cursor_index": c.cursor_index,
                "cursor_ts": c.cursor_ts,
                "cash": c.cash,
                "updated_at": _now(),
            }
            if c.status is not None:
                values["status"] = c.status
            s.execute(sa.update(Bot).where(Bot.id == bot_id).values(**values))
            hook = self.commit_hooks.get(bot_id)
            if hook is not None:
                hook(s)

    # ---- reads ----------------------------------------------------------------------------------------
    def load_state(self, bot_id: str) -> BotState:
        with self.session() as s:
            bot = s.get(Bot, bot_id)
            if bot is None:
                raise NotFoundError(f"no bot with id {bot_id}")
            orders = {
                r.client_order_id: _row(r)
                for r in s.scalars(sa.select(OrderRow).where(OrderRow.bot_id == bot_id).order_by(OrderRow.id))
            }
            fills = [
                _row(r)
                for r in s.scalars(sa.select(FillRow).where(FillRow.bot_id == bot_id).order_by(FillRow.seq))
            ]
            positions = {
                r.symbol: _row(r) for r in s.scalars(sa.select(PositionRow).where(PositionRow.bot_id == bot_id))
            }
            signals = [
                _row(r)
                for r in s.scalars(sa.select(SignalRow).where(SignalRow.bot_id == bot_id).order_by(SignalRow.seq))
            ]
            trades = [
                _row(r)
                for r in s.scalars(sa.select(TradeRow).where(TradeRow.bot_id == bot_id).order_by(TradeRow.seq))
            ]
            events = [
                _row(r)
                for r in s.scalars(
                    sa.select(RiskEventRow).where(RiskEventRow.bot_id == bot_id).order_by(RiskEventRow.seq)
                )
            ]
            return BotState(_row(bot), orders, fills, positions, signals, trades, events)

    def positions(self, bot_id: str) -> list[dict[str, Any]]:
        """The bot's position rows alone (cheaper than `load_state` for the positions endpoint)."""
        with self.session() as s:
            q = sa.select(PositionRow).where(PositionRow.bot_id == bot_id).order_by(PositionRow.symbol)
            return [_row(r) for r in s.scalars(q)]

    def closed_trade_pnls(self, bot_id: str) -> list[str]:
        """P&L net of fees (Decimal text) of the bot's closed round trips, in order."""
        q = (sa.select(TradeRow.realized_pnl, TradeRow.fees)
             .where(TradeRow.bot_id == bot_id, TradeRow.status == "closed").order_by(TradeRow.seq))
        with self.engine.connect() as conn:
            return [str(Decimal(r) - Decimal(f)) for r, f in conn.execute(q)]

    def signal_page(self, bot_id: str, *, limit: int, offset: int | None = None
                    ) -> tuple[list[tuple[str, dict[str, Any]]], int]:
        """A page of a bot's signal journal, oldest first: the recorded signals and the strategy's own orders
        (no parent, not the order of a recorded signal), as ("signal" | "order", row); `offset` None = the latest
        `limit`. One UNION for the page and its total, then the page's rows by id: bounded like `page`."""
        recorded_ids = sa.select(SignalRow.client_order_id).where(SignalRow.bot_id == bot_id,
                                                                  SignalRow.client_order_id.is_not(None))
        sigs = sa.select(sa.literal(0).label("kind"), SignalRow.id.label("rid"), SignalRow.ts.label("ts")).where(
            SignalRow.bot_id == bot_id)
        ords = sa.select(sa.literal(1).label("kind"), OrderRow.id.label("rid"), OrderRow.ts_init.label("ts")).where(
            OrderRow.bot_id == bot_id, OrderRow.parent_id.is_(None), OrderRow.client_order_id.not_in(recorded_ids))
        union = sa.union_all(sigs, ords).subquery()
        with self.session() as s:
            total = int(s.scalar(sa.select(sa.func.count()).select_from(union)) or 0)
            start = max(0, total - limit) if offset is None else offset
            keys = s.execute(sa.select(union.c.kind, union.c.rid).order_by(union.c.ts, union.c.kind, union.c.rid)
                             .limit(limit).offset(start)).all()
            sig_rows = {r.id: _row(r) for r in s.scalars(sa.select(SignalRow).where(
                SignalRow.id.in_([k.rid for k in keys if k.kind == 0])))}
            ord_rows = {r.id: _row(r) for r in s.scalars(sa.select(OrderRow).where(
                OrderRow.id.in_([k.rid for k in keys if k.kind == 1])))}
        return [("signal", sig_rows[k.rid]) if k.kind == 0 else ("order", ord_rows[k.rid]) for k in keys], total

    def closed_trades(self, bot_id: str) -> list[dict[str, Any]]:
        """The columns profit reports need (symbol, exit time, realized P&L, fees) of the closed round trips."""
        q = (sa.select(TradeRow.symbol, TradeRow.exit_ts, TradeRow.realized_pnl, TradeRow.fees)
             .where(TradeRow.bot_id == bot_id, TradeRow.status == "closed").order_by(TradeRow.seq))
        with self.engine.connect() as conn:
            return [{"symbol": sym, "exit_ts": ts, "realized_pnl": r, "fees": f, "status": "closed"}
                    for sym, ts, r, f in conn.execute(q)]

    def orders_by_ids(self, bot_id: str, ids: set[str]) -> dict[str, dict[str, Any]]:
        """The bot's orders with these client order ids (client order id -> row)."""
        if not ids:
            return {}
        with self.session() as s:
            rows = s.scalars(sa.select(OrderRow).where(OrderRow.bot_id == bot_id,
                                                       OrderRow.client_order_id.in_(sorted(ids))))
            return {r.client_order_id: _row(r) for r in rows}

    def snapshots(self, bot_id: str) -> list[dict[str, Any]]:
        with self.session() as s:
            return [
                _row(r)
                for r in s.scalars(
                    sa.select(AccountSnapshot).where(AccountSnapshot.bot_id == bot_id).order_by(AccountSnapshot.id)
                )
            ]

    def last_snapshot(self, bot_id: str) -> dict[str, Any] | None:
        with self.session() as s:
            r = s.scalar(
                sa.select(AccountSnapshot)
                .where(AccountSnapshot.bot_id == bot_id)
                .order_by(AccountSnapshot.id.desc())
                .limit(1)
            )
            return None if r is None else _row(r)

    # ---- bounded reads (the API's list endpoints and bot overviews) -------------------------------------------
    def count_bots(self) -> int:
        with self.session() as s:
            return int(s.scalar(sa.select(sa.func.count()).select_from(Bot)) or 0)

    def list_bots_page(self, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        """Bots in creation order, `limit` of them from `offset` (plain rows: no ORM objects to build)."""
        q = sa.select(Bot.__table__).order_by(Bot.created_at, Bot.name).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def overview(self, bot_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Per bot: order, fill and signal counts, open orders, positions and the last snapshot's equity, with
        work that does not grow with the history: index seeks (fills and signals are numbered 1..n per bot, so
        their count is the last number; the last snapshot is the highest id), a count of the OPEN orders over
        (bot_id, status), and the order count kept per bot in this store, topped up by the orders added since
        (the first overview of a bot in a process counts its orders once)."""
        out: dict[str, dict[str, Any]] = {
            b: {"orders": 0, "fills": 0, "signals": 0, "open_orders": 0, "positions": {}, "equity": None}
            for b in bot_ids}
        if not bot_ids:
            return out

        def last(col: Any, bot_col: Any) -> Any:
            return sa.select(sa.func.max(col)).where(bot_col == Bot.id).correlate(Bot).scalar_subquery()

        with self.engine.connect() as s:
            q = sa.select(Bot.id, last(FillRow.seq, FillRow.bot_id), last(SignalRow.seq, SignalRow.bot_id),
                          last(AccountSnapshot.id, AccountSnapshot.bot_id), last(OrderRow.id, OrderRow.bot_id)
                          ).where(Bot.id.in_(bot_ids))
            tops: dict[str, int] = {}
            snaps: dict[int, str] = {}
            for bot_id, fills, signals, snap_id, order_top in s.execute(q):
                out[bot_id]["fills"] = int(fills or 0)
                out[bot_id]["signals"] = int(signals or 0)
                if snap_id is not None:
                    snaps[int(snap_id)] = bot_id
                tops[bot_id] = int(order_top or 0)
            q = (sa.select(OrderRow.bot_id, sa.func.count())
                 .where(OrderRow.bot_id.in_(bot_ids), OrderRow.status.in_(OPEN_ORDER_STATUSES))
                 .group_by(OrderRow.bot_id))
            for bot_id, n in s.execute(q):
                out[bot_id]["open_orders"] = int(n)
            q = sa.select(PositionRow.bot_id, PositionRow.symbol, PositionRow.quantity).where(
                PositionRow.bot_id.in_(bot_ids)).order_by(PositionRow.bot_id, PositionRow.symbol)
            for bot_id, symbol, qty in s.execute(q):
                out[bot_id]["positions"][symbol] = qty
            if snaps:
                q = sa.select(AccountSnapshot.id, AccountSnapshot.equity).where(AccountSnapshot.id.in_(list(snaps)))
                for snap_id, equity in s.execute(q):
                    out[snaps[snap_id]]["equity"] = equity
            for bot_id, top in tops.items():
                out[bot_id]["orders"] = self._order_count(s, bot_id, top)
        return out

    def _order_count(self, s: sa.Connection, bot_id: str, top: int) -> int:
        """Orders of a bot up to row id `top`: the kept count plus the rows added since it was taken."""
        with self._counts_lock:
            seen, count = self._order_counts.get(bot_id, (0, 0))
        if top > seen:
            count += int(s.scalar(sa.select(sa.func.count()).select_from(OrderRow).where(
                OrderRow.bot_id == bot_id, OrderRow.id > seen, OrderRow.id <= top)) or 0)
            with self._counts_lock:
                self._order_counts[bot_id] = (top, count)
        return count

    def page(self, kind: str, bot_id: str, *, limit: int, offset: int | None = None,
             status: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """(rows, total) of one bot's orders | fills | signals | trades, oldest first: `limit` rows from
        `offset`, or the latest `limit` rows when `offset` is None. One COUNT and one LIMIT query."""
        tables: dict[str, tuple[Any, Any]] = {"orders": (OrderRow, OrderRow.id), "fills": (FillRow, FillRow.seq),
                                              "signals": (SignalRow, SignalRow.seq),
                                              "trades": (TradeRow, TradeRow.seq)}
        model, order = tables[kind]
        cond = [model.bot_id == bot_id]
        if status is not None:
            if kind != "orders":
                raise ParameterError("status filters orders only")
            cond.append(OrderRow.status == status)
        with self.session() as s:
            total = int(s.scalar(sa.select(sa.func.count()).select_from(model).where(*cond)) or 0)
            start = max(0, total - limit) if offset is None else offset
            rows = [_row(r) for r in s.scalars(sa.select(model).where(*cond).order_by(order)
                                                .limit(limit).offset(start))]
        return rows, total
