"""Vectors trained locally on the corpus: TF-IDF (our tokenizer, word unigrams and bigrams) reduced by truncated
SVD (latent semantic analysis), both from scikit-learn. No model is downloaded; the fitted model is saved as
plain arrays (npz, no pickle), so it loads in milliseconds and across scikit-learn versions.

LSA links terms that occur in the same passages ("drawdown" and "peak", "slippage" and "fill"), which is what
the lexical BM25 list misses; reciprocal-rank fusion of the two lists is what retrieval uses.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from quantdesk.intel.kb.text import tokenize

MAX_DIMS = 256


def analyzer(text: str) -> list[str]:
    """Unigrams and adjacent bigrams of index terms."""
    terms = tokenize(text)
    return terms + [f"{a} {b}" for a, b in zip(terms, terms[1:], strict=False)]


class LsaEmbedder:
    """fit(texts) once per corpus; transform(texts) -> L2-normalised float32 rows."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self.idf: np.ndarray = np.zeros(0)
        self.components: np.ndarray = np.zeros((0, 0), dtype=np.float32)  # dims x vocabulary
        self._vectorizer = None

    @property
    def dims(self) -> int:
        return int(self.components.shape[0])

    @property
    def fitted(self) -> bool:
        return self.components.size > 0

    def fit(self, texts: Sequence[str], *, seed: int = 0) -> LsaEmbedder:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
        from threadpoolctl import threadpool_limits

        min_df = 2 if len(texts) >= 50 else 1  # a term of one passage adds nothing to co-occurrence structure
        vec = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=min_df, dtype=np.float32)
        matrix = vec.fit_transform(texts)
        dims = max(1, min(MAX_DIMS, matrix.shape[0] - 1, matrix.shape[1] - 1))
        svd = TruncatedSVD(n_components=dims, algorithm="randomized", n_iter=3, random_state=seed)
        with threadpool_limits(limits=1), warnings.catch_warnings():  # BLAS threads only fight on 2 busy cores
            warnings.simplefilter("ignore", RuntimeWarning)  # explained-variance ratio of a one-passage corpus
            svd.fit(matrix)
        self.vocabulary = {term: int(i) for term, i in vec.vocabulary_.items()}
        self.idf = vec.idf_.astype(np.float32)
        self.components = svd.components_.astype(np.float32)
        self._vectorizer = vec
        return self

    def _tfidf(self):
        if self._vectorizer is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vec = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, vocabulary=self.vocabulary,
                                  dtype=np.float32)
            vec.idf_ = self.idf
            self._vectorizer = vec
        return self._vectorizer

    def embed_one(self, text: str) -> np.ndarray:
        """One text without scikit-learn (a query: no 2 s import on the CLI's path). Equal to `transform` up to
        float rounding: sublinear tf x idf projected on the components, then L2-normalised (the tf-idf row's own
        normalisation cancels out in the final one)."""
        counts: dict[int, int] = {}
        for term in analyzer(text):
            j = self.vocabulary.get(term)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.zeros(self.dims, dtype=np.float32)
        cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        out = (self.components[:, cols].astype(np.float64) @ (tf * self.idf[cols])).astype(np.float32)
        norm = float(np.linalg.norm(out))
        return out / norm if norm > 0 else out

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        if not self.fitted:
            raise RuntimeError("the embedder is not fitted")
        matrix = self._tfidf().transform(texts)
        out = np.asarray(matrix @ self.components.T, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)

    def save(self, path: Path) -> None:
        terms = np.array(sorted(self.vocabulary, key=self.vocabulary.__getitem__), dtype=object)
        with path.open("wb") as fh:
            np.savez(fh, terms=terms.astype(str), idf=self.idf, components=self.components)

    @classmethod
    def load(cls, path: Path) -> LsaEmbedder:
        with np.load(path, allow_pickle=False) as data:
            self = cls()
            self.vocabulary = {str(t): i for i, t in enumerate(data["terms"])}
            self.idf = data["idf"]
            self.components = data["components"]
        return self
