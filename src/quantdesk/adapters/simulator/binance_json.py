"""Binance spot JSON: the simulator's records and events in the exact shapes Binance's REST and streams use.

Field names and letters follow Binance's spot API documentation (REST `/api/v3/*`, market streams, user data
stream events). Amounts are strings with 8 decimals, as Binance sends them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from quantdesk.adapters.simulator.config import SimConfig
from quantdesk.adapters.simulator.engine import Exchange
from quantdesk.adapters.simulator.model import (
    AccountEvent,
    BookEvent,
    ExecReport,
    Fill,
    KlineEvent,
    SimOrder,
    TradeEvent,
)
from quantdesk.adapters.simulator.tape import fmt

ZERO = "0.00000000"


def exchange_info(cfg: SimConfig, tick_size: Decimal, server_time: int) -> dict[str, Any]:
    assert cfg.min_qty is not None and cfg.min_notional is not None
    symbol = {
        "symbol": cfg.market_id, "status": "TRADING", "baseAsset": cfg.base, "baseAssetPrecision": 8,
        "quoteAsset": cfg.quote, "quotePrecision": 8, "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8, "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False, "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False, "cancelReplaceAllowed": False, "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": fmt(tick_size), "maxPrice": "1000000000.00000000",
             "tickSize": fmt(tick_size)},
            {"filterType": "LOT_SIZE", "minQty": fmt(cfg.min_qty), "maxQty": fmt(cfg.max_qty),
             "stepSize": fmt(cfg.step_size)},
            {"filterType": "MARKET_LOT_SIZE", "minQty": fmt(cfg.min_qty), "maxQty": fmt(cfg.max_qty),
             "stepSize": fmt(cfg.step_size)},
            {"filterType": "NOTIONAL", "minNotional": fmt(cfg.min_notional), "applyMinToMarket": True,
             "maxNotional": "9000000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
        "permissions": [], "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }
    return {"timezone": "UTC", "serverTime": server_time,
            "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                           {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100}],
            "exchangeFilters": [], "symbols": [symbol]}


def kline_row(ex: Exchange, i: int) -> list[Any]:
    o, h, low, c, volume, trades, _closed = ex.kline(i)
    t = int(ex.tape.open_ms[i])
    price = ex.tape.price_text
    quote_volume = volume * ex.tape.price(c)
    return [t, price(o), price(h), price(low), price(c), fmt(volume), t + ex.tape.tf_ms - 1, fmt(quote_volume),
            trades, ZERO, ZERO, "0"]


def kline_event(ex: Exchange, ev: KlineEvent, interval: str) -> dict[str, Any]:
    o, h, low, c, volume, trades, closed = ev.values
    t = int(ex.tape.open_ms[ev.candle])
    price = ex.tape.price_text
    return {"e": "kline", "E": ev.time, "s": ex.cfg.market_id,
            "k": {"t": t, "T": t + ex.tape.tf_ms - 1, "s": ex.cfg.market_id, "i": interval, "f": -1, "L": -1,
                  "o": price(o), "c": price(c), "h": price(h), "l": price(low), "v": fmt(volume), "n": trades,
                  "x": closed, "q": fmt(volume * ex.tape.price(c)), "V": ZERO, "Q": ZERO, "B": "0"}}


def trade_event(ex: Exchange, ev: TradeEvent, agg: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"e": "aggTrade" if agg else "trade", "E": ev.time, "s": ex.cfg.market_id}
    if agg:
        body.update({"a": ev.trade_id, "p": ex.tape.price_text(ev.price_ticks), "q": fmt(ev.qty),
                     "f": ev.trade_id, "l": ev.trade_id, "T": ev.time, "m": ev.buyer_maker, "M": True})
    else:
        body.update({"t": ev.trade_id, "p": ex.tape.price_text(ev.price_ticks), "q": fmt(ev.qty), "T": ev.time,
                     "m": ev.buyer_maker, "M": True})
    return body


def public_trade(ex: Exchange, ev: TradeEvent) -> dict[str, Any]:
    """A row of GET /api/v3/trades."""
    price = ex.tape.price(ev.price_ticks)
    return {"id": ev.trade_id, "price": fmt(price), "qty": fmt(ev.qty), "quoteQty": fmt(price * ev.qty),
            "time": ev.time, "isBuyerMaker": ev.buyer_maker, "isBestMatch": True}


def levels(ex: Exchange, side: list[tuple[int, Decimal]] | tuple[tuple[int, Decimal], ...]) -> list[list[str]]:
    return [[ex.tape.price_text(p), fmt(q)] for p, q in side]


def depth_event(ex: Exchange, ev: BookEvent) -> dict[str, Any]:
    step = ex.cfg.step_size
    return {"e": "depthUpdate", "E": ev.time, "s": ex.cfg.market_id, "U": ev.first_id, "u": ev.last_id,
            "b": levels(ex, [(p, q * step) for p, q in ev.bids]), "a": levels(ex, [(p, q * step) for p, q in ev.asks])}


def partial_depth(ex: Exchange, limit: int) -> dict[str, Any]:
    last_id, bids, asks = ex.depth(limit)
    return {"lastUpdateId": last_id, "bids": levels(ex, bids), "asks": levels(ex, asks)}


def book_ticker(ex: Exchange) -> dict[str, Any]:
    last_id, bids, asks = ex.depth(1)
    return {"u": last_id, "s": ex.cfg.market_id, "b": ex.tape.price_text(bids[0][0]) if bids else ZERO,
            "B": fmt(bids[0][1]) if bids else ZERO, "a": ex.tape.price_text(asks[0][0]) if asks else ZERO,
            "A": fmt(asks[0][1]) if asks else ZERO}


def ticker_24h(ex: Exchange, mini: bool = False, event: bool = False) -> dict[str, Any]:
    """The rolling 24-hour statistics of the candles seen up to now (REST `ticker/24hr`, `@ticker` stream)."""
    tape, now, last = ex.tape, ex.now, ex.candle
    first = max(0, tape.candle_at(now - 86_400_000) + 1)  # candles that opened in the last 24 hours
    first = min(first, last)
    forming = ex.kline(last)
    closed = tape.ohlc[first:last]  # the candles before the newest, all closed
    o = int(closed[0, 0]) if len(closed) else forming[0]
    c = ex.last_ticks
    high = max([forming[1], *([int(closed[:, 1].max())] if len(closed) else [])])
    low = min([forming[2], *([int(closed[:, 2].min())] if len(closed) else [])])
    price = tape.price
    volumes = [*tape.volume[first:last], forming[4]]
    closes = [*closed[:, 3], forming[3]]
    volume = sum(volumes, Decimal(0))
    quote_volume = sum((v * price(int(x)) for v, x in zip(volumes, closes, strict=True)), Decimal(0))
    change = price(c) - price(o)
    pct = (change / price(o) * 100).quantize(Decimal("0.001")) if o else Decimal(0)
    open_time = int(tape.open_ms[first])
    if mini:
        body: dict[str, Any] = {"c": fmt(price(c)), "o": fmt(price(o)), "h": fmt(price(high)),
                                "l": fmt(price(low)), "v": fmt(volume), "q": fmt(quote_volume)}
        return {"e": "24hrMiniTicker", "E": now, "s": ex.cfg.market_id, **body}
    _bid_id, bids, asks = ex.depth(1)
    avg = quote_volume / volume if volume else price(c)
    if event:
        return {"e": "24hrTicker", "E": now, "s": ex.cfg.market_id, "p": fmt(change), "P": str(pct),
                "w": fmt(avg.quantize(Decimal("0.00000001"))), "x": fmt(price(o)), "c": fmt(price(c)),
                "Q": ZERO, "b": ex.tape.price_text(bids[0][0]), "B": fmt(bids[0][1]),
                "a": ex.tape.price_text(asks[0][0]), "A": fmt(asks[0][1]), "o": fmt(price(o)),
                "h": fmt(price(high)), "l": fmt(price(low)), "v": fmt(volume), "q": fmt(quote_volume),
                "O": open_time, "C": now, "F": 0, "L": ex.trade_seq, "n": ex.trade_seq}
    return {"symbol": ex.cfg.market_id, "priceChange": fmt(change), "priceChangePercent": str(pct),
            "weightedAvgPrice": fmt(avg.quantize(Decimal("0.00000001"))), "prevClosePrice": fmt(price(o)),
            "lastPrice": fmt(price(c)), "lastQty": ZERO, "bidPrice": ex.tape.price_text(bids[0][0]),
            "bidQty": fmt(bids[0][1]), "askPrice": ex.tape.price_text(asks[0][0]), "askQty": fmt(asks[0][1]),
            "openPrice": fmt(price(o)), "highPrice": fmt(price(high)), "lowPrice": fmt(price(low)),
            "volume": fmt(volume), "quoteVolume": fmt(quote_volume), "openTime": open_time, "closeTime": now,
            "firstId": 0, "lastId": ex.trade_seq, "count": ex.trade_seq}


# ---- orders, trades, account ----------------------------------------------------------------------------
def order_json(ex: Exchange, order: SimOrder) -> dict[str, Any]:
    """GET /api/v3/order (and open/all orders) shape."""
    return {"symbol": ex.cfg.market_id, "orderId": order.order_id, "orderListId": -1,
            "clientOrderId": order.client_order_id, "price": fmt(order.price), "origQty": fmt(order.orig_qty),
            "executedQty": fmt(order.executed_qty), "cummulativeQuoteQty": fmt(order.cum_quote),
            "status": order.status, "timeInForce": order.time_in_force or "GTC", "type": order.type,
            "side": order.side, "stopPrice": ZERO, "icebergQty": ZERO, "time": order.time,
            "updateTime": order.update_time, "isWorking": order.type != "MARKET", "workingTime": order.time,
            "origQuoteOrderQty": fmt(order.quote_order_qty), "selfTradePreventionMode": "EXPIRE_MAKER"}


def new_order_json(ex: Exchange, order: SimOrder, resp_type: str) -> dict[str, Any]:
    """POST /api/v3/order answer: ACK, RESULT or FULL (with the fills)."""
    ack = {"symbol": ex.cfg.market_id, "orderId": order.order_id, "orderListId": -1,
           "clientOrderId": order.client_order_id, "transactTime": order.time}
    if resp_type == "ACK":
        return ack
    body = {**ack, "price": fmt(order.price), "origQty": fmt(order.orig_qty),
            "executedQty": fmt(order.executed_qty), "origQuoteOrderQty": fmt(order.quote_order_qty),
            "cummulativeQuoteQty": fmt(order.cum_quote), "status": order.status,
            "timeInForce": order.time_in_force or "GTC", "type": order.type, "side": order.side,
            "workingTime": order.time, "selfTradePreventionMode": "EXPIRE_MAKER"}
    if resp_type == "FULL":
        body["fills"] = [{"price": fmt(f.price), "qty": fmt(f.qty), "commission": fmt(f.commission),
                          "commissionAsset": f.commission_asset, "tradeId": f.trade_id} for f in order.fills]
    return body


def cancel_json(ex: Exchange, order: SimOrder, cancel_client_id: str) -> dict[str, Any]:
    return {"symbol": ex.cfg.market_id, "origClientOrderId": order.client_order_id, "orderId": order.order_id,
            "orderListId": -1, "clientOrderId": cancel_client_id, "transactTime": order.update_time,
            "price": fmt(order.price), "origQty": fmt(order.orig_qty), "executedQty": fmt(order.executed_qty),
            "origQuoteOrderQty": fmt(order.quote_order_qty), "cummulativeQuoteQty": fmt(order.cum_quote),
            "status": order.status, "timeInForce": order.time_in_force or "GTC", "type": order.type,
            "side": order.side, "selfTradePreventionMode": "EXPIRE_MAKER"}


def my_trade_json(ex: Exchange, fill: Fill) -> dict[str, Any]:
    return {"symbol": ex.cfg.market_id, "id": fill.trade_id, "orderId": fill.order_id, "orderListId": -1,
            "price": fmt(fill.price), "qty": fmt(fill.qty), "quoteQty": fmt(fill.quote_qty),
            "commission": fmt(fill.commission), "commissionAsset": fill.commission_asset, "time": fill.time,
            "isBuyer": fill.side == "BUY", "isMaker": fill.maker, "isBestMatch": True}


def account_json(ex: Exchange) -> dict[str, Any]:
    cfg = ex.cfg
    bps = int(cfg.maker_fee * 10_000), int(cfg.taker_fee * 10_000)
    balances = [{"asset": a, "free": fmt(ex.free(a)), "locked": fmt(ex.locked(a))} for a in sorted(ex.totals)]
    return {"makerCommission": bps[0], "takerCommission": bps[1], "buyerCommission": 0, "sellerCommission": 0,
            "commissionRates": {"maker": fmt(cfg.maker_fee), "taker": fmt(cfg.taker_fee), "buyer": ZERO,
                                "seller": ZERO},
            "canTrade": True, "canWithdraw": False, "canDeposit": False, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False, "updateTime": ex.now, "accountType": "SPOT",
            "balances": balances, "permissions": ["SPOT"], "uid": 1}


def execution_report(ex: Exchange, rep: ExecReport) -> dict[str, Any]:
    o, fill = rep.order, rep.fill
    canceled = rep.exec_type == "CANCELED"
    return {"e": "executionReport", "E": rep.time, "s": ex.cfg.market_id,
            "c": rep.cancel_client_id if canceled else o.client_order_id, "S": o.side, "o": o.type,
            "f": o.time_in_force or "GTC", "q": fmt(o.orig_qty), "p": fmt(o.price), "P": ZERO, "F": ZERO, "g": -1,
            "C": o.client_order_id if canceled else "", "x": rep.exec_type, "X": o.status, "r": "NONE",
            "i": o.order_id, "l": fmt(fill.qty) if fill else ZERO, "z": fmt(o.executed_qty),
            "L": fmt(fill.price) if fill else ZERO, "n": fmt(fill.commission) if fill else "0",
            "N": fill.commission_asset if fill else None, "T": rep.time, "t": fill.trade_id if fill else -1,
            "v": 0, "I": 0, "w": o.status == "NEW" and o.type != "MARKET", "m": bool(fill and fill.maker),
            "M": False, "O": o.time, "Z": fmt(o.cum_quote), "Y": fmt(fill.quote_qty) if fill else ZERO,
            "Q": fmt(o.quote_order_qty), "W": o.time, "V": "EXPIRE_MAKER"}


def account_position(ev: AccountEvent) -> dict[str, Any]:
    return {"e": "outboundAccountPosition", "E": ev.time, "u": ev.time,
            "B": [{"a": asset, "f": fmt(free), "l": fmt(locked)} for asset, free, locked in ev.balances]}
