"""Telegram as a control channel, as freqtrade users know it: /status, /profit, /balance, /daily, /stop, /start,
/forceexit and /help, answered only in the configured chats.

    [[alerts.channels]]
    type = "telegram"
    name = "tg"
    token = "..."              # never logged: Telegram URLs embed it, so errors report only their type
    chat_id = "12345"          # alerts go here; commands are answered here and in allowed_chat_ids
    control = true

`TelegramControl(service, channel).start()` long-polls getUpdates on a daemon thread (started by `quantdesk
serve` / `up` for every telegram channel with `control = true`) and replies with sendMessage. A message from any
other chat is ignored (logged with its chat id, never answered): the token alone must not let a stranger stop
bots. Commands take an optional bot name (default: the only running bot).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from quantdesk.core.errors import QuantDeskError
from quantdesk.core.logging import get_logger

log = get_logger(__name__)

HELP = ("QuantDesk commands:\n"
        "/status [bot] - bots, positions and open trades\n"
        "/profit [bot] - profit of closed trades and the open one\n"
        "/balance [bot] - cash, equity, positions value\n"
        "/daily [bot] [days] - profit per day (default 7 days)\n"
        "/stop [bot] - stop a bot (state kept) / /start [bot] - start it again\n"
        "/forceexit [bot] [symbol] - close the open position now\n"
        "/help - this list")


def _money(x: Any) -> str:
    try:
        return f"{Decimal(str(x)):,.2f}"
    except Exception:  # noqa: BLE001
        return str(x)


class TelegramControl:
    """One control channel: polls, checks the chat, runs the command on the service, replies."""

    def __init__(self, service: Any, channel: Any, *, client: httpx.Client | None = None) -> None:
        self.svc = service
        self.cfg = channel
        self.allowed = {str(channel.chat_id), *map(str, channel.allowed_chat_ids)}
        self._client = client or httpx.Client(timeout=channel.poll_timeout_s + 10)
        self._offset = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.handled = 0  # commands answered (tests, metrics)
        self.ignored = 0  # messages from chats that are not allowed
        self.commands: dict[str, Callable[[list[str]], str]] = {
            "status": self._status, "profit": self._profit, "balance": self._balance, "daily": self._daily,
            "stop": lambda a: self._control(a, "stop"), "start": lambda a: self._control(a, "start"),
            "forceexit": self._forceexit, "help": lambda a: HELP,
        }

    # ---- transport ---------------------------------------------------------------------------------------
    def _url(self, method: str) -> str:
        return f"{self.cfg.base_url.rstrip('/')}/bot{self.cfg.token.get_secret_value()}/{method}"

    def _call(self, method: str, **params: Any) -> Any:
        try:
            resp = self._client.post(self._url(method), json=params)
            data = resp.json()
        except (httpx.HTTPError, ValueError) as exc:  # the message would hold the URL, i.e. the token
            raise ConnectionError(f"telegram {method}: {type(exc).__name__}") from None
        if not data.get("ok"):
            raise ConnectionError(f"telegram {method}: HTTP {resp.status_code} {data.get('description', '')}")
        return data.get("result")

    def poll_once(self, timeout: float | None = None) -> int:
        """One getUpdates round: answer every allowed command. Returns how many updates were read."""
        updates = self._call("getUpdates", offset=self._offset,
                             timeout=self.cfg.poll_timeout_s if timeout is None else timeout) or []
        for upd in updates:
            self._offset = max(self._offset, int(upd.get("update_id", 0)) + 1)
            msg = upd.get("message") or upd.get("edited_message") or {}
            chat = str((msg.get("chat") or {}).get("id", ""))
            text = str(msg.get("text") or "")
            if not text.startswith("/"):
                continue
            if chat not in self.allowed:
                self.ignored += 1
                log.warning("telegram: ignored a command from chat %s (not in chat_id / allowed_chat_ids)", chat)
                continue
            reply = self.handle(text)
            self._call("sendMessage", chat_id=chat, text=reply[:4000], disable_web_page_preview=True)
            self.handled += 1
        return len(updates)

    def start(self) -> TelegramControl:
        self._thread = threading.Thread(target=self._loop, name=f"qd-telegram-{self.cfg.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._client.close()

    def _loop(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                self.poll_once()
                delay = 1.0
            except ConnectionError as exc:
                log.warning("%s; retrying in %.0f s", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 60.0)
            except Exception:  # noqa: BLE001 - a command bug must not end the control channel
                log.exception("telegram control: unexpected error")
                self._stop.wait(delay)

    # ---- commands ------------------------------------------------------------------------------------------
    def handle(self, text: str) -> str:
        """The reply to one command message (errors become a readable reply, never an exception)."""
        parts = text.strip().split()
        name = parts[0][1:].split("@", 1)[0].lower()
        fn = self.commands.get(name)
        if fn is None:
            return f"unknown command /{name}\n\n{HELP}"
        try:
            return fn(parts[1:])
        except QuantDeskError as exc:
            return f"/{name}: {exc}"

    def _bot(self, args: list[str]) -> str:
        if args:
            return args[0]
        running = [b for b in self.svc.bots() if b.get("status") == "running"]
        if len(running) == 1:
            return str(running[0]["bot"])
        names = ", ".join(b["bot"] for b in running) or "none"
        raise QuantDeskError(f"name the bot (running: {names})")

    def _status(self, args: list[str]) -> str:
        rows = self.svc.bots() if not args else [self.svc.bot(args[0])]
        if not rows:
            return "no bots"
        lines = []
        for b in rows:
            pos = ", ".join(f"{s} {q}" for s, q in (b.get("positions") or {}).items() if Decimal(str(q))) or "flat"
            lines.append(f"{b['bot']} [{b['status']}] {b['strategy']} {','.join(b['symbols'])} {b['timeframe']}: "
                         f"equity {_money(b['equity'])}, {pos}")
            for t in self.svc.trades(b["bot"])[0]:
                if t.get("status") == "open":
                    lines.append(f"  open {t['side']} {t['symbol']} {t['quantity']} @ {t['entry_price']} since "
                                 f"{t['entry_time']}: P&L {_money(t['pnl'])}" if t.get("pnl") is not None else
                                 f"  open {t['side']} {t['symbol']} {t['quantity']} @ {t['entry_price']}")
        return "\n".join(lines)

    def _profit(self, args: list[str]) -> str:
        bot = self._bot(args)
        acc = self.svc.account(bot)
        trades = self.svc.trades(bot)[0]
        closed = [t for t in trades if t.get("status") == "closed"]
        wins = sum(1 for t in closed if Decimal(str(t["pnl"])) > 0)
        start = Decimal(str(acc["starting_cash"]))
        total = Decimal(str(acc["total_pnl"]))
        return (f"{bot}: total P&L {_money(total)} ({total / start * 100:+.2f}%)\n"
                f"realized {_money(acc['realized_pnl'])} (net of {_money(acc['fees'])} fees), "
                f"unrealized {_money(acc['unrealized_pnl'])}\n"
                f"{len(closed)} closed trades, {wins} won"
                + (f" ({wins / len(closed) * 100:.0f}%)" if closed else ""))

    def _balance(self, args: list[str]) -> str:
        bot = self._bot(args)
        acc = self.svc.account(bot)
        cur = acc.get("currency") or ""
        lines = [f"{bot}: cash {_money(acc['cash'])} {cur}, positions {_money(acc['positions_value'])} {cur}, "
                 f"equity {_money(acc['equity'])} {cur}"]
        lines += [f"  {p['symbol']}: {p['quantity']}" for p in acc.get("positions", []) if Decimal(str(p["quantity"]))]
        return "\n".join(lines)

    def _daily(self, args: list[str]) -> str:
        days = 7
        if args and args[-1].isdigit():
            days = max(1, min(int(args[-1]), 60))
            args = args[:-1]
        bot = self._bot(args)
        bars = self.svc.profit(bot, "day")["bars"][-days:]
        if not bars:
            return f"{bot}: no closed trade yet"
        return f"{bot}: profit per day (closed trades, net of fees)\n" + "\n".join(
            f"{b['period']}: {_money(b['pnl'])} ({b['trades']} trades)" for b in bars)

    def _control(self, args: list[str], action: str) -> str:
        bot = args[0] if args else self._bot(args) if action == "stop" else self._last_stopped()
        out = self.svc.bot_control(bot, action)
        return f"{bot}: {out.get('status', action)}"

    def _last_stopped(self) -> str:
        stopped = [b for b in self.svc.bots() if b.get("status") in ("stopped", "paused")]
        if len(stopped) == 1:
            return str(stopped[0]["bot"])
        raise QuantDeskError(f"name the bot to start (stopped: {', '.join(b['bot'] for b in stopped) or 'none'})")

    def _forceexit(self, args: list[str]) -> str:
        bot = self._bot(args[:1])
        symbol = args[1] if len(args) > 1 else None
        out = self.svc.force_exit(bot, symbol, "force exit (Telegram)")
        return f"{bot}: closing {out['quantity']} {out['symbol']} at the next bar ({out['client_order_id']})"


def start_controls(service: Any, settings: Any) -> list[TelegramControl]:
    """Start a control channel for every enabled telegram channel with `control = true`."""
    from quantdesk.monitoring.alert_config import TelegramChannel, load_alerts_settings

    out = []
    for ch in load_alerts_settings(settings).channels:
        if isinstance(ch, TelegramChannel) and ch.enabled and ch.control:
            out.append(TelegramControl(service, ch).start())
            log.info("telegram control channel %r on", ch.name)
    return out
