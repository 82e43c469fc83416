"""The QuantDesk crypto-lexicon scorer: lexicon valences combined by negation, intensifier, composition and
contrast rules, in one left-to-right pass over the tokens of a text (word classes the rules use: grammar.py).

A clause ends at , ; : ! ? or a spaced dash. A term is the longest lexicon entry (up to 4 words) starting at a
token; a word the lexicon lacks takes the entry of another form of it ("plunging": "plunge"). Tokens naming an
asset are skipped ("Optimism" the coin is not optimism the word).

- Negation: a negator ("not", "won't", "fails to", "no longer") multiplies the valence of every term in the next
  4 tokens of its clause by its factor (-0.8: the sign flips, the magnitude shrinks); a conjunction ("and",
  "because") ends its scope. Denials ("denies reports of") only weaken what follows (-0.1).
- Intensity: boosters ("massive", "sharply") add to the magnitude of the next term within 3 tokens, or, for an
  -ly adverb right after a term ("falls sharply"), to that term; in proportion for a weak term ("extremely
  oversold" stays weak). Diminishers ("slightly") scale the next term. A `modifier` ("record") right before a
  term of the opposite sign boosts it instead of counting on its own ("record losses").
- Composition (a movement's sign depends on what moves): `increase`/`amplify` terms push their subject further,
  `decrease`/`reduce` terms turn it around (x -0.65). The subject is the run of sentiment words just before
  the verb, at most 2 ordinary tokens away ("hack losses fall" is good news, "outflows hit record high" bad),
  unless an asset is named in between (then the asset moves), the run ends with an adjective describing
  something else ("troubled exchange's token falls") or names an agent ("Ponzi collapses"). Levels ("record
  high", "lowest") and attributive adjectives ("strong", "weak") take a subject only through a linking verb
  ("fees hit their lowest", "demand remains strong"). With no subject, a `reduce`/`amplify` verb takes the term
  up to 2 tokens after it as its object ("cuts fees", "erases early gains", "failed hack", "sparks fears", "halts
  the decline"), an `increase`/`decrease` word the term right after it ("rising fees", "weak demand");
  otherwise the movement counts on its own (price is the default subject: "Bitcoin falls"). A level word after
  a movement in the same direction intensifies it ("falls 8% to its lowest level"); after "from"/"off" it is a
  reference point, not news ("retreats from record high").
- Reversal: a `reversal` ("averted", "recovers", "reimburses") flips every negative term of its clause from its own
  part on (x -0.65).
- A bad actor punished is good news: in a clause naming an agent ("hacker", "scammers") and a punishment
  ("arrested", "pleads guilty"), the agent counts 0 and the punishment flips. A comparison flips when a rival
  market precedes it and an asset follows ("gold outshines Bitcoin").
- Movements in figures: "up 5%" / "down 5%" count +-1.6, an explicitly signed percentage +-1.2, "hits $1
  billion" +0.8; each composes with a subject like a movement ("liquidations hit $1 billion").
- Contrast: with "but"/"however"/"then" (value w) the terms after the LAST contrast word weigh w, those before
  2-w ("but" 1.0: both alike; "then" 1.2: what happened last leads); concession: terms after "despite"/"after"/
  "amid" weigh the word's value until the clause ends (the main clause leads).
- Lexicon v4 rules: a failure negator ("fails to", "can't") with nothing or only a weak term to negate makes its
  clause at least FAILURE ("fails to hold $70K"); a rival market's own move counts 0 ("as equities tumble"); a
  suffering term after "bears"/"shorts" flips and the bettor counts 0 ("bears get rinsed"), a setback right after
  "bulls" drops the bulls; a reversal flips only its own part of the clause and stops at a contrast; "<term>
  on/of <asset>" keeps the term as a verb's subject; a transitive verb with a term right after it acts on that
  object, not on a subject; seizing a crime's proceeds flips like a punishment ("stolen funds frozen"); a
  percentage under 1% weighs SMALL_MOVE; "sees/eyes/targets $X" reads like a milestone; multi-word verb phrases
  match in every inflection ("headed south").
- A `frame` marks the whole text as neutral (explainers: "what is", "how to"): the sum is scaled by its value;
  a `dampener` does so for its own part of the clause ("flat", "unchanged": "Bitcoin unchanged while altcoins
  gain" is still good news for altcoins).
- Exclamation marks add emphasis (0.292 each, at most 3), like VADER.
- score = x / sqrt(x^2 + 15) for the sum x (VADER's normalisation), in (-1, 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence, Set
from typing import Any

from quantdesk.intel.sentiment.grammar import (
    ADJECTIVES,
    AGENTS,
    ASSET_PREPOSITIONS,
    ATTRIBUTIVES,
    BLOCKERS,
    COMPARATIVES,
    CRIMES,
    CRYPTO_WORDS,
    FAILURES,
    FREE,
    LEVEL_WORDS,
    LINKERS,
    LOSERS,
    MILESTONE_VERBS,
    NEGATION_STOPS,
    NOT_SUBJECTS,
    PUNISHMENTS,
    REFERENCE,
    RESTITUTIONS,
    RIVAL_MARKETS,
    RIVALS,
    SEIZURES,
    SUFFERING,
    TARGET_VERBS,
    WINNERS,
    inflection_candidates,
    phrase_variants,
)
from quantdesk.intel.sentiment.lexicon import MAX_PHRASE, Lexicon, crypto_lexicon
from quantdesk.intel.sentiment.text import BOUNDARIES, is_number, tokenize

ALPHA = 15.0
NEGATION_WINDOW = 4
BOOST_WINDOW = 3
UP_DOWN = 1.6
MILESTONE = 0.8  # "market cap hits $1 billion": reaching a round figure reads as a rise
SIGNED_PCT = 1.2
EXCLAIM = 0.292
CAPS_EMPHASIS = 0.5
FLIP = -0.65  # a decrease or reversal applied to a term: the sign flips, the magnitude shrinks
PUSH = 0.5  # share of an increase verb's magnitude added to the term it composes with
MIN_VERB = 1.0  # the least magnitude a composing verb lends ("yields rise": a weak noun, a clear direction)
SUBJECT_GAP = 2  # ordinary tokens allowed between a subject and its verb ("outflows hit record high")
OBJECT_GAP = 2  # ... between a transitive verb and its object ("erases Bitcoin's early gains")
CONTINUE_GAP = 4  # ... between a movement and a same-direction term that intensifies it ("falls 8% to lows")
CONTINUE = 0.5
MOD_BOOST = 0.6
RIVAL_GAP = 1  # tokens allowed between a rival market and its verb ("stocks sharply lower")
SMALL_MOVE = 0.25  # weight of a move under 1%
FAILURE = -1.2  # the least a clause reporting a failure weighs ("fails to hold $70K")
REFERENCE_WINDOW = 3
# bits of a function word (one dict lookup per token instead of one set lookup per class)
_RIVAL, _CRYPTO, _LINK, _NSTOP, _BLOCK, _REF, _FREE = 1, 2, 4, 8, 16, 32, 64
_FUNCTION_WORDS: dict[str, int] = {}
for _words, _bit in ((RIVALS, _RIVAL), (CRYPTO_WORDS, _CRYPTO), (LINKERS, _LINK), (NEGATION_STOPS, _NSTOP),
                     (BLOCKERS, _BLOCK), (REFERENCE, _REF), (FREE, _FREE)):
    for _w in _words:
        _FUNCTION_WORDS[_w] = _FUNCTION_WORDS.get(_w, 0) | _bit
_UNSEEN: Any = object()

_WORD, _INC, _DEC, _REV, _AMP, _RED, _MOD = range(7)
_MOVES = frozenset({_INC, _DEC, _AMP, _RED})
_UP = frozenset({_INC, _AMP})
_TRANSITIVE = frozenset({_AMP, _RED})
_FINDER: Any = None


def _size(token: str) -> float:
    """Weight of a percentage move: under 1% it is hardly news ("(-0.3%)"), otherwise 1."""
    if not token.endswith("%"):
        return 1.0
    try:
        pct = abs(float(token.lstrip("+-−$").rstrip("%").replace(",", "")))
    except ValueError:
        return 1.0
    return SMALL_MOVE if pct < 1.0 else 1.0


def normalise(x: float) -> float:
    return x / math.sqrt(x * x + ALPHA) if x else 0.0


def _compose(kind: int, s: float, m: float) -> float:
    """A movement of magnitude m applied to a term of value s: pushed further (up kinds) or turned around."""
    if s == 0.0:
        return 0.0
    sign = 1.0 if s > 0 else -1.0
    if kind in _UP:
        return sign * (abs(s) + PUSH * m)
    return FLIP * sign * max(abs(s), m)


class CryptoLexiconScorer:
    """Scores text with a Lexicon (the bundled crypto lexicon by default). Pure Python, ~10-40 us a headline."""

    name = "crypto"

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lx = lexicon or crypto_lexicon()
        self._valence: dict[str, tuple[float, int]] = {}
        # plain words last: a user's word list (wordlist.py) overrides what the bundled lexicon says of a word
        for table, kind in ((lx.increases, _INC), (lx.decreases, _DEC), (lx.reversals, _REV), (lx.amplifiers, _AMP),
                            (lx.reducers, _RED), (lx.modifiers, _MOD), (lx.words, _WORD)):
            for term, v in table.items():
                self._valence[term] = (v, kind)
        # other inflections of multi-word terms ("headed south", "rug pulls"), unless the lexicon lists them
        listed = {t for table in (lx.negators, lx.boosters, lx.diminishers, lx.contrasts, lx.concessions,
                                  lx.dampeners, lx.frames) for t in table} | set(self._valence)
        variants: dict[str, tuple[float, int]] = {}
        for term, hit in self._valence.items():
            if " " in term:
                for var in phrase_variants(term):
                    if var not in listed and var not in variants:
                        variants[var] = hit
        self._valence.update(variants)
        self._heads = lx.phrase_heads | {t.split()[0] for t in variants}
        # 1: an adjective (a subject only right before its verb), 2: never a subject
        self._subject_rank = {t: 2 if t in NOT_SUBJECTS else 1 for t, (_v, k) in self._valence.items()
                              if k in (_WORD, _MOD) and (t in NOT_SUBJECTS or t in ADJECTIVES
                                                         or (" " not in t and t.endswith("ed")))}
        self._level = {t for t in self._valence if t.split()[-1] in LEVEL_WORDS}
        self._needs_link = self._level | ATTRIBUTIVES
        self._morph_cache: dict[str, tuple[float, int] | None] = {}
        self._any = {**lx.negators, **lx.boosters, **lx.diminishers, **lx.contrasts, **lx.concessions,
                     **lx.dampeners, **lx.frames, **{t: v for t, (v, _k) in self._valence.items()}}

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

    def _inflected(self, word: str) -> tuple[float, int] | None:
        """The entry of an inflection the lexicon does not list ("plunging", "hacking", "defrauds", "riskier"):
        the entry of its stem, or of another inflection of that stem. Cached: one lookup per distinct word."""
        cache = self._morph_cache
        if word in cache:
            return cache[word]
        valence = self._valence
        cands = inflection_candidates(word)
        hit = None
        for stem, forms in cands:
            for ending in forms:
                hit = valence.get(stem + ending)
                if hit is not None:
                    break
            if hit is not None:
                break
        if len(cache) < 100_000:
            cache[word] = hit
        return hit

    @staticmethod
    def _asset_after(low: Sequence[str], start: int, skip: Set[int]) -> bool:
        """Does an asset (or a word for the crypto market) follow `start` in its clause?"""
        for k in range(start, len(low)):
            if low[k] in BOUNDARIES:
                return False
            if k in skip or low[k] in CRYPTO_WORDS:
                return True
        return False

    def _object_follows(self, low: Sequence[str], start: int, skip: Set[int]) -> bool:
        """Does a sentiment term follow within OBJECT_GAP tokens (before a clause end, an asset or a function
        word)? Then a transitive verb acts on it, not on what precedes ("upgrade cuts transaction fees")."""
        valence = self._valence
        for j in range(start, min(len(low), start + OBJECT_GAP + 1)):
            tok = low[j]
            if j in skip or tok in BOUNDARIES or tok in BLOCKERS:
                return False
            if tok in valence or (j + 1 < len(low) and f"{tok} {low[j + 1]}" in valence):
                return True
            if len(tok) >= 5 and tok.isalpha() and self._inflected(tok) is not None:
                return True
        return False

    def _sum(self, tokens: Sequence[str], skip: Set[int]) -> float:  # noqa: C901 - one pass, kept for speed
        lx = self.lexicon
        valence, negators, boosters = self._valence, lx.negators, lx.boosters
        diminishers, contrasts, concessions, dampeners = lx.diminishers, lx.contrasts, lx.concessions, lx.dampeners
        frames = lx.frames
        heads, any_term, ranks, levels = self._heads, self._any, self._subject_rank, self._level
        needs_link, morph, function_words = self._needs_link, self._morph_cache, _FUNCTION_WORDS
        low = [t.lower() for t in tokens]
        n = len(low)
        vals: list[float] = []  # one value per term (0 where a term was merged into another)
        kinds: list[int] = []
        negs: list[int] = []  # id of the negator that acted on the value (0: none)
        terms: list[str] = []
        agent = punish = restitution = False  # the clause names a bad actor / a punishment / a restitution
        asset_before = rival_before = False  # the clause named an asset / a rival market before this token
        linked = False  # a linking verb since the last term
        named = False  # an asset named since the last term: the subject of what follows is the asset
        last_end = -1  # token index just after the last term
        gap = 0  # ordinary tokens since the last term
        blocked = False  # a function word since the last term
        run_lo = -1  # first value of the current subject run (sentiment words in a row)
        run_rank = 0  # the run ends with: 0 a noun, 1 an adjective, 2 an agent (see _subject_rank)
        move = -1  # value of the last movement (for same-direction continuation)
        move_composed = False
        pending = -1  # value of a verb that may still take an object
        pending_max = 0
        pending_kind = _WORD
        pending_v = 0.0
        pending_negf = 1.0
        neg_left = 0
        neg_factor = 1.0
        neg_id = 0
        boost = 0.0
        boost_left = 0
        dim = 1.0
        conc = 1.0
        contrast_at = -1
        contrast_w = 1.0
        clause_start = 0
        reverse = False
        rev_lo = 0  # first value a reversal flips
        pp_asset = False  # a preposition joined an asset to the term before it
        winners = False  # the clause names those betting on the market ("bulls")
        crime = seizure = False  # the clause names a crime / a seizure ("stolen funds frozen" is good news)
        losers = False  # the clause names those who bet against the market ("bears", "shorts")
        ref_left = 0
        damp = 1.0  # the frame's factor (whole text)
        seg_damp = 1.0  # the dampener's factor for the values since seg_start
        seg_start = 0
        exclaim = 0
        rival_at = -1  # index of the last rival market named (gold, stocks), while it may be a verb's subject
        fail_id = 0  # id of a failure negator ("fails to") whose effect is still open
        fail_conc = 1.0
        i = 0
        while i <= n:
            if fail_id and (i == n or low[i] in BOUNDARIES or low[i] in contrasts or low[i] in concessions):
                # a failure with nothing (or only a weak term) to negate is bad news on its own
                got = math.fsum(vals[k] for k in range(len(vals)) if negs[k] == fail_id)
                if FAILURE * fail_conc < got <= 0.0:
                    vals.append(FAILURE * fail_conc - got)
                    kinds.append(_WORD)
                    negs.append(0)
                    terms.append("")
                fail_id = 0
            if i == n or low[i] in BOUNDARIES:
                if seg_damp != 1.0:
                    for k in range(seg_start, len(vals)):
                        vals[k] *= seg_damp
                    seg_damp = 1.0
                seg_start = len(vals)
                if (agent and punish) or (crime and seizure):
                    for k in range(clause_start, len(vals)):
                        if terms[k] in AGENTS or terms[k] in CRIMES:
                            vals[k] = 0.0
                        elif terms[k] in PUNISHMENTS and vals[k] < 0:
                            vals[k] *= FLIP
                elif agent and restitution:  # "hacker returns most of the stolen funds": the crime is undone
                    reverse, rev_lo = True, clause_start
                if losers:  # "bears get rekt": harm to those betting against the market is good news
                    for j in range(clause_start, len(vals)):
                        if terms[j] in LOSERS:
                            hurt = False
                            for k in range(j + 1, len(vals)):
                                if vals[k] < 0 and (terms[k] in SUFFERING or terms[k].rpartition(" ")[2] in SUFFERING):
                                    vals[k] *= FLIP
                                    hurt = True
                            if hurt:
                                vals[j] = 0.0
                            break
                    losers = False
                if winners:  # "bulls run out of gas": the bulls' setback is the news, not their presence
                    for j in range(clause_start, len(vals) - 1):
                        if terms[j] in WINNERS and vals[j] > 0 and vals[j + 1] < 0 and terms[j + 1] not in LOSERS:
                            vals[j] = 0.0
                    winners = False
                agent = punish = restitution = asset_before = rival_before = crime = seizure = False
                rival_at = -1
                if reverse:
                    for k in range(rev_lo, len(vals)):
                        if vals[k] < 0:
                            vals[k] *= FLIP
                    reverse = False
                if i == n:
                    break
                if low[i] == "!":
                    exclaim += 1
                clause_start = len(vals)
                neg_left = boost_left = ref_left = 0
                boost, dim, conc = 0.0, 1.0, 1.0
                run_lo = move = pending = last_end = -1
                gap, blocked, linked, named = 0, False, False, False
                i += 1
                continue
            if i in skip:  # an asset's name ("Optimism", "Maker") carries no sentiment
                i += 1
                asset_before = True
                if not pp_asset:  # "short interest on ETH climbs": the asset only qualifies the subject
                    gap += 1
                    named = True
                rival_at = -1
                if neg_left:
                    neg_left -= 1
                if ref_left:
                    ref_left -= 1
                continue
            t = low[i]
            fw = function_words.get(t, 0)
            pp_asset = False
            if fw & _RIVAL:
                rival_before = True
                if t in RIVAL_MARKETS:
                    rival_at = i
            term, span = t, 1
            if t in heads:
                for size in range(min(MAX_PHRASE, n - i), 1, -1):
                    cand = " ".join(low[i : i + size])
                    if cand in any_term:
                        term, span = cand, size
                        break
            v = 0.0
            kind = -1
            number = False
            hit: tuple[float, int] | None
            if (t == "up" or t == "down") and span == 1 and i + 1 < n and is_number(low[i + 1]):
                hit = (UP_DOWN * _size(low[i + 1]), _INC) if t == "up" else (-UP_DOWN * _size(low[i + 1]), _DEC)
                number = True
            else:
                hit = valence.get(term)
                if hit is None and span == 1 and len(t) >= 5 and t not in any_term:
                    hit = morph.get(t, _UNSEEN)
                    if hit is _UNSEEN:
                        hit = self._inflected(t) if t.isalpha() else None
            if hit is not None:
                v, kind = hit
                if span == 1 and len(t) >= 5 and tokens[i].isupper():
                    v += CAPS_EMPHASIS if v > 0 else -CAPS_EMPHASIS
            elif span == 1 and t[0] in "+-−" and t.endswith("%") and len(t) > 2:
                v, kind, number = (SIGNED_PCT, _INC, True) if t[0] == "+" else (-SIGNED_PCT, _DEC, True)
                v *= _size(t)
            elif (t in MILESTONE_VERBS or t in TARGET_VERBS) and i + 1 < n and is_number(low[i + 1]):
                v, kind, number = MILESTONE, _INC, True  # "hits $1 billion"; "liquidations hit $1 billion"
            negated_here = False
            if (kind in _MOVES and rival_at >= 0 and last_end <= rival_at and i - rival_at <= RIVAL_GAP + 1):
                kind = -1  # "Bitcoin holds up as equities tumble": another market's move is not crypto news
            if kind >= 0 and ref_left and term in levels and kind in _MOVES:
                kind = -1  # "retreats from its record high": a reference point, not news
                gap += span
            elif kind >= 0:
                if (term in COMPARATIVES and rival_before and not asset_before
                        and self._asset_after(low, i + span, skip)):
                    v = -v
                agent = agent or term in AGENTS
                crime = crime or term in CRIMES
                seizure = seizure or term in SEIZURES
                losers = losers or term in LOSERS
                winners = winners or term in WINNERS
                punish = punish or term in PUNISHMENTS
                restitution = restitution or term in RESTITUTIONS
                is_neg = neg_left > 0
                nid = neg_id if is_neg else 0
                sign = 1.0 if v > 0 else -1.0
                # the term's own value, boosted (in proportion for weak terms: "extremely oversold" stays weak)
                o = (v + boost * sign * (1.0 if v >= 1.0 or v <= -1.0 else abs(v))) * dim
                boost, boost_left, dim = 0.0, 0, 1.0
                after_mod = (last_end == i and len(vals) > clause_start and kinds[-1] == _MOD and vals[-1] * o < 0)
                if (pending >= clause_start and pending == len(vals) - 1 and not blocked and gap <= pending_max
                        and kind != _REV and (kind not in _MOVES or (pending_kind in _TRANSITIVE
                                                                     and term not in levels))):
                    # the object of a verb: "cuts fees", "erases gains", "halts the decline", "rising fees"
                    comp = _compose(pending_kind, o, max(abs(pending_v), MIN_VERB))
                    if pending_negf != 1.0:
                        comp *= pending_negf
                    elif is_neg:
                        comp *= neg_factor
                    vals[pending] = comp * conc
                    move, pending, run_lo, move_composed = pending, -1, -1, True
                    terms[move] = term
                elif kind in _MOVES:
                    up = kind in _UP
                    if after_mod:  # "record drop": the modifier intensifies the movement
                        vals[-1] = 0.0
                        o += MOD_BOOST * sign
                        run_lo = -1
                    level = term in levels
                    if (level and move >= clause_start and move == len(vals) - 1 and (kinds[move] in _UP) == up
                            and (move_composed or vals[move] != 0.0) and not blocked and i - last_end <= CONTINUE_GAP
                            and not number):
                        p = vals[move]  # "falls to its lowest level": one movement, said twice
                        if p:
                            vals[move] = p + (CONTINUE if p > 0 else -CONTINUE) * conc
                    elif (run_lo >= clause_start and not blocked and not named and gap <= SUBJECT_GAP
                          and (linked or term not in needs_link)
                          and not (kind in _TRANSITIVE and self._object_follows(low, i + span, skip))
                          and run_rank < 2 and not (run_rank == 1 and gap > 0)
                          and (gap == 0 or linked or abs(math.fsum(vals[run_lo:])) >= conc)):
                        s = math.fsum(vals[run_lo:]) / conc  # the subject: "hack losses fall"
                        comp = _compose(kind, s, max(abs(o), MIN_VERB))
                        if is_neg and nid not in negs[run_lo:]:
                            comp *= neg_factor
                        del vals[run_lo + 1 :], kinds[run_lo + 1 :], negs[run_lo + 1 :], terms[run_lo + 1 :]
                        vals[run_lo] = comp * conc
                        kinds[run_lo] = kind
                        negs[run_lo] = nid
                        move, run_lo, pending, move_composed = run_lo, -1, -1, True
                    else:
                        vals.append(o * (neg_factor if is_neg else 1.0) * conc)
                        kinds.append(kind)
                        negs.append(nid)
                        terms.append(term)
                        move, run_lo, move_composed = len(vals) - 1, -1, False
                        pending = -1 if number else move
                        pending_max = OBJECT_GAP if kind in _TRANSITIVE else 0
                        pending_kind, pending_v = kind, v
                        pending_negf = neg_factor if is_neg else 1.0
                elif kind == _REV:
                    vals.append(o * (neg_factor if is_neg else 1.0) * conc)
                    kinds.append(kind)
                    negs.append(nid)
                    terms.append(term)
                    if not is_neg and not reverse:  # "unlikely to recover" reverses nothing
                        # it reverses its own part of the clause and what follows, not what a concession or a
                        # contrast set apart ("shares slip even as volume rebounds")
                        reverse, rev_lo = True, seg_start
                    run_lo = move = pending = -1
                elif (kind == _MOD and linked and run_lo >= clause_start and not blocked and not named
                      and gap <= SUBJECT_GAP and run_rank < 2):
                    s = math.fsum(vals[run_lo:]) / conc  # "outflows hit a record", "open interest hits record"
                    del vals[run_lo + 1 :], kinds[run_lo + 1 :], negs[run_lo + 1 :], terms[run_lo + 1 :]
                    vals[run_lo] = _compose(_INC, s, max(abs(o), MIN_VERB)) * conc
                    kinds[run_lo] = _INC
                    move, run_lo, pending, move_composed = run_lo, -1, -1, True
                else:
                    if after_mod:
                        vals[-1] = 0.0  # "record losses", "strong sell-off"
                        o += MOD_BOOST * sign
                    go_on = run_lo >= clause_start and not blocked and gap <= SUBJECT_GAP
                    vals.append(o * (neg_factor if is_neg else 1.0) * conc)
                    kinds.append(kind)
                    negs.append(nid)
                    terms.append(term)
                    if not go_on:
                        run_lo = len(vals) - 1
                    run_rank = ranks.get(term, 0)
                    pending = move = -1
                last_end = i + span
                gap, blocked, linked, named = 0, False, False, False
            elif term in negators:
                neg_left, neg_factor = NEGATION_WINDOW, negators[term]
                neg_id += 1
                if term in FAILURES:
                    fail_id, fail_conc = neg_id, conc
                negated_here = True
            elif term in boosters:
                b = boosters[term]
                if term.endswith("ly") and last_end == i and len(vals) > clause_start:
                    last = vals[-1]
                    vals[-1] = last + (b if last > 0 else -b) * (1.0 if abs(last) >= 1.0 else abs(last)) * conc
                    last_end = i + span
                else:
                    boost += b
                    boost_left = BOOST_WINDOW + 1
            elif term in diminishers:
                dim *= diminishers[term]
            elif term in contrasts or term in concessions:
                if seg_damp != 1.0:
                    for k in range(seg_start, len(vals)):
                        vals[k] *= seg_damp
                    seg_damp = 1.0
                seg_start = len(vals)
                if term in contrasts:
                    contrast_at, contrast_w = len(vals), contrasts[term]
                    if reverse:  # a reversal does not reach past "but" ("wins, but an appeal looms")
                        for k in range(rev_lo, len(vals)):
                            if vals[k] < 0:
                                vals[k] *= FLIP
                        reverse = False
                else:
                    conc = concessions[term]
                neg_left = 0
                run_lo = move = pending = -1
                blocked = True
            elif term in dampeners:
                seg_damp = min(seg_damp, dampeners[term])
                gap += span
            elif term in frames:
                damp = min(damp, frames[term])
                gap += span
            elif fw:
                if fw & _CRYPTO:
                    rival_at = -1
                    asset_before = True
                if fw & _LINK:
                    linked = True
                if fw & _NSTOP or (t == "as" and negs and negs[-1] == neg_id):
                    # after a negated term "as" joins another clause ("barely holds as selling grows"); before one
                    # it is part of the negated phrase ("not as bad", "no longer views it as a threat")
                    neg_left = 0
                if t in ASSET_PREPOSITIONS and last_end == i and i + 1 in skip:
                    pp_asset = True  # "<term> on <asset>": the term stays the subject of what follows
                elif fw & _BLOCK:
                    blocked = True
                    if fw & _REF:
                        ref_left = REFERENCE_WINDOW + 1
                elif not fw & _FREE:
                    gap += span
            else:
                gap += span
            if neg_left and not negated_here:
                neg_left = max(0, neg_left - span)
            if ref_left:
                ref_left = max(0, ref_left - span)
            if boost_left:
                boost_left -= span
                if boost_left <= 0:
                    boost, boost_left = 0.0, 0
            i += span
        if 0 <= contrast_at < len(vals):
            before = 2.0 - contrast_w
            for k in range(len(vals)):
                vals[k] *= before if k < contrast_at else contrast_w
        x = math.fsum(vals) * damp
        if exclaim and x:
            e = EXCLAIM * min(exclaim, 3)
            x += e if x > 0 else -e
        return x
