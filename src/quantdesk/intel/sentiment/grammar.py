"""Word classes the crypto scorer's rules need besides the lexicon: function words that end a phrase, linking
verbs, attributive adjectives, agents and punishments, comparatives, and the inflections of a word. They are
grammar rather than sentiment, so they live in code, not in the lexicon file. Written by the project (Apache-2.0).
"""

from __future__ import annotations

# Function words that end a subject or object phrase: a verb after them has another subject ("Bitcoin jumps as
# liquidations fall": liquidations fall, Bitcoin does not), an object after them is another phrase.
BLOCKERS = frozenset({
    "as", "after", "before", "and", "or", "then", "on", "in", "for", "by", "with", "from", "off", "since", "into",
    "over", "under", "below", "above", "past", "toward", "towards", "near", "than", "because", "when", "while",
    "if", "following", "ahead", "until", "vs", "versus", "via", "per", "against", "during", "within", "through",
    "behind", "across", "among", "that", "which", "who", "where", "says", "say", "said", "report",
    "reports", "according", "see", "sees", "saw", "warn", "expects", "expect", "predicts", "predict", "thanks",
})
REFERENCE = frozenset({"from", "off"})
# Determiners do not lengthen a gap: "ending a brutal month of losses" is one object away.
FREE = frozenset({"a", "an", "the", "its", "their", "his", "her", "of", "this", "these", "those", "some", "all"})
MILESTONE_VERBS = frozenset({"hit", "hits", "reach", "reaches", "reached", "nears", "near", "approaches"})
# ... and a price target ("analysts see $100K bitcoin", "eyes $5,000") reads as a rise the same way
TARGET_VERBS = frozenset({"see", "sees", "eye", "eyes", "eyeing", "target", "targets", "targeting", "predict",
                          "predicts", "forecast", "forecasts", "tips", "projects"})
# Conjunctions end a negation's scope: "no longer deflationary as issuance rises" negates only "deflationary".
NEGATION_STOPS = frozenset({"and", "or", "then", "because", "when", "if", "since", "after", "before", "while",
                            "but", "so", "though", "although", "whereas", "yet"})
LEVEL_WORDS = frozenset({"high", "highs", "highest", "low", "lows", "lowest", "peak", "peaks", "top", "bottom",
                         "ath", "atl", "record", "higher", "lower", "zero"})
# Adjectives of movement kinds ("strong demand", "weak inflows"): like levels, they take a subject before them only
# through a linking verb ("demand remains strong"); right before a term they describe it. (Words that are verbs
# too, "slow", "rising", are not here: "inflows slow" is a subject and its verb.)
ATTRIBUTIVES = frozenset({"strong", "stronger", "weak", "weaker", "solid", "robust", "poor", "thin", "muted",
                          "subdued", "lackluster", "lacklustre", "tepid", "sluggish", "high", "low", "higher",
                          "lower"})
# Verbs that link a subject to a level ("outflows hit a record high", "fees at their lowest"): a level word takes
# a subject only through one of them ("won't crash to zero" is a verb and its target, not a subject at a level).
LINKERS = frozenset({"hit", "hits", "hitting", "reach", "reaches", "reached", "reaching", "at", "touch", "touches",
                     "touched", "set", "sets", "mark", "marks", "marked", "near", "nears", "is", "are", "was", "were",
                     "stand", "stands", "remain", "remains", "stay", "stays", "notch", "notches", "post", "posts",
                     "trades", "traded", "closes", "closed", "opens", "opened", "moves", "moved", "adjusts",
                     "adjusted", "heads", "goes", "went", "turns", "turned"})
# Adjectives (besides -ed participles) that describe an entity rather than a quantity: a verb after
# "<adjective> <noun>" moves the noun ("troubled lender's token falls" is no good news).
ADJECTIVES = frozenset({"bankrupt", "insolvent", "embattled", "beleaguered", "defunct", "fraudulent", "shaky",
                        "fragile", "risky", "volatile", "toxic", "dead", "dying", "struggling", "failing", "scam"})
# Agents and schemes: their fall is not the fall of a bad quantity ("Ponzi collapses" is bad news too).
NOT_SUBJECTS = frozenset({"ponzi", "hacker", "hackers", "attacker", "attackers", "exploiter", "scammer",
                          "scammers", "fraudster", "fraudsters", "victim", "victims", "rug pull"})
# A bad actor punished is good news: in a clause naming both, the agent counts 0 and the punishment flips
# ("Bitfinex hacker pleads guilty", "scammers arrested").
AGENTS = frozenset({"hacker", "hackers", "attacker", "attackers", "exploiter", "exploiters", "scammer", "scammers",
                    "fraudster", "fraudsters", "thief", "thieves", "criminal", "criminals", "launderers", "fugitive"})
PUNISHMENTS = frozenset({
    "arrest", "arrested", "arrests", "charged", "charges", "indicted", "indictment", "indicts", "sentenced", "jailed",
    "prison", "jail", "convicted", "convicts", "conviction", "guilty", "extradited", "extradition", "caught",
    "nabbed", "detained", "seized", "seizes", "seizure", "sanctioned", "sanctions", "fined", "sued", "sues",
    "lawsuit", "raid", "raided", "busted", "apprehended", "prosecuted", "prosecution", "frozen", "freezes",
})
# The crime a punished bad actor committed is the story's background, not new damage ("hacker behind $600M exploit
# arrested"): in a clause with an agent and a punishment these count 0 too.
CRIMES = frozenset({
    "hack", "hacks", "hacked", "hacking", "exploit", "exploits", "exploited", "heist", "heists", "theft", "thefts",
    "stolen", "stole", "steal", "steals", "stealing", "scam", "scams", "scammed", "fraud", "frauds", "fraudulent",
    "drain", "drained", "drains", "draining", "laundering", "laundered", "launder", "rug pull", "rug pulls",
    "rugpull", "rugged", "ponzi", "attack", "attacks", "breach", "phishing", "embezzlement", "embezzled",
    "manipulation", "insider trading", "ransomware", "extortion", "pump and dump", "pump-and-dump", "crime",
    "crimes", "illicit", "siphoned", "looted", "swindled", "defrauded", "defrauding", "collapse", "collapsed",
})
# Those betting against the market: harm to them is good news ("bears get rinsed", "shorts liquidated"). In a clause
# naming one, a suffering term after it flips and the bettor counts 0.
LOSERS = frozenset({"bears", "bear", "shorts", "short sellers", "short-sellers", "shorters"})
SUFFERING = frozenset({
    "rekt", "rinsed", "liquidated", "squeezed", "wrecked", "trapped", "shambles", "in shambles", "wiped out",
    "burned", "burnt", "crushed", "destroyed", "obliterated", "annihilated", "punished", "in pain", "pain",
    "panic", "panicking", "capitulate", "capitulating", "capitulates", "scramble", "scrambling",
    "crying", "cry", "sweating", "nuked", "fried", "cooked", "ngmi", "losing", "lose", "loses",
    "lost", "hurting", "hurt", "suffer", "suffers", "bleeding", "bleed", "flushed", "torched", "roasted",
    "slaughtered", "hammered", "battered", "decimated", "eviscerated", "blown out", "in trouble", "doomed",
    "it's over", "dead", "dying", "exhausted", "exhaustion", "giving up", "give up", "gives up",
})
# ... and those betting on it: a setback right after them is the news, their presence is not ("bulls run out of gas")
WINNERS = frozenset({"bulls", "bull", "longs", "buyers"})
# "<term> on/for/of/in <asset> <verb>": the asset qualifies the term, which stays the verb's subject ("short
# interest on ETH climbs", "exchange reserves of bitcoin fall")
ASSET_PREPOSITIONS = frozenset({"on", "for", "of", "in"})
# Seizing a crime's proceeds is good news too, with or without a named agent ("stolen funds frozen by issuer");
# a person's conviction is not (it may be the asset's own ecosystem on trial: "founder pleads guilty to fraud").
SEIZURES = frozenset({"frozen", "freezes", "freeze", "froze", "seized", "seizes", "seize", "seizure",
                      "confiscated", "confiscates", "impounded"})
# ... and a bad actor giving back is good news too: every negative term of such a clause flips, like a reversal.
RESTITUTIONS = frozenset({"returns", "returned", "return", "refunds", "refunded", "repays", "repaid", "gives back",
                          "gave back", "hands back", "reimburses"})
# Negators that report a failure: with nothing in their scope to negate, or only a weak term, the failure itself is
# the news ("fails to hold $70K", "can't break resistance"): the clause gets at least FAILURE (crypto.py).
FAILURES = frozenset({"fails to", "failed to", "fail to", "failing to", "unable to", "struggles to", "struggling to",
                      "struggle to", "struggled to", "can't", "cannot", "couldn't", "could not", "did not manage to"})
# Comparisons: "Gold outshines Bitcoin" is bad news for Bitcoin. A comparative term flips when a rival market
# (gold, stocks) precedes it in its clause and an asset (or the crypto market) follows it.
COMPARATIVES = frozenset({
    "outperform", "outperforms", "outperformed", "outperforming", "outshines", "outpaces", "beats", "overtakes",
    "overtake", "surpasses", "surpass", "surpassed", "eclipses", "flips", "tops", "dethrones", "trumps",
    "underperform", "underperforms", "underperformed", "underperforming", "lags", "lagging", "trails",
})
RIVALS = frozenset({"gold", "stocks", "equities", "nasdaq", "s&p", "dollar", "bonds", "treasuries", "silver", "oil",
                    "fiat", "shares", "dow", "banks"})
# Rival markets whose own move is no crypto news ("Bitcoin holds up as equities tumble"): a movement right after
# one of them moves it, and counts 0 ("shares" is not here: "Coinbase shares tumble" is crypto news).
RIVAL_MARKETS = frozenset({"gold", "stocks", "equities", "nasdaq", "s&p", "bonds", "treasuries", "silver", "oil",
                           "dow", "dollar", "equity", "stock market", "wall street"})
CRYPTO_WORDS = frozenset({"crypto", "cryptos", "cryptocurrency", "cryptocurrencies", "altcoins", "altcoin", "alts",
                          "memecoins", "defi", "nfts", "tokens", "coins", "stablecoins"})


def inflection_candidates(word: str) -> list[tuple[str, tuple[str, ...]]]:
    """(stem, endings to try on it) for a word the lexicon does not list, most specific first. A verb form finds
    the other forms of its verb ("plunging": "plunge"), a plural only its singular ("blocks" is no "blocked"),
    a base form only its -s form ("raise": "raises"), a comparative its adjective ("riskier": "risky")."""
    cands: list[tuple[str, tuple[str, ...]]] = [(word, ("s", "es"))]
    for suffix, repl, forms in (("iest", "y", ("",)), ("ier", "y", ("",)), ("ies", "y", ("",)),
                                ("ied", "y", ("", "ies")), ("ily", "y", ("",)),
                                ("ing", "", ("", "s", "es", "ed")), ("ing", "e", ("", "s", "d")),
                                ("ed", "", ("", "s", "es")), ("ed", "e", ("", "s")), ("es", "", ("",)),
                                ("ly", "", ("",))):
        if word.endswith(suffix):
            stem = word[: -len(suffix)] + repl
            if len(stem) >= 3:
                cands.append((stem, forms))
                if not repl and len(stem) >= 4 and stem[-1] == stem[-2]:  # "slipping" -> "slip"
                    cands.append((stem[:-1], forms))
    if word.endswith("s") and not word.endswith("ss"):
        cands.append((word[:-1], ("",)))
    return cands


def _bases(word: str) -> set[str]:
    """Likely base forms of a word ("heads": "head", "headed": "head", "pausing": "pause", "carries": "carry")."""
    out = {word}
    if word.endswith("ies") or word.endswith("ied"):
        out.add(word[:-3] + "y")
    elif word.endswith("ing") and len(word) >= 6:
        stem = word[:-3]
        out |= {stem, stem + "e"}
        if stem[-1] == stem[-2]:
            out.add(stem[:-1])
    elif word.endswith("ed") and len(word) >= 5:
        stem = word[:-2]
        out |= {stem, stem + "e"}
        if stem[-1] == stem[-2]:
            out.add(stem[:-1])
    elif word.endswith(("ches", "shes", "sses", "xes", "zes")):
        out.add(word[:-2])
    elif word.endswith("s") and not word.endswith("ss") and len(word) >= 4:
        out.add(word[:-1])
    return out


def verb_forms(word: str) -> set[str]:
    """Every regular form of the verb(s) a word may be a form of: base, -s, -ed, -ing (with e-drop, y-to-i and
    consonant doubling). Over-generates for nouns ("bags"): such forms never occur, so they cost nothing."""
    out: set[str] = set()
    if not word.isalpha() or len(word) < 3:
        return out
    for b in _bases(word):
        if len(b) < 2:
            continue
        out.add(b)
        if b.endswith("e"):
            out |= {b + "s", b + "d", b[:-1] + "ing"}
        elif b.endswith("y") and b[-2] not in "aeiou":
            out |= {b[:-1] + "ies", b[:-1] + "ied", b + "ing"}
        elif b.endswith(("s", "sh", "ch", "x", "z")):
            out |= {b + "es", b + "ed", b + "ing"}
        else:
            out |= {b + "s", b + "ed", b + "ing"}
            if len(b) >= 3 and b[-1] not in "aeiouwxy" and b[-2] in "aeiou" and b[-3] not in "aeiou":
                out |= {b + b[-1] + "ed", b + b[-1] + "ing"}  # "slip": "slipped", "slipping"
    return out


def phrase_variants(phrase: str) -> set[str]:
    """Other inflections of a multi-word term: its first word, when it is an inflected verb, in every verb form
    ("heads south": "headed south", "heading south") and its last word in the plural ("rug pull": "rug pulls")."""
    words = phrase.split()
    first = words[0]
    # only a phrase led by an inflected verb is a verb phrase ("heads south"); "bull run" is no "bulls run"
    verb_led = first.endswith(("ed", "ing")) or (first.endswith("s") and not first.endswith("ss"))
    out = {" ".join([f, *words[1:]]) for f in verb_forms(first)} if verb_led else set()
    last = words[-1]
    if last.isalpha() and len(last) >= 3 and not last.endswith("s"):
        out.add(" ".join([*words[:-1], last + ("es" if last.endswith(("ch", "sh", "x", "z")) else "s")]))
    out.discard(phrase)
    return out
