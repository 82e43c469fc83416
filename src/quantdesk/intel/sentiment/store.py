"""Storing scored texts in the database (SQLite or PostgreSQL; tables of revision sentiment_0001).

`SentimentStore.add(raw_items)` scores each new text once (score, label, entities, events), de-duplicates it
(key = sha256 of the normalised title and its UTC publication date, so the same story from two feeds is stored
once, and a recurring title on another day is not lost) and stores it with its publication time. A text whose
source gives no publication time is stamped with the time it was fetched: it then counts from when QuantDesk
first saw it, never earlier. Per-asset reads (`mentions`) feed the series, the risk rule and the API.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quantdesk.core.errors import DataError
from quantdesk.core.timeutil import iso
from quantdesk.intel.sentiment.analyzer import Scorer, analyze
from quantdesk.intel.sentiment.entities import DEFAULT_QUOTE, base_of, symbol_for
from quantdesk.intel.sentiment.models import SentimentIndexValue, SentimentItem, SentimentMention
from quantdesk.intel.sentiment.types import DEFAULT_THRESHOLD

MAX_TITLE = 2000
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class RawItem:
    """A text as a source delivers it. `published_ns` None = unknown (the fetch time is used)."""

    source: str
    title: str
    published_ns: int | None = None
    url: str | None = None
    body: str | None = None


def dedup_key(title: str, published_ns: int) -> str:
    norm = _SPACES.sub(" ", title.strip().lower()).strip(" .!?\"'")
    day = iso(published_ns)[:10]
    return hashlib.sha256(f"{norm}|{day}".encode()).hexdigest()


@dataclass(frozen=True)
class Mentions:
    """One asset's texts as arrays, ordered by publication time (then insertion)."""

    seq: np.ndarray  # int64, insertion order (for "what is new since")
    ts: np.ndarray  # int64 UTC ns
    score: np.ndarray  # float64
    positive: np.ndarray  # bool
    negative: np.ndarray  # bool
    events: tuple[str, ...]  # space-separated kinds per row

    @classmethod
    def empty(cls) -> Mentions:
        z = np.zeros(0)
        return cls(z.astype(np.int64), z.astype(np.int64), z, z.astype(bool), z.astype(bool), ())

    def __len__(self) -> int:
        return len(self.ts)


class SentimentStore:
    def __init__(self, url: str | None = None, *, engine: sa.Engine | None = None) -> None:
        if engine is None:
            from quantdesk.storage.db import get_engine

            engine = get_engine(url)
        self.engine = engine

    # ---- writing --------------------------------------------------------------------------------------
    def add(self, raw: Iterable[RawItem], *, scorer: Scorer | str = "crypto",
            threshold: float = DEFAULT_THRESHOLD, quote: str = DEFAULT_QUOTE,
            now_ns: int | None = None) -> list[dict[str, Any]]:
        """Score and store the texts not stored yet; returns the new ones (as `items()` rows), oldest first."""
        now = now_ns if now_ns is not None else time.time_ns()
        fresh: dict[str, RawItem] = {}
        for r in raw:
            title = (r.title or "").strip()
            if not title:
                continue
            pub = r.published_ns if r.published_ns is not None else now
            key = dedup_key(title, pub)
            if key not in fresh:
                fresh[key] = RawItem(r.source, title[:MAX_TITLE], pub, r.url, r.body)
        if not fresh:
            return []
        with Session(self.engine) as s:
            known = set()
            keys = list(fresh)
            for k in range(0, len(keys), 500):
                known |= set(s.scalars(sa.select(SentimentItem.key).where(SentimentItem.key.in_(keys[k:k + 500]))))
        todo = [(k, r) for k, r in fresh.items() if k not in known]
        if not todo:
            return []
        scored = analyze([r.title for _, r in todo], scorer, threshold=threshold, quote=quote)
        rows = []
        for (key, r), sc in zip(todo, scored, strict=True):
            item = SentimentItem(key=key, source=r.source[:100], published_ns=int(r.published_ns or now),
                                 fetched_ns=now, title=r.title, body=r.body, url=(r.url or None) and r.url[:1000],
                                 score=float(sc.score), label=sc.label, scorer=sc.scorer,
                                 entities=" ".join(base_of(e) for e in sc.entities)[:500],
                                 events=" ".join(sc.events)[:300])
            rows.append(item)
        try:
            stored = self._insert(rows)
        except IntegrityError:  # another poller stored some of them meanwhile: one by one
            stored = []
            for row in rows:
                try:
                    stored += self._insert([row])
                except IntegrityError:
                    continue
        return sorted(stored, key=lambda d: (d["published_ns"], d["seq"]))

    def _insert(self, rows: Sequence[SentimentItem]) -> list[dict[str, Any]]:
        with Session(self.engine) as s, s.begin():
            fresh = [SentimentItem(**{c.key: getattr(r, c.key) for c in SentimentItem.__table__.columns
                                      if c.key != "seq"}) for r in rows]
            s.add_all(fresh)
            s.flush()
            for item in fresh:
                for base in item.entities.split():
                    s.add(SentimentMention(item_seq=item.seq, base=base, published_ns=item.published_ns,
                                           score=item.score, label=item.label, events=item.events))
            return [_row(i) for i in fresh]

    def add_index_values(self, source: str, values: Iterable[tuple[int, float, str | None]]) -> int:
        """Store (ts_ns, value, classification) readings not stored yet; returns how many were new."""
        vals = {int(ts): (float(v), c) for ts, v, c in values}
        if not vals:
            return 0
        with Session(self.engine) as s, s.begin():
            have = set(s.scalars(sa.select(SentimentIndexValue.ts_ns).where(
                SentimentIndexValue.source == source, SentimentIndexValue.ts_ns.in_(list(vals)))))
            new = [SentimentIndexValue(source=source, ts_ns=ts, value=v, classification=c)
                   for ts, (v, c) in sorted(vals.items()) if ts not in have]
            s.add_all(new)
        return len(new)

    # ---- reading --------------------------------------------------------------------------------------
    def items(self, *, symbol: str | None = None, limit: int = 100, since_ns: int | None = None,
              until_ns: int | None = None, event: str | None = None, quote: str = DEFAULT_QUOTE) -> list[dict[str, Any]]:
        """Stored texts, newest first (publication time), optionally naming `symbol`'s base asset."""
        q = sa.select(SentimentItem)
        if symbol:
            sub = sa.select(SentimentMention.item_seq).where(SentimentMention.base == base_of(symbol))
            q = q.where(SentimentItem.seq.in_(sub))
        if since_ns is not None:
            q = q.where(SentimentItem.published_ns >= since_ns)
        if until_ns is not None:
            q = q.where(SentimentItem.published_ns <= until_ns)
        if event:
            q = q.where(SentimentItem.events.like(f"%{event}%"))
        q = q.order_by(SentimentItem.published_ns.desc(), SentimentItem.seq.desc()).limit(limit)
        with Session(self.engine) as s:
            return [_row(i, quote) for i in s.scalars(q)]

    def mentions(self, base: str, *, after_seq: int = -1, upto_ns: int | None = None) -> Mentions:
        """`base`'s texts with seq > after_seq (and published <= upto_ns), by publication time."""
        m = SentimentMention
        q = (sa.select(m.item_seq, m.published_ns, m.score, m.label, m.events)
             .where(m.base == base.upper(), m.item_seq > after_seq))
        if upto_ns is not None:
            q = q.where(m.published_ns <= upto_ns)
        q = q.order_by(m.published_ns, m.item_seq)
        with Session(self.engine) as s:
            rows = s.execute(q).all()
        if not rows:
            return Mentions.empty()
        seq, ts, score, label, events = zip(*rows, strict=True)
        lab = np.array(label)
        return Mentions(np.array(seq, dtype=np.int64), np.array(ts, dtype=np.int64), np.array(score, dtype=float),
                        lab == "positive", lab == "negative", tuple(events))

    def index_values(self, source: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        q = sa.select(SentimentIndexValue)
        if source:
            q = q.where(SentimentIndexValue.source == source)
        q = q.order_by(SentimentIndexValue.ts_ns.desc()).limit(limit)
        with Session(self.engine) as s:
            return [{"source": r.source, "ts": iso(r.ts_ns), "ts_ns": r.ts_ns, "value": r.value,
                     "classification": r.classification} for r in s.scalars(q)]

    def count(self) -> int:
        with Session(self.engine) as s:
            return int(s.scalar(sa.select(sa.func.count()).select_from(SentimentItem)) or 0)

    def bases(self) -> list[tuple[str, int]]:
        """Assets with stored mentions and how many, most mentioned first."""
        m = SentimentMention
        with Session(self.engine) as s:
            rows = s.execute(sa.select(m.base, sa.func.count()).group_by(m.base)
                             .order_by(sa.func.count().desc(), m.base)).all()
        return [(b, int(c)) for b, c in rows]


def _row(i: SentimentItem, quote: str = DEFAULT_QUOTE) -> dict[str, Any]:
    return {
        "seq": i.seq,
        "ts": iso(i.published_ns),
        "published_ns": i.published_ns,
        "fetched": iso(i.fetched_ns),
        "source": i.source,
        "title": i.title,
        "url": i.url,
        "score": i.score,
        "label": i.label,
        "scorer": i.scorer,
        "entities": [symbol_for(b, quote) for b in i.entities.split()],
        "events": i.events.split(),
    }


def open_store(url: str | None = None) -> SentimentStore:
    """The store of the configured database (created and migrated on first use)."""
    return SentimentStore(url)


def require_text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{what}: expected non-empty text")
    return value
