"""Regimes, anomalies, sentiment, signal tracking, ML, PowerTrader and the knowledge base (the intel routes).

Their nested results (a detector's summary, an accuracy report, a model's validation) are documented as objects;
the fields named here are the ones the dashboard reads."""

from __future__ import annotations

from typing import Any

from quantdesk.api.responses import IsoTime, Json, Number, Row


class RegimeSegment(Row):
    start: IsoTime
    end: IsoTime
    name: str
    regime: int | None = None


class Regimes(Row):
    """`values`: per bar, timestamp, regime code, p_regime_0..3, p_changepoint, bars_since_change."""

    symbol: str
    timeframe: str
    method: str
    labels: list[str]
    summary: Json
    segments: list[RegimeSegment]
    values: list[dict[str, Number | str | None]]


class Anomaly(Row):
    timestamp: IsoTime
    symbol: str | None = None
    timeframe: str | None = None
    kind: str
    score: Number | None = None
    method: str | None = None
    source: str | None = None


class AnomalyScan(Row):
    symbol: str
    timeframe: str
    method: str
    bars: int
    rows: list[Json]


class AnomalyWatch(Row):
    bot: str
    method: str
    found: int
    attached: bool
    since: dict[str, Any]


class Job(Row):
    """A background job (anomaly detection, ML training, knowledge-base ingest): `status` running | completed |
    failed, with `progress` and, once done, its result or `error`."""

    id: str
    status: str
    progress: Number | None = None
    error: str | None = None


class MlModel(Row):
    id: str
    status: str | None = None
    live: Json | None = None


class Sentiment(Row):
    symbol: str
    asof: IsoTime
    texts: int
    mean: Number | None = None
    count: Number | None = None
    pos_share: Number | None = None
    neg_share: Number | None = None
    neg_events: Number | None = None
    news: list[Json]
    fear_greed: Json | None = None


class NewsItem(Row):
    ts: IsoTime
    source: str | None = None
    title: str | None = None
    url: str | None = None
    score: Number | None = None
    label: str | None = None


class SentimentPoint(Row):
    ts: IsoTime
    mean: Number | None = None
    count: Number | None = None
    pos_share: Number | None = None
    neg_share: Number | None = None
    neg_events: Number | None = None


class TrackedSignal(Row):
    time: IsoTime
    source: str
    symbol: str
    timeframe: str
    direction: int
    confidence: Number | None = None
    price: Number | None = None
    exit_time: IsoTime | None = None


class Accuracy(Row):
    """Hit rate next to the no-skill baseline, Brier score, calibration: `overall`, per group, `drift`."""

    overall: Json
    groups: list[Json]
    drift: list[Json]


class TrainingStatus(Row):
    jobs: list[Json]
    coins: list[Json]


class LadderStage(Row):
    stage: int
    trigger_pnl_pct: Number
    trigger_price: Number
    buy_notional: Number
    cost_after: Number
    quantity_after: Number
    avg_after: Number


class Ladder(Row):
    avg_price: Number
    quantity: Number
    cost: Number
    stages: list[LadderStage]


class Levels(Row):
    """Per bar (`time`): LONG/SHORT (`long`, `short`), `active`, and every timeframe's `lower_<tf>`/`upper_<tf>`
    bounds (null where unknown)."""

    symbol: str
    timeframe: str
    memory: str
    time: list[IsoTime]
    long: list[Number | None]
    short: list[Number | None]


class KbStatus(Row):
    ingested: bool
    chunks: int


class KbHit(Row):
    source: str
    anchor: str
    title: str | None = None
    text: str
    score: Number
    kind: str
    chunk_id: str


class KbChunk(Row):
    id: str
    source: str
    anchor: str
    text: str
    kind: str


class BriefStatement(Row):
    text: str
    citations: list[int]


class Brief(Row):
    title: str
    generated_at: IsoTime
    statements: list[BriefStatement]
    citations: list[Json]
    text: str
