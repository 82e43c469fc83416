"""The `quantdesk data ...` and `quantdesk demo` commands, run as a user would (subprocess, fresh QD_HOME)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
DAILY = DATA / "BTCUSD_Coinbase_1d_2014-12-01_2019-10-17.csv"


def qd(home: Path, *args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "QD_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "quantdesk", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def refused(proc: subprocess.CompletedProcess, *needles: str, one_line: bool = True) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    if one_line:
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)
    return proc.stderr


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path / "qdhome"


def test_import_list_show_real_daily_file(home: Path) -> None:
    proc = ok(
        qd(
            home,
            "--json",
            "data",
            "import",
            str(DAILY),
            "--symbol",
            "btc/usd",
            "--exchange",
            "coinbase",
            "--timeframe",
            "1d",
        )
    )
    doc = json.loads(proc.stdout)
    assert doc["ok"] and doc["new_rows"] == 1770 and doc["symbol"] == "BTC/USD"
    assert doc["report"]["gaps"]["count"] == 1 and doc["report"]["gaps"]["missing_bars"] == 12
    # importing the same file again adds nothing
    again = json.loads(
        ok(
            qd(home, "--json", "data", "import", str(DAILY), "-s", "BTC/USD", "-e", "coinbase", "-t", "1d")
        ).stdout
    )
    assert again["new_rows"] == 0 and again["already_stored_identical"] == 1770

    listing = json.loads(ok(qd(home, "--json", "data", "list")).stdout)
    coinbase = [e for e in listing["series"] if e["exchange"] == "coinbase"]
    assert coinbase == [
        {
            **coinbase[0],
            "symbol": "BTC/USD",
            "timeframe": "1d",
            "rows": 1770,
            "gaps": 1,
            "missing_bars": 12,
            "first": "2014-12-01T00:00:00Z",
            "last": "2019-10-17T00:00:00Z",
        }
    ]
    assert {e["exchange"] for e in listing["series"]} == {"coinbase", "sample"}
    table = ok(qd(home, "data", "list")).stdout
    assert "coinbase" in table and "BTC/USD" in table and "1770" in table

    out = ok(
        qd(
            home,
            "data",
            "show",
            "BTC/USD",
            "-t",
            "1d",
            "--start",
            "2019-03-18",
            "--end",
            "2019-04-02",
            "--format",
            "csv",
        )
    ).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["timestamp"] for r in rows] == [
        "2019-03-18T00:00:00Z",
        "2019-03-19T00:00:00Z",
        "2019-04-01T00:00:00Z",
        "2019-04-02T00:00:00Z",
    ]
    ref = {r["timestamp"]: r for r in csv.DictReader(DAILY.open())}
    for r in rows:
        assert float(r["close"]) == float(ref[r["timestamp"]]["close"])
    recs = json.loads(ok(qd(home, "data", "show", "BTC/USD", "-t", "1d", "-n", "3", "-f", "json")).stdout)
    assert [r["timestamp"] for r in recs] == [
        "2019-10-15T00:00:00Z",
        "2019-10-16T00:00:00Z",
        "2019-10-17T00:00:00Z",
    ]
    table = ok(qd(home, "data", "show", "BTC/USD", "-t", "1d", "-n", "5")).stdout
    assert "2019-10-17T00:00:00Z" in table


def test_bad_file_is_refused_with_line_numbers_then_repaired(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "time,o,h,l,c,v\n"
        "2024-01-01T00:00:00Z,100,101,99,100.5,10\n"
        "2024-01-01T01:00:00Z,100.5,99,100,101,11\n"  # line 3: high < low etc.
        "2024-01-01T02:00:00Z,101,103,100.5,102,-1\n"  # line 4: negative volume
        "2024-01-01T03:00:00Z,102,104,101,103,13\n"
    )
    args = ("data", "import", str(bad), "-s", "ETH/USDT", "-e", "binance", "-t", "1h")
    err = refused(
        qd(home, *args),
        "bad.csv",
        "line 3: high 99 < low 100",
        "line 4: volume -1 < 0",
        "--repair drop",
        one_line=False,
    )
    assert "nothing was stored" in err
    doc = json.loads(qd(home, "--json", *args).stdout)
    assert doc["ok"] is False and {i["kind"] for i in doc["report"]["issues"]} >= {
        "high_below_low",
        "negative_volume",
    }
    listing = json.loads(ok(qd(home, "--json", "data", "list")).stdout)
    assert not [e for e in listing["series"] if e["exchange"] == "binance"]

    fixed = json.loads(ok(qd(home, "--json", *args, "--repair", "drop")).stdout)
    assert fixed["report"]["dropped_lines"] == [3, 4] and fixed["new_rows"] == 2
    human = ok(qd(home, *args, "--repair", "drop"))
    assert "already stored (identical)" in human.stdout and "dropped 2 rows, lines 3-4" in human.stdout


def test_resample_sample_1m_to_15m(home: Path) -> None:
    doc = json.loads(
        ok(qd(home, "--json", "data", "resample", "BTC/USDT", "--from", "1m", "--to", "15m")).stdout
    )
    assert doc["exchange"] == "sample" and doc["source_rows"] == 45031
    # 23:01 .. 05:31 on 1 Feb: the last 15m bucket (05:30) holds 2 of 15 bars and is left out
    assert doc["partial_last_bucket_dropped"] is True and doc["partial_bucket_source_bars"] == 2
    assert doc["last"] == "2022-02-01T05:15:00Z" and doc["new_rows"] == doc["bars"]
    bars = json.loads(ok(qd(home, "data", "show", "BTC/USDT", "-t", "15m", "-n", "1", "-f", "json")).stdout)
    assert bars[0]["timestamp"] == "2022-02-01T05:15:00Z"
    human = ok(
        qd(home, "data", "resample", "BTC/USDT", "--from", "1m", "--to", "15m", "--include-partial")
    ).stdout
    assert "Resampled BTC/USDT 1m -> 15m" in human
    refused(qd(home, "data", "resample", "BTC/USDT", "--from", "1h", "--to", "90m"), "multiple")
    refused(qd(home, "data", "resample", "BTC/USDT", "--from", "1m", "--to", "1h"), "another source")


def test_synth_to_store_and_files_is_deterministic(home: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (a, b):
        ok(
            qd(
                home,
                "data",
                "synth",
                "--symbol",
                "SYN/USD",
                "--timeframe",
                "1m",
                "--bars",
                "50000",
                "--seed",
                "7",
                "--out",
                str(path),
            )
        )
    assert hashlib.sha256(a.read_bytes()).hexdigest() == hashlib.sha256(b.read_bytes()).hexdigest()
    doc = json.loads(ok(qd(home, "--json", "data", "synth", "--bars", "5000", "--seed", "7")).stdout)
    assert doc["exchange"] == "synthetic" and doc["new_rows"] == 5000
    # the file imports cleanly through our own validation
    imp = json.loads(
        ok(qd(home, "--json", "data", "import", str(a), "-s", "SYN/USD", "-e", "file", "-t", "1m")).stdout
    )
    assert imp["new_rows"] == 50000 and imp["report"]["issues"] == []


def test_demo_human_and_json(home: Path) -> None:
    human = ok(qd(home, "demo")).stdout
    for needle in (
        "Candle store",
        "BTC/USDT 1h @ sample",
        "max drawdown",
        "Last 10 daily bars",
        "2019-10-16",
    ):
        assert needle in human
    doc = json.loads(ok(qd(home, "--json", "demo")).stdout)
    assert doc["summary"]["rows"] == 20111 and doc["summary"]["gaps"] == 0
    assert doc["summary"]["first_close"] == 2509.17
    assert -100 < doc["summary"]["max_drawdown_pct"] < 0
    assert (
        len(doc["daily"]["last_10"]) == 10
        and doc["daily"]["last_10"][-1]["timestamp"] == "2019-10-16T00:00:00Z"
    )
    assert {(e["symbol"], e["timeframe"]) for e in doc["catalog"]} == {
        ("BTC/USDT", "1h"), ("BTC/USDT", "1m"), ("ETH/BTC", "5m"), ("LTC/BTC", "5m"), ("XMR/BTC", "5m")}


@pytest.mark.parametrize(
    "make,args,needles",
    [
        (
            None,
            ("data", "import", "{tmp}/missing.csv", "-s", "BTC/USDT", "-t", "1h"),
            ("missing.csv", "not found"),
        ),
        ("", ("data", "import", "{file}", "-s", "BTC/USDT", "-t", "1h"), ("empty",)),
        (
            "when,price\n1,2\n",
            ("data", "import", "{file}", "-s", "BTC/USDT", "-t", "1h"),
            ("when, price", "close"),
        ),
        (
            "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1,1\n",
            ("data", "import", "{file}", "-s", "BTCUSDT", "-t", "1h"),
            ("BTCUSDT", "BASE/QUOTE"),
        ),
        (
            "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1,1\n",
            ("data", "import", "{file}", "-s", "BTC/USDT", "-t", "1hour"),
            ("timeframe", "1hour"),
        ),
        (
            "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1,1\n",
            ("data", "import", "{file}", "-s", "BTC/USDT", "-t", "1h", "--ts-unit", "min"),
            ("ts-unit",),
        ),
        (None, ("data", "show", "DOGE/USDT", "-t", "1h"), ("DOGE/USDT", "available")),
        (None, ("data", "show", "BTC/USDT", "-t", "1h", "--format", "xml"), ("--format",)),
        (None, ("data", "show", "BTC/USDT", "-t", "1h", "--start", "yesterday-ish"), ("start",)),
        (None, ("data", "synth", "--bars", "0"), ("bars",)),
    ],
)
def test_bad_input_is_one_clear_line(home: Path, tmp_path: Path, make, args, needles) -> None:
    file = tmp_path / "input.csv"
    if make is not None:
        file.write_text(make)
    argv = [a.format(tmp=tmp_path, file=file) for a in args]
    refused(qd(home, *argv), *needles)


def test_unparseable_timestamps_name_the_lines(home: Path, tmp_path: Path) -> None:
    f = tmp_path / "ts.csv"
    f.write_text(
        "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1,1\n01/02/2024 xx,1,2,0.5,1,1\n"
    )
    err = refused(qd(home, "data", "import", str(f), "-s", "BTC/USDT", "-t", "1h"), one_line=False)
    assert "line 3: cannot parse timestamp '01/02/2024 xx'" in err
