"""Parsing Binance request parameters with Binance's own error codes and messages."""

from __future__ import annotations

import re
import secrets
from decimal import Decimal

from quantdesk.adapters.simulator.model import NewOrder, SimError

DECIMAL_TEXT = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
ORDER_TYPES = ("MARKET", "LIMIT", "LIMIT_MAKER")
UNSUPPORTED_TYPES = ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
RESP_TYPES = ("ACK", "RESULT", "FULL")


def mandatory(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise SimError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return value


def not_sent(params: dict[str, str], name: str) -> None:
    if params.get(name) not in (None, ""):
        raise SimError(-1106, f"Parameter '{name}' sent when not required.")


def decimal_param(params: dict[str, str], name: str) -> Decimal | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not DECIMAL_TEXT.match(value):
        raise SimError(-1100, f"Illegal characters found in parameter '{name}'; legal range is "
                              f"'^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.")
    return Decimal(value)


def int_param(params: dict[str, str], name: str, default: int | None = None, *, lo: int | None = None,
              hi: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        out = int(value)
    except ValueError:
        raise SimError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.") \
            from None
    if (lo is not None and out < lo) or (hi is not None and out > hi):
        raise SimError(-1130, f"Data sent for parameter '{name}' is not valid.")
    return out


def check_symbol(params: dict[str, str], market_id: str, required: bool = True) -> None:
    symbol = params.get("symbol")
    if not symbol:
        if required:
            mandatory(params, "symbol")
        return
    if symbol != market_id:
        raise SimError(-1121, "Invalid symbol.")


def client_id(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if value == "":
        code = -1118 if name == "newClientOrderId" else -1119
        raise SimError(code, "New client order ID was empty." if code == -1118 else "Original client order ID was empty.")
    if not CLIENT_ID.match(value):
        raise SimError(-1100, f"Illegal characters found in parameter '{name}'; legal range is "
                              f"'^[\\.A-Z\\:/a-z0-9_-]{{1,36}}$'.")
    return value


def generated_client_id() -> str:
    """A client order id like the ones Binance makes up when none is sent (22 characters)."""
    return "sim" + secrets.token_hex(10)[:19]


def parse_new_order(params: dict[str, str], market_id: str) -> tuple[NewOrder, str]:
    """(the order, its newOrderRespType) or a SimError, in Binance's order of checks."""
    check_symbol(params, market_id)
    side = mandatory(params, "side").upper()
    if side not in ("BUY", "SELL"):
        raise SimError(-1117, "Invalid side.")
    kind = mandatory(params, "type").upper()
    if kind in UNSUPPORTED_TYPES:
        raise SimError(-1014, "Unsupported order combination.")
    if kind not in ORDER_TYPES:
        raise SimError(-1116, "Invalid orderType.")
    quantity = decimal_param(params, "quantity")
    quote_qty = decimal_param(params, "quoteOrderQty")
    price = decimal_param(params, "price")
    tif = params.get("timeInForce") or None
    if kind == "LIMIT":
        tif = mandatory(params, "timeInForce").upper()
        if tif not in TIME_IN_FORCE:
            raise SimError(-1115, "Invalid timeInForce.")
    elif kind == "LIMIT_MAKER":
        not_sent(params, "timeInForce")
    else:
        not_sent(params, "price")
        if tif is not None:
            raise SimError(-1106, "Parameter 'timeInForce' sent when not required.")
    if kind == "MARKET":
        if quantity is None and quote_qty is None:
            raise SimError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
        if quantity is not None and quote_qty is not None:
            raise SimError(-1106, "Parameter 'quoteOrderQty' sent when not required.")
    else:
        if quote_qty is not None:
            raise SimError(-1106, "Parameter 'quoteOrderQty' sent when not required.")
        mandatory(params, "quantity")
        mandatory(params, "price")
    for name, value in (("quantity", quantity), ("quoteOrderQty", quote_qty), ("price", price)):
        if value is not None and value <= 0:
            raise SimError(-1013, "Invalid quantity." if name != "price" else "Invalid price.")
    resp = (params.get("newOrderRespType") or "FULL").upper()
    if resp not in RESP_TYPES:
        raise SimError(-1100, "Illegal characters found in parameter 'newOrderRespType'; legal range is "
                              "'ACK, RESULT, FULL'.")
    cid = client_id(params, "newClientOrderId") or generated_client_id()
    return NewOrder(side=side, type=kind, client_order_id=cid, quantity=quantity, quote_order_qty=quote_qty,
                    price=price, time_in_force=tif), resp


def order_ref(params: dict[str, str]) -> tuple[int | None, str | None]:
    """(orderId, origClientOrderId) of a query or cancel; at least one is required."""
    order_id = int_param(params, "orderId")
    cid = client_id(params, "origClientOrderId")
    if order_id is None and cid is None:
        raise SimError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
    return order_id, cid
