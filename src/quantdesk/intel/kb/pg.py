"""PostgreSQL full-text search over `kb_chunks`: the lexical half of hybrid retrieval when the configured
database is PostgreSQL (the vector half stays in the embedded index).

The question's words become an OR tsquery (`to_tsquery('english', 'w1 | w2 | ...')`, PostgreSQL's own English
stemming and stopwords) ranked by `ts_rank` normalised by document length, over the GIN-indexed expression the
migration `kb_0001` created.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from quantdesk.intel.kb.index import Index
from quantdesk.intel.kb.models import TSVECTOR_SQL, KbChunk
from quantdesk.intel.kb.text import _IRREGULAR, STOPWORDS, words

_SAFE = re.compile(r"^[a-z0-9]+$")
_BATCH = 500


def _families() -> dict[str, list[str]]:
    """word -> the irregular forms our own stemmer treats as the same word ('lose' -> lost, loss, losing...),
    which PostgreSQL's English stemmer keeps apart."""
    groups: dict[str, list[str]] = {}
    for form, base in _IRREGULAR.items():
        groups.setdefault(base, [base]).append(form)
    return {w: group for group in groups.values() for w in group}


_FAMILY = _families()


def tsquery_text(question: str) -> str:
    """'why did my bot lose money?' -> 'bot | lose | loss | lost | ... | money' (safe for to_tsquery)."""
    terms: list[str] = []
    for w in words(question):
        for part in re.split(r"[^a-z0-9]+", w):
            if part and _SAFE.match(part) and part not in STOPWORDS:
                for form in [part, *_FAMILY.get(part, [])]:
                    if form not in terms:
                        terms.append(form)
    return " | ".join(terms)


class PgFullText:
    def __init__(self, url: str) -> None:
        from quantdesk.storage.db import get_engine

        self.engine = get_engine(url)

    def sync(self, index: Index) -> dict[str, int]:
        """Make kb_chunks hold exactly the index's chunks (insert new ids, delete gone ones)."""
        want = {c.id: c for c in index.chunks}
        now = datetime.now(UTC)
        with Session(self.engine) as s, s.begin():
            have = set(s.scalars(sa.select(KbChunk.id)))
            gone = list(have - set(want))
            for i in range(0, len(gone), _BATCH):
                s.execute(sa.delete(KbChunk).where(KbChunk.id.in_(gone[i:i + _BATCH])))
            new = [want[i] for i in want if i not in have]
            for i in range(0, len(new), _BATCH):
                s.execute(sa.insert(KbChunk), [
                    {"id": c.id, "source": c.source, "anchor": c.anchor[:300], "title": c.title, "body": c.text,
                     "kind": c.kind, "content_hash": c.hash, "updated_at": now} for c in new[i:i + _BATCH]])
        return {"inserted": len(new), "deleted": len(gone), "rows": len(want)}

    def search(self, question: str, n: int) -> list[tuple[str, float]]:
        q = tsquery_text(question)
        if not q:
            return []
        sql = sa.text(
            f"SELECT id, ts_rank({TSVECTOR_SQL}, q, 1) AS r FROM kb_chunks, to_tsquery('english', :q) AS q "
            f"WHERE {TSVECTOR_SQL} @@ q ORDER BY r DESC, id LIMIT :n")
        with self.engine.connect() as conn:
            return [(row[0], float(row[1])) for row in conn.execute(sql, {"q": q, "n": n})]

    def lexical_for(self, index: Index) -> Callable[[str, int], list[tuple[int, float]]]:
        """A lexical ranker for `Index.search`: PostgreSQL's hits mapped to index positions."""

        def lexical(question: str, n: int) -> list[tuple[int, float]]:
            out = []
            for chunk_id, score in self.search(question, n):
                pos = index.by_id.get(chunk_id)
                if pos is not None:
                    out.append((pos, score))
            return out

        return lexical

    def count(self) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(KbChunk)).scalar_one()
