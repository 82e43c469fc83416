"""Client order ids: deterministic from (bot, bar, seq), inside each venue's rules, unique, attributable."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.core.errors import ParameterError
from quantdesk.execution.client_ids import ALNUM, ClientIdRules, ClientIdScheme, base36

# the venues' documented rules (independent of the capability table, which is tested against these too)
VENUE_RULES = {
    "binance": (ClientIdRules(36, ALNUM + "._:/-"), re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")),
    "bybit": (ClientIdRules(36, ALNUM + "-_"), re.compile(r"^[A-Za-z0-9_-]{1,36}$")),
    "okx": (ClientIdRules(32, ALNUM), re.compile(r"^[A-Za-z0-9]{1,32}$")),
    "kucoin": (ClientIdRules(40, ALNUM + "-_"), re.compile(r"^[A-Za-z0-9_-]{1,40}$")),
    "kraken": (ClientIdRules(18, ALNUM + "-_"), re.compile(r"^[A-Za-z0-9_-]{1,18}$")),
}
BAR = 1_641_168_000_000  # 2022-01-03T00:00:00Z in ms

bots = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)


@pytest.mark.parametrize("venue", sorted(VENUE_RULES))
@settings(max_examples=150, deadline=None)
@given(bot=bots, bar=st.integers(0, 2**63), seq=st.integers(0, 10**6))
def test_ids_fit_each_venue_and_are_deterministic(venue, bot, bar, seq):
    rules, pattern = VENUE_RULES[venue]
    first = ClientIdScheme(bot, rules).make(bar, seq)
    again = ClientIdScheme(bot, rules).make(bar, seq)  # a restarted node computes the same id
    assert first == again
    assert pattern.fullmatch(first), first
    assert ClientIdScheme(bot, rules).owns(first)


def test_readable_ids_round_trip_and_say_what_they_are():
    scheme = ClientIdScheme("smabot", VENUE_RULES["binance"][0])
    cid = scheme.make(BAR, 3)
    assert cid == f"qd-smabot-{base36(BAR)}-3"
    assert int(base36(BAR), 36) == BAR
    assert ClientIdScheme("smabot", VENUE_RULES["binance"][0]).parse(cid) == (BAR, 3)


@pytest.mark.parametrize("venue", sorted(VENUE_RULES))
def test_ten_thousand_orders_give_ten_thousand_ids(venue):
    rules, _ = VENUE_RULES[venue]
    scheme = ClientIdScheme("a-rather-long-bot-name-for-the-tight-venues", rules)
    ids = {scheme.make(BAR + 60_000 * bar, seq) for bar in range(2_500) for seq in range(4)}
    assert len(ids) == 10_000


def test_owns_tells_bots_apart_even_when_names_overlap():
    rules = VENUE_RULES["binance"][0]
    a, ab, a_b = (ClientIdScheme(n, rules) for n in ("a", "ab", "a-b"))
    ids = {s.bot: s.make(BAR, 1) for s in (a, ab, a_b)}
    for scheme in (a, ab, a_b):
        assert [bot for bot, cid in ids.items() if scheme.owns(cid)] == [scheme.bot]
    assert not a.owns("qd-a-") and not a.owns("web-order-1") and not a.owns(None)


def test_compact_ids_of_other_bots_are_not_owned():
    rules = VENUE_RULES["okx"][0]
    mine, other = ClientIdScheme("alpha", rules), ClientIdScheme("beta", rules)
    assert mine.owns(mine.make(BAR, 0)) and not mine.owns(other.make(BAR, 0))


def test_a_collision_is_refused_not_reused():
    scheme = ClientIdScheme("bot", VENUE_RULES["kraken"][0])
    cid = scheme.candidate(BAR, 0)
    scheme.remember(cid, BAR, 7)  # an id persisted before a restart for another (bar, seq)
    with pytest.raises(ParameterError, match="collision"):
        scheme.make(BAR, 0)
    assert scheme.make(BAR, 7) == scheme.candidate(BAR, 7)  # unrelated ids still work


def test_uuid_venues_get_deterministic_uuids():
    rules = ClientIdRules(36, format="uuid")
    cid = ClientIdScheme("bot", rules).make(BAR, 2)
    assert uuid.UUID(cid).version == 5 and cid == ClientIdScheme("bot", rules).make(BAR, 2)
    assert cid != ClientIdScheme("bot", rules).make(BAR, 3)


def test_rules_name_what_is_wrong():
    rules = VENUE_RULES["okx"][0]
    with pytest.raises(ParameterError, match="33 characters.*at most 32"):
        rules.check("a" * 33)
    with pytest.raises(ParameterError, match=r"refuses: '-'"):
        rules.check("qd-1")
    with pytest.raises(ParameterError, match="empty"):
        rules.check("")
    with pytest.raises(ParameterError, match="UUID"):
        ClientIdRules(36, format="uuid").check("qd-1")
    with pytest.raises(ParameterError, match=">= 0"):
        ClientIdScheme("bot", rules).make(-1, 0)
