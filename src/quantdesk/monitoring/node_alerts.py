"""`NodeAlerts`: the AlertManager bound to the paper node's bots (one manager, many engine buses).

    alerts = NodeAlerts(settings.alerts, repo=AlertRepository(url), metrics=platform_metrics, on_alert=push)
    alerts.start()
    alerts.attach_bot(bot)     # as bots are started / recovered
    alerts.detach_bot("b1")    # on stop

What the engine really publishes, and how each rule is fed on the node:
- fill / stop_loss_hit: `OrderFilled` on topic "orders" (strategy_id = the bot name) -> the base rules.
- bot_crashed: `StrategyErrored` on "strategy" -> the base rule.
- anomaly: `AnomalyDetected` on "anomalies" (an anomaly watcher attached to the bot publishes them) -> the base
  rule.
- risk_halt: `TradingStateChanged` / `KillSwitchActivated` on "risk". These events carry no bot, so the base
  rule would raise one bot-less alert and de-duplicate the second bot's halt; here the handler is per bot: the
  alert names the bot, `bots` filters apply, and the de-duplication key includes the bot.
- drawdown: fed the bot's EQUITY after every bar (`on_equity(..., bot=)`). The "account" topic is NOT used on the
  node: `AccountStateChanged.balance` is cash, which drops to ~0 on every buy-all-cash entry (a false drawdown).
- feed_stalled: the engine publishes no bars; every processed bar is fed from the bot's `on_bar` hook, and the
  stall check only considers symbols of bots that are running (a finished replay, a paused or stopped bot is
  not a stalled feed).
Every alert raised (not de-duplicated) is also handed to `on_alert` (the service pushes it to WebSocket
subscribers of "alerts") and counted in `qd_alerts_total`; final delivery statuses in
`qd_alert_deliveries_total` and in `channel_health()` (for /health).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from quantdesk.model.bot_events import watch_bot
from quantdesk.monitoring.alerts import Alert, AlertManager
from quantdesk.risk.events import KillSwitchActivated, TradingStateChanged

log = logging.getLogger(__name__)

_HALT_STATES = {"HALTED", "REDUCING", "KILLED"}
_TOPICS = ("orders", "risk", "strategy", "anomalies")


class NodeAlerts(AlertManager):
    def __init__(self, settings: Any = None, *, repo: Any = None, metrics: Any = None,
                 on_alert: Callable[[Alert], None] | None = None, **kwargs: Any) -> None:
        super().__init__(settings, repo=repo, **kwargs)
        self.metrics = metrics
        self.on_alert = on_alert
        kinds = {r.kind for r in self.settings.rules} if self.settings.enabled else set()
        self._want_equity = "drawdown" in kinds
        self._want_bars = "feed_stalled" in kinds
        self._attached: dict[str, tuple[Any, Callable[[Any], None], Callable[[], None] | None]] = {}
        self._attach_lock = threading.Lock()
        self._channel_last: dict[str, dict[str, Any]] = {}

    # ---- bots ------------------------------------------------------------------------------------------------
    def attach_bot(self, bot: Any) -> None:
        self.detach_bot(bot.name)
        name = bot.name
        eng = bot.engine
        currency = str(eng.portfolio.currency)

        def on_event(ev: Any) -> None:
            if isinstance(ev, (TradingStateChanged, KillSwitchActivated)):
                try:
                    self._risk_event(name, ev)
                except Exception:  # never break the publisher (the node / the API call)
                    log.exception("risk alert failed for bot %s", name)
            else:
                self.on_event(ev)

        def on_bar(ev: Any) -> None:  # BarProcessed (quantdesk.model.bot_events)
            bars = ev.bars
            if self._want_equity:
                self.on_equity(eng.equity_f, bot=name, currency=currency, ts=bars[0].ts_ns if bars else None)
            if self._want_bars:
                for bar in bars:
                    self.on_bar(bar)

        for topic in _TOPICS:
            eng.bus.subscribe(topic, on_event)
        unwatch = watch_bot(eng.bus, name, bar=on_bar) if self._want_equity or self._want_bars else None
        with self._attach_lock:
            self._attached[name] = (bot, on_event, unwatch)

    def detach_bot(self, name: str) -> None:
        with self._attach_lock:
            entry = self._attached.pop(name, None)
        if entry is None:
            return
        bot, on_event, unwatch = entry
        for topic in _TOPICS:
            bot.engine.bus.unsubscribe(topic, on_event)
        if unwatch is not None:
            unwatch()
        self._prune_feeds()

    def _risk_event(self, bot: str, ev: Any) -> None:
        ts = int(getattr(ev, "ts_event", 0)) or self.clock()
        if isinstance(ev, TradingStateChanged):
            new, old = str(ev.new).upper(), str(ev.old).upper()
            if new not in _HALT_STATES or new == old:
                return
            text = f"bot {bot}: {ev.old} -> {ev.new} by {ev.rule}: {ev.reason}"
            if ev.limit is not None or ev.value is not None:
                text += f" (value {ev.value}, limit {ev.limit})"
            for r in self._rules("risk_halt", bot):
                self._fire(r, ts, f"Bot {bot}: trading {ev.new} ({ev.rule})", text, bot, None,
                           f"risk_halt:{r.label}:{bot}:{new}:{ev.rule}")
        else:
            for r in self._rules("risk_halt", bot):
                self._fire(r, ts, f"Bot {bot}: kill switch activated",
                           f"bot {bot}: {ev.reason} (canceled {ev.canceled} orders, "
                           f"{ev.flatten_orders} flattening orders)", bot, None,
                           f"risk_halt:{r.label}:{bot}:kill_switch")

    # ---- feed stalls: only symbols of running bots ---------------------------------------------------------
    def _prune_feeds(self) -> None:
        with self._attach_lock:
            bots = [b for b, _, _ in self._attached.values()]
        live: set[str] = set()
        for b in bots:
            if b.status == "running" and not b.done:
                live.update(str(getattr(i.id, "symbol", i.id)) for i in b.instruments)
        with self._lock:
            for sym in [s for s in self._feed if s not in live]:
                del self._feed[sym]
            for flag in [f for f in self._stalled if f[1] not in live]:
                self._stalled.discard(flag)

    def check_stalls(self) -> list[Alert]:
        self._prune_feeds()
        return super().check_stalls()

    # ---- observers -------------------------------------------------------------------------------------------
    def emit(self, alert: Alert, channels: list[str] | None = None) -> Alert | None:
        out = super().emit(alert, channels)
        if out is not None:
            if self.metrics is not None:
                self.metrics.alerts.labels(out.kind, out.severity).inc()
            if self.on_alert is not None:
                try:
                    self.on_alert(out)
                except Exception:  # noqa: BLE001 - a listener must not break alerting
                    log.exception("alert listener failed")
        return out

    def _set(self, alert_id: str, channel: str, status: str, attempts: int, error: str | None) -> None:
        super()._set(alert_id, channel, status, attempts, error)
        if status == "pending":
            return
        if self.metrics is not None:
            self.metrics.deliveries.labels(channel, status).inc()
        if status in ("sent", "failed"):
            self._channel_last[channel] = {"status": status, "at": time.monotonic(), "error": error}

    def channel_health(self) -> dict[str, dict[str, Any]]:
        """Last final delivery per channel: {"status": sent|failed, "at": time.monotonic(), "error"}."""
        return {k: dict(v) for k, v in self._channel_last.items()}


def alert_json(row: dict[str, Any]) -> dict[str, Any]:
    """An alert (Alert.to_dict() or a stored row) for people and JSON: `ts` UTC ISO (+ `ts_ns`), `created_at`
    ISO. Alerts carry no secret (channel errors name the channel only)."""
    from datetime import datetime

    from quantdesk.core.timeutil import iso

    out = dict(row)
    ts = int(out.get("ts") or 0)
    out["ts"], out["ts_ns"] = iso(ts), ts
    created = out.get("created_at")
    if isinstance(created, datetime):
        out["created_at"] = iso(created)  # naive (SQLite) = UTC
    return out
