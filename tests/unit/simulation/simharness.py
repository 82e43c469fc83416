from __future__ import annotations

from decimal import Decimal

from quantdesk.engine.portfolio import Portfolio
from quantdesk.model import Instrument, InstrumentId, Order, OrderFilled, OrderSide, OrderType
from quantdesk.simulation import FeeModel, SimulatedVenue

IID = InstrumentId("BTC/USDT", "sim")


class Harness:
    """A venue + portfolio on one instrument; `bar(o,h,l,c,v)` advances one bar."""

    def __init__(
        self, *, cash="10000", margin=False, fees=FeeModel(Decimal(0), Decimal(0)), slippage=None, **inst
    ):
        self.inst = Instrument(IID, **inst)
        self.events = []
        self.portfolio = Portfolio([self.inst], Decimal(cash), margin=margin)
        self.venue = SimulatedVenue(
            [self.inst], self.portfolio, self._emit, fees=fees, slippage=slippage, margin=margin
        )
        self.ts = 0
        self.close = 100.0
        self.n = 0

    def _emit(self, event):
        self.portfolio.on_event(event)
        self.events.append(event)

    def order(self, side, type_=OrderType.MARKET, qty="1", **kw):
        self.n += 1
        return Order(
            f"t-{self.n}", IID, OrderSide(side), type_, quantity=None if qty is None else Decimal(qty), **kw
        )

    def submit(self, order):
        return self.venue.submit(order, self.ts, self.close)

    def bar(self, o, h, l, c, v=1_000_000.0):  # noqa: E741
        self.ts += 60
        self.venue.process_bar(IID, self.ts, o, h, l, c, v)
        self.close = c

    def fills(self, order=None):
        return [
            (e.price, e.quantity)
            for e in self.events
            if isinstance(e, OrderFilled) and (order is None or e.client_order_id == order.client_order_id)
        ]

    @property
    def pos(self):
        return self.portfolio.position_qty(IID)
