"""Hardening outside the API, from outside: the `quantdesk` CLI in subprocesses (data import refuses infinite
values and ambiguous columns; `paper --resume` refuses options that would change the bot), the alert rate limiter
summarising its drops (a real webhook channel to a loopback receiver), and the log redaction filter."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("QD_") or k.startswith("QD_DATABASE")}
    full.update({"QD_HOME": str(home), **(env or {})})
    return subprocess.run([sys.executable, "-m", "quantdesk", *args], env=full, capture_output=True, text=True,
                          timeout=180)


HEADER = "timestamp,open,high,low,close,volume\n"
ROWS = ["2024-01-01T00:00:00Z,1,2,0.5,1.5,3", "2024-01-01T01:00:00Z,1,2,0.5,1.5,3",
        "2024-01-01T02:00:00Z,1,2,0.5,1.5,3"]


def test_import_refuses_infinite_values_with_their_line(tmp_path: Path) -> None:
    """inf used to be stored as a clean value (and backtests on it failed); now refused like NaN, per line."""
    bad = {3: ("2024-01-01T01:00:00Z,1,inf,0.5,1.5,3", "high is inf"),
           4: ("2024-01-01T02:00:00Z,1,2,0.5,1.5,Infinity", "volume is inf"),
           5: ("2024-01-01T03:00:00Z,-inf,2,0.5,1.5,3", "open is -inf"),
           6: ("2024-01-01T04:00:00Z,1,2,0.5,1e999,3", "close is inf")}
    # six good rows around the four bad ones: `--repair drop` refuses to drop most of a file (MAX_DROP_SHARE)
    good_after = [f"2024-01-01T{h:02d}:00:00Z,1,2,0.5,1.5,3" for h in range(5, 10)]
    path = tmp_path / "inf.csv"
    path.write_text(HEADER + "\n".join([ROWS[0], *(line for line, _ in bad.values()), *good_after]) + "\n")
    r = _cli("data", "import", str(path), "--symbol", "X/Y", "--timeframe", "1h", home=tmp_path / "h")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "nothing was stored" in r.stderr
    for n, (_, shown) in bad.items():
        assert f"line {n}: {shown}" in r.stderr, (n, r.stderr)
    # --repair drop removes exactly those lines, and says so
    r = _cli("--json", "data", "import", str(path), "--symbol", "X/Y", "--timeframe", "1h", "--repair", "drop",
             home=tmp_path / "h")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["report"]["dropped_lines"] == [3, 4, 5, 6] and doc["new_rows"] == 6


def test_the_library_refuses_inf_like_nan(tmp_path: Path) -> None:
    from quantdesk.core.errors import DataError
    from quantdesk.data.io import read_file
    from quantdesk.data.validate import prepare

    path = tmp_path / "x.csv"
    path.write_text(HEADER + "2024-01-01T00:00:00Z,1,2,0.5,1.5,inf\n")
    with pytest.raises(DataError, match=r"line 2: volume is inf"):
        prepare(read_file(path), "1h")


@pytest.mark.parametrize(("header", "field"), [
    ("timestamp,open,high,low,close,Close,volume", "close"),
    ("time,date,open,high,low,close,volume", "timestamp"),
    ("timestamp,open,high,low,close,last,volume", "close"),
    ("timestamp,open,high,low,close,volume,vol", "volume"),
])
def test_two_columns_for_one_field_are_refused(tmp_path: Path, header: str, field: str) -> None:
    """It used to read the first of them silently."""
    from quantdesk.core.errors import DataError
    from quantdesk.data.io import read_file

    n = len(header.split(","))
    path = tmp_path / "dup.csv"
    path.write_text(header + "\n" + ",".join(["2024-01-01T00:00:00Z"] + ["1"] * (n - 1)) + "\n")
    with pytest.raises(DataError, match=f"all map to {field}"):
        read_file(path)


def test_import_cli_says_which_columns_clash(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("timestamp,open,high,low,close,Close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1.5,9,3\n")
    r = _cli("data", "import", str(path), "--symbol", "X/Y", "--timeframe", "1h", home=tmp_path / "h")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "'close' (column 5), 'Close' (column 6) all map to close" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_paper_resume_refuses_conflicting_options_and_applies_speed(tmp_path: Path) -> None:
    home = tmp_path / "h"
    base = ["--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20", "--start", "2022-01-05",
            "--end", "2022-01-05T05:00:00Z", "--bot-name", "rb", "--no-risk", "--speed", "max"]
    r = _cli("--json", "paper", *base, "--max-bars", "50", home=home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["bars"] == 50
    for extra, named in [(["--strategy", "ema_cross"], "--strategy 'ema_cross'"),
                         (["--cash", "5000"], "--cash 5000.0"),
                         (["--risk"], "--risk True")]:
        args = [a for a in base if a not in ("--no-risk",)] if extra == ["--risk"] else list(base)
        if extra[0] in args:  # replace the option's value
            i = args.index(extra[0])
            del args[i:i + 2]
        r = _cli("paper", *args, *extra, "--resume", "--max-bars", "10", home=home)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert named in r.stderr and "the bot has" in r.stderr and "--resume rb" in r.stderr, r.stderr
    # nothing changed by the refusals: the bot is still at bar 50 of its own strategy
    rows = json.loads(_cli("--json", "paper", "status", home=home).stdout)
    assert rows[0]["bot"] == "rb" and rows[0]["strategy"] == "sma_cross" and rows[0]["cursor"] == 49
    # the same options and a different pace: resumed, and the new speed is said
    args = [a if a != "max" else "100000" for a in base]
    r = _cli("paper", *args, "--resume", "--max-bars", "10", home=home)
    assert r.returncode == 0, r.stderr
    assert "speed 100000 applied (was max)" in r.stderr


class _Receiver:
    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        got = self.got = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                got.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_alert_rate_limiter_summarises_its_drops(caplog: pytest.LogCaptureFixture) -> None:
    """100 alerts on a channel with a burst of 3 (and a bucket that does not refill): 3 delivered, 97 dropped and
    stored as rate_limited, and the log says so in 2 lines (the start of the drops, then their summary), where it
    used to write one line per dropped alert."""
    from quantdesk.monitoring.alerts import Alert, AlertManager

    rec = _Receiver()
    clock = [0.0]
    mgr = AlertManager({"channels": [{"type": "webhook", "name": "hook", "url": rec.url, "burst": 3,
                                      "rate_per_min": 1.0}], "dedup_window_s": 0},
                       bucket_clock=lambda: clock[0])
    mgr.start()
    try:
        with caplog.at_level(logging.INFO, logger="quantdesk.monitoring.alerts"):
            for i in range(100):
                mgr.emit(Alert(id=f"a{i}", ts=i, kind="fill", severity="info", title="t", text="x", bot="b",
                               symbol=None, dedup_key=f"k{i}"))
            assert mgr.drop_summary() == {"hook": 97}
            clock[0] += 120.0  # two minutes later the bucket has tokens again: the next alert goes out
            mgr.emit(Alert(id="late", ts=1000, kind="risk_halt", severity="critical", title="t", text="x", bot="b",
                           symbol=None, dedup_key="late"))
            assert mgr.flush(timeout=10)
    finally:
        mgr.stop()
        rec.close()
    lines = [r.getMessage() for r in caplog.records if "rate limit" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "over its rate limit" in lines[0] and "dropped 97 alert(s)" in lines[1] and "fill x97" in lines[1]
    assert len(rec.got) == 4  # 3 of the burst + the late one
    statuses = [mgr._status[(f"a{i}", "hook")]["status"] for i in range(100)]
    assert statuses.count("rate_limited") == 97 and mgr.drop_summary() == {}


def test_redaction_filter_second_line_of_defence() -> None:
    from quantdesk.core.logging import redact, register_secrets

    key = "qd_0123456789ab_" + "S" * 43
    register_secrets(["MyConfiguredSecretValue"])
    cases = {
        f'127.0.0.1:5 - "GET /ws?api_key={key}&x=1 HTTP/1.1" 101': '"GET /ws?api_key=***&x=*** HTTP/1.1"',
        f"presented {key}": "qd_0123456789ab_***",
        "Authorization: Bearer abcdefghijkl": "Bearer ***",
        "POST https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage": "bot123456789:***",
        "postgresql+psycopg://user:hunter2pw@db/x": "user:***@db",
        "value MyConfiguredSecretValue in a message": "value *** in a message",
        "https://h/hook?token=abc123&x=2": "token=***",
    }
    for text, expected in cases.items():
        out = redact(text)
        assert expected in out, (text, out)
    assert key not in redact(f"x {key} y") and "hunter2pw" not in redact("a://u:hunter2pw@h")
    assert redact("nothing secret: GET /api/v1/bots 200") == "nothing secret: GET /api/v1/bots 200"
