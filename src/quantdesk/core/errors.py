"""User-facing errors.

A `QuantDeskError` is a problem with the user's input or environment: the CLI prints its message as one
line and exits non-zero, never a traceback. Anything else escaping is a bug in QuantDesk.
"""

from __future__ import annotations


class QuantDeskError(Exception):
    """Base for every error QuantDesk reports to a person. The message must say what and where."""

    exit_code: int = 2


class ConfigError(QuantDeskError):
    """The configuration (file, environment or flag) is invalid."""


class DataError(QuantDeskError):
    """Market data is missing, unreadable or malformed."""


class NotFoundError(QuantDeskError):
    """A requested object (symbol, run, strategy, indicator) does not exist."""


class ParameterError(QuantDeskError, ValueError):
    """A parameter is out of range or of the wrong kind. Message names the parameter."""


class ConflictError(QuantDeskError):
    """The request is valid but the object's state does not allow it (cancel a filled order, start a running bot)."""


class StrategyFailed(QuantDeskError):
    """User strategy code raised: the run stopped there. The message names the bar, the callback and the error."""

    exit_code = 3
