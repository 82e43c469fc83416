"""QuantDeskService: the one application facade over the paper node, the trading store, the candle store,
indicators, backtests and risk. The API calls only this; it never reaches into engine internals itself.

Threading: the PaperNode runs on one background thread (`node.run()` in a loop); every call from another thread
goes through `node.lock` (the node's own rule). Engine events are forwarded to `listeners` (callables taking
(channel, payload-dict)) from the node thread: the API hands them to its asyncio loop thread-safely.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from quantdesk.core.logging import get_logger
from quantdesk.model.bot_events import (
    BOT_TOPIC,
    BarCommitted,
    BarProcessed,
    BotStopped,
    SignalRecorded,
    watch_bot,
)
from quantdesk.service.market_queries import MarketQueries
from quantdesk.service.paper_trading import PaperTrading
from quantdesk.service.risk_queries import RiskQueries

log = get_logger(__name__)

Listener = Callable[[str, dict[str, Any]], None]
CHANNELS = ("candles", "signals", "orders", "positions", "trades", "alerts", "events")


def _jsonable(obj: Any) -> Any:
    from quantdesk.core.jsonable import to_jsonable

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


class QuantDeskService(PaperTrading, RiskQueries, MarketQueries):
    """The application facade: the node and its runner thread, event wiring, backtests and health here; the use
    cases by area in its mixins (quantdesk.service.paper_trading, risk_queries, market_queries)."""

    def __init__(self, settings: Any, node: Any = None) -> None:
        self.settings = settings
        self._node = node
        self._node_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._shutdown = threading.Event()
        self._wake = threading.Event()
        self.listeners: list[Listener] = []
        # monitoring: this service's own metrics registry (several apps per process never clash), dependency
        # probes shared by /health and /metrics, the node's alert manager (created with the first bot)
        from quantdesk.monitoring.health import Probes
        from quantdesk.monitoring.metrics import PlatformMetrics

        self.metrics = PlatformMetrics()
        self.probes = Probes(lambda: self.node.store.engine, settings.redis.url)
        self._alerts: Any = None  # quantdesk.monitoring.node_alerts.NodeAlerts
        self._alert_repo: Any = None
        self._alerts_lock = threading.Lock()
        self._jobs: Any = None  # quantdesk.service.backtest_jobs.BacktestJobs, made on first use
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
                self._node.shutdown(suspend=True)  # bots keep their status: the next start recovers them
            except Exception:
                log.exception("paper node shutdown failed")
        if self._alerts is not None:  # after the node: its final commits may still raise alerts
            self._alerts.flush(timeout=5)
            self._alerts.stop()
        if self._jobs is not None:
            self._jobs.shutdown()
        self.probes.close()

    def _emit(self, channels: list[str], payload: dict[str, Any]) -> None:
        for fn in list(self.listeners):
            for ch in channels:
                try:
                    fn(ch, payload)
                except Exception:
                    log.exception("listener failed")

    def _hook_bot(self, bot: Any) -> None:
        """Wire a started / recovered bot to the listeners (WebSocket), metrics and alerts: all of them subscribe to
        its engine's bus (engine events, and the bot's own events of quantdesk.model.bot_events); undone when the
        bot stops."""
        from quantdesk.core import serialization

        def envelope(message: Any) -> dict[str, Any]:
            try:
                return dict(serialization.to_envelope(message))
            except Exception:
                return {"type": type(message).__name__, "data": _jsonable(message)}

        def forward(message: Any) -> None:  # engine events: orders, fills, positions, risk, strategy
            if not self.listeners:
                return
            topic = str(getattr(message, "topic", type(message).__name__))
            if topic == BOT_TOPIC:
                return  # the bot's own events: translated below
            self._emit(_channels_of(message, topic), {"bot": bot.name, "topic": topic, **envelope(message)})

        def on_bar(ev: BarProcessed) -> None:  # the engine publishes no bars: the bot's step carries them
            if self.listeners:
                for bar in ev.bars:
                    self._emit(["candles"], {"bot": bot.name, "topic": "bars", **envelope(bar)})

        def on_commit(ev: BarCommitted) -> None:
            if self.listeners:
                for row in ev.fills:
                    self._emit(["trades", "positions"], {"bot": bot.name, "type": "Fill", "data": _jsonable(row)})

        def on_signal(ev: SignalRecorded) -> None:  # manual trades, cancels, force exits, risk actions
            if self.listeners:
                self._emit(["signals"], {"bot": bot.name, "type": "Signal", "data": _jsonable(ev.row)})

        def on_stop(ev: BotStopped) -> None:  # stopped, paused, crashed or finished: detach the observers
            self.metrics.detach_bot(bot.name)
            if self._alerts is not None:
                self._alerts.detach_bot(bot.name)
            bot.engine.bus.unsubscribe("*", forward)
            unwatch()

        bot.engine.bus.subscribe("*", forward)
        unwatch = watch_bot(bot.engine.bus, bot.name, bar=on_bar, commit=on_commit, signal=on_signal,
                            stop=on_stop)
        self.metrics.attach_bot(bot)
        alerts = self._node_alerts()
        if alerts is not None:
            alerts.attach_bot(bot)

    def _node_alerts(self) -> Any:
        """The node's AlertManager, created and started with the first bot (None when no rule is configured)."""
        with self._alerts_lock:
            if self._alerts is None:
                from quantdesk.monitoring.alert_config import load_alerts_settings

                cfg = load_alerts_settings(self.settings)
                if not cfg.enabled or not cfg.rules:
                    return None
                from quantdesk.monitoring.node_alerts import NodeAlerts

                self._alerts = NodeAlerts(cfg, repo=self._alerts_repo(), metrics=self.metrics,
                                          on_alert=self._push_alert)
                self._alerts.start()
            return self._alerts

    def _alerts_repo(self) -> Any:
        if self._alert_repo is None:
            from quantdesk.storage.alert_repo import AlertRepository

            self._alert_repo = AlertRepository(self.settings.database_url)
        return self._alert_repo

    def _push_alert(self, alert: Any) -> None:
        from quantdesk.monitoring.node_alerts import alert_json

        self._emit(["alerts"], {"bot": alert.bot, "type": "Alert", "data": alert_json(alert.to_dict())})

    # ---- backtests ----------------------------------------------------------------------------------------
    @property
    def backtest_jobs(self) -> Any:
        """The bounded pool of API backtests (quantdesk.service.backtest_jobs)."""
        with self._bt_lock:
            if self._jobs is None:
                from quantdesk.service.backtest_jobs import BacktestJobs

                api = getattr(self.settings, "api", None)
                self._jobs = BacktestJobs(self.settings, workers=api.backtest_workers if api else 2,
                                          queue=api.backtest_queue if api else 16)
            return self._jobs

    def submit_backtest(self, config: dict[str, Any]) -> str:
        return self.backtest_jobs.submit(config)

    def backtest(self, run_id: str) -> dict[str, Any]:
        return self.backtest_jobs.get(run_id)

    def backtests_page(self, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return self.backtest_jobs.page(limit, offset)

    def backtests(self, limit: int = 50) -> list[dict[str, Any]]:
        return self.backtests_page(limit)[0]

    # ---- health -------------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Per component (quantdesk.monitoring.health); never blocks on a dead dependency or on the node's lock."""
        from quantdesk.monitoring import health as mh
        from quantdesk.monitoring.alert_config import load_alerts_settings

        reasons: list[str] = []
        comps: dict[str, dict[str, Any]] = {
            "database": mh.probe_component("database", self.probes.database.result(), reasons),
            "redis": mh.probe_component("redis", self.probes.redis.result(), reasons),
            "candle_store": mh.candle_store_component(reasons),
        }
        bots = list(self._node.bots.values()) if self._node is not None else []
        comps["paper_node"] = mh.node_component(self._thread is not None and self._thread.is_alive(), bots,
                                                reasons)
        comps.update(mh.bot_components(bots, self.metrics.tracks(), reasons))
        cfg = load_alerts_settings(self.settings)
        configured = [c.name for c in cfg.channels if c.enabled] if cfg.enabled else []
        alerts = self._alerts
        comps["alerts"] = mh.alerts_component(alerts.channel_health() if alerts is not None else None, configured,
                                              reasons)
        return mh.build_report(comps, reasons, time.time() - self.started_at)

    def alerts(self, *, limit: int = 100, kind: str | None = None, severity: str | None = None,
               bot: str | None = None) -> list[dict[str, Any]]:
        """Stored alerts, newest first, each with its per-channel deliveries (GET /api/v1/alerts)."""
        from quantdesk.monitoring.node_alerts import alert_json

        rows = self._alerts_repo().query(limit=limit, kind=kind, severity=severity, bot=bot)
        return [alert_json(r) for r in rows]

    def alerts_page(self, *, limit: int = 100, offset: int = 0, kind: str | None = None,
                    severity: str | None = None, bot: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """(a page of the stored alerts, newest first; how many match in all)."""
        from quantdesk.monitoring.node_alerts import alert_json

        repo = self._alerts_repo()
        rows = repo.query(limit=limit, offset=offset, kind=kind, severity=severity, bot=bot)
        return [alert_json(r) for r in rows], repo.count(kind=kind, severity=severity, bot=bot)
