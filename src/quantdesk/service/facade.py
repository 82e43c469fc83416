"""QuantDeskService: the one application facade over the paper node, the trading store, the candle store,
indicators, backtests and risk. The API calls only this; it never reaches into engine internals itself.

Threading: the PaperNode runs on one background thread (`node.run()` in a loop); every call from another thread
goes through `node.lock` (the node's own rule). Engine events are forwarded to `listeners` (callables taking
(channel, payload-dict)) from the node thread: the API hands them to its asyncio loop thread-safely.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from quantdesk.core.errors import NotFoundError, ParameterError
from quantdesk.core.logging import get_logger

log = get_logger(__name__)

Listener = Callable[[str, dict[str, Any]], None]
CHANNELS = ("candles", "signals", "orders", "positions", "trades", "alerts", "events")


def _jsonable(obj: Any) -> Any:
    from quantdesk.cli.output import to_jsonable

    return to_jsonable(obj)


def _channels_of(message: Any, topic: str) -> list[str]:
    name = type(message).__name__
    out = ["events"]
    if "Bar" in name:
        out.append("candles")
    elif "Fill" in name:
        out += ["orders", "trades", "positions"]
    elif name.startswith("Order"):
        out.append("orders")
    elif "Position" in name:
        out.append("positions")
    elif "Signal" in name:
        out.append("signals")
    elif "Risk" in name or "Halt" in name or "Breaker" in name or "Denied" in name or "Trading" in name:
        out.append("alerts")
    return out


class QuantDeskService:
    def __init__(self, settings: Any, node: Any = None) -> None:
        self.settings = settings
        self._node = node
        self._node_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._shutdown = threading.Event()
        self._wake = threading.Event()
        self.listeners: list[Listener] = []
        self.counters: dict[str, int] = {"bars": 0, "orders": 0, "fills": 0}
        self._backtests: dict[str, dict[str, Any]] = {}
        self._bt_lock = threading.Lock()
        self.started_at = time.time()

    # ---- node ------------------------------------------------------------------------------------------
    @property
    def node(self) -> Any:
        with self._node_lock:
            if self._node is None:
                from quantdesk.paper.node import PaperNode

                self._node = PaperNode(self.settings.database_url)
            return self._node

    def _ensure_runner(self) -> None:
        with self._node_lock:
            if self._thread is not None and self._thread.is_alive():
                self._wake.set()
                return
            self._thread = threading.Thread(target=self._run_loop, name="qd-paper-node", daemon=True)
            self._thread.start()

    def _run_loop(self) -> None:
        node = self._node
        while not self._shutdown.is_set():
            try:
                node.run()
            except Exception:  # never let the runner die silently
                log.exception("paper node loop failed")
            self._wake.wait(0.2)
            self._wake.clear()

    def shutdown(self) -> None:
        self._shutdown.set()
        self._wake.set()
        if self._node is not None:
            self._node.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._node is not None:
            try:
                self._node.shutdown()
            except Exception:
                log.exception("paper node shutdown failed")

    def _emit(self, channels: list[str], payload: dict[str, Any]) -> None:
        for fn in list(self.listeners):
            for ch in channels:
                try:
                    fn(ch, payload)
                except Exception:
                    log.exception("listener failed")

    def _hook_bot(self, bot: Any) -> None:
        from quantdesk.core import serialization

        def forward(message: Any) -> None:
            name = type(message).__name__
            if "Fill" in name:
                self.counters["fills"] += 1
            elif name == "OrderSubmitted" or name == "OrderAccepted":
                self.counters["orders"] += 1
            if not self.listeners:
                return
            topic = getattr(message, "topic", name)
            try:
                body = serialization.to_envelope(message)
            except Exception:
                body = {"type": name, "data": _jsonable(message)}
            self._emit(_channels_of(message, str(topic)), {"bot": bot.name, "topic": str(topic), **body})

        bot.engine.bus.subscribe("*", forward)

        # the engine does not publish bars on its bus: wrap this bot's step (instance attribute, nothing else
        # changes) to count processed bars and push each new bar to the "candles" channel
        orig_step = bot.step

        def step() -> bool:
            k = bot.next_index
            ok = orig_step()
            if ok:
                self.counters["bars"] += 1
                if self.listeners:
                    for bar in bot.feed.group(k):
                        try:
                            body = serialization.to_envelope(bar)
                        except Exception:
                            body = {"type": "Bar", "data": _jsonable(bar)}
                        self._emit(["candles"], {"bot": bot.name, "topic": "bars", **body})
            return ok

        bot.step = step

        def on_fill(b: Any, row: dict[str, Any]) -> None:
            self._emit(["trades", "positions"], {"bot": b.name, "type": "Fill", "data": _jsonable(row)})

        bot.on_fill.append(on_fill)

    # ---- paper trading ----------------------------------------------------------------------------------
    def start_paper(self, *, name: str | None, strategy: str, params: dict[str, Any], symbols: list[str],
                    timeframe: str, speed: Any, cash: float, risk: bool, start: str | None, end: str | None,
                    exchange: str | None = None, fee: float = 0.001) -> dict[str, Any]:
        from quantdesk.paper.bot import BotSpec
        from quantdesk.paper.feeds import parse_speed

        parse_speed(speed)
        bot_name = name or f"{strategy.replace(':', '_').replace('/', '_')}-{uuid.uuid4().hex[:6]}"
        spec = BotSpec(name=bot_name, strategy=strategy, params=dict(params), symbols=list(symbols),
                       timeframe=timeframe, exchange=exchange, start=start, end=end, cash=cash, fee=fee,
                       risk=True if risk else False, feed="replay", speed=speed)
        from quantdesk.strategies.loader import create_strategy

        create_strategy(strategy, dict(params), strategy_id=bot_name)  # bad name/params: error before any DB row
        node = self.node
        with node.lock:
            if bot_name in node.bots:
                raise ParameterError(f"bot {bot_name!r} is already running on this node")
            existed = node.store.find_bot(bot_name) is not None
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

    def paper_status(self) -> dict[str, Any]:
        from quantdesk.paper.node import status_from_db

        node = self.node
        with node.lock:
            live = node.status()
        return {"running": live, "bots": _jsonable(status_from_db(store=node.store))}

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
                    positions.append({"symbol": sym, "quantity": str(qty),
                                      "mark_price": None if px is None else str(px), "market_value": str(mv)})
                cash = pf.cash()
                equity = pf.equity(marks) if marks else cash
                return {"bot": bot.name, "status": bot.status, "currency": bot.row.get("currency", ""),
                        "starting_cash": str(pf.starting_cash), "cash": str(cash), "equity": str(equity),
                        "positions_value": str(value), "realized_pnl": str(pf.realized_pnl),
                        "fees": str(pf.total_fees), "positions": positions, "live": True}
        row = self._db_bot(name)
        snap = node.store.last_snapshot(row["id"])
        st = node.store.load_state(row["id"])
        equity = snap["equity"] if snap else row["cash"]
        return {"bot": row["name"], "status": row["status"], "currency": row.get("currency", ""),
                "starting_cash": row["starting_cash"], "cash": row["cash"], "equity": str(equity),
                "positions_value": str(Decimal(str(equity)) - Decimal(str(row["cash"]))),
                "realized_pnl": None, "fees": None,
                "positions": [{"symbol": s, "quantity": p["quantity"], "mark_price": None, "market_value": None}
                              for s, p in st.positions.items()], "live": False}

    def _state(self, name: str | None) -> Any:
        row = self._db_bot(name)
        return row, self.node.store.load_state(row["id"])

    def positions(self, name: str | None) -> list[dict[str, Any]]:
        row, st = self._state(name)
        return [{"bot": row["name"], **_jsonable(p)} for p in st.positions.values()]

    def trades(self, name: str | None) -> list[dict[str, Any]]:
        row, st = self._state(name)
        return [{"bot": row["name"], **_jsonable(t)} for t in st.trades]

    def fills(self, name: str | None) -> list[dict[str, Any]]:
        row, st = self._state(name)
        return [{"bot": row["name"], **_jsonable(f)} for f in st.fills]

    def orders(self, name: str | None, status: str | None = None) -> list[dict[str, Any]]:
        row, st = self._state(name)
        return [{"bot": row["name"], **_jsonable(o)} for o in st.orders.values()
                if status is None or o["status"] == status]

    def order(self, order_id: str) -> dict[str, Any]:
        for row in self.node.store.list_bots():
            st = self.node.store.load_state(row["id"])
            if order_id in st.orders:
                return {"bot": row["name"], **_jsonable(st.orders[order_id])}
        raise NotFoundError(f"no order with client order id {order_id!r}")

    def signals(self, name: str | None) -> list[dict[str, Any]]:
        row, st = self._state(name)
        return [{"bot": row["name"], **_jsonable(s)} for s in st.signals]

    def bots(self) -> list[dict[str, Any]]:
        from quantdesk.paper.node import status_from_db

        return _jsonable(status_from_db(store=self.node.store))

    def bot(self, name: str) -> dict[str, Any]:
        for b in self.bots():
            if b["bot"] == name or b["id"] == name:
                return b
        raise NotFoundError(f"no bot named {name!r}")

    def manual_trade(self, name: str | None, side: str, *, quantity: Any, notional: Any, confidence: Any,
                     reason: str, symbol: str | None) -> dict[str, Any]:
        node = self.node
        with node.lock:
            out = node.manual_trade(self._bot_name(name), side, quantity=quantity, notional=notional,
                                    confidence=confidence, reason=reason, symbol=symbol)
        self._emit(["signals"], {"type": "Signal", "data": _jsonable(out)})
        return _jsonable(out)

    def simulate_signals(self, name: str | None, n: int, seed: int) -> list[dict[str, Any]]:
        node = self.node
        with node.lock:
            out = node.simulate_signals(self._bot_name(name), n, seed)
        for s in out:
            self._emit(["signals"], {"type": "Signal", "data": _jsonable(s)})
        return _jsonable(out)

    def performance(self, name: str | None) -> dict[str, Any]:
        row = self._db_bot(name)
        snaps = self.node.store.snapshots(row["id"])
        eq = [float(s["equity"]) for s in snaps]
        start = float(row["starting_cash"])
        peak, mdd = start, 0.0
        for v in eq:
            peak = max(peak, v)
            mdd = max(mdd, (peak - v) / peak * 100 if peak > 0 else 0.0)
        st = self.node.store.load_state(row["id"])
        closed = [t for t in st.trades if t["status"] == "closed"]
        wins = sum(1 for t in closed if Decimal(t["realized_pnl"]) > 0)
        last = eq[-1] if eq else start
        return {"bot": row["name"], "starting_cash": start, "equity": last,
                "total_return_pct": (last / start - 1) * 100 if start else 0.0, "max_drawdown_pct": mdd,
                "trades": len(closed), "win_rate_pct": wins / len(closed) * 100 if closed else None,
                "fills": len(st.fills),
                "equity_curve": [{"ts": int(s["ts"]), "equity": float(s["equity"])} for s in snaps[-500:]]}

    # ---- risk ---------------------------------------------------------------------------------------------
    def risk_limits(self) -> dict[str, Any]:
        return _jsonable(self.settings.risk.model_dump(mode="json"))

    def risk_state(self) -> list[dict[str, Any]]:
        node = self.node
        with node.lock:
            return [{"bot": b.name, "state": b.engine.risk.state.value, "active": b.engine.risk.active,
                     "denials": _jsonable(b.engine.risk.denial_counts())} for b in node.bots.values()]

    def risk_action(self, action: str, name: str | None, reason: str) -> list[dict[str, Any]]:
        node = self.node
        with node.lock:
            names = [self._bot_name(name)] if name is not None else list(node.bots)
            if not names:
                raise NotFoundError("no paper bot is running")
            for n in names:
                risk = node.bot(n).engine.risk
                if action == "halt":
                    risk.halt(reason or "manual halt (API)")
                elif action == "resume":
                    risk.resume(reason or "resumed (API)")
                else:
                    risk.kill(reason or "kill switch (API)")
        self._emit(["alerts"], {"type": f"risk.{action}", "data": {"bots": names, "reason": reason}})
        return self.risk_state()

    def risk_var(self, symbols: list[str], timeframe: str, alpha: float) -> dict[str, Any]:
        from quantdesk import data as qdata
        from quantdesk.risk import analytics

        closes = {s: qdata.load(s, timeframe)["close"] for s in symbols}
        prices, _ = analytics.align_prices(closes)
        rets = analytics.to_returns(prices).dropna()
        out = {}
        for s in rets.columns:
            r = rets[s].to_numpy()
            out[s] = {"historical_var": analytics.historical_var(r, alpha),
                      "historical_cvar": analytics.historical_cvar(r, alpha),
                      "parametric_var": analytics.parametric_var(r, alpha)}
        if len(rets.columns) > 1:
            pr = analytics.portfolio_returns(rets).to_numpy()
            out["portfolio"] = {"historical_var": analytics.historical_var(pr, alpha),
                                "historical_cvar": analytics.historical_cvar(pr, alpha),
                                "parametric_var": analytics.parametric_var(pr, alpha)}
        return {"alpha": alpha, "timeframe": timeframe, "observations": int(len(rets)), "var": _jsonable(out)}

    # ---- data / indicators -------------------------------------------------------------------------------
    def candles(self, symbol: str, timeframe: str, start: str | None, end: str | None,
                exchange: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        from quantdesk import data as qdata

        df = qdata.load(symbol, timeframe, exchange, start, end)
        if limit is not None:
            df = df.iloc[-limit:]
        return _frame_records(df)

    def symbols(self) -> list[dict[str, Any]]:
        from quantdesk.data import open_store

        return [{k: _jsonable(e.get(k)) for k in ("exchange", "symbol", "timeframe", "first", "last", "rows")}
                for e in open_store().catalog()]

    def indicator_catalog(self) -> list[dict[str, Any]]:
        from quantdesk.indicators import registry

        return _jsonable(registry.catalog())

    def indicator(self, name: str, symbol: str, timeframe: str, params: dict[str, Any], start: str | None,
                  end: str | None, limit: int | None = None) -> dict[str, Any]:
        from quantdesk import data as qdata
        from quantdesk.indicators import registry

        spec = registry.get(name)
        df = qdata.load(symbol, timeframe, None, start, end)
        out = registry.compute(spec.name, df, **params)
        if limit is not None:
            out = out.iloc[-limit:]
        return {"indicator": spec.name, "symbol": symbol, "timeframe": timeframe,
                "params": _jsonable(spec.validate_params(params)), "values": _frame_records(out)}

    # ---- backtests ----------------------------------------------------------------------------------------
    def submit_backtest(self, config: dict[str, Any]) -> str:
        from quantdesk.backtest.config import BacktestConfig

        cfg = BacktestConfig(**config)
        run_id = str(uuid.uuid4())
        with self._bt_lock:
            self._backtests[run_id] = {"id": run_id, "status": "running", "config": cfg.model_dump(mode="json")}
        threading.Thread(target=self._run_backtest, args=(run_id, cfg), daemon=True, name="qd-backtest").start()
        return run_id

    def _run_backtest(self, run_id: str, cfg: Any) -> None:
        from quantdesk.backtest.runner import run_backtest
        from quantdesk.storage import db

        job = self._backtests[run_id]
        try:
            res = run_backtest(cfg)
            db.record_run(config=cfg.model_dump(mode="json"), metrics=res.metrics,
                          data_fingerprint=res.data_info.get("fingerprint"), out_dir=None, engine="event",
                          url=self.settings.database_url, run_id=run_id)
            job.update(status="completed", metrics=_jsonable(res.metrics), trades=_frame_records(res.trades),
                       equity=[{"ts": _jsonable(ts), "equity": _jsonable(v)} for ts, v in res.equity.items()])
        except Exception as exc:
            log.warning("backtest %s failed: %s", run_id, exc)
            job.update(status="failed", error=f"{type(exc).__name__}: {exc}")

    def backtest(self, run_id: str) -> dict[str, Any]:
        with self._bt_lock:
            job = self._backtests.get(run_id)
        if job is not None:
            return dict(job)
        from quantdesk.storage import db

        row = db.get_run(run_id, self.settings.database_url)
        return {"id": run_id, "status": row.get("status", "completed"), "config": _jsonable(row.get("config")),
                "metrics": _jsonable(row.get("metrics")), "trades": None, "equity": None}

    def backtests(self, limit: int = 50) -> list[dict[str, Any]]:
        from quantdesk.storage import db

        rows = db.list_runs(self.settings.database_url, limit=limit)
        seen = {str(r.get("id")) for r in rows}
        with self._bt_lock:
            running = [{"id": j["id"], "status": j["status"], "strategy": j["config"]["strategy"],
                        "symbol": j["config"]["symbol"], "timeframe": j["config"]["timeframe"]}
                       for j in self._backtests.values() if j["id"] not in seen]
        return running + [{"id": str(r.get("id")), "status": r.get("status"), "strategy": r.get("strategy"),
                           "symbol": r.get("symbol"), "timeframe": r.get("timeframe"),
                           "metrics": _jsonable(r.get("metrics"))} for r in rows]

    # ---- health -------------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        comps: dict[str, dict[str, Any]] = {}
        try:
            import sqlalchemy as sa

            with self.node.store.engine.connect() as c:
                c.execute(sa.text("select 1"))
            comps["database"] = {"status": "ok"}
        except Exception as exc:
            comps["database"] = {"status": "error", "detail": type(exc).__name__}
        try:
            from quantdesk.data import open_store

            comps["candle_store"] = {"status": "ok", "series": len(open_store().catalog())}
        except Exception as exc:
            comps["candle_store"] = {"status": "error", "detail": type(exc).__name__}
        alive = self._thread is not None and self._thread.is_alive()
        comps["paper_node"] = {"status": "ok", "runner": "running" if alive else "idle",
                               "bots": len(self._node.bots) if self._node is not None else 0}
        overall = "ok" if all(c["status"] == "ok" for c in comps.values()) else "degraded"
        return {"status": overall, "components": comps, "uptime_s": round(time.time() - self.started_at, 3)}


def _frame_records(df: Any) -> list[dict[str, Any]]:
    frame = df.reset_index()
    first = frame.columns[0]
    if first != "timestamp" and str(first) in ("index", "ts", "time"):
        frame = frame.rename(columns={first: "timestamp"})
    return _jsonable(frame.to_dict(orient="records"))
