"""Shared by the live-node tests: the exchange simulator on real BTC candles, `quantdesk live` as a process
pointed at it, and the agreement check between what the node believes and the venue's truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

from exsim_support import write_sample  # noqa: F401  (re-exported)

ROOT = Path(__file__).resolve().parents[2]
START = "2022-01-01T02:00:00Z"
KEY, SECRET = "qd-sim-key", "qd-sim-secret"
OPEN = {"NEW", "PARTIALLY_FILLED"}

CHURN = '''
from quantdesk.strategies.base import Strategy


class Churn(Strategy):
    """Trades on every bar: in and out at market, and a resting limit buy every third bar (cancelled next bar)."""

    name = "churn"
    params = {}

    def on_bar(self, bar):
        for order in list(self.open_orders):
            self.cancel(order)
        if self.is_flat:
            self.buy(0.002)
        else:
            self.close()
        if self.bar_index % 3 == 0:
            self.buy(0.001, limit=round(bar.close * 0.9995, 2))
'''


def churn_strategy(folder: Path) -> str:
    path = folder / "churn.py"
    path.write_text(CHURN)
    return f"{path}:Churn"


def sim_settings(**overrides):
    base = {"speed": 60.0, "start": START, "tick_size": Decimal("0.01"), "balances": {"USDT": Decimal(10_000)}}
    base.update(overrides)
    return base


def live_env(home: Path, **extra: str) -> dict[str, str]:
    """The live process's environment: this tree's sources, its own QD_HOME, the simulator's keys, short
    timings (1 s request window, 2 s reconciliation period)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QD_EXCHANGES__")}
    paths = [str(ROOT / "src")] + [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env.update({"PYTHONPATH": os.pathsep.join(paths), "QD_HOME": str(home),
                "QD_EXCHANGES__BINANCE__API_KEY": KEY, "QD_EXCHANGES__BINANCE__SECRET": SECRET,
                "QD_LIVE__RECV_WINDOW_MS": "1000", "QD_LIVE__RECONCILE_EVERY_S": "2", "QD_LIVE__ORDER_RATE": "1000",
                "QD_LOG_LEVEL": "WARNING"})
    env.update(extra)
    return env


def live_args(url: str, name: str, strategy: str, *extra: str, params: tuple[str, ...] = ()) -> list[str]:
    args = [sys.executable, "-m", "quantdesk", "--json", "live", "--exchange", "binance", "--symbol", "BTC/USDT",
            "--timeframe", "1m", "--strategy", strategy, "--bot-name", name, "--exchange-url", url,
            "--confirm-live", "--resume", "--no-risk", *extra]
    for p in params:
        args += ["-p", p]
    return args


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


def doc(out: str) -> dict:
    return json.loads(out[out.index("{"):])


def status(env: dict[str, str], name: str) -> dict:
    proc = run([sys.executable, "-m", "quantdesk", "live", "status", name, "--json"], env)
    assert proc.returncode == 0, proc.stderr
    return doc(proc.stdout)


def disagreements(node: dict, venue: dict) -> list[str]:
    """The issue's invariants, each as a finding (empty = the node and the venue agree)."""
    out = []
    twice = [cid for cid, n in Counter(s["client_order_id"] for s in venue["submissions"]).items() if n > 1]
    if twice:
        out.append(f"client ids submitted twice: {twice}")
    booked = Counter(f["trade_id"] for f in node["fills"])
    if any(n > 1 for n in booked.values()):
        out.append(f"fills booked twice: {[t for t, n in booked.items() if n > 1]}")
    venue_trades = {str(f["trade_id"]) for f in venue["fills"]}
    if set(booked) != venue_trades:
        out.append(f"fills: node only {sorted(set(booked) - venue_trades)}, venue only "
                   f"{sorted(venue_trades - set(booked))}")
    held = Decimal(venue["balances"].get("BTC", "0"))
    if Decimal(node["positions"].get("BTC/USDT", "0")) != held:
        out.append(f"position: node {node['positions']} venue BTC {held}")
    known = {o["client_order_id"] for o in node["orders"]}
    unknown = [o["client_order_id"] for o in venue["orders"] if o["status"] in OPEN and o["client_order_id"] not in known]
    if unknown:
        out.append(f"venue-open orders unknown to the node: {unknown}")
    if node.get("adopted"):  # the account starts flat and only this bot trades: nothing to adopt, ever
        out.append(f"positions adopted from the venue: {node['adopted']}")
    return out
