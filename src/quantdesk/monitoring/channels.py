"""Alert channels: Telegram, Discord, Slack, e-mail (SMTP) and generic webhooks.

`send(alert)` delivers once or raises `ChannelError` (with `retryable` and an optional `retry_after` in
seconds). Errors name the channel and the HTTP status / exception type, never the token, password or URL
(httpx error messages contain the URL, which holds the secret for Telegram/Discord/Slack: they are not reused).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import httpx

from quantdesk.monitoring.alert_config import (
    DiscordChannel,
    EmailChannel,
    SlackChannel,
    TelegramChannel,
    WebhookChannel,
)

if TYPE_CHECKING:
    from quantdesk.monitoring.alerts import Alert


class ChannelError(Exception):
    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Channel:
    kind = "channel"

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.name: str = cfg.name

    def send(self, alert: Alert) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class _HttpChannel(Channel):
    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        self._client = httpx.Client(timeout=cfg.timeout_s)

    def close(self) -> None:
        self._client.close()

    def _post(self, url: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        try:
            resp = self._client.post(url, content=body, headers=hdrs)
        except httpx.HTTPError as exc:  # message would contain the URL (a secret): only the type
            raise ChannelError(f"{self.kind} channel {self.name!r}: {type(exc).__name__}", retryable=True) from None
        if resp.status_code < 300:
            return
        retry_after = None
        if resp.status_code == 429:
            retry_after = _retry_after(resp)
        retryable = resp.status_code == 429 or resp.status_code >= 500 or resp.status_code == 408
        raise ChannelError(
            f"{self.kind} channel {self.name!r}: HTTP {resp.status_code}", retryable=retryable, retry_after=retry_after
        )


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if value is None:
        try:  # Telegram / Discord put it in the JSON body
            data = resp.json()
            value = (data.get("parameters") or {}).get("retry_after") or data.get("retry_after")
        except Exception:  # noqa: BLE001
            return None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


class TelegramNotifier(_HttpChannel):
    kind = "telegram"
    cfg: TelegramChannel

    def send(self, alert: Alert) -> None:
        url = f"{self.cfg.base_url.rstrip('/')}/bot{self.cfg.token.get_secret_value()}/sendMessage"
        body = {"chat_id": self.cfg.chat_id, "text": alert.message(), "disable_web_page_preview": True}
        self._post(url, _dumps(body))


class DiscordNotifier(_HttpChannel):
    kind = "discord"
    cfg: DiscordChannel

    def send(self, alert: Alert) -> None:
        self._post(self.cfg.webhook_url.get_secret_value(), _dumps({"content": alert.message()[:2000]}))


class SlackNotifier(_HttpChannel):
    kind = "slack"
    cfg: SlackChannel

    def send(self, alert: Alert) -> None:
        self._post(self.cfg.webhook_url.get_secret_value(), _dumps({"text": alert.message()}))


def sign(secret: bytes, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>` (the webhook signature header value)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookNotifier(_HttpChannel):
    kind = "webhook"
    cfg: WebhookChannel

    def send(self, alert: Alert) -> None:
        body = _dumps(alert.to_dict())
        headers = dict(self.cfg.headers)
        if self.cfg.secret is not None:
            headers[self.cfg.signature_header] = sign(self.cfg.secret.get_secret_value().encode(), body)
        self._post(self.cfg.url.get_secret_value(), body, headers)


class EmailNotifier(Channel):
    kind = "email"
    cfg: EmailChannel

    def send(self, alert: Alert) -> None:
        cfg = self.cfg
        msg = EmailMessage()
        msg["Subject"] = f"{cfg.subject_prefix} {alert.title}".strip()
        msg["From"] = cfg.sender
        msg["To"] = ", ".join(cfg.recipients)
        msg.set_content(alert.message())
        try:
            if cfg.ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
            with smtp:
                if cfg.starttls and not cfg.ssl:
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.username:
                    smtp.login(cfg.username, cfg.password.get_secret_value() if cfg.password else "")
                smtp.send_message(msg, from_addr=cfg.sender, to_addrs=list(cfg.recipients))
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise ChannelError(f"email channel {self.name!r}: {type(exc).__name__}", retryable=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"email channel {self.name!r}: {type(exc).__name__}", retryable=True) from None


_KINDS: dict[str, type[Channel]] = {
    "telegram": TelegramNotifier,
    "discord": DiscordNotifier,
    "slack": SlackNotifier,
    "webhook": WebhookNotifier,
    "email": EmailNotifier,
}


def build_channel(cfg: Any) -> Channel:
    return _KINDS[cfg.type](cfg)
