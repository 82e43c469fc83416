"""Validation: every kind of bad row is refused with the right LINE numbers; --repair drop/sort; gaps."""

from __future__ import annotations

import numpy as np
import pytest

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.data.io import read_file
from quantdesk.data.validate import ValidationRefused, fill_gaps_forward, find_gaps, prepare

# valid hourly rows; line numbers: header = 1, so ROWS[i] is on line i + 2
ROWS = [
    "2024-01-01T00:00:00Z,100,101,99,100.5,10",  # line 2
    "2024-01-01T01:00:00Z,100.5,102,100,101,11",  # line 3
    "2024-01-01T02:00:00Z,101,103,100.5,102,12",  # line 4
    "2024-01-01T03:00:00Z,102,104,101,103,13",  # line 5
    "2024-01-01T04:00:00Z,103,105,102,104,14",  # line 6
    "2024-01-01T05:00:00Z,104,106,103,105,15",  # line 7
]

BAD_CASES = {
    # kind: (line number -> replacement row, expected text)
    "missing_value": ({4: "2024-01-01T02:00:00Z,101,103,100.5,,12"}, "close is missing"),
    "missing_value_nan": ({5: "2024-01-01T03:00:00Z,102,104,101,NaN,13"}, "close is missing"),
    "not_a_number": ({3: "2024-01-01T01:00:00Z,100.5,102,100,abc,11"}, "close is not a number"),
    "nonpositive_price": ({6: "2024-01-01T04:00:00Z,0,105,0,104,14"}, "non-positive price"),
    "negative_price": ({6: "2024-01-01T04:00:00Z,103,105,-1,104,14"}, "non-positive price"),
    "high_below_open_close": ({3: "2024-01-01T01:00:00Z,100.5,100.8,100,101,11"}, "high < max(open, close)"),
    "low_above_open_close": ({4: "2024-01-01T02:00:00Z,101,103,101.5,102,12"}, "low > min(open, close)"),
    "high_below_low": ({5: "2024-01-01T03:00:00Z,102,101,104,103,13"}, "high < low"),
    "negative_volume": ({7: "2024-01-01T05:00:00Z,104,106,103,105,-15"}, "negative volume"),
    "bad_timestamp": ({3: "yesterday,100.5,102,100,101,11"}, "cannot parse timestamp 'yesterday'"),
    "empty_timestamp": ({3: ",100.5,102,100,101,11"}, "timestamp is empty"),
    "off_grid": ({4: "2024-01-01T02:30:00Z,101,103,100.5,102,12"}, "not on the 1h grid"),
}


def _rows_with(replace: dict[int, str]) -> list[str]:
    rows = list(ROWS)
    for line, text in replace.items():
        rows[line - 2] = text
    return rows


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_each_bad_row_kind_is_refused_with_its_line(case: str, write_csv) -> None:
    replace, expected = BAD_CASES[case]
    path = write_csv(f"{case}.csv", _rows_with(replace))
    with pytest.raises(ValidationRefused) as err:
        prepare(read_file(path), "1h")
    report = err.value.report
    msg = str(err.value)
    (line,) = replace
    assert str(path) in msg and f"line {line}:" in msg and expected in msg
    assert report.refused
    assert {int(x) for i in report.blocking for x in i.lines} == {line}
    # --repair drop drops exactly that line
    df, rep = prepare(read_file(path), "1h", repair={"drop"})
    assert rep.dropped_lines.tolist() == [line]
    assert len(df) == len(ROWS) - 1
    assert f"dropped 1 rows, lines {line}" in rep.text()


def test_many_problems_are_counted_and_the_first_lines_listed(write_csv) -> None:
    rows = list(ROWS) + [
        f"2024-01-02T{h:02d}:00:00Z,10,5,11,10,1" for h in range(10)
    ]  # 10 x high < low, lines 8-17
    path = write_csv("many.csv", rows)
    with pytest.raises(ValidationRefused) as err:
        prepare(read_file(path), "1h")
    issue = next(i for i in err.value.report.issues if i.kind == "high_below_low")
    assert issue.count == 10
    assert issue.lines.tolist() == list(range(8, 18))
    assert "line 8: high 5 < low 11" in str(err.value)
    assert "and 5 more" in str(err.value)
    # 10 of 16 rows are bad: dropping them would destroy the file, so the repair is not suggested
    assert "--repair drop" not in str(err.value)
    assert "would keep only 6 of 16" in str(err.value)
    with pytest.raises(ValidationRefused, match="--repair drop refused: it would drop 10 of 16 rows"):
        prepare(read_file(path), "1h", repair={"drop"})


def test_drop_is_suggested_for_a_few_bad_rows(write_csv) -> None:
    rows = list(ROWS) + ["2024-01-02T00:00:00Z,10,5,11,10,1"]  # one bad row in 7
    path = write_csv("few.csv", rows)
    with pytest.raises(ValidationRefused, match="rerun with --repair drop"):
        prepare(read_file(path), "1h")
    df, rep = prepare(read_file(path), "1h", repair={"drop"})
    assert len(df) == len(ROWS) and rep.dropped_lines.tolist() == [8]


def test_a_file_spaced_5m_imported_as_1d_is_told_its_real_timeframe(write_csv) -> None:
    rows = [f"2024-01-01T{m // 60:02d}:{m % 60:02d}:00Z,10,11,9,10,1" for m in range(0, 600, 5)]  # 120 rows
    path = write_csv("five.csv", rows)
    with pytest.raises(ValidationRefused) as err:
        prepare(read_file(path), "1d")
    text = str(err.value)
    assert "rows are 5 minutes apart: did you mean --timeframe 5m?" in text
    assert "--repair drop" not in text.split("\n")[-1] and "rerun with" not in text
    with pytest.raises(ValidationRefused, match="drop refused"):
        prepare(read_file(path), "1d", repair={"drop"})
    df, rep = prepare(read_file(path), "5m")
    assert len(df) == 120 and rep.spacing is None


def test_several_kinds_at_once_and_drop_reports_exact_lines(write_csv) -> None:
    rows = _rows_with(
        {3: "2024-01-01T01:00:00Z,100.5,,100,101,11", 6: "2024-01-01T04:00:00Z,103,105,102,104,-1"}
    )
    path = write_csv("two.csv", rows)
    with pytest.raises(ValidationRefused) as err:
        prepare(read_file(path), "1h")
    kinds = {i.kind: i.lines.tolist() for i in err.value.report.blocking}
    assert kinds == {"missing_value": [3], "negative_volume": [6]}
    df, rep = prepare(read_file(path), "1h", repair={"drop"})
    assert rep.dropped_lines.tolist() == [3, 6]
    assert df["volume"].tolist() == [10.0, 12.0, 13.0, 15.0]
    # the gaps this leaves are reported, not filled
    assert rep.gaps.count == 2 and rep.gaps.missing_bars == 2


def test_conflicting_duplicates_refused_and_all_versions_dropped(write_csv) -> None:
    rows = list(ROWS) + ["2024-01-01T02:00:00Z,101,103,100.5,102.5,12"]  # line 8 conflicts with line 4
    path = write_csv("dup.csv", rows)
    with pytest.raises(ValidationRefused) as err:
        prepare(read_file(path), "1h")
    issue = next(i for i in err.value.report.issues if i.kind == "duplicate_conflict")
    assert issue.lines.tolist() == [4, 8]
    assert "also on line 8" in str(err.value)
    df, rep = prepare(read_file(path), "1h", repair={"drop"})
    assert rep.dropped_lines.tolist() == [4, 8]
    assert len(df) == 5 and rep.gaps.missing_bars == 1


def test_exact_duplicates_kept_once_and_reported(write_csv) -> None:
    rows = list(ROWS) + [ROWS[1], ROWS[1]]  # lines 8, 9 repeat line 3 exactly
    path = write_csv("exact.csv", rows)
    df, rep = prepare(read_file(path), "1h", repair={"sort"})
    assert len(df) == 6
    assert rep.exact_duplicates_removed.tolist() == [8, 9]
    assert "removed 2 exact duplicate rows" in rep.text()
    assert rep.dropped_lines.size == 0


def test_unsorted_refused_by_default_and_sorted_on_request(write_csv) -> None:
    rows = [ROWS[0], ROWS[2], ROWS[1], *ROWS[3:]]  # line 4 (01:00) comes after line 3 (02:00)
    path = write_csv("uns.csv", rows)
    with pytest.raises(ValidationRefused) as err:
        prepare(read_file(path), "1h")
    assert [i.kind for i in err.value.report.blocking] == ["unsorted"]
    assert err.value.report.blocking[0].lines.tolist() == [4]
    assert "--repair sort" in str(err.value)
    with pytest.raises(ValidationRefused):  # drop does not silently sort
        prepare(read_file(path), "1h", repair={"drop"})
    df, rep = prepare(read_file(path), "1h", repair={"sort"})
    assert df.index.is_monotonic_increasing and len(df) == 6
    assert rep.sorted_rows == 1 and "sorted" in rep.text()


def test_newest_first_file_is_recognised(write_csv) -> None:
    path = write_csv("rev.csv", list(reversed(ROWS)))
    with pytest.raises(ValidationRefused, match="newest-first"):
        prepare(read_file(path), "1h")
    df, _ = prepare(read_file(path), "1h", repair={"sort"})
    assert df["close"].tolist() == [100.5, 101, 102, 103, 104, 105]


def test_wrong_timeframe_is_refused_as_off_grid(write_csv) -> None:
    rows = [f"2024-01-01T00:{m:02d}:00Z,1,2,0.5,1.5,3" for m in range(10)]  # 1m data declared as 1h
    path = write_csv("tf.csv", rows)
    with pytest.raises(ValidationRefused, match="grid"):
        prepare(read_file(path), "1h")


def test_gaps_do_not_refuse_and_fill_gaps_is_reported(write_csv) -> None:
    rows = [ROWS[0], ROWS[1], ROWS[5]]  # 02:00..04:00 missing (3 bars)
    path = write_csv("gap.csv", rows)
    df, rep = prepare(read_file(path), "1h")
    assert len(df) == 3 and rep.gaps.count == 1 and rep.gaps.missing_bars == 3
    assert rep.gaps.first == [
        {"after": "2024-01-01T01:00:00Z", "before": "2024-01-01T05:00:00Z", "missing_bars": 3}
    ]
    df2, rep2 = prepare(read_file(path), "1h", fill_gaps=True)
    assert len(df2) == 6 and rep2.filled_bars == 3
    filled = df2.iloc[2:5]
    assert (filled[["open", "high", "low", "close"]] == 101.0).all().all()
    assert (filled["volume"] == 0).all()
    assert "filled 3 missing bars" in rep2.text()


def test_fill_gaps_forward_vectorised_matches_reindex() -> None:
    tf = 60
    ts = np.array([0, 60, 300, 360, 600], dtype=np.int64)
    data = {k: np.arange(5, dtype=float) + 1 for k in ("open", "high", "low", "close", "volume")}
    new_ts, out, added = fill_gaps_forward(ts, data, tf)
    assert added == 6 and new_ts.tolist() == list(range(0, 601, 60))
    assert out["close"].tolist() == [1, 2, 2, 2, 2, 3, 4, 4, 4, 4, 5]
    assert out["volume"].tolist() == [1, 2, 0, 0, 0, 3, 4, 0, 0, 0, 5]


def test_find_gaps_counts() -> None:
    day = 86_400 * 10**9
    ts = np.array([0, 1, 2, 15, 16], dtype=np.int64) * day  # one 13-day step
    g = find_gaps(ts, day)
    assert (g.count, g.missing_bars, g.largest_ns) == (1, 12, 13 * day)


def test_unknown_repair_is_a_parameter_error(write_csv) -> None:
    path = write_csv("ok.csv", ROWS)
    with pytest.raises(ParameterError, match="fix"):
        prepare(read_file(path), "1h", repair={"fix"})


def test_all_rows_bad_with_drop_still_refuses(write_csv) -> None:
    path = write_csv("allbad.csv", ["2024-01-01T00:00:00Z,1,0.5,2,1,1"])
    with pytest.raises(DataError, match="drop refused: it would drop 1 of 1 rows and keep only 0"):
        prepare(read_file(path), "1h", repair={"drop"})


def test_zero_volume_is_kept_and_noted(write_csv) -> None:
    path = write_csv("zv.csv", [*ROWS[:2], "2024-01-01T02:00:00Z,101,103,100.5,102,0"])
    df, rep = prepare(read_file(path), "1h")
    assert len(df) == 3 and rep.zero_volume_rows == 1 and "zero volume" in rep.text()
