"""The application facade: one object the API (and later the CLI/web) uses to drive QuantDesk."""

from quantdesk.service.facade import QuantDeskService

__all__ = ["QuantDeskService"]
