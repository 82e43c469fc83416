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
import re
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
        """The config as plain JSON-able data, every secret replaced by '***': SecretStr fields, any field whose
        name says secret (token, password, api_key, ...), every value of a headers table (Authorization...), and
        the credentials inside any URL (`scheme://user:***@host`, `?token=***`)."""
        data = self.model_dump(mode="json")
        data["database"]["url"] = self.database_url
        return _redact_tree(data)

    def secret_values(self) -> list[str]:
        """Every secret this config holds, in clear: what the log redaction filter must never let through."""
        found: list[str] = []
        _collect_secrets(self, found)
        for url in (self.database.url, self.redis.url):
            if url:
                found += _url_secrets(url)
        return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


SECRET_NAMES = ("secret", "token", "password", "passwd", "api_key", "apikey", "private_key", "webhook_url",
                "credentials", "auth")


def _secret_name(key: str) -> bool:
    k = key.lower()
    return any(n in k for n in SECRET_NAMES)


def _redact_tree(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        if key.lower() == "headers":  # header NAMES are useful, their values are credentials
            return {k: "***" if v not in (None, "") else v for k, v in value.items()}
        return {k: _redact_tree(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_tree(v, key) for v in value]
    if isinstance(value, str):
        if _secret_name(key) and value:
            return "***"
        return _redact_url(value)
    return value


def _collect_secrets(obj: Any, out: list[str]) -> None:
    if isinstance(obj, SecretStr):
        out.append(obj.get_secret_value())
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            value = getattr(obj, name, None)
            if name == "headers" and isinstance(value, dict):
                out.extend(str(v) for v in value.values() if v)
            elif isinstance(value, str) and _secret_name(name):
                out.append(value)
            elif isinstance(value, str) and "://" in value:
                out.extend(_url_secrets(value))
            else:
                _collect_secrets(value, out)
    elif isinstance(obj, dict):
        for v in obj.values():
            _collect_secrets(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect_secrets(v, out)


_CURRENT_TOML: dict[str, Path | None] = {"path": None}
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<creds>[^/?#@]*@)?(?P<rest>[^?#]*)(?P<query>\?[^#]*)?"
                  r"(?P<frag>#.*)?$")
_SECRET_PARAM = r"[?&][^=&#]*(?:key|token|secret|password|passwd|pwd|auth|signature|sig)[^=&#]*="
_SECRET_QUERY = re.compile(f"({_SECRET_PARAM})[^&#]*", re.IGNORECASE)
_SECRET_QUERY_VALUE = re.compile(f"{_SECRET_PARAM}([^&#]*)", re.IGNORECASE)


def _redact_url(url: str) -> str:
    """Hide credentials in a URL: the password of `scheme://user:password@host/...` (a user alone, too, when it
    looks like a token) and secret-looking query parameters (`?token=...`)."""
    m = _URL.match(url)
    if m is None:
        return url
    creds = m.group("creds")
    if creds:
        user, sep, _ = creds[:-1].partition(":")
        creds = f"{user}:***@" if sep else ("***@" if len(user) >= 16 else creds)
    query = _SECRET_QUERY.sub(r"\1***", m.group("query") or "")
    return f"{m.group('scheme')}{creds or ''}{m.group('rest')}{query}{m.group('frag') or ''}"


def _url_secrets(url: str) -> list[str]:
    """The secret parts of a URL (password, token-like user, secret query values), in clear."""
    m = _URL.match(url)
    if m is None:
        return []
    out = []
    creds = m.group("creds")
    if creds:
        user, sep, password = creds[:-1].partition(":")
        if sep and password:
            out.append(password)
        elif len(user) >= 16:
            out.append(user)
    for q in _SECRET_QUERY_VALUE.finditer(m.group("query") or ""):
        if q.group(1):
            out.append(q.group(1))
    return out


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
        settings = settings_class()(**overrides)
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
    from quantdesk.core.logging import register_secrets

    register_secrets(settings.secret_values())  # no log line may carry them (the redaction filter)
    return settings


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

