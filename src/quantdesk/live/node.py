"""`LiveNode`: the checks before a live bot may start (opt-in, keys), its wiring to the venue, its run loop, and
the status the CLI and the API show.

    node = LiveNode.start(LiveRequest(exchange="binance", symbol="BTC/USDT", timeframe="1m", strategy="sma_cross",
                                      bot_name="sma-live", confirm=True, exchange_url="http://127.0.0.1:18123"))
    node.run()                       # until Ctrl-C / SIGTERM, a stop/kill command, a halt, or max_bars
    live_status(store, "sma-live")   # what the node believes (from the database: any process can read it)

Run loop, per turn: drain the venue's events (fills, order updates, snapshots -> reconciliation), take a
command (stop / kill from `quantdesk live stop|kill` or the API), step the next closed bar (drains first), or
wait for the feed.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from typing import Any

from quantdesk.adapters.ccxt import AdapterConfig, ExecutionClient, OrderRate
from quantdesk.adapters.ccxt.capabilities import capabilities_for
from quantdesk.adapters.ccxt.loop import LoopThread
from quantdesk.core.errors import ConfigError, ConflictError, NotFoundError, ParameterError, QuantDeskError
from quantdesk.core.logging import get_logger
from quantdesk.live.bot import LiveBot, LiveContext
from quantdesk.paper.spec import BotSpec
from quantdesk.storage.live_repo import LiveRepo
from quantdesk.storage.trading import TradingStore

log = get_logger(__name__)

COMMANDS = ("stop", "halt", "resume", "kill", "exit", "cancel", "trade")
STOP_ONLY = frozenset({"stop"})


class LiveRefused(ConfigError):
    """Live trading refused before anything was sent (no opt-in, no keys)."""


@dataclass
class LiveRequest:
    exchange: str
    symbol: str
    timeframe: str
    strategy: str
    bot_name: str
    params: dict[str, Any] = field(default_factory=dict)
    resume: bool = False
    confirm: bool = False
    exchange_url: str | None = None
    risk: bool = True


def check_opt_in(confirm: bool, settings: Any) -> None:
    if not (confirm or settings.live.enabled):
        raise LiveRefused("live trading sends real orders: confirm with --confirm-live, or set enabled = true "
                          "under [live] in quantdesk.toml (QD_LIVE__ENABLED=true)")


def adapter_config(req: LiveRequest, settings: Any) -> AdapterConfig:
    """The venue's adapter configuration; refuses without credentials (naming where they go, never showing them)."""
    name = req.exchange.strip().lower()
    overrides: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if settings.live.recv_window_ms:
        options["recvWindow"] = int(settings.live.recv_window_ms)
    if req.exchange_url:
        if not req.exchange_url.startswith(("http://", "https://")):
            raise ParameterError(f"--exchange-url {req.exchange_url!r}: give an http(s) URL")
        overrides.update(base_url=req.exchange_url.rstrip("/"), rate_limit=False)
        options.setdefault("fetchTradesMethod", "publicGetTrades")  # what the simulator serves
    if options:
        overrides["options"] = options
    config = AdapterConfig.from_settings(name, settings, **overrides)
    if not config.has_credentials:
        env = f"QD_EXCHANGES__{config.exchange.upper()}"
        raise LiveRefused(f"live trading on {config.exchange} needs an API key and secret: set {env}__API_KEY and "
                          f"{env}__SECRET (or [exchanges.{config.exchange}] api_key / secret in a secrets file)")
    return config


class LiveNode:
    """One live bot in this process (the CLI runs one per `quantdesk live`)."""

    def __init__(self, bot: LiveBot, ctx: LiveContext, store: TradingStore) -> None:
        self.bot = bot
        self.ctx = ctx
        self.store = store
        self.repo = LiveRepo(store.engine)
        self.stop_reason = ""

    @classmethod
    def start(cls, req: LiveRequest, *, settings: Any = None, store: TradingStore | None = None,
              bus: Any = None) -> LiveNode:
        from quantdesk.core.config import get_settings

        settings = settings or get_settings()
        check_opt_in(req.confirm, settings)
        config = adapter_config(req, settings)
        loop = LoopThread(f"live-{req.bot_name}")
        exchange = config.make_client()
        try:
            rate = settings.live.order_rate
            caps = capabilities_for(config.exchange, exchange=exchange,
                                    **({"order_rate": OrderRate(rate, 1.0)} if rate else {}))
            client = ExecutionClient(exchange, caps)
            loop.run(client.start(), timeout=120)
            ctx = LiveContext(config, client, loop, settings.live.reconcile_every_s)
            store = store or TradingStore()
            spec = BotSpec(name=req.bot_name, strategy=req.strategy, params=dict(req.params), symbols=[req.symbol],
                           timeframe=req.timeframe, exchange=config.exchange, feed="exchange",
                           risk=True if req.risk else False)
            bot = LiveBot.open_live(store, spec, ctx, resume=req.resume, bus=bus)
        except BaseException:
            try:
                loop.run(exchange.close(), timeout=10)
            except Exception:  # noqa: BLE001 - the original error matters
                pass
            loop.stop()
            raise
        node = cls(bot, ctx, store)
        bot.reconcile(bot.snapshot())  # the venue is the truth before the first new bar
        bot.drain()
        bot.start_stream()
        return node

    def run(self, *, max_bars: int | None = None, run_for_s: float | None = None) -> str:
        """Trade until stopped; returns why it stopped (interrupted, stop, kill, halted, max_bars, time)."""
        bot = self.bot
        stepped = 0
        deadline = None if run_for_s is None else time.monotonic() + run_for_s

        def _term(signum: int, frame: Any) -> None:  # SIGTERM = Ctrl-C: stop cleanly, state persisted
            raise KeyboardInterrupt

        old = signal.signal(signal.SIGTERM, _term)
        try:
            just_stepped = True
            while True:
                # controls act right after a step, before the venue's next events: the order a restart replays
                # them in (so they wait for the next closed bar; a stop acts at once)
                commands = self.repo.take_commands(bot.id, None if just_stepped else STOP_ONLY)
                if any(c.get("action") == "stop" for c in commands):
                    self.stop_reason = "stop"
                    break
                for c in commands:
                    self.execute(c)
                bot.drain()
                if bot.halted is not None:
                    self.stop_reason = "halted"
                    break
                just_stepped = bot.step()
                if just_stepped:
                    stepped += 1
                    if max_bars is not None and stepped >= max_bars:
                        self.stop_reason = self.stop_reason or "max_bars"
                        break
                    continue
                if deadline is not None and time.monotonic() > deadline:
                    self.stop_reason = self.stop_reason or "time"
                    break
                time.sleep(max(0.01, min(0.2, bot.feed.delay())))
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
        finally:
            signal.signal(signal.SIGTERM, old)
        return self.stop_reason

    def execute(self, command: dict[str, Any]) -> None:
        """One control from the API or the CLI (see COMMANDS); a refused one is logged, the bot goes on."""
        bot, action = self.bot, command.get("action")
        reason = str(command.get("reason") or f"{action} (live control)")
        try:
            if action in ("halt", "resume", "kill"):
                bot.risk_action(str(action), reason=reason, source="live")
                if action == "kill":
                    self.stop_reason = "kill"
            elif action == "exit":
                bot.force_exit(command.get("symbol"), reason=reason, source="live")
            elif action == "cancel":
                bot.cancel_order(str(command["client_order_id"]), reason=reason, source="live")
            elif action == "trade":
                bot.manual_trade(str(command["side"]), quantity=command.get("quantity"),
                                 notional=command.get("notional"), confidence=command.get("confidence"),
                                 reason=reason, symbol=command.get("symbol"), source="live",
                                 order_type=str(command.get("order_type") or "market"), price=command.get("price"))
        except QuantDeskError as exc:
            log.warning("live bot %s: control %s refused: %s", bot.name, action, exc)

    def settle(self, seconds: float = 2.0) -> None:
        """Drain the venue's events for a while (the last orders' fills), then save the tracker."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.bot.drain()
            time.sleep(0.05)

    def shutdown(self) -> None:
        bot = self.bot
        try:
            bot.drain()
            bot.stop("stopped" if bot.halted is None else "paused")
            self.repo.set_state(bot.id, pid=None)
        finally:
            bot.feed.close()
            self.ctx.close()


# ---- status (any process: the database only) ---------------------------------------------------------------
def live_status(store: TradingStore, name: str | None = None) -> Any:
    """What the node believes: one bot by name (dict), or every live bot (list)."""
    repo = LiveRepo(store.engine)
    if name is None:
        return [_status(store, repo, b) for b in store.list_bots() if b["mode"] == "live"]
    row = store.find_bot(name)
    if row is None or row["mode"] != "live":
        raise NotFoundError(f"no live bot named {name!r}")
    return _status(store, repo, row)


def _status(store: TradingStore, repo: LiveRepo, row: dict[str, Any]) -> dict[str, Any]:
    state = repo.state(row["id"]) or {}
    orders = [{"client_order_id": o["client_order_id"], "venue_order_id": o["venue_order_id"],
               "status": o["status"], "side": o["side"], "symbol": o["symbol"], "quantity": o["quantity"],
               "filled": o["filled"], "price": o["price"], "owner": o["owner"]} for o in repo.orders(row["id"])]
    fills = [{"trade_id": f["trade_id"], "side": f["data"]["side"], "qty": f["data"]["qty"],
              "price": f["data"]["price"], "client_order_id": f["data"].get("client_order_id"),
              "symbol": f["symbol"], "owner": f["owner"]} for f in repo.fills(row["id"])]
    positions = {s: q for s, q in (state.get("positions") or {}).items()}
    for sym in row["symbols"]:
        positions.setdefault(sym, "0")
    intents = repo.intents(row["id"])
    counts: dict[str, int] = {}
    for i in intents.values():
        counts[i["status"]] = counts.get(i["status"], 0) + 1
    recon = state.get("reconciliation") or {}
    adopted = [{"seq": e["seq"], "symbol": e["data"].get("symbol"), "delta": e["data"].get("delta"),
                "reason": e["data"].get("reason")} for e in repo.journal_entries(row["id"], "adopt")]
    return {"bot": row["name"], "mode": "live", "status": row["status"], "exchange": state.get("exchange"),
            "strategy": row["strategy"], "symbols": row["symbols"], "timeframe": row["timeframe"],
            "cursor": row["cursor_index"], "halted": recon.get("reason") if recon.get("verdict") == "halt" else None,
            "orders": orders, "fills": fills, "positions": positions, "balances": state.get("balances") or {},
            "reconciliation": recon, "adopted": adopted, "intents": counts, "running": _alive(state.get("pid"))}


def _alive(pid: int | None) -> bool:
    """Whether the node's process still runs (on this machine; a SIGKILLed node leaves its pid behind)."""
    if pid is None:
        return False
    import os

    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def is_live(store: TradingStore, name: str) -> bool:
    row = store.find_bot(name)
    return row is not None and row["mode"] == "live"


def send_command(store: TradingStore, name: str, action: str, **values: Any) -> dict[str, Any]:
    """Queue a control for a live bot's node (another process): it acts on it after its next step (a stop at
    once). `values`: the control's fields (reason; symbol; client_order_id; side, quantity, order_type...)."""
    if action not in COMMANDS:
        raise ParameterError(f"live control {action!r}: expected one of {', '.join(COMMANDS)}")
    row = store.find_bot(name)
    if row is None or row["mode"] != "live":
        raise NotFoundError(f"no live bot named {name!r}")
    repo = LiveRepo(store.engine)
    state = repo.state(row["id"])
    if state is None or not _alive(state.get("pid")):
        raise ConflictError(f"live bot {name!r} is not running: start it with `quantdesk live --bot-name {name} "
                            "--resume --confirm-live`")
    command = {"action": action, **{k: v for k, v in values.items() if v is not None}}
    repo.push_command(row["id"], command)
    return {"bot": name, "command": action, "queued": True}
