"""`quantdesk anomaly ...` as a real process: anomalies.csv equals the library's rows on a file with injected
anomalies, they are stored (and listed), and `--alert` delivers them to a webhook channel (a real HTTP server on
loopback) through an `anomaly` alert rule."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pandas as pd
from test_regimes_cli import run


def _bars_file(tmp_path):
    from quantdesk.intel.anomalies.synthetic import inject_anomalies
    from quantdesk.intel.regimes.synthetic import markov_switching_bars

    clean = markov_switching_bars(1500, seed=31, n_states=1).bars
    bars, events = inject_anomalies(clean, seed=2, per_kind=4)
    path = tmp_path / "bars.csv"
    out = bars.copy()
    out.index = out.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(path, index_label="timestamp", float_format="%.12g")
    return path, events


def test_detect_file_store_and_list(tmp_path) -> None:
    from quantdesk.intel.anomalies import detect_anomalies

    path, events = _bars_file(tmp_path)
    home, out = tmp_path / "home", tmp_path / "out"
    doc = json.loads(run(home, "--json", "anomaly", "detect", "--data", str(path), "--symbol", "SYN/USD",
                         "--out", str(out)).stdout)
    csv = pd.read_csv(out / "anomalies.csv")
    assert list(csv.columns)[:3] == ["timestamp", "kind", "kinds"]
    frame = pd.read_csv(path, index_col=0)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index, utc=True))
    want = detect_anomalies(frame)
    assert len(csv) == len(want) == doc["anomalous_bars"] == doc["stored"]
    assert list(csv["kind"]) == list(want["kind"])
    np.testing.assert_allclose(csv["score"], want["score"], rtol=1e-9)
    gaps = {pd.Timestamp(e["start"]) for e in events if e["kind"] == "gap"}
    assert gaps <= set(pd.to_datetime(csv.loc[csv["kinds"].str.contains("gap"), "timestamp"], utc=True))
    listed = json.loads(run(home, "--json", "anomaly", "list", "--symbol", "SYN/USD", "--kind", "gap").stdout)
    assert len(listed) == len(gaps) and all(r["source"] == "cli" for r in listed)
    # a second run stores nothing new (same source, symbol, timeframe, time, kind)
    again = json.loads(run(home, "--json", "anomaly", "detect", "--data", str(path), "--symbol", "SYN/USD").stdout)
    assert again["stored"] == 0


class Hook:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                hook.bodies.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/hook"


def test_alert_rule_routes_gaps_to_a_webhook(tmp_path) -> None:
    path, events = _bars_file(tmp_path)
    hook = Hook()
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "quantdesk.toml").write_text(f'''
[alerts]
dedup_window_s = 0
[[alerts.channels]]
type = "webhook"
name = "hook"
url = "{hook.url}"
burst = 1000
rate_per_min = 100000
[[alerts.rules]]
kind = "anomaly"
anomaly_kinds = ["gap"]
channels = ["hook"]
''')
    try:
        doc = json.loads(run(home, "--config", str(tmp_path / "quantdesk.toml"), "--json", "anomaly", "detect",
                             "--data", str(path), "--symbol", "SYN/USD", "--no-store", "--alert").stdout)
    finally:
        hook.srv.shutdown()
    n_gaps = sum(1 for e in events if e["kind"] == "gap")
    assert len(doc["alerts"]) == n_gaps and all(a["channels"]["hook"] == "sent" for a in doc["alerts"])
    assert len(hook.bodies) == n_gaps
    assert all("gap" in json.dumps(b) and "SYN/USD" in json.dumps(b) for b in hook.bodies)
