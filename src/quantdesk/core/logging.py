"""Structured logging: readable console lines for people, JSON lines with --log-json, no secret in either.

Logs always go to stderr so that `--json` output on stdout stays one clean document.
Use one logger per module: `log = get_logger(__name__)`.

One handler format for every logger of the process: the `quantdesk` tree, the web server's (`uvicorn`,
`uvicorn.error`, `uvicorn.access`: `adopt_server_loggers()` takes them over from uvicorn's own plain-text setup)
and everything else through the root logger (third-party warnings, `warnings.warn`). With --log-json every line
on stderr is one JSON object.

Redaction is the second line of defence (the first: secrets are never passed to a logger): every formatted line
goes through `redact()`, which removes
- query strings of logged request paths (`"GET /ws?api_key=..."` -> `"GET /ws?api_key=***"`),
- QuantDesk API keys (`qd_<id>_<secret>` -> `qd_<id>_***`), bearer tokens, Telegram bot tokens,
- passwords inside URLs (`scheme://user:***@host`),
- every secret value of the configuration (`register_secrets(settings.secret_values())`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
MASK = "***"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # a request line's query string: every parameter value (uvicorn's access and WebSocket lines)
    (re.compile(r"((?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|WebSocket) /[^\s?\"]*)\?([^\s\"]*)"), "query"),
    (re.compile(r"\bqd_([0-9a-f]{6,32})_[A-Za-z0-9_\-]{8,}"), r"qd_\1_" + MASK),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{6,}"), r"\1 " + MASK),
    (re.compile(r"\bbot(\d{3,}):[A-Za-z0-9_\-]{20,}"), r"bot\1:" + MASK),
    (re.compile(r"(?i)\b(api[_-]?key|token|secret|password|passwd|ticket)=([^\s&\"']+)"), r"\1=" + MASK),
    (re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@\"']*):[^\s@/\"']+@"), r"\1:" + MASK + "@"),
]
_secrets: list[str] = []
_secrets_lock = threading.Lock()
_state: dict[str, Any] = {"json": False, "level": "INFO"}


def _mask_query(m: re.Match[str]) -> str:
    params = [p.split("=", 1)[0] + ("=" + MASK if "=" in p else "") for p in m.group(2).split("&")]
    return f"{m.group(1)}?{'&'.join(params)}"


def register_secrets(values: list[str] | tuple[str, ...]) -> None:
    """Values that must never appear in a log line (config secrets): replaced by *** wherever they occur."""
    with _secrets_lock:
        merged = set(_secrets) | {v for v in values if v and len(v) >= 4}
        _secrets[:] = sorted(merged, key=len, reverse=True)


def redact(text: str) -> str:
    """`text` without secrets (see the module docstring)."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(_mask_query if repl == "query" else repl, text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC ISO-8601), level, logger, msg, plus any `extra=` fields; redacted."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_") and key != "color_message":
                plain = _plain(value)
                doc[key] = redact(plain) if isinstance(plain, str) else plain
        if record.exc_info:
            doc["exc"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            doc["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(doc, default=str)


class ConsoleFormatter(logging.Formatter):
    """`HH:MM:SS level logger: message key=value ...`; redacted."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        extras = " ".join(
            f"{k}={v}" for k, v in record.__dict__.items()
            if k not in _RESERVED and not k.startswith("_") and k != "color_message"
        )
        line = f"{ts} {record.levelname.lower():7s} {record.name}: {record.getMessage()}"
        if extras:
            line += f"  {extras}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


class _Handler(logging.StreamHandler):
    """stderr, looked up at emit time (pytest and subprocess redirections keep working)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self._qd = True

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ assigns it
        pass


def _formatter() -> logging.Formatter:
    return JsonFormatter() if _state["json"] else ConsoleFormatter()


def _install(logger: logging.Logger, *, only_ours: bool = False) -> None:
    """Replace the logger's handlers by one of ours (`only_ours`: keep handlers others added, e.g. pytest's)."""
    for handler in list(logger.handlers):
        if not only_ours or getattr(handler, "_qd", False):
            logger.removeHandler(handler)
    handler = _Handler()
    handler.setFormatter(_formatter())
    logger.addHandler(handler)


def configure_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """One stderr handler for the `quantdesk` tree, the web server's loggers and the root (WARNING and up for
    third-party code); idempotent. Python warnings are logged too (one format for every line)."""
    _state.update(json=bool(json_lines), level=level.upper())
    root = logging.getLogger("quantdesk")
    root.setLevel(level.upper())
    _install(root)
    root.propagate = False
    adopt_server_loggers()
    top = logging.getLogger()
    _install(top, only_ours=True)
    if top.level == logging.NOTSET or top.level < logging.WARNING:
        top.setLevel(logging.WARNING)
    logging.captureWarnings(True)


def adopt_server_loggers(level: str | int | None = None) -> None:
    """Put uvicorn's loggers on our handler (JSON with --log-json, redacted) instead of the plain-text handlers
    `uvicorn.run` installs. Called by `configure_logging` and again when the API starts (after uvicorn's own
    logging setup). `level`: the server's log level (default: keep what is set)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if name == "uvicorn":
            _install(logger)
            logger.propagate = False
        else:  # children: through the "uvicorn" handler only
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True
        if level is not None:
            logger.setLevel(level)


def json_logging() -> bool:
    """Whether --log-json is on (for code that prints: say it as a log line instead)."""
    return bool(_state["json"])


def get_logger(name: str) -> logging.Logger:
    """A module logger under the `quantdesk` tree."""
    return logging.getLogger(name if name.startswith("quantdesk") else f"quantdesk.{name}")
