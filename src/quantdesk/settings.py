"""The application's settings: the core sections plus those of the outer layers, composed at the edge.

`quantdesk.core.config` holds the loading machinery (defaults < quantdesk.toml < `QD_*` environment) and the core
sections; it must not import the layers above it. This module, above every layer, adds their sections:

- `risk`: global pre-trade limits, breakers and sizing of paper and live trading (quantdesk.risk.config);
- `alerts`: alert rules and channels (Telegram, Discord, Slack, e-mail, webhooks) (quantdesk.monitoring);
- `kb`: the knowledge-base assistant: user folder, results folders, optional LLM (quantdesk.intel.kb);
- `api`: the HTTP API's exposure: allowed hosts, public read mode, request bounds (quantdesk.api);
- `live`: the live-trading opt-in and the live node's timings (quantdesk.live).

Importing it declares `Settings` to core (`use_settings_class`); the `quantdesk` package does so on import, so
`quantdesk.core.config.load_settings()`/`get_settings()` return this full class for every caller. Code above the
layers that wants the precise type imports `Settings`, `load_settings` and `get_settings` from here.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from quantdesk.core import config as _core
from quantdesk.core.config import CoreSettings, set_settings
from quantdesk.core.errors import ConfigError
from quantdesk.intel.kb.config import KbSettings
from quantdesk.live.config import LiveSettings
from quantdesk.monitoring.alert_config import AlertsSettings
from quantdesk.risk.config import RiskSettings

__all__ = ["Settings", "get_settings", "load_settings", "set_settings"]


class ApiSettings(BaseModel):
    """The HTTP API's exposure: who may read, which Host names it answers, how much one request may cost."""

    model_config = ConfigDict(extra="forbid")  # a misspelt [api] key is an error, not a silent default

    # Host header names the server answers (the port is ignored); "*" = any (behind a proxy that checks it).
    # A DNS-rebinding page reaches the server under its own name, which is not in this list: 421.
    allowed_hosts: list[str] = Field(default_factory=lambda: ["localhost", "127.0.0.1", "::1"])
    # False: every route except /health needs a key (read-only keys exist for dashboards). True: GET without a key.
    public_read: bool = False
    # True: /metrics without a key (a Prometheus on a private network); else a read key, like every route
    public_metrics: bool = False
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=1_073_741_824)  # larger: 413 before it is read
    # failed authentications per client address: `auth_failure_burst` at once, refilled at this rate per minute
    auth_failures_per_min: float = Field(default=10.0, gt=0)
    auth_failure_burst: int = Field(default=10, ge=1)
    ws_max_message_bytes: int = Field(default=16_384, ge=256, le=16_777_216)
    ws_max_depth: int = Field(default=8, ge=2, le=64)
    ws_auth_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # background backtests: at most `backtest_workers` at once, `backtest_queue` waiting (more: 429)
    backtest_workers: int = Field(default=2, ge=1, le=64)
    backtest_queue: int = Field(default=16, ge=0, le=10_000)


class Settings(CoreSettings):
    """The effective configuration of one QuantDesk process."""

    # global pre-trade limits / breakers / sizing of paper and live trading (quantdesk.risk.config)
    risk: RiskSettings = RiskSettings()
    # alert rules and channels (Telegram, Discord, Slack, e-mail, webhooks): quantdesk.monitoring
    alerts: AlertsSettings = AlertsSettings()
    # the knowledge-base assistant: user folder, results folders, optional LLM (quantdesk.intel.kb)
    kb: KbSettings = KbSettings()
    # the HTTP API (quantdesk serve / up): allowed hosts, public read mode, request bounds
    api: ApiSettings = ApiSettings()
    # live trading (quantdesk.live): the opt-in and the node's timings
    live: LiveSettings = LiveSettings()


_core.use_settings_class(Settings)


def _full(settings: CoreSettings) -> Settings:
    if not isinstance(settings, Settings):
        raise ConfigError(
            f"the active settings are a {type(settings).__name__}, not quantdesk.settings.Settings: "
            "build them with quantdesk.settings.load_settings")
    return settings


def load_settings(config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from defaults, the TOML file and the environment. Raises ConfigError, one line."""
    return _full(_core.load_settings(config_file, **overrides))


def get_settings() -> Settings:
    """The process-wide settings (loaded lazily; the CLI sets them explicitly with `set_settings`)."""
    return _full(_core.get_settings())
