"""Exchange history download, for real: the real `ccxt.binance` class over real HTTP against a local
Binance-compatible server (tests/integration/fake_exchange.py) that serves a real 1m data file
(tests/data/BTC-PERP_FTX_1m_..., treated as BTCUSDT) and injects faults on demand. The store is the real
Parquet candle store. Nothing in ccxt is mocked.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fake_exchange import KLINES, FakeBinance

from quantdesk.core.errors import DataError, NotFoundError, ParameterError
from quantdesk.data.ccxt_client import make_exchange
from quantdesk.data.download import DownloadReport, RetryPolicy, download_history
from quantdesk.data.store import CandleStore
from quantdesk.settings import Settings

DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv"
MIN = 60_000  # ms
T0 = pd.Timestamp("2022-01-03T00:00:00Z")
T0_MS = int(T0.value // 1_000_000)
FAST = RetryPolicy(retries=2, base_s=0.01, max_s=0.05, jitter=0.0)
EX, SYM, TF = "binance", "BTC/USDT", "1m"


def at(minutes: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    """The data file read plainly with pandas (independent of the server and of the store)."""
    df = pd.read_csv(DATA_FILE)
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp")
    return df.astype("float64")


@pytest.fixture()
def fake() -> Iterator[FakeBinance]:
    server = FakeBinance(DATA_FILE).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def settings(tmp_path: Path, fake: FakeBinance) -> Settings:
    return Settings(
        home=tmp_path / "qdhome",
        exchanges={"binance": {"base_url": fake.base_url}},
        data={"download_timeout_s": 5.0, "download_retries": 2},
    )


@pytest.fixture()
def store(settings: Settings) -> CandleStore:
    return CandleStore(settings.store_dir)


def run(settings: Settings, store: CandleStore, start: int, end: int, **kwargs) -> DownloadReport:
    kwargs.setdefault("limit", 500)
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("rate_limit_ms", 0)
    kwargs.setdefault("progress", False)
    return download_history(EX, SYM, TF, at(start), at(end), settings=settings, store=store, **kwargs)


def stored(store: CandleStore) -> pd.DataFrame:
    return store.read(EX, SYM, TF)


def assert_matches_file(frame: pd.DataFrame, reference: pd.DataFrame, start: int, end: int) -> None:
    expected = reference[(reference.index >= at(start)) & (reference.index < at(end))]
    assert len(frame) == len(expected) == end - start
    pd.testing.assert_frame_equal(frame, expected, check_freq=False, check_index_type=False, check_exact=True)


def windows(fake: FakeBinance) -> list[tuple[int, int, int]]:
    """(startTime minute offset, endTime+1 minute offset, limit) of every successful klines request."""
    out = []
    for r in fake.kline_requests():
        if r.status == 200:
            end = int(r.query["endTime"]) + 1
            out.append(((r.start_ms - T0_MS) // MIN, (end - T0_MS) // MIN, int(r.query["limit"])))
    return out


# ---- happy path ---------------------------------------------------------------------------------------
def test_full_download_equals_the_file_and_paginates(settings, store, fake, reference) -> None:
    seen: list[tuple[int, int]] = []
    report = run(settings, store, 0, 1234, progress=lambda done, total: seen.append((done, total)))

    assert_matches_file(stored(store), reference, 0, 1234)
    assert (report.missing_bars, report.fetched_bars, report.new_bars, report.pages, report.retries) == (
        1234, 1234, 1234, 3, 0)
    assert report.since == "2022-01-03T00:00:00Z" and report.until == "2022-01-03T20:34:00Z"
    # three pages of at most 500, each asking exactly for what is still missing
    assert windows(fake) == [(0, 1234, 500), (500, 1234, 500), (1000, 1234, 234)]
    assert all(r.query["symbol"] == "BTCUSDT" and r.query["interval"] == "1m" for r in fake.kline_requests())
    assert seen[-1] == (1234, 1234) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    paths = {r.path for r in fake.requests}
    assert paths == {KLINES, "/api/v3/exchangeInfo", "/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"}


def test_page_size_respects_the_exchange_maximum(settings, store, fake, reference) -> None:
    # binance allows at most 1000 klines per request (ccxt features); the server rejects more with HTTP 400
    report = run(settings, store, 0, 2300, limit=5000)
    assert [w[2] for w in windows(fake)] == [1000, 1000, 300]
    assert report.pages == 3
    assert_matches_file(stored(store), reference, 0, 2300)
    fake.clear_log()
    run(settings, store, 2300, 2400, limit=None)  # default: the exchange's maximum
    assert windows(fake) == [(2300, 2400, 100)]


def test_resume_fetches_only_the_missing_ranges(settings, store, fake, reference) -> None:
    run(settings, store, 100, 200)
    run(settings, store, 400, 450)  # leaves a hole in the middle: [200, 400)
    fake.clear_log()

    report = run(settings, store, 0, 600)

    assert windows(fake) == [(0, 100, 100), (200, 400, 200), (450, 600, 150)]
    assert [(r.start, r.end, r.expected_bars) for r in report.ranges] == [
        (at(0).strftime("%Y-%m-%dT%H:%M:%SZ"), at(100).strftime("%Y-%m-%dT%H:%M:%SZ"), 100),
        (at(200).strftime("%Y-%m-%dT%H:%M:%SZ"), at(400).strftime("%Y-%m-%dT%H:%M:%SZ"), 200),
        (at(450).strftime("%Y-%m-%dT%H:%M:%SZ"), at(600).strftime("%Y-%m-%dT%H:%M:%SZ"), 150),
    ]
    assert (report.existing_bars, report.missing_bars, report.new_bars) == (150, 450, 450)
    assert_matches_file(stored(store), reference, 0, 600)

    # nothing missing: no request at all, not even for markets
    fake.clear_log()
    again = run(settings, store, 0, 600)
    assert fake.requests == []
    assert (again.missing_bars, again.new_bars, again.pages, again.ranges) == (0, 0, 0, [])


def test_dry_run_lists_missing_ranges_and_fetches_nothing(settings, store, fake) -> None:
    run(settings, store, 10, 20)
    fake.clear_log()
    plan = run(settings, store, 0, 30, dry_run=True)
    assert fake.requests == []
    assert plan.dry_run and plan.missing_bars == 20 and len(plan.ranges) == 2
    assert store.timestamps(EX, SYM, TF).size == 10


def test_bars_the_exchange_does_not_have_are_reported_not_invented(settings, store, fake, reference) -> None:
    # the file (= the exchange's history) starts at 2021-12-31T23:01
    start, end = pd.Timestamp("2021-12-31T22:00Z"), pd.Timestamp("2021-12-31T23:31Z")
    report = download_history(EX, SYM, TF, start, end, settings=settings, store=store, limit=500,
                              retry=FAST, rate_limit_ms=0, progress=False)
    assert (report.missing_bars, report.fetched_bars, report.not_returned_bars) == (91, 30, 61)
    got = stored(store)
    pd.testing.assert_frame_equal(got, reference[(reference.index >= start) & (reference.index < end)],
                                  check_freq=False, check_index_type=False, check_exact=True)


def test_until_is_capped_at_the_last_closed_bar(settings, store, fake) -> None:
    from quantdesk.core.clock import SimulatedClock

    clock = SimulatedClock(int(at(100).value) + 30 * 1_000_000_000)  # 30 s into the bar opened at +100 min
    report = download_history(EX, SYM, TF, at(0), "2030-01-01", settings=settings, store=store, clock=clock,
                              retry=FAST, rate_limit_ms=0, progress=False)
    assert report.until == "2022-01-03T01:40:00Z" and report.new_bars == 100
    again = download_history(EX, SYM, TF, at(0), None, settings=settings, store=store, clock=clock, progress=False)
    assert again.missing_bars == 0


# ---- faults ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 429, "retry_after": "1"},
        {"kind": "status", "status": 500},
        {"kind": "status", "status": 502},
        {"kind": "status", "status": 503},
        {"kind": "timeout", "delay_s": 2.5},
    ],
    ids=["429-retry-after", "500", "502", "503", "timeout"],
)
def test_transient_faults_are_retried_and_the_result_is_exact(settings, store, fake, reference, fault) -> None:
    if fault["kind"] == "timeout":
        settings = settings.model_copy(update={"data": settings.data.model_copy(update={"download_timeout_s": 1.0})})
    fake.inject(start_ms=T0_MS + 500 * MIN, count=1, **fault)  # the second page fails once

    report = run(settings, store, 0, 1000)

    assert report.retries == 1 and report.pages == 2
    assert_matches_file(stored(store), reference, 0, 1000)
    second = [r for r in fake.kline_requests() if r.start_ms == T0_MS + 500 * MIN]
    assert len(second) == 2 and second[1].status == 200
    if fault.get("status") == 429:  # Retry-After: 1 honoured although the backoff is 10 ms
        assert second[1].t - second[0].t >= 0.95


def test_faults_while_loading_markets_are_retried(settings, store, fake, reference) -> None:
    fake.inject("status", path="/api/v3/exchangeInfo", status=503, count=2)
    report = run(settings, store, 0, 50)
    assert report.retries == 2
    assert_matches_file(stored(store), reference, 0, 50)


def test_backoff_is_exponential_and_capped(settings, store, fake) -> None:
    fake.inject("status", status=503, count=4, start_ms=T0_MS)
    policy = RetryPolicy(retries=5, base_s=0.1, max_s=0.25, jitter=0.0)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the real sleep, recorded
        waits.append(seconds)
        time.sleep(seconds)

    report = run(settings, store, 0, 10, retry=policy, sleep=sleep)
    assert report.retries == 4 and report.new_bars == 10
    assert waits == [0.1, 0.2, 0.25, 0.25]  # doubling, capped at max_s
    gaps = np.diff([r.t for r in fake.kline_requests()])
    assert all(gap >= wait - 0.01 for gap, wait in zip(gaps, waits, strict=True))


def test_persistent_5xx_fails_clearly_and_keeps_pages_already_stored(settings, store, fake, reference) -> None:
    fake.inject("status", status=503, start_ms=T0_MS + 1000 * MIN, count=None)  # page 3 never works

    with pytest.raises(DataError) as info:
        run(settings, store, 0, 1500)
    message = str(info.value)
    assert "\n" not in message
    assert "binance BTC/USDT 1m" in message and "page since 2022-01-03T16:40:00Z" in message
    assert "HTTP 503" in message and "gave up after 2 retries" in message
    assert len([r for r in fake.kline_requests() if r.status == 503]) == 3  # 1 try + 2 retries

    assert_matches_file(stored(store), reference, 0, 1000)  # the two good pages were kept

    # the next run (fault gone) fetches only the rest
    fake.clear_faults()
    fake.clear_log()
    report = run(settings, store, 0, 1500)
    assert windows(fake) == [(1000, 1500, 500)]
    assert report.new_bars == 500
    assert_matches_file(stored(store), reference, 0, 1500)


def test_client_errors_are_not_retried(settings, store, fake) -> None:
    fake.inject("status", status=404, count=None)
    with pytest.raises(DataError, match="HTTP 404"):
        run(settings, store, 0, 10)
    assert len(fake.kline_requests()) == 1


@pytest.mark.parametrize("variant", ["json", "shape", "nonnumeric", "out_of_range", "invalid_candle"])
def test_malformed_page_is_retried_once_then_fails_and_is_never_stored(settings, store, fake, reference, variant) -> None:
    # once: retried, and the result is complete and exact
    fake.inject("malformed", variant=variant, start_ms=T0_MS + 100 * MIN, count=1)
    report = run(settings, store, 0, 200, limit=100)
    assert report.retries == 1
    assert_matches_file(stored(store), reference, 0, 200)

    # always: fails after one retry, naming the page; the page is not stored, earlier pages are
    fake.inject("malformed", variant=variant, start_ms=T0_MS + 300 * MIN, count=None)
    with pytest.raises(DataError) as info:
        run(settings, store, 0, 400, limit=100)
    message = str(info.value)
    assert "\n" not in message and "malformed page" in message
    assert "page since 2022-01-03T05:00:00Z" in message
    assert len([r for r in fake.kline_requests() if r.start_ms == T0_MS + 300 * MIN]) == 2
    assert_matches_file(stored(store), reference, 0, 300)


# ---- rate limit ---------------------------------------------------------------------------------------
def test_rate_limit_spaces_requests(settings, store, fake) -> None:
    # ccxt's throttle (enableRateLimit) waits rateLimit * cost between requests; ccxt rates a spot klines
    # request of binance at cost 0.4 (its weight relative to rateLimit)
    cost = make_exchange(EX, settings).api["public"]["get"]["klines"]["cost"]
    rate_limit_ms = 400
    run(settings, store, 0, 250, limit=50, rate_limit_ms=rate_limit_ms)
    times = [r.t for r in fake.kline_requests()]
    assert len(times) == 5
    assert min(np.diff(times)) >= rate_limit_ms * cost / 1000 - 0.01

    fake.clear_log()
    run(settings, store, 250, 500, limit=50, rate_limit_ms=0)
    assert len(fake.kline_requests()) == 5


# ---- clear errors ----------------------------------------------------------------------------------------
def test_unknown_exchange_timeframe_and_symbol(settings, store, fake) -> None:
    with pytest.raises(ParameterError, match="not a ccxt exchange id.*binance"):
        download_history("binanse", SYM, TF, at(0), at(10), settings=settings, store=store, progress=False)
    with pytest.raises(ParameterError, match="timeframe '7m' is not supported by binance"):
        download_history(EX, SYM, "7m", at(0), at(10), settings=settings, store=store, progress=False)
    with pytest.raises(ParameterError, match="monthly"):
        download_history(EX, SYM, "1M", at(0), at(10), settings=settings, store=store, progress=False)
    with pytest.raises(ParameterError, match="until"):
        download_history(EX, SYM, TF, at(10), at(0), settings=settings, store=store, progress=False)
    assert fake.requests == []
    with pytest.raises(NotFoundError, match="'ETH/USDT' is not listed on binance"):
        download_history(EX, "ETH/USDT", TF, at(0), at(10), settings=settings, store=store, progress=False,
                         rate_limit_ms=0)
    assert fake.kline_requests() == []


def test_api_keys_are_passed_only_when_set_and_never_logged(settings, store, fake, caplog) -> None:
    plain = make_exchange(EX, settings)
    assert not plain.apiKey and not plain.secret
    assert plain.urls["api"]["public"] == f"{fake.base_url}/api/v3"
    assert plain.urls["api"]["fapiPublic"] == f"{fake.base_url}/fapi/v1"
    keyed = Settings(
        home=settings.home,
        exchanges={"binance": {"base_url": fake.base_url, "api_key": "AK-sekrit-123", "secret": "SK-sekrit-456"}},
        data=settings.data,
    )
    client = make_exchange(EX, keyed, rate_limit_ms=0)
    assert client.apiKey == "AK-sekrit-123" and client.secret == "SK-sekrit-456"
    caplog.set_level(logging.DEBUG)
    for name in ("quantdesk", "ccxt"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    report = download_history(EX, SYM, TF, at(0), at(20), settings=keyed, store=store, client=client, progress=False)
    assert report.new_bars == 20
    # ccxt logs request headers (X-MBX-APIKEY on signed calls) at DEBUG: its logger redacts our secrets
    client.logger.debug("%s %s, Request: %s", "GET", "/sapi/v1/x", {"X-MBX-APIKEY": "AK-sekrit-123"})
    assert "X-MBX-APIKEY': '***'" in caplog.text
    text = caplog.text + repr(report) + json.dumps(report.to_dict())
    assert "sekrit" not in text
    assert all("sekrit" not in json.dumps(r.query) for r in fake.requests)


def test_base_url_override_rewrites_every_endpoint() -> None:
    from quantdesk.core.errors import ConfigError

    mirror = Settings(exchanges={"binance": {"base_url": "http://127.0.0.1:9/mirror/"}})
    client = make_exchange(EX, mirror)
    urls = client.urls["api"]
    assert urls["public"] == "http://127.0.0.1:9/mirror/api/v3"
    assert urls["dapiPublic"] == "http://127.0.0.1:9/mirror/dapi/v1"
    assert all(u.startswith("http://127.0.0.1:9/mirror/") for u in urls.values())
    assert client.enableRateLimit and client.timeout == int(mirror.data.download_timeout_s * 1000)
    with pytest.raises(ConfigError, match="base_url"):
        make_exchange(EX, Settings(exchanges={"binance": {"base_url": "ftp://example"}}))


# ---- CLI end to end ------------------------------------------------------------------------------------
def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The real console entry in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "quantdesk", *args],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=120,
    )


def run_main(args: list[str], env: dict[str, str], monkeypatch, capsys) -> tuple[int, str, str]:
    """The same console entry (`quantdesk.cli.app.main`) in this process: cheaper than a subprocess.

    Restores what the root callback changes (logging handlers, --json state, active settings)."""
    from quantdesk.cli.app import main
    from quantdesk.cli.output import OutputState
    from quantdesk.core.config import set_settings

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "argv", ["quantdesk", *args])
    logger = logging.getLogger("quantdesk")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    capsys.readouterr()
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
        OutputState.json = False
        set_settings(None)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture()
def cli_env(tmp_path: Path, fake: FakeBinance) -> dict[str, str]:
    return {
        "QD_HOME": str(tmp_path / "clihome"),
        "QD_EXCHANGES__BINANCE__BASE_URL": fake.base_url,
        "QD_DATA__DOWNLOAD_TIMEOUT_S": "5",
    }


DOWNLOAD = ["data", "download", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1m",
            "--since", "2022-01-03", "--until", "2022-01-03T05:00:00Z", "--rate-limit-ms", "0"]


def test_cli_download_json_and_resume(cli_env, fake, reference, monkeypatch, capsys) -> None:
    proc = run_cli("--json", *DOWNLOAD, "--limit", "120", env=cli_env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["exchange"] == "binance" and doc["symbol"] == "BTC/USDT" and doc["timeframe"] == "1m"
    assert (doc["new_bars"], doc["pages"], doc["retries"], len(doc["ranges"])) == (300, 3, 0, 1)
    assert doc["since"] == "2022-01-03T00:00:00Z" and doc["until"] == "2022-01-03T05:00:00Z"
    assert "Traceback" not in proc.stderr
    assert_matches_file(CandleStore(Path(cli_env["QD_HOME"]) / "candles").read(EX, SYM, TF), reference, 0, 300)

    # people's view (a table); a dry run over a longer range shows only the range still missing
    fake.clear_log()
    longer = [a if a != "2022-01-03T05:00:00Z" else "2022-01-03T06:00:00Z" for a in DOWNLOAD]
    code, out, err = run_main([*longer, "--dry-run"], cli_env, monkeypatch, capsys)
    assert code == 0, err
    assert "dry run" in out and fake.requests == []
    assert re.search(r"already stored\s+300\b", out) and re.search(r"missing bars\s+60\b", out), out
    assert re.search(r"2022-01-03T05:00:00Z\s*│\s*2022-01-03T06:00:00Z\s*│\s*60", out), out

    # and the real download of it, as JSON
    code, out, err = run_main(["--json", *longer], cli_env, monkeypatch, capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["existing_bars"], doc["new_bars"], doc["pages"]) == (300, 60, 1)
    assert [(r.query["startTime"], r.query["limit"]) for r in fake.kline_requests()] == [
        (str(T0_MS + 300 * MIN), "60")]


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--exchange", "binanse", "not a ccxt exchange id"),
        ("--timeframe", "7m", "not supported by binance"),
        ("--symbol", "DOGE/EUR", "not listed on binance"),
        ("--since", "not-a-date", "since"),
    ],
    ids=["exchange", "timeframe", "symbol", "since"],
)
def test_cli_bad_input_is_one_line(cli_env, monkeypatch, capsys, option, value, needle) -> None:
    args = list(DOWNLOAD)
    args[args.index(option) + 1] = value
    code, out, err = run_main(args, cli_env, monkeypatch, capsys)
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err and out == ""


def test_cli_persistent_failure_is_one_line_and_secrets_stay_hidden(cli_env, fake) -> None:
    fake.inject("status", status=502, count=None)
    env = {**cli_env, "QD_EXCHANGES__BINANCE__API_KEY": "AK-sekrit-789"}
    proc = run_cli("-v", *DOWNLOAD, "--retries", "1", "--backoff", "0.01", env=env)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "sekrit" not in proc.stderr + proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert "HTTP 502" in last and "gave up after 1 retries" in last and "page since 2022-01-03T00:00:00Z" in last
    assert len([r for r in fake.kline_requests() if r.status == 502]) == 2
