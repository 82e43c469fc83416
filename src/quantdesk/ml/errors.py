"""Errors of the ML layer: user-facing (`QuantDeskError`), so the CLI prints one line and the API a 4xx."""

from __future__ import annotations

from quantdesk.core.errors import QuantDeskError


class LeakageError(QuantDeskError):
    """A feature reads the future: its value at bar t changes when the bars after t are removed."""

    def __init__(self, feature: str, message: str) -> None:
        super().__init__(message)
        self.feature = feature


class PurgeError(QuantDeskError):
    """A cross-validation split lets a training label overlap its test fold (a bug, never silently accepted)."""
