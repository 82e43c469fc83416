"""Configuration: defaults < quantdesk.toml (or --config FILE) < environment variables `QD_*`.

Nested keys use `__` in the environment, e.g. `QD_DATABASE__URL=postgresql+psycopg://...`.
Secrets are `SecretStr`: they never appear in `repr`, logs or `config show`.

Core holds the loading machinery and the core sections only (`CoreSettings`: home, log level, database, redis,
data, exchanges); it imports no outer layer. The application edge, `quantdesk.settings`, composes the full
`Settings` (adding the risk, alerts and knowledge-base sections of the outer layers) and declares it here with
`use_settings_class`, so `load_settings`/`get_settings` build that full class wherever they are called from.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from quantdesk.core.errors import ConfigError

DEFAULT_CONFIG_FILE = "quantdesk.toml"


class DatabaseSettings(BaseModel):
    """Relational database for orders, fills, runs. Empty url = SQLite file under QD_HOME."""

    url: str | None = Field(default=None, repr=False)  # may hold a password: never in repr/logs
    echo: bool = False


class RedisSettings(BaseModel):
    """Optional Redis (bus + cache). None = in-process bus."""

    url: str | None = Field(default=None, repr=False)
    # key prefix of the streams / cache (several nodes or tests can share one Redis)
    prefix: str = "qd:"


class ExchangeCredentials(BaseModel):
    """Credentials for one exchange; read from env or a secrets file, never logged."""

    api_key: SecretStr | None = None
    secret: SecretStr | None = None
    password: SecretStr | None = None
    sandbox: bool = False
    # Base URL override (used by tests to point ccxt at a local server).
    base_url: str | None = None


class DataSettings(BaseModel):
    """Market-data defaults."""

    default_exchange: str = "local"
    download_timeout_s: float = 10.0
    download_retries: int = 5


class CoreSettings(BaseSettings):
    """The core sections of one QuantDesk process's configuration (the full class: `quantdesk.settings`)."""

    model_config = SettingsConfigDict(
        env_prefix="QD_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    home: Path = Field(default=Path(".quantdesk"), description="Holds the SQLite DB and the candle store.")
    strategies_dir: Path | None = Field(
        default=None, description="Your strategies, found by name (default: <home>/strategies).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    data: DataSettings = DataSettings()
    exchanges: dict[str, ExchangeCredentials] = Field(default_factory=dict)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _CURRENT_TOML.get("path")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, file_secret_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    # ---- derived locations -------------------------------------------------------------------
    @property
    def store_dir(self) -> Path:
        """Parquet candle store."""
        return self.home / "candles"

    @property
    def user_strategies_dir(self) -> Path:
        """Where `--strategy NAME` also looks, and `quantdesk strategy new` writes."""
        return self.strategies_dir if self.strategies_dir is not None else self.home / "strategies"

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.home / 'quantdesk.db').resolve()}"

    def redacted(self) -> dict[str, Any]:
        """The config as plain JSON-able data, secrets replaced by '***'."""
        data = self.model_dump(mode="json")
        data["database"]["url"] = _redact_url(self.database_url)
        if data["redis"]["url"]:
            data["redis"]["url"] = _redact_url(data["redis"]["url"])
        for creds in data.get("exchanges", {}).values():
            for key in ("api_key", "secret", "password"):
                if creds.get(key):
                    creds[key] = "***"
        return data


_CURRENT_TOML: dict[str, Path | None] = {"path": None}


def _redact_url(url: str) -> str:
    """Hide a password in `scheme://user:password@host/...`."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def _find_config_file(explicit: str | os.PathLike[str] | None) -> Path | None:
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    env_file = os.environ.get("QD_CONFIG")
    if env_file:
        return _find_config_file(env_file)
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


_SETTINGS_CLASS: dict[str, type[CoreSettings]] = {"class": CoreSettings}


def use_settings_class(cls: type[CoreSettings]) -> None:
    """Declare the application's full settings class (called once by `quantdesk.settings` on import)."""
    _SETTINGS_CLASS["class"] = cls


def settings_class() -> type[CoreSettings]:
    """The class `load_settings` builds: the application's `Settings` once declared, else `CoreSettings`."""
    return _SETTINGS_CLASS["class"]


def load_settings(config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> CoreSettings:
    """Build the settings from defaults, the TOML file and the environment. Raises ConfigError, one line."""
    path = _find_config_file(config_file)
    if path is not None:
        try:
            with path.open("rb") as fh:
                tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    _CURRENT_TOML["path"] = path
    try:
        return settings_class()(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        origin = f" (from {path})" if path else ""
        raise ConfigError(
            f"invalid setting {where}{origin}: {first['msg']} "
            f"({exc.error_count()} problem{'s' if exc.error_count() > 1 else ''} in all)"
        ) from None
    finally:
        _CURRENT_TOML["path"] = None


_active: CoreSettings | None = None


def get_settings() -> CoreSettings:
    """The process-wide settings (loaded lazily; the CLI sets them explicitly with `set_settings`)."""
    global _active
    if _active is None:
        _active = load_settings()
    return _active


def set_settings(settings: CoreSettings | None) -> None:
    global _active
    _active = settings

