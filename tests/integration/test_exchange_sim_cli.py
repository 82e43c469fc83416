"""`quantdesk exchange-sim` as a process: it announces its URLs, serves ccxt with the faults given as flags, stops
cleanly on Ctrl-C (SIGINT), and refuses bad input with one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import ccxt
import httpx
import pytest
from exsim_support import write_sample

from quantdesk.adapters.simulator import binance_client


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("exsim_cli"), rows=120)


def _start(args, env=None):
    proc = subprocess.Popen([sys.executable, "-m", "quantdesk", "--json", "exchange-sim", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        pytest.fail(f"exchange-sim did not start: {proc.stderr.read()}")
    return proc, json.loads(line)


def _stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_command_serves_ccxt_with_flag_faults_and_stops_on_sigint(sample):
    proc, info = _start(["--data", str(sample), "--speed", "0", "--tick-size", "0.01", "--balance", "USDT=500",
                         "--fee", "0.0005", "--fault", "reject:count=1", "--partial-fills", "2"],
                        env={"QD_SIM_API_SECRET": "s3cret-from-env"})
    try:
        assert info["rest_url"] == f"http://127.0.0.1:{info['port']}" and info["faults"] == ["reject", "partial_fills"]
        assert "s3cret" not in json.dumps(info)
        ex = binance_client(info["rest_url"], secret="s3cret-from-env")
        ex.load_markets()
        with pytest.raises(ccxt.InvalidOrder, match="simulated fault"):
            ex.create_order("BTC/USDT", "market", "buy", 0.001)
        order = ex.create_order("BTC/USDT", "market", "buy", 0.002, params={"newClientOrderId": "cli-1"})
        state = httpx.get(info["rest_url"] + "/_sim/state").json()
        assert [f["qty"] for f in state["fills"]] == ["0.001", "0.001"]  # --partial-fills 2
        price = state["fills"][0]["price"]
        assert float(price) == order["average"] == 46319.0  # the first candle's open
        # 500 - 0.002 x 46319 - 2 x 0.001 x 46319 x 0.0005 = 500 - 92.638 - 2 x 0.0231595
        assert state["balances"]["USDT"] == "407.315681"
    finally:
        assert _stop(proc) == 0
    assert "Traceback" not in proc.stderr.read()


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "missing.csv"], "--data missing.csv: no such file"),
    (["--fault", "explode"], "fault 'explode': unknown kind"),
    (["--balance", "USDT"], "--balance 'USDT': use ASSET=AMOUNT"),
    (["--fee", "0.5"], "maker_fee 0.5"),
    (["--timeframe", "5m"], "not usable as 5m candles"),
    (["--symbol", "BTCUSDT"], "is not of the form BASE/QUOTE"),
    (["--start", "2031-01-01"], "after the last candle"),
])
def test_bad_input_is_one_line_and_a_non_zero_exit(sample, args, message, capsys, monkeypatch):
    """In-process through the console entry point (`main`), which turns errors into one line and an exit code."""
    from quantdesk.cli.app import main

    if "--data" not in args:
        args = ["--data", str(sample), *args]
    monkeypatch.setattr(sys, "argv", ["quantdesk", "exchange-sim", "--port", "0", *args])
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_busy_port_is_a_clear_error(sample, capsys, monkeypatch):
    import socket

    from quantdesk.cli.app import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        monkeypatch.setattr(sys, "argv", ["quantdesk", "exchange-sim", "--data", str(sample), "--port", str(port)])
        with pytest.raises(SystemExit) as done:
            main()
    err = capsys.readouterr().err
    assert done.value.code == 2 and f"port {port} on 127.0.0.1 is not free" in err
