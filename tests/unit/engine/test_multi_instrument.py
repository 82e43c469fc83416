"""Several instruments in one engine: shared cash, long + short, union timeline, exact accounting."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import run_backtest
from quantdesk.core.clock import SimulatedClock
from quantdesk.engine.engine import TradingEngine
from quantdesk.engine.feed import HistoricalFeed
from quantdesk.model import Instrument, InstrumentId
from quantdesk.simulation import FeeModel
from quantdesk.strategies.base import Ind, Strategy

DATA = Path(__file__).resolve().parents[2] / "data" / "multi_5m_2018-01"

A = Instrument(InstrumentId("AAA/USD", "sim"), price_precision=2, size_precision=4)
B = Instrument(InstrumentId("BBB/USD", "sim"), price_precision=2, size_precision=4)
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def bars(rows: dict[int, tuple[float, float, float, float]]) -> pd.DataFrame:
    """{hour: (open, high, low, close)} -> OHLCV frame (volume 1e6)."""
    idx = pd.DatetimeIndex([T0 + pd.Timedelta(hours=h) for h in sorted(rows)])
    vals = np.array([rows[h] for h in sorted(rows)], dtype=np.float64)
    return pd.DataFrame(
        {"open": vals[:, 0], "high": vals[:, 1], "low": vals[:, 2], "close": vals[:, 3], "volume": 1e6},
        index=idx,
    )


# A misses hour 4, B misses hour 1
BARS_A = bars(
    {
        0: (10, 10.5, 9.5, 10),
        1: (11, 12, 10.5, 12),
        2: (12, 13.5, 11.5, 13),
        3: (13, 13, 11.5, 12),
        5: (12.5, 14, 12, 14),
    }
)
BARS_B = bars(
    {
        0: (20, 20.5, 19.5, 20),
        2: (21, 22.5, 20.5, 22),
        3: (22, 22, 18.5, 19),
        4: (19, 19, 17.5, 18),
        5: (18, 18.5, 17.5, 18),
    }
)


class LongAShortB(Strategy):
    """Bar 0: buy 2 A (default symbol), short 3 B; bar 3: cover B. Records the state seen at every on_bar."""

    name = "long_a_short_b"

    def on_start(self):
        self.seen = []

    def on_bar(self, bar):
        eng = self.engine
        pf = eng.portfolio
        self.seen.append(
            {
                "k": self.bar_index,
                "bar_ts": bar.ts_ns,
                "has": (self.has_bar("AAA/USD"), self.has_bar("BBB/USD")),
                "n": (len(self.data.close), len(self.data["BBB/USD"].close)),
                "close_b": self.data["BBB/USD"].close[-1] if len(self.data["BBB/USD"].close) else None,
                "cash": pf.cash(),
                "pos": (pf.position_qty(A.id), pf.position_qty(B.id)),
                "equity": pf.equity(eng.marks()),
                "equity_f": self.equity,
                "size": (self.size_of(), self.size_of("BBB/USD")),
            }
        )
        if self.bar_index == 0:
            self.buy(2)
            self.sell(3, symbol="BBB/USD")
        elif self.bar_index == 3:
            assert self.is_long and self.size_of("BBB/USD") == -3.0
            self.close(symbol="BBB/USD")


def run_hand(strategy=None, margin=True):
    strat = strategy or LongAShortB()
    eng = TradingEngine(
        strat, [A, B], cash=1000, clock=SimulatedClock(), fees=FeeModel(D("0.001"), D("0.001")), margin=margin
    )
    eng.run([HistoricalFeed(A.id, BARS_A), HistoricalFeed(B.id, BARS_B)])
    return eng, strat


def test_hand_made_fills_positions_cash_equity_per_bar():
    eng, strat = run_hand()
    # union timeline: hours 0..5, on_bar once per timestamp
    assert [s["k"] for s in strat.seen] == [0, 1, 2, 3, 4, 5]
    assert [s["has"] for s in strat.seen] == [
        (True, True),
        (True, False),
        (True, True),
        (True, True),
        (False, True),
        (True, True),
    ]
    # own bar counts; B shows its last close (20) at hour 1 where it has no bar
    assert [s["n"] for s in strat.seen] == [(1, 1), (2, 1), (3, 2), (4, 3), (4, 4), (5, 5)]
    assert strat.seen[1]["close_b"] == 20
    # `bar` is the first instrument's latest bar (hour 3 at hour 4, where A has none)
    assert strat.seen[4]["bar_ts"] == strat.seen[3]["bar_ts"]
    # fills: A buy 2 @ 11 at hour 1 (fee 0.022); B has no bar at hour 1 -> short 3 @ 21 at hour 2 (fee 0.063);
    # cover: buy 3 @ 19 at hour 4 (B-only bar, fee 0.057)
    fills = [(f.instrument, f.side.value, f.quantity, f.price, f.fee, f.ts_ns) for f in eng.portfolio.fills]
    h = lambda n: (T0 + pd.Timedelta(hours=n)).value  # noqa: E731
    assert fills == [
        (A.id, "buy", D("2"), D("11"), D("0.022"), h(1)),
        (B.id, "sell", D("3"), D("21"), D("0.063"), h(2)),
        (B.id, "buy", D("3"), D("19"), D("0.057"), h(4)),
    ]
    cash = [D("1000"), D("977.978"), D("1040.915"), D("1040.915"), D("983.858"), D("983.858")]
    pos = [(0, 0), (2, 0), (2, -3), (2, -3), (2, 0), (2, 0)]
    # equity = cash + sum(qty x last close); A keeps its hour-3 close (12) at hour 4
    equity = [D("1000"), D("1001.978"), D("1000.915"), D("1007.915"), D("1007.858"), D("1011.858")]
    for s, c, p, e in zip(strat.seen, cash, pos, equity, strict=True):
        assert s["cash"] == c
        assert s["pos"] == (D(p[0]), D(p[1]))
        assert s["equity"] == e
        assert s["equity_f"] == pytest.approx(float(e), abs=1e-9)
        assert s["size"] == (float(p[0]), float(p[1]))
    np.testing.assert_allclose(eng.equity_array(), [float(e) for e in equity], rtol=0, atol=1e-9)
    pf = eng.portfolio
    assert pf.realized_pnl == D("6")  # 3 x (21 - 19)
    assert pf.cash() - pf.starting_cash + pf.cost_basis == pf.realized_pnl - pf.total_fees
    # client order ids count timeline steps
    assert [o.client_order_id for o in eng.orders] == [
        "long_a_short_b-0-1",
        "long_a_short_b-0-2",
        "long_a_short_b-3-1",
    ]
    assert [o.instrument for o in eng.orders] == [A.id, B.id, B.id]


def test_short_without_margin_is_rejected():
    eng, _ = run_hand(margin=False)
    assert [f.instrument for f in eng.portfolio.fills] == [A.id]
    short = eng.orders[1]
    assert short.status.value == "rejected" and "margin" in short.reason


def test_run_backtest_with_a_dict_of_frames():
    cfg = BacktestConfig(
        strategy="x", symbol="AAA/USD,BBB/USD", fee=0.001, margin=True, cash=1000, timeframe="1h"
    )
    res = run_backtest(cfg, {"AAA/USD": BARS_A, "BBB/USD": BARS_B}, strategy=LongAShortB())
    assert len(res.equity) == 6 and res.equity.index[4] == T0 + pd.Timedelta(hours=4)
    assert res.equity.iloc[-1] == pytest.approx(1011.858, abs=1e-9)
    tr = res.trades
    assert list(tr["symbol"]) == ["AAA/USD", "BBB/USD"]
    assert list(tr["side"]) == ["long", "short"]
    assert list(tr["is_open"]) == [True, False]
    assert tr["pnl"].iloc[0] == pytest.approx(2 * (14 - 11) - 0.022)  # open: marked to A's last close
    assert tr["pnl"].iloc[1] == pytest.approx(6 - 0.063 - 0.057)
    assert tr["bars_held"].iloc[1] == 2  # B's own bars: hour 2 -> hour 4
    assert list(res.orders["symbol"]) == ["AAA/USD", "BBB/USD", "BBB/USD"]
    # equal-weight buy & hold: mean of (14/10 - 1, 18/20 - 1)
    assert res.metrics["buy_and_hold_return_pct"] == pytest.approx((0.4 - 0.1) / 2 * 100)
    assert res.data_info["symbols"] == ["AAA/USD", "BBB/USD"] and res.data_info["rows"] == 6
    assert res.events == []


def test_one_instrument_as_a_list_or_a_one_entry_dict_is_unchanged():
    from quantdesk.strategies.loader import create_strategy

    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    o = np.r_[100.0, close[:-1]]
    df = pd.DataFrame(
        {
            "open": o,
            "high": np.maximum(o, close) + 0.1,
            "low": np.minimum(o, close) - 0.1,
            "close": close,
            "volume": 50.0,
        },
        index=pd.date_range("2024-01-01", periods=300, freq="1h", tz="UTC"),
    )
    cfg = BacktestConfig(strategy="sma_cross", params={"fast": 3, "slow": 8}, symbol="BTC/USDT")
    r1 = run_backtest(cfg, df)
    r2 = run_backtest(cfg, {"BTC/USDT": df})
    pd.testing.assert_series_equal(r1.equity, r2.equity)
    pd.testing.assert_frame_equal(r1.trades, r2.trades)
    assert len(r1.trades) > 3
    inst = Instrument(InstrumentId("BTC/USDT", "sim"), price_precision=8, size_precision=8)
    e1 = TradingEngine(create_strategy("sma_cross", {"fast": 3, "slow": 8}), inst, clock=SimulatedClock())
    e1.run(HistoricalFeed(inst.id, df))
    e2 = TradingEngine(create_strategy("sma_cross", {"fast": 3, "slow": 8}), [inst], clock=SimulatedClock())
    e2.run([HistoricalFeed(inst.id, df)])
    assert len(e2.legs) == 1  # a one-instrument list is the one-leg engine
    np.testing.assert_array_equal(e1.equity_array(), e2.equity_array())


class PerSymbolIndicators(Strategy):
    name = "per_symbol"

    def indicators(self):
        return {"sma": Ind("sma", period=2), "BBB/USD": {"mx": Ind("sma", period=3)}}

    def on_start(self):
        self.vals = []

    def on_bar(self, bar):
        self.vals.append(
            (
                self.ind.sma[-1],
                self.ind_for("BBB/USD").sma[-1] if len(self.data["BBB/USD"].close) else None,
                "mx" in self.ind_for("BBB/USD"),
                "mx" in self.ind,
            )
        )


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_indicators_per_symbol_on_own_bars(mode):
    strat = PerSymbolIndicators()
    eng = TradingEngine(strat, [A, B], clock=SimulatedClock(), indicator_mode=mode)
    eng.run({"a": HistoricalFeed(A.id, BARS_A), "b": HistoricalFeed(B.id, BARS_B)})
    sma_a = [v[0] for v in strat.vals]
    sma_b = [v[1] for v in strat.vals]
    assert np.isnan(sma_a[0]) and sma_a[1:] == [11.0, 12.5, 12.5, 12.5, 13.0]
    # B: own bars 20, 22, 19, 18, 18; no bar at hour 1 -> its view stays at bar 0
    assert np.isnan(sma_b[0]) and np.isnan(sma_b[1]) and sma_b[2:] == [21.0, 20.5, 18.5, 18.0]
    assert all(v[2] and not v[3] for v in strat.vals)


def test_paper_on_bars_matches_backtest():
    from quantdesk.model.data import Bar

    eng, strat = run_hand()
    live = LongAShortB()
    eng2 = TradingEngine(
        live,
        [A, B],
        cash=1000,
        clock=SimulatedClock(),
        fees=FeeModel(D("0.001"), D("0.001")),
        margin=True,
        indicator_mode="stream",
    )
    eng2.start()
    for h in range(6):
        ts = T0 + pd.Timedelta(hours=h)
        group = [
            Bar(inst.id, ts.value, *frame.loc[ts, ["open", "high", "low", "close", "volume"]].tolist())
            for inst, frame in ((A, BARS_A), (B, BARS_B))
            if ts in frame.index
        ]
        eng2.on_bars(group)
    assert [s["equity"] for s in live.seen] == [s["equity"] for s in strat.seen]
    np.testing.assert_allclose(eng2.equity_array(), eng.equity_array())


# ---- exact accounting with two instruments and shorts -------------------------------------------------------
class RandomTrader(Strategy):
    """Trades the scripted (symbol, signed qty) actions; checks the Decimal invariants at every bar."""

    name = "random_trader"

    def __init__(self, actions, **kw):
        super().__init__(**kw)
        self.actions = actions
        self.checked = 0
        self.exact = []

    def on_bar(self, bar):
        eng = self.engine
        pf = eng.portfolio
        marks = eng.marks()
        eq = pf.equity(marks)
        assert eq == pf.cash() + sum(pf.position_qty(i) * marks[i] for i in marks)
        assert eq == pf.cash() + pf.cost_basis + pf.unrealized_pnl(marks)
        assert pf.cash() - pf.starting_cash + pf.cost_basis == pf.realized_pnl - pf.total_fees
        self.exact.append(eq)
        self.checked += 1
        for sym, qty in self.actions.get(self.bar_index, ()):
            if qty > 0:
                self.buy(qty, symbol=sym)
            elif qty < 0:
                self.sell(-qty, symbol=sym)
            else:
                self.close(symbol=sym)


def _frame(hours, prices):
    rows = {}
    for h, (o, c) in zip(hours, prices, strict=True):
        rows[h] = (o, max(o, c) + 0.5, min(o, c) - 0.5, c)
    return bars(rows)


price = st.floats(min_value=5.0, max_value=500.0, allow_nan=False).map(lambda x: round(x, 2))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hours_a=st.sets(st.integers(0, 30), min_size=1, max_size=25),
    hours_b=st.sets(st.integers(0, 30), min_size=1, max_size=25),
    data=st.data(),
    fee=st.sampled_from(["0", "0.001", "0.0025"]),
)
def test_invariants_two_instruments_with_shorts(hours_a, hours_b, data, fee):
    ha, hb = sorted(hours_a), sorted(hours_b)
    fa = _frame(ha, data.draw(st.lists(st.tuples(price, price), min_size=len(ha), max_size=len(ha))))
    fb = _frame(hb, data.draw(st.lists(st.tuples(price, price), min_size=len(hb), max_size=len(hb))))
    n_steps = len(set(ha) | set(hb))
    action = st.tuples(
        st.sampled_from(["AAA/USD", "BBB/USD"]),
        st.decimals(min_value=D("-20"), max_value=D("20"), places=2),
    )
    actions = data.draw(
        st.dictionaries(st.integers(0, n_steps - 1), st.lists(action, max_size=3), max_size=12)
    )
    strat = RandomTrader(actions)
    eng = TradingEngine(
        strat, [A, B], cash=100_000, clock=SimulatedClock(), fees=FeeModel(D(fee), D(fee)), margin=True
    )
    eng.run([HistoricalFeed(A.id, fa), HistoricalFeed(B.id, fb)])
    assert strat.checked == n_steps and not eng.events
    pf = eng.portfolio
    marks = eng.marks()
    eq = pf.equity(marks)
    assert eq == pf.cash() + sum(pf.position_qty(i) * marks[i] for i in marks)
    assert pf.cash() - pf.starting_cash + pf.cost_basis == pf.realized_pnl - pf.total_fees
    assert sum((t.realized for t in pf.trips), D(0)) == pf.realized_pnl
    assert sum((t.fees for t in pf.trips), D(0)) == pf.total_fees
    # the float equity curve follows the exact equity (seen at each on_bar, i.e. after that step's fills)
    np.testing.assert_allclose(eng.equity_array(), [float(x) for x in strat.exact], rtol=1e-12, atol=1e-6)


# ---- a pairs-like demo on real data -------------------------------------------------------------------------
class ZPairs(Strategy):
    """Long the cheap leg, short the rich one when the log-spread z-score is beyond +-entry; flat inside exit."""

    name = "zpairs_demo"

    def on_start(self):
        self.state = 0

    def on_bar(self, bar):
        a, b = self.symbols
        if not (self.has_bar(a) and self.has_bar(b)):
            return
        n = 100
        ca, cb = self.data[a].close, self.data[b].close
        if len(ca) < n or len(cb) < n:
            return
        spread = np.log(ca.tail(n)) - np.log(cb.tail(n))
        sd = spread.std()
        if sd <= 0:
            return
        z = (spread[-1] - spread.mean()) / sd
        if z > 2.0 and self.state != -1:  # a rich: short a, long b
            self.state = -1
            self.target_weight(-0.45, symbol=a)
            self.target_weight(0.45, symbol=b)
        elif z < -2.0 and self.state != 1:
            self.state = 1
            self.target_weight(0.45, symbol=a)
            self.target_weight(-0.45, symbol=b)
        elif abs(z) < 0.5 and self.state != 0:
            self.state = 0
            self.close_all()


def test_pairs_demo_on_real_files_end_to_end():
    eth = pd.read_csv(DATA / "ETH-BTC_5m.csv")
    ltc = pd.read_csv(DATA / "LTC-BTC_5m.csv")
    cfg = BacktestConfig(
        strategy="x", symbol="ETH/BTC,LTC/BTC", timeframe="5m", cash=1.0, fee=0.001, margin=True
    )
    res = run_backtest(cfg, {"ETH/BTC": eth, "LTC/BTC": ltc}, strategy=ZPairs())
    assert res.events == []
    union = pd.DatetimeIndex(pd.to_datetime(eth["timestamp"], utc=True)).union(
        pd.DatetimeIndex(pd.to_datetime(ltc["timestamp"], utc=True))
    )
    assert len(res.equity) == len(union) and np.isfinite(res.equity).all()
    tr = res.trades
    assert set(tr["symbol"]) == {"ETH/BTC", "LTC/BTC"}
    for sym in ("ETH/BTC", "LTC/BTC"):
        assert set(tr.loc[tr["symbol"] == sym, "side"]) == {"long", "short"}
    assert (res.orders["status"] == "filled").all()
    # equity at the end == cash + sum(position x last close), through the trades table too
    closed_pnl = tr["pnl"].sum()
    assert res.equity.iloc[-1] == pytest.approx(1.0 + closed_pnl, rel=1e-9)
    assert np.isfinite(res.metrics["buy_and_hold_return_pct"])


class LateLeg(Strategy):
    """Tries to short B before B's first bar (refused), then at B's first bar (accepted)."""

    name = "late_leg"

    def on_start(self):
        self.results = []

    def on_bar(self, bar):
        b = self.symbols[1]
        if self.bar_index in (0, 2):
            self.results.append((self.bar_index, self.price(b), self.sell(1, symbol=b)))


def test_instrument_starting_later_and_data_dict_aliases():
    late_b = BARS_B.iloc[1:]  # B starts at hour 2
    cfg = BacktestConfig(strategy="x", symbol="a,b", margin=True, cash=1000, fee=0.0, timeframe="1h")
    strat = LateLeg()
    res = run_backtest(cfg, {"AAA-X": BARS_A, "BBB-X": late_b}, strategy=strat)
    (k0, p0, o0), (k2, p2, o2) = strat.results
    assert np.isnan(p0) and o0 is None
    assert p2 == 22 and o2 is not None and o2.status.value == "filled"
    assert list(res.trades["symbol"]) == ["BBB-X"] and list(res.trades["side"]) == ["short"]
    assert list(res.orders["symbol"]) == ["BBB-X"]
    assert res.data_info["symbols"] == ["AAA-X", "BBB-X"]
    # before B's first bar the equity is the cash; B's short is marked at its own closes afterwards
    assert res.equity.iloc[0] == 1000 and res.equity.iloc[-1] == pytest.approx(1000 + 22 - 18)
    # the short is sent at hour 2 (B's first bar), fills at hour 3's open (22), is marked at 18 at the end
    assert strat.data["BBB-X"].close[-1] == 18 and "BBB-X" in strat.data
