"""Rules added in lexicon v4 (docs/sentiment.md): each on a headline written for the test, by sign."""

from __future__ import annotations

import pytest

from quantdesk.intel.sentiment.analyzer import get_scorer
from quantdesk.intel.sentiment.grammar import phrase_variants, verb_forms


def score(text: str) -> float:
    return get_scorer("crypto").score(text)


@pytest.mark.parametrize(("text", "sign"), [
    ("Bitcoin headed south overnight", -1),  # a multi-word term in another inflection ("heads south")
    ("Three rug pulls in a week on the new chain", -1),  # ... and its last word in the plural
    ("Bitcoin fails to hold $70K", -1),  # a failure with nothing to negate is bad news
    ("Solana can't break $200 resistance", -1),
    ("Bitcoin fails to crash despite the selling", +1),  # ... but a negated bad term still flips
    ("Hacker behind $600M exploit arrested", +1),  # a punished agent's crime counts 0
    ("Stolen funds frozen by stablecoin issuer", +1),  # seizing a crime's proceeds is good news
    ("Bitcoin holds up as equities tumble", +1),  # a rival market's own move is not crypto news
    ("bears in absolute shambles", +1),  # harm to those betting against the market is good news
    ("Bitcoin rekt as bears take over", -1),  # ... only when it happens to them
    ("ETH bulls run out of gas", -1),  # a setback right after the bulls
    ("Short interest on ETH climbs to highest since 2022", -1),  # "<term> on <asset>": the term moves
    ("Network upgrade cuts transaction fees by 90%", +1),  # a transitive verb acts on its object
    ("Coinbase shares slip even as trading volume rebounds", -1),  # a reversal flips only its own part
    ("Token surges after listing, then crashes 60%", -1),  # "then": what happened last leads
    ("Analysts see $100K bitcoin by year-end", +1),  # a price target reads as a rise
    ("Bitcoin barely holds $50K as selling intensifies", -1),  # "as" ends a negation's scope after a term
    ("Bitcoin no longer seen as risky", +1),  # ... not before one
])
def test_v4_rules(text: str, sign: int) -> None:
    s = score(text)
    assert s * sign >= 0.15, (text, s)


def test_a_reversal_stops_at_but() -> None:
    assert score("Ripple wins in court, but an appeal looms") < score("Ripple wins in court") - 0.1


def test_moves_under_one_percent_are_hardly_news() -> None:
    assert abs(score("Market cap: $2.41T (-0.3%)")) < 0.15
    assert score("Market cap: $2.41T (-3%)") <= -0.15
    assert 0 < score("Bitcoin up 0.4%") < score("Bitcoin up 4%")


def test_suspensions_during_an_upgrade_are_routine() -> None:
    assert abs(score("Kraken to suspend deposits on the Fantom network during upgrade")) < 0.15
    assert score("Kraken suspends deposits on the Fantom network") <= -0.15


def test_inflection_helpers() -> None:
    assert {"head", "heads", "headed", "heading"} <= verb_forms("heads")
    assert {"slip", "slipped", "slipping"} <= verb_forms("slips")
    assert "headed south" in phrase_variants("heads south")
    assert "rug pulls" in phrase_variants("rug pull")
    assert "bulls run" not in phrase_variants("bull run")  # a noun-led phrase keeps its first word
