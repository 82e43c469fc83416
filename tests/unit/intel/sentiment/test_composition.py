"""The crypto scorer's composition rules (issue 19, lexicon v3): what moves decides the sign of a movement, verbs
take objects, levels and adjectives need a linking verb, reference points, modifiers, frames and dampeners, punished
agents, comparisons, figures, inflections. Each case states the expected sign (or relation) from the rule's
meaning, not from a measured score; the metamorphic families at the end apply one rule to many words."""

from __future__ import annotations

import pytest

from quantdesk.intel.sentiment import analyze, label_of
from quantdesk.intel.sentiment.crypto import CryptoLexiconScorer
from quantdesk.intel.sentiment.grammar import inflection_candidates
from quantdesk.intel.sentiment.lexicon import crypto_lexicon

S = CryptoLexiconScorer()
LX = crypto_lexicon()


def _sign(text: str) -> int:
    s = S.score(text)
    return 0 if abs(s) < 1e-12 else (1 if s > 0 else -1)


@pytest.mark.parametrize(("text", "sign"), [
    # the subject decides: a bad quantity falling is good news, rising bad news
    ("Hack losses fall", +1),
    ("Crypto fraud cases drop sharply", +1),
    ("Liquidations surge", -1),
    ("Outflows hit record high", -1),
    ("Fees hit their lowest level", +1),
    ("Bullish bets fall", -1),
    ("Bearish bets fall", +1),
    ("Hacks no longer rise", +1),  # a negated composition flips once
    # ... unless the subject is something else
    ("Troubled lender's token falls", -1),  # an adjective describing the token, not a falling quantity
    ("Ponzi scheme collapses", -1),  # an agent, not a quantity
    ("Fear grips traders as Bitcoin falls", -1),  # the asset is what falls
    # directionless quantities stay neutral whatever moves them
    ("Bitcoin volatility drops to multi-year low", 0),
    ("Futures open interest hits record", 0),
    # transitive verbs act on their object
    ("Exchange cuts fees", +1),
    ("Bitcoin erases early gains", -1),
    ("Bitcoin erases losses", +1),
    ("Protocol halts the decline", +1),
    ("Report sparks fears", -1),
    ("Report sparks optimism", +1),
    ("Failed hack attempt", +1),
    ("Failed upgrade", -1),
    ("Hack attempt fails", +1),
    ("Regulator eases restrictions", +1),
    ("Binance ends support for the token", -1),
    # adjectives and participles right before a term describe it
    ("Rising fees", -1),
    ("Easing fears", +1),
    ("Weak demand", -1),
    ("Strong demand", +1),
    ("Strong dollar", -1),
    # levels: continuation, reference points, linking verbs
    ("Bitcoin retreats from record high", -1),
    ("Bitcoin rebounds off the lows", +1),
    ("Bitcoin won't crash to zero", +1),
    ("Bitcoin ends the week lower", -1),
    ("Exchange cuts fees to zero", +1),
    # punished bad actors, comparisons, figures
    ("Bitfinex hacker pleads guilty", +1),
    ("Exchange CEO pleads guilty", -1),
    ("Gold outshines Bitcoin", -1),
    ("Bitcoin outshines gold", +1),
    ("Market cap hits $1 billion", +1),
    ("Liquidations hit $1 billion", -1),
    ("Fees up 20%", -1),
    ("Hacks down 50% this year", +1),
    ("Hacker returns most of the stolen funds", +1),  # a bad actor giving back undoes the crime
    # a weak quantity is a subject only right before its verb: "fee switch vote fails" is a vote failing
    ("Uniswap fee switch vote fails", -1),
    ("Bitcoin ETF inflows slow for a third week", -1),  # "slow" is a verb here, not an adjective
    ("Mining difficulty adjusts higher", 0),  # a linking verb, a directionless quantity
    # negation scope ends at a conjunction
    ("Bitcoin is not weak and rallies", +1),
])
def test_composition_rules(text: str, sign: int) -> None:
    assert _sign(text) == sign, (text, S.score(text))


def test_level_words_continue_a_movement() -> None:
    assert S.score("Bitcoin falls to its lowest level") < S.score("Bitcoin falls") < 0
    assert S.score("Bitcoin rises to a record high") > S.score("Bitcoin rises") > 0
    assert S.score("Fees fall to their lowest level") > S.score("Fees fall") > 0


def test_modifiers_boost_the_opposite_sign() -> None:
    assert S.score("record losses") < S.score("losses") < 0
    assert S.score("record inflows") > S.score("inflows") > 0
    assert S.score("hits record") > 0


def test_weak_terms_are_boosted_in_proportion() -> None:
    """An intensifier cannot make a near-neutral word polar; it still raises a clear one."""
    assert label_of(S.score("Bitcoin extremely oversold")) == "neutral"
    assert S.score("Bitcoin extremely bearish") < S.score("Bitcoin bearish") < 0


def test_frames_and_dampeners() -> None:
    assert label_of(S.score("Rug pull drains $10 million")) == "negative"
    for text in ("What is a rug pull?", "How to avoid phishing scams", "Crypto hacks explained"):
        assert label_of(S.score(text)) == "neutral", text
    # a dampener quiets its own part of the clause only
    assert label_of(S.score("Bitcoin unchanged")) == "neutral"
    assert label_of(S.score("Bitcoin unchanged while altcoins gain")) == "positive"
    assert abs(S.score("Bitcoin flat after early gains")) < abs(S.score("Bitcoin gains"))


def test_denials_only_weaken() -> None:
    assert label_of(S.score("Exchange denies reports of insolvency")) == "neutral"
    assert S.score("Exchange is not insolvent") > 0.15  # a plain negation still flips


def test_inflections_take_their_stems_entry() -> None:
    for word, stem in [("skyrocketing", "skyrocket"), ("defrauds", "defraud"), ("riskier", "risky"),
                       ("rugging", "rugged"), ("bullishly", "bullish")]:
        assert word not in LX.words and word not in LX.increases, word  # the case tests the fallback
        assert S.score(f"Token {word}") * S.score(f"Token {stem}") > 0, word
    # a plural noun does not borrow a verb's entry: "blocks" is no "blocked"
    assert "blocks" not in LX.reducers and "blocked" in LX.reducers
    assert S.score("Miner finds ten blocks") == 0.0
    assert ("block", ("",)) in inflection_candidates("blocks")
    assert all("ed" not in forms for stem, forms in inflection_candidates("blocks") if stem == "block")


def test_possessive_asset_names_are_assets() -> None:
    got = analyze(["Bitcoin's rally fizzles", "SOL's outage drags on"])
    assert got[0].entities == ("BTC/USDT",) and got[0].score < 0
    assert got[1].entities == ("SOL/USDT",)
    assert analyze(["sol's"])[0].entities == ()  # the case rule of coins.tsv still holds


BAD_QUANTITIES = ["hacks", "outflows", "liquidations", "losses", "fears", "layoffs", "scams"]
GOOD_QUANTITIES = ["inflows", "profits", "adoption", "optimism", "demand", "gains"]


@pytest.mark.parametrize("noun", BAD_QUANTITIES + GOOD_QUANTITIES)
@pytest.mark.parametrize(("up", "down"), [("rise", "fall"), ("surge", "plunge"), ("grow", "shrink"),
                                          ("climb", "decline")])
def test_movements_follow_their_subject(noun: str, up: str, down: str) -> None:
    """Metamorphic: '<noun> rises' has the noun's sign, '<noun> falls' the opposite one, for every noun and verb."""
    base = S.score(noun)
    assert base != 0
    assert S.score(f"{noun} {up}") * base > 0, (noun, up)
    assert S.score(f"{noun} {down}") * base < 0, (noun, down)
    assert abs(S.score(f"{noun} {up}")) > abs(base)  # rising makes it more so


@pytest.mark.parametrize("noun", BAD_QUANTITIES + GOOD_QUANTITIES)
@pytest.mark.parametrize(("push", "cut"), [("boosts", "cuts"), ("fuels", "erases"), ("extends", "reduces")])
def test_verbs_act_on_their_object(noun: str, push: str, cut: str) -> None:
    base = S.score(noun)
    assert S.score(f"Report {push} {noun}") * base > 0, (push, noun)
    assert S.score(f"Report {cut} {noun}") * base < 0, (cut, noun)


@pytest.mark.parametrize("noun", BAD_QUANTITIES + GOOD_QUANTITIES)
def test_negated_movement_flips_back(noun: str) -> None:
    assert S.score(f"{noun} did not fall") * S.score(f"{noun} fell") < 0, noun


@pytest.mark.parametrize("asset", ["Bitcoin", "Ether", "Solana", "XRP", "Dogecoin", "Cardano"])
@pytest.mark.parametrize("template", ["{a} price falls as hack losses drop", "Gold outshines {a}",
                                      "{a}'s rally fizzles", "{a} erases early gains",
                                      "{a} market cap hits $1 billion", "{a} unchanged while altcoins gain"])
def test_rules_do_not_depend_on_which_asset(asset: str, template: str) -> None:
    assert S.score(template.format(a=asset)) == pytest.approx(S.score(template.format(a="Bitcoin")), abs=1e-12)
