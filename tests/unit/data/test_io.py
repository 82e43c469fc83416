"""Readers: the real files, column aliases, timestamp formats, Parquet, bad layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.data.importer import import_file
from quantdesk.data.io import read_file, write_candles
from quantdesk.data.validate import prepare

DATA = Path(__file__).resolve().parents[2] / "data"
REAL = {
    "btc_1m": ("BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv", "1m"),
    "btc_1h": ("BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv", "1h"),
    "btc_1d": ("BTCUSD_Coinbase_1d_2014-12-01_2019-10-17.csv", "1d"),
    "goog_1d": ("GOOG_1d_2004-08-19_2013-03-01.csv", "1d"),
}
MULTI = sorted((DATA / "multi_5m_2018-01").glob("*.csv"))


@pytest.mark.parametrize("key", list(REAL))
def test_real_files_import_unchanged(key: str, real_ohlcv, store) -> None:
    name, tf = REAL[key]
    res = import_file(DATA / name, symbol="BTC/USD", timeframe=tf, exchange="test", store=store)
    assert res.new_rows == len(real_ohlcv[key])
    assert not res.report.blocking and not res.report.dropped_lines.size
    got = store.read("test", "BTC/USD", tf)
    pd.testing.assert_frame_equal(
        got, real_ohlcv[key].astype("float64"), check_exact=True, check_index_type=False
    )
    assert got.index.name == "timestamp" and str(got.index.tz) == "UTC"
    assert (got.dtypes == "float64").all()


def test_multi_asset_files_import_unchanged(store) -> None:
    assert len(MULTI) == 10
    for path in MULTI:
        sym = path.name.split("_")[0].replace("-", "/")
        res = import_file(path, symbol=sym, timeframe="5m", exchange="bittrex", store=store)
        ref = pd.read_csv(path)
        got = store.read("bittrex", sym, "5m")
        assert res.new_rows == len(ref)
        for col in ("open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(got[col].to_numpy(), ref[col].to_numpy(dtype="float64"))
        expect_ts = pd.to_datetime(ref["timestamp"], utc=True).astype("datetime64[ns, UTC]")
        assert (got.index == pd.DatetimeIndex(expect_ts)).all()
    ada = next(e for e in store.catalog() if e["symbol"] == "ADA/BTC")
    assert ada["missing_bars"] == 40  # README: 40 missing 5-min bars, all on 2018-01-15


def test_1d_file_has_one_13_day_gap(store) -> None:
    res = import_file(
        DATA / REAL["btc_1d"][0], symbol="BTC/USD", timeframe="1d", exchange="coinbase", store=store
    )
    assert res.report.gaps.count == 1
    assert res.report.gaps.missing_bars == 12
    assert res.report.gaps.first[0]["after"] == "2019-03-19T00:00:00Z"
    assert res.report.gaps.first[0]["before"] == "2019-04-01T00:00:00Z"
    entry = store.catalog()[0]
    assert (entry["gaps"], entry["missing_bars"], entry["largest_gap"]) == (1, 12, "13d")
    assert res.report.zero_volume_rows == 38  # README: 38 zero-volume days, kept


@pytest.mark.parametrize(
    "header",
    [
        "Date,Open,High,Low,Close,Volume",
        "time,o,h,l,c,v",
        "DateTime,OPEN,HIGH,LOW,CLOSE,VOL",
        "ts,open,high,low,close,volume",
        "Timestamp,Open,High,Low,Close,Volume_BTC",
        " datetime , open , high , low , close , vol ",
    ],
)
def test_column_aliases(header: str, write_csv, good_rows) -> None:
    path = write_csv("a.csv", good_rows(3), header=header + "\n")
    df, _ = prepare(read_file(path), "1h")
    assert list(df.columns) == ["open", "high", "low", "close", "volume"]
    assert df["close"].tolist() == [100.0, 101.0, 102.0]


def test_extra_columns_and_other_order_are_fine(write_csv) -> None:
    rows = ["ignored,10,9,12,8,1000,2024-01-01T00:00:00Z", "x,11,10,13,9,1100,2024-01-01T01:00:00Z"]
    path = write_csv("b.csv", rows, header="symbol,close,open,high,low,volume,time\n")
    df, _ = prepare(read_file(path), "1h")
    assert df["close"].tolist() == [10.0, 11.0]
    assert df["open"].tolist() == [9.0, 10.0]


EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z


@pytest.mark.parametrize("unit,mult", [("s", 1), ("ms", 1_000), ("us", 1_000_000), ("ns", 1_000_000_000)])
def test_epoch_units_auto_detected(unit: str, mult: int, write_csv) -> None:
    rows = [f"{(EPOCH + 3600 * i) * mult},1,2,0.5,1.5,3" for i in range(3)]
    path = write_csv(f"e_{unit}.csv", rows)
    raw = read_file(path)
    assert raw.ts_unit == unit
    df, _ = prepare(raw, "1h")
    assert df.index[0] == pd.Timestamp("2024-01-01T00:00:00Z")
    assert df.index[2] == pd.Timestamp("2024-01-01T02:00:00Z")


def test_epoch_unit_override(write_csv) -> None:
    # 1_704_067_200_000 looks like ms; forcing --ts-unit s would be year ~55970 -> must give a different result
    rows = [f"{(EPOCH + 3600 * i) * 1000},1,2,0.5,1.5,3" for i in range(3)]
    path = write_csv("o.csv", rows)
    assert read_file(path, ts_unit="ms").ts[0] == EPOCH * 10**9
    with pytest.raises(ParameterError, match="ts-unit"):
        read_file(path, ts_unit="minutes")


def test_float_epoch_seconds(write_csv) -> None:
    path = write_csv("f.csv", [f"{EPOCH}.0,1,2,0.5,1.5,3", f"{EPOCH + 60}.0,1,2,0.5,1.5,3"])
    df, _ = prepare(read_file(path), "1m")
    assert df.index[1] == pd.Timestamp("2024-01-01T00:01:00Z")


@pytest.mark.parametrize(
    "stamps",
    [
        ["2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z"],
        ["2024-01-01T00:00:00", "2024-01-01T01:00:00"],  # naive = UTC
        ["2024-01-01 00:00:00", "2024-01-01 01:00:00"],
        ["2024-01-01T01:00:00+01:00", "2024-01-01T03:00:00+02:00"],  # offsets converted to UTC
        ["2024-01-01T00:00:00.000Z", "2024-01-01T01:00:00.000Z"],
        ["2024-01-01T00:00:00Z", "2024-01-01T01:00:00"],  # mixed zoned/naive
    ],
)
def test_iso_variants(stamps: list[str], write_csv) -> None:
    path = write_csv("i.csv", [f"{s},1,2,0.5,1.5,3" for s in stamps])
    df, _ = prepare(read_file(path), "1h")
    assert list(df.index) == [pd.Timestamp("2024-01-01T00:00:00Z"), pd.Timestamp("2024-01-01T01:00:00Z")]


def test_date_only_daily(write_csv) -> None:
    path = write_csv(
        "d.csv",
        ["2024-01-01,1,2,0.5,1.5,3", "2024-01-02,1,2,0.5,1.5,3"],
        header="Date,Open,High,Low,Close,Volume\n",
    )
    df, _ = prepare(read_file(path), "1d")
    assert df.index[1] == pd.Timestamp("2024-01-02T00:00:00Z")


def test_preamble_semicolon_and_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    # CryptoDataDownload-style first line, ';' delimiter, a blank line: line numbers must still be right
    text = (
        "https://www.CryptoDataDownload.com\n"
        "Date;Open;High;Low;Close;Volume\n"  # line 2
        "2024-01-01T00:00:00Z;1;2;0.5;1.5;3\n"  # line 3
        "\n"  # line 4 (blank)
        "2024-01-01T01:00:00Z;1;0.9;0.5;1.5;3\n"  # line 5: high < close
    )
    path = tmp_path / "p.csv"
    path.write_text(text)
    raw = read_file(path)
    assert raw.line.tolist() == [3, 5]
    with pytest.raises(DataError) as err:
        prepare(raw, "1h")
    assert "line 5" in str(err.value)


def test_windows_line_endings_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes(
        b"\xef\xbb\xbftimestamp,open,high,low,close,volume\r\n2024-01-01T00:00:00Z,1,2,0.5,1.5,3\r\n"
    )
    df, _ = prepare(read_file(path), "1h")
    assert df["volume"].tolist() == [3.0]


def test_parquet_round_trip(tmp_path: Path, real_ohlcv) -> None:
    ref = real_ohlcv["btc_1h"]
    path = write_candles(ref, tmp_path / "x.parquet")
    df, _ = prepare(read_file(path), "1h")
    pd.testing.assert_frame_equal(df, ref, check_exact=True, check_index_type=False)
    csv = write_candles(ref, tmp_path / "x.csv")
    df2, _ = prepare(read_file(csv), "1h")
    pd.testing.assert_frame_equal(df2, ref, check_exact=True, check_index_type=False)


def test_parquet_with_datetime_index_and_capitalised_columns(tmp_path: Path) -> None:
    idx = pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC", name="Date")
    df = pd.DataFrame(
        {
            "Open": [1.0, 2, 3, 4],
            "High": [2.0, 3, 4, 5],
            "Low": [0.5, 1, 2, 3],
            "Close": [1.5, 2.5, 3.5, 4.5],
            "Volume": [1.0, 1, 1, 1],
        },
        index=idx,
    )
    path = tmp_path / "idx.parquet"
    df.to_parquet(path)
    out, _ = prepare(read_file(path), "1h")
    assert out.index[3] == pd.Timestamp("2024-01-01T03:00:00Z")
    assert out["close"].tolist() == [1.5, 2.5, 3.5, 4.5]
    # unnamed index (stored as __index_level_0__), naive -> UTC
    df2 = df.copy()
    df2.index = df.index.tz_localize(None).rename(None)
    df2.to_parquet(tmp_path / "idx2.parquet")
    out2, _ = prepare(read_file(tmp_path / "idx2.parquet"), "1h")
    assert out2.index.equals(out.index)


def test_parquet_epoch_ms_column(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "ts": [EPOCH * 1000, (EPOCH + 60) * 1000],
            "o": [1.0, 1],
            "h": [2.0, 2],
            "l": [0.5, 0.5],
            "c": [1.5, 1.5],
            "v": [3.0, 3],
        }
    )
    df.to_parquet(tmp_path / "e.parquet")
    out, _ = prepare(read_file(tmp_path / "e.parquet"), "1m")
    assert out.index[1] == pd.Timestamp("2024-01-01T00:01:00Z")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_file(tmp_path / "nope.csv")


def test_empty_file_and_header_only(write_csv, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        read_file(empty)
    header_only = write_csv("h.csv", [])
    with pytest.raises(DataError, match="no data rows"):
        read_file(header_only)


def test_unknown_layout_names_found_and_expected_columns(write_csv) -> None:
    path = write_csv("u.csv", ["2024-01-01,1,2"], header="when,price,size\n")
    with pytest.raises(DataError) as err:
        read_file(path)
    msg = str(err.value)
    assert "u.csv" in msg and "when, price, size" in msg and "timestamp" in msg and "close" in msg


def test_missing_volume_column_is_named(write_csv) -> None:
    path = write_csv("nv.csv", ["2024-01-01T00:00:00Z,1,2,0.5,1.5"], header="timestamp,open,high,low,close\n")
    with pytest.raises(DataError, match="missing: volume"):
        read_file(path)


def test_unparseable_csv_structure(write_csv) -> None:
    path = write_csv("s.csv", ["2024-01-01T00:00:00Z,1,2,0.5,1.5,3", "2024-01-01T01:00:00Z,1,2"])
    with pytest.raises(DataError, match="s.csv"):
        read_file(path)


def test_ragged_row_names_its_line(write_csv) -> None:
    path = write_csv(
        "r.csv",
        [
            "2024-01-01T00:00:00Z,1,2,0.5,1.5,3",
            "2024-01-01T01:00:00Z,1,2,0.5,1.5,3",
            "2024-01-01T02:00:00Z,1,2",
        ],
    )
    with pytest.raises(DataError, match="line 4: Expected 6 columns, got 3"):
        read_file(path)


def test_bad_cell_after_fast_path_falls_back_and_names_lines(write_csv) -> None:
    rows = [f"2024-01-01T{h:02d}:00:00Z,1,2,0.5,1.5,3" for h in range(5)]
    rows[3] = "2024-01-01T03:00:00Z,1,2,0.5,n/a?,3"
    rows[4] = "2024-01-01T04:00:00+0000x,1,2,0.5,1.5,3"
    path = write_csv("fb.csv", rows)
    raw = read_file(path)
    assert raw.ts_bad.tolist() == [False, False, False, False, True]
    assert np.isnan(raw.values["close"][3]) and raw.bad_cells["close"].tolist() == [False] * 3 + [True, False]


@pytest.mark.parametrize("tail", ["", "\n", "\n\n\n", "\r\n"])
def test_line_numbers_with_or_without_trailing_newlines(tmp_path: Path, tail: str) -> None:
    body = "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1.5,3\n2024-01-01T01:00:00Z,1,0.1,0.5,1.5,3"
    path = tmp_path / "t.csv"
    path.write_text(body + tail)
    raw = read_file(path)
    assert raw.line.tolist() == [2, 3]
    with pytest.raises(DataError, match="line 3: high 0.1"):
        prepare(raw, "1h")


def test_wrong_epoch_unit_gives_bad_lines_not_garbage(write_csv) -> None:
    # ms values read as ns-scaled seconds would overflow int64: they must be reported, not wrapped around
    rows = [f"{(EPOCH + 3600 * i) * 1000},1,2,0.5,1.5,3" for i in range(3)]
    raw = read_file(write_csv("ov.csv", rows), ts_unit="s")
    assert raw.ts_bad.all()
    with pytest.raises(DataError, match="line 2: cannot parse timestamp"):
        prepare(raw, "1h")


def test_iso_out_of_nanosecond_range_is_a_bad_line(write_csv) -> None:
    path = write_csv("far.csv", ["2024-01-01T00:00:00Z,1,2,0.5,1.5,3", "3000-01-01T00:00:00Z,1,2,0.5,1.5,3"])
    with pytest.raises(DataError, match="line 3: cannot parse timestamp '3000-01-01T00:00:00Z'"):
        prepare(read_file(path), "1h")
