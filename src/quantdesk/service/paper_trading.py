"""Paper-trading use cases of the service: start, stop and recover bots, their account, positions, orders, fills,
trades, signals, manual trades and force exits, bot control, performance and profit. Mixed into QuantDeskService,
whose node and listeners they use; every call into the node takes `node.lock` (the node's own rule)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from quantdesk.core.errors import ConflictError, NotFoundError, ParameterError
from quantdesk.core.jsonable import to_jsonable as _jsonable
from quantdesk.core.logging import get_logger
from quantdesk.core.timeutil import iso
from quantdesk.model.money import plain

log = get_logger(__name__)
TERMINAL = ("filled", "canceled", "denied", "rejected", "expired")
DAY_NS = 86_400 * 10**9


class PaperTrading:
    settings: Any
    node: Any

    if TYPE_CHECKING:
        def _emit(self, channels: list[str], payload: dict[str, Any]) -> None: ...
        def _ensure_runner(self) -> None: ...
        def _hook_bot(self, bot: Any) -> None: ...

    # ---- paper trading ----------------------------------------------------------------------------------
    def start_paper(self, *, name: str | None, strategy: str, params: dict[str, Any], symbols: list[str],
                    timeframe: str, speed: Any, cash: float, risk: bool | dict[str, Any], start: str | None,
                    end: str | None, exchange: str | None = None, fee: float = 0.001) -> dict[str, Any]:
        """Start a new replay bot. `risk`: True = the configured limits, False = none, a dict = the configured
        limits with those keys replaced (validated; stored whole in the bot's config, so it reproduces)."""
        from quantdesk.paper.feeds import parse_speed
        from quantdesk.paper.spec import BotSpec
        from quantdesk.risk.config import parse_risk_config

        parse_speed(speed)
        if isinstance(risk, dict):
            merged = {**self.settings.risk.model_dump(mode="json"), **risk}
            risk = parse_risk_config(merged).model_dump(mode="json")
        bot_name = name or f"{strategy.replace(':', '_').replace('/', '_')}-{uuid.uuid4().hex[:6]}"
        spec = BotSpec(name=bot_name, strategy=strategy, params=dict(params), symbols=list(symbols),
                       timeframe=timeframe, exchange=exchange, start=start, end=end, cash=cash, fee=fee,
                       risk=dict(risk) if isinstance(risk, dict) else bool(risk), feed="replay", speed=speed)
        from quantdesk.strategies.loader import create_strategy

        create_strategy(strategy, dict(params), strategy_id=bot_name)  # bad name/params: error before any DB row
        node = self.node
        with node.lock:
            if bot_name in node.bots:
                raise ConflictError(f"bot {bot_name!r} is already running on this node")
            existed = node.store.find_bot(bot_name) is not None
            if existed:
                raise ConflictError(f"a bot named {bot_name!r} exists already: start it again with "
                                    f"POST /api/v1/bots/{bot_name}/start, or pick another name")
            try:
                bot = node.add_bot(spec, resume=False)
            except Exception:
                row = None if existed else node.store.find_bot(bot_name)
                if row is not None:  # created, then failed to build: do not leave it 'running' in the DB
                    node.store.set_status(row["id"], "failed")
                raise
            self._hook_bot(bot)
            summary = bot.summary()
        self._ensure_runner()
        return summary

    def recover_bots(self) -> list[dict[str, Any]]:
        """Re-open every bot the database has as running or paused (after a crash or a restart), each rebuilt
        by deterministic replay and verified against the database; a bot that cannot be recovered is marked
        failed with the reason logged, and the others still start."""
        node = self.node
        out = []
        with node.lock:
            for row in node.store.list_bots():
                if row["status"] not in ("running", "paused") or row["name"] in node.bots:
                    continue
                try:
                    bot = node.start_bot(row["name"])
                except Exception as exc:  # noqa: BLE001 - one broken bot must not keep the others down
                    log.error("bot %s cannot be recovered: %s", row["name"], exc)
                    node.store.set_status(row["id"], "failed")
                    continue
                self._hook_bot(bot)
                out.append(bot.summary())
        if out:
            self._ensure_runner()
        return _jsonable(out)

    def stop_paper(self, name: str | None) -> list[dict[str, Any]]:
        node = self.node
        with node.lock:
            names = [self._bot_name(name)] if name is not None or len(node.bots) <= 1 else list(node.bots)
            out = []
            for n in names:
                s = node.bot(n).summary()
                node.stop_bot(n)
                s["status"] = "stopped" if s["bars"] < s["bars_total"] else "finished"
                out.append(s)
            return out

    def _bot_name(self, name: str | None) -> str:
        node = self.node
        if name is not None:
            if name not in node.bots:
                raise NotFoundError(f"no bot {name!r} is running on this node")
            return name
        if not node.bots:
            raise NotFoundError("no paper bot is running (start one with POST /api/v1/paper-trading/start)")
        return list(node.bots)[-1]

    def _tradable_bot(self, name: str | None) -> str:
        """The running bot an order goes to. A bot whose replay is over (no next bar: an order would stay
        "accepted" forever) or that is not running is a 409 with the reason; an unknown name a 404.
        Call with node.lock held."""
        node = self.node
        if name is not None and name not in node.bots:
            row = node.store.find_bot(name)
            if row is not None:
                raise ConflictError(f"bot {name!r} is {row['status']}, not running on this node: it takes no "
                                    "orders (start it again with POST /api/v1/bots/{name}/start)")
        bot = self._bot_name(name)
        if node.bot(bot).done:
            raise ConflictError(f"bot {bot!r} has finished its replay: there is no next bar to fill an order on")
        return bot

    def _db_bot(self, name: str | None) -> dict[str, Any]:
        store = self.node.store
        if name is not None:
            row = store.find_bot(name)
            if row is None:
                raise NotFoundError(f"no bot named {name!r}")
            return row
        with self.node.lock:
            live = list(self.node.bots)
        if live:
            return store.get_bot(live[-1])
        bots = store.list_bots()
        if not bots:
            raise NotFoundError("no paper bot yet (start one with POST /api/v1/paper-trading/start)")
        return bots[-1]

    def paper_status(self, limit: int = 1000, offset: int = 0) -> dict[str, Any]:
        """The bots running on this node (their live summaries) and a page of every bot's status row."""
        node = self.node
        with node.lock:
            live = node.status()
        rows, total = self.bots_page(limit, offset)
        return {"running": live, "bots": rows, "total_bots": total}

    def account(self, name: str | None) -> dict[str, Any]:
        node = self.node
        with node.lock:
            if name is None and node.bots or name in node.bots:
                bot = node.bot(self._bot_name(name))
                eng = bot.engine
                pf = eng.portfolio
                marks = eng.marks() if eng.bar_index >= 0 else {}
                positions = []
                value = Decimal(0)
                for sym, inst in zip(bot.spec.symbols, bot.instruments, strict=True):
                    qty = pf.position_qty(inst.id)
                    px = marks.get(inst.id)
                    mv = Decimal(str(qty)) * Decimal(str(px)) if px is not None else Decimal(0)
                    value += mv
                    positions.append({"symbol": sym, "quantity": plain(qty),
                                      "mark_price": None if px is None else plain(px), "market_value": plain(mv)})
                cash = pf.cash()
                equity = pf.equity(marks) if marks else cash
                from quantdesk.service.trades_view import account_pnl

                return {"bot": bot.name, "status": bot.status, "currency": bot.row.get("currency", ""),
                        "starting_cash": str(pf.starting_cash), "cash": str(cash), "equity": str(equity),
                        "positions_value": plain(value),
                        **account_pnl(pf.starting_cash, equity, pf.realized_pnl, pf.total_fees),
                        "positions": positions, "live": True}
        row = self._db_bot(name)
        snap = node.store.last_snapshot(row["id"])
        held = node.store.positions(row["id"])  # the current positions alone, not the bot's whole history
        equity = snap["equity"] if snap else row["cash"]
        from quantdesk.service.trades_view import account_pnl

        realized = sum((Decimal(str(p["realized_pnl"])) for p in held), Decimal(0))
        fees = sum((Decimal(str(p["fees"])) for p in held), Decimal(0))
        return {"bot": row["name"], "status": row["status"], "currency": row.get("currency", ""),
                "starting_cash": row["starting_cash"], "cash": row["cash"], "equity": str(equity),
                "positions_value": plain(Decimal(str(equity)) - Decimal(str(row["cash"]))),
                **account_pnl(Decimal(str(row["starting_cash"])), Decimal(str(equity)), realized, fees),
                "positions": [{"symbol": p["symbol"], "quantity": p["quantity"], "mark_price": None,
                               "market_value": None} for p in held], "live": False}

    def positions(self, name: str | None) -> list[dict[str, Any]]:
        """Positions of a bot: from the running engine when it is on this node (always current), else the DB."""
        node = self.node
        with node.lock:
            live = self._live_bot(name)
            if live is not None:
                return [{"bot": live.name, **r} for r in live.position_rows()]
        row = self._db_bot(name)
        return [{"bot": row["name"], **_jsonable(p)} for p in node.store.positions(row["id"])]

    def _live_bot(self, name: str | None) -> Any:
        """The running bot `name` (None = the latest running one), or None when it is not on this node.
        Call with node.lock held."""
        bots = self.node.bots
        if name is None:
            return bots[list(bots)[-1]] if bots else None
        return bots.get(name)

    def history(self, kind: str, name: str | None, limit: int = 1000, offset: int | None = None,
                status: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """(rows, total) of a bot's orders | fills | signals | trades, oldest first: `limit` rows from `offset`,
        or the latest `limit` rows. Bounded: one count and one LIMIT query, whatever the history length."""
        row = self._db_bot(name)
        rows, total = self.node.store.page(kind, row["id"], limit=limit, offset=offset, status=status)
        return [{"bot": row["name"], **_jsonable(r)} for r in rows], total

    def trades(self, name: str | None, limit: int = 1000, offset: int | None = None
               ) -> tuple[list[dict[str, Any]], int]:
        """(rows, total): round trips (a bounded page) with P&L net of fees and in %, entry tag, exit reason,
        duration, and the open trade's unrealised P&L at the last price (quantdesk.service.trades_view)."""
        from quantdesk.service.trades_view import trade_view

        row = self._db_bot(name)
        rows, total = self.node.store.page("trades", row["id"], limit=limit, offset=offset)
        ids = {str(x) for t in rows for x in (t.get("entry_order_id"), t.get("exit_order_id")) if x}
        orders = self.node.store.orders_by_ids(row["id"], ids)
        marks, now = self._marks(row)
        return [{"bot": row["name"], **_jsonable(trade_view(t, orders, marks, now))} for t in rows], total

    def _clock(self, row: dict[str, Any]) -> int | None:
        """The bot's last bar time (ns): its engine's clock when it runs on this node (the stored cursor of a
        running bot lags by up to 100 quiet bars), else the stored cursor."""
        node = self.node
        with node.lock:
            bot = node.bots.get(row["name"])
            if bot is not None and bot.engine.bar_index >= 0:
                return int(bot.engine.clock.now_ns())
        ts = row.get("cursor_ts")
        return None if ts is None else int(ts)

    def _marks(self, row: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
        """Last prices of a bot's symbols (symbol -> price) and the bot's clock: from the running engine, else the
        candle store at the bot's last committed bar."""
        node = self.node
        with node.lock:
            bot = node.bots.get(row["name"])
            if bot is not None and bot.engine.bar_index >= 0:
                marks = bot.engine.marks()
                return ({sym: marks.get(inst.id) for sym, inst in zip(bot.spec.symbols, bot.instruments,
                                                                    strict=True)}, bot.engine.clock.now_ns())
        ts = row.get("cursor_ts")
        if ts is None:
            return {}, None
        import pandas as pd

        from quantdesk import data as qdata

        out: dict[str, Any] = {}
        for sym in row.get("symbols") or []:
            try:
                df = qdata.load(sym, row["timeframe"], (row.get("config") or {}).get("exchange"),
                                end=pd.Timestamp(int(ts), unit="ns", tz="UTC"), tail=1)
            except Exception:  # noqa: BLE001 - no candles: the open trade shows no unrealised P&L
                continue
            if len(df):
                out[sym] = float(df["close"].iloc[-1])
        return out, int(ts)


    def fills(self, name: str | None, limit: int = 1000, offset: int | None = None) -> list[dict[str, Any]]:
        return self.history("fills", name, limit, offset)[0]

    def orders(self, name: str | None, status: str | None = None, limit: int = 1000,
               offset: int | None = None) -> list[dict[str, Any]]:
        return self.history("orders", name, limit, offset, status)[0]

    def order(self, order_id: str) -> dict[str, Any]:
        found = self.node.store.find_order(order_id)
        if found is None:
            raise NotFoundError(f"no order with client order id {order_id!r}")
        bot, order = found
        return {"bot": bot["name"], **_jsonable(order)}

    def cancel_order(self, order_id: str, reason: str = "") -> dict[str, Any]:
        """Cancel a working order of a running bot (recorded first, replayed on recovery); a live bot's order:
        queued for its node."""
        from quantdesk.service import live_control

        node = self.node
        found = node.store.find_order(order_id)
        if found is not None and live_control.live_bot(node.store, found[0]["name"], node.bots):
            return live_control.control(node.store, found[0]["name"], "cancel", client_order_id=order_id,
                                        reason=reason or "canceled (API)")
        with node.lock:
            for bot in node.bots.values():
                if order_id in bot.engine.venue.orders:
                    node.cancel_order(bot.name, order_id, reason=reason or "canceled (API)")
                    break
            else:
                o = self.order(order_id)  # 404 when unknown
                if o["status"] in TERMINAL:
                    raise ConflictError(f"order {order_id} is {o['status']}: nothing to cancel")
                raise ConflictError(f"order {order_id} belongs to bot {o['bot']!r}, which is not running: start it "
                                    "to cancel its working orders")
        return self.order(order_id)

    def signals(self, name: str | None, limit: int = 1000, offset: int | None = None
                ) -> tuple[list[dict[str, Any]], int]:
        """(rows, total) of a bot's signals, oldest first: the recorded manual, simulated and API signals and the
        strategy's own orders (source "strategy", the order's tag as the reason). Bounded: one page query."""
        from quantdesk.service.trades_view import order_reason

        row = self._db_bot(name)
        page, total = self.node.store.signal_page(row["id"], limit=limit, offset=offset)
        out = []
        for kind, r in page:
            if kind == "signal":
                out.append({"bot": row["name"], **_jsonable(r)})
                continue
            out.append({"bot": row["name"], "seq": None, "bar_index": r.get("bar_index"), "source": "strategy",
                        "symbol": r.get("symbol"), "side": r.get("side"), "quantity": r.get("quantity"),
                        "notional": r.get("notional"), "confidence": None, "reason": order_reason(r) or "",
                        "client_order_id": r["client_order_id"], "ts": r.get("ts_init"), "action": "trade",
                        "order_type": r.get("type"), "price": r.get("price"), "status": r.get("status")})
        return out, total

    def bots_page(self, limit: int = 1000, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """(status rows of `limit` bots from `offset`, number of bots): bounded queries (paper.status)."""
        from quantdesk.paper.status import bot_status_page

        rows, total = bot_status_page(self.node.store, limit, offset)
        return _jsonable(rows), total

    def bots(self, limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
        return self.bots_page(limit, offset)[0]

    def bot(self, name: str) -> dict[str, Any]:
        from quantdesk.paper.status import bot_status

        row = bot_status(self.node.store, name)
        if row is None:
            raise NotFoundError(f"no bot named {name!r}")
        return _jsonable(row)

    def manual_trade(self, name: str | None, side: str, *, quantity: Any, notional: Any, confidence: Any,
                     reason: str, symbol: str | None, order_type: str = "market",
                     price: Any = None) -> dict[str, Any]:
        from quantdesk.service import live_control

        node = self.node
        if live_control.live_bot(node.store, name, node.bots):
            return live_control.control(node.store, str(name), "trade", side=side, quantity=quantity,
                                        notional=notional, confidence=confidence, reason=reason, symbol=symbol,
                                        order_type=order_type, price=price)
        with node.lock:
            bot = self._tradable_bot(name)
            out = node.manual_trade(bot, side, quantity=quantity, notional=notional, confidence=confidence,
                                    reason=reason, symbol=symbol, order_type=order_type, price=price)
        return _jsonable(out)

    def force_exit(self, name: str, symbol: str | None, reason: str = "") -> dict[str, Any]:
        """Close a running bot's open position now (its working orders on that symbol are cancelled)."""
        from quantdesk.service import live_control

        node = self.node
        if live_control.live_bot(node.store, name, node.bots):
            return live_control.control(node.store, name, "exit", symbol=symbol, reason=reason or "force exit (API)")
        with node.lock:
            if name not in node.bots:
                self._db_bot(name)  # 404 for an unknown bot
                raise ConflictError(f"bot {name!r} is not running: start it to exit its position")
            out = node.force_exit(name, symbol, reason=reason or "force exit (API)")
        return _jsonable(out)

    def simulate_signals(self, name: str | None, n: int, seed: int) -> list[dict[str, Any]]:
        node = self.node
        with node.lock:
            bot = self._tradable_bot(name)
            out = node.simulate_signals(bot, n, seed)
        return _jsonable(out)

    def bot_control(self, name: str, action: str) -> dict[str, Any]:
        """pause | resume | stop | start a bot by name. `start` re-opens a stopped bot of the database (its
        state recovered by replay); the others act on a bot running on this node. A live bot: stop (and resume
        of its risk state) are queued for its own process; start / pause are refused (service.live_control)."""
        from quantdesk.service import live_control

        node = self.node
        if live_control.live_bot(node.store, name, node.bots):
            return live_control.control(node.store, name, action)
        with node.lock:
            if action == "start":
                if name in node.bots:  # on this node: running (conflict) or paused (resume it)
                    if node.bots[name].status == "running":
                        raise ConflictError(f"bot {name!r} is already running")
                    node.resume(name)
                    bot = node.bot(name)
                else:
                    if node.store.find_bot(name) is None:
                        raise NotFoundError(f"no bot named {name!r}")
                    bot = node.start_bot(name)  # recovered by replay from the database
                    if bot.done:
                        node.stop_bot(name)
                        raise ConflictError(f"bot {name!r} has finished its replay: nothing left to run")
                    self._hook_bot(bot)
                summary = bot.summary()
            else:
                self._bot_name(name)  # 404 when not on this node
                if action == "pause":
                    node.pause(name)
                elif action == "resume":
                    node.resume(name)
                elif action == "stop":
                    return self.stop_paper(name)[0]
                else:
                    raise ParameterError(f"bot action {action!r}: expected pause, resume, stop or start")
                summary = node.bot(name).summary()
        self._ensure_runner()
        self._emit(["events"], {"bot": name, "type": f"bot.{action}", "data": _jsonable(summary)})
        return _jsonable(summary)

    def strategies(self) -> list[dict[str, Any]]:
        """The built-in strategies with their parameters (type, default, range, choices): for forms."""
        from quantdesk.strategies.loader import builtin_strategies

        out = []
        for name, cls in builtin_strategies().items():
            params = {}
            for pname, spec in cls.params.items():
                d = spec.as_dict()
                params[pname] = {"type": d["type"], "default": d.get("default"), "min": d.get("minimum"),
                                 "max": d.get("maximum"), "step": d.get("step"), "choices": d.get("choices"),
                                 "description": d.get("description", "")}
            doc = (cls.__doc__ or "").strip().splitlines()
            out.append({"name": name, "doc": doc[0] if doc else "", "params": _jsonable(params)})
        return out

    def performance(self, name: str | None) -> dict[str, Any]:
        row = self._db_bot(name)
        snaps = self.node.store.snapshots(row["id"])
        eq = [float(s["equity"]) for s in snaps]
        start = float(row["starting_cash"])
        peak, mdd = start, 0.0
        for v in eq:
            peak = max(peak, v)
            mdd = max(mdd, (peak - v) / peak * 100 if peak > 0 else 0.0)
        store = self.node.store
        closed = store.closed_trade_pnls(row["id"])  # net P&L of the closed round trips, not load_state
        wins = sum(1 for pnl in closed if Decimal(pnl) > 0)
        last = eq[-1] if eq else start
        daily = _daily_pnl([(int(s["ts"]), float(s["equity"])) for s in snaps], start)
        return {"bot": row["name"], "starting_cash": start, "equity": last,
                "today_pnl": daily[-1]["pnl"] if daily else 0.0, "daily_pnl": daily,
                "total_return_pct": (last / start - 1) * 100 if start else 0.0, "max_drawdown_pct": mdd,
                "trades": len(closed), "win_rate_pct": wins / len(closed) * 100 if closed else None,
                "fills": store.overview([row["id"]])[row["id"]]["fills"],
                "equity_curve": [{"ts": int(s["ts"]), "equity": float(s["equity"])} for s in snaps[-500:]]}

    def profit(self, name: str | None, period: str = "day") -> dict[str, Any]:
        """Closed trades' profit (net of fees) by day, week or month, and by pair."""
        from quantdesk.service.profit import profit_by_pair, profit_by_period

        if period not in ("day", "week", "month"):
            raise ParameterError(f"period must be day, week or month, got {period!r}")
        row = self._db_bot(name)
        closed = self.node.store.closed_trades(row["id"])
        return {"bot": row["name"], "period": period, "currency": row.get("currency", ""),
                "bars": profit_by_period(closed, period), "pairs": profit_by_pair(closed)}  # type: ignore[arg-type]


def _daily_pnl(points: list[tuple[int, float]], start: float) -> list[dict[str, Any]]:
    """P&L per UTC day (of the bot's clock: bar time) from equity snapshots: last equity of the day minus the last
    equity of the day before (the starting cash before the first day)."""
    out: list[dict[str, Any]] = []
    prev, day, last = start, None, start
    for ts, equity in points:
        d = ts // DAY_NS
        if day is not None and d != day:
            out.append({"date": iso(day * DAY_NS)[:10], "pnl": last - prev})
            prev = last
        day, last = d, equity
    if day is not None:
        out.append({"date": iso(day * DAY_NS)[:10], "pnl": last - prev})
    return out
