"""The QuantDesk crypto-lexicon scorer: lexicon valences combined by negation, intensifier and contrast rules.

Rules (left to right over the tokens of one text; a clause ends at , ; : ! ? or a spaced dash):
- a term is the longest lexicon entry (up to 4 words) starting at a token; tokens naming an asset (entities)
  are skipped, so "Optimism" the coin is not optimism the word;
- negation: a negator ("not", "won't", "fails to", "no longer", "fake"...) multiplies the valence of every
  sentiment term in the next 3 tokens of its clause by its factor (-0.8: the sign flips, the magnitude shrinks);
- boosters ("massive", "sharply", "never been more") add their value to the magnitude of the next sentiment
  term within 3 tokens, or, for an -ly adverb right after a term ("falls sharply"), to that term; diminishers
  ("slightly", "attempted") multiply the next term's magnitude by their factor;
- composition: an `increase` verb right after a term pushes it further ("failures rise" is worse), a
  `decrease` verb right after a term flips it ("hacks fall" is good news, "rally fizzles" bad news);
  a `reversal` ("averted", "lifting", "reimburses", "recovers") flips every negative term of its clause;
- "up 5%" / "down 5%" count +-1.6, an explicitly signed percentage +-1.2;
- contrast: with "but"/"however"... (value w) the terms after the LAST contrast word weigh w, those before 2-w
  (when some term follows it); concession: terms after "despite"/"although"... weigh the word's value until the
  clause ends;
- exclamation marks add emphasis (0.292 each, at most 3), like VADER;
- score = x / sqrt(x^2 + 15) for the sum x (VADER's normalisation), in (-1, 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence, Set
from typing import Any

from quantdesk.intel.sentiment.lexicon import MAX_PHRASE, Lexicon, crypto_lexicon
from quantdesk.intel.sentiment.text import BOUNDARIES, is_number, tokenize

ALPHA = 15.0
NEGATION_WINDOW = 3
BOOST_WINDOW = 3
UP_DOWN = 1.6
SIGNED_PCT = 1.2
EXCLAIM = 0.292
CAPS_EMPHASIS = 0.5
FLIP = -0.8  # a decrease or reversal applied to a term: the sign flips, the magnitude shrinks like negation
PUSH = 0.5  # share of an increase verb's magnitude added to the term it follows

_WORD, _INC, _DEC, _REV, _OTHER = 0, 1, 2, 3, 4
_FINDER: Any = None


def normalise(x: float) -> float:
    return x / math.sqrt(x * x + ALPHA) if x else 0.0


class CryptoLexiconScorer:
    """Scores text with a Lexicon (the bundled crypto lexicon by default). Pure Python, ~10-30 us a headline."""

    name = "crypto"

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lx = lexicon or crypto_lexicon()
        self._valence: dict[str, tuple[float, int]] = {}
        for table, kind in ((lx.words, _WORD), (lx.increases, _INC), (lx.decreases, _DEC), (lx.reversals, _REV)):
            for term, v in table.items():
                self._valence[term] = (v, kind)
        self._any = {**lx.negators, **lx.boosters, **lx.diminishers, **lx.contrasts, **lx.concessions,
                     **{t: v for t, (v, _k) in self._valence.items()}}

    def score(self, text: str) -> float:
        return self.score_tokens(tokenize(text))

    def score_many(self, texts: Sequence[str]) -> list[float]:
        return [self.score_tokens(tokenize(t)) for t in texts]

    def raw_tokens(self, tokens: Sequence[str], skip: Set[int] | None = None) -> float:
        """The un-normalised sum x (for diagnostics and tests)."""
        return self._sum(tokens, self._named(tokens) if skip is None else skip)

    def score_tokens(self, tokens: Sequence[str], skip: Set[int] | None = None) -> float:
        """Score of a token list; `skip` = indices of tokens naming assets (found here when not given)."""
        return normalise(self._sum(tokens, self._named(tokens) if skip is None else skip))

    @staticmethod
    def _named(tokens: Sequence[str]) -> Set[int]:
        global _FINDER
        if _FINDER is None:
            from quantdesk.intel.sentiment.entities import EntityFinder

            _FINDER = EntityFinder()
        return _FINDER.spans(tokens)[1]

    def _sum(self, tokens: Sequence[str], skip: Set[int]) -> float:  # noqa: C901 - one pass, kept for speed
        lx = self.lexicon
        valence, negators, boosters = self._valence, lx.negators, lx.boosters
        diminishers, contrasts, concessions, heads, any_term = (
            lx.diminishers, lx.contrasts, lx.concessions, lx.phrase_heads, self._any)
        low = [t.lower() for t in tokens]
        n = len(low)
        vals: list[float] = []
        kinds: list[int] = []
        val_end = -1  # token index just after the last term (for post-boosters and composition)
        neg_left = 0
        neg_factor = 1.0
        boost = 0.0
        boost_left = 0
        dim = 1.0
        conc = 1.0
        contrast_at = -1
        contrast_w = 1.0
        clause_start = 0
        reverse = False
        exclaim = 0
        i = 0
        while i <= n:
            if i == n or low[i] in BOUNDARIES:
                if reverse:
                    for k in range(clause_start, len(vals)):
                        if vals[k] < 0:
                            vals[k] *= FLIP
                    reverse = False
                if i == n:
                    break
                if low[i] == "!":
                    exclaim += 1
                clause_start = len(vals)
                neg_left = boost_left = 0
                boost, dim, conc = 0.0, 1.0, 1.0
                i += 1
                continue
            if i in skip:  # an asset's name ("Optimism", "Maker") carries no sentiment
                i += 1
                if neg_left:
                    neg_left -= 1
                continue
            t = low[i]
            term, span = t, 1
            if t in heads:
                for size in range(min(MAX_PHRASE, n - i), 1, -1):
                    cand = " ".join(low[i : i + size])
                    if cand in any_term:
                        term, span = cand, size
                        break
            hit = valence.get(term)
            v: float | None = None
            kind = _OTHER
            if hit is not None:
                v, kind = hit
                if span == 1 and len(t) >= 5 and tokens[i].isupper():
                    v += CAPS_EMPHASIS if v > 0 else -CAPS_EMPHASIS
            elif (t == "up" or t == "down") and i + 1 < n and is_number(low[i + 1]):
                v, kind = (UP_DOWN if t == "up" else -UP_DOWN), _WORD
            elif span == 1 and t[0] in "+-−" and t.endswith("%") and len(t) > 2:
                v, kind = (SIGNED_PCT if t[0] == "+" else -SIGNED_PCT), _WORD
            negated_here = False
            if v is not None:
                follows = val_end == i and kinds and kinds[-1] == _WORD and len(vals) > clause_start
                if follows and kind == _DEC:
                    vals[-1] *= FLIP  # "hacks fall", "rally fizzles": the verb turns its subject around
                    kinds[-1] = _DEC
                    val_end = i + span
                    i += span
                    continue
                if follows and kind == _INC:
                    prev = vals[-1]
                    vals[-1] = prev + (abs(v) if prev > 0 else -abs(v)) * PUSH * conc
                    kinds[-1] = _INC
                    val_end = i + span
                    i += span
                    continue
                if boost:
                    v += boost if v > 0 else -boost
                    boost, boost_left = 0.0, 0
                if dim != 1.0:
                    v *= dim
                    dim = 1.0
                negated = neg_left > 0
                if negated:
                    v *= neg_factor
                vals.append(v * conc)
                kinds.append(kind)
                val_end = i + span
                if kind == _REV and not negated:  # "unlikely to recover" reverses nothing
                    reverse = True
            elif term in negators:
                neg_left, neg_factor = NEGATION_WINDOW, negators[term]
                negated_here = True
            elif term in boosters:
                b = boosters[term]
                if term.endswith("ly") and val_end == i and vals:
                    last = vals[-1]
                    vals[-1] = last + (b if last > 0 else -b) * conc
                    val_end = i + span
                else:
                    boost += b
                    boost_left = BOOST_WINDOW + 1
            elif term in diminishers:
                dim *= diminishers[term]
            elif term in contrasts:
                contrast_at, contrast_w = len(vals), contrasts[term]
                neg_left = 0
            elif term in concessions:
                conc = concessions[term]
                neg_left = 0
            if neg_left and not negated_here:
                neg_left = max(0, neg_left - span)
            if boost_left:
                boost_left -= span
                if boost_left <= 0:
                    boost, boost_left = 0.0, 0
            i += span
        if 0 <= contrast_at < len(vals):
            before = 2.0 - contrast_w
            for k in range(len(vals)):
                vals[k] *= before if k < contrast_at else contrast_w
        x = math.fsum(vals)
        if exclaim and x:
            e = EXCLAIM * min(exclaim, 3)
            x += e if x > 0 else -e
        return x
