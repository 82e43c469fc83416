"""`quantdesk serve`: the HTTP API (REST /api/v1, WebSocket /ws, docs /docs); `quantdesk api-key`: API keys.

    quantdesk serve                          # http://127.0.0.1:8000/docs (loopback only by default)
    quantdesk api-key create ci              # prints the key ONCE (only its salted hash is stored)
    quantdesk api-key create --read-only     # may GET and use the WebSocket, not mutate (403)
    quantdesk api-key list
    quantdesk api-key revoke --id ID         # or --name NAME
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from quantdesk.cli.output import OutputState, emit, err_console, records_table
from quantdesk.core.logging import get_logger

log = get_logger(__name__)
WILDCARDS = ("0.0.0.0", "::", "")


def with_bind_host(settings: Any, host: str) -> Any:
    """The settings with the bind address among the allowed Host names (a server bound to 192.168.1.5 is reached
    as http://192.168.1.5:port). A wildcard bind adds nothing: name the hosts in api.allowed_hosts."""
    if host in WILDCARDS or host in settings.api.allowed_hosts:
        return settings
    api = settings.api.model_copy(update={"allowed_hosts": [*settings.api.allowed_hosts, host]})
    return settings.model_copy(update={"api": api})


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option("--host", help="Bind address (default loopback only).")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8000,
        access_log: Annotated[bool, typer.Option("--access-log/--no-access-log",
                                                 help="One line per request (query strings redacted).")] = True,
    ) -> None:
        """Serve the QuantDesk API (FastAPI + uvicorn). Logs go through QuantDesk's logging (JSON lines with
        --log-json, secrets and query strings redacted)."""
        import uvicorn

        from quantdesk.api import create_app
        from quantdesk.core.config import get_settings

        settings = with_bind_host(get_settings(), host)
        if host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("binding to %s: the API is reachable from the network (allowed Host names: %s)", host,
                        ", ".join(settings.api.allowed_hosts))
        app = create_app(settings)
        recovered = app.state.service.recover_bots()  # bots running when the last process ended continue
        if recovered:
            log.info("recovered %d bot(s): %s", len(recovered), ", ".join(b["bot"] for b in recovered))
        uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), access_log=access_log,
                    log_config=None, ws_max_size=max(settings.api.ws_max_message_bytes * 64, 1_048_576),
                    h11_max_incomplete_event_size=65_536, server_header=False)

    key_app = typer.Typer(help="API keys of the HTTP API (stored hashed under QD_HOME).", no_args_is_help=True)
    app.add_typer(key_app, name="api-key")

    @key_app.command("create")
    def create(
        label: Annotated[str | None, typer.Argument(help="A label for the key (or --name).")] = None,
        name: Annotated[str | None, typer.Option("--name", help="A label for the key.")] = None,
        read_only: Annotated[bool, typer.Option("--read-only", help="GET endpoints and WebSocket only.")] = False,
    ) -> None:
        """Create a key and print it once (it cannot be shown again): `api-key create mykey [--read-only]`."""
        from quantdesk.api.keys import KeyStore
        from quantdesk.core.config import get_settings
        from quantdesk.core.errors import ParameterError

        if label is not None and name is not None and label != name:
            raise ParameterError(f"give the key's name once: {label!r} or --name {name!r}")
        name = label or name or "default"

        key, rec = KeyStore(get_settings().home).create_key(name, read_only=read_only)
        if OutputState.json:
            emit({**rec, "key": key})
        else:
            err_console.print(f"API key {rec['name']!r} (id {rec['id']}, {'read-only' if read_only else 'read-write'})"
                              " - store it now, it is shown only once:")
            typer.echo(key)

    @key_app.command("revoke")
    def revoke(
        key_id: Annotated[str | None, typer.Option("--id", help="The key id (see `api-key list`).")] = None,
        name: Annotated[str | None, typer.Option("--name", help="Revoke every key with this name.")] = None,
    ) -> None:
        """Delete keys by id or name; a running server refuses them from its next request."""
        from quantdesk.api.keys import KeyStore
        from quantdesk.core.config import get_settings
        from quantdesk.core.errors import NotFoundError, ParameterError

        if (key_id is None) == (name is None):
            raise ParameterError("give exactly one of --id or --name")
        n = KeyStore(get_settings().home).revoke(key_id=key_id, name=name)
        if n == 0:
            raise NotFoundError(f"no API key with {'id ' + key_id if key_id else 'name ' + repr(name)}")
        emit({"revoked": n}, render=lambda c, d: c.print(f"revoked {d['revoked']} key(s)"))

    @key_app.command("list")
    def list_keys() -> None:
        """The keys (id, name, read-only; never the key)."""
        from quantdesk.api.keys import KeyStore
        from quantdesk.core.config import get_settings
        from quantdesk.core.timeutil import iso

        rows = [{**k, "created_at": iso(int(k["created_at"]) * 10**9)} for k in KeyStore(get_settings().home).list_keys()]
        emit(rows, render=lambda c, d: c.print(records_table(d, title="API keys")) if d else c.print("no API keys"))
