"""Resumable exchange history download through ccxt into the candle store.

`download_history("binance", "BTC/USDT", "1m", "2024-01-01")`:

1. works out which bars of `[since, until)` the store lacks (`missing_ranges`, holes in the middle included);
2. fetches only those ranges with `fetch_ohlcv`, page by page (at most the exchange's per-request limit),
   through ccxt's own rate limiter (`enableRateLimit`, `rateLimit`);
3. retries timeouts, 429 and 5xx with capped exponential backoff and jitter, honouring `Retry-After`;
4. checks every page (shape, numbers, range, candle rules) and writes it to the store as soon as it arrives,
   so an interrupted download keeps what it got and the next run fetches only the rest.

Ranges are half-open: a bar belongs to `[since, until)` when its open time does. `until` defaults to the
open time of the bar in progress (so only closed bars are stored).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from quantdesk.core.clock import Clock, WallClock
from quantdesk.core.config import CoreSettings, get_settings
from quantdesk.core.errors import DataError, NotFoundError, ParameterError
from quantdesk.core.logging import get_logger
from quantdesk.core.timeutil import iso, parse_utc
from quantdesk.data.bar_grid import (
    DAY_NS,
    WEEK_ORIGIN_NS,
    bars_in,
    ceil_to_grid,
    floor_to_grid,
    grid_origin,
    missing_ranges,
)
from quantdesk.data.ccxt_client import (
    ResponseWatch,
    check_symbol,
    check_timeframe,
    is_retryable,
    make_exchange,
    ohlcv_page_limit,
    short_reason,
)
from quantdesk.model.identifiers import normalize_symbol, normalize_venue
from quantdesk.model.timeframe import Timeframe

if TYPE_CHECKING:
    import ccxt

    from quantdesk.data.store import CandleStore

log = get_logger(__name__)

NS_PER_MS = 1_000_000
COLUMNS = ("open", "high", "low", "close", "volume")


# ---- retry policy ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter. `retries` = extra attempts per request after the first."""

    retries: int = 5
    base_s: float = 0.5
    max_s: float = 30.0
    jitter: float = 0.25  # +/- fraction of the delay; 0 disables it
    seed: int | None = None  # seed the jitter for reproducible runs
    max_retry_after_s: float = 120.0  # a longer Retry-After is cut to this

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ParameterError(f"retries must be >= 0, got {self.retries}")
        if self.base_s < 0 or self.max_s < 0:
            raise ParameterError("backoff delays must be >= 0")
        if not 0 <= self.jitter <= 1:
            raise ParameterError(f"jitter must be within [0, 1], got {self.jitter}")

    @classmethod
    def from_settings(cls, settings: CoreSettings, **overrides: Any) -> RetryPolicy:
        return cls(retries=settings.data.download_retries, **overrides)

    def delay(self, attempt: int, rng: random.Random, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        backoff = min(self.max_s, self.base_s * (2 ** max(0, attempt - 1)))
        if self.jitter:
            backoff *= 1 + rng.uniform(-self.jitter, self.jitter)
        if retry_after_s is not None:
            backoff = max(backoff, min(retry_after_s, self.max_retry_after_s))
        return max(0.0, backoff)


# ---- report ---------------------------------------------------------------------------------------
@dataclass
class FetchedRange:
    start: str
    end: str
    expected_bars: int
    bars: int = 0
    new_bars: int = 0
    pages: int = 0


@dataclass
class DownloadReport:
    exchange: str
    symbol: str
    timeframe: str
    since: str
    until: str
    existing_bars: int
    missing_bars: int
    ranges: list[FetchedRange] = field(default_factory=list)
    fetched_bars: int = 0
    new_bars: int = 0
    pages: int = 0
    retries: int = 0
    #: missing bars the exchange did not return (it has no data there); a later run asks for them again
    not_returned_bars: int = 0
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class MalformedPage(Exception):
    """A page that cannot be trusted (bad JSON, wrong shape, non-numeric, out of range, invalid candle)."""


# ---- the downloader --------------------------------------------------------------------------------
ProgressCallback = Callable[[int, int], None]  # (bars done, bars expected)
_Advance = Callable[[int], None]


@dataclass
class _Job:
    client: Any
    watch: ResponseWatch
    exchange: str
    symbol: str
    tf: Timeframe
    tf_key: str
    policy: RetryPolicy
    rng: random.Random
    sleep: Callable[[float], None]
    report: DownloadReport

    @property
    def where(self) -> str:
        return f"{self.exchange} {self.symbol} {self.tf}"


def download_history(
    exchange_id: str,
    symbol: str,
    timeframe: str | Timeframe,
    since: str | int | pd.Timestamp,
    until: str | int | pd.Timestamp | None = None,
    *,
    store: CandleStore | None = None,
    client: ccxt.Exchange | None = None,
    settings: CoreSettings | None = None,
    limit: int | None = None,
    retry: RetryPolicy | None = None,
    rate_limit_ms: float | None = None,
    progress: bool | ProgressCallback = True,
    dry_run: bool = False,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadReport:
    """Download the bars of `[since, until)` the store lacks; see the module docstring.

    `client`: a ccxt exchange (default `make_exchange(exchange_id, settings)`); `limit`: candles per request
    (capped at the exchange's maximum); `progress`: a callback `(done_bars, expected_bars)` (the CLI's bar), True
    to log progress at INFO, False for none. Raises ParameterError / NotFoundError / DataError (one line).
    """
    settings = settings or get_settings()
    exchange = normalize_venue(exchange_id)
    symbol = normalize_symbol(symbol)
    if isinstance(timeframe, str) and timeframe.strip().endswith("M"):
        raise ParameterError(f"timeframe {timeframe!r}: monthly bars are not supported (they are not fixed-length)")
    tf = Timeframe.parse(timeframe)
    origin = grid_origin(tf.nanos)
    start_ts = parse_utc(since, name="since")
    start_ns = ceil_to_grid(int(start_ts.value), tf.nanos, origin)
    # Only closed bars: the bar in progress (and the future) is never requested.
    last_open_ns = floor_to_grid((clock or WallClock()).now_ns(), tf.nanos, origin)
    end_ns = last_open_ns if until is None else min(int(parse_utc(until, name="until").value), last_open_ns)
    if end_ns <= start_ns:
        raise ParameterError(f"--until ({iso(end_ns)}) must be after --since ({iso(start_ns)}) by at least one {tf} bar")
    if limit is not None and limit <= 0:
        raise ParameterError(f"limit must be a positive number of candles per request, got {limit}")

    if client is None:
        client = make_exchange(exchange, settings, rate_limit_ms=rate_limit_ms)
    elif rate_limit_ms is not None:
        client.rateLimit = rate_limit_ms
    tf_key = check_timeframe(client, str(tf))

    if store is None:
        from quantdesk.data.store import open_store

        store = open_store(settings)
    existing = store.timestamps(exchange, symbol, str(tf))
    todo = missing_ranges(existing, start_ns, end_ns, tf.nanos, origin_ns=origin)
    in_range = np.asarray(existing, dtype=np.int64)
    report = DownloadReport(
        exchange=exchange,
        symbol=symbol,
        timeframe=str(tf),
        since=iso(start_ns),
        until=iso(end_ns),
        existing_bars=int(((in_range >= start_ns) & (in_range < end_ns)).sum()),
        missing_bars=bars_in(todo, tf.nanos),
        ranges=[FetchedRange(iso(a), iso(b), bars_in([(a, b)], tf.nanos)) for a, b in todo],
        dry_run=dry_run,
    )
    if dry_run or not todo:
        return report

    policy = retry or RetryPolicy.from_settings(settings)
    job = _Job(
        client=client,
        watch=ResponseWatch.install(client),
        exchange=exchange,
        symbol=symbol,
        tf=tf,
        tf_key=tf_key,
        policy=policy,
        rng=random.Random(policy.seed),
        sleep=sleep,
        report=report,
    )
    market = _load_market(job)
    page_limit = ohlcv_page_limit(client, market)
    per_page = min(limit, page_limit) if limit else page_limit
    log.debug(
        "downloading",
        extra={"exchange": exchange, "symbol": symbol, "timeframe": str(tf), "ranges": len(todo),
               "bars": report.missing_bars, "per_page": per_page},
    )

    with _progress(progress, report.missing_bars, f"{exchange} {symbol} {tf}") as advance:
        for (a, b), fetched in zip(todo, report.ranges, strict=True):
            _download_range(job, store, a, b, per_page, fetched, advance)
    report.not_returned_bars = report.missing_bars - report.fetched_bars
    log.debug(
        "download finished",
        extra={"new_bars": report.new_bars, "pages": report.pages, "retries": report.retries},
    )
    return report


def _download_range(
    job: _Job, store: CandleStore, a: int, b: int, per_page: int, fetched: FetchedRange, advance: _Advance
) -> None:
    tf_ns = job.tf.nanos
    cursor = a
    while cursor < b:
        n = min(per_page, -(-(b - cursor) // tf_ns))
        frame = _fetch_page(job, cursor, b, n)
        job.report.pages += 1
        fetched.pages += 1
        if len(frame):
            added = int(store.append(job.exchange, job.symbol, str(job.tf), frame, source=f"ccxt:{job.exchange}"))
            job.report.new_bars += added
            job.report.fetched_bars += len(frame)
            fetched.bars += len(frame)
            fetched.new_bars += added
            last = int(frame.index[-1].value)
            step_to = last + tf_ns
        else:
            step_to = cursor + n * tf_ns  # the exchange has nothing here: move on
        step_to = min(max(step_to, cursor + tf_ns), b)
        advance(-(-(step_to - cursor) // tf_ns))
        cursor = step_to


def _load_market(job: _Job) -> dict[str, Any]:
    import ccxt

    attempt = 0
    while True:
        job.watch.reset()
        try:
            job.client.load_markets()
            break
        except ccxt.BaseError as exc:
            status = job.watch.status
            if not is_retryable(exc, status):
                raise DataError(f"{job.exchange}: cannot load markets: {short_reason(exc, status)}") from None
            attempt += 1
            if attempt > job.policy.retries:
                raise DataError(
                    f"{job.exchange}: cannot load markets: {short_reason(exc, status)} "
                    f"(gave up after {job.policy.retries} retries)"
                ) from None
            _wait(job, attempt, exc, status, "markets")
    return check_symbol(job.client, job.symbol)


def _wait(job: _Job, attempt: int, exc: BaseException, status: int | None, what: str) -> None:
    delay = job.policy.delay(attempt, job.rng, job.watch.retry_after_s())
    job.report.retries += 1
    log.warning(
        "retrying",
        extra={"what": what, "reason": short_reason(exc, status), "attempt": attempt, "delay_s": round(delay, 3)},
    )
    job.sleep(delay)


def _fetch_page(job: _Job, since_ns: int, range_end_ns: int, n: int) -> pd.DataFrame:
    """One page of at most `n` candles from `since_ns`, checked; retries per the policy."""
    import ccxt

    since_ms = since_ns // NS_PER_MS
    until_ms = range_end_ns // NS_PER_MS - 1  # inclusive end for ccxt's `until`
    where = f"{job.where}: page since {iso(since_ns)}"
    attempt = 0
    malformed = 0
    while True:
        job.watch.reset()
        try:
            try:
                raw = job.client.fetch_ohlcv(job.symbol, job.tf_key, since=since_ms, limit=n, params={"until": until_ms})
            except ccxt.BaseError:
                raise
            except Exception as exc:  # ccxt choking on a body it could not parse
                raise MalformedPage(f"unparseable response ({type(exc).__name__})") from None
            return _check_page(job, raw, since_ns, range_end_ns, n)
        except MalformedPage as exc:
            malformed += 1
            if malformed > 1:
                raise DataError(f"{where}: malformed page: {exc} (not stored)") from None
            _wait(job, 1, exc, job.watch.status, where)
        except ccxt.BadSymbol:
            raise NotFoundError(f"symbol {job.symbol!r} is not listed on {job.exchange}") from None
        except ccxt.BaseError as exc:
            status = job.watch.status
            if not is_retryable(exc, status):
                raise DataError(f"{where}: {short_reason(exc, status)}") from None
            attempt += 1
            if attempt > job.policy.retries:
                raise DataError(
                    f"{where}: {short_reason(exc, status)} (gave up after {job.policy.retries} retries; "
                    f"{job.report.new_bars} new bars stored so far)"
                ) from None
            _wait(job, attempt, exc, status, where)


def _check_page(job: _Job, raw: Any, since_ns: int, range_end_ns: int, n: int) -> pd.DataFrame:
    """Turn a fetch_ohlcv result into a validated frame, or raise MalformedPage saying why."""
    body = getattr(job.client, "last_json_response", None)
    if job.watch.status is not None and body is None:
        raise MalformedPage("response body is not valid JSON")
    if not isinstance(raw, list):
        raise MalformedPage(f"expected a list of candles, got {type(raw).__name__}")
    if isinstance(body, list) and len(body) != len(raw):
        raise MalformedPage(f"{len(body) - len(raw)} of {len(body)} candles are before the requested start or over the limit")
    if len(raw) > n:
        raise MalformedPage(f"{len(raw)} candles for a limit of {n}")
    if not raw:
        if _holds_rows(body):
            raise MalformedPage("the response holds data but no readable candles (unexpected shape)")
        return _frame(np.empty(0, dtype=np.int64), np.empty((0, 5)))
    rows = []
    for i, row in enumerate(raw):
        if not isinstance(row, (list, tuple)) or len(row) < 6:
            raise MalformedPage(f"candle #{i} is not [time, open, high, low, close, volume]")
        rows.append(row[:6])
    if any(r[0] is None or isinstance(r[0], bool) for r in rows):
        raise MalformedPage("a candle has no timestamp")
    try:
        ts_ms = np.array([int(r[0]) for r in rows], dtype=np.int64)
        values = np.array([[float(x) for x in r[1:6]] for r in rows], dtype=np.float64)
    except (TypeError, ValueError):
        bad = next(i for i, r in enumerate(rows) if any(not _is_number(x) for x in r))
        raise MalformedPage(f"non-numeric value in the candle at {iso(int(rows[bad][0]) * NS_PER_MS) if _is_number(rows[bad][0]) else f'#{bad}'}") from None
    ts_ns = ts_ms * NS_PER_MS
    if np.any(np.diff(ts_ns) <= 0):
        raise MalformedPage("timestamps are not strictly increasing")
    if ts_ns[0] < since_ns or ts_ns[-1] >= range_end_ns:
        bad = ts_ns[0] if ts_ns[0] < since_ns else ts_ns[-1]
        raise MalformedPage(f"candle at {iso(int(bad))} is outside the requested range [{iso(since_ns)}, {iso(range_end_ns)})")
    tf_ns = job.tf.nanos
    if tf_ns <= DAY_NS and np.any(ts_ns % tf_ns != 0):
        bad = int(ts_ns[np.nonzero(ts_ns % tf_ns)[0][0]])
        raise MalformedPage(f"candle at {iso(bad)} is not on the {job.tf} grid")
    problem = validate_candles(ts_ns, values)
    if problem:
        raise MalformedPage(problem)
    return _frame(ts_ns, values)


def _holds_rows(body: Any, depth: int = 0) -> bool:
    """Whether a JSON body contains a non-empty list (i.e. something that could have been candles)."""
    if depth > 3:
        return False
    if isinstance(body, list):
        return len(body) > 0
    if isinstance(body, dict):
        return any(_holds_rows(v, depth + 1) for v in body.values())
    return False


def _is_number(x: Any) -> bool:
    if x is None or isinstance(x, bool):
        return False
    try:
        float(x)
    except (TypeError, ValueError):
        return False
    return True


def validate_candles(ts_ns: np.ndarray, values: np.ndarray) -> str | None:
    """First rule broken by the candles (finite, prices > 0, low <= open/close <= high, volume >= 0), or None."""
    o, h, low, c, v = (values[:, i] for i in range(5))
    checks = (
        (~np.isfinite(values).all(axis=1), "a value is not finite"),
        ((values[:, :4] <= 0).any(axis=1), "a price is not positive"),
        (h < np.maximum(o, c), "high is below open/close"),
        (low > np.minimum(o, c), "low is above open/close"),
        (low > h, "low is above high"),
        (v < 0, "volume is negative"),
    )
    for mask, rule in checks:
        if mask.any():
            i = int(np.nonzero(mask)[0][0])
            return f"invalid candle at {iso(int(ts_ns[i]))}: {rule}"
    return None


def _frame(ts_ns: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(ts_ns, unit="ns", utc=True), name="timestamp")
    return pd.DataFrame(np.asarray(values, dtype=np.float64), index=index, columns=list(COLUMNS))


class _progress:
    """Context manager yielding `advance(bars)`: reports to a user callback, to the log, or nowhere.

    This layer never prints: the CLI passes a callback that draws its bar (quantdesk.cli.progress); `True` logs
    one INFO line per tenth of the work (and the last one), for library use and services.
    """

    def __init__(self, progress: bool | ProgressCallback, total: int, label: str) -> None:
        self.progress, self.total, self.label = progress, total, label
        self.done = 0
        self._logged_tenths = 0

    def __enter__(self) -> _Advance:
        if callable(self.progress):
            callback = self.progress

            def advance(bars: int) -> None:
                self.done += bars
                callback(self.done, self.total)

            return advance
        if self.progress:

            def log_advance(bars: int) -> None:
                self.done += bars
                tenths = 10 * self.done // max(self.total, 1)
                if tenths > self._logged_tenths or self.done >= self.total:
                    self._logged_tenths = tenths
                    log.info("download progress", extra={"what": self.label, "done_bars": self.done,
                                                          "expected_bars": self.total})

            return log_advance
        return lambda bars: None

    def __exit__(self, *exc: object) -> None:
        return None


__all__ = [
    "WEEK_ORIGIN_NS",
    "ceil_to_grid",
    "floor_to_grid",
    "grid_origin",
    "DownloadReport",
    "FetchedRange",
    "RetryPolicy",
    "bars_in",
    "download_history",
    "make_exchange",
    "missing_ranges",
    "validate_candles",
]
