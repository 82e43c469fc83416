"""Market events named in a text (hack, exploit, listing, delisting, ETF decision, lawsuit, outage, halving,
liquidation cascade, rug pull, depeg, bankruptcy, regulation, upgrade, partnership, token unlock) and the bus
event that carries them (`SentimentEventDetected`, topic "sentiment").

Detection is by hand-written patterns over the lower-cased text: transparent, fast (one regex search per kind)
and tested phrase by phrase. An event says *what happened*; whether it is good or bad news is the score's job.
`NEGATIVE_EVENTS` are the kinds a risk rule may block entries on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from quantdesk.core.timeutil import iso
from quantdesk.intel.sentiment.text import tokenize
from quantdesk.model.events import Event

_APPROVAL = r"(?:approv\w*|reject\w*|den(?:y|ies|ied)|delay\w*|decision|postpon\w*|green ?light\w*|greenlit)"
EVENT_PATTERNS: dict[str, str] = {
    "hack": r"\bhack(?:s|ed|er|ers|ing)?\b|\bbreach(?:ed|es)?\b|\bstolen\b|\bsteals?\b|\btheft\b|\bheist\b"
            r"|\bdrain(?:s|ed|er|ers)?\b|\bcompromised\b",
    "exploit": r"\bexploit(?:s|ed|er|ers)?\b|\bflash[- ]loan attack\b|\breentrancy\b|\bgovernance attack\b"
               r"|\bbridge attack\b",
    "listing": r"\blist(?:s|ed|ing)\b|\b(?:to|will) list\b|\badds support for\b|\bdebuts on\b",
    "delisting": r"\bdelist(?:s|ed|ing)?\b|\b(?:removes?|drops?|ends?) (?:trading )?support for\b",
    "etf_decision": rf"\betfs?\b.*\b{_APPROVAL}\b|\b{_APPROVAL}\b.*\betfs?\b",
    "lawsuit": r"\blawsuits?\b|\bsu(?:e|es|ed|ing)\b|\bcharge[sd]\b|\bindict\w*|\bclass[- ]action\b"
               r"|\bsettles? with\b|\bpleads? guilty\b|\bconvicted\b|\bsentenced\b|\bcourt\b|\bjudge\b"
               r"|\bsubpoena\w*",
    "outage": r"\boutages?\b|\bdowntime\b|\bgo(?:es)? (?:down|offline)\b"
              r"|\b(?:halt|halts|halted|suspends?|suspended|pauses?|paused|freezes?|froze) (?:all )?"
              r"(?:withdrawals|deposits|trading)\b|\bnetwork (?:halt|stall)\w*|\bstall(?:s|ed)? for\b"
              r"|\bunable to trade\b|\bstops? producing blocks\b",
    "halving": r"\bhalv(?:ing|ening)s?\b",
    "liquidation_cascade": r"\bliquidations? (?:cascade|wipe|top|hit|surge|spike|soar)\w*|\bcascad\w*"
                           r"|\bliquidations?\b.*\b(?:billion|million|\$\d)|\b(?:billion|million)\b.*\bliquidat\w*"
                           r"|\blongs? liquidated\b|\bmargin calls?\b",
    "rug_pull": r"\brug(?:[- ]?pull\w*|ged)\b|\bexit scam\b",
    "depeg": r"\bde-?peg\w*|\blos(?:es|t|ing) (?:its )?peg\b|\bbreaks? (?:its )?peg\b",
    "bankruptcy": r"\bbankrupt\w*|\bchapter 11\b|\binsolven\w*",
    "regulation": r"\bbans?\b|\bbanned\b|\bcrackdown\b|\bcracks down\b|\bregulat\w*|\bsanction\w*",
    "upgrade": r"\bupgrade[sd]?\b|\bhard[- ]fork\b|\bmainnet\b",
    "partnership": r"\bpartner(?:s|ship|ships|ed)?\b|\bintegrat(?:es|ed|ion)\b",
    "token_unlock": r"\bunlocks?\b|\bunlocked\b",
}
EVENT_KINDS: tuple[str, ...] = tuple(EVENT_PATTERNS)
NEGATIVE_EVENTS: frozenset[str] = frozenset(
    {"hack", "exploit", "delisting", "outage", "liquidation_cascade", "rug_pull", "depeg", "bankruptcy", "lawsuit"})
# A pattern can only match when some token starts with one of its kind's 4-letter prefixes: a dict lookup per
# token picks the few kinds whose regex is worth running (the text of most headlines names none or one).
_TRIGGERS: dict[str, tuple[str, ...]] = {
    "hack": ("hack", "brea", "stol", "stea", "thef", "heis", "drai", "comp"),
    "exploit": ("expl", "flas", "reen", "gove", "brid"),
    "listing": ("list", "to", "will", "adds", "debu"),
    "delisting": ("deli", "remo", "drop", "end", "ends"),
    "etf_decision": ("etf", "etfs"),
    "lawsuit": ("laws", "sue", "sues", "sued", "suin", "char", "indi", "clas", "sett", "plea", "conv", "sent",
                "cour", "judg", "subp"),
    "outage": ("outa", "down", "go", "goes", "halt", "susp", "paus", "free", "froz", "netw", "stal", "unab",
               "stop"),
    "halving": ("halv",),
    "liquidation_cascade": ("liqu", "casc", "marg", "long"),
    "rug_pull": ("rug", "rugp", "rug-", "rugg", "exit"),
    "depeg": ("depe", "de-p", "lose", "lost", "losi", "brea"),
    "bankruptcy": ("bank", "chap", "inso"),
    "regulation": ("ban", "bans", "bann", "crac", "regu", "sanc"),
    "upgrade": ("upgr", "hard", "main"),
    "partnership": ("part", "inte"),
    "token_unlock": ("unlo",),
}
_BY_PREFIX: dict[str, set[str]] = {}
for _kind, _prefixes in _TRIGGERS.items():
    for _p in _prefixes:
        _BY_PREFIX.setdefault(_p, set()).add(_kind)
_COMPILED = [(kind, re.compile(p)) for kind, p in EVENT_PATTERNS.items()]


def detect_events(text: str, tokens: Sequence[str] | None = None) -> list[str]:
    """Event kinds named in `text`, in EVENT_KINDS order (`tokens`: text.tokenize(text), if already made)."""
    if tokens is None:
        tokens = tokenize(text)
    kinds: set[str] = set()
    by_prefix = _BY_PREFIX
    for tok in tokens:
        hit = by_prefix.get(tok[:4].lower())
        if hit:
            kinds |= hit
    if not kinds:
        return []
    low = text.lower()
    return [kind for kind, rx in _COMPILED if kind in kinds and rx.search(low)]


@dataclass(frozen=True, slots=True)
class SentimentEventDetected(Event):
    """A stored text named an event. ts_event = the text's publication time (UTC ns)."""

    kind: str
    symbols: tuple[str, ...]
    score: float
    title: str
    source: str = ""
    item_id: str = ""
    url: str = ""

    topic = "sentiment"

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": "SentimentEventDetected",
            "ts": iso(int(self.ts_event)),
            "kind": self.kind,
            "symbols": list(self.symbols),
            "score": self.score,
            "title": self.title,
            "source": self.source,
            "item_id": self.item_id,
            "url": self.url,
        }
