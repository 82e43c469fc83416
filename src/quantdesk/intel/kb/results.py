"""The user's recorded research as citable text: backtest runs (database, and their report folders),
optimisation, walk-forward and Monte Carlo summaries (`--out` folders' summary.json).

Numbers become sentences a person would write, one calendar month per sentence (the month's return, equity
before and after, trades closed, winners, the worst trade), so that a question about a bad month finds that run
and quotes the month verbatim. A run's source is its run id; an output folder's source is its path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import pandas as pd

from quantdesk.core.logging import get_logger
from quantdesk.intel.kb.chunks import Chunk
from quantdesk.intel.kb.sources import display_source

log = get_logger(__name__)
MAX_RUNS = 500


def _num(value: Any, digits: int = 2, pct: bool = False) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "n/a"
    if math.isnan(x) or math.isinf(x):
        return "n/a"
    text = f"{x:,.{digits}f}"
    return f"{text}%" if pct else text


def _params(params: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (params or {}).items()) or "default parameters"


def metrics_sentence(m: dict[str, Any]) -> str:
    parts = [f"total return {_num(m.get('total_return_pct'), pct=True)}"]
    if m.get("buy_and_hold_return_pct") is not None:
        parts.append(f"buy and hold {_num(m.get('buy_and_hold_return_pct'), pct=True)}")
    parts += [f"Sharpe {_num(m.get('sharpe'))}", f"max drawdown {_num(m.get('max_drawdown_pct'), pct=True)}",
              f"{_num(m.get('num_trades'), 0)} trades", f"win rate {_num(m.get('win_rate_pct'), 1, pct=True)}"]
    if m.get("profit_factor") is not None:
        parts.append(f"profit factor {_num(m.get('profit_factor'))}")
    if m.get("total_fees") is not None:
        parts.append(f"fees {_num(m.get('total_fees'))}")
    return ", ".join(parts)


def monthly_table(equity: pd.Series, trades: pd.DataFrame | None, start_equity: float) -> pd.DataFrame:
    """Per calendar month (UTC): start and end equity, return %, trades closed, winners, worst trade %."""
    eq = equity.astype("float64").sort_index()
    times = cast(pd.DatetimeIndex, eq.index)
    month = times.tz_convert("UTC").tz_localize(None).to_period("M") if times.tz is not None \
        else times.to_period("M")
    end = eq.groupby(month).last()
    begin = end.shift(1)
    begin.iloc[0] = start_equity
    out = pd.DataFrame({"start_equity": begin, "end_equity": end})
    out["return_pct"] = (out["end_equity"] / out["start_equity"] - 1.0) * 100.0
    out["trades"] = 0
    out["winners"] = 0
    out["worst_trade_pct"] = math.nan
    out["worst_trade_exit"] = ""
    if trades is not None and len(trades) and "exit_time" in trades:
        closed = trades[trades["exit_time"].astype(str).str.len() > 0].copy()
        if len(closed):
            exits = pd.to_datetime(closed["exit_time"], utc=True)
            closed["month"] = exits.dt.tz_localize(None).dt.to_period("M")
            closed["exit_day"] = exits.dt.strftime("%Y-%m-%d")
            period: Any  # a pd.Period (the monthly groups)
            for period, grp in closed.groupby("month"):
                if period not in out.index:
                    continue
                out.loc[period, "trades"] = len(grp)
                out.loc[period, "winners"] = int((grp["pnl"].astype(float) > 0).sum())
                worst_label: Any = grp["return_pct"].astype(float).idxmin()
                worst = grp.loc[worst_label]
                out.loc[period, "worst_trade_pct"] = float(worst["return_pct"])
                out.loc[period, "worst_trade_exit"] = worst["exit_day"]
    return out


def month_sentences(table: pd.DataFrame, who: str) -> dict[str, list[str]]:
    """Year -> one sentence per month, e.g. 'In March 2018 backtest run ab12 lost money: ...'."""
    years: dict[str, list[str]] = {}
    period: Any  # a pd.Period (the table's index is monthly periods)
    for period, row in table.iterrows():
        ret = float(row["return_pct"])
        verb = "lost money: equity fell" if ret < 0 else "made money: equity rose" if ret > 0 else \
            "was flat: equity moved"
        text = (f"In {period.strftime('%B %Y')} {who} {verb} {abs(ret):.2f}% "
                f"(from {_num(row['start_equity'])} to {_num(row['end_equity'])}); "
                f"{int(row['trades'])} trades closed, {int(row['winners'])} of them winners")
        if not math.isnan(float(row["worst_trade_pct"])):
            text += f", worst trade {float(row['worst_trade_pct']):.2f}% closed on {row['worst_trade_exit']}"
        years.setdefault(str(period.year), []).append(text + ".")
    return years


def _read_report_folder(out_dir: str | None) -> tuple[pd.Series | None, pd.DataFrame | None]:
    if not out_dir:
        return None, None
    folder = Path(out_dir)
    equity = trades = None
    try:
        if (folder / "equity.csv").is_file():
            df = pd.read_csv(folder / "equity.csv")
            equity = pd.Series(df["equity"].to_numpy(), index=pd.to_datetime(df["timestamp"], utc=True))
        if (folder / "trades.csv").is_file():
            trades = pd.read_csv(folder / "trades.csv", keep_default_na=False)
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as exc:
        log.warning("cannot read the report files of %s: %s", folder, exc)
    return equity, trades


def backtest_chunks(source: str, info: dict[str, Any], *, events: list[dict[str, Any]] | None = None,
                    out_dir: str | None = None) -> list[Chunk]:
    """Chunks of one backtest: a summary, then one chunk per year of monthly results (when the report folder
    with equity.csv is there), and its risk denials."""
    cfg = info.get("config") or {}
    metrics = info.get("metrics") or {}
    strategy = info.get("strategy") or cfg.get("strategy")
    symbol = info.get("symbol") or cfg.get("symbol")
    timeframe = info.get("timeframe") or cfg.get("timeframe")
    short = source[:8] if len(source) >= 32 else source
    who = f"backtest run {short}"
    title = f"backtest run {source}: {strategy} on {symbol} {timeframe}"
    meta = {"run_id": source, "strategy": strategy, "symbol": symbol, "timeframe": timeframe}
    when = info.get("created_at")
    span = ""
    data = info.get("data") or {}
    if data.get("first"):
        span = f", bars from {str(data['first'])[:10]} to {str(data['last'])[:10]}"
    text = (f"Backtest run {source} (recorded {when or 'n/a'}): strategy {strategy} with {_params(cfg.get('params'))}"
            f" on {symbol} {timeframe}{span}, starting cash {_num(cfg.get('cash'))}, fee {cfg.get('fee')}. "
            f"Results: {metrics_sentence(metrics)}.")
    if out_dir:
        text += f" Report folder: {out_dir}."
    chunks = [Chunk(source, "summary", title, text, "run", meta)]
    equity, trades = _read_report_folder(out_dir)
    if equity is not None and len(equity):
        table = monthly_table(equity, trades, float(cfg.get("cash") or equity.iloc[0]))
        for year, sentences in month_sentences(table, who).items():
            intro = f"Monthly results of {who} ({strategy} on {symbol} {timeframe}) in {year}."
            chunks.append(Chunk(source, f"monthly-{year}", title, " ".join([intro, *sentences]), "run", meta))
    denials = [e for e in (events or []) if e.get("type") == "OrderDenied" or e.get("rule")]
    if denials:
        lines = [denial_sentence(e) for e in denials[:40]]
        chunks.append(Chunk(source, "risk-events", title,
                            f"Risk events of {who}: {len(denials)} in all. " + " ".join(lines), "risk", meta))
    return chunks


def denial_sentence(e: dict[str, Any]) -> str:
    d = e.get("details") or {}
    value, limit = d.get("value", e.get("value")), d.get("limit", e.get("limit"))
    nums = f" (value {_num(value, 4)}, limit {_num(limit, 4)})" if value is not None or limit is not None else ""
    sym = f" on {e['symbol']}" if e.get("symbol") else ""
    return (f"At {e.get('ts', 'n/a')} rule {e.get('rule') or 'n/a'} {e.get('type', 'event')}{sym}{nums}: "
            f"{(d.get('reason') or e.get('reason') or '').strip() or 'no reason recorded'}.")


def run_chunks(url: str | None = None, limit: int = MAX_RUNS) -> tuple[list[Chunk], set[str]]:
    """Every recorded backtest run of the database; also returns their report folders (not ingested twice)."""
    from quantdesk.storage import db

    out: list[Chunk] = []
    folders: set[str] = set()
    for run in db.list_runs(url, limit=limit):
        out_dir = run.get("out_dir")
        events = None
        if out_dir:
            folders.add(str(Path(out_dir).resolve()))
            summary = Path(out_dir) / "summary.json"
            if summary.is_file():
                try:
                    doc = json.loads(summary.read_text(encoding="utf-8"))
                    events = doc.get("events")
                    run = {**run, "data": doc.get("data") or {}}
                except (OSError, ValueError):
                    pass
        created = run.get("created_at")
        run["created_at"] = pd.Timestamp(created).tz_convert("UTC").isoformat().replace("+00:00", "Z") \
            if created is not None and pd.Timestamp(created).tzinfo else created
        out += backtest_chunks(str(run["id"]), run, events=events, out_dir=out_dir)
    return out, folders


# ---- research output folders --------------------------------------------------------------------------------
def summary_kind(doc: dict[str, Any]) -> str | None:
    if "windows" in doc and "wfe" in doc:
        return "walk-forward"
    if "distributions" in doc and "prob_loss" in doc:
        return "monte-carlo"
    if "best_params" in doc and "trials" in doc:
        return "optimisation"
    if "config" in doc and "metrics" in doc:
        return "backtest"
    return None


def research_chunks(roots: Iterable[Path], skip: set[str] | None = None) -> list[Chunk]:
    """Every output folder (a summary.json) under the given folders, except the ones in `skip`."""
    out: list[Chunk] = []
    skip = skip or set()
    for root in roots:
        root = root.expanduser()
        if not root.is_dir():
            continue
        for summary in sorted(root.rglob("summary.json")):
            folder = summary.parent
            if str(folder.resolve()) in skip:
                continue
            out += folder_chunks(folder)
    return out


def folder_chunks(folder: Path) -> list[Chunk]:
    try:
        doc = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("skipped %s: %s", folder, exc)
        return []
    kind = summary_kind(doc) if isinstance(doc, dict) else None
    source = display_source(folder)
    if kind == "backtest":
        return backtest_chunks(source, doc, events=doc.get("events"), out_dir=str(folder))
    if kind == "walk-forward":
        return _walkforward(source, doc)
    if kind == "monte-carlo":
        return _montecarlo(source, doc)
    if kind == "optimisation":
        return _optimisation(source, doc)
    return []


def _data_text(doc: dict[str, Any]) -> str:
    data = doc.get("data") or {}
    if not data:
        return ""
    return (f" on {data.get('symbol')} {data.get('timeframe')} (bars {str(data.get('first'))[:10]} to "
            f"{str(data.get('last'))[:10]})")


def _walkforward(source: str, doc: dict[str, Any]) -> list[Chunk]:
    title = f"walk-forward {source}: {doc.get('strategy')}"
    meta = {"strategy": doc.get("strategy"), "kind": "walk-forward"}
    text = (f"Walk-forward analysis {source} of strategy {doc.get('strategy')}{_data_text(doc)}: "
            f"{doc.get('n_windows')} windows, train {doc.get('train')}, test {doc.get('test')}, "
            f"{'anchored' if doc.get('anchored') else 'rolling'}, {doc.get('method')} search on "
            f"{doc.get('objective')}. Out of sample: {metrics_sentence(doc.get('oos') or {})}. In-sample mean "
            f"Sharpe {_num((doc.get('is_mean') or {}).get('sharpe'))}; walk-forward efficiency "
            f"{_num(doc.get('wfe'))}.")
    chunks = [Chunk(source, "summary", title, text, "research", meta)]
    lines = []
    for w in doc.get("windows") or []:
        oos = w.get("oos") or {}
        ret = oos.get("total_return_pct")
        verb = "lost" if isinstance(ret, (int, float)) and ret < 0 else "returned"
        lines.append(f"Window {w.get('window')} (test {str(w.get('test_start'))[:10]} to "
                     f"{str(w.get('test_end'))[:10]}) chose {_params(w.get('params'))} and {verb} "
                     f"{_num(abs(ret) if isinstance(ret, (int, float)) else ret, pct=True)} out of sample "
                     f"(Sharpe {_num(oos.get('sharpe'))}, {_num(oos.get('num_trades'), 0)} trades).")
    if lines:
        chunks.append(Chunk(source, "windows", title, " ".join(lines), "research", meta))
    return chunks


def _montecarlo(source: str, doc: dict[str, Any]) -> list[Chunk]:
    dist = doc.get("distributions") or {}
    parts = []
    for key, d in dist.items():
        parts.append(f"{key.replace('_', ' ')}: median {_num(d.get('p50'))}, 5th percentile {_num(d.get('p5'))}, "
                     f"95th percentile {_num(d.get('p95'))}, original {_num(d.get('original'))} "
                     f"(percentile {_num(d.get('original_percentile'), 1)})")
    text = (f"Monte Carlo analysis {source} ({doc.get('method')}, {doc.get('sims')} simulations, seed "
            f"{doc.get('seed')}) of {doc.get('source', 'a run')}: probability of loss "
            f"{_num(100 * float(doc.get('prob_loss') or 0), 1, pct=True)}, probability of a drawdown of "
            f"{_num(doc.get('ruin_dd_pct'), 0)}% or more {_num(100 * float(doc.get('prob_ruin') or 0), 1, pct=True)}. "
            + "; ".join(parts) + ".")
    return [Chunk(source, "summary", f"monte carlo {source}", text, "research", {"kind": "monte-carlo"})]


def _optimisation(source: str, doc: dict[str, Any]) -> list[Chunk]:
    best = doc.get("best_metrics") or {}
    over = doc.get("overfitting") or {}
    cfg = doc.get("best_config") or {}
    text = (f"Optimisation {source} of strategy {doc.get('strategy')} on {cfg.get('symbol')} {cfg.get('timeframe')}:"
            f" {doc.get('method')} search, {doc.get('trials')} trials ({doc.get('feasible')} feasible), objective "
            f"{doc.get('objective')} ({doc.get('direction')}). Best parameters {_params(doc.get('best_params'))}: "
            f"{metrics_sentence(best)}.")
    if over:
        text += (f" Overfitting checks: deflated Sharpe ratio {_num(over.get('dsr'))}, probability of backtest "
                 f"overfitting (PBO) {_num(over.get('pbo'))} over {over.get('n_trials')} trials.")
    if doc.get("backtest_command"):
        text += f" Re-run the best with: {doc['backtest_command']}"
    return [Chunk(source, "summary", f"optimisation {source}: {doc.get('strategy')}", text, "research",
                  {"kind": "optimisation", "strategy": doc.get("strategy")})]
