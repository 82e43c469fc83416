"""What a failed venue request means for an order: refused for good, refused for now, or outcome unknown.

The one distinction that matters for exactly-once: after REJECTED, RATE_LIMITED or TIMESTAMP the venue did not
act (the same client id may be sent again); after UNKNOWN it may have acted (timeout, 5xx, dropped connection,
a venue code that says "execution status unknown"), so the order must be looked up by client id before
anything is sent again. `classify` decides from the venue's error code (per-venue tables in
`capabilities.ErrorCodes`), then ccxt's exception class, then the HTTP status; anything it cannot place is
UNKNOWN (the safe side). `RateGate` spaces new orders to the venue's order-rate limit and holds every request
while a Retry-After is running.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from quantdesk.adapters.ccxt.capabilities import OrderRate, VenueCapabilities, error_codes


class Failure(StrEnum):
    REJECTED = "rejected"
    RATE_LIMITED = "rate_limited"
    TIMESTAMP = "timestamp"
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Classified:
    kind: Failure
    reason: str
    code: str | None = None
    retry_after_s: float | None = None


def retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date)."""
    if not headers:
        return None
    value = next((str(v) for k, v in dict(headers).items() if str(k).lower() == "retry-after"), None)
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _status(exc: BaseException) -> int | None:
    match = re.match(r"\w+ ([45]\d\d) ", str(exc))  # ccxt's HTTP errors read "<exchange> <status> <reason> ..."
    return int(match.group(1)) if match else None


def classify(exc: BaseException, caps: VenueCapabilities, headers: Any = None) -> Classified:
    """Classify a failed request (see the module docstring). `headers`: the response headers, if any."""
    import ccxt

    codes = set(error_codes(exc))
    code = error_codes(exc)[-1] if codes else None
    errors = caps.errors
    text = re.sub(r"(signature|apiKey|api_key)=[^&\s]+", r"\1=***", " ".join(str(exc).split()))[:300]
    short = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if isinstance(exc, ccxt.DuplicateOrderId) or (
            codes & errors.duplicate_client_id and re.search(errors.duplicate_message, text, re.I)):
        return Classified(Failure.DUPLICATE, short, code)
    if codes & errors.unknown_status:
        return Classified(Failure.UNKNOWN, f"the venue says the outcome is unknown ({short})", code)
    if codes & errors.timestamp or isinstance(exc, ccxt.InvalidNonce) and not isinstance(exc, ccxt.ChecksumError):
        return Classified(Failure.TIMESTAMP, short, code)
    status = _status(exc) if isinstance(exc, ccxt.BaseError) else None
    if (codes & errors.rate_limited or isinstance(exc, (ccxt.DDoSProtection, ccxt.RateLimitExceeded))
            or status in (418, 429)):
        return Classified(Failure.RATE_LIMITED, short, code, retry_after(headers))
    if isinstance(exc, ccxt.OrderNotFound):
        return Classified(Failure.NOT_FOUND, short, code)
    if isinstance(exc, (ccxt.NetworkError, ccxt.BadResponse, ccxt.OperationFailed)):
        return Classified(Failure.UNKNOWN, short, code)
    if isinstance(exc, ccxt.ExchangeError):
        return Classified(Failure.REJECTED, short, code)
    return Classified(Failure.UNKNOWN, short, code)  # aiohttp, OSError, asyncio timeouts...


class RateGate:
    """Spaces new orders to `rate` (sliding window) and blocks all requests during a venue's Retry-After."""

    def __init__(self, rate: OrderRate, *, clock: Any = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._sent: deque[float] = deque()
        self.cooldown_until = 0.0
        self.waited_s = 0.0

    def hold(self, seconds: float) -> None:
        """The venue asked to wait `seconds` (429/418 Retry-After)."""
        self.cooldown_until = max(self.cooldown_until, self.clock() + max(0.0, seconds))

    def wait_needed(self, order: bool) -> float:
        now = self.clock()
        wait = max(0.0, self.cooldown_until - now)
        if order:
            while self._sent and now - self._sent[0] >= self.rate.per_s:
                self._sent.popleft()
            if len(self._sent) >= self.rate.count:
                wait = max(wait, self._sent[0] + self.rate.per_s - now)
        return wait

    async def acquire(self, *, order: bool, max_wait_s: float) -> float | None:
        """Wait for a slot; returns the wait, or None if it would exceed `max_wait_s` (nothing recorded)."""
        wait = self.wait_needed(order)
        if wait > max_wait_s:
            return None
        if wait > 0:
            self.waited_s += wait
            await asyncio.sleep(wait)
        if order:
            self._sent.append(self.clock())
        return wait
