"""Fills booked exactly once by venue trade id, whatever the delivery (Hypothesis), across a restart."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.execution.fills import FillBook, FillConflict
from quantdesk.execution.models import FillReport
from quantdesk.model.enums import OrderSide


@st.composite
def true_fills(draw):
    n = draw(st.integers(1, 12))
    out = []
    for i in range(n):
        side = draw(st.sampled_from([OrderSide.BUY, OrderSide.SELL]))
        qty = D(draw(st.integers(1, 1000))) / 1000
        price = D(draw(st.integers(30_000, 50_000)))
        fee_in_base = draw(st.booleans())
        fee = (qty / 1000) if fee_in_base and side is OrderSide.BUY else price * qty / 1000
        out.append(FillReport(str(1000 + i), "BTC/USDT", side, qty, price, client_order_id=f"o-{i % 3}",
                              fee=fee, fee_currency="BTC" if fee_in_base and side is OrderSide.BUY else "USDT",
                              ts_ms=i))
    return out


@settings(max_examples=300, deadline=None)
@given(data=st.data(), fills=true_fills())
def test_every_fill_is_booked_once_whatever_arrives(data, fills):
    extra = data.draw(st.lists(st.sampled_from(fills), max_size=10))
    delivered = data.draw(st.permutations(fills + extra))
    cut = data.draw(st.integers(0, len(delivered)))
    book = FillBook()
    book.book_all(delivered[:cut])
    book = FillBook.from_records(book.records())  # a restart in the middle
    new = book.book_all(delivered[cut:])
    assert len(book) == len(fills)
    assert len(new) == len({f.trade_id for f in delivered[cut:]} - {f.trade_id for f in delivered[:cut]})
    # independent reference: sums over the true fills
    assert book.position("BTC/USDT") == sum((f.signed_quantity - (f.fee if f.fee_currency == "BTC" else 0)
                                             for f in fills), D(0))
    for cid in {f.client_order_id for f in fills}:
        assert book.filled(cid) == sum((f.quantity for f in fills if f.client_order_id == cid), D(0))


def test_same_trade_id_different_execution_is_a_conflict():
    book = FillBook()
    fill = FillReport("5", "BTC/USDT", OrderSide.BUY, D("0.1"), D("40000"))
    assert book.book(fill) and not book.book(fill) and book.duplicates == 1
    with pytest.raises(FillConflict, match="trade 5 on BTC/USDT"):
        book.book(FillReport("5", "BTC/USDT", OrderSide.BUY, D("0.2"), D("40000")))
    assert book.book(FillReport("5", "ETH/USDT", OrderSide.BUY, D("1"), D("3000")))  # ids are per symbol
