"""`limit` and `offset` on every list endpoint, and the X-Total-Count header that lets a client page.

    def fills(page: Page = Depends(page_params), ...): rows, total = svc.fills(bot, page.limit, page.offset)
                                                         return paged(response, rows, total, page)

History lists (orders, fills, signals, trades) are oldest first: `offset` K gives rows K..K+limit-1; without
`offset` they give the LATEST `limit` rows (what a dashboard shows), like `limit` on /market/candles.
Short lists (bots, strategies, alerts, ...) start at offset 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Query, Response

LIMIT_MAX = 10_000
DEFAULT_LIMIT = 1_000
TOTAL_HEADER = "X-Total-Count"
PAGE_HEADERS = {TOTAL_HEADER: {"description": "How many rows there are in all (page with limit and offset).",
                               "required": True, "schema": {"type": "integer", "minimum": 0}}}
PAGED: dict[int | str, dict[str, Any]] = {200: {"headers": PAGE_HEADERS}}  # `responses=` of a list endpoint


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int | None


def page_params(limit: int = Query(default=DEFAULT_LIMIT, ge=1, le=LIMIT_MAX, description="At most this many rows."),
                offset: int | None = Query(default=None, ge=0, le=10**9,
                                           description="Rows to skip from the oldest (default: the latest `limit` "
                                                       "rows of a history, the first of other lists).")) -> Page:
    return Page(limit, offset)


def paged(response: Response, rows: list[Any], total: int) -> list[Any]:
    response.headers[TOTAL_HEADER] = str(total)
    return rows


def slice_list(rows: list[Any], page: Page, response: Response) -> list[Any]:
    """A page of an in-memory list (lists that are short by nature), from offset 0 by default."""
    start = page.offset or 0
    return paged(response, rows[start:start + page.limit], len(rows))
