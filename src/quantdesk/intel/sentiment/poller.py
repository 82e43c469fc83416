"""Polling the configured sources on their schedules: fetch (with retries), score, de-duplicate, store, and
publish a `SentimentEventDetected` on the bus for every event a NEW text names (the alert manager turns them
into alerts by rule; strategies and risk read the store).

    poller = Poller(settings, store, bus=bus)
    poller.poll_once()                 # every enabled source now; one report per source
    poller.run(stop=threading.Event()) # forever: each source when its interval_s has passed
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from quantdesk.core.errors import QuantDeskError
from quantdesk.core.logging import get_logger
from quantdesk.intel.sentiment.config import SentimentSettings, sample_source
from quantdesk.intel.sentiment.events import SentimentEventDetected
from quantdesk.intel.sentiment.sources import FearGreedSource, fetch
from quantdesk.intel.sentiment.store import RawItem, SentimentStore

log = get_logger(__name__)


class Poller:
    def __init__(self, settings: SentimentSettings, store: SentimentStore, *, bus: Any = None,
                 include_sample: bool = False, client: Any = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.client = client
        self.clock = clock
        self.sleep = sleep
        self.sources = [s for s in settings.sources if s.enabled]
        if include_sample:
            self.sources.insert(0, sample_source())
        self._next: dict[str, float] = {}
        self._scorer: Any = None

    @property
    def scorer(self) -> Any:
        if self._scorer is None:
            self._scorer = self.settings.make_scorer()
        return self._scorer

    def poll_once(self, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Poll the given sources (default: all enabled) now; a failing source never stops the others."""
        chosen = [s for s in self.sources if names is None or s.name in names]
        unknown = sorted(set(names or ()) - {s.name for s in self.sources})
        if unknown:
            raise QuantDeskError(f"unknown source(s) {', '.join(unknown)}; have "
                                 f"{', '.join(s.name for s in self.sources) or 'none'}")
        reports = []
        for src in chosen:
            t0 = time.perf_counter()
            report: dict[str, Any] = {"source": src.name, "type": src.type, "status": "ok", "fetched": 0, "new": 0,
                                      "events": 0, "error": None}
            try:
                got = fetch(src, self.client, self.sleep)
                report["fetched"] = len(got)
                if isinstance(src, FearGreedSource):
                    report["new"] = self.store.add_index_values(src.name, got)  # type: ignore[arg-type]
                else:
                    new = self.store.add(got, scorer=self.scorer, threshold=self.settings.threshold,  # type: ignore[arg-type]
                                         quote=self.settings.quote, now_ns=int(self.clock() * 1e9))
                    report["new"] = len(new)
                    report["events"] = self._publish(new)
            except QuantDeskError as exc:
                report.update(status="error", error=str(exc))
                log.warning("sentiment: %s", exc)
            report["seconds"] = round(time.perf_counter() - t0, 3)
            self._next[src.name] = self.clock() + src.interval_s
            reports.append(report)
        return reports

    def _publish(self, rows: list[dict[str, Any]]) -> int:
        n = 0
        now = int(self.clock() * 1e9)
        for row in rows:
            for kind in row["events"]:
                n += 1
                if self.bus is not None:
                    self.bus.publish(SentimentEventDetected(
                        row["published_ns"], now, kind, tuple(row["entities"]), float(row["score"]),
                        row["title"][:300], row["source"], str(row["seq"]), row["url"] or ""))
        return n

    def due(self) -> list[str]:
        now = self.clock()
        return [s.name for s in self.sources if self._next.get(s.name, 0.0) <= now]

    def run(self, stop: threading.Event, *, tick_s: float = 1.0, on_report: Callable[[dict[str, Any]], None] | None = None,
            max_cycles: int | None = None) -> None:
        """Poll each source whenever it is due until `stop` is set (or `max_cycles` polls have run)."""
        cycles = 0
        while not stop.is_set():
            names = self.due()
            if names:
                for rep in self.poll_once(names):
                    if on_report is not None:
                        on_report(rep)
                cycles += 1
                if max_cycles is not None and cycles >= max_cycles:
                    return
            stop.wait(tick_s)


def import_items(store: SentimentStore, items: Sequence[RawItem], settings: SentimentSettings | None = None,
                 bus: Any = None) -> list[dict[str, Any]]:
    """Score and store texts given directly (e.g. `sentiment import FILE`); publishes their events."""
    s = settings or SentimentSettings()
    poller = Poller(s, store, bus=bus)
    new = store.add(items, scorer=poller.scorer, threshold=s.threshold, quote=s.quote)
    poller._publish(new)
    return new
