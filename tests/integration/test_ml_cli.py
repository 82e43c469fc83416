"""`quantdesk ml ...` and `quantdesk signals ...` as a user runs them: real subprocesses, a temporary QD_HOME, a
seeded CSV with a planted predictable component (and the bundled BTC/USDT sample)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QD_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "quantdesk", *args], capture_output=True, text=True, env=env,
                          timeout=600, cwd=REPO)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("qdhome")


@pytest.fixture(scope="module")
def planted_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from quantdesk.ml.synthetic import planted_ar1

    path = tmp_path_factory.mktemp("data") / "planted.csv"
    df = planted_ar1(4000, phi=0.3, seed=41).reset_index()
    df["timestamp"] = df["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    df.iloc[:3000].to_csv(path, index=False)
    df.to_csv(path.with_name("planted_full.csv"), index=False)
    return path


@pytest.fixture(scope="module")
def trained(home: Path, planted_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("m") / "run"
    proc = run_cli("--json", "ml", "train", "--data", str(planted_csv), "--label", "horizon:1", "--model", "lightgbm",
                   "--cv", "walk-forward", "--folds", "3", "-f", "rsi:period=14", "--returns", "1,2,4",
                   "--volatility", "8", "--out", str(out), home=home)
    assert proc.returncode == 0, proc.stderr
    return {"doc": json.loads(proc.stdout), "out": out}


def test_train_prints_cv_scores_with_baselines_and_files(trained: dict, home: Path) -> None:
    doc, out = trained["doc"], trained["out"]
    cv = doc["cv"]
    assert {"auc", "brier", "logloss", "baseline_accuracy", "accuracy"} <= set(cv)
    assert cv["auc"] > 0.55 and cv["accuracy"] > cv["baseline_accuracy"]  # the planted skill is found
    assert len(doc["model_id"]) == 24 and (home / "models" / doc["model_id"] / "model.skops").is_file()
    for name in ("summary.json", "oos.csv", "importance.csv", "folds.csv", "report.html"):
        assert (out / name).is_file(), name
    assert json.loads((out / "summary.json").read_text())["model_id"] == doc["model_id"]
    assert "plotly" in (out / "report.html").read_text()[:200_000].lower()


def test_models_predict_evaluate(trained: dict, home: Path, planted_csv: Path) -> None:
    mid = trained["doc"]["model_id"]
    listed = json.loads(run_cli("--json", "ml", "models", home=home).stdout)
    assert [m["id"] for m in listed] == [mid] and listed[0]["metrics"]["auc"] == pytest.approx(trained["doc"]["cv"]["auc"])
    full = planted_csv.with_name("planted_full.csv")
    pred = json.loads(run_cli("--json", "ml", "predict", "--model", mid, "--data", str(full), "--last", "3",
                              home=home).stdout)
    assert len(pred["predictions"]) == 3 and all(0 <= p["proba"] <= 1 for p in pred["predictions"])
    assert pred["drivers"] and pred["drivers"][0]["feature"] == "ret_1"  # the planted feature drives it
    ev = run_cli("--json", "ml", "evaluate", "--model", mid, "--data", str(full), home=home)
    assert ev.returncode == 0, ev.stderr
    doc = json.loads(ev.stdout)
    assert doc["out_of_sample"] == 999 and doc["skipped_in_sample"] > 2000  # only bars after training are scored
    assert doc["scores"]["auc"] > 0.55 and doc["scores"]["accuracy"] > doc["scores"]["baseline_accuracy"]
    human = run_cli("ml", "models", home=home)
    assert human.returncode == 0 and mid in human.stdout
    feats = json.loads(run_cli("--json", "ml", "features", "--group", "volatility", home=home).stdout)
    assert {"atr", "natr"} <= {e["name"] for e in feats["indicators"]}


def test_backtest_and_track_ml_signal(trained: dict, home: Path, planted_csv: Path) -> None:
    mid = trained["doc"]["model_id"]
    full = planted_csv.with_name("planted_full.csv")
    proc = run_cli("--json", "signals", "track-backtest", "--strategy", "ml_signal", "-p", f"model={mid}",
                   "--data", str(full), "--start", "2020-05-06", "--horizon", "1", "--store", home=home)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    o = doc["report"]["overall"]
    assert o["resolved"] > 50 and o["with_confidence"] == o["resolved"]
    assert o["hit_rate"] == o["baseline_hit_rate"]  # long-only: "always long" over the same windows is itself
    assert o["hit_rate"] > o["random_entry_hit_rate"] + 0.03  # ... but its timing beats entering at every bar
    rep = json.loads(run_cli("--json", "signals", "report", "--source", f"ml_signal:{mid}", home=home).stdout)
    assert rep["overall"]["resolved"] == o["resolved"]


@pytest.mark.parametrize(("args", "needle"), [
    (["ml", "train", "--symbol", "BTC/USDT", "--label", "sideways:4"], "--label"),
    (["ml", "train", "--symbol", "BTC/USDT", "--model", "svm"], "--model"),
    (["ml", "train", "--data", "/no/such.csv"], "not found"),
    (["ml", "train", "--symbol", "BTC/USDT", "-f", "rsx:period=2"], "unknown indicator"),
    (["ml", "train", "--symbol", "BTC/USDT", "--cv", "kfold"], "--cv"),
    (["ml", "train", "--symbol", "BTC/USDT", "--folds", "0"], "--folds"),
    (["ml", "train", "--symbol", "BTC/USDT", "--search", "num_leaves"], "--search"),
    (["ml", "predict", "--model", "0123456789abcdef01234567", "--symbol", "BTC/USDT"], "no model"),
    (["signals", "track-backtest", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--horizon", "0"], "--horizon"),
])
def test_bad_input_is_one_line_and_exit_2(home: Path, args: list[str], needle: str, monkeypatch, capsys) -> None:
    """The console-script entry in-process (same code path as the installed command, without a new
    interpreter per case)."""
    from quantdesk.cli.app import main
    from quantdesk.core.config import set_settings

    monkeypatch.setenv("QD_HOME", str(home))
    monkeypatch.setattr(sys, "argv", ["quantdesk", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    set_settings(None)
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2


def test_train_with_search_in_process(home: Path, planted_csv: Path, monkeypatch, capsys) -> None:
    from quantdesk.cli.app import main
    from quantdesk.core.config import set_settings

    monkeypatch.setenv("QD_HOME", str(home))
    monkeypatch.setattr(sys, "argv", ["quantdesk", "--json", "ml", "train", "--data", str(planted_csv), "--label",
                                      "horizon:1", "--folds", "2", "-f", "rsi:period=14", "--returns", "1,2",
                                      "--volatility", "8", "--search", "num_leaves=2,4", "--search",
                                      "n_estimators=20,60"])
    try:
        main()
    except SystemExit as exc:  # typer may exit 0 after the command
        assert exc.code in (0, None)
    finally:
        from quantdesk.cli.output import OutputState

        OutputState.json = False  # the root callback set it for this invocation
        set_settings(None)
    doc = json.loads(capsys.readouterr().out)
    assert doc["search"]["configurations"] == 4 and len(doc["search"]["table"]) == 4
    assert doc["spec"]["trials"] == 4 and doc["spec"]["params"]["num_leaves"] == doc["search"]["best_params"]["num_leaves"]
