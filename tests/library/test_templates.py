"""Every library template is valid as it stands, and runs end to end on synthetic data of its own shape."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from library.library_helpers import synthetic_frame, write_synthetic_data
from preveval.cli import app
from preveval.library import templates
from preveval.spec.models import DidAnalysis, ItsAnalysis, SynthAnalysis
from support import ROOT, check_pack

runner = CliRunner()
IDS = [t.id for t in templates()]

#: The twelve initiatives issue 16 names, by the id of the entry that covers each.
REQUIRED = {
    "mental-health-triage", "community-safety-hub", "virtual-home-safety-hub", "road-safety-day",
    "home-fire-safety-visits", "campus-officer", "fire-youth-course", "asb-diversionary-activities",
    "marac-domestic-abuse", "drink-drive-seatbelt-campaign", "bonfire-deliberate-fires",
    "falls-prevention-referral",
}


def test_the_library_has_the_twelve_initiatives() -> None:
    missing = REQUIRED - set(IDS)
    assert not missing, missing
    assert len(IDS) >= 12


@pytest.mark.parametrize("tid", IDS)
def test_template_is_complete(tid: str) -> None:
    t = next(t for t in templates() if t.id == tid)
    s, card = t.spec, t.card
    assert (ROOT / "templates" / f"{tid}.yaml").is_file(), "the file is named after its id"
    assert len(s.initiative.partners) >= 3 and all(p.contribution for p in s.initiative.partners)
    assert {p.role for p in s.initiative.partners} >= {"lead", "data"} or \
        {p.role for p in s.initiative.partners} >= {"lead", "evaluation"}
    elements = s.logic_model.elements()
    assert not [el.id for stage, el in elements if re.fullmatch(rf"{stage}-\d+", el.id)], "elements have ids"
    assert s.logic_model.outcomes.short and s.logic_model.outcomes.long and s.logic_model.assumptions
    assert all(i.outcome is not None or "placebo" in i.label.lower() or "not expected" in i.label.lower()
               for i in s.indicators)
    assert s.contribution is not None and s.contribution.rival_explanations and s.contribution.evidence
    assert s.contribution.further_evidence
    assert set(card.data_sources) == {i.id for i in s.indicators}
    assert card.costs and all(c.item for c in card.costs)
    src = card.effect.source
    assert "illustrative" in src.lower() or re.search(r"\b(19|20)\d\d\b", src), \
        "a source names its year, or says the number is illustrative"
    if "no published estimate" in src.lower():
        assert "illustrative" in src.lower()
    for shape in ("one_area", "few_areas", "staggered"):
        assert len(getattr(card.designs, shape)) > 30
    # one-area designs: a synthetic control or ITS is recommended
    assert "synthetic control" in card.designs.one_area.lower() or "its" in card.designs.one_area.lower()
    assert "staggered" in card.designs.staggered.lower()
    # the template text states the design for each data shape next to the analyses
    text = t.text.lower()
    assert "one area" in text and "staggered" in text
    # edited values are written in flow style, as `new` expects
    raw = yaml.compose(t.text, Loader=yaml.SafeLoader)
    assert raw is not None


@pytest.mark.parametrize("tid", IDS)
def test_template_uses_only_what_its_design_supports(tid: str) -> None:
    """The design rules ran when the library loaded (validate_spec); check the staggered limits by hand too."""
    t = next(t for t in templates() if t.id == tid)
    for a in t.spec.analyses:
        if isinstance(a, DidAnalysis) and a.design == "staggered":
            assert a.family == "gaussian" and a.inference == "cluster"
        if isinstance(a, ItsAnalysis) and a.seasonality not in (None, "none"):
            assert t.spec.data.frequency != "year"
        if isinstance(a, SynthAnalysis):
            assert t.spec.data.unit is not None


#: Templates run end to end in the fast suite (one per frequency and design mix; about 15 s each);
#: every template runs end to end in the slow suite, and is validated with its data in both.
FAST = {"marac-domestic-abuse", "campus-officer", "asb-diversionary-activities"}
E2E = [pytest.param(tid, marks=() if tid in FAST else pytest.mark.slow) for tid in IDS]


def _validate(tid: str, folder: Path) -> None:
    t = next(t for t in templates() if t.id == tid)
    (folder / "evaluation.yaml").write_text(t.text, encoding="utf-8")
    write_synthetic_data(t.spec, folder)
    res = runner.invoke(app, ["validate", str(folder / "evaluation.yaml")])
    assert res.exit_code == 0, res.output
    # Only the warning a whole-area ITS (units: all) gets when some areas never run the initiative.
    warnings = [ln for ln in res.output.splitlines() if ln.startswith("warning")]
    assert all("diluted" in w for w in warnings), warnings


@pytest.mark.parametrize("tid", IDS)
def test_template_validates_with_data_of_its_shape(tid: str, tmp_path: Path) -> None:
    _validate(tid, tmp_path)


def _run(tid: str, tmp_path: Path) -> Path:
    _validate(tid, tmp_path)
    pack = tmp_path / "pack"
    res = runner.invoke(app, ["run", str(tmp_path / "evaluation.yaml"), "--out", str(pack)])
    assert res.exit_code == 0, res.output
    return pack


@pytest.mark.parametrize("tid", E2E)
def test_template_runs_end_to_end(tid: str, tmp_path: Path) -> None:
    pack = _run(tid, tmp_path)
    check_pack(pack)
    results = json.loads((pack / "results.json").read_text())
    t = next(t for t in templates() if t.id == tid)
    assert set(results["analyses"]) == {a.id for a in t.spec.analyses}
    assert (pack / "report.html").stat().st_size > 10_000
    for a in t.spec.analyses:
        assert results["analyses"][a.id]["effect"]["estimate"] is not None


@pytest.mark.parametrize("tid", IDS[:2])
def test_synthetic_data_are_seeded_and_realistic(tid: str) -> None:
    t = next(t for t in templates() if t.id == tid)
    a, b = synthetic_frame(t.spec), synthetic_frame(t.spec)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(synthetic_frame(t.spec, seed=7))
    counts = [i.column for i in t.spec.indicators if i.kind == "count"]
    for c in counts:
        x = a[c].astype(float)
        assert (x >= 0).all() and x.var() > x.mean(), f"{c}: counts are overdispersed"
