"""Per-component health for /health: database, Redis, candle store, node runner, feeds, venues, bots, alerts.

    probes = Probes(lambda: engine, redis_url)          # shared with /metrics (qd_db_up, qd_redis_up)
    report = build_report(components)                   # {"status", "components", "degraded": [...], ...}

Every component is {"status": ok | degraded | down | disabled, ...}; a component that is not ok adds a human
reason ("bot b1 halted (daily_loss)", "redis down (ConnectionError)") to the top-level `degraded` list. Overall:
"down" when the database is down (nothing can be persisted), else "degraded" when any reason exists, else "ok".

Probes never hang the caller: the check runs on a daemon thread and is waited for `timeout_s` at most; while one
check is still in flight (a dead host that does not answer) no second one is started, so a dead dependency costs
one thread, not one per request. Results are cached `ttl_s` (a scrape and a health check share one ping).
Errors are reported by exception type only (a message could carry a host name or a password).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from quantdesk.core.timeutil import iso

HALT_STATES = {"HALTED", "REDUCING", "KILLED"}
STALL_BARS = 3  # a feed is stalled after this many bar periods without a bar ...
MIN_STALL_S = 30.0  # ... and never before this many seconds (a replay at full speed has no period)
RECENT_FAILURE_S = 900.0  # an alert channel whose last delivery failed within this window is degraded


@dataclass(frozen=True, slots=True)
class ProbeResult:
    status: str  # ok | down | disabled
    latency_s: float | None = None
    detail: str | None = None

    @property
    def up(self) -> float:
        return 1.0 if self.status == "ok" else 0.0

    def component(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.latency_s is not None:
            out["latency_ms"] = round(self.latency_s * 1000, 3)
        if self.detail:
            out["detail"] = self.detail
        return out


class Probe:
    """One dependency check (`check()` raises when the dependency is unhealthy), bounded in time."""

    def __init__(self, name: str, check: Callable[[], None] | None, *, timeout_s: float = 1.0,
                 ttl_s: float = 1.0) -> None:
        self.name = name
        self._check = check
        self.timeout_s = timeout_s
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cached: tuple[float, ProbeResult] | None = None
        self._inflight: tuple[threading.Event, list[ProbeResult]] | None = None

    def _run(self, done: threading.Event, box: list[ProbeResult]) -> None:
        t0 = time.perf_counter()
        try:
            self._check()  # type: ignore[misc]
            box.append(ProbeResult("ok", time.perf_counter() - t0))
        except Exception as exc:  # noqa: BLE001 - any failure means "down"
            box.append(ProbeResult("down", None, type(exc).__name__))
        done.set()

    def result(self) -> ProbeResult:
        if self._check is None:
            return ProbeResult("disabled")
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.ttl_s:
                return self._cached[1]
            if self._inflight is None:
                done = threading.Event()
                box: list[ProbeResult] = []
                self._inflight = (done, box)
                threading.Thread(target=self._run, args=(done, box), name=f"qd-probe-{self.name}",
                                 daemon=True).start()
            done, box = self._inflight
        if not done.wait(self.timeout_s):
            res = ProbeResult("down", None, f"no answer within {self.timeout_s:g}s")
        else:
            res = box[0]
            with self._lock:
                if self._inflight is not None and self._inflight[0] is done:
                    self._inflight = None
        with self._lock:
            self._cached = (time.monotonic(), res)
        return res


class Probes:
    """The database and Redis probes of one service (`redis_url=None`: Redis disabled)."""

    def __init__(self, engine: Callable[[], Any], redis_url: str | None, *, timeout_s: float = 1.0) -> None:
        self._engine = engine
        self._redis_url = redis_url
        self._redis: Any = None
        self._timeout = timeout_s
        self.database = Probe("database", self._ping_db, timeout_s=timeout_s)
        self.redis = Probe("redis", self._ping_redis if redis_url else None, timeout_s=timeout_s)

    def _ping_db(self) -> None:
        import sqlalchemy as sa

        with self._engine().connect() as c:
            c.execute(sa.text("select 1"))

    def _ping_redis(self) -> None:
        if self._redis is None:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            t = self._timeout / 2
            assert self._redis_url is not None  # the probe only runs with a URL (see __init__)
            self._redis = redis.Redis.from_url(self._redis_url, socket_connect_timeout=t, socket_timeout=t,
                                               retry=Retry(NoBackoff(), 0), health_check_interval=0)
        self._redis.ping()

    def close(self) -> None:
        if self._redis is not None:
            try:
                self._redis.close()
            except Exception:  # noqa: BLE001
                pass


# ---- components ----------------------------------------------------------------------------------------------
Reasons = list[str]


def probe_component(name: str, res: ProbeResult, reasons: Reasons) -> dict[str, Any]:
    if res.status == "down":
        reasons.append(f"{name} down ({res.detail})")
    return res.component()


def candle_store_component(reasons: Reasons) -> dict[str, Any]:
    try:
        from quantdesk.data import open_store

        return {"status": "ok", "series": len(open_store().catalog())}
    except Exception as exc:  # noqa: BLE001
        reasons.append(f"candle store unreadable ({type(exc).__name__})")
        return {"status": "degraded", "detail": type(exc).__name__}


def node_component(runner_alive: bool, bots: list[Any], reasons: Reasons) -> dict[str, Any]:
    running = [b.name for b in bots if b.status == "running" and not b.done]
    out = {"status": "ok", "runner": "running" if runner_alive else "idle", "bots": len(bots)}
    if running and not runner_alive:
        out["status"] = "degraded"
        reasons.append(f"paper node runner is not running ({len(running)} bot(s) waiting)")
    return out


def _feed(bot: Any, track: Any, at: float, wall_ns: int) -> tuple[dict[str, Any], str | None]:
    feed = bot.feed
    kind = str(getattr(feed, "kind", "replay"))
    tf_s = float(feed.timeframe.seconds)
    out: dict[str, Any] = {"kind": kind}
    if track is not None and track.last_bar_ts is not None:
        out["last_bar"] = iso(int(track.last_bar_ts))
        out["lag_s"] = round(track.lag_s, 6)
    if bot.done:
        return {"status": "finished", **out}, None
    if bot.status != "running":
        return {"status": str(bot.status), **out}, None
    limit = max(STALL_BARS * tf_s, MIN_STALL_S)
    if getattr(feed, "live", False):
        last_open = track.last_bar_ts if track is not None and track.last_bar_ts is not None else feed.start_ns
        last_close_ns = last_open + feed.timeframe.nanos
        clock = getattr(feed, "clock", None)  # the exchange feed's clock decides which bars are closed
        now_ns = clock.now_ns() if clock is not None else wall_ns
        silent = (now_ns - last_close_ns) / 1e9 - float(getattr(feed, "close_delay_s", 0.0))
    else:
        pace = float(feed.delay())
        limit = max(STALL_BARS * pace, MIN_STALL_S)
        since = at if track is None else (track.last_bar_at if track.last_bar_at is not None else track.attached_at)
        silent = at - since
    if silent > limit:
        return ({"status": "stalled", "silent_s": round(silent, 1), **out},
                f"feed of bot {bot.name} stalled (no bar for {silent:.0f} s)")
    return {"status": "ok", **out}, None


def _venue(bot: Any, track: Any) -> tuple[dict[str, Any], str | None]:
    feed = bot.feed
    out: dict[str, Any] = {"venue": "simulated"}
    if getattr(feed, "live", False):
        failed = int(feed.failed_polls)
        since = failed - (track.failed_polls_at_bar if track is not None else 0)
        out.update(exchange=getattr(feed, "exchange", None), polls=int(getattr(feed, "polls", 0)),
                   failed_polls=failed)
        if since > 0:
            return ({"status": "degraded", **out},
                    f"exchange feed of bot {bot.name} failing ({since} failed poll(s) since the last bar)")
    return {"status": "ok", **out}, None


def _bot(bot: Any, track: Any) -> tuple[dict[str, Any], str | None]:
    risk = bot.engine.risk
    state = str(getattr(risk.state, "value", risk.state))
    out: dict[str, Any] = {"status": str(bot.status), "risk": state}
    if track is not None and track.error is not None:
        return {**out, "status": "crashed", "error": track.error}, f"bot {bot.name} crashed ({track.error})"
    if bot.status == "failed":
        return out, f"bot {bot.name} failed"
    if state in HALT_STATES:
        word = {"HALTED": "halted", "REDUCING": "reducing", "KILLED": "killed"}[state]
        rule = getattr(risk, "halt_rule", "") or "risk"
        return {**out, "status": word, "halted_by": rule}, f"bot {bot.name} {word} ({rule})"
    return out, None


def bot_components(bots: list[Any], tracks: Mapping[str, Any], reasons: Reasons) -> dict[str, dict[str, Any]]:
    """The `feed`, `venue` and `bots` components (one entry per live bot)."""
    at, wall_ns = time.perf_counter(), time.time_ns()
    comps: dict[str, dict[str, Any]] = {}
    for key, fn in (("feed", lambda b, t: _feed(b, t, at, wall_ns)), ("venue", _venue), ("bots", _bot)):
        per: dict[str, Any] = {}
        bad = False
        for bot in bots:
            entry, why = fn(bot, tracks.get(bot.name))
            per[bot.name] = entry
            if why:
                bad = True
                reasons.append(why)
        comps[key] = {"status": "degraded" if bad else "ok", "bots": per}
    return comps


def alerts_component(channels: Mapping[str, Mapping[str, Any]] | None, configured: list[str],
                     reasons: Reasons, *, window_s: float = RECENT_FAILURE_S) -> dict[str, Any]:
    """`channels`: channel -> {"status", "at" (time.monotonic), "error"} of its last final delivery, or None
    when the alert manager has not started (no bot yet / no rule)."""
    if not configured:
        return {"status": "disabled", "channels": {}}
    out: dict[str, Any] = {}
    bad = False
    mono = time.monotonic()
    for name in configured:
        last = (channels or {}).get(name)
        if last is None:
            out[name] = {"status": "ok", "last_delivery": None}
            continue
        recent = mono - float(last["at"]) <= window_s
        failing = last["status"] == "failed" and recent
        out[name] = {"status": "degraded" if failing else "ok", "last_delivery": last["status"],
                     "error": last.get("error")}
        if failing:
            bad = True
            reasons.append(f"alert channel {name!r} failing ({last.get('error')})")
    return {"status": "degraded" if bad else "ok", "started": channels is not None, "channels": out}


def build_report(components: dict[str, dict[str, Any]], reasons: Reasons, uptime_s: float) -> dict[str, Any]:
    if components.get("database", {}).get("status") == "down":
        overall = "down"
    elif reasons:
        overall = "degraded"
    else:
        overall = "ok"
    return {"status": overall, "components": components, "degraded": list(reasons),
            "uptime_s": round(uptime_s, 3)}
