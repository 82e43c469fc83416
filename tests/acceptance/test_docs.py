"""Every page of docs/ is a contract like the README: a person following it top to bottom gets what it says.

Pages with a test of their own (a test module opening `"docs" / "<page>"`) are run there; every other page
is walked here in a fresh folder with a fresh QD_HOME, block by block in the page's order (parsed by
readme_runner, as the README is):
- ```python and ```toml blocks whose first line is `# save as NAME` are written to NAME (the page says to);
- other ```python blocks run (`python -c`, in the folder); other ```toml blocks must load as a configuration;
- ```bash commands run in order (`quantdesk ...` as `python -m quantdesk ...`); a command whose comment says
  "exits with code N" must exit with N; `make run` runs as `quantdesk up` until its health answers (then
  Ctrl-C), `serve` likewise, on a free port; commands that install or run the test suite are listed in NOT_RUN
  with the reason. A command the test does not know fails it.
Then CHECKS hold a page to what its text promises (files written, numbers shown).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from readme_runner import ROOT, Command, Snippet, commands, snippets
from test_readme import Walk, _free_port, _health

pytestmark = pytest.mark.slow

DOCS = ROOT / "docs"
INDEX = "README.md"
_OPENS_PAGE = re.compile(r"""["']docs["']\s*/\s*["']([\w.-]+\.md)["']""")  # ... / "docs" / "ml.md"


def own_tests() -> dict[str, str]:
    """Pages with a test of their own: a test module that opens `... / "docs" / "<page>"` (how every
    page-specific test names its page) runs that page's examples itself."""
    found: dict[str, str] = {}
    for test in sorted((ROOT / "tests").rglob("test_*.py")):
        if test.name != Path(__file__).name:
            for page in _OPENS_PAGE.findall(test.read_text(encoding="utf-8")):
                found.setdefault(page, str(test.relative_to(ROOT)))
    return found


OWN_TEST = own_tests()
PAGES = sorted(p.name for p in DOCS.glob("*.md") if p.name not in OWN_TEST and p.name != INDEX)
NOT_RUN = {
    ("make", "test"): "it is this test suite",
    ("make", "test-services"): "it is this test suite on PostgreSQL and Redis",
    ("make", "bench"): "benchmarks take minutes; each has a scaled-down twin in the tests",
    ("source", ".venv/bin/activate"): "the test already runs in the environment it activates",
}
_SAVE_AS = re.compile(r"^#\s*save as\s+(\S+)\s*$")
_EXIT_CODE = re.compile(r"#.*\bexits? with code (\d+)")


class DocWalk(Walk):
    """The README's walk (a folder, a QD_HOME, background processes), reading `quantdesk` as the program."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp, fake_url="http://127.0.0.1:9")  # no page talks to an exchange: a closed port
        self.env.pop("QD_EXCHANGES__BINANCE__BASE_URL")
        self.texts: dict[int, str] = {}  # command line -> command text, for CHECKS
        self.python_outputs: list[str] = []  # stdout of each ```python block run, in order

    def argv(self, cmd: Command) -> list[str]:
        prog, *rest = cmd.argv
        assert prog in ("quantdesk", ".venv/bin/quantdesk"), f"line {cmd.line}: unknown program {prog!r}"
        return [sys.executable, "-m", "quantdesk", *rest]

    def run_expecting(self, cmd: Command, code: int) -> str:
        proc = subprocess.run(self.argv(cmd), cwd=self.cwd, env={**self.env, **cmd.env}, capture_output=True,
                              text=True, timeout=600)
        out = proc.stdout + proc.stderr
        assert proc.returncode == code, (
            f"line {cmd.line}: `{cmd.text}` exited {proc.returncode}, not {code}:\n{out}"
        )
        assert "Traceback" not in out, f"line {cmd.line}: traceback:\n{out}"
        self.outputs[cmd.line] = out
        return out

    def output_of(self, fragment: str) -> str:
        """The output of the one command whose text contains `fragment`."""
        found = [self.outputs[line] for line, text in self.texts.items() if fragment in text]
        assert len(found) == 1, f"{len(found)} commands contain {fragment!r}"
        return found[0]


def run_command(walk: DocWalk, cmd: Command) -> None:
    key = tuple(cmd.argv[:2])
    if key in NOT_RUN:
        return
    if key == ("make", "run"):  # = `quantdesk up`, which the page then describes
        up = Command(cmd.line, "quantdesk up", ["quantdesk", "up"], cmd.env)
        out = walk.until(up, _health(port := _free_port()), extra=["--port", str(port)])
        walk.outputs[cmd.line] = out
        return
    assert cmd.argv[0] != "make", f"line {cmd.line}: `{cmd.text}`: add it to NOT_RUN with a reason, or run it"
    assert not cmd.background, f"line {cmd.line}: unexpected background command `{cmd.text}`"
    if [w for w in cmd.words if not w.startswith("-")][:1] in (["serve"], ["up"]):
        walk.until(cmd, _health(port := _free_port()), extra=["--port", str(port)])  # a free port, not 8000
        return
    expected = _EXIT_CODE.search(cmd.text)
    if expected:
        walk.run_expecting(cmd, int(expected.group(1)))
    else:
        walk.run(cmd)


def save_or_run(walk: DocWalk, snip: Snippet) -> None:
    first = snip.text.splitlines()[0] if snip.text.strip() else ""
    target = _SAVE_AS.match(first)
    if target:
        (walk.cwd / target.group(1)).write_text(snip.text, encoding="utf-8")
    elif snip.lang == "python":
        proc = subprocess.run([sys.executable, "-c", snip.text], cwd=walk.cwd, env=walk.env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"python block at line {snip.line} failed:\n{proc.stderr}"
        walk.python_outputs.append(proc.stdout)
    elif snip.lang == "toml":
        from quantdesk.core.config import load_settings

        path = walk.cwd / f"block-{snip.line}.toml"
        path.write_text(snip.text, encoding="utf-8")
        settings = load_settings(path).model_dump(mode="json")  # an unknown or invalid key raises here
        assert_applied(tomllib.loads(snip.text), settings, f"toml block at line {snip.line}")


def assert_applied(given: dict[str, Any], effective: dict[str, Any], where: str) -> None:
    """Every value the block sets is the configuration's value (nothing renamed, ignored or coerced away)."""
    for key, value in given.items():
        assert key in effective, f"{where}: {key} is not in the configuration"
        if isinstance(value, dict):
            assert_applied(value, effective[key], f"{where} [{key}]")
        else:
            assert effective[key] == value, f"{where}: {key} = {effective[key]!r}, the block says {value!r}"


def walk_page(walk: DocWalk, page: Path) -> None:
    """Every block of the page in its order; bash blocks command by command."""
    cmds = list(commands(page))
    walk.texts = {c.line: c.text for c in cmds}
    for snip in snippets(None, page):
        if snip.lang == "bash":
            end = snip.line + len(snip.text.splitlines())
            for cmd in (c for c in cmds if snip.line < c.line <= end):
                run_command(walk, cmd)
        elif snip.lang in ("python", "toml"):
            save_or_run(walk, snip)
        # ```text and ```json blocks show output; CHECKS hold the page to it


# ---------------------------------------------------------------------------- what each page promises
def check_getting_started(walk: DocWalk) -> None:
    up = walk.outputs[next(line for line, text in walk.texts.items() if text == "make run")]
    assert "QuantDesk is up" in up and "#key=qd_" in up and "demo bot" in up
    summary = json.loads((walk.cwd / "runs/first/summary.json").read_text())
    assert summary["data"]["symbol"] == "BTC/USDT" and summary["metrics"]["num_trades"] > 0
    files = {p.name for p in (walk.cwd / "runs/first").iterdir()}
    assert {"report.html", "trades.csv", "orders.csv", "equity.csv"} <= files
    runs = json.loads(walk.output_of("backtest list --json"))
    assert any(r["strategy"] == "sma_cross" and r["out_dir"].endswith("runs/first") for r in runs)
    first = walk.output_of("--max-bars 600")
    assert "fill first-bot 2022-01-01T" in first and re.search(r"bars\s+600\b", first)
    assert re.search(r"first-bot\s+│\s+stopped", walk.output_of("paper status"))
    assert re.search(r"bars\s+900\b", walk.output_of("--resume"))  # continued: 600 + 300 bars
    assert "qd_" in walk.output_of("api-key create me")


def check_strategies(walk: DocWalk) -> None:
    home = Path(walk.env["QD_HOME"])
    assert (home / "strategies" / "my_first.py").is_file()
    assert "my_first" in walk.output_of("strategy list")
    for run in ("rsidip", "rsidip-7", "my-first"):
        summary = json.loads((walk.cwd / "runs" / run / "summary.json").read_text())
        assert summary["metrics"]["num_trades"] > 0, run
    seven = json.loads((walk.cwd / "runs/rsidip-7/summary.json").read_text())
    assert seven["config"]["params"] == {"period": 7, "low": 30}
    opt = walk.output_of("optimize")
    assert "of 9 trials" in opt and "deflated Sharpe ratio" in opt
    failed = walk.output_of("peek.py")
    assert "raised in on_bar at bar 0" in failed and "IndexError: rsi[1] is in the future" in failed
    assert "peek.py, line 12)" in failed  # the line of `self.ind.rsi[1]` in the saved file
    assert "unknown parameter(s) ['perod']" in walk.output_of("perod=7")
    (py,) = walk.python_outputs
    cli = json.loads((walk.cwd / "runs/rsidip-7/summary.json").read_text())["metrics"]
    trades, ret = (float(x) for x in py.split()[:2])
    assert trades == cli["num_trades"]  # the same run
    assert ret == pytest.approx(cli["total_return_pct"], rel=1e-12)


def check_risk(walk: DocWalk) -> None:
    fit = walk.output_of("runs/risk-fit")
    assert re.search(r"\d+ order\(s\) sized down to fit max_position_pct", fit)
    deny = walk.output_of("runs/risk-deny")
    n_fit = int(re.search(r"(\d+) order\(s\) sized down", fit).group(1))
    assert f"{n_fit} order(s) denied by max_position_pct" in deny  # the same orders, denied instead
    assert json.loads((walk.cwd / "runs/risk-deny/summary.json").read_text())["metrics"]["num_trades"] == 0
    breakers = walk.output_of("runs/risk-breakers")
    assert "trading state change(s) max_drawdown_pct" in breakers and "denied by trading_state" in breakers
    heat = walk.output_of("risk heat")
    assert "450.00" in heat and "4.50%" in heat  # 0.1 x 2,000 + 2 x 125, of 10,000
    assert "-30.00%" in walk.output_of("risk stress")
    guarded = walk.output_of("--bot-name guarded")
    buys = re.findall(r"fill guarded \S+ BUY ([0-9.]+) BTC/USDT @ ([0-9,.]+)", guarded)
    notionals = [float(q) * float(p.replace(",", "")) for q, p in buys]
    assert notionals and max(notionals) <= 0.15 * 10_000 * 1.01  # all-in orders sized to 15% of the equity


CHECKS: dict[str, Callable[[DocWalk], None]] = {
    "getting-started.md": check_getting_started,
    "strategies.md": check_strategies,
    "risk.md": check_risk,
}


# ---------------------------------------------------------------------------- tests
def test_every_page_is_indexed_and_run_by_a_test() -> None:
    pages = {p.name for p in DOCS.glob("*.md")} - {INDEX}
    # the pages whose own tests existed when this test was written are found (the discovery rule works)
    assert {"assistant.md", "exchange-simulator.md", "ml.md", "powertrader.md", "regimes.md", "reports.md",
            "sentiment.md"} <= set(OWN_TEST), OWN_TEST
    assert set(OWN_TEST) <= pages | {INDEX}, f"tests open pages that do not exist: {set(OWN_TEST) - pages}"
    assert set(CHECKS) <= set(PAGES), "CHECKS for a page that is not run here"
    index = (DOCS / INDEX).read_text(encoding="utf-8")
    links = set(re.findall(r"\]\(([^)#]+\.md)\)", index))
    assert not links - pages, f"docs/README.md links missing pages: {sorted(links - pages)}"
    assert not pages - links, f"add a line for each page to docs/README.md: {sorted(pages - links)}"


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_as_written(page: str, tmp_path: Path) -> None:
    walk = DocWalk(tmp_path)
    try:
        walk_page(walk, DOCS / page)
    finally:
        walk.close()
    CHECKS.get(page, lambda _walk: None)(walk)  # what the page promises beyond "every command works"
