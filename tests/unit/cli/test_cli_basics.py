"""CLI conventions: --json gives one JSON document on stdout, errors are one line and non-zero."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "quantdesk", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120
    )


def test_config_show_json_redacts(tmp_path: Path) -> None:
    proc = run_cli("--json", "config", "show", env={"QD_EXCHANGES__KRAKEN__SECRET": "s3cr3t", "QD_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["exchanges"]["kraken"]["secret"] == "***"
    assert doc["home"] == str(tmp_path)
    assert "s3cr3t" not in proc.stdout + proc.stderr


def test_bad_setting_is_one_line_error(tmp_path: Path) -> None:
    proc = run_cli("config", "show", env={"QD_LOG_LEVEL": "shout"})
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "log_level" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unknown_command_is_usage_error() -> None:
    proc = run_cli("no-such-command")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_error_message_keeps_brackets(tmp_path: Path) -> None:
    """A path with [brackets] must be printed as-is (rich markup must not eat it)."""
    missing = tmp_path / "[weird]" / "nope.toml"
    proc = run_cli("--config", str(missing), "config", "show")
    assert proc.returncode == 2
    assert "[weird]" in proc.stderr
