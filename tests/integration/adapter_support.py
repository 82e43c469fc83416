"""Shared by the adapter integration tests: the simulator on real BTC candles and adapter clients on it."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from exsim_support import sim_settings, write_sample  # noqa: F401  (re-exported)

from quantdesk.adapters.ccxt import AdapterConfig, Backoff, ExecutionClient, MarketDataClient, OrderRate
from quantdesk.adapters.ccxt.capabilities import capabilities_for
from quantdesk.execution import ClientIdScheme

START = "2022-01-01T01:00:00Z"
START_MS = 1_640_998_800_000
RECV_WINDOW_MS = 1_000  # short request window: an unknown outcome resolves in ~2 s


def config(sim, **overrides) -> AdapterConfig:
    values = {"options": {"recvWindow": RECV_WINDOW_MS}, "timeout_ms": 3_000, "reconnect": Backoff(0.05, 2.0, 0.5, 0.0)}
    values.update(overrides)
    return AdapterConfig.for_simulator(sim, **values)


def execution(sim, **kwargs) -> ExecutionClient:
    cfg = config(sim, **kwargs.pop("config", {}))
    ex = cfg.make_client()
    caps = capabilities_for("binance", exchange=ex, order_rate=OrderRate(10_000, 1.0))
    return ExecutionClient(ex, caps, backoff=Backoff(0.05, 2.0, 0.5, 0.0), **kwargs)


def market_data(sim, **kwargs) -> MarketDataClient:
    cfg = config(sim, **kwargs.pop("config", {}))
    kwargs.setdefault("stall_s", 1.0)  # the manual clock: a stream is silent until the test moves it
    return MarketDataClient(cfg.make_client(), "BTC/USDT", reconnect=cfg.reconnect, **kwargs)


def scheme(bot: str = "bot") -> ClientIdScheme:
    return ClientIdScheme(bot, capabilities_for("binance").client_id)


def submissions(sim, cid: str) -> list[dict]:
    return [s for s in sim.state()["submissions"] if s["client_order_id"] == cid]


def run(coro, timeout: float = 60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def D(x) -> Decimal:  # noqa: N802
    return Decimal(str(x))
