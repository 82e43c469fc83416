"""Configuration layering: defaults < TOML file < QD_ environment, secrets redacted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quantdesk.core.config import load_settings
from quantdesk.core.errors import ConfigError


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ("QD_HOME", "QD_LOG_LEVEL", "QD_DATABASE__URL", "QD_CONFIG", "QD_REDIS__URL", "QD_REDIS__PREFIX"):
        monkeypatch.delenv(key, raising=False)
    settings = load_settings()
    assert settings.home == Path(".quantdesk")
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith(".quantdesk/quantdesk.db")
    assert settings.redis.url is None


def test_toml_then_env_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quantdesk.toml").write_text('log_level = "warning"\nhome = "from-toml"\n[redis]\nurl = "redis://x"\n')
    monkeypatch.delenv("QD_HOME", raising=False)
    monkeypatch.delenv("QD_REDIS__URL", raising=False)  # the file's url, whatever QD_TEST_REDIS says
    monkeypatch.setenv("QD_LOG_LEVEL", "error")
    settings = load_settings()
    assert settings.log_level == "ERROR"  # env beats file
    assert settings.home == Path("from-toml")  # file beats default
    assert settings.redis.url == "redis://x"


def test_explicit_config_file_and_nested_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "other.toml"
    cfg.write_text('[database]\nurl = "sqlite:///file.db"\n')
    monkeypatch.setenv("QD_DATABASE__URL", "postgresql+psycopg://u:hunter2@h/db")
    settings = load_settings(cfg)
    assert settings.database.url == "postgresql+psycopg://u:hunter2@h/db"
    monkeypatch.delenv("QD_DATABASE__URL")
    assert load_settings(cfg).database.url == "sqlite:///file.db"


def test_secrets_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QD_DATABASE__URL", "postgresql+psycopg://u:hunter2@h/db")
    monkeypatch.setenv("QD_EXCHANGES__BINANCE__API_KEY", "key-123")
    monkeypatch.setenv("QD_EXCHANGES__BINANCE__SECRET", "sec-456")
    settings = load_settings()
    text = json.dumps(settings.redacted()) + repr(settings)
    for secret in ("hunter2", "key-123", "sec-456"):
        assert secret not in text
    assert settings.exchanges["binance"].api_key.get_secret_value() == "key-123"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("log_level = 'loud'", "log_level"), ("nonsense = 1", "nonsense"), ("[database\n", "invalid TOML")],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, content: str, fragment: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    with pytest.raises(ConfigError, match=fragment):
        load_settings(cfg)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_alert_channel_secrets_from_toml_are_redacted(tmp_path: Path) -> None:
    cfg = tmp_path / "alerts.toml"
    cfg.write_text(
        '[[alerts.channels]]\ntype = "telegram"\nname = "tg"\ntoken = "123:SECRET-TOKEN"\nchat_id = "42"\n'
        '[[alerts.rules]]\nkind = "fill"\n'
    )
    settings = load_settings(cfg)
    assert settings.alerts.channels[0].token.get_secret_value() == "123:SECRET-TOKEN"
    text = json.dumps(settings.redacted()) + repr(settings)
    assert "SECRET-TOKEN" not in text


def test_bad_alert_channel_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "alerts.toml"
    cfg.write_text('[[alerts.channels]]\ntype = "telegram"\nname = "tg"\nchat_id = "42"\n')
    with pytest.raises(ConfigError, match="alerts"):
        load_settings(cfg)
