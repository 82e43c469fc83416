"""Real ccxt clients pointed at a simulator: `binance_client(sim)` (REST) and `binance_client(sim, pro=True)`.

The ccxt classes are used unchanged; only their URLs (REST origin, spot market streams, WebSocket API) and
options are set: spot markets only, no margin-pair or currency calls at `load_markets`, no rate-limit sleeps
(the simulator does not limit unless a fault says so). Anything in `config` or `options` overrides these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quantdesk.data.ccxt_client import apply_base_url

if TYPE_CHECKING:
    from quantdesk.adapters.simulator.server import ExchangeSimulator


def sim_urls(rest_url: str) -> tuple[str, str, str]:
    """(REST origin, spot market streams base, WebSocket API URL) of a simulator serving at `rest_url`."""
    origin = rest_url.rstrip("/")
    ws_origin = "ws" + origin[len("http"):] if origin.startswith("http") else origin
    return origin, f"{ws_origin}/stream/ws", f"{ws_origin}/ws-api/v3"


def point_at(exchange: Any, rest_url: str) -> Any:
    """Point an existing ccxt binance / ccxt.pro binance instance at a simulator (REST and WebSocket URLs)."""
    origin, ws_url, ws_api_url = sim_urls(rest_url)
    apply_base_url(exchange, origin)
    ws = exchange.urls["api"].get("ws")
    if isinstance(ws, dict):
        exchange.urls["api"]["ws"] = {key: ({k: ws_api_url for k in value} if isinstance(value, dict) else ws_url)
                                      for key, value in ws.items()}
        exchange.urls["api"]["ws"]["ws-api"] = {"spot": ws_api_url, "linear": ws_api_url, "inverse": ws_api_url}
    return exchange


def binance_client(sim: ExchangeSimulator | str, *, pro: bool = False, api_key: str | None = None,
                   secret: str | None = None, timeout_ms: int = 10_000, options: dict[str, Any] | None = None,
                   **config: Any) -> Any:
    """A `ccxt.binance` (or `ccxt.pro.binance` with pro=True) that trades on the simulator.

    `sim` is an `ExchangeSimulator` (its keys are used unless given) or the simulator's REST URL (then pass
    `api_key` and `secret`; the defaults are the simulator's documented defaults)."""
    import ccxt

    from quantdesk.adapters.simulator.config import DEFAULT_API_KEY, DEFAULT_API_SECRET

    if isinstance(sim, str):
        rest_url, key, sec = sim, api_key or DEFAULT_API_KEY, secret or DEFAULT_API_SECRET
    else:
        rest_url, key, sec = sim.rest_url, api_key or sim.api_key, secret or sim.api_secret
    if pro:
        import ccxt.pro as ccxt_pro

        cls: Any = ccxt_pro.binance
    else:
        cls = ccxt.binance
    settings: dict[str, Any] = {
        "apiKey": key, "secret": sec, "enableRateLimit": False, "timeout": int(timeout_ms),
        "options": {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False, "fetchCurrencies": False,
                    "defaultType": "spot", **(options or {})},
        **config,
    }
    return point_at(cls(settings), rest_url)
