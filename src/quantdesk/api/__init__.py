"""The QuantDesk HTTP API: FastAPI REST under /api/v1 + a WebSocket at /ws, over the service facade."""

from quantdesk.api.app import create_app

__all__ = ["create_app"]
