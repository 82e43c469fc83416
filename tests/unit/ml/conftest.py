"""Shared data for the ML tests: real BTC 1h bars (tests/data) and seeded synthetic series with known skill."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="session")
def btc_1h() -> pd.DataFrame:
    from quantdesk.data import prepare, read_file

    frame, _ = prepare(read_file(DATA / "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv"), "1h")
    return frame


@pytest.fixture(scope="session")
def btc_small(btc_1h: pd.DataFrame) -> pd.DataFrame:
    return btc_1h.iloc[-2500:]
