"""`quantdesk serve`: the HTTP API (REST /api/v1, WebSocket /ws, docs /docs); `quantdesk api-key`: API keys.

    quantdesk serve                          # http://127.0.0.1:8000/docs (loopback only by default)
    quantdesk api-key create ci              # prints the key ONCE (only its salted hash is stored)
    quantdesk api-key create --read-only     # may GET and use the WebSocket, not mutate (403)
    quantdesk api-key list
    quantdesk api-key revoke --id ID         # or --name NAME
"""

from __future__ import annotations

from typing import Annotated

import typer

from quantdesk.cli.output import OutputState, emit, err_console, records_table


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option("--host", help="Bind address (default loopback only).")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8000,
    ) -> None:
        """Serve the QuantDesk API (FastAPI + uvicorn)."""
        import uvicorn

        from quantdesk.api import create_app
        from quantdesk.core.config import get_settings

        if host not in ("127.0.0.1", "localhost", "::1"):
            err_console.print(f"[yellow]warning:[/] binding to {host}: the API is reachable from the network")
        app = create_app(get_settings())
        recovered = app.state.service.recover_bots()  # bots running when the last process ended continue
        if recovered:
            err_console.print(f"recovered {len(recovered)} bot(s): {', '.join(b['bot'] for b in recovered)}",
                              highlight=False)
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)

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
