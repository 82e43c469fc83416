"""The lexicon file format (errors name the line) and the user-supplied finance word list."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantdesk.core.errors import ConfigError
from quantdesk.intel.sentiment.crypto import CryptoLexiconScorer
from quantdesk.intel.sentiment.lexicon import crypto_lexicon, load_lexicon, parse_lexicon
from quantdesk.intel.sentiment.wordlist import WordListScorer, read_word_list


def test_bundled_lexicon_loads_with_every_kind() -> None:
    lx = crypto_lexicon()
    assert len(lx.words) > 500 and lx.negators and lx.boosters and lx.diminishers and lx.contrasts
    assert lx.concessions and lx.increases and lx.decreases and lx.reversals
    assert lx.amplifiers and lx.reducers and lx.modifiers and lx.dampeners and lx.frames
    assert all(0 <= v <= 1 for table in (lx.diminishers, lx.dampeners, lx.frames) for v in table.values())
    assert all(-4 <= v <= 4 for v in lx.words.values())
    assert "rug pull" in lx.words and "rug" in lx.phrase_heads


@pytest.mark.parametrize(("text", "msg"), [
    ("moon\tword\n", "expected 'term<TAB>kind<TAB>value'"),
    ("moon\tmood\t1\n", "unknown kind 'mood'"),
    ("moon\tword\tlots\n", "is not a number"),
    ("moon\tword\t9\n", "outside"),
    ("# c\nmoon\tword\t1\nmoon\tbooster\t1\n", "x:3: 'moon' is listed twice"),
    ("a b c d e\tword\t1\n", "1 to 4 words"),
    ("flat\tdampener\t2\n", "factor in \\[0, 1\\]"),
    ("cuts\treduce\t-5\n", "outside"),
])
def test_lexicon_errors_name_the_line(text: str, msg: str) -> None:
    with pytest.raises(ConfigError, match=msg):
        parse_lexicon(text, "x")


def test_own_lexicon_file(tmp_path: Path) -> None:
    p = tmp_path / "mine.tsv"
    p.write_text("wagmi\tword\t3\nnot\tnegator\t-1\n")
    s = CryptoLexiconScorer(load_lexicon(p))
    assert s.score("wagmi") > 0 > s.score("not wagmi")
    with pytest.raises(ConfigError, match="not found"):
        load_lexicon(tmp_path / "nope.tsv")


def test_loughran_mcdonald_format(tmp_path: Path) -> None:
    p = tmp_path / "lm.csv"  # the master dictionary's layout (a few made-up rows, not LM's data)
    p.write_text("Word,Seq_num,Negative,Positive,Uncertainty\nIMPAIRMENT,1,2009,0,0\nACHIEVE,2,0,2009,0\n"
                 "ABLE,3,0,0,0\n")
    words = read_word_list(p, "lm", weight=2.0)
    assert words == {"impairment": -2.0, "achieve": 2.0}
    s = WordListScorer(p)
    assert s.score("Miner reports impairment") < 0 < s.score("Miners achieve targets")
    assert s.score("Bitcoin surges") > 0  # the crypto lexicon is still there


def test_a_word_list_overrides_a_bundled_verb(tmp_path: Path) -> None:
    p = tmp_path / "mine.csv"
    p.write_text("word,valence\ncuts,-3\n")  # "cuts" is a reduce verb in the bundled lexicon
    assert CryptoLexiconScorer().score("Exchange cuts fees") > 0
    assert WordListScorer(p, "valence").score("Exchange cuts fees") < 0


def test_word_list_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Term,Score\nx,1\n")
    with pytest.raises(ConfigError, match="not a Loughran-McDonald CSV"):
        read_word_list(bad, "lm")
    val = tmp_path / "val.csv"
    val.write_text("word,valence\ngood,2\nbad,minus\n")
    with pytest.raises(ConfigError, match="val.csv:3"):
        read_word_list(val, "valence")
    val.write_text("word,valence\nkaboom,-3.5\n")
    assert read_word_list(val, "valence") == {"kaboom": -3.5}
