"""The searchable index in memory: chunks, their vectors, a BM25 index (bm25s) and term document frequencies.

`Index.build` makes one from chunks (reusing the vectors of chunks whose id it already has, embedding only new
ones); `save`/`load` persist it as plain files (JSON lines, npy, npz, bm25s's own arrays: no pickle).
Lexical search is BM25 here; `quantdesk.intel.kb.pg` swaps in PostgreSQL full-text search when the database
is PostgreSQL. Vector search is a dot product with the normalised LSA vectors (exact, vectorised).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from quantdesk.intel.kb.chunks import Chunk
from quantdesk.intel.kb.embed import LsaEmbedder
from quantdesk.intel.kb.text import tokenize

RRF_K = 60
CANDIDATES = 60  # per list, before fusion
# Lexical evidence leads, the vectors add what is said in other words: on the question set, equal weights
# lost 1.2 points of recall@5 to BM25 alone and vector weight 0.5 kept the hybrid within 0.6 points of it
# (benchmarks/bench_kb.py prints the ablation).
WEIGHTS = (1.0, 0.5)


@dataclass(frozen=True, slots=True)
class Ranked:
    """One fused hit: the chunk's position in the index, its RRF score and what each list said."""

    pos: int
    score: float
    lexical_rank: int | None
    lexical_score: float
    vector_rank: int | None
    cosine: float


def _bm25s():
    try:
        import bm25s
    except ModuleNotFoundError:
        from quantdesk.core.errors import ConfigError

        raise ConfigError("the knowledge base needs its extras: pip install 'quantdesk[kb]' (bm25s, scikit-learn, "
                          "pypdf, mcp)") from None
    return bm25s


def rrf(lists: Sequence[Sequence[int]], k: int = RRF_K, weights: Sequence[float] | None = None
        ) -> dict[int, float]:
    """Reciprocal-rank fusion: sum over lists of weight / (k + rank), ranks from 1."""
    scores: dict[int, float] = {}
    for i, ranking in enumerate(lists):
        w = 1.0 if weights is None else weights[i]
        for rank, pos in enumerate(ranking, start=1):
            scores[pos] = scores.get(pos, 0.0) + w / (k + rank)
    return scores


class Index:
    def __init__(self, chunks: list[Chunk], vectors: np.ndarray, embedder: LsaEmbedder, bm25: object,
                 df: dict[str, int], collections: list[str]) -> None:
        self.chunks = chunks
        self.vectors = vectors
        self.embedder = embedder
        self.bm25 = bm25
        self.df = df
        self.collections = collections  # per chunk: the collection it belongs to
        self.by_id = {c.id: i for i, c in enumerate(chunks)}
        self._terms: dict[int, frozenset[str]] = {}
        self._bm25_vocab: dict[str, int] = getattr(bm25, "vocab_dict", {}) or {}

    def __len__(self) -> int:
        return len(self.chunks)

    # ---- building ----------------------------------------------------------------------------------------
    @staticmethod
    def build(chunks: list[Chunk], collections: list[str], *, previous: Index | None = None,
              refit: bool = True, progress: Callable[[str], None] | None = None) -> Index:
        """Index `chunks`. With `refit` the LSA model is trained again on them (all vectors recomputed); without,
        `previous`'s model embeds only the chunks it does not already have."""
        bm25s = _bm25s()
        say = progress or (lambda _m: None)
        tokens = [tokenize(c.body) for c in chunks]
        say(f"BM25 over {len(chunks)} chunks")
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        bm25.index([t or [""] for t in tokens], show_progress=False)
        df = Counter(term for t in tokens for term in set(t))
        if refit or previous is None or not previous.embedder.fitted:
            say("training the vectors (TF-IDF + SVD)")
            embedder = LsaEmbedder().fit([c.body for c in chunks] or [""])
            vectors = embedder.transform([c.body for c in chunks]) if chunks else np.zeros((0, embedder.dims),
                                                                                          np.float32)
        else:
            embedder = previous.embedder
            vectors = np.zeros((len(chunks), embedder.dims), dtype=np.float32)
            new = []
            for i, c in enumerate(chunks):
                j = previous.by_id.get(c.id)
                if j is None:
                    new.append(i)
                else:
                    vectors[i] = previous.vectors[j]
            say(f"embedding {len(new)} new chunks")
            if new:
                vectors[new] = embedder.transform([chunks[i].body for i in new])
        return Index(chunks, vectors, embedder, bm25, dict(df), collections)

    # ---- persistence -------------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "chunks.jsonl").open("w", encoding="utf-8") as fh:
            for c, coll in zip(self.chunks, self.collections, strict=True):
                fh.write(json.dumps({**c.as_dict(), "collection": coll}, ensure_ascii=False) + "\n")
        np.save(folder / "vectors.npy", self.vectors)
        self.embedder.save(folder / "embedder.npz")
        self.bm25.save(str(folder / "bm25"), show_progress=False)  # type: ignore[attr-defined]
        (folder / "df.json").write_text(json.dumps(self.df), encoding="utf-8")

    @staticmethod
    def load(folder: Path) -> Index:
        bm25s = _bm25s()
        chunks, collections = [], []
        with (folder / "chunks.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                chunks.append(Chunk.from_dict(row))
                collections.append(row.get("collection", ""))
        vectors = np.load(folder / "vectors.npy", allow_pickle=False)
        embedder = LsaEmbedder.load(folder / "embedder.npz")
        bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False, verbosity=0)
        df = json.loads((folder / "df.json").read_text(encoding="utf-8"))
        return Index(chunks, vectors, embedder, bm25, df, collections)

    # ---- search ------------------------------------------------------------------------------------------
    def terms(self, pos: int) -> frozenset[str]:
        """The index terms of a chunk (title and text), computed once per chunk."""
        found = self._terms.get(pos)
        if found is None:
            found = self._terms[pos] = frozenset(tokenize(self.chunks[pos].body))
        return found

    def idf(self, term: str) -> float:
        """BM25-style idf; a term the corpus never uses gets the highest value (it is the most telling)."""
        n = max(1, len(self.chunks))
        d = self.df.get(term, 0)
        return math.log(1.0 + (n - d + 0.5) / (d + 0.5))

    def lexical(self, terms: list[str], n: int = CANDIDATES) -> list[tuple[int, float]]:
        known = [t for t in terms if t in self._bm25_vocab]
        if not known or not self.chunks:
            return []
        scores = np.asarray(self.bm25.get_scores(known), dtype=np.float64)  # type: ignore[attr-defined]
        return _top(scores, n, positive=True)

    def vector(self, qvec: np.ndarray, n: int = CANDIDATES) -> list[tuple[int, float]]:
        if not self.chunks:
            return []
        # einsum runs single-threaded in numpy's own loop: BLAS threads cost more than they save on a busy machine
        return _top(np.einsum("ij,j->i", self.vectors, qvec), n, positive=True)  # cosine <= 0: unrelated

    def embed_query(self, query: str) -> np.ndarray:
        return self.embedder.embed_one(query)

    def search(self, query: str, k: int = 5, *, lexical: Callable[[str, int], list[tuple[int, float]]]
               | None = None, allowed: Callable[[int], bool] | None = None) -> list[Ranked]:
        """Hybrid search: BM25 (or `lexical(query, n)`) and vector candidates fused by reciprocal rank."""
        terms = tokenize(query)
        lex = lexical(query, CANDIDATES) if lexical is not None else self.lexical(terms, CANDIDATES)
        vec = self.vector(self.embed_query(query), CANDIDATES) if terms else []
        if allowed is not None:
            lex = [x for x in lex if allowed(x[0])]
            vec = [x for x in vec if allowed(x[0])]
        fused = rrf([[p for p, _ in lex], [p for p, _ in vec]], weights=WEIGHTS)
        lex_info = {p: (r, s) for r, (p, s) in enumerate(lex, start=1)}
        vec_info = {p: (r, s) for r, (p, s) in enumerate(vec, start=1)}
        order = sorted(fused, key=lambda p: (-fused[p], p))[:k]
        return [Ranked(p, fused[p], lex_info.get(p, (None, 0.0))[0], lex_info.get(p, (None, 0.0))[1],
                       vec_info.get(p, (None, 0.0))[0], vec_info.get(p, (None, 0.0))[1]) for p in order]


def _top(scores: np.ndarray, n: int, *, positive: bool) -> list[tuple[int, float]]:
    """Best n (position, score), score descending, ties by position; only scores > 0 when `positive`."""
    if scores.size == 0:
        return []
    n = min(n, scores.size)
    cand = np.argpartition(-scores, n - 1)[:n] if n < scores.size else np.arange(scores.size)
    cand = cand[np.lexsort((cand, -scores[cand]))]
    return [(int(i), float(scores[i])) for i in cand if not positive or scores[i] > 0]
