"""Bad input is rejected cleanly: exit code 2, a positioned message, nothing written.

Each case breaks one thing in a valid evaluation (tests/conftest.py) and runs
``preveval run`` over an existing pack, which must be left exactly as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from preveval.cli import app
from support import SPEC, series_frame

runner = CliRunner()
Edit = Callable[[Path], None]


def yaml_edit(old: str, new: str) -> Edit:
    def edit(d: Path) -> None:
        text = (d / "evaluation.yaml").read_text()
        assert old in text, old
        (d / "evaluation.yaml").write_text(text.replace(old, new, 1))
    return edit


def yaml_text(text: str) -> Edit:
    def edit(d: Path) -> None:
        (d / "evaluation.yaml").write_text(text)
    return edit


def data_edit(fn: Callable[[pd.DataFrame], pd.DataFrame]) -> Edit:
    def edit(d: Path) -> None:
        fn(series_frame().astype(object)).to_csv(d / "data.csv", index=False)
    return edit


def set_cell(row: int, col: str, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def fn(f: pd.DataFrame) -> pd.DataFrame:
        f.loc[row, col] = value
        return f
    return fn


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))

# (id, edit, regex the stderr must match)
CASES: list[tuple[str, Edit, str]] = [
    ("yaml-syntax", yaml_edit("  name: Test initiative", "  name: [Test initiative"), r"evaluation\.yaml:\d+:\d+: .*YAML syntax error"),
    ("unknown-key", yaml_edit("initiative:", "initiatve:"), r"evaluation\.yaml:2:1: initiatve: unknown key 'initiatve' \(did you mean 'initiative'\?\)"),
    ("misspelt-enum", yaml_edit("family: quasipoisson", "family: quasipoison"), r"evaluation\.yaml:\d+:13: analyses\[0\]\.family: .*did you mean 'quasipoisson'"),
    ("python-tag", yaml_edit("name: Test initiative", "name: !!python/object/apply:os.system ['echo hacked']"), r"evaluation\.yaml:4:9: initiative\.name: the YAML tag 'tag:yaml\.org,2002:python/object/apply:os\.system' is not allowed"),
    ("alias-bomb", yaml_text(BOMB + SPEC), r"evaluation\.yaml:\d+:\d+: .*expands to more than 100,000 nodes"),
    ("duplicate-key", yaml_edit("  name: Test initiative", "  name: Test initiative\n  name: Again"), r"evaluation\.yaml:5:3: initiative\.name: duplicate key 'name'"),
    ("schema-version", yaml_edit("schema_version: 1", "schema_version: 2"), r"evaluation\.yaml:1:17: schema_version: schema_version 2 is not supported"),
    ("unknown-indicator", yaml_edit("indicator: events", "indicator: event"), r"evaluation\.yaml:\d+:16: analyses\[0\]\.indicator: no indicator has the id 'event' \(did you mean 'events'\?\)"),
    ("duplicate-analysis-id", yaml_edit("analyses:\n", "analyses:\n  - {id: its-events, method: its, indicator: events, intervention: 2019-01}\n"), r"analyses\[1\]\.id: id 'its-events' is used more than once"),
    ("missing-required", yaml_edit("  - id: events\n    label: Events\n", "  - id: events\n"), r"evaluation\.yaml:\d+:\d+: indicators\[0\]\.label: 'label' is required"),
    ("both-interventions", yaml_edit("intervention: 2019-01", "intervention: 2019-01\n    interventions: {a: 2019-01}"), r"analyses\[0\]: give exactly one of 'intervention'"),
    ("bad-slug", yaml_edit("id: test-initiative", "id: Test Initiative"), r"evaluation\.yaml:3:7: initiative\.id: 'Test Initiative' is not allowed here \(use lower-case"),
    ("data-missing", yaml_edit("path: data.csv", "path: nothere.csv"), r"nothere\.csv: data file not found"),
    ("data-suffix", yaml_edit("path: data.csv", "path: data.txt"), r"data\.txt: files ending in '\.txt' cannot be read"),
    ("column-missing", yaml_edit("offset: population", "offset: populaton"), r"evaluation\.yaml:\d+:13: analyses\[0\]\.offset: column 'populaton' is not in .*data\.csv \(did you mean 'population'\?\)"),
    ("bad-period", data_edit(set_cell(4, "month", "2016-13")), r"data\.csv:6:1: month: '2016-13' is not a month \(write months like 2005-01"),
    ("non-numeric", data_edit(set_cell(9, "events", "12 approx")), r"data\.csv:11:9: events: '12 approx' is not a number"),
    ("missing-value", data_edit(set_cell(2, "events", "")), r"data\.csv:4:\d+: events: the value is missing"),
    ("negative-count", data_edit(set_cell(7, "events", -3)), r"data\.csv:9:9: events: a count cannot be negative \(got -3\)"),
    ("fractional-count", data_edit(set_cell(7, "events", 2.5)), r"data\.csv:9:9: events: a count must be a whole number \(got 2\.5\)"),
    ("zero-offset", data_edit(set_cell(3, "population", 0)), r"data\.csv:5:\d+: population: an offset or weight must be greater than zero"),
    ("duplicate-period", data_edit(lambda f: pd.concat([f, f.iloc[[5]]], ignore_index=True)), r"data\.csv:50:1: month: a single series has one row per period: period 2016-06 appears more than once"),
    ("gap", data_edit(lambda f: f.drop(index=10)), r"the series has 1 missing period\(s\), the first is 2016-11"),
    ("intervention-outside", yaml_edit("intervention: 2019-01", "intervention: 2024-01"), r"evaluation\.yaml:\d+:19: analyses\[0\]\.intervention: 2024-01 is outside the data \(2016-01 to 2019-12\)"),
    ("too-few-before", yaml_edit("intervention: 2019-01", "intervention: 2016-03"), r"only 2 period\(s\) before the intervention 2016-03; at least 3 are needed"),
    ("too-few-after", yaml_edit("intervention: 2019-01", "intervention: 2019-11"), r"only 2 period\(s\) from the intervention 2019-11"),
    ("intervention-format", yaml_edit("intervention: 2019-01", "intervention: spring 2019"), r"analyses\[0\]\.intervention: 'spring 2019' is not a month"),
    ("empty-file", yaml_text(""), r"evaluation\.yaml:1:1: the file is empty"),
    ("bad-evidence-ref", yaml_edit("analyses:", "contribution:\n  claim: It worked\n  evidence:\n    - {id: e1, from_analysis: its-event}\nanalyses:"), r"contribution\.evidence\[0\]\.from_analysis: no analysis has the id 'its-event' \(did you mean 'its-events'\?\)"),
    ("discount-rate", yaml_edit("analyses:", "economics:\n  price_year: 2023\n  discount_rate: 3.5\nanalyses:"), r"evaluation\.yaml:\d+:18: economics\.discount_rate: a discount rate is a fraction a year between 0 and 1, got 3\.5 \(write 0\.035 for 3\.5%\)"),
    ("panel-needed", yaml_edit("analyses:\n", "analyses:\n  - {id: d, method: did, indicator: events, design: twfe, treatment: events}\n"), r"analyses\[0\]\.design: design twfe needs panel data"),
]


@pytest.fixture
def existing_pack(evaluation_dir: Path) -> Path:
    pack = evaluation_dir / "pack"
    (pack / "figures").mkdir(parents=True)
    (pack / "results.json").write_text('{"sentinel": true}\n')
    (pack / "figures" / "old.png").write_bytes(b"old")
    return pack


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("edit", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_rejected(evaluation_dir: Path, existing_pack: Path, edit: Edit, pattern: str,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    edit(evaluation_dir)
    before = snapshot(evaluation_dir / "pack")
    siblings = sorted(p.name for p in evaluation_dir.iterdir())
    monkeypatch.chdir(evaluation_dir)
    result = runner.invoke(app, ["run", "evaluation.yaml", "--out", "pack"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert re.search(pattern, result.stderr), result.stderr
    assert snapshot(evaluation_dir / "pack") == before
    assert sorted(p.name for p in evaluation_dir.iterdir()) == siblings  # no temp folder left behind


def test_case_count() -> None:
    assert len(CASES) >= 20


def test_validate_reports_the_same_errors(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    yaml_edit("family: quasipoisson", "family: quasipoison")(evaluation_dir)
    monkeypatch.chdir(evaluation_dir)
    result = runner.invoke(app, ["validate", "evaluation.yaml"])
    assert result.exit_code == 2
    assert "did you mean 'quasipoisson'" in result.stderr


def test_out_folder_that_is_not_a_pack_is_refused(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = evaluation_dir / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_bytes(b"precious")
    monkeypatch.chdir(evaluation_dir)
    result = runner.invoke(app, ["run", "evaluation.yaml", "--out", "mine"])
    assert result.exit_code == 2
    assert "not a preveval pack" in result.stderr
    assert snapshot(mine) == {"thesis.docx": b"precious"}


def test_all_errors_reported_at_once(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_edit(lambda f: set_cell(9, "events", "x")(set_cell(7, "events", -1)(f)))(evaluation_dir)
    monkeypatch.chdir(evaluation_dir)
    result = runner.invoke(app, ["validate", "evaluation.yaml"])
    assert result.exit_code == 2
    assert "data.csv:9:" in result.stderr and "data.csv:11:" in result.stderr
