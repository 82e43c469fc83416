"""REST routers (one module per area), all mounted under /api/v1."""

from quantdesk.api.schemas import Message

ERRORS = {code: {"model": Message} for code in (400, 401, 403, 404, 409, 429)}
