"""One running simulated exchange: the exchange core, its clock, its faults, its listen keys and its event hub.

Everything that reads or changes the exchange goes through `session()`: it takes the lock, first replays the
market up to the clock's now, and hands the events produced to the hub in order. The web layer, the clock
driver and the Python API (tests) all use it, from any thread.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from quantdesk.adapters.simulator.clock import SimClock
from quantdesk.adapters.simulator.config import SimConfig
from quantdesk.adapters.simulator.engine import Exchange
from quantdesk.adapters.simulator.faults import FaultBook
from quantdesk.adapters.simulator.hub import Hub
from quantdesk.adapters.simulator.model import SimError
from quantdesk.adapters.simulator.tape import build_tape, load_frame
from quantdesk.core.errors import ParameterError
from quantdesk.core.timeutil import iso


class SimRuntime:
    def __init__(self, cfg: SimConfig) -> None:
        cfg = cfg.validated()
        where = str(cfg.data) if cfg.data is not None else f"the candle store ({cfg.symbol} {cfg.timeframe})"
        frame = load_frame(cfg.data, cfg.symbol, cfg.timeframe, cfg.exchange)
        tape = build_tape(frame, cfg.timeframe_ms, cfg.tick_size, where)
        start = tape.start_ms(cfg.start)
        self.cfg = cfg
        self.lock = threading.RLock()
        self.faults = FaultBook()
        self.exchange = Exchange(cfg, tape, start)
        self.exchange.fill_splits = self.faults.split_count
        self.clock = SimClock(self.exchange.now, cfg.speed)
        self.hub = Hub(self.exchange, self.lock, self.faults)
        self.listen_keys: dict[str, float] = {}  # listenKey -> wall expiry (monotonic)
        self.requests = 0
        self.transports: dict[tuple[str, int], Any] = {}  # HTTP client address -> its connection (server.py)

    @contextmanager
    def session(self) -> Iterator[Exchange]:
        """The exchange, replayed up to now, under the lock; the events it produces go to the hub in order."""
        with self.lock:
            self.hub.submit(self.exchange.advance_to(self.clock.now_ms()))
            try:
                yield self.exchange
            finally:
                self.hub.submit(self.exchange.drain())

    # ---- the clock --------------------------------------------------------------------------------------
    def advance(self, *, ms: int | None = None, candles: int | None = None, to: str | int | None = None) -> int:
        """Move the simulated clock forward (by ms, by whole candles to the next opens, or to a time)."""
        given = [x is not None for x in (ms, candles, to)]
        if sum(given) != 1:
            raise ParameterError("advance: give exactly one of ms, candles or to")
        with self.lock:
            now = self.clock.now_ms()
            tape = self.exchange.tape
            if ms is not None:
                if int(ms) < 0:
                    raise ParameterError(f"advance: ms must be >= 0, got {ms}")
                target = now + int(ms)
            elif candles is not None:
                if int(candles) < 0:
                    raise ParameterError(f"advance: candles must be >= 0, got {candles}")
                i = tape.candle_at(now) + int(candles)
                target = int(tape.open_ms[i]) if i < len(tape) else int(tape.event_ms[-1])
                target = max(target, now)
            else:
                assert to is not None
                if isinstance(to, int):
                    target = to
                else:
                    from quantdesk.core.timeutil import parse_utc

                    target = int(parse_utc(to, name="to").value // 1_000_000)
                if target < now:
                    raise ParameterError(f"advance: {to} is before the simulator's now ({iso(now * 1_000_000)})")
            self.clock.jump_to(target)
            with self.session():
                pass
        return target

    def set_speed(self, speed: float) -> None:
        if not 0 <= float(speed) <= 1e7:
            raise ParameterError(f"speed {speed!r}: use a number in [0, 1e7] (0 = manual clock)")
        with self.lock:
            with self.session():
                pass
            self.clock.set_speed(float(speed))

    # ---- listen keys ------------------------------------------------------------------------------------
    def new_listen_key(self) -> str:
        key = secrets.token_urlsafe(45)[:60]
        self.listen_keys[key] = time.monotonic() + self.cfg.listen_key_ttl_s
        return key

    def touch_listen_key(self, key: str | None, delete: bool = False) -> None:
        if not key:
            raise SimError(-1102, "Mandatory parameter 'listenKey' was not sent, was empty/null, or malformed.")
        if not self.listen_key_valid(key):
            raise SimError(-1125, "This listenKey does not exist.")
        if delete:
            del self.listen_keys[key]
        else:
            self.listen_keys[key] = time.monotonic() + self.cfg.listen_key_ttl_s

    def listen_key_valid(self, key: str) -> bool:
        expiry = self.listen_keys.get(key)
        return expiry is not None and expiry > time.monotonic()

    # ---- truth ------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """What the exchange knows (orders, fills, balances, submissions, faults), as JSON-ready data."""
        from quantdesk.adapters.simulator.model import num

        with self.session() as ex:
            assets = sorted(ex.totals)
            return {
                "symbol": self.cfg.symbol, "market_id": self.cfg.market_id, "timeframe": self.cfg.timeframe,
                "now": ex.now, "now_iso": iso(ex.now * 1_000_000), "speed": self.clock.speed,
                "finished": ex.finished, "last_price": num(ex.tape.price(ex.last_ticks)),
                "candle_open": int(ex.tape.open_ms[ex.candle]), "candle_closed": ex.closed,
                "orders": [o.to_state() for o in ex.orders.values()],
                "fills": [f.to_state() for f in ex.fills],
                "balances": {a: num(ex.totals[a]) for a in assets},
                "balances_detail": {a: {"free": num(ex.free(a)), "locked": num(ex.locked(a)),
                                        "total": num(ex.totals[a])} for a in assets},
                "submissions": list(ex.submissions),
                "faults": self.faults.active(),
                "connections": self.hub.counts(),
                "requests": self.requests,
            }
