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

import signal
from typing import Annotated, Any

import typer

from quantdesk.cli.output import OutputState, emit, err_console

SESSION_KEY_NAME = "platform-session"
DEMO_BOT = "demo-sma"
DEMO = {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": ["BTC/USDT"], "timeframe": "1m",
        "start": "2022-01-01T00:00:00Z", "cash": 10_000.0}


def demo_risk(settings: Any) -> dict[str, Any]:
    """The configured limits plus a 10% fixed-fraction sizer: sma_cross's all-cash entries would otherwise be
    denied by the 15% position limit, and a demo that only shows denials teaches nothing."""
    risk = settings.risk.model_dump(mode="json")
    if not risk.get("sizing"):
        risk["sizing"] = {"method": "fixed_fraction", "fraction": 0.1}
    return risk


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
    return svc.start_paper(name=name, speed=speed, risk=demo_risk(svc.settings), end=None, **DEMO)


def register(app: typer.Typer) -> None:
    @app.command("up")
    def up(
        host: Annotated[str, typer.Option("--host", help="Bind address (default loopback only).")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8000,
        demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Run the demo paper bot.")] = True,
        speed: Annotated[float, typer.Option("--speed", help="Demo replay speed (x real time).", min=0.01)] = 120.0,
    ) -> None:
        """Run the platform: API, dashboard and a demo paper bot trading the bundled data in replay."""
        import uvicorn

        from quantdesk.api import create_app
        from quantdesk.api.keys import KeyStore
        from quantdesk.core.config import get_settings

        settings = get_settings()
        if host not in ("127.0.0.1", "localhost", "::1"):
            err_console.print(f"[yellow]warning:[/] binding to {host}: the API is reachable from the network")
        keys = KeyStore(settings.home)
        keys.revoke(name=SESSION_KEY_NAME)
        key, _ = keys.create_key(SESSION_KEY_NAME)
        app = create_app(settings)
        svc = app.state.service
        recovered = svc.recover_bots()  # what was running when the last process ended (or crashed) continues
        bot = start_demo_bot(svc, speed) if demo else None
        shown = "localhost" if host in ("127.0.0.1", "::1", "0.0.0.0") else host
        base = f"http://{shown}:{port}"
        info = {"dashboard": f"{base}/#key={key}", "api_docs": f"{base}/docs", "api_key": key,
                "home": str(settings.home), "database": "sqlite" if not settings.database.url else "configured",
                "redis": "on" if settings.redis.url else "off (in-process bus)",
                "demo_bot": bot["bot"] if bot else None, "recovered_bots": [b["bot"] for b in recovered]}
        if OutputState.json:
            emit(info)
        else:
            err_console.print(f"\n[bold green]QuantDesk is up[/]  (Ctrl-C stops it; state is kept in {info['home']})")
            err_console.print(f"  dashboard  {info['dashboard']}", highlight=False, soft_wrap=True)
            err_console.print(f"  API docs   {info['api_docs']}", highlight=False, soft_wrap=True)
            err_console.print(f"  API key    {key}  (this session only)", highlight=False, soft_wrap=True)
            if bot:
                err_console.print(f"  demo bot   {bot['bot']}: {DEMO['strategy']} {DEMO['params']} on "
                                  f"{', '.join(DEMO['symbols'])} {DEMO['timeframe']} replay at {speed:g}x", highlight=False, soft_wrap=True)
            if recovered:
                err_console.print(f"  recovered  {', '.join(b['bot'] for b in recovered)}", highlight=False,
                                  soft_wrap=True)
            err_console.print("")

        def _term(signum: int, frame: Any) -> None:  # uvicorn re-raises SIGTERM after its graceful shutdown
            raise KeyboardInterrupt

        old = signal.signal(signal.SIGTERM, _term)
        try:
            uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, old)
            keys.revoke(name=SESSION_KEY_NAME)
