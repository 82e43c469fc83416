"""Live anomaly watching for a paper/live bot: every bar the bot processes goes through a `BarAnomalyStream` per
symbol; each finding becomes an `AnomalyDetected` on the bot's bus (the node's alert rules and the WebSocket
"events" channel hear it), a stored row and a Prometheus count.

    watcher = AnomalyWatcher(bot, method="zscore", repo=AnomalyRepository(url), metrics=platform_metrics)
    watcher.attach()   # bot.on_bar hook; detach() removes it (also done when the bot stops)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from quantdesk.intel.anomalies.detect import BarAnomalyStream
from quantdesk.intel.anomalies.events import AnomalyDetected
from quantdesk.model.bot_events import watch_bot

log = logging.getLogger(__name__)


class AnomalyWatcher:
    def __init__(self, bot: Any, *, method: str = "zscore", repo: Any = None, metrics: Any = None,
                 **params: Any) -> None:
        self.bot, self.method, self.repo, self.metrics, self.params = bot, method, repo, metrics, params
        tf = getattr(getattr(bot, "feed", None), "timeframe", None)
        spec = getattr(bot, "spec", None)
        self.timeframe = str(spec.timeframe) if spec is not None else ""
        self.tf_ns = int(tf.nanos) if tf is not None else None
        self.streams: dict[str, BarAnomalyStream] = {}
        self.found: list[AnomalyDetected] = []
        self.first_ts: dict[str, int] = {}  # symbol -> first bar this watcher saw (its detectors start there)
        self._unwatch: Callable[[], None] | None = None
        BarAnomalyStream(method, **params)  # bad parameters fail here, before anything is attached

    def attach(self) -> None:
        """Watch the bot's processed bars (its BarProcessed events); detaches itself when the bot stops."""
        if self._unwatch is None:
            self._unwatch = watch_bot(self.bot.engine.bus, self.bot.name,
                                      bar=lambda ev: self.on_bar(self.bot, list(ev.bars)),
                                      stop=lambda ev: self.detach())

    @property
    def attached(self) -> bool:
        """Whether this watcher still receives the bot's bars (False once detached or the bot stopped)."""
        return self._unwatch is not None

    def detach(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    def on_bar(self, bot: Any, bars: list[Any]) -> None:
        try:
            events = [e for bar in bars for e in self._check(bar)]
        except Exception:  # noqa: BLE001 - watching must never break trading
            log.exception("anomaly watcher failed on a bar of %s", getattr(bot, "name", bot))
            return
        if not events:
            return
        self.found.extend(events)
        for e in events:
            bot.engine.bus.publish(e)
            if self.metrics is not None:
                self.metrics.anomalies.labels(e.symbol, e.kind).inc()
        if self.repo is not None:
            try:
                self.repo.add(events)
            except Exception:  # noqa: BLE001
                log.exception("cannot store %d anomalies", len(events))

    def _check(self, bar: Any) -> list[AnomalyDetected]:
        symbol = str(getattr(bar.instrument, "symbol", bar.instrument))
        stream = self.streams.get(symbol)
        if stream is None:
            stream = self.streams[symbol] = BarAnomalyStream(self.method, timeframe_ns=self.tf_ns, **self.params)
            self.first_ts[symbol] = int(bar.ts_ns)
        res = stream.update(int(bar.ts_ns), float(bar.open), float(bar.high), float(bar.low), float(bar.close),
                            float(bar.volume))
        if res is None:
            return []
        kind, kinds, score = res
        return [AnomalyDetected(int(bar.ts_ns), int(bar.ts_ns), symbol, kind, float(score), self.method,
                                self.timeframe, kinds, source=str(getattr(self.bot, "name", "")))]
