"""`quantdesk ml ...`: train, evaluate, predict with and list ML models; list usable features.

    quantdesk ml train --symbol BTC/USDT --timeframe 1h --label horizon:12 --model lightgbm --cv walk-forward \\
        --folds 5 --out runs/m1
    quantdesk ml train --data prices.csv --label barrier:tp=2:sl=1:max=24 --model ensemble --cv cpcv --folds 6
    quantdesk ml train --symbol BTC/USDT --search num_leaves=4,8,16 --search learning_rate=0.03,0.1 --jobs 2
    quantdesk ml evaluate --model <id> --symbol BTC/USDT --timeframe 1h --start 2024-01-01
    quantdesk ml predict --model <id> --symbol BTC/USDT --timeframe 1h --last 5
    quantdesk ml models
    quantdesk ml features [--group momentum]
    quantdesk ml promote <id>                      # champion of its slot (symbol|timeframe|label)
    quantdesk ml walk-forward --symbol BTC/USDT --train 2000b --test 500b   # retrained per window
    quantdesk ml retrain --symbol BTC/USDT --every 500 --holdout 200 [--on-drift]   # champion/challenger

`--json` prints one JSON document (`ml train`: `cv` with auc, brier, logloss, accuracy, baseline_accuracy, ... and
`model_id`); progress bars go to stderr. Bad input: one line on stderr, exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from quantdesk.cli.output import emit, err_console, kv_table, records_table
from quantdesk.core.errors import ParameterError

ml_app = typer.Typer(help="Machine-learning signals: train with purged CV, evaluate, predict, list models.",
                     no_args_is_help=True)

SymbolOpt = Annotated[str | None, typer.Option("--symbol", help="Symbol in the candle store, e.g. BTC/USDT.")]
TimeframeOpt = Annotated[str | None, typer.Option("--timeframe", "-t", help="Bar length (default 1h; inferred for --data).")]
ExchangeOpt = Annotated[str | None, typer.Option("--exchange", "-e", help="Exchange in the store (if several).")]
DataOpt = Annotated[Path | None, typer.Option("--data", help="A CSV/Parquet file instead of the store.")]
StartOpt = Annotated[str | None, typer.Option("--start", help="First bar (UTC ISO-8601), inclusive.")]
EndOpt = Annotated[str | None, typer.Option("--end", help="Last bar (UTC ISO-8601), inclusive.")]
ModelIdOpt = Annotated[str, typer.Option("--model", "-m", help="Model id (`quantdesk ml models`).")]


def _ints(text: str | None, flag: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ParameterError(f"{flag} expects comma-separated whole numbers, got {text!r}") from None


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


class _Progress:
    """A rich progress bar on stderr (silent when stderr is not a terminal)."""

    def __init__(self, description: str) -> None:
        self.progress = None
        if err_console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=err_console, transient=True)
            self.progress.start()
            self.task = self.progress.add_task(description, total=1)

    def __call__(self, done: int, total: int, text: str) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=done, total=max(total, 1), description=text)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _render_train(console: Console, doc: dict[str, Any]) -> None:
    cv = doc["cv"]
    strat = cv.get("strategy") or {}
    console.print(kv_table({"model id": doc["model_id"], "model": doc.get("kind"), "label": doc.get("label"),
                            "data": f"{doc.get('symbol')} {doc.get('timeframe')} ({doc.get('first')} -> "
                                    f"{doc.get('last')}, {doc.get('samples')} samples)",
                            "validation": ", ".join(f"{k}={v}" for k, v in (cv.get("splitter") or {}).items()),
                            "files": (doc.get("files") or {}).get("summary.json")}, title="ML model"))
    t = Table(title="Out-of-sample scores (next to the no-skill baseline)")
    for col in ("score", "model", "no-skill baseline"):
        t.add_column(col, justify="left" if col == "score" else "right")
    for name, key, base in (("AUC", "auc", 0.5), ("accuracy", "accuracy", cv.get("baseline_accuracy")),
                            ("Brier", "brier", cv.get("baseline_brier")),
                            ("log loss", "logloss", cv.get("baseline_logloss")), ("ECE (calibration)", "ece", None)):
        t.add_row(name, _num(cv.get(key)), _num(base))
    t.add_row("strategy Sharpe / bar (net)", _num(strat.get("sharpe")), "0")
    t.add_row("deflated Sharpe (P(skill))", _num(strat.get("dsr")), "0.95 = significant")
    console.print(t)
    found = doc.get("search")
    if found:
        console.print(records_table(found["table"], title=f"Search: {found['configurations']} configurations "
                                                           f"(best by out-of-sample log loss: {found['best_params']})"))
    imp = doc.get("importance") or []
    if imp:
        console.print(records_table([{"feature": r["feature"], "AUC drop": r["importance"]} for r in imp[:8]],
                                    title="Most important features (permutation)"))


def train_cmd(
    symbol: SymbolOpt = None, timeframe: TimeframeOpt = None, exchange: ExchangeOpt = None, data: DataOpt = None,
    start: StartOpt = None, end: EndOpt = None,
    label: Annotated[str, typer.Option("--label", help="horizon:N[:threshold=x] or barrier:tp=2:sl=1:max=24[:atr=14].")] = "horizon:12",
    model: Annotated[str, typer.Option("--model", help="lightgbm, rf, et, gb, xgboost or ensemble.")] = "lightgbm",
    cv: Annotated[str, typer.Option("--cv", help="walk-forward or cpcv.")] = "walk-forward",
    folds: Annotated[int, typer.Option("--folds", help="Walk-forward test folds / CPCV groups.")] = 5,
    test_groups: Annotated[int, typer.Option("--test-groups", help="CPCV: groups per test set.")] = 2,
    embargo: Annotated[int, typer.Option("--embargo", help="Bars after each test block kept out of training.")] = 0,
    feature: Annotated[list[str] | None, typer.Option("--feature", "-f", help="Catalog feature, e.g. rsi:period=14, adx@4h (repeat; default: a standard set).")] = None,
    returns: Annotated[str | None, typer.Option("--returns", help="Return horizons in bars, e.g. 1,2,4,8.")] = None,
    volatility: Annotated[str | None, typer.Option("--volatility", help="Volatility windows in bars, e.g. 8,32.")] = None,
    extra: Annotated[list[str] | None, typer.Option("--extra", help="Extra column by name: catalog entry or a --data column (repeat).")] = None,
    calibration: Annotated[str, typer.Option("--calibration", help="sigmoid, isotonic or none.")] = "sigmoid",
    seed: Annotated[int, typer.Option("--seed")] = 42,
    trials: Annotated[int, typer.Option("--trials", help="Models tried so far (deflates the Sharpe).")] = 1,
    search: Annotated[list[str] | None, typer.Option("--search", help="Grid search of a model parameter, e.g. num_leaves=4,8,16 (repeat); the best by OOS log loss wins, its Sharpe deflated for the grid size.")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes for the folds (1 = in-process).")] = None,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Run folds on Ray ('auto', 'local', address).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (summary.json, oos.csv, report.html).")] = None,
) -> None:
    """Train a model with purged cross-validation; print the out-of-sample scores next to their baselines."""
    from quantdesk.ml.search import parse_grid
    from quantdesk.ml.service import TrainRequest, train_model
    from quantdesk.research.executors import make_executor

    grid = parse_grid(search) if search else None
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs must be >= 1, got {jobs}")
    try:
        req = TrainRequest(symbol=symbol, timeframe=timeframe, exchange=exchange,
                           data_file=str(data) if data else None, start=start, end=end, label=label, model=model,
                           cv=cv, folds=folds, test_groups=test_groups, embargo=embargo, features=feature,
                           returns=_ints(returns, "--returns"), volatility=_ints(volatility, "--volatility"),
                           extra=list(extra or []), calibration=calibration, seed=seed, trials=trials,
                           search=grid)
    except ValidationError as exc:
        first = exc.errors()[0]
        flag = "--" + "-".join(str(p) for p in first["loc"] if not isinstance(p, int)).replace("_", "-")
        raise ParameterError(f"{flag}: {first['msg']} (got {first.get('input')!r})") from None
    ex = make_executor(jobs=jobs or 1, ray_address=ray_address)
    bar = _Progress("training")
    try:
        doc = train_model(req, out_dir=out, executor=ex, progress=bar)
    finally:
        bar.close()
        ex.close()
    emit(doc, render=_render_train)


def _frame(symbol: str | None, timeframe: str | None, exchange: str | None, data: Path | None,
           start: str | None, end: str | None) -> Any:
    from quantdesk.ml.service import load_frame

    return load_frame(symbol=symbol, timeframe=timeframe, exchange=exchange, data_file=str(data) if data else None,
                      start=start, end=end)[0]


def evaluate_cmd(model: ModelIdOpt, symbol: SymbolOpt = None, timeframe: TimeframeOpt = None,
                 exchange: ExchangeOpt = None, data: DataOpt = None, start: StartOpt = None, end: EndOpt = None) -> None:
    """Score a registered model on data after its training period (in-sample bars are skipped)."""
    from quantdesk.ml.service import evaluate_model

    doc = evaluate_model(model, _frame(symbol, timeframe, exchange, data, start, end))

    def render(console: Console, d: dict[str, Any]) -> None:
        s = d["scores"]
        console.print(kv_table({"model": d["model_id"], "out-of-sample bars": d["out_of_sample"],
                                "skipped (in training period)": d["skipped_in_sample"],
                                "AUC (baseline 0.5)": _num(s.get("auc")),
                                "accuracy (baseline)": f"{_num(s.get('accuracy'))} ({_num(s.get('baseline_accuracy'))})",
                                "Brier (baseline)": f"{_num(s.get('brier'))} ({_num(s.get('baseline_brier'))})",
                                "ECE": _num(s.get("ece")), "deflated Sharpe": _num(d["strategy"].get("dsr"))},
                               title="Evaluation"))
        console.print(records_table(d["deciles"], title="Hit rate by confidence decile"))

    emit(doc, render=render)


def predict_cmd(model: ModelIdOpt, symbol: SymbolOpt = None, timeframe: TimeframeOpt = None,
                exchange: ExchangeOpt = None, data: DataOpt = None, start: StartOpt = None, end: EndOpt = None,
                last: Annotated[int, typer.Option("--last", help="How many of the latest bars to show.")] = 5) -> None:
    """Calibrated probability, direction, confidence and the features that drove the latest prediction."""
    from quantdesk.ml.service import predict

    doc = predict(model, _frame(symbol, timeframe, exchange, data, start, end), last=last)

    def render(console: Console, d: dict[str, Any]) -> None:
        console.print(records_table(d["predictions"], title=f"Model {d['model_id']} ({d.get('label')})"))
        if d.get("drivers"):
            console.print(records_table(d["drivers"], title="What drove the latest prediction"))

    emit(doc, render=render)


def models_cmd(limit: Annotated[int, typer.Option("--limit")] = 50) -> None:
    """Registered models, newest first, with their validation scores."""
    from quantdesk.ml.service import list_models

    rows = list_models(limit=limit)

    def render(console: Console, _d: Any) -> None:
        if not rows:
            console.print("no models yet: `quantdesk ml train ...`")
            return
        t = Table(title="ML models (validation: out-of-sample)")
        t.add_column("id", no_wrap=True, min_width=24)
        for col in ("created", "slot", "kind", "status", "AUC", "acc. (baseline)", "DSR"):
            t.add_column(col, justify="left" if col in ("created", "slot", "kind", "status") else "right")
        for r in rows:
            m = r["metrics"] or {}
            t.add_row(r["id"], str(r["created_at"])[:10], r["slot"], r["kind"], r["status"], _num3(m.get("auc")),
                      f"{_num3(m.get('accuracy'))} ({_num3(m.get('baseline_accuracy'))})", _num3(m.get("dsr")))
        console.print(t)

    emit(rows, render=render)


def _num3(v: Any) -> str:
    return "-" if v is None else f"{float(v):.3f}"


def features_cmd(group: Annotated[str | None, typer.Option("--group", help="Only this catalog group.")] = None) -> None:
    """What can be used as a feature (catalog entries, returns, volatility, extra columns)."""
    from quantdesk.ml.service import features_catalog

    doc = features_catalog(group)

    def render(console: Console, d: dict[str, Any]) -> None:
        console.print(f"syntax: {d['syntax']}")
        console.print(records_table(d["builtin"], title="Built-in features"))
        console.print(records_table([{"name": e["name"], "group": e["group"], "outputs": ",".join(e["outputs"]),
                                      "params": ", ".join(f"{k}={v}" for k, v in e["params"].items())}
                                     for e in d["indicators"]], title="Indicator catalog"))

    emit(doc, render=render)


def promote_cmd(model_id: Annotated[str, typer.Argument(help="Model id.")]) -> None:
    """Make a model the champion of its slot (the previous champion is retired)."""
    from quantdesk.ml import registry

    registry.set_status(model_id, "champion")
    emit(registry.get_row(model_id) | {"meta": None})


def _spec(label: str, model: str, folds: int, feature: list[str] | None, returns: str | None,
          volatility: str | None, seed: int) -> Any:
    from quantdesk.ml.service import TrainRequest, spec_from_request

    return spec_from_request(TrainRequest(label=label, model=model, folds=folds, features=feature,
                                          returns=_ints(returns, "--returns"),
                                          volatility=_ints(volatility, "--volatility"), seed=seed,
                                          causality_samples=2))


def walk_forward_cmd(
    symbol: SymbolOpt = None, timeframe: TimeframeOpt = None, exchange: ExchangeOpt = None, data: DataOpt = None,
    start: StartOpt = None, end: EndOpt = None,
    train: Annotated[str, typer.Option("--train", help="Train window: 180d or bars (2000b).")] = "2000b",
    test: Annotated[str, typer.Option("--test", help="Test window: 30d or bars (500b).")] = "500b",
    step: Annotated[str | None, typer.Option("--step", help="Step between windows (default --test).")] = None,
    anchored: Annotated[bool, typer.Option("--anchored", help="Train windows all start at the first bar.")] = False,
    label: Annotated[str, typer.Option("--label")] = "horizon:12",
    model: Annotated[str, typer.Option("--model")] = "lightgbm",
    folds: Annotated[int, typer.Option("--folds", help="Purged CV folds inside each train window.")] = 3,
    feature: Annotated[list[str] | None, typer.Option("--feature", "-f")] = None,
    returns: Annotated[str | None, typer.Option("--returns")] = None,
    volatility: Annotated[str | None, typer.Option("--volatility")] = None,
    upper: Annotated[float, typer.Option("--upper", help="ml_signal: long at or above this probability.")] = 0.55,
    seed: Annotated[int, typer.Option("--seed")] = 42,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (windows.csv, oos_equity.csv).")] = None,
) -> None:
    """Walk-forward backtest of ml_signal with the model retrained on every train window."""
    from quantdesk.core.timeutil import iso
    from quantdesk.ml.service import load_frame
    from quantdesk.ml.wf import ml_walk_forward

    spec = _spec(label, model, folds, feature, returns, volatility, seed)
    frame, sym, tf = load_frame(symbol=symbol, timeframe=timeframe, exchange=exchange,
                                data_file=str(data) if data else None, start=start, end=end)
    bar = _Progress("walk-forward")
    try:
        wf = ml_walk_forward(frame, spec, train=train, test=test, step=step, anchored=anchored, symbol=sym,
                             timeframe=tf, params={"upper": upper}, progress=bar)
    finally:
        bar.close()
    doc = wf.summary()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        wf.windows.to_csv(out / "windows.csv", index=False, float_format="%.10g")
        eq = wf.oos_equity.reset_index()
        eq.columns = ["timestamp", "equity"]
        eq["timestamp"] = [iso(t) for t in eq["timestamp"]]
        eq.to_csv(out / "oos_equity.csv", index=False, float_format="%.10g")
        doc["files"] = {"windows.csv": str(out / "windows.csv"), "oos_equity.csv": str(out / "oos_equity.csv")}

    def render(console: Console, d: dict[str, Any]) -> None:
        console.print(records_table([{k: w[k] for k in ("window", "test_start", "test_end", "model_id", "is_auc",
                                                         "oos_auc", "oos_accuracy", "oos_baseline_accuracy",
                                                         "oos_return_pct", "oos_trades")} for w in d["windows"]],
                                    title="Walk-forward: a model retrained per window"))
        sc = d["scores"]
        console.print(kv_table({"OOS AUC (baseline 0.5)": _num(sc.get("auc")),
                                "OOS accuracy (baseline)": f"{_num(sc.get('accuracy'))} "
                                                           f"({_num(sc.get('baseline_accuracy'))})",
                                "OOS return %": _num(d["oos"].get("total_return_pct")),
                                "deflated Sharpe": _num(d["strategy"].get("dsr"))}, title="Out of sample"))

    emit(doc, render=render)


def retrain_cmd(
    symbol: SymbolOpt = None, timeframe: TimeframeOpt = None, exchange: ExchangeOpt = None, data: DataOpt = None,
    start: StartOpt = None, end: EndOpt = None,
    label: Annotated[str, typer.Option("--label")] = "horizon:12",
    model: Annotated[str, typer.Option("--model")] = "lightgbm",
    folds: Annotated[int, typer.Option("--folds")] = 3,
    feature: Annotated[list[str] | None, typer.Option("--feature", "-f")] = None,
    returns: Annotated[str | None, typer.Option("--returns")] = None,
    volatility: Annotated[str | None, typer.Option("--volatility")] = None,
    every: Annotated[int, typer.Option("--every", help="Retrain after this many new bars.")] = 500,
    holdout: Annotated[int | None, typer.Option("--holdout", help="Newest bars both models are scored on.")] = None,
    train_bars: Annotated[int | None, typer.Option("--train-bars", help="Bars the challenger trains on.")] = None,
    on_drift: Annotated[bool, typer.Option("--on-drift", help="Also retrain when the champion's tracked signals drift.")] = False,
    seed: Annotated[int, typer.Option("--seed")] = 42,
) -> None:
    """Champion/challenger: retrain every N bars (or on calibration drift), promote only on unseen bars."""
    from quantdesk.ml import registry
    from quantdesk.ml.retrain import champion_challenger, drifting
    from quantdesk.ml.service import load_frame

    spec = _spec(label, model, folds, feature, returns, volatility, seed)
    frame, sym, tf = load_frame(symbol=symbol, timeframe=timeframe, exchange=exchange,
                                data_file=str(data) if data else None, start=start, end=end)
    slot = f"{sym}|{tf}|{spec.label.text()}"
    champ = registry.champion(slot)
    drift = bool(on_drift and champ is not None and drifting(champ))
    emit(champion_challenger(frame, spec, symbol=sym, timeframe=tf, every_bars=every, holdout_bars=holdout,
                             train_bars=train_bars, drift=drift))


def register(app: typer.Typer) -> None:
    ml_app.command("train")(train_cmd)
    ml_app.command("evaluate")(evaluate_cmd)
    ml_app.command("predict")(predict_cmd)
    ml_app.command("models")(models_cmd)
    ml_app.command("features")(features_cmd)
    ml_app.command("promote")(promote_cmd)
    ml_app.command("walk-forward")(walk_forward_cmd)
    ml_app.command("retrain")(retrain_cmd)
    app.add_typer(ml_app, name="ml")
