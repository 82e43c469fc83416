"""Finding strategies: a file path, a module next to the user, a name in the user folder; clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quantdesk.core.errors import NotFoundError, ParameterError
from quantdesk.strategies.base import Strategy
from quantdesk.strategies.loader import load_strategy, user_strategies
from quantdesk.strategies.template import render

GOOD = '''
from quantdesk.strategies.base import Ind, IntParam, Strategy

class SmaCross(Strategy):
    name = "my_sma_cross"
    params = {"fast": IntParam(10, 2, 200), "slow": IntParam(30, 2, 500)}
'''


@pytest.fixture
def chdir(tmp_path: Path):
    old = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)


def test_module_in_the_working_directory(chdir: Path) -> None:
    (chdir / "my_module_t1.py").write_text(GOOD)
    cls = load_strategy("my_module_t1:SmaCross")
    assert issubclass(cls, Strategy) and cls.name == "my_sma_cross"


def test_file_path_with_and_without_the_class(tmp_path: Path) -> None:
    f = tmp_path / "sub" / "strat_t2.py"
    f.parent.mkdir()
    f.write_text(GOOD)
    assert load_strategy(f"{f}:SmaCross").name == "my_sma_cross"
    assert load_strategy(str(f)).name == "my_sma_cross"  # its only Strategy subclass


def test_by_name_from_the_user_folder(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(render("my_first"))
    (tmp_path / "broken.py").write_text("import nothing_like_this\n")  # skipped, does not hide the others
    assert load_strategy("my_first", folder=tmp_path).name == "my_first"
    assert load_strategy("MyFirst", folder=tmp_path).name == "my_first"  # class name
    assert load_strategy("mine", folder=tmp_path).name == "my_first"  # file name
    assert [i.name for i in user_strategies(tmp_path)] == ["my_first"]


def test_errors_name_what_and_where(tmp_path: Path, chdir: Path) -> None:
    with pytest.raises(NotFoundError, match="no module 'nope_mod'"):
        load_strategy("nope_mod:X")
    (chdir / "syntax_t3.py").write_text("def broken(:\n")
    with pytest.raises(ParameterError, match=r"syntax_t3\.py, line 1"):
        load_strategy("syntax_t3.py:X")
    (chdir / "raises_t4.py").write_text("x = 1\nraise RuntimeError('boom at import')\n")
    with pytest.raises(ParameterError, match=r"raises_t4\.py, line 2.*boom at import"):
        load_strategy("raises_t4:X")
    (chdir / "two_t5.py").write_text(GOOD + "\nclass Other(SmaCross):\n    name = 'other'\n")
    with pytest.raises(NotFoundError, match="name the class.*Other, SmaCross|name the class.*SmaCross, Other"):
        load_strategy("two_t5.py")
    with pytest.raises(NotFoundError, match="no class 'Nope'.*SmaCross"):
        load_strategy("two_t5.py:Nope")
    with pytest.raises(NotFoundError, match="unknown strategy 'zzz'.*strategies folder"):
        load_strategy("zzz", folder=tmp_path)


def test_the_template_rejects_bad_names() -> None:
    with pytest.raises(ParameterError, match="lower-case"):
        render("My Strategy")
