"""Events a trading bot (paper or live) publishes on its engine's bus (topic "bot"), so that observers (metrics, alerts,
the WebSocket, Redis, the CLI's progress line, anomaly watchers) subscribe instead of wrapping the bot's methods
or registering callbacks on it. They are announced with `MessageBus.notify`: a failing observer is logged and
never stops the bot nor the other observers.

    stop = watch_bot(bot.engine.bus, "bot-1", bar=lambda ev: print(ev.step), stop=lambda ev: stop())
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from quantdesk.model.events import Event

BOT_TOPIC = "bot"


@dataclass(frozen=True, slots=True)
class BarProcessed(Event):
    """The bot processed step `step` (bar time `ts_event`, its `bars`) and committed it; `started`/`ended` are
    `time.perf_counter()` readings around the whole step (feed, engine, write-ahead, commit)."""

    bot: str
    step: int
    started: float
    ended: float
    bars: tuple[Any, ...] = ()

    topic = BOT_TOPIC


@dataclass(frozen=True, slots=True)
class BarCommitted(Event):
    """What one commit wrote: the orders it touched, the new fills and risk events (rows as stored), after the
    transaction."""

    bot: str
    orders: tuple[Mapping[str, Any], ...] = ()
    fills: tuple[Mapping[str, Any], ...] = ()
    risk_events: tuple[Mapping[str, Any], ...] = ()

    topic = BOT_TOPIC


@dataclass(frozen=True, slots=True)
class SignalRecorded(Event):
    """A manual trade, cancel, force-exit, risk action or simulated signal the bot journalled."""

    bot: str
    row: Mapping[str, Any] = field(default_factory=dict)

    topic = BOT_TOPIC


@dataclass(frozen=True, slots=True)
class BotStopped(Event):
    """The bot stopped: `status` is stopped, paused, crashed or finished. Observers detach here."""

    bot: str
    status: str = "stopped"

    topic = BOT_TOPIC


Handler = Callable[[Any], None]


def watch_bot(bus: Any, bot: str, *, bar: Handler | None = None, commit: Handler | None = None,
              signal: Handler | None = None, stop: Handler | None = None) -> Callable[[], None]:
    """Subscribe handlers to one bot's events by kind; returns the function that unsubscribes them."""
    table: dict[type, Handler] = {k: h for k, h in ((BarProcessed, bar), (BarCommitted, commit),
                                                     (SignalRecorded, signal), (BotStopped, stop)) if h is not None}

    def dispatch(ev: Any) -> None:
        handler = table.get(type(ev))
        if handler is not None and getattr(ev, "bot", None) == bot:
            handler(ev)

    bus.subscribe(BOT_TOPIC, dispatch)
    return lambda: bus.unsubscribe(BOT_TOPIC, dispatch)
