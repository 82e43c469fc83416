"""How to reach one venue: exchange id, credentials, URLs, timeouts and the reconnect policy.

`AdapterConfig.from_settings("binance")` reads `[exchanges.binance]` / `QD_EXCHANGES__BINANCE__*` (API key,
secret, password, sandbox, base_url); `AdapterConfig.for_simulator(sim)` points at a running
`quantdesk.adapters.simulator.ExchangeSimulator` (or its URL). `make_client()` builds the async `ccxt.pro`
instance both clients use (REST calls go through the same instance). Secrets are `SecretStr`s: they are never
in a repr, a log line (ccxt's logger goes through QuantDesk's redacting logger) or an error.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from quantdesk.core.errors import ConfigError, ParameterError
from quantdesk.model.identifiers import normalize_venue


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter: delay(n) = min(max_s, base_s * factor**n) * (1 +- jitter)."""

    base_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.max_s < self.base_s or self.factor < 1 or not 0 <= self.jitter < 1:
            raise ParameterError(f"backoff: need 0 < base_s <= max_s, factor >= 1, 0 <= jitter < 1 (got {self})")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        raw = min(self.max_s, self.base_s * self.factor ** max(0, attempt))
        if self.jitter and rng is not None:
            raw *= 1 + rng.uniform(-self.jitter, self.jitter)
        return max(0.0, raw)

    def delays(self, seed: int | None = None) -> Iterator[float]:
        rng = random.Random(seed)
        attempt = 0
        while True:
            yield self.delay(attempt, rng)
            attempt += 1


@dataclass
class AdapterConfig:
    exchange: str
    api_key: SecretStr | None = field(default=None, repr=False)
    secret: SecretStr | None = field(default=None, repr=False)
    password: SecretStr | None = field(default=None, repr=False)
    base_url: str | None = None  # REST origin override (a simulator, a proxy); binance's WS URLs follow it
    sandbox: bool = False
    timeout_ms: int = 10_000
    options: dict[str, Any] = field(default_factory=dict)
    reconnect: Backoff = field(default_factory=Backoff)
    rate_limit: bool = True  # ccxt's own request spacing (off for the simulator)
    ccxt_extra: dict[str, Any] = field(default_factory=dict, repr=False)  # more ccxt constructor keys (session...)

    def __post_init__(self) -> None:
        self.exchange = normalize_venue(self.exchange)
        if self.timeout_ms <= 0:
            raise ParameterError(f"timeout_ms must be positive, got {self.timeout_ms}")
        for name in ("api_key", "secret", "password"):
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, SecretStr(value))

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_key and self.api_key.get_secret_value() and self.secret
                    and self.secret.get_secret_value())

    @classmethod
    def from_settings(cls, exchange: str, settings: Any = None, **overrides: Any) -> AdapterConfig:
        """The venue's settings (`exchanges.<name>`): credentials, sandbox, base_url, download timeout."""
        from quantdesk.core.config import get_settings

        settings = settings or get_settings()
        name = normalize_venue(exchange)
        creds = settings.exchanges.get(name)
        values: dict[str, Any] = {"exchange": name,
                                  "timeout_ms": max(1, int(settings.data.download_timeout_s * 1000))}
        if creds is not None:
            values.update(api_key=creds.api_key, secret=creds.secret, password=creds.password,
                          sandbox=creds.sandbox, base_url=creds.base_url)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def for_simulator(cls, sim: Any, **overrides: Any) -> AdapterConfig:
        """A Binance adapter on an `ExchangeSimulator` (or its REST URL with the default test keys)."""
        from quantdesk.adapters.simulator.config import DEFAULT_API_KEY, DEFAULT_API_SECRET

        if isinstance(sim, str):
            url, key, secret = sim, DEFAULT_API_KEY, DEFAULT_API_SECRET
        else:
            url, key, secret = sim.rest_url, sim.api_key, sim.api_secret
        # the simulator serves /api/v3/trades, not aggTrades: ccxt's documented option picks it for trade gap fills
        options = {"fetchTradesMethod": "publicGetTrades", **overrides.pop("options", {})}
        values: dict[str, Any] = {"exchange": "binance", "api_key": key, "secret": secret, "base_url": url,
                                  "rate_limit": False, "reconnect": Backoff(0.05, 2.0, 1.0, 0.0), "options": options}
        values.update(overrides)
        return cls(**values)

    def ccxt_config(self) -> dict[str, Any]:
        """The constructor dict for a ccxt class (credentials included: never log it)."""
        from quantdesk.adapters.ccxt.capabilities import QUANTDESK_TABLE
        from quantdesk.data.ccxt_client import _redacting_logger

        load = dict((QUANTDESK_TABLE.get(self.exchange) or {}).get("load_options") or {})
        config: dict[str, Any] = {
            "enableRateLimit": self.rate_limit, "timeout": int(self.timeout_ms),
            # no signed currency / margin calls while loading markets; clock skew is handled on -1021
            "options": {"fetchCurrencies": False, "fetchMargins": False, "adjustForTimeDifference": False,
                        **load, **self.options},
        }
        secrets = []
        for ours, theirs in (("api_key", "apiKey"), ("secret", "secret"), ("password", "password")):
            value = getattr(self, ours)
            if value is not None and value.get_secret_value():
                config[theirs] = value.get_secret_value()
                secrets.append(value.get_secret_value())
        config["logger"] = _redacting_logger(self.exchange, secrets)
        config.update(self.ccxt_extra)
        return config

    def make_client(self) -> Any:
        """A new async `ccxt.pro` instance for this venue (REST + WebSocket); close it with `await x.close()`."""
        import ccxt.pro as ccxt_pro

        from quantdesk.data.ccxt_client import exchange_class

        exchange_class(self.exchange)  # a one-line error naming close matches for a wrong id
        cls = getattr(ccxt_pro, self.exchange, None)
        if cls is None:
            import ccxt.async_support as ccxt_async

            cls = getattr(ccxt_async, self.exchange)  # REST only: the clients fall back to polling
        client = cls(self.ccxt_config())
        self._finish(client)
        return client

    def make_sync_client(self) -> Any:
        """A blocking `ccxt` instance (REST only), for scripts and the REST polling of existing code."""
        from quantdesk.data.ccxt_client import exchange_class

        client = exchange_class(self.exchange)(self.ccxt_config())
        self._finish(client)
        return client

    def _finish(self, client: Any) -> None:
        import ccxt

        if self.sandbox:
            try:
                client.set_sandbox_mode(True)
            except ccxt.NotSupported:
                raise ConfigError(f"exchanges.{self.exchange}.sandbox: {self.exchange} has no sandbox in ccxt") from None
        if self.base_url:
            if self.exchange == "binance":
                from quantdesk.adapters.simulator.clients import point_at

                point_at(client, self.base_url)  # REST origin and the WebSocket URLs
            else:
                from quantdesk.data.ccxt_client import apply_base_url

                apply_base_url(client, self.base_url)
