"""Binance's request signing, checked the way Binance checks it (HMAC-SHA256 keys only).

A SIGNED request carries the API key in the `X-MBX-APIKEY` header and `timestamp`, optional `recvWindow`
(default 5000 ms, at most 60000) and `signature` = hex HMAC-SHA256(secret, totalParams), where totalParams is
the query string followed directly by the request body, both as sent, without the signature parameter.
Timestamps are checked against the wall clock (the simulator's replay clock only stamps market events): a request
is accepted when `timestamp < server time + 1000` and `server time - timestamp <= recvWindow`.
"""

from __future__ import annotations

import hashlib
import hmac

from quantdesk.adapters.simulator.model import SimError

MAX_RECV_WINDOW = 60_000
DEFAULT_RECV_WINDOW = 5_000


def check_api_key(header_value: str | None, api_key: str) -> None:
    if not header_value:
        raise SimError(-2014, "API-key format invalid.", 401)
    if not hmac.compare_digest(header_value.encode(), api_key.encode()):
        raise SimError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def _without_signature(raw: str) -> tuple[str, str | None]:
    """(the parameter text without `signature=...`, the signature or None)."""
    kept, signature = [], None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = part[len("signature="):]
        else:
            kept.append(part)
    return "&".join(kept), signature


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def check_signature(query: str, body: str, secret: str) -> None:
    q, sig_q = _without_signature(query)
    b, sig_b = _without_signature(body)
    signature = sig_q or sig_b
    if not signature:
        raise SimError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    if not hmac.compare_digest(sign(secret, q + b), signature.lower()):
        raise SimError(-1022, "Signature for this request is not valid.")


def check_timestamp(params: dict[str, str], wall_ms: int) -> None:
    try:
        timestamp = int(params["timestamp"])
    except (KeyError, ValueError):
        raise SimError(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.") from None
    try:
        recv_window = int(float(params.get("recvWindow", DEFAULT_RECV_WINDOW)))
    except ValueError:
        raise SimError(-1100, "Illegal characters found in parameter 'recvWindow'.") from None
    if recv_window > MAX_RECV_WINDOW or recv_window <= 0:
        raise SimError(-1131, "recvWindow must be less than 60000")
    if timestamp >= wall_ms + 1000:
        raise SimError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if wall_ms - timestamp > recv_window:
        raise SimError(-1021, "Timestamp for this request is outside of the recvWindow.")


def check_ws_signature(params: dict[str, object], api_key: str, secret: str, wall_ms: int) -> None:
    """A WebSocket API request's signed params: apiKey, timestamp, signature over the sorted other params."""
    key = params.get("apiKey")
    check_api_key(str(key) if key is not None else None, api_key)
    signature = params.get("signature")
    if not isinstance(signature, str) or not signature:
        raise SimError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    payload = "&".join(f"{k}={_ws_text(v)}" for k, v in sorted(params.items()) if k != "signature")
    if not hmac.compare_digest(sign(secret, payload), signature.lower()):
        raise SimError(-1022, "Signature for this request is not valid.")
    check_timestamp({k: _ws_text(v) for k, v in params.items()}, wall_ms)


def _ws_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
