"""`ClosedBarBuffer` (the bookkeeping both exchange feeds share) and the `BarFeed` port: every feed provides each
declared member, and the bots and nodes read nothing else from a feed (mypy proves the first statically: see
`_is_a_bar_feed` in each feed module; this keeps both true without mypy)."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

import quantdesk
from quantdesk.engine.bar_buffer import ClosedBarBuffer
from quantdesk.engine.ports import BarFeed
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.instrument import Instrument
from quantdesk.model.timeframe import Timeframe

SRC = Path(quantdesk.__file__).parent
MIN = 60 * 10**9
TF = Timeframe.parse("1m")


def _row(c: float) -> tuple[float, float, float, float, float]:
    return (c, c + 1.0, c - 1.0, c, 10.0)


def _buffer(**kwargs) -> ClosedBarBuffer:
    return ClosedBarBuffer("BTC/USDT", "binance", TF, **kwargs)


# ---- ClosedBarBuffer ---------------------------------------------------------------------------------------------
def test_append_keeps_only_bars_strictly_after_the_last_one() -> None:
    buf = _buffer()
    assert buf._append([0, MIN, 2 * MIN], [_row(1), _row(2), _row(3)]) == 3
    # repeated, late and out-of-order bars are dropped; duplicates inside one batch too
    assert buf._append([MIN, 2 * MIN, 3 * MIN, 3 * MIN, 2 * MIN, 4 * MIN],
                       [_row(9), _row(9), _row(4), _row(9), _row(9), _row(5)]) == 2
    assert len(buf) == 5 and buf.timeline == [0, MIN, 2 * MIN, 3 * MIN, 4 * MIN]
    assert [buf.group(k)[0].close for k in range(5)] == [1, 2, 3, 4, 5]
    assert buf.ts(3) == 3 * MIN
    assert buf._append([], []) == 0


def test_append_respects_from_and_end() -> None:
    buf = _buffer(end_ns=3 * MIN)
    assert buf._append([0, MIN, 2 * MIN, 3 * MIN, 4 * MIN], [_row(c) for c in range(1, 6)], from_ns=MIN) == 3
    assert buf.timeline == [MIN, 2 * MIN, 3 * MIN]  # before `from_ns` and after `end_ns`: dropped


def test_persist_sees_the_kept_positions_before_the_bars_are_held() -> None:
    buf = _buffer()
    buf._append([0], [_row(1)])
    seen: list[tuple[list[int], int]] = []
    n = buf._append([0, MIN, MIN, 2 * MIN], [_row(1), _row(2), _row(2), _row(3)],
                    persist=lambda kept: seen.append((kept, len(buf))))
    assert n == 2 and seen == [([1, 3], 1)]
    assert buf._append([MIN], [_row(2)], persist=lambda kept: seen.append((kept, -1))) == 0
    assert len(seen) == 1  # nothing new: nothing to persist


def test_group_labels_unbound_and_bound() -> None:
    buf = _buffer()
    buf._append([0], [_row(1)])
    (bar,) = buf.group(0)
    assert bar.instrument == InstrumentId("BTC/USDT", "binance") and bar.timeframe == TF and bar.ts_ns == 0
    inst = Instrument(InstrumentId("BTC/USDT", "sim"), price_precision=2, size_precision=6)
    buf.bind([inst])
    assert buf.group(0)[0].instrument == inst.id
    assert ClosedBarBuffer("ETH/USDT", "kraken", TF, instruments=[inst]).instruments == [inst]


def test_finished_needs_end_and_every_bar_handed_out() -> None:
    open_ended = _buffer()
    open_ended._append([0], [_row(1)])
    open_ended.group(0)
    assert not open_ended.finished  # no end: a live feed never finishes

    buf = _buffer(end_ns=2 * MIN)
    assert not buf.finished  # nothing held yet
    buf._append([0, MIN], [_row(1), _row(2)])
    buf.group(0)
    buf.group(1)
    assert not buf.finished  # the bar at end_ns has not come yet
    buf._append([2 * MIN], [_row(3)])
    assert not buf.finished  # held, not handed out
    buf.group(2)
    assert buf.finished


def test_frame_round_trip() -> None:
    buf = _buffer()
    assert buf.frame().empty and list(buf.frame().columns) == ["open", "high", "low", "close", "volume"]
    rows = [_row(c) for c in (1.5, 2.5, 3.5)]
    buf._append([0, MIN, 2 * MIN], rows)
    frame = buf.frame()
    assert frame.index.name == "timestamp" and str(frame.index.tz) == "UTC"
    assert list(frame.index.asi8) == [0, MIN, 2 * MIN]
    assert [tuple(r) for r in frame.to_numpy().tolist()] == rows
    again = _buffer()  # the frame a feed stores reads back to the same bars
    again._append(frame.index.asi8.tolist(), frame.to_numpy().tolist())
    pd.testing.assert_frame_equal(again.frame(), frame)
    assert buf.close() is None


# ---- the port ----------------------------------------------------------------------------------------------------
def _members(protocol: type) -> set[str]:
    return {n for n in vars(protocol) if not n.startswith("_")} | set(getattr(protocol, "__annotations__", {}))


def _feeds() -> list[object]:
    from quantdesk.adapters.ccxt import AdapterConfig
    from quantdesk.adapters.ccxt.feed import StreamCandleFeed
    from quantdesk.paper.exchange_feed import ExchangeFeed
    from quantdesk.paper.feeds import ReplayFeed

    inst = Instrument(InstrumentId("BTC/USDT", "binance"), price_precision=2, size_precision=6)
    idx = pd.date_range("2024-01-01", periods=3, freq="1min", tz="UTC")
    frame = pd.DataFrame({"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 1.0}, index=idx)
    replay = ReplayFeed({"BTC/USDT": frame}, [inst], timeframe="1m")
    exchange = ExchangeFeed("binance", "BTC/USDT", "1m", start="2024-01-01", load_stored=False,
                            settings=object())  # nothing is asked of the exchange before poll()
    stream = StreamCandleFeed(AdapterConfig(exchange="binance"), "BTC/USDT", "1m", start="2024-01-01")
    return [replay, exchange, stream]


def test_every_feed_provides_the_port() -> None:
    declared = _members(BarFeed) | {"__len__"}
    for feed in _feeds():
        missing = sorted(n for n in declared if not hasattr(feed, n))
        assert not missing, f"{type(feed).__name__} lacks {missing} of BarFeed"


def test_replay_feed_as_a_port() -> None:
    replay = _feeds()[0]
    assert replay.live is False and replay.finished and replay.poll() == 0
    assert replay.start_ns == replay.ts(0) == pd.Timestamp("2024-01-01", tz="UTC").value
    assert list(replay.frame()["close"]) == [1.5, 1.5, 1.5] and replay.frame().index.name == "timestamp"
    other = Instrument(InstrumentId("BTC/USDT", "sim"), price_precision=2, size_precision=6)
    replay.bind([other])
    assert replay.group(0)[0].instrument == other.id
    with pytest.raises(Exception, match="one instrument per replayed symbol"):
        replay.bind([other, other])


def _feed_reads(path: Path) -> set[str]:
    """Attributes read as `feed.X`, `self.feed.X` or `bot.feed.X` in a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute):
            base = node.value
            if (isinstance(base, ast.Name) and base.id == "feed") or (
                    isinstance(base, ast.Attribute) and base.attr == "feed"):
                found.add(node.attr)
    return found


@pytest.mark.parametrize("module", ["paper/bot.py", "paper/node.py", "live/bot.py", "live/node.py",
                                    "monitoring/metrics.py", "monitoring/health.py"])
def test_bots_and_nodes_read_only_the_port(module: str) -> None:
    extra = _feed_reads(SRC / module) - _members(BarFeed)
    assert not extra, f"{module} reads {sorted(extra)} from a feed, outside BarFeed"
