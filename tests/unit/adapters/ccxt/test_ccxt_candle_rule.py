"""The closed-candle rule of the market-data client, against a modelled venue (Hypothesis over disconnect
points, message batching and stale cache rows): every closed candle exactly once, in order, final values, never
a forming one. The same client against the real simulator is in tests/integration/test_adapter_market_data.py."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.adapters.ccxt.data import _CandleState
from quantdesk.adapters.ccxt.parsing import Candle

TF = 60_000
K = 4  # updates per candle


def row(i, p):
    """The venue's view of candle i after p of its K updates (p == K: final)."""
    return [i * TF, 100.0 + i, 110.0 + i, 90.0 + i, 100.0 + i + p, float(p)]


def final(i):
    return tuple(row(i, K))


def rest(since_i, now_i, p):
    return [Candle.from_ohlcv(row(j, K if j < now_i else p), "rest") for j in range(since_i, now_i + 1)]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_closed_candle_once_in_order_with_final_values(data):
    ticks = data.draw(st.integers(2 * K, 12 * K))
    drops = set(data.draw(st.lists(st.integers(1, ticks - 1), max_size=4)))
    outage = data.draw(st.integers(1, 2 * K))
    start = data.draw(st.integers(0, 2))
    state = _CandleState(TF, start * TF - TF)
    out: list[Candle] = []

    def take(candles, now_i):
        for c in candles:
            assert c.ts_ms // TF < now_i, "a forming candle was delivered"
            out.append(c)

    connected, down_until, first_msg, stale = False, -1, False, None
    t = 0
    while t < ticks + 2 * K:
        i, p = t // K, t % K + 1  # after this tick the venue is at candle i, update p
        if t in drops and connected:
            connected, down_until = False, t + outage
        if not connected and t >= down_until:  # reconnect: reset, REST right away, wait for the first message
            connected, first_msg = True, True
            state.reset()
            since = state.next_since() // TF if state.next_since() is not None else 0
            take(state.from_rest(rest(max(since, start), i, p)), i)
        elif connected:
            batch = [row(i, p)]
            if first_msg:
                since = state.next_since() // TF
                take(state.from_rest(rest(max(since, start), i, p), trust=True), i)
                if stale is not None and stale[0] != batch[0][0]:
                    batch.insert(0, stale)  # a value cached from the dropped connection
                first_msg = False
            elif data.draw(st.booleans()):  # ccxt coalesced two updates into one batch
                t += 1
                i, p = t // K, t % K + 1
                batch = ([row((t - 1) // K, K)] if p == 1 else []) + [row(i, p)]
            take(state.from_stream(batch), i)
            stale = row(i, max(1, p - 1))
        t += 1
    last_i = (t - 1) // K
    assert [c.values()[1:] for c in out] == [final(j)[1:] for j in range(start, start + len(out))]
    assert [c.ts_ms for c in out] == [j * TF for j in range(start, start + len(out))]
    assert len(out) >= last_i - start  # everything before the last candle seen was delivered


def test_starting_without_a_time_begins_at_the_last_closed_candle():
    state = _CandleState(TF, None)
    got = state.from_rest(rest(0, 5, 2))
    assert [c.ts_ms for c in got] == [4 * TF] and got[0].values()[1:] == final(4)[1:]
