"""Declared response models of the routes the dashboard reads: the OpenAPI schema documents what each returns.

Rows name the fields a client relies on, with their types; `extra="allow"` keeps the fields a row may carry
beyond them (a store column added later, a strategy's own outputs), documented as additional properties. Money is
Decimal text (`"10000.5"`), times are UTC ISO-8601 text or int nanoseconds as each field says, NaN is null.

One module per area: `trading` (bots, orders, fills, signals, positions, strategies), `paper` (status, account,
performance, profit, trades), `market` (candles, symbols, indicators), `risk`, `runs` (backtests, alerts, health),
`intel` (regimes, anomalies, sentiment, signal tracking, ML, PowerTrader, knowledge base).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Money = Annotated[str, Field(description="Decimal as text (exact), e.g. \"10000.5\".")]
IsoTime = Annotated[str, Field(description="UTC time, ISO-8601 with Z.")]
Nanos = Annotated[int, Field(description="UTC time, integer nanoseconds since the epoch.")]
Json = dict[str, Any]
# a number as the server computed it: an int stays an int (a plain `float` field would turn 3 into 3.0)
Number = int | float


class Row(BaseModel):
    """A response object: the declared fields, plus any others the server adds (additionalProperties)."""

    model_config = ConfigDict(extra="allow")
