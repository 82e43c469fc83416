"""The application's settings: the core sections plus those of the outer layers, composed at the edge.

`quantdesk.core.config` holds the loading machinery (defaults < quantdesk.toml < `QD_*` environment) and the core
sections; it must not import the layers above it. This module, above every layer, adds their sections:

- `risk`: global pre-trade limits, breakers and sizing of paper and live trading (quantdesk.risk.config);
- `alerts`: alert rules and channels (Telegram, Discord, Slack, e-mail, webhooks) (quantdesk.monitoring);
- `kb`: the knowledge-base assistant: user folder, results folders, optional LLM (quantdesk.intel.kb).

Importing it declares `Settings` to core (`use_settings_class`); the `quantdesk` package does so on import, so
`quantdesk.core.config.load_settings()`/`get_settings()` return this full class for every caller. Code above the
layers that wants the precise type imports `Settings`, `load_settings` and `get_settings` from here.
"""

from __future__ import annotations

import os
from typing import Any

from quantdesk.core import config as _core
from quantdesk.core.config import CoreSettings, set_settings
from quantdesk.core.errors import ConfigError
from quantdesk.intel.kb.config import KbSettings
from quantdesk.monitoring.alert_config import AlertsSettings
from quantdesk.risk.config import RiskSettings

__all__ = ["Settings", "get_settings", "load_settings", "set_settings"]


class Settings(CoreSettings):
    """The effective configuration of one QuantDesk process."""

    # global pre-trade limits / breakers / sizing of paper and live trading (quantdesk.risk.config)
    risk: RiskSettings = RiskSettings()
    # alert rules and channels (Telegram, Discord, Slack, e-mail, webhooks): quantdesk.monitoring
    alerts: AlertsSettings = AlertsSettings()
    # the knowledge-base assistant: user folder, results folders, optional LLM (quantdesk.intel.kb)
    kb: KbSettings = KbSettings()


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
