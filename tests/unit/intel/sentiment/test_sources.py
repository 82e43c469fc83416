"""Every source against a local HTTP server (RSS, Atom, a nested JSON API, Fear & Greed, flaky and broken
endpoints), files (JSON, JSONL, CSV), the JSON paths, time parsing, and the poller (dedup, events, schedule)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sent_helpers import FakeServer

from quantdesk.core.bus import MessageBus
from quantdesk.core.errors import ConfigError
from quantdesk.intel.sentiment import jsonpath
from quantdesk.intel.sentiment.config import SentimentSettings, load_sentiment_settings
from quantdesk.intel.sentiment.poller import Poller
from quantdesk.intel.sentiment.sources import (
    FearGreedSource,
    FileSource,
    HttpJsonSource,
    RssSource,
    SourceError,
    fetch,
    parse_time,
)
from quantdesk.intel.sentiment.store import SentimentStore

NS = 1_000_000_000
RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Bitcoin surges to record high</title><link>https://x.test/1</link>
<pubDate>Wed, 05 Jan 2022 10:00:00 +0000</pubDate><description>d</description></item>
<item><title>Hackers drain Solana bridge</title><link>https://x.test/2</link>
<pubDate>Wed, 05 Jan 2022 12:30:00 GMT</pubDate></item>
<item><title>No date here</title></item></channel></rss>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>
<entry><title>Ether ETF approved</title><link href="https://x.test/a"/><id>1</id>
<updated>2022-01-06T08:00:00Z</updated></entry></feed>"""
API = {"status": "ok", "data": {"articles": [
    {"headline": "Cardano rallies", "meta": {"ts": 1641400000}, "links": [{"href": "https://x.test/c"}]},
    {"headline": "Polkadot slumps", "meta": {"ts": 1641403600}, "links": []},
    {"headline": "", "meta": {"ts": 1}},
]}}
FNG = {"name": "Fear and Greed Index", "data": [
    {"value": "25", "value_classification": "Extreme Fear", "timestamp": "1641340800", "time_until_update": "1"},
    {"value": "31", "value_classification": "Fear", "timestamp": "1641254400"}], "metadata": {"error": None}}


def no_sleep(_s: float) -> None:
    pass


def test_rss_and_atom(fake_server: FakeServer) -> None:
    fake_server.route("/rss", RSS, content_type="application/rss+xml")
    fake_server.route("/atom", ATOM, content_type="application/atom+xml")
    items = fetch(RssSource(name="r", url=fake_server.base + "/rss"))
    assert [i.title for i in items] == ["Bitcoin surges to record high", "Hackers drain Solana bridge", "No date here"]
    assert items[0].published_ns == 1641376800 * NS  # 2022-01-05T10:00:00Z
    assert items[1].published_ns == (1641376800 + 9000) * NS
    assert items[2].published_ns is None and items[0].url == "https://x.test/1"
    (a,) = fetch(RssSource(name="a", url=fake_server.base + "/atom"))
    assert (a.title, a.url, a.published_ns) == ("Ether ETF approved", "https://x.test/a", 1641456000 * NS)


def test_http_json_api_with_paths_and_secret_header(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_server.route("/api", API)
    monkeypatch.setenv("QD_TEST_NEWS_KEY", "news-SECRET")
    src = HttpJsonSource(name="api", url=fake_server.base + "/api", items="$.data.articles[*]",
                         headers={"X-Api-Key": "${QD_TEST_NEWS_KEY}"},
                         fields={"title": "headline", "published": "$.meta.ts", "url": "links[0].href"})
    items = fetch(src)
    assert [(i.title, i.published_ns, i.url) for i in items] == [
        ("Cardano rallies", 1641400000 * NS, "https://x.test/c"), ("Polkadot slumps", 1641403600 * NS, None)]
    assert fake_server.hits("/api")[0]["headers"]["X-Api-Key"] == "news-SECRET"


def test_fear_and_greed(fake_server: FakeServer) -> None:
    fake_server.route("/fng", FNG)
    vals = fetch(FearGreedSource(name="fng", url=fake_server.base + "/fng"))
    assert vals == [(1641340800 * NS, 25.0, "Extreme Fear"), (1641254400 * NS, 31.0, "Fear")]
    fake_server.route("/bad", {"data": [{"value": "250", "timestamp": "1"}]})
    with pytest.raises(SourceError, match="not a Fear & Greed answer"):
        fetch(FearGreedSource(name="fng", url=fake_server.base + "/bad"))


def test_retries_then_success_and_failure(fake_server: FakeServer) -> None:
    fake_server.route("/flaky", API, statuses=[503, 500])
    waits: list[float] = []
    src = HttpJsonSource(name="flaky", url=fake_server.base + "/flaky", items="$.data.articles[*]",
                         fields={"title": "headline", "published": "meta.ts"}, retries=3, backoff_s=0.5)
    assert len(fetch(src, sleep=waits.append)) == 2
    assert len(fake_server.hits("/flaky")) == 3 and waits == [0.5, 1.0]  # exponential backoff
    fake_server.route("/down", b"", statuses=[500] * 10)
    with pytest.raises(SourceError, match=r"'down' .*HTTP 500 after 3 attempt\(s\)"):
        fetch(HttpJsonSource(name="down", url=fake_server.base + "/down", retries=2), sleep=no_sleep)
    with pytest.raises(SourceError, match=r"HTTP 404 after 1 attempt"):  # a client error is not retried
        fetch(HttpJsonSource(name="gone", url=fake_server.base + "/missing", retries=3), sleep=no_sleep)
    assert len(fake_server.hits("/missing")) == 1


def test_timeout_and_bad_payloads(fake_server: FakeServer) -> None:
    fake_server.route("/slow", API, delay_s=1.0)
    with pytest.raises(SourceError, match="no answer within 0.2s after 2 attempt"):
        fetch(HttpJsonSource(name="slow", url=fake_server.base + "/slow", timeout_s=0.2, retries=1), sleep=no_sleep)
    fake_server.route("/html", "<html>", content_type="text/html")
    with pytest.raises(SourceError, match="not JSON"):
        fetch(HttpJsonSource(name="h", url=fake_server.base + "/html"))
    with pytest.raises(SourceError, match="not an RSS/Atom feed"):
        fetch(RssSource(name="h", url=fake_server.base + "/html"))


def test_files(tmp_path: Path) -> None:
    (tmp_path / "n.json").write_text(json.dumps({"items": [{"title": "Bitcoin rallies", "published": "2022-01-02T00:00:00Z"}]}))
    (tmp_path / "n.jsonl").write_text('{"text": "Ether dumps", "time": 1641081600000}\n\n{"text": "Doge pumps", "time": 1641081600}\n')
    (tmp_path / "n.csv").write_text("headline,when,link\nSolana outage,2022-01-03 10:00,https://x.test\n")
    a = fetch(FileSource(name="j", path=str(tmp_path / "n.json"), items="$.items[*]"))
    assert [(i.title, i.published_ns) for i in a] == [("Bitcoin rallies", 1641081600 * NS)]
    b = fetch(FileSource(name="l", path=str(tmp_path / "n.jsonl"), fields={"title": "text", "published": "time"}))
    assert [i.published_ns for i in b] == [1641081600 * NS] * 2  # epoch ms and s, told apart by magnitude
    c = fetch(FileSource(name="c", path=str(tmp_path / "n.csv"),
                         fields={"title": "headline", "published": "when", "url": "link"}))
    assert (c[0].title, c[0].published_ns, c[0].url) == ("Solana outage", (1641081600 + 86400 + 36000) * NS, "https://x.test")
    with pytest.raises(SourceError, match="has no column 'title'"):
        fetch(FileSource(name="c", path=str(tmp_path / "n.csv")))
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(SourceError, match="not valid JSON"):
        fetch(FileSource(name="b", path=str(tmp_path / "bad.json")))
    with pytest.raises(SourceError, match="file not found"):
        fetch(FileSource(name="m", path=str(tmp_path / "missing.json")))


@pytest.mark.parametrize(("path", "want"), [
    ("$.a.b", [1]), ("a.b", [1]), ("$['a']['b']", [1]), ("$.l[*].x", [1, 2]), ("$.l[-1].x", [2]),
    ("$.l[5]", []), ("$.nope.x", []), ("$.d[*]", [3, 4]), ("$", [{"a": {"b": 1}, "l": [{"x": 1}, {"x": 2}], "d": {"p": 3, "q": 4}}]),
])
def test_jsonpath(path: str, want: list[Any]) -> None:
    doc = {"a": {"b": 1}, "l": [{"x": 1}, {"x": 2}], "d": {"p": 3, "q": 4}}
    assert jsonpath.find(doc, path) == want


def test_jsonpath_errors() -> None:
    with pytest.raises(ConfigError, match=r"JSON path '\$\.a\[b\]'"):
        jsonpath.find({}, "$.a[b]")


@pytest.mark.parametrize(("value", "fmt", "want"), [
    ("2022-01-02T00:00:00Z", "auto", 1641081600 * NS), (1641081600, "auto", 1641081600 * NS),
    ("1641081600000", "auto", 1641081600 * NS), (1641081600 * NS, "auto", 1641081600 * NS),
    ("Sun, 02 Jan 2022 00:00:00 +0000", "auto", 1641081600 * NS), (1641081600, "epoch_ms", 1641081600 * 10**6),
    (None, "auto", None), ("", "auto", None),
])
def test_parse_time(value: Any, fmt: Any, want: int | None) -> None:
    assert parse_time(value, fmt) == want


def test_parse_time_errors() -> None:
    with pytest.raises(SourceError, match="cannot read the time 'yesterday'"):
        parse_time("yesterday")


def test_poller_stores_dedups_and_publishes_events(fake_server: FakeServer, db_url: Any) -> None:
    fake_server.route("/rss", RSS, content_type="application/rss+xml")
    fake_server.route("/fng", FNG)
    fake_server.route("/down", b"", statuses=[500] * 10)
    settings = SentimentSettings(sources=[
        {"type": "rss", "name": "feed", "url": fake_server.base + "/rss", "interval_s": 60},
        {"type": "rss", "name": "mirror", "url": fake_server.base + "/rss", "interval_s": 60},  # same stories
        {"type": "fear_greed", "name": "fng", "url": fake_server.base + "/fng"},
        {"type": "http_json", "name": "down", "url": fake_server.base + "/down", "retries": 1, "backoff_s": 0},
    ])
    store = SentimentStore(db_url())
    bus = MessageBus()
    events: list[Any] = []
    bus.subscribe("sentiment", events.append)
    now = [1641500000.0]
    poller = Poller(settings, store, bus=bus, clock=lambda: now[0], sleep=no_sleep)
    reports = {r["source"]: r for r in poller.poll_once()}
    assert reports["feed"]["new"] == 3 and reports["mirror"]["new"] == 0  # de-duplicated across sources
    assert reports["fng"]["new"] == 2 and reports["down"]["status"] == "error"
    assert "HTTP 500" in reports["down"]["error"]
    assert [(e.kind, e.symbols) for e in events] == [("hack", ("SOL/USDT",))]
    assert events[0].ts_event == (1641376800 + 9000) * NS  # the publication time, not the fetch time
    rows = store.items(limit=10)
    undated = next(r for r in rows if r["title"] == "No date here")
    assert undated["published_ns"] == int(1641500000.0 * NS)  # no date: counts from when it was fetched
    assert store.index_values("fng")[0]["value"] == 25.0
    assert poller.due() == []  # nothing is due again before interval_s
    now[0] += 61
    assert set(poller.due()) == {"feed", "mirror"}  # interval_s 60; the others poll every 300 s (default)
    now[0] += 240
    assert set(poller.due()) == {"feed", "mirror", "fng", "down"}
    again = {r["source"]: r for r in poller.poll_once(["feed"])}
    assert again["feed"]["new"] == 0 and len(events) == 1


def test_settings_file(tmp_path: Path) -> None:
    p = tmp_path / "sentiment.toml"
    p.write_text('scorer = "vader"\n[[sources]]\nname = "a"\ntype = "rss"\nurl = "http://127.0.0.1:1/x"\n')
    s = load_sentiment_settings(p)
    assert s.scorer == "vader" and s.sources[0].name == "a"
    p.write_text('[[sources]]\nname = "a"\ntype = "carrier_pigeon"\n')
    with pytest.raises(ConfigError, match="invalid setting sources.0"):
        load_sentiment_settings(p)
    p.write_text('scorer = "llm"\n')
    with pytest.raises(ConfigError, match=r"needs an \[llm\] section"):
        load_sentiment_settings(p)
    p.write_text('[[sources]]\nname = "sample"\ntype = "file"\npath = "x.json"\n')
    with pytest.raises(ConfigError, match="reserved"):
        load_sentiment_settings(p)
    assert load_sentiment_settings(home=tmp_path / "empty").sources == []
