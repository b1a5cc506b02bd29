"""Data files that used to crash ``preveval validate`` or ``run``, block it, or be misread in
silence: each is now refused with exit code 2 and ``FILE:LINE:COL`` where the file has lines
(a parquet file names the row), or read correctly. No traceback, never an internal error.
"""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import preveval as pv
from adversarial.adv_helpers import CLI, assert_clean, cli, subprocess_env
from support import SPEC, series_frame

PANEL = """schema_version: 1
initiative: {id: panel, name: Panel}
indicators:
  - {id: y, label: Y, column: y, kind: count}
data: {path: data.csv, time: month, frequency: month, unit: area}
analyses:
"""
STAGGERED = "  - {id: cs, method: did, indicator: y, design: staggered, first_treated: ft}\n"


def panel(n_units: int = 8, treated: int = 4) -> pd.DataFrame:
    """Monthly counts in ``n_units`` areas over 2017-2019; the first ``treated`` start in turn from 2018-03."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n_units):
        start = pd.Period(f"2018-{3 + i:02d}", "M") if i < treated else None
        for m in pd.period_range("2017-01", periods=36, freq="M"):
            rows.append({"area": f"a{i}", "month": str(m), "y": int(rng.poisson(30)),
                         "ft": str(start) if start is not None else "",
                         "d": int(start is not None and m >= start)})
    return pd.DataFrame(rows)


def evaluation(d: Path, text: str = SPEC, frame: pd.DataFrame | None = None) -> Path:
    (d / "evaluation.yaml").write_text(text, encoding="utf-8")
    if frame is not None:
        frame.to_csv(d / "data.csv", index=False)
    return d / "evaluation.yaml"


def error_lines(err: str) -> list[str]:
    lines = err.splitlines()
    assert lines[-1].startswith("preveval: ") and lines[-1].endswith("error(s); nothing was written"), err
    return lines[:-1]


# ------------------------------------------------------------------------ file kinds


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_as_data_path_is_refused_at_once(tmp_path: Path) -> None:
    """A named pipe as data.path blocked ``validate`` forever; now it is refused without waiting."""
    evaluation(tmp_path)
    os.mkfifo(tmp_path / "data.csv")
    proc = subprocess.run([*CLI, "validate", str(tmp_path / "evaluation.yaml")], capture_output=True, text=True,
                          timeout=60, env=subprocess_env())
    err = assert_clean(proc, 2)
    assert re.match(r".*data\.csv: cannot read the data file: it is a named pipe \(FIFO\), not a regular file", err), err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_as_the_evaluation_file_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "evaluation.yaml")
    proc = subprocess.run([*CLI, "validate", str(tmp_path / "evaluation.yaml")], capture_output=True, text=True,
                          timeout=60, env=subprocess_env())
    err = assert_clean(proc, 2)
    assert "evaluation.yaml: cannot read the file: it is a named pipe (FIFO), not a regular file" in err, err


def test_a_folder_as_data_path_is_refused(tmp_path: Path) -> None:
    evaluation(tmp_path)
    (tmp_path / "data.csv").mkdir()
    err = assert_clean(cli("validate", tmp_path / "evaluation.yaml"), 2)
    assert re.match(r".*data\.csv: cannot read the data file: it is a folder, not a file", err), err


# -------------------------------------------------------------------------- encodings


def test_one_byte_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    """One cp1252 byte in a UTF-8 file used to switch the whole file to cp1252 in silence, so
    that every UTF-8 name in it became mojibake (``Môn`` read as ``MÃ´n``). Now the line and
    column of the byte are given and nothing is guessed."""
    f = series_frame().astype(object)
    f["note"] = "Ynys Môn"
    raw = f.to_csv(index=False).encode("utf-8")
    raw = raw.replace(b"2016-03,", b"2016-03\xe9,", 1)
    evaluation(tmp_path)
    (tmp_path / "data.csv").write_bytes(raw)
    err = assert_clean(cli("validate", tmp_path / "evaluation.yaml"), 2)
    lines = error_lines(err)
    assert len(lines) == 1, err
    assert re.fullmatch(r".*data\.csv:4:8: this line is not UTF-8 text \(byte 0xE9\) \(save the file as UTF-8 .*\)",
                        lines[0]), err


def test_a_file_in_another_encoding_names_the_first_lines(tmp_path: Path) -> None:
    """A whole cp1252 file: the first ten lines that are not UTF-8, then how many more (counted)."""
    f = series_frame().astype(object)
    f["note"] = "Café"
    evaluation(tmp_path)
    (tmp_path / "data.csv").write_bytes(f.to_csv(index=False).encode("cp1252"))
    err = assert_clean(cli("validate", tmp_path / "evaluation.yaml"), 2)
    lines = error_lines(err)
    assert len(lines) == 11, err
    assert all(re.fullmatch(rf".*data\.csv:{k + 2}:\d+: this line is not UTF-8 text \(byte 0xE9\) .*", x)
               for k, x in enumerate(lines[:10])), err
    assert lines[10].endswith("... and 38 more lines that are not UTF-8"), err
    assert err.splitlines()[-1] == "preveval: 48 error(s); nothing was written", err


def test_utf8_with_a_byte_order_mark_reads_as_written(tmp_path: Path) -> None:
    f = series_frame().astype(object)
    f["note"] = "Ynys Môn"
    evaluation(tmp_path)
    (tmp_path / "data.csv").write_bytes(f.to_csv(index=False).encode("utf-8-sig"))
    ev = pv.load(tmp_path / "evaluation.yaml")
    assert list(ev.dataset.frame.columns[:1]) == ["month"]
    assert set(ev.dataset.frame["note"]) == {"Ynys Môn"}


# -------------------------------------------------------------------- CSV positions


def test_quoted_cells_are_placed_by_their_character_column(tmp_path: Path) -> None:
    """In rows with quotes COL was the field number; now it is the character column, and a
    cell after a line break inside quotes has its own line."""
    lines = series_frame().to_csv(index=False).splitlines()
    lines[5] = '"2016-05","12 approx",100200'      # line 6
    lines[6] = '2016-06,"1,2",100250'              # line 7: a delimiter inside quotes
    lines[7] = '"2016-07","a ""b"" c",100300'      # line 8: doubled quotes
    lines[8] = '"2016-08","x\ny",100350'           # lines 9-10: a line break inside a quoted cell
    lines[9] = '"2016-09",\t3x,"pop\n"'              # next record, line 11 (the pop cell spans 11-12)
    evaluation(tmp_path)
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = assert_clean(cli("validate", tmp_path / "evaluation.yaml"), 2)
    got = [re.match(r".*data\.csv:(\d+):(\d+): (\w+): ", x).groups() for x in error_lines(err)]  # type: ignore[union-attr]
    assert got == [("6", "11", "events"), ("7", "9", "events"), ("8", "11", "events"), ("9", "11", "events"),
                   ("11", "11", "events"), ("11", "15", "population")], err


def test_numbers_after_quoted_cells_keep_their_columns(tmp_path: Path) -> None:
    """A count of -3 after a quoted month: the column of the -3, not 2."""
    f = series_frame()
    text = f.to_csv(index=False).replace("2016-08,", '"2016-08",', 1)
    text = re.sub(r'("2016-08",)\d+', r"\1-3", text)
    evaluation(tmp_path)
    (tmp_path / "data.csv").write_text(text, encoding="utf-8")
    err = assert_clean(cli("validate", tmp_path / "evaluation.yaml"), 2)
    assert re.match(r".*data\.csv:9:11: events: a count cannot be negative \(got -3\)", err), err


# --------------------------------------------------------------------------- values


def test_a_count_too_large_to_be_right(tmp_path: Path) -> None:
    """99999999999999999999 read as 1e20 and the fit failed (ValueError: NaN, inf ... in weights)."""
    f = series_frame().astype(object)
    f.loc[3, "events"] = "99999999999999999999"
    err = assert_clean(cli("validate", evaluation(tmp_path, frame=f)), 2)
    assert re.fullmatch(r".*data\.csv:5:9: events: a count cannot be this large \(got 1e\+20; at most "
                        r"9,007,199,254,740,992\) \(.*\)", error_lines(err)[0]), err


def test_a_count_far_above_the_rest_stops_the_fit_with_a_message(tmp_path: Path) -> None:
    """A count of 1e9 among counts near 45 is a valid count; the Poisson GLM then breaks down
    (statsmodels: ValueError about weights, an internal error): now exit 1, the largest count
    named, nothing written."""
    f = series_frame()
    f.loc[5, "events"] = 10**9
    path = evaluation(tmp_path, frame=f)
    assert_clean(cli("validate", path), 0)
    err = assert_clean(cli("run", path, "--out", tmp_path / "pack"), 1)
    assert "the count model could not be fitted" in err and "largest count is 1,000,000,000" in err, err
    assert "internal error" not in err and not (tmp_path / "pack").exists()


def test_inf_in_a_count_is_an_error_without_a_numpy_warning(tmp_path: Path) -> None:
    f = series_frame().astype(object)
    f.loc[3, "events"] = "inf"
    f.loc[4, "events"] = "-inf"
    path = evaluation(tmp_path, frame=f)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        err = assert_clean(cli("validate", path), 2)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
    assert "RuntimeWarning" not in err
    assert [x.split(": ", 1)[0].rsplit("data.csv:", 1)[1] for x in error_lines(err)] == ["5:9", "6:9"], err


def test_and_n_more_is_counted_as_the_problems_it_stands_for(tmp_path: Path) -> None:
    """Fifteen bad cells: ten listed, '... and 5 more', and '15 error(s)' (was 11)."""
    f = series_frame().astype(object)
    f.loc[:14, "events"] = "n/k"
    err = assert_clean(cli("validate", evaluation(tmp_path, frame=f)), 2)
    lines = error_lines(err)
    assert len(lines) == 11 and lines[-1].endswith("... and 5 more bad values in 'events'"), err
    assert err.splitlines()[-1] == "preveval: 15 error(s); nothing was written", err


def test_rows_of_the_wrong_width_are_capped_and_counted(tmp_path: Path) -> None:
    text = series_frame().to_csv(index=False).splitlines()
    text = [x + ",1" if 1 <= k <= 12 else x for k, x in enumerate(text)]
    evaluation(tmp_path)
    (tmp_path / "data.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    err = assert_clean(cli("validate", tmp_path / "evaluation.yaml"), 2)
    lines = error_lines(err)
    assert len(lines) == 11 and lines[-1].endswith("... and 2 more rows with the wrong number of fields"), err
    assert re.match(r".*data\.csv:2: this row has 4 fields but the header has 3", lines[0]), err
    assert err.splitlines()[-1] == "preveval: 12 error(s); nothing was written", err


# -------------------------------------------------------------------------- parquet


def test_a_nullable_int64_count_with_na(tmp_path: Path) -> None:
    """``<NA>`` in a nullable Int64 column raised TypeError (boolean value of NA is ambiguous)."""
    f = series_frame()
    f["events"] = f["events"].astype("Int64")
    f.loc[3, "events"] = pd.NA
    f.to_parquet(tmp_path / "data.parquet")
    path = evaluation(tmp_path, SPEC.replace("data.csv", "data.parquet"))
    err = assert_clean(cli("validate", path), 2)
    assert re.fullmatch(r".*data\.parquet: events: row 4: the value is missing \(.*\)", error_lines(err)[0]), err


def test_nullable_types_without_missing_values_read_like_any_other(tmp_path: Path) -> None:
    f = series_frame()
    f["events"] = f["events"].astype("Int64")
    f["population"] = f["population"].astype("Float64")
    f["month"] = f["month"].astype("string")
    f.to_parquet(tmp_path / "data.parquet")
    ev = pv.load(evaluation(tmp_path, SPEC.replace("data.csv", "data.parquet")))
    assert ev.frame["events"].tolist() == series_frame()["events"].astype(float).tolist()


def test_dates_with_nat_for_never_treated_units(tmp_path: Path) -> None:
    """A datetime ``first_treated`` with NaT for the never-treated raised AttributeError; NaT
    means never treated, as an empty cell does, and the design runs."""
    f = panel()
    f["month"] = pd.PeriodIndex(f["month"], freq="M").to_timestamp()
    f["ft"] = pd.to_datetime(f["ft"].replace("", None))
    assert f["ft"].isna().sum() == 4 * 36
    f.to_parquet(tmp_path / "data.parquet")
    path = evaluation(tmp_path, PANEL.replace("data.csv", "data.parquet") + STAGGERED)
    assert_clean(cli("validate", path), 0)
    ev = pv.load(path)
    assert int(np.isnan(ev.frame["ft"].to_numpy()).sum()) == 4 * 36
    result = ev.run()
    assert np.isfinite(result.analyses["cs"].effect.estimate)


def test_nat_in_the_time_column_is_a_missing_period(tmp_path: Path) -> None:
    f = series_frame()
    f["month"] = pd.PeriodIndex(f["month"], freq="M").to_timestamp()
    f.loc[6, "month"] = pd.NaT
    f.to_parquet(tmp_path / "data.parquet")
    err = assert_clean(cli("validate", evaluation(tmp_path, SPEC.replace("data.csv", "data.parquet"))), 2)
    assert re.fullmatch(r".*data\.parquet: month: row 7: the period is missing", error_lines(err)[0]), err


# ------------------------------------------------------------------- panel structure


def test_a_misspelt_unit_in_units_is_refused_at_validate(tmp_path: Path) -> None:
    text = PANEL + "  - {id: its, method: its, indicator: y, intervention: 2018-06, units: [a0, a9x]}\n"
    err = assert_clean(cli("validate", evaluation(tmp_path, text, panel())), 2)
    assert re.fullmatch(r".*evaluation\.yaml:7:77: analyses\[0\]\.units\[1\]: unit 'a9x' is not in the data "
                        r"column 'area' \(.*\)", error_lines(err)[0]), err


def test_a_panel_missing_a_first_period_row_is_refused_at_validate(tmp_path: Path) -> None:
    """An ITS adding up areas, one without its first month: refused at validate, at the key
    that chooses the areas (run used to be the first to notice)."""
    f = panel()
    f = f[~((f["area"] == "a2") & (f["month"] == "2017-01"))]
    text = PANEL + "  - {id: its, method: its, indicator: y, intervention: 2018-06, units: all, aggregate: sum}\n"
    err = assert_clean(cli("validate", evaluation(tmp_path, text, f)), 2)
    assert re.fullmatch(r".*evaluation\.yaml:7:72: analyses\[0\]\.units: unit 'a2' has no row for 1 of the 36 "
                        r"periods the series covers \(.*\)", error_lines(err)[0]), err


def test_a_comparison_unit_missing_a_row_is_placed_at_its_own_entry(tmp_path: Path) -> None:
    """A unit of comparison.units without a row: the message points at that unit's entry in
    comparison.units (it pointed at the analysis' units, which do not list it)."""
    f = panel()
    f = f[~((f["area"] == "a6") & (f["month"] == "2017-01"))]
    text = PANEL + ("  - {id: its, method: its, indicator: y, intervention: 2018-06, units: [a0], "
                    "comparison: {units: [a5, a6]}}\n")
    err = assert_clean(cli("validate", evaluation(tmp_path, text, f)), 2)
    assert re.fullmatch(r".*evaluation\.yaml:7:\d+: analyses\[0\]\.comparison\.units\[1\]: unit 'a6' has no row "
                        r"for 1 of the 36 periods the series covers \(.*\)", error_lines(err)[0]), err
    col = int(re.match(r".*evaluation\.yaml:7:(\d+):", error_lines(err)[0])[1])  # type: ignore[index]
    assert text.splitlines()[-1][col - 1:col + 1] == "a6", err


def test_a_did_panel_missing_a_first_period_row_runs(tmp_path: Path) -> None:
    """The same gap in a difference-in-differences: an unbalanced panel, which TWFE fits."""
    f = panel()
    f = f[~((f["area"] == "a2") & (f["month"] == "2017-01"))]
    text = PANEL + "  - {id: twfe, method: did, indicator: y, design: twfe, treatment: d}\n"
    path = evaluation(tmp_path, text, f)
    assert_clean(cli("validate", path), 0)
    assert pv.load(path).run().analyses["twfe"].effect.n == len(f)


def test_a_gap_inside_a_series_is_placed_at_the_row_after_it(tmp_path: Path) -> None:
    f = series_frame().drop(index=10)
    err = assert_clean(cli("validate", evaluation(tmp_path, frame=f)), 2)
    assert re.fullmatch(r".*data\.csv:12:1: month: the series has 1 missing period\(s\), the first is 2016-11, "
                        r"just before this row \(.*\)", error_lines(err)[0]), err


def test_a_gap_in_a_unit_of_a_panel(tmp_path: Path) -> None:
    f = panel()
    f = f[~((f["area"] == "a3") & (f["month"] == "2017-05"))].reset_index(drop=True)
    text = PANEL + "  - {id: its, method: its, indicator: y, intervention: 2018-06, units: [a3]}\n"
    err = assert_clean(cli("validate", evaluation(tmp_path, text, f)), 2)
    line = 2 + 3 * 36 + 4  # header, three whole areas, then a3's January to April
    assert re.fullmatch(rf".*data\.csv:{line}:4: month: unit 'a3' has 1 missing period\(s\), the first is 2017-05, "
                        r"just before this row \(.*\)", error_lines(err)[0]), err


def test_gaps_in_several_units_are_counted_and_listed_by_name(tmp_path: Path) -> None:
    """The vectorised gap check (one sort of the whole panel) reports as the per-unit loop did:
    one message per unit, ordered by the unit's name, counting every missing period and placed
    at the row after the unit's first gap; rows in shuffled order change nothing."""
    f = panel()
    drop = ((f["area"] == "a3") & f["month"].isin(["2017-05", "2017-06", "2018-01"])) | (
        (f["area"] == "a1") & (f["month"] == "2017-06"))
    f = f[~drop].sample(frac=1.0, random_state=7).reset_index(drop=True)
    text = PANEL + "  - {id: its, method: its, indicator: y, intervention: 2018-06, units: [a1, a3]}\n"
    err = assert_clean(cli("validate", evaluation(tmp_path, text, f)), 2)
    lines = error_lines(err)
    assert len(lines) == 2, err
    row_a1 = int(f.index[(f["area"] == "a1") & (f["month"] == "2017-07")][0]) + 2
    row_a3 = int(f.index[(f["area"] == "a3") & (f["month"] == "2017-07")][0]) + 2
    assert re.fullmatch(rf".*data\.csv:{row_a1}:\d+: month: unit 'a1' has 1 missing period\(s\), the first is "
                        r"2017-06, .*", lines[0]), err
    assert re.fullmatch(rf".*data\.csv:{row_a3}:\d+: month: unit 'a3' has 3 missing period\(s\), the first is "
                        r"2017-05, .*", lines[1]), err


def test_subprocess_validate_prints_no_traceback_for_a_broken_parquet(tmp_path: Path) -> None:
    """A file that is not parquet at all: a DataError naming the file, in a real process."""
    (tmp_path / "data.parquet").write_bytes(b"PAR1 not really")
    path = evaluation(tmp_path, SPEC.replace("data.csv", "data.parquet"))
    proc = subprocess.run([*CLI, "validate", str(path)], capture_output=True, text=True, timeout=120,
                          env=subprocess_env())
    err = assert_clean(proc, 2)
    assert "data.parquet: cannot read the file" in err, err
