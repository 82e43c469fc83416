"""Alert configuration: the `[alerts]` section of quantdesk.toml (`Settings.alerts`, an `AlertsSettings`).

Channels are a list of tables discriminated by `type` (telegram, discord, slack, email, webhook); every channel
has a unique `name` that rules refer to. Secrets (bot tokens, passwords, webhook URLs, HMAC secrets) are
`SecretStr`. `load_alerts_settings(obj)` accepts an AlertsSettings, a Settings-like object with `.alerts`, or a
dict, and raises `ConfigError` naming the offending key, e.g. `invalid setting alerts.channels.0.token: ...`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from quantdesk.core.errors import ConfigError

Severity = Literal["info", "warning", "critical"]
RuleKind = Literal["fill", "stop_loss_hit", "risk_halt", "drawdown", "feed_stalled", "bot_crashed", "sentiment_event",
                   "calibration_drift", "anomaly"]


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    enabled: bool = True
    # token bucket per channel: `burst` deliveries at once, refilled at `rate_per_min`
    rate_per_min: float = Field(default=20.0, gt=0)
    burst: int = Field(default=5, ge=1)
    timeout_s: float = Field(default=10.0, gt=0)


class TelegramChannel(_Channel):
    type: Literal["telegram"] = "telegram"
    token: SecretStr
    chat_id: str
    base_url: str = "https://api.telegram.org"
    # control channel (quantdesk.rpc.telegram): /status /profit /balance /daily /stop /start /forceexit, answered
    # only in `chat_id` and `allowed_chat_ids`
    control: bool = False
    allowed_chat_ids: list[str] = Field(default_factory=list)
    poll_timeout_s: float = Field(default=20.0, ge=0, le=60)


class DiscordChannel(_Channel):
    type: Literal["discord"] = "discord"
    webhook_url: SecretStr


class SlackChannel(_Channel):
    type: Literal["slack"] = "slack"
    webhook_url: SecretStr


class WebhookChannel(_Channel):
    type: Literal["webhook"] = "webhook"
    url: SecretStr
    secret: SecretStr | None = None  # HMAC-SHA256 of the raw body, hex, in `signature_header`
    signature_header: str = "X-QuantDesk-Signature"
    headers: dict[str, str] = Field(default_factory=dict)


class EmailChannel(_Channel):
    type: Literal["email"] = "email"
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = False
    username: str | None = None
    password: SecretStr | None = None
    sender: str
    recipients: list[str] = Field(min_length=1)
    subject_prefix: str = "[QuantDesk]"


ChannelSettings = Annotated[
    TelegramChannel | DiscordChannel | SlackChannel | WebhookChannel | EmailChannel, Field(discriminator="type")
]


class AlertRule(BaseModel):
    """When to alert. `threshold`: drawdown percent (drawdown), expected calibration error in percentage points
    (calibration_drift) or minimum score (anomaly); `stall_bars` × `timeframe_s`: feed stalled; `anomaly_kinds`:
    which anomaly kinds (None = all; quantdesk.intel.anomalies)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: RuleKind
    name: str | None = None
    severity: Severity | None = None  # default per kind
    threshold: float | None = Field(default=None, gt=0)
    stall_bars: int = Field(default=3, ge=1)
    timeframe_s: float | None = Field(default=None, gt=0)  # None = the bar's own timeframe
    symbols: list[str] | None = None  # filter; None = all
    bots: list[str] | None = None  # filter on strategy/bot id; None = all
    channels: list[str] | None = None  # channel names; None = every enabled channel
    events: list[str] | None = None  # sentiment_event: event kinds (hack, exploit...); None = all
    anomaly_kinds: list[str] | None = None  # anomaly rules: e.g. ["gap", "whale"]; None = every kind

    @model_validator(mode="after")
    def _check(self) -> AlertRule:
        if self.kind in ("drawdown", "calibration_drift") and self.threshold is None:
            raise ValueError(f"a {self.kind} rule needs `threshold` (percent)")
        return self

    @property
    def label(self) -> str:
        return self.name or self.kind


class AlertsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    channels: list[ChannelSettings] = Field(default_factory=list)
    rules: list[AlertRule] = Field(default_factory=list)
    dedup_window_s: float = Field(default=300.0, ge=0)
    retries: int = Field(default=3, ge=0, le=10)  # extra attempts after the first
    backoff_s: float = Field(default=1.0, ge=0)  # first retry delay; doubled per attempt
    backoff_max_s: float = Field(default=30.0, ge=0)
    stall_check_interval_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _check_names(self) -> AlertsSettings:
        names = [c.name for c in self.channels]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate channel name(s): {', '.join(sorted(dup))}")
        for i, rule in enumerate(self.rules):
            for ch in rule.channels or ():
                if ch not in names:
                    raise ValueError(f"rules.{i}.channels: unknown channel {ch!r}")
        return self


def load_alerts_settings(obj: Any) -> AlertsSettings:
    """AlertsSettings from an AlertsSettings, an object with `.alerts`, or a dict. ConfigError names the key."""
    if isinstance(obj, AlertsSettings):
        return obj
    if obj is None:
        return AlertsSettings()
    if not isinstance(obj, dict) and hasattr(obj, "alerts"):
        return load_alerts_settings(obj.alerts)
    if isinstance(obj, BaseModel):
        obj = obj.model_dump()
    try:
        return AlertsSettings.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        where = f"alerts.{loc}" if loc else "alerts"
        n = exc.error_count()
        raise ConfigError(
            f"invalid setting {where}: {first['msg']} ({n} problem{'s' if n > 1 else ''} in all)"
        ) from None
