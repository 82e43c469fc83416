"""The `[live]` settings section (`QD_LIVE__*`): the opt-in and the node's timings.

Live trading moves real money, so it is off until a person turns it on: `enabled = true` here, or
`--confirm-live` on each run.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LiveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False  # the standing opt-in (else `quantdesk live ... --confirm-live` each time)
    reconcile_every_s: float = Field(default=30.0, gt=0)  # REST snapshot + reconciliation period
    recv_window_ms: int | None = Field(default=None, ge=100, le=60_000)  # the venue's request window (Binance)
    order_rate: int | None = Field(default=None, ge=1)  # orders per second allowed (default: the venue's limit)
