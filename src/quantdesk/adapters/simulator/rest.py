"""Binance spot REST (`/api/v3/*`, the few `/sapi` and futures `exchangeInfo` calls ccxt makes) on Starlette.

Every endpoint runs through `endpoint()`: request faults first (latency, 418, 429, 5xx), then the API key and
signature checks for USER_DATA/TRADE endpoints, then the handler on the replayed exchange. Errors are Binance's
`{"code": ..., "msg": ...}` with its HTTP statuses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from quantdesk.adapters.simulator import auth
from quantdesk.adapters.simulator import binance_json as bj
from quantdesk.adapters.simulator.model import SimError
from quantdesk.adapters.simulator.params import (
    check_symbol,
    client_id,
    generated_client_id,
    int_param,
    mandatory,
    order_ref,
    parse_new_order,
)
from quantdesk.adapters.simulator.runtime import SimRuntime
from quantdesk.adapters.simulator.tape import fmt

Params = dict[str, str]
Handler = Callable[[SimRuntime, Params], Any]


class DroppedResponse(Response):
    """A lost response: the connection is closed before any byte of the answer (the client sees the server
    hang up). Needs the connection's transport (see `server.tracking_protocol`); without it, the status line is
    sent and the connection closed before the body."""

    def __init__(self, transports: dict[tuple[str, int], Any]) -> None:
        super().__init__()
        self.transports = transports

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        transport = self.transports.get(tuple(client)) if client else None
        if transport is not None:
            transport.abort()
            await asyncio.sleep(0)  # the server learns that the connection is gone: it answers nothing
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")]})
        # returning without the body: the server closes the connection and the client sees it broken


def wall_ms() -> int:
    return int(time.time() * 1000)


def _error(exc: SimError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _request_faults(rt: SimRuntime, method: str, path: str) -> Response | None:
    fault = rt.faults.take("latency", method, path)
    if fault is not None:
        await asyncio.sleep(float(fault.params["ms"]) / 1000.0)
    fault = rt.faults.take("ban", method, path)
    if fault is not None:
        until = wall_ms() + int(fault.params["retry_after"]) * 1000
        return _error(SimError(-1003, f"Way too much request weight used; IP banned until {until}. Please use the "
                                      "websocket for live updates to avoid bans.", 418,
                               {"Retry-After": str(fault.params["retry_after"])}))
    fault = rt.faults.take("rate_limit", method, path)
    if fault is not None:
        return _error(SimError(-1003, "Too much request weight used; current limit is 6000 request weight per 1 "
                                      "MINUTE. Please use the websocket for live updates to avoid polling the API.",
                               429, {"Retry-After": str(fault.params["retry_after"])}))
    fault = rt.faults.take("server_error", method, path)
    if fault is not None:
        status = int(fault.params["status"])
        return Response(f"<html><body><h1>{status} Service Unavailable</h1></body></html>", status_code=status,
                        media_type="text/html")
    return None


def endpoint(rt: SimRuntime, handler: Handler, security: str = "none",
             drop: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with faults and security: `none`, `key` (API key only) or `signed` (TRADE/USER_DATA)."""

    async def run(request: Request) -> Response:
        rt.requests += 1
        method, path = request.method, request.url.path
        early = await _request_faults(rt, method, path)
        if early is not None:
            return early
        query = request.scope.get("query_string", b"").decode("latin-1")
        body = (await request.body()).decode("utf-8", errors="replace")
        params: Params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        try:
            if security in ("key", "signed"):
                auth.check_api_key(request.headers.get("x-mbx-apikey"), rt.cfg.api_key)
            if security == "signed":
                auth.check_signature(query, body, rt.cfg.api_secret)
                if rt.faults.take("timestamp", method, path) is not None:
                    raise SimError(-1021, "Timestamp for this request is outside of the recvWindow.")
                auth.check_timestamp(params, wall_ms())
            result = handler(rt, params)
        except SimError as exc:
            return _error(exc)
        if drop:
            fault = rt.faults.take("drop_response", method, path)
            if fault is not None:
                if fault.params["mode"] == "timeout":
                    await asyncio.sleep(float(fault.params["hold_s"]))
                else:
                    return DroppedResponse(rt.transports)
        return JSONResponse(result)

    return run


# ---- public market data -----------------------------------------------------------------------------------
def exchange_info(rt: SimRuntime, p: Params) -> Any:
    symbols = p.get("symbols")
    if p.get("symbol") and p["symbol"] != rt.cfg.market_id:
        raise SimError(-1121, "Invalid symbol.")
    if symbols and symbols.strip('[]"').split('","') != [rt.cfg.market_id]:
        raise SimError(-1121, "Invalid symbol.")
    return bj.exchange_info(rt.cfg, rt.exchange.tape.tick_size, wall_ms())


def no_futures(rt: SimRuntime, p: Params) -> Any:
    return {"timezone": "UTC", "serverTime": wall_ms(), "rateLimits": [], "exchangeFilters": [], "assets": [],
            "symbols": []}


def klines(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id)
    if mandatory(p, "interval") != rt.cfg.timeframe:
        raise SimError(-1120, "Invalid interval.")
    limit = int_param(p, "limit", 500, lo=1, hi=1000)
    start, end = int_param(p, "startTime"), int_param(p, "endTime")
    assert limit is not None
    with rt.session() as ex:
        open_ms = ex.tape.open_ms
        visible = ex.candle + 1
        lo = 0 if start is None else int(np.searchsorted(open_ms, start, side="left"))
        hi = visible if end is None else min(visible, int(np.searchsorted(open_ms, end, side="right")))
        if start is None:
            lo = max(lo, hi - limit)
        else:
            hi = min(hi, lo + limit)
        return [bj.kline_row(ex, i) for i in range(lo, hi)]


def depth(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id)
    limit = int_param(p, "limit", 100, lo=1, hi=5000)
    assert limit is not None
    with rt.session() as ex:
        return bj.partial_depth(ex, limit)


def trades(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id)
    limit = int_param(p, "limit", 500, lo=1, hi=1000)
    assert limit is not None
    with rt.session() as ex:
        return [bj.public_trade(ex, t) for t in list(ex.public_trades)[-limit:]]


def ticker_24h(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id, required=False)
    with rt.session() as ex:
        body = bj.ticker_24h(ex)
    return body if p.get("symbol") else [body]


def ticker_price(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id, required=False)
    with rt.session() as ex:
        body = {"symbol": rt.cfg.market_id, "price": ex.tape.price_text(ex.last_ticks)}
    return body if p.get("symbol") else [body]


def book_ticker(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id, required=False)
    with rt.session() as ex:
        t = bj.book_ticker(ex)
    body = {"symbol": t["s"], "bidPrice": t["b"], "bidQty": t["B"], "askPrice": t["a"], "askQty": t["A"]}
    return body if p.get("symbol") else [body]


def avg_price(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id)
    with rt.session() as ex:
        rows = [ex.kline(i) for i in range(max(0, ex.candle - 4), ex.candle + 1)]
        closes = [ex.tape.price(r[3]) for r in rows]
        avg = sum(closes, Decimal(0)) / len(closes)
        return {"mins": 5, "price": fmt(avg.quantize(ex.tape.tick_size)), "closeTime": ex.now}


# ---- account and orders ------------------------------------------------------------------------------------
def account(rt: SimRuntime, p: Params) -> Any:
    with rt.session() as ex:
        return bj.account_json(ex)


def new_order(rt: SimRuntime, p: Params) -> Any:
    req, resp_type = parse_new_order(p, rt.cfg.market_id)
    fault = rt.faults.take("reject", "POST", "/api/v3/order")
    forced = SimError(int(fault.params["code"]), str(fault.params["msg"])) if fault is not None else None
    with rt.session() as ex:
        order = ex.place(req, forced)
        return bj.new_order_json(ex, order, resp_type)


def test_order(rt: SimRuntime, p: Params) -> Any:
    parse_new_order(p, rt.cfg.market_id)
    return {}


def query_order(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id)
    order_id, cid = order_ref(p)
    with rt.session() as ex:
        order = ex.find(order_id, cid)
        if order is None:
            raise SimError(-2013, "Order does not exist.")
        return bj.order_json(ex, order)


def cancel_order(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id)
    order_id, cid = order_ref(p)
    cancel_id = client_id(p, "newClientOrderId") or generated_client_id()
    with rt.session() as ex:
        order = ex.cancel(order_id, cid, cancel_id)
        return bj.cancel_json(ex, order, cancel_id)


def cancel_all(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id)
    with rt.session() as ex:
        orders = ex.open_orders()
        if not orders:
            raise SimError(-2011, "Unknown order sent.")
        out = []
        for order in orders:
            cancel_id = generated_client_id()
            out.append(bj.cancel_json(ex, ex.cancel(order.order_id, None, cancel_id), cancel_id))
        return out


def open_orders(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id, required=False)
    with rt.session() as ex:
        return [bj.order_json(ex, o) for o in ex.open_orders()]


def _window(items: list[Any], p: Params, time_of: Callable[[Any], int], from_key: str,
            id_of: Callable[[Any], int]) -> list[Any]:
    """Binance's paging: `from_key` (id >=) or startTime/endTime take the oldest first; else the newest."""
    limit = int_param(p, "limit", 500, lo=1, hi=1000)
    start, end, first_id = int_param(p, "startTime"), int_param(p, "endTime"), int_param(p, from_key)
    assert limit is not None
    if start is not None and end is not None and end < start:
        raise SimError(-1127, "More than 24 hours between startTime and endTime.")
    chosen = [x for x in items if (start is None or time_of(x) >= start) and (end is None or time_of(x) <= end)
              and (first_id is None or id_of(x) >= first_id)]
    return chosen[:limit] if (first_id is not None or start is not None) else chosen[-limit:]


def all_orders(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id)
    with rt.session() as ex:
        orders = [ex.orders[k] for k in sorted(ex.orders)]
        chosen = _window(orders, p, lambda o: o.time, "orderId", lambda o: o.order_id)
        return [bj.order_json(ex, o) for o in chosen]


def my_trades(rt: SimRuntime, p: Params) -> Any:
    check_symbol(p, rt.cfg.market_id)
    order_id = int_param(p, "orderId")
    with rt.session() as ex:
        fills = [f for f in ex.fills if order_id is None or f.order_id == order_id]
        chosen = _window(fills, p, lambda f: f.time, "fromId", lambda f: f.trade_id)
        return [bj.my_trade_json(ex, f) for f in chosen]


def user_stream(rt: SimRuntime, p: Params, method: str) -> Any:
    if method == "POST":
        return {"listenKey": rt.new_listen_key()}
    rt.touch_listen_key(p.get("listenKey"), delete=method == "DELETE")
    return {}


def currencies(rt: SimRuntime, p: Params) -> Any:
    with rt.session() as ex:
        return [{"coin": a, "name": a, "depositAllEnable": False, "withdrawAllEnable": False, "free": fmt(ex.free(a)),
                 "locked": fmt(ex.locked(a)), "freeze": "0", "withdrawing": "0", "ipoing": "0", "ipoable": "0",
                 "storage": "0", "isLegalMoney": False, "trading": True, "networkList": []}
                for a in sorted(ex.totals)]


def routes(rt: SimRuntime) -> list[Route]:
    def r(path: str, handler: Handler, methods: tuple[str, ...] = ("GET",), security: str = "none",
          drop: bool = False) -> Route:
        return Route(path, endpoint(rt, handler, security, drop), methods=list(methods))

    def stream_handler(method: str) -> Handler:
        return lambda rt_, p: user_stream(rt_, p, method)

    return [
        r("/api/v3/ping", lambda rt_, p: {}),
        r("/api/v3/time", lambda rt_, p: {"serverTime": wall_ms()}),
        r("/api/v3/exchangeInfo", exchange_info),
        r("/fapi/v1/exchangeInfo", no_futures),
        r("/dapi/v1/exchangeInfo", no_futures),
        r("/api/v3/klines", klines),
        r("/api/v3/uiKlines", klines),
        r("/api/v3/depth", depth),
        r("/api/v3/trades", trades),
        r("/api/v3/ticker/24hr", ticker_24h),
        r("/api/v3/ticker/price", ticker_price),
        r("/api/v3/ticker/bookTicker", book_ticker),
        r("/api/v3/avgPrice", avg_price),
        r("/api/v3/account", account, security="signed"),
        r("/api/v3/order", new_order, ("POST",), "signed", drop=True),
        r("/api/v3/order/test", test_order, ("POST",), "signed"),
        r("/api/v3/order", query_order, ("GET",), "signed"),
        r("/api/v3/order", cancel_order, ("DELETE",), "signed", drop=True),
        r("/api/v3/openOrders", open_orders, ("GET",), "signed"),
        r("/api/v3/openOrders", cancel_all, ("DELETE",), "signed", drop=True),
        r("/api/v3/allOrders", all_orders, security="signed"),
        r("/api/v3/myTrades", my_trades, security="signed"),
        r("/api/v3/userDataStream", stream_handler("POST"), ("POST",), "key"),
        r("/api/v3/userDataStream", stream_handler("PUT"), ("PUT",), "key"),
        r("/api/v3/userDataStream", stream_handler("DELETE"), ("DELETE",), "key"),
        r("/sapi/v1/capital/config/getall", currencies, security="signed"),
        r("/sapi/v1/margin/allPairs", lambda rt_, p: [], security="signed"),
        r("/sapi/v1/margin/isolated/allPairs", lambda rt_, p: [], security="signed"),
    ]
