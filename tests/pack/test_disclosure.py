"""Disclosure control: small counts from the data suppressed in a published pack, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import preveval as pv
from preveval.cli import app
from preveval.pack.disclosure import SUPPRESSED, suppress_counts

PANEL_SPEC = """\
schema_version: 1
initiative:
  id: small-counts
  name: Small counts
indicators:
  - {id: fires, label: Dwelling fires, column: fires, kind: count, unit_label: fires}
data: {path: panel.csv, time: month, frequency: month, unit: area}
analyses:
  - id: its-fires
    method: its
    indicator: fires
    intervention: 2019-01
    units: all
    aggregate: sum
    family: poisson
    sensitivity: false
    reps: 200
  - id: did-fires
    method: did
    indicator: fires
    design: twfe
    treatment: active
    family: poisson
    inference: cluster
disclosure: {threshold: 5}
"""


def panel(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    months = pd.period_range("2016-01", periods=48, freq="M")
    rows = []
    for k, area in enumerate(["A", "B", "C", "D", "E", "F"]):
        for m in months:
            active = int(k < 3 and m >= pd.Period("2019-01", "M"))
            rows.append({"area": area, "month": str(m), "active": active,
                         "fires": int(rng.poisson(0.6 if k < 3 else 1.5) * (0.8 if active else 1))})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    d = tmp_path_factory.mktemp("disclosure")
    (d / "evaluation.yaml").write_text(PANEL_SPEC)
    frame = panel()
    frame.to_csv(d / "panel.csv", index=False)
    res = pv.load(d / "evaluation.yaml").run()
    return res.write_pack(d / "internal"), res.write_pack(d / "published", publish=True), frame


def test_primary_suppression_hides_1_to_threshold_minus_1_and_shows_zero() -> None:
    counts = np.array([0, 1, 4, 5, 12, 3, 0, 7], dtype=float)
    primary, secondary = suppress_counts(counts, 5, [])
    assert primary.tolist() == [False, True, True, False, False, True, False, False]
    assert not secondary.any()


def test_secondary_suppression_protects_a_published_total() -> None:
    counts = np.array([2, 9, 0, 7, 30, 11], dtype=float)
    pre = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    primary, secondary = suppress_counts(counts, 5, [pre, ~pre])
    # the pre-period total is published: the 2 alone would be its total minus 9 and 0,
    # so the smallest other non-zero cell (9, not the zero) is suppressed too
    assert primary.tolist() == [True, False, False, False, False, False]
    assert secondary.tolist() == [False, True, False, False, False, False]


def test_the_partner_cell_of_a_period_is_suppressed_so_the_all_areas_total_cannot_reveal_it() -> None:
    counts = np.array([[3, 40], [12, 50], [20, 2], [25, 0]], dtype=float)
    primary, secondary = suppress_counts(counts, 5, [])
    assert primary.tolist() == [[True, False], [False, False], [False, True], [False, False]]
    assert secondary.tolist() == [[False, True], [False, False], [True, False], [False, False]]


def test_results_json_is_the_same_published_or_not(packs) -> None:
    internal, published, _ = packs
    assert (internal / "results.json").read_bytes() == (published / "results.json").read_bytes()


def test_the_published_series_hides_exactly_the_small_counts(packs) -> None:
    internal, published, frame = packs
    totals = frame.groupby("month")["fires"].sum()
    series = pd.read_csv(published / "tables" / "its-fires-series.csv", dtype={"observed": str})
    full = pd.read_csv(internal / "tables" / "its-fires-series.csv")
    hidden = series["observed"] == SUPPRESSED
    small = totals.reindex(series["period"]).between(1, 4).to_numpy()
    assert (hidden.to_numpy() >= small).all() and small.any()
    shown = ~hidden.to_numpy()
    assert np.allclose(series.loc[shown, "observed"].astype(float), full.loc[shown, "observed"])
    # model estimates are never suppressed
    assert series["fitted"].equals(full["fitted"]) and series["counterfactual"].equals(full["counterfactual"])
    assert SUPPRESSED not in (internal / "tables" / "its-fires-series.csv").read_text()


def test_trends_by_group_follow_the_counts_behind_them(packs) -> None:
    internal, published, frame = packs
    tr = pd.read_csv(published / "tables" / "did-fires-trends.csv", dtype=str)
    treated = frame[frame["area"].isin(["A", "B", "C"])].groupby("month")["fires"].sum()
    small = treated.reindex(tr["period"]).between(1, 4).to_numpy()
    assert small.any()
    assert ((tr["mean_treated"] == SUPPRESSED).to_numpy() >= small).all()
    # where a treated cell is hidden, so is the comparison cell of that period
    hidden_t = (tr["mean_treated"] == SUPPRESSED).to_numpy()
    assert (tr.loc[hidden_t, "mean_comparison"] == SUPPRESSED).all()
    # each group with a published total (before / after the start) never holds a lone suppressed cell
    post = tr["period"] >= "2019-01"
    for g in (post, ~post):
        assert (tr.loc[g, "mean_treated"] == SUPPRESSED).sum() != 1


def test_the_report_says_what_was_suppressed_and_how(packs) -> None:
    internal, published, _ = packs
    md = (published / "report.md").read_text(encoding="utf-8")
    assert "## Disclosure control" in md and "threshold 5" in md and "Secondary suppression" in md
    assert "tables/disclosure.csv" in md
    note = pd.read_csv(published / "tables" / "disclosure.csv")
    assert set(note["table"]) == {"its-fires-series", "did-fires-trends"}
    assert "Disclosure control" not in (internal / "report.md").read_text(encoding="utf-8")
    html = (published / "report.html").read_text(encoding="utf-8")
    assert 'id="disclosure"' in html and SUPPRESSED in html


def test_a_higher_threshold_and_apply_to(tmp_path: Path) -> None:
    spec = yaml.safe_load(PANEL_SPEC)
    spec["disclosure"] = {"threshold": 10, "apply_to": ["fires"]}
    res = pv.from_dict(spec, panel()).run()
    out = res.write_pack(tmp_path / "p", publish=True)
    series = pd.read_csv(out / "tables" / "its-fires-series.csv", dtype={"observed": str})
    totals = panel().groupby("month")["fires"].sum()
    assert ((series["observed"] == SUPPRESSED).to_numpy() >= totals.reindex(series["period"]).between(1, 9).to_numpy()).all()
    spec["disclosure"] = {"apply_to": ["other"]}
    out2 = pv.from_dict(spec, panel()).run().write_pack(tmp_path / "q", publish=True)
    assert SUPPRESSED not in (out2 / "tables" / "its-fires-series.csv").read_text()


def test_cli_publish_flag(tmp_path: Path) -> None:
    (tmp_path / "evaluation.yaml").write_text(PANEL_SPEC)
    panel().to_csv(tmp_path / "panel.csv", index=False)
    r = CliRunner().invoke(app, ["run", str(tmp_path / "evaluation.yaml"), "--out", str(tmp_path / "pack"), "--publish"])
    assert r.exit_code == 0, r.output
    assert SUPPRESSED in (tmp_path / "pack" / "tables" / "its-fires-series.csv").read_text()
    assert json.loads((tmp_path / "pack" / "results.json").read_text())["analyses"]["its-fires"]["method"] == "its"


def test_disclosure_block_is_validated() -> None:
    spec = yaml.safe_load(PANEL_SPEC)
    spec["disclosure"] = {"threshold": 1}
    with pytest.raises(pv.SpecError) as exc:
        pv.from_dict(spec, panel())
    assert exc.value.issues[0].path.startswith("disclosure.threshold")
