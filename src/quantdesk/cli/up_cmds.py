"""`quantdesk up`: the whole platform in one process on embedded defaults (what `make run` runs).

    quantdesk up                      # API + dashboard on http://127.0.0.1:8000 + a demo paper bot in replay
    quantdesk up --no-demo            # the platform without the demo bot
    quantdesk up --port 9000 --speed 300

It needs no network and no service: SQLite and the Parquet candle store under QD_HOME, the in-process bus (Redis
and PostgreSQL are used when configured), the bundled BTC/USDT sample as the replay feed. A session API key is
created at every start (the previous session's key is revoked) and printed inside the dashboard link
(`/#key=...`: the fragment never reaches a server log). Ctrl-C stops everything; the bots' state is persisted and
the next `quantdesk up` continues the demo bot where it stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from typing import Annotated, Any

import typer

from quantdesk.cli.output import OutputState, emit, err_console
from quantdesk.core.errors import ConflictError

SESSION_KEY_PREFIX = "platform-session-"  # + the pid of the `up` process that created it
LEGACY_SESSION_KEY_NAME = "platform-session"  # before keys were per process
DEMO_BOT = "demo-sma"
DEMO: dict[str, Any] = {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": ["BTC/USDT"], "timeframe": "1m",
        "start": "2022-01-01T00:00:00Z", "cash": 10_000.0}
# 120 one-minute bars per wall minute: sma_cross 5/20 is warm after 10 s and first crosses at 00:24 (12 s in)
DEMO_SPEED = 120.0


def start_demo_bot(svc: Any, speed: float) -> dict[str, Any]:
    """Continue the demo bot when the database has it (unfinished), else start a fresh one."""
    node = svc.node
    if DEMO_BOT in node.bots:  # recovered with the other bots of the database
        with node.lock:
            return node.bot(DEMO_BOT).summary()
    store = node.store
    row = store.find_bot(DEMO_BOT)
    name = DEMO_BOT
    if row is not None:
        if row["status"] != "finished":
            try:
                return svc.bot_control(DEMO_BOT, "start")
            except Exception as exc:  # noqa: BLE001 - a demo bot that cannot continue is replaced, not fatal
                err_console.print(f"[yellow]demo bot {DEMO_BOT} cannot continue ({exc}); starting a new one[/]")
        n = 2
        while store.find_bot(f"{DEMO_BOT}-{n}") is not None:
            n += 1
        name = f"{DEMO_BOT}-{n}"
    # the configured risk limits as they are: orders beyond max_position_pct are sized down to fit it
    return svc.start_paper(name=name, speed=speed, risk=True, end=None, **DEMO)


def bind_socket(host: str, port: int) -> socket.socket:
    """Take the port before anything is printed or started: a second `quantdesk up` stops here with a clear
    error instead of announcing itself and then failing in the server."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free; a listener is not
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConflictError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (is QuantDesk already running there? open "
            f"http://localhost:{port}/ or start this one with --port {port + 1})") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def session_key_name() -> str:
    """This process's session key: named after its pid, so another running `up` keeps its own key."""
    return f"{SESSION_KEY_PREFIX}{os.getpid()}"


def revoke_stale_session_keys(keys: Any) -> int:
    """Session keys of `up` processes that no longer run (killed without a chance to revoke their key)."""
    n = 0
    for rec in keys.list_keys():
        name = str(rec.get("name", ""))
        if name == LEGACY_SESSION_KEY_NAME:
            n += keys.revoke(key_id=rec["id"])
        elif name.startswith(SESSION_KEY_PREFIX):
            pid = name[len(SESSION_KEY_PREFIX):]
            if pid.isdigit() and not _alive(int(pid)):
                n += keys.revoke(key_id=rec["id"])
    return n


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _console_reports(svc: Any, stop: threading.Event, every_s: float = 15.0) -> threading.Thread:
    """Fills as they happen and, every `every_s` seconds, a progress line per running bot (with what the risk
    engine did), on stderr: the terminal of `quantdesk up` shows the platform working."""
    from quantdesk.cli.console_feed import RiskNotes, fill_line, progress_line

    notes = RiskNotes(err_console)

    def listener(channel: str, payload: dict[str, Any]) -> None:
        if channel == "trades" and payload.get("type") == "Fill":
            err_console.print(fill_line(str(payload.get("bot")), payload.get("data") or {}), highlight=False)
        elif channel == "alerts" and payload.get("type") in ("RiskDenied", "OrderResized"):
            data = payload.get("data") or {}
            notes.note(str(payload.get("bot")), {**data, "type": "OrderDenied" if payload["type"] == "RiskDenied"
                                                 else "OrderResized"})

    svc.listeners.append(listener)

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                node = svc.node
                with node.lock:
                    rows = node.status()
                for row in rows:
                    if row.get("status") in ("running", "paused"):
                        err_console.print(progress_line(row), highlight=False)
            except Exception:  # noqa: BLE001 - the console report must never stop the platform
                continue

    thread = threading.Thread(target=loop, name="qd-up-console", daemon=True)
    thread.start()
    return thread


def register(app: typer.Typer) -> None:
    @app.command("up")
    def up(
        host: Annotated[str, typer.Option("--host", help="Bind address (default loopback only).")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8000,
        demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Run the demo paper bot.")] = True,
        speed: Annotated[float, typer.Option("--speed", help="Demo replay speed (x real time).", min=0.01)] = DEMO_SPEED,
    ) -> None:
        """Run the platform: API, dashboard and a demo paper bot trading the bundled data in replay."""
        import uvicorn

        from quantdesk.api import create_app
        from quantdesk.api.keys import KeyStore
        from quantdesk.core.config import get_settings

        settings = get_settings()
        sock = bind_socket(host, port)
        if host not in ("127.0.0.1", "localhost", "::1"):
            err_console.print(f"[yellow]warning:[/] binding to {host}: the API is reachable from the network")
        keys = KeyStore(settings.home)
        revoke_stale_session_keys(keys)
        key, key_rec = keys.create_key(session_key_name())
        app = create_app(settings)
        svc = app.state.service
        recovered = svc.recover_bots()  # what was running when the last process ended (or crashed) continues
        bot = start_demo_bot(svc, speed) if demo else None
        shown = "localhost" if host in ("127.0.0.1", "::1", "0.0.0.0") else host
        base = f"http://{shown}:{port}"
        info = {"dashboard": f"{base}/#key={key}", "api_docs": f"{base}/docs", "api_key": key,
                "home": str(settings.home.resolve()), "database": "sqlite" if not settings.database.url else "configured",
                "redis": "on" if settings.redis.url else "off (in-process bus)",
                "demo_bot": bot["bot"] if bot else None, "recovered_bots": [b["bot"] for b in recovered]}
        stop = threading.Event()
        if OutputState.json:
            emit(info)
        else:
            err_console.print(f"\n[bold green]QuantDesk is up[/]  (Ctrl-C stops it; state is kept in {info['home']})")
            err_console.print(f"  dashboard  {info['dashboard']}", highlight=False, soft_wrap=True)
            err_console.print(f"  API docs   {info['api_docs']}", highlight=False, soft_wrap=True)
            err_console.print(f"  API key    {key}  (this session only)", highlight=False, soft_wrap=True)
            if bot:
                err_console.print(f"  demo bot   {bot['bot']}: {DEMO['strategy']} {DEMO['params']} on "
                                  f"{', '.join(DEMO['symbols'])} {DEMO['timeframe']}, replaying "
                                  f"{DEMO['start']} onwards at {speed:g}x; fills and progress below",
                                  highlight=False, soft_wrap=True)
            if recovered:
                err_console.print(f"  recovered  {', '.join(b['bot'] for b in recovered)}", highlight=False,
                                  soft_wrap=True)
            err_console.print("")
            _console_reports(svc, stop)

        def _term(signum: int, frame: Any) -> None:  # uvicorn re-raises SIGTERM after its graceful shutdown
            raise KeyboardInterrupt

        old = signal.signal(signal.SIGTERM, _term)
        try:
            config = uvicorn.Config(app, log_level="warning", access_log=False)
            uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            signal.signal(signal.SIGTERM, old)
            sock.close()
            keys.revoke(key_id=key_rec["id"])
