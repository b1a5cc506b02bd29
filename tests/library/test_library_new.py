"""``preveval new DIR --from ID`` with --units, --treated, --start, --frequency and --from-data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from library.library_helpers import synthetic_frame, write_synthetic_data
from preveval.cli import app
from preveval.library import CARD_PREFIX, get
from preveval.spec.loader import load_yaml_text
from preveval.spec.validate import validate_spec

runner = CliRunner()
POSITIONED = re.compile(r"^\S+:\d+:\d+: ", re.M)


def _new(tmp_path: Path, *args: str) -> tuple[Path, str]:
    out = tmp_path / "ev"
    res = runner.invoke(app, ["new", str(out), *args])
    assert res.exit_code == 0, res.output
    return out, res.stdout


def _spec(folder: Path):
    text = (folder / "evaluation.yaml").read_text()
    return validate_spec(load_yaml_text(text, "evaluation.yaml")), text


def test_new_fills_units_treated_start_and_frequency(tmp_path: Path) -> None:
    units = "Glenmorven,Aberlor,Craigmhor,Dunbrae,Invercarron,Kilnaver"
    out, printed = _new(tmp_path, "--from", "virtual-home-safety-hub", "--units", units, "--treated", "Glenmorven",
                        "--start", "2013-10", "--frequency", "quarter")
    spec, text = _spec(out)
    assert spec.data.frequency == "quarter" and spec.data.time == "quarter"
    sc = next(a for a in spec.analyses if a.id == "sc-fires")
    its = next(a for a in spec.analyses if a.id == "its-fires")
    assert sc.treated == "Glenmorven" and sc.intervention == "2013Q4"
    assert its.units == ("Glenmorven",) and its.intervention == "2013Q4"
    assert its.seasonality.type == "dummies" and its.seasonality.period == 4
    # comments and the library card travel with the copy
    template = get("virtual-home-safety-hub").text
    assert [ln for ln in text.splitlines() if ln.startswith(CARD_PREFIX)] == \
        [ln for ln in template.splitlines() if ln.startswith(CARD_PREFIX)]
    assert "# Which design for your data?" in text
    header = (out / "data" / "data.csv").read_text().strip().split(",")
    assert header[:2] == ["quarter", "area"] and "hub_active" in header
    assert "Still to do:" in printed and "preveval validate" in printed
    assert "Set the first active" not in printed  # the start was given
    assert "Record the costs" in printed
    # filled with data of that shape, it validates
    frame = synthetic_frame(spec, units=units.split(","))
    assert set(units.split(",")) <= set(frame["area"])
    write_synthetic_data(spec, out, units=units.split(","))
    res = runner.invoke(app, ["validate", str(out / "evaluation.yaml")])
    assert res.exit_code == 0, res.output


def test_new_keeps_windows_in_years_when_the_frequency_changes(tmp_path: Path) -> None:
    out, _ = _new(tmp_path, "--from", "home-fire-safety-visits", "--frequency", "quarter")
    spec, _ = _spec(out)
    ev = next(a for a in spec.analyses if a.id == "event-fires")
    assert (ev.leads, ev.lags) == (2, 8)  # 6 and 24 months
    its = next(a for a in spec.analyses if a.id == "its-fires")
    assert its.intervention == "2019Q2"  # the template's 2019-04, as a quarter
    out2, _ = _new(tmp_path / "w", "--from", "road-safety-day", "--frequency", "week", "--start", "2021-03-01")
    spec2, _ = _spec(out2)
    a = spec2.analyses[0]
    assert a.intervention == "2021-W09" and a.seasonality.period == pytest.approx(52.18)
    out3, _ = _new(tmp_path / "y", "--from", "mental-health-triage", "--frequency", "year", "--start", "2020")
    spec3, _ = _spec(out3)
    assert all(getattr(a, "seasonality", "none") in (None, "none") for a in spec3.analyses)


def test_new_from_data_reads_units_periods_and_columns(tmp_path: Path) -> None:
    t = get("falls-prevention-referral")
    frame = synthetic_frame(t.spec)
    frame["hscp"] = frame["hscp"].replace({"Pathway area": "Dunmorrow"})
    frame = frame.drop(columns=["chest_pain_calls_65_plus"])
    data = tmp_path / "mydata" / "falls.csv"
    data.parent.mkdir()
    frame.to_csv(data, index=False)
    out, printed = _new(tmp_path, "--from", t.id, "--from-data", str(data), "--treated", "Dunmorrow",
                        "--start", "2019-10")
    spec, _ = _spec(out)
    assert (out / spec.data.path).resolve() == data.resolve()
    assert not (out / "data").exists()  # the user's file is read, not a new template
    cits = next(a for a in spec.analyses if a.id == "cits-calls")
    assert cits.units == ("Dunmorrow",)
    assert "chest_pain_calls_65_plus" in printed  # the column still to add
    res = runner.invoke(app, ["validate", str(out / "evaluation.yaml")])
    assert res.exit_code == 2
    assert "chest_pain_calls_65_plus" in res.stderr and POSITIONED.search(res.stderr), res.stderr
    assert "Traceback" not in res.output


def test_new_from_parquet_with_staggered_starts_recommends_the_staggered_design(tmp_path: Path) -> None:
    t = get("youth-diversion-course")
    frame = synthetic_frame(t.spec)
    assert frame["first_course_quarter"].replace("", None).dropna().nunique() > 1
    data = tmp_path / "panel.parquet"
    frame.to_parquet(data, index=False)
    out, printed = _new(tmp_path, "--from", t.id, "--from-data", str(data))
    assert "Your data look like a staggered roll-out: Staggered DiD" in printed
    spec, _ = _spec(out)
    assert spec.data.path.endswith("panel.parquet") and spec.data.frequency == "quarter"


def test_one_treated_area_gets_the_one_area_design(tmp_path: Path) -> None:
    _, printed = _new(tmp_path, "--from", "mental-health-triage", "--treated", "North", "--units", "North,South,East")
    assert "Your data look like one area running the initiative: Synthetic control" in printed


def test_new_from_data_infers_the_frequency(tmp_path: Path) -> None:
    t = get("youth-diversion-course")  # quarterly
    frame = synthetic_frame(t.spec)
    data = tmp_path / "q.csv"
    frame.to_csv(data, index=False)
    out, _ = _new(tmp_path, "--from", "community-safety-hub", "--from-data", str(data))
    spec, _ = _spec(out)
    assert spec.data.frequency == "quarter"


def test_plain_new_then_validate_names_what_is_missing(tmp_path: Path) -> None:
    out, printed = _new(tmp_path, "--from", "community-safety-hub")
    assert "Set the first active month of analysis 'its-asb' (line" in printed
    assert "'Hub area'" in printed
    res = runner.invoke(app, ["validate", str(out / "evaluation.yaml")])
    assert res.exit_code == 2 and "data.csv" in res.stderr and "no rows" in res.stderr


@pytest.mark.parametrize(("args", "needle"), [
    (["--from", "no-such-entry"], "no library entry"),
    (["--from", "road-safety-day", "--frequency", "fortnight"], "--frequency"),
    (["--from", "road-safety-day", "--start", "April 2019x"], "--start"),
    (["--from", "road-safety-day", "--frequency", "quarter", "--start", "2019-13"], "--start"),
    (["--from", "mental-health-triage", "--units", "A,B", "--treated", "C"], "--treated"),
    (["--from", "mental-health-triage", "--units", "A,,B"], "--units"),
    (["--from", "mental-health-triage", "--units", "A,B", "--treated", "A,B"], "every unit is treated"),
    (["--from", "virtual-home-safety-hub", "--treated", "A,B"], "estimator: abadie"),
    (["--from", "road-safety-day", "--from-data", "missing.csv"], "not found"),
])
def test_bad_arguments_exit_2_and_write_nothing(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "ev"
    res = runner.invoke(app, ["new", str(out), *args])
    assert res.exit_code == 2, res.output
    assert needle in res.stderr, res.stderr
    assert "Traceback" not in res.output and not out.exists()


def test_new_refuses_a_folder_with_files(tmp_path: Path) -> None:
    out = tmp_path / "ev"
    out.mkdir()
    (out / "evaluation.yaml").write_text("mine\n")
    res = runner.invoke(app, ["new", str(out), "--from", "road-safety-day"])
    assert res.exit_code == 2 and "not empty" in res.stderr
    assert (out / "evaluation.yaml").read_text() == "mine\n"
    assert sorted(p.name for p in out.iterdir()) == ["evaluation.yaml"]


def test_new_output_is_deterministic(tmp_path: Path) -> None:
    a, _ = _new(tmp_path / "a", "--from", "marac-domestic-abuse", "--start", "2017Q3", "--treated", "North")
    b, _ = _new(tmp_path / "b", "--from", "marac-domestic-abuse", "--start", "2017Q3", "--treated", "North")
    assert (a / "evaluation.yaml").read_bytes() == (b / "evaluation.yaml").read_bytes()
    doc = yaml.safe_load((a / "evaluation.yaml").read_text())
    assert doc["analyses"][3]["intervention"] == "2017Q3" and doc["analyses"][3]["units"] == ["North"]
