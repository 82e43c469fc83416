"""What a newcomer runs first: --json anywhere, flags shown as flags, strategies listed and created, a
README-style custom strategy that runs, a strategy that raises failing the run with its bar and callback."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli_basics import run_cli

README_STRATEGY = '''
from quantdesk.strategies.base import Ind, IntParam, Strategy

class SmaCross(Strategy):
    name = "my_sma_cross"
    params = {"fast": IntParam(10, 2, 200), "slow": IntParam(30, 2, 500)}

    def indicators(self):
        return {"fast": Ind("sma", period=self.p.fast), "slow": Ind("sma", period=self.p.slow)}

    def on_bar(self, bar):
        f, s = self.ind.fast, self.ind.slow
        if f[-2] <= s[-2] and f[-1] > s[-1] and self.is_flat:
            self.buy_all_cash()
        elif f[-2] >= s[-2] and f[-1] < s[-1] and self.is_long:
            self.close()
'''


def test_json_before_or_after_the_subcommand(tmp_path: Path) -> None:
    env = {"QD_HOME": str(tmp_path / "h")}
    before = run_cli("--json", "data", "list", env=env)
    after = run_cli("data", "list", "--json", env=env)
    assert before.returncode == after.returncode == 0, after.stderr
    assert json.loads(before.stdout) == json.loads(after.stdout)
    nested = run_cli("backtest", "list", "--json", env=env)
    assert nested.returncode == 0 and isinstance(json.loads(nested.stdout), list)


def test_flags_are_not_shown_as_taking_a_value(tmp_path: Path) -> None:
    for args in (("--help",), ("backtest", "--help"), ("data", "list", "--help")):
        proc = run_cli(*args, env={"QD_HOME": str(tmp_path), "COLUMNS": "120"})
        assert proc.returncode == 0 and "<bool>" not in proc.stdout, proc.stdout
    assert "--json" in run_cli("data", "list", "--help", env={"COLUMNS": "120"}).stdout


def test_strategy_new_writes_one_that_runs_and_list_shows_it(tmp_path: Path) -> None:
    env = {"QD_HOME": str(tmp_path / "h")}
    made = run_cli("--json", "strategy", "new", "my_first", env=env)
    assert made.returncode == 0, made.stderr
    path = Path(json.loads(made.stdout)["path"])
    assert path == (tmp_path / "h" / "strategies" / "my_first.py").resolve() and path.is_file()
    again = run_cli("strategy", "new", "my_first", env=env)
    assert again.returncode != 0 and "--force" in again.stderr and "Traceback" not in again.stderr
    listed = json.loads(run_cli("strategy", "list", "--json", env=env).stdout)
    names = {s["name"]: s for s in listed["strategies"]}
    assert names["my_first"]["source"] == str(path) and names["sma_cross"]["source"] == "built-in"
    assert names["sma_cross"]["search_space"] == {"fast": "5:50:5", "slow": "20:200:20"}
    run = run_cli("--json", "backtest", "--strategy", "my_first", "--symbol", "BTC/USDT", "--timeframe", "1h",
                  "--end", "2018-01-01", "--no-html", "--no-record", "--out", str(tmp_path / "r"), env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["metrics"]["num_trades"] > 0


def test_the_readme_strategy_from_the_working_directory_runs(tmp_path: Path) -> None:
    (tmp_path / "my_module.py").write_text(README_STRATEGY)
    proc = run_cli("--json", "backtest", "--strategy", "my_module:SmaCross", "--symbol", "BTC/USDT",
                   "--timeframe", "1h", "--end", "2018-01-01", "--no-html", "--no-record", "--out", "r",
                   env={"QD_HOME": str(tmp_path / "h")}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["metrics"]["num_trades"] > 0 and not doc["events"]  # warm-up [-2] is NaN, not an IndexError


def test_a_strategy_that_raises_fails_the_run_naming_bar_callback_and_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.py"
    f.write_text("from quantdesk.strategies.base import Strategy\nclass Bad(Strategy):\n    name = 'bad'\n"
                 "    def on_bar(self, bar):\n        if self.bar_index == 5:\n            1 / 0\n")
    proc = run_cli("backtest", "--strategy", f"{f}:Bad", "--symbol", "BTC/USDT", "--timeframe", "1h",
                   "--end", "2018-01-01", "--no-html", "--no-record", "--out", str(tmp_path / "r"),
                   env={"QD_HOME": str(tmp_path / "h")})
    assert proc.returncode == 3
    assert "raised in on_bar at bar 5 (2017-07-01T16:00:00Z): ZeroDivisionError" in proc.stderr
    assert "Traceback" not in proc.stderr and (tmp_path / "r" / "summary.json").is_file()


def test_no_help_text_is_turned_into_an_emoji() -> None:
    # rich renders ":b:" in "a:b:step" as an emoji in --help; every help text must be free of such codes
    import re

    import click
    from rich._emoji_codes import EMOJI

    from quantdesk.cli.app import build_command

    found: list[str] = []

    def walk(cmd: click.Command, path: str) -> None:
        texts = [cmd.help or "", cmd.short_help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
        for text in texts:
            found.extend(f"{path}: {m}" for m in re.findall(r":([a-z0-9_+-]+):", text) if m in EMOJI)
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, f"{path} {name}")

    walk(build_command(), "quantdesk")
    assert not found, found
