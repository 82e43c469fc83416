"""Building ccxt exchange clients from settings, and turning ccxt's failures into retry decisions.

`make_exchange("binance", settings)` returns a real `ccxt.binance` with rate limiting on, the configured
timeout, API keys only if they are set (never logged), sandbox mode if asked, and the `base_url` override
applied to every REST endpoint of the exchange (the origin is replaced, each endpoint keeps its path), which is
how tests point ccxt at a local server.
"""

from __future__ import annotations

import difflib
import email.utils
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import ccxt

from quantdesk.core.config import CoreSettings, get_settings
from quantdesk.core.errors import ConfigError, NotFoundError, ParameterError
from quantdesk.core.logging import get_logger
from quantdesk.model.identifiers import normalize_venue

log = get_logger(__name__)

#: HTTP statuses worth retrying (with backoff): request timeout, rate limiting and server-side failures.
RETRYABLE_STATUS = frozenset({408, 418, 425, 429, 500, 502, 503, 504, 520, 521, 522, 524, 525, 526, 530})


def exchange_class(exchange_id: str) -> type[ccxt.Exchange]:
    """The ccxt class for an exchange id, or a one-line ParameterError naming close matches."""
    name = normalize_venue(exchange_id)
    if name not in ccxt.exchanges:
        close = difflib.get_close_matches(name, ccxt.exchanges, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else " (run `python -c 'import ccxt; print(ccxt.exchanges)'` for the list)"
        raise ParameterError(f"exchange {exchange_id!r} is not a ccxt exchange id{hint}")
    return getattr(ccxt, name)


def apply_base_url(exchange: ccxt.Exchange, base_url: str) -> None:
    """Point every REST endpoint in `exchange.urls['api']` at `base_url`, keeping each endpoint's path.

    `http://127.0.0.1:8080` turns `https://api.binance.com/api/v3` into `http://127.0.0.1:8080/api/v3` and
    `https://fapi.binance.com/fapi/v1` into `http://127.0.0.1:8080/fapi/v1`. A path in `base_url` is a prefix.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"exchanges.{exchange.id}.base_url {base_url!r} must be an http(s) URL such as http://127.0.0.1:8080")
    prefix = base_url.rstrip("/")

    def rewrite(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            old = urlsplit(value)
            return prefix + old.path + (f"?{old.query}" if old.query else "")
        if isinstance(value, dict):
            return {key: rewrite(item) for key, item in value.items()}
        return value

    exchange.urls["api"] = rewrite(exchange.urls.get("api"))


def make_exchange(
    exchange_id: str,
    settings: CoreSettings | None = None,
    *,
    timeout_s: float | None = None,
    rate_limit_ms: float | None = None,
    options: dict[str, Any] | None = None,
) -> ccxt.Exchange:
    """A real ccxt exchange configured from settings (credentials, sandbox, base_url, timeout)."""
    settings = settings or get_settings()
    cls = exchange_class(exchange_id)
    name = normalize_venue(exchange_id)
    creds = settings.exchanges.get(name)
    timeout = settings.data.download_timeout_s if timeout_s is None else timeout_s
    if timeout <= 0:
        raise ParameterError(f"download timeout must be positive, got {timeout} s")
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": max(1, int(timeout * 1000)),
        # Market data needs markets only: no signed currency / margin-pair calls (binance makes them when keys
        # are set), no clock-sync call.
        "options": {"fetchCurrencies": False, "fetchMargins": False, "adjustForTimeDifference": False,
                    **(options or {})},
    }
    secrets: list[str] = []
    if creds is not None:
        for ours, theirs in (("api_key", "apiKey"), ("secret", "secret"), ("password", "password")):
            secret = getattr(creds, ours)
            if secret is not None and secret.get_secret_value():
                config[theirs] = secret.get_secret_value()
                secrets.append(secret.get_secret_value())
    # ccxt logs request headers (API key included) at DEBUG: route its log through a redacting logger.
    config["logger"] = _redacting_logger(name, secrets)
    exchange = cls(config)
    if rate_limit_ms is not None:
        if rate_limit_ms < 0:
            raise ParameterError(f"rate limit must be >= 0 ms, got {rate_limit_ms}")
        exchange.rateLimit = rate_limit_ms
    if creds is not None and creds.sandbox:
        try:
            exchange.set_sandbox_mode(True)
        except ccxt.NotSupported:
            raise ConfigError(f"exchanges.{name}.sandbox: {name} has no sandbox in ccxt") from None
    if creds is not None and creds.base_url:
        apply_base_url(exchange, creds.base_url)
    log.debug(
        "exchange client ready",
        extra={"exchange": name, "rate_limit_ms": exchange.rateLimit, "timeout_ms": exchange.timeout,
               "credentials": bool(config.get("apiKey")), "base_url": bool(creds and creds.base_url)},
    )
    return exchange


class _Redact(logging.Filter):
    """Replaces known secret values in a record's final message by '***' and cuts huge response bodies."""

    max_chars = 2000

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, "***")
        if len(message) > self.max_chars:
            message = f"{message[: self.max_chars]}... ({len(message)} chars)"
        record.msg, record.args = message, None
        return True


def _redacting_logger(exchange_id: str, secrets: list[str]) -> logging.Logger:
    logger = logging.getLogger(f"quantdesk.ccxt.{exchange_id}")
    redact = next((f for f in logger.filters if isinstance(f, _Redact)), None)
    if redact is None:
        redact = _Redact()
        logger.addFilter(redact)
    redact.secrets.update(s for s in secrets if len(s) >= 4)
    return logger


def check_timeframe(exchange: ccxt.Exchange, timeframe: str) -> str:
    """The exchange's own key for `timeframe`, or a one-line ParameterError listing what it supports."""
    frames = getattr(exchange, "timeframes", None) or {}
    if not exchange.has.get("fetchOHLCV"):
        raise ParameterError(f"exchange {exchange.id} does not provide OHLCV history through ccxt")
    if timeframe not in frames:
        supported = ", ".join(frames) or "none"
        raise ParameterError(f"timeframe {timeframe!r} is not supported by {exchange.id} (supported: {supported})")
    return timeframe


def check_symbol(exchange: ccxt.Exchange, symbol: str) -> dict[str, Any]:
    """The loaded market for `symbol`, or a one-line NotFoundError naming close matches."""
    markets = exchange.markets or {}
    if symbol in markets:
        return markets[symbol]
    close = difflib.get_close_matches(symbol, list(markets), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise NotFoundError(f"symbol {symbol!r} is not listed on {exchange.id} ({len(markets)} markets loaded){hint}")


def ohlcv_page_limit(exchange: ccxt.Exchange, market: dict[str, Any] | None = None) -> int:
    """Most candles one fetch_ohlcv request may return on this exchange (ccxt `features`), default 500."""
    features = getattr(exchange, "features", None) or {}
    kind = (market or {}).get("type") or "spot"
    section = features.get(kind) or {}
    if "fetchOHLCV" not in section:  # derivatives are nested by linear / inverse
        sub = "linear" if (market or {}).get("linear") else "inverse" if (market or {}).get("inverse") else None
        section = (section.get(sub) or {}) if sub else {}
    limit = (section.get("fetchOHLCV") or {}).get("limit")
    return int(limit) if isinstance(limit, (int, float)) and limit > 0 else 500


@dataclass
class ResponseWatch:
    """Records the HTTP status and headers of each response ccxt receives (for Retry-After and retry decisions).

    Installed through ccxt's `on_rest_response` hook, which ccxt calls for every HTTP response, errors included.
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def install(cls, exchange: ccxt.Exchange) -> ResponseWatch:
        existing = getattr(exchange, "_qd_response_watch", None)
        if isinstance(existing, ResponseWatch):
            return existing
        watch = cls()
        original = exchange.on_rest_response

        def hook(code, reason, url, method, response_headers, response_body, request_headers, request_body):
            watch.status = int(code) if code is not None else None
            watch.headers = {str(k).lower(): str(v) for k, v in dict(response_headers or {}).items()}
            return original(code, reason, url, method, response_headers, response_body, request_headers, request_body)

        exchange.on_rest_response = hook
        exchange.enableLastJsonResponse = True
        exchange._qd_response_watch = watch
        return watch

    def reset(self) -> None:
        self.status = None
        self.headers = {}

    def retry_after_s(self, now: float | None = None) -> float | None:
        """Seconds asked by a Retry-After header (delta-seconds or HTTP-date), if any."""
        value = self.headers.get("retry-after")
        if not value:
            return None
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        now = time.time() if now is None else now
        return max(0.0, when.timestamp() - now)


def is_retryable(exc: BaseException, status: int | None) -> bool:
    """Timeouts, connection failures, rate limiting (429/418) and 5xx are retryable; other errors are not."""
    if isinstance(exc, (ccxt.RequestTimeout, ccxt.DDoSProtection, ccxt.RateLimitExceeded)):
        return True
    if status is not None:
        return status in RETRYABLE_STATUS or status >= 500
    return isinstance(exc, ccxt.NetworkError)  # no response at all: connection refused / reset


def short_reason(exc: BaseException, status: int | None) -> str:
    """A short, single-line description of a ccxt failure (no bodies, no secrets)."""
    if isinstance(exc, ccxt.RequestTimeout):
        return "request timed out"
    if status is not None:
        return f"HTTP {status}"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def utc_iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
