"""A paper bot's actions outside its strategy: manual trades, cancels, force exits, risk actions and simulated
signals. Each is journalled as a signal (after a forced commit of the cursor) BEFORE it acts, so a recovery replays
it at the same bar; then announced on the bus (`SignalRecorded`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from quantdesk.core.errors import ConflictError, NotFoundError, ParameterError
from quantdesk.model.bot_events import BOT_TOPIC, SignalRecorded
from quantdesk.model.enums import OrderSide
from quantdesk.model.money import plain, to_decimal
from quantdesk.model.orders import Order

if TYPE_CHECKING:
    from quantdesk.engine.engine import TradingEngine
    from quantdesk.paper.spec import BotSpec
    from quantdesk.storage.trading import TradingStore

ORDER_TYPES = ("market", "limit", "stop")
RISK_ACTIONS = ("halt", "resume", "kill")


def as_text(x: Any) -> str | None:
    """A value as stored in the journal: Decimal in plain notation, None kept."""
    return None if x is None else plain(x) if isinstance(x, Decimal) else str(x)


class ManualControl:
    """Mixed into PaperBot: the actions a person (API, dashboard, Telegram) or a signal simulator takes."""

    engine: TradingEngine
    store: TradingStore
    spec: BotSpec
    id: str
    name: str

    def commit(self, *, force: bool = False, status: str | None = None) -> bool:
        raise NotImplementedError

    def _symbol(self, iid: Any) -> str:
        raise NotImplementedError

    def _journalled(self, row: dict[str, Any]) -> None:
        bus = self.engine.bus
        if bus.has_subscribers(BOT_TOPIC):
            ts = self.engine.clock.now_ns() if self.engine.bar_index >= 0 else 0
            bus.notify(SignalRecorded(ts, ts, self.name, row))

    def manual_trade(self, side: str | OrderSide, *, quantity: Any = None, notional: Any = None,
                     confidence: float | None = None, reason: str = "", symbol: str | None = None,
                     source: str = "manual", order_type: str = "market", price: Any = None) -> dict[str, Any]:
        """An order outside the strategy, recorded as a signal first. Exactly one of `quantity` (base
        units), `notional` (quote) or `confidence` (0..1: buy = confidence x equity notional; sell = that
        fraction of a long position, else confidence x equity notional). `order_type` market (fills at the next
        bar's open), limit or stop (at `price`, working until filled or canceled)."""
        side = OrderSide(str(side).lower())
        given = [x is not None for x in (quantity, notional, confidence)]
        if sum(given) != 1:
            raise ParameterError("give exactly one of quantity, notional or confidence")
        if order_type not in ORDER_TYPES:
            raise ParameterError(f"order type {order_type!r}: expected one of {', '.join(ORDER_TYPES)}")
        if (order_type == "market") != (price is None):
            raise ParameterError("a limit or stop order needs a price; a market order takes none")
        if price is not None and to_decimal(price) <= 0:
            raise ParameterError(f"price must be positive, got {price}")
        eng = self.engine
        if eng.bar_index < 0:
            raise ParameterError(f"bot {self.name} has not seen a bar yet: no reference price")
        if symbol is not None and symbol not in self.spec.symbols:
            raise ParameterError(f"bot {self.name} does not trade {symbol!r}; it trades {self.spec.symbols}")
        leg = eng.leg(symbol)
        if price is not None and leg.instrument.make_price(price) != to_decimal(price):
            raise ParameterError(f"price {price} is not on the price grid of {leg.symbol} "
                                 f"({leg.instrument.price_precision} decimals): "
                                 f"use {leg.instrument.make_price(price)}")
        if confidence is not None:
            conf = float(confidence)
            if not 0 < conf <= 1:
                raise ParameterError(f"confidence must be in (0, 1], got {confidence}")
            pos = eng.portfolio.position_qty(leg.iid)
            if side is OrderSide.SELL and pos > 0:
                quantity = leg.instrument.make_qty(pos * to_decimal(conf))
            else:
                notional = Decimal(repr(round(conf * eng.equity_f, 2)))
        if quantity is not None and to_decimal(quantity) <= 0:
            raise ParameterError("quantity must be positive")
        if notional is not None and to_decimal(notional) <= 0:
            raise ParameterError("notional must be positive")
        self.commit(force=True)  # the signal acts at the committed cursor bar (replayed there on recovery)
        sig = self.store.add_signal(self.id, {
            "bar_index": eng.bar_index, "source": source, "symbol": symbol, "side": side.value,
            "quantity": as_text(quantity), "notional": as_text(notional), "confidence": confidence, "reason": reason,
            "ts": eng.clock.now_ns(), "action": "trade", "order_type": order_type, "price": as_text(price),
        })
        order = self._apply_signal(sig)
        if order is not None:
            self.store.set_signal_order(self.id, sig["seq"], order.client_order_id)
        self.commit(force=True)
        self._journalled({**sig, "client_order_id": order.client_order_id if order else None})
        return {**sig, "client_order_id": order.client_order_id if order else None,
                "status": order.status.value if order else "not placed", "reason_detail": order.reason if order else ""}

    def cancel_order(self, client_order_id: str, *, reason: str = "", source: str = "manual") -> dict[str, Any]:
        """Cancel a working order of this bot. Recorded as a signal first (action "cancel"), so a recovery
        replays the cancellation at the same bar and never resurrects the order."""
        order = next((o for o in self.engine.orders if o.client_order_id == client_order_id), None)
        if order is None:
            raise NotFoundError(f"bot {self.name} has no order {client_order_id!r}")
        if order.is_terminal:
            raise ConflictError(f"order {client_order_id} is {order.status.value}: nothing to cancel")
        self.commit(force=True)
        eng = self.engine
        sig = self.store.add_signal(self.id, {
            "bar_index": eng.bar_index, "source": source, "symbol": self._symbol(order.instrument),
            "side": order.side.value, "quantity": None, "notional": None, "confidence": None, "reason": reason,
            "ts": eng.clock.now_ns(), "action": "cancel", "order_type": order.type.value, "price": None,
            "target_order_id": client_order_id, "client_order_id": client_order_id,
        })
        self._apply_signal(sig)
        self.commit(force=True)
        self._journalled(sig)
        return {**sig, "status": order.status.value, "reason_detail": order.reason or ""}

    def force_exit(self, symbol: str | None = None, *, reason: str = "", source: str = "manual") -> dict[str, Any]:
        """Close the open position of `symbol` (default: the first) now, as freqtrade's forceexit: its working
        orders are cancelled and a reduce-only market order tagged `force_exit` closes it at the next bar's open.
        Recorded as a signal first (action "close"), so a recovery replays it at the same bar."""
        eng = self.engine
        if eng.bar_index < 0:
            raise ParameterError(f"bot {self.name} has not seen a bar yet: nothing to close")
        if symbol is not None and symbol not in self.spec.symbols:
            raise ParameterError(f"bot {self.name} does not trade {symbol!r}; it trades {self.spec.symbols}")
        leg = eng.leg(symbol)
        qty = eng.portfolio.position_qty(leg.iid)
        if qty == 0:
            raise ConflictError(f"bot {self.name} has no open position in {self._symbol(leg.iid)}: nothing to exit")
        self.commit(force=True)
        sig = self.store.add_signal(self.id, {
            "bar_index": eng.bar_index, "source": source, "symbol": self._symbol(leg.iid),
            "side": "sell" if qty > 0 else "buy", "quantity": as_text(abs(qty)), "notional": None, "confidence": None,
            "reason": reason or "force exit", "ts": eng.clock.now_ns(), "action": "close", "order_type": "market",
            "price": None,
        })
        order = self._apply_signal(sig)
        if order is not None:
            self.store.set_signal_order(self.id, sig["seq"], order.client_order_id)
        self.commit(force=True)
        out = {**sig, "client_order_id": order.client_order_id if order else None,
               "status": order.status.value if order else "not placed"}
        self._journalled(out)
        return out

    def risk_action(self, action: str, *, reason: str = "", source: str = "manual") -> dict[str, Any]:
        """halt | resume | kill (the kill switch: cancel everything, flatten). Recorded as a signal first, like
        a manual trade, so a recovery replays it at the same bar: the orders a kill switch placed are regenerated
        with the same ids and the risk state after a restart is the one before the crash."""
        if action not in RISK_ACTIONS:
            raise ParameterError(f"risk action {action!r}: expected one of {', '.join(RISK_ACTIONS)}")
        eng = self.engine
        self.commit(force=True)
        sig = self.store.add_signal(self.id, {
            "bar_index": eng.bar_index, "source": source, "symbol": None, "side": "-", "quantity": None,
            "notional": None, "confidence": None, "reason": reason or f"{action} ({source})",
            "ts": eng.clock.now_ns() if eng.bar_index >= 0 else 0, "action": action, "order_type": "-",
            "price": None,
        })
        self._apply_signal(sig)
        self.commit(force=True)
        self._journalled(sig)
        return {**sig, "state": eng.risk.state.value}

    def _apply_signal(self, sig: Mapping[str, Any]) -> Order | None:
        eng = self.engine
        action = sig.get("action") or "trade"
        if action == "cancel":
            eng.cancel(str(sig["target_order_id"]))
            return None
        if action == "close":  # force exit: cancel the symbol's working orders, close the position at market
            leg = eng.leg(sig.get("symbol"))
            for o in list(eng.venue.open_orders(leg.iid)):
                eng.cancel(o.client_order_id)
            qty = eng.portfolio.position_qty(leg.iid)
            if qty == 0:
                return None
            side = OrderSide.SELL if qty > 0 else OrderSide.BUY
            return eng.order(eng.strategy, side, abs(qty), reduce_only=True, tag="force_exit",
                             symbol=sig.get("symbol"))
        if action in RISK_ACTIONS:
            risk = eng.risk
            {"halt": risk.halt, "resume": risk.resume, "kill": risk.kill}[action](str(sig.get("reason") or action))
            return None
        q = sig.get("quantity")
        n = sig.get("notional")
        kind = sig.get("order_type") or "market"
        price = None if sig.get("price") is None else Decimal(sig["price"])
        return eng.order(eng.strategy, OrderSide(sig["side"]), None if q is None else Decimal(q),
                         notional=None if n is None else Decimal(n), tag=str(sig.get("source") or "manual"),
                         symbol=sig.get("symbol"), limit=price if kind == "limit" else None,
                         stop=price if kind == "stop" else None)

    def simulate_signals(self, n: int, seed: int = 0) -> list[dict[str, Any]]:
        """n random signals (side, confidence 0.05..0.5) from a seeded generator, each acted on as a trade."""
        rng = random.Random(seed)
        out = []
        for i in range(int(n)):
            side = rng.choice(["buy", "sell"])
            conf = round(rng.uniform(0.05, 0.5), 4)
            out.append(self.manual_trade(side, confidence=conf, source="simulated",
                                         reason=f"simulated signal {i + 1}/{n} (seed {seed})"))
        return out

