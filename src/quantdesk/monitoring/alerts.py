"""Alert rules on bus events, de-duplication, per-channel rate limiting, background delivery with retries.

    mgr = AlertManager(settings_or_dict, repo=AlertRepository(url))   # settings: AlertsSettings / .alerts / dict
    mgr.attach(bus)          # subscribes to orders, risk, strategy, account and bar topics
    mgr.start()              # channel worker threads (+ the feed-stall checker thread)
    ...
    mgr.flush(timeout=5)     # wait until queued deliveries finished (tests, shutdown)
    mgr.stop()

Rules (`AlertRule.kind`): fill (OrderFilled), stop_loss_hit (OrderFilled of a stop / stop-limit / trailing stop
order), risk_halt (TradingStateChanged to HALTED/REDUCING/KILLED, KillSwitchActivated), drawdown (balance of
AccountStateChanged, or `on_equity()`, falls more than `threshold` % below its running peak; fires once per
crossing, re-armed when back above), feed_stalled (no bar of a symbol for `stall_bars` × timeframe, measured on
the injected clock by `check_stalls()`; re-armed by the next bar), bot_crashed (StrategyErrored), sentiment_event
(SentimentEventDetected on topic "sentiment": a stored news text names a hack, exploit, delisting...; filtered by
the rule's `events` kinds and `symbols`), calibration_drift
(`on_calibration()`: a signal source's expected calibration error, in percentage points, reaches `threshold`;
fires once per crossing, re-armed when back below; fed by quantdesk.ml.tracking), anomaly
(AnomalyDetected on topic "anomalies", quantdesk.intel.anomalies: filtered by `anomaly_kinds`, `symbols` and a
minimum score `threshold`).

Design:
- De-duplication: an alert whose `dedup_key` was emitted less than `dedup_window_s` ago (injected clock) is
  stored with status "deduplicated" and not delivered.
- Rate limiting: a token bucket per channel (`burst`, refilled at `rate_per_min`), taken when the alert is
  queued. No token -> that delivery is DROPPED and recorded as "rate_limited" (alerts must stay timely; a
  delayed flood is worse than a recorded drop). Other channels are unaffected. The log says it twice, not once
  per drop: one line when a channel starts dropping, one summary (how many, of which kinds, over how long) when
  it delivers again or the manager stops.
- Delivery: one worker thread + queue per channel, so a slow or failing channel never holds up the others.
  Retryable errors (network, HTTP 5xx/408/429, SMTP temporary) are retried `retries` times with exponential
  backoff `backoff_s * 2**n`, capped at `backoff_max_s` (a 429's Retry-After is honoured within that cap).
  Final status per (alert, channel): sent | failed (with the error, which names the channel, never a secret).
- Storage: every alert and its delivery status through `AlertRepository` (optional; `status()` in memory).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from quantdesk.core.timeutil import iso
from quantdesk.intel.sentiment.events import SentimentEventDetected
from quantdesk.model.enums import OrderType
from quantdesk.model.events import AccountStateChanged, OrderFilled, StrategyErrored
from quantdesk.monitoring.alert_config import AlertRule, AlertsSettings, load_alerts_settings
from quantdesk.monitoring.channels import Channel, ChannelError, build_channel
from quantdesk.risk.events import KillSwitchActivated, TradingStateChanged

__all__ = ["Alert", "AlertManager", "AlertRule", "AlertsSettings", "TokenBucket"]

log = logging.getLogger(__name__)

_DEFAULT_SEVERITY = {
    "fill": "info",
    "stop_loss_hit": "warning",
    "risk_halt": "critical",
    "drawdown": "warning",
    "feed_stalled": "warning",
    "bot_crashed": "critical",
    "sentiment_event": "warning",
    "calibration_drift": "warning",
    "anomaly": "warning",
}
_STOP_TYPES = {OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP}
_HALT_STATES = {"HALTED", "REDUCING", "KILLED"}
_BAR_TOPICS = ("bars", "Bar")
_EVENT_TOPICS = ("orders", "risk", "strategy", "account", "sentiment", "anomalies")


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    ts: int  # UTC ns
    kind: str
    severity: str
    title: str
    text: str
    bot: str | None
    symbol: str | None
    dedup_key: str

    def message(self) -> str:
        return f"[{self.severity.upper()}] {self.title}\n{self.text}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TokenBucket:
    """`burst` tokens, refilled continuously at `rate_per_s`; `take()` is False when empty."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_s
        self.capacity = float(burst)
        self.tokens = float(burst)
        self._clock = clock
        self._last = clock()

    def take(self) -> bool:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.rate)
        self._last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _symbol_of(instrument: Any) -> str | None:
    if instrument is None:
        return None
    return str(getattr(instrument, "symbol", instrument))


class AlertManager:
    def __init__(
        self,
        settings: Any = None,
        *,
        repo: Any = None,
        clock: Callable[[], int] = time.time_ns,
        channels: dict[str, Channel] | None = None,
        bucket_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings: AlertsSettings = load_alerts_settings(settings)
        self.repo = repo
        self.clock = clock
        cfgs = [c for c in self.settings.channels if c.enabled]
        self.channels: dict[str, Channel] = (
            dict(channels) if channels is not None else {c.name: build_channel(c) for c in cfgs}
        )
        self._buckets = {
            c.name: TokenBucket(c.rate_per_min / 60.0, c.burst, bucket_clock) for c in cfgs if c.name in self.channels
        }
        self._queues: dict[str, queue.Queue[Alert | None]] = {n: queue.Queue() for n in self.channels}
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._drops: dict[str, dict[str, Any]] = {}  # channel -> alerts dropped since it last delivered
        self._last_key: dict[str, int] = {}
        self._status: dict[tuple[str, str], dict[str, Any]] = {}
        self.alerts: list[Alert] = []  # everything emitted (incl. deduplicated), in memory
        # drawdown: peak per (bot, currency); armed flag per (rule, bot, currency)
        self._peak: dict[tuple[str | None, str], float] = {}
        self._dd_fired: set[tuple[int, str | None, str]] = set()
        # feed: symbol -> (last bar seen at clock ns, timeframe ns); stalled symbols per rule
        self._feed: dict[str, tuple[int, int | None]] = {}
        self._stalled: set[tuple[int, str]] = set()
        self._bus: Any = None

    # ---- lifecycle -----------------------------------------------------------------------------
    def attach(self, bus: Any) -> None:
        self._bus = bus
        for topic in _EVENT_TOPICS:
            bus.subscribe(topic, self.on_event)
        for topic in _BAR_TOPICS:
            bus.subscribe(topic, self.on_bar)

    def detach(self) -> None:
        if self._bus is None:
            return
        for topic in _EVENT_TOPICS:
            self._bus.unsubscribe(topic, self.on_event)
        for topic in _BAR_TOPICS:
            self._bus.unsubscribe(topic, self.on_bar)
        self._bus = None

    def start(self, *, stall_checker: bool = True) -> None:
        if self._threads:
            return
        self._stop.clear()
        for name in self.channels:
            t = threading.Thread(target=self._worker, args=(name,), name=f"qd-alerts-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        if stall_checker and any(r.kind == "feed_stalled" for r in self.settings.rules):
            t = threading.Thread(target=self._stall_loop, name="qd-alerts-stall", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        for channel in list(self._drops):  # what was dropped since the last delivery: said once, at the end
            self._summarise_drops(channel)
        self._stop.set()
        for q in self._queues.values():
            q.put(None)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        for ch in self.channels.values():
            ch.close()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery is finished (sent / failed). False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(q.unfinished_tasks == 0 for q in self._queues.values()):
                return True
            time.sleep(0.01)
        return False

    def __enter__(self) -> AlertManager:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.detach()
        self.stop()

    # ---- status --------------------------------------------------------------------------------
    def status(self, alert_id: str, channel: str) -> dict[str, Any] | None:
        return self._status.get((alert_id, channel))

    # ---- rule evaluation -----------------------------------------------------------------------
    def _rules(self, kind: str, bot: str | None = None, symbol: str | None = None) -> list[AlertRule]:
        if not self.settings.enabled:
            return []
        out = []
        for r in self.settings.rules:
            if r.kind != kind:
                continue
            if r.bots is not None and bot not in r.bots:
                continue
            if r.symbols is not None and symbol not in r.symbols:
                continue
            out.append(r)
        return out

    def on_event(self, ev: Any) -> None:
        try:
            self._on_event(ev)
        except Exception:  # never break the publisher's call stack
            log.exception("alert rule evaluation failed for %s", type(ev).__name__)

    def _on_event(self, ev: Any) -> None:
        ts = int(getattr(ev, "ts_event", 0)) or self.clock()
        if isinstance(ev, OrderFilled):
            bot, sym = ev.strategy_id, _symbol_of(ev.instrument)
            side = getattr(ev.side, "value", ev.side)
            text = f"{side} {ev.quantity} {ev.instrument} @ {ev.price} (order {ev.client_order_id}, fee {ev.fee})"
            for r in self._rules("fill", bot, sym):
                self._fire(r, ts, f"Fill: {side} {ev.quantity} {sym} @ {ev.price}", text, bot, sym,
                           f"fill:{ev.client_order_id}:{ev.trade_id}")
            if ev.order_type in _STOP_TYPES:
                for r in self._rules("stop_loss_hit", bot, sym):
                    self._fire(r, ts, f"Stop hit: {sym} @ {ev.price}", text, bot, sym,
                               f"stop_loss_hit:{ev.client_order_id}")
        elif isinstance(ev, TradingStateChanged):
            if str(ev.new).upper() in _HALT_STATES and str(ev.old).upper() != str(ev.new).upper():
                text = f"{ev.old} -> {ev.new} by {ev.rule}: {ev.reason}"
                if ev.limit is not None or ev.value is not None:
                    text += f" (value {ev.value}, limit {ev.limit})"
                for r in self._rules("risk_halt"):
                    self._fire(r, ts, f"Trading {ev.new}: {ev.rule}", text, None, None,
                               f"risk_halt:{ev.new}:{ev.rule}")
        elif isinstance(ev, KillSwitchActivated):
            for r in self._rules("risk_halt"):
                self._fire(r, ts, "Kill switch activated", f"{ev.reason} (canceled {ev.canceled} orders)",
                           None, None, "risk_halt:kill_switch")
        elif isinstance(ev, StrategyErrored):
            for r in self._rules("bot_crashed", ev.strategy_id):
                self._fire(r, ts, f"Bot {ev.strategy_id} errored in {ev.callback}", ev.error, ev.strategy_id,
                           None, f"bot_crashed:{ev.strategy_id}:{ev.callback}:{ev.error[:100]}")
        elif isinstance(ev, AccountStateChanged):
            self.on_equity(float(ev.balance), currency=ev.currency, ts=ts)
        elif isinstance(ev, SentimentEventDetected):
            syms: list[str | None] = list(ev.symbols) or [None]
            rules = [r for r in self.settings.rules if r.kind == "sentiment_event"] if self.settings.enabled else []
            for r in rules:
                if r.events is not None and ev.kind not in r.events:
                    continue
                sym = next((s for s in syms if r.symbols is None or s in r.symbols), "")
                if sym == "":
                    continue
                self._fire(r, ts, f"News event: {ev.kind}{' on ' + sym if sym else ''}",
                           f"{ev.title} (score {ev.score:+.2f}, source {ev.source})", None, sym,
                           f"sentiment_event:{ev.kind}:{ev.item_id}")
        elif getattr(ev, "topic", None) == "anomalies":  # quantdesk.intel.anomalies.events.AnomalyDetected
            self._anomaly(ev, ts)

    def _anomaly(self, ev: Any, ts: int) -> None:
        bot = getattr(ev, "source", None) or None
        for r in self._rules("anomaly", None, ev.symbol):
            if (r.anomaly_kinds is not None and ev.kind not in r.anomaly_kinds) or \
                    (r.threshold is not None and not ev.score >= r.threshold):
                continue
            extra = f" {ev.side} {ev.notional:,.2f} notional" if ev.notional is not None else ""
            text = (f"{ev.symbol} {ev.timeframe}: {ev.kinds or ev.kind} (score {ev.score:.3g}, {ev.method}){extra}"
                    f" at {iso(int(ev.ts_event))}")
            self._fire(r, ts, f"Anomaly: {ev.kind} on {ev.symbol}", text, bot, ev.symbol,
                       f"anomaly:{r.label}:{ev.symbol}:{ev.timeframe}:{ev.kind}:{int(ev.ts_event)}")

    def on_equity(self, equity: float, *, bot: str | None = None, currency: str = "", ts: int | None = None) -> None:
        """Feed an equity / balance value to the drawdown rules."""
        ts = ts or self.clock()
        key = (bot, currency)
        peak = max(self._peak.get(key, equity), equity)
        self._peak[key] = peak
        dd = (peak - equity) / peak * 100.0 if peak > 0 else 0.0
        for i, r in enumerate(self.settings.rules):
            if r.kind != "drawdown" or not self.settings.enabled or (r.bots is not None and bot not in r.bots):
                continue
            flag = (i, bot, currency)
            assert r.threshold is not None
            if dd >= r.threshold and flag not in self._dd_fired:
                self._dd_fired.add(flag)
                who = f"{bot} " if bot else ""
                self._fire(r, ts, f"Drawdown {dd:.2f}% beyond {r.threshold:g}%",
                           f"{who}equity {equity:g} {currency} vs peak {peak:g} {currency}".strip(), bot, None,
                           f"drawdown:{r.label}:{bot}:{currency}:{peak:g}")
            elif dd < r.threshold:
                self._dd_fired.discard(flag)

    def on_calibration(self, source: str, ece: float, *, signals: int = 0, ts: int | None = None,
                       symbol: str | None = None) -> None:
        """Feed a signal source's expected calibration error (0..1) to the calibration_drift rules."""
        ts = ts or self.clock()
        for i, r in enumerate(self.settings.rules):
            if r.kind != "calibration_drift" or not self.settings.enabled or \
                    (r.bots is not None and source not in r.bots):
                continue
            flag = (i, source, "calibration")
            assert r.threshold is not None
            if ece * 100.0 >= r.threshold and flag not in self._dd_fired:
                self._dd_fired.add(flag)
                self._fire(r, ts, f"Calibration drift: {source}",
                           f"expected calibration error {ece * 100:.1f} pts over the last {signals} resolved signals "
                           f"(limit {r.threshold:g})", source, symbol, f"calibration_drift:{r.label}:{source}")
            elif ece * 100.0 < r.threshold:
                self._dd_fired.discard(flag)

    def on_bar(self, bar: Any) -> None:
        sym = _symbol_of(getattr(bar, "instrument", None))
        if sym is None:
            return
        tf = getattr(bar, "timeframe", None)
        tf_ns = getattr(tf, "nanos", None)
        with self._lock:
            self._feed[sym] = (self.clock(), tf_ns)
            for flag in [f for f in self._stalled if f[1] == sym]:
                self._stalled.discard(flag)

    def check_stalls(self) -> list[Alert]:
        """Fire feed_stalled for every symbol without a bar for `stall_bars` × timeframe (injected clock)."""
        now = self.clock()
        fired: list[Alert] = []
        with self._lock:
            feed = dict(self._feed)
        for i, r in enumerate(self.settings.rules):
            if r.kind != "feed_stalled" or not self.settings.enabled:
                continue
            for sym, (last, tf_ns) in feed.items():
                if r.symbols is not None and sym not in r.symbols:
                    continue
                step = int(r.timeframe_s * 1e9) if r.timeframe_s is not None else tf_ns
                if not step:
                    continue
                silent = now - last
                if silent > r.stall_bars * step and (i, sym) not in self._stalled:
                    self._stalled.add((i, sym))
                    a = self._fire(r, now, f"Feed stalled: {sym}",
                                   f"no bar for {silent / 1e9:.0f}s (limit {r.stall_bars} x {step / 1e9:g}s)",
                                   None, sym, f"feed_stalled:{sym}:{last}")
                    if a is not None:
                        fired.append(a)
        return fired

    def _stall_loop(self) -> None:
        while not self._stop.wait(self.settings.stall_check_interval_s):
            try:
                self.check_stalls()
            except Exception:  # noqa: BLE001
                log.exception("feed stall check failed")

    # ---- emit / dedup / rate limit -------------------------------------------------------------
    def _fire(self, rule: AlertRule, ts: int, title: str, text: str, bot: str | None, symbol: str | None,
              key: str) -> Alert | None:
        alert = Alert(id=uuid.uuid4().hex, ts=ts, kind=rule.kind, severity=rule.severity or _DEFAULT_SEVERITY[rule.kind],
                      title=title, text=text, bot=bot, symbol=symbol, dedup_key=key)
        targets = [c for c in (rule.channels if rule.channels is not None else self.channels) if c in self.channels]
        return self.emit(alert, targets)

    def emit(self, alert: Alert, channels: list[str] | None = None) -> Alert | None:
        """De-duplicate, store, rate-limit and queue `alert`. Returns it, or None when deduplicated."""
        targets = list(self.channels) if channels is None else list(channels)
        now = self.clock()
        window = int(self.settings.dedup_window_s * 1e9)
        with self._lock:
            last = self._last_key.get(alert.dedup_key)
            dup = last is not None and now - last < window
            if not dup:
                self._last_key[alert.dedup_key] = now
            self.alerts.append(alert)
            granted = {} if dup else {c: self._buckets[c].take() if c in self._buckets else True for c in targets}
        if dup:
            log.info("alert %s deduplicated (key %s)", alert.kind, alert.dedup_key)
            if self.repo is not None:
                self.repo.add_alert(alert, "deduplicated", [])
            return None
        if self.repo is not None:
            self.repo.add_alert(alert, "dispatched", targets)
        for c in targets:
            if granted[c]:
                self._summarise_drops(c)
                self._set(alert.id, c, "pending", 0, None)
                self._queues[c].put(alert)
            else:
                self._dropped(c, alert.kind)
                self._set(alert.id, c, "rate_limited", 0, "rate limit exceeded")
        return alert

    # ---- rate-limit reporting: one line when a channel starts dropping, one summary when it stops --------------
    def _dropped(self, channel: str, kind: str) -> None:
        with self._lock:
            first = channel not in self._drops
            entry = self._drops.setdefault(channel, {"count": 0, "kinds": {}, "since": self.clock()})
            entry["count"] += 1
            entry["kinds"][kind] = entry["kinds"].get(kind, 0) + 1
        if first:
            log.warning("alert channel %r is over its rate limit: dropping alerts (each is stored as rate_limited; "
                        "a summary follows when it delivers again)", channel)

    def _summarise_drops(self, channel: str) -> None:
        with self._lock:
            entry = self._drops.pop(channel, None)
        if entry is not None:
            kinds = ", ".join(f"{k} x{n}" for k, n in sorted(entry["kinds"].items()))
            secs = (self.clock() - entry["since"]) / 1e9
            log.warning("alert channel %r dropped %d alert(s) by its rate limit over %.0f s (%s)", channel,
                        entry["count"], secs, kinds)

    def drop_summary(self) -> dict[str, int]:
        """Alerts dropped by the rate limit per channel since its last delivery (not summarised yet)."""
        with self._lock:
            return {c: int(e["count"]) for c, e in self._drops.items()}

    def _set(self, alert_id: str, channel: str, status: str, attempts: int, error: str | None) -> None:
        self._status[(alert_id, channel)] = {"status": status, "attempts": attempts, "error": error}
        if self.repo is not None and status != "pending":
            try:
                self.repo.set_delivery(alert_id, channel, status, attempts, error)
            except Exception:  # noqa: BLE001
                log.exception("cannot store the delivery status of alert %s", alert_id)

    # ---- delivery ------------------------------------------------------------------------------
    def _worker(self, name: str) -> None:
        q = self._queues[name]
        while True:
            alert = q.get()
            try:
                if alert is None:
                    return
                self._deliver(name, alert)
            finally:
                q.task_done()

    def _deliver(self, name: str, alert: Alert) -> None:
        ch = self.channels[name]
        s = self.settings
        attempt = 0
        while True:
            attempt += 1
            try:
                ch.send(alert)
            except ChannelError as exc:
                err = str(exc)
                if not exc.retryable or attempt > s.retries or self._stop.is_set():
                    log.warning("alert %s not delivered: %s (after %d attempt(s))", alert.kind, err, attempt)
                    self._set(alert.id, name, "failed", attempt, err)
                    return
                delay = min(s.backoff_s * 2 ** (attempt - 1), s.backoff_max_s)
                if exc.retry_after is not None:
                    delay = min(max(delay, exc.retry_after), s.backoff_max_s)
                log.info("alert %s: %s; retry %d in %.2fs", alert.kind, err, attempt, delay)
                self._stop.wait(delay)
                continue
            except Exception as exc:  # noqa: BLE001 - a bug in a channel must not kill the worker
                err = f"{ch.kind} channel {name!r}: {type(exc).__name__}"
                log.warning("alert %s not delivered: %s", alert.kind, err)
                self._set(alert.id, name, "failed", attempt, err)
                return
            self._set(alert.id, name, "sent", attempt, None)
            return
