"""The community-safety-hubs worked evaluation: a staggered roll-out, effects growing with time, a rival campaign.

Synthetic data with known truth (evaluations/community-safety-hubs/generate.py): hubs open in
12 of 20 areas in four waves; their rate ratio grows from 0.96 to 0.82; an enforcement campaign
cuts incidents by 8% (rate ratio 0.92) in its quarters in 8 areas. The pack must answer "was it
the hubs or the campaign?" in plain words, with numbers that are the results' numbers, and the
intervals must contain the truth.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from preveval.cli import app
from preveval.pack.wording import num, pct
from support import ROOT, check_pack

HERE = ROOT / "evaluations" / "community-safety-hubs"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("csh_generate", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("csh") / "pack"
    res = CliRunner().invoke(app, ["run", str(HERE / "evaluation.yaml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def doc(pack: Path) -> dict:
    return json.loads((pack / "results.json").read_text())


@pytest.fixture(scope="module")
def report(pack: Path) -> str:
    return (pack / "report.md").read_text()


def _rr(e: dict) -> tuple[float, float, float]:
    return math.exp(e["estimate"]), math.exp(e["ci_low"]), math.exp(e["ci_high"])


def _words(e: dict) -> str:
    rr, lo, hi = _rr(e)
    return f"about {pct(rr - 1)} {'lower' if rr < 1 else 'higher'} (rate ratio {rr:.3f}, 95% CI {lo:.3f} to {hi:.3f})"


def test_the_pack_conforms_to_the_contract(pack: Path) -> None:
    check_pack(pack)


def test_the_data_file_is_what_the_seeded_generator_writes(tmp_path: Path) -> None:
    frame, _ = _generator().build()
    frame.to_csv(tmp_path / "hubs.csv", index=False, lineterminator="\n")
    assert (tmp_path / "hubs.csv").read_bytes() == (HERE / "data" / "hubs.csv").read_bytes()


def test_the_count_version_recovers_the_true_effect_and_events_prevented(doc: dict) -> None:
    truth = _generator().build()[1]
    assert doc["primary"]["analysis"] == "hubs-asb"
    a = doc["analyses"]["hubs-asb"]
    assert a["design"] == "staggered" and a["family"] == "poisson" and a["effect"]["scale"] == "log"
    rr, lo, hi = _rr(a["effect"])
    assert lo <= truth["overall rate ratio (expected with / without)"] <= hi
    p = a["prevented"]
    assert p["ci_low"] <= truth["expected incidents prevented"] <= p["ci_high"]
    campaign = next(c for c in a["coefficients"] if c["term"] == "campaign")
    _, clo, chi = _rr(campaign)
    assert clo <= _generator().RR_CAMPAIGN <= chi


def test_the_summary_names_the_count_version_and_keeps_one_unit(doc: dict, report: str) -> None:
    """The two staggered analyses are told apart by their headings, every baseline in the summary is
    per 1,000 population as the indicator is, and an interval of fewer incidents has no note about
    negative numbers."""
    summary = report.split("## Summary", 1)[1].split("## The initiative", 1)[0]
    assert "- Staggered difference-in-differences of counts (Poisson): " in summary
    assert "- Staggered difference-in-differences: " in summary
    assert "per 100,000" not in summary
    p = doc["analyses"]["hubs-asb"]["prevented"]
    assert p["ci_low"] > 0 and "negative numbers mean more" not in summary


def test_was_it_the_hubs_or_the_campaign_in_plain_words(doc: dict, report: str, pack: Path) -> None:
    a = doc["analyses"]["hubs-asb"]
    campaign = next(c for c in a["coefficients"] if c["term"] == "campaign")
    step4 = report.split("Step 4: rival explanations", 1)[1].split("Step 5", 1)[0]
    first = step4.strip().split("\n\n")[0]
    assert first.startswith("Was it the multi-agency community safety hubs or the enforcement campaign?")
    # the hubs' effect after allowing for the campaign, then the campaign's own effect: the results' numbers
    assert f"After allowing for the enforcement campaign (data column 'campaign'), antisocial behaviour incidents " \
           f"per 1,000 population were {_words(a['effect'])} where the multi-agency community safety hubs ran" in first
    assert f"The enforcement campaign's own estimated effect: antisocial behaviour incidents per 1,000 population " \
           f"were {_words(campaign)} where and when it ran." in first
    assert "does not explain the change" in first
    # the rival-explanation row carries the campaign's own effect
    with (pack / "tables" / "contribution-rivals.csv").open() as f:
        row = next(r for r in csv.DictReader(f) if r["id"] == "enforcement-campaign")
    assert row["its own estimated effect"].startswith(f"{_words(campaign)} where and when it ran")


def test_staggered_details_agree_with_their_sentences(doc: dict, report: str) -> None:
    cs = doc["analyses"]["cs-asb"]
    assert set(cs["aggregations"]) == {"dynamic", "group", "calendar"}
    dyn = cs["aggregations"]["dynamic"]
    assert dyn["band"] == "uniform" and dyn["bootstrap"]["reps"] == 1999 and dyn["bootstrap"]["seed"] == 2024
    rows = {r["key"]: r for r in dyn["rows"]}
    unit = "incidents per 1,000 population a quarter"
    e0 = rows[0]["estimate"]
    assert (f"In the first quarter after the start the estimated effect was {num(e0)} {unit} "
            f"{'lower' if e0 < 0 else 'higher'} than without the initiative") in report
    # effects grow with time since opening (the truth: -4% to -18%)
    early = sum(rows[k]["estimate"] for k in range(4)) / 4
    late = sum(rows[k]["estimate"] for k in range(8, 16)) / 8
    assert late < early < 0.5
    # Goodman-Bacon: weights sum to 1, weighted sum = TWFE (from results.json alone)
    twfe = next(e for e in cs["estimators"] if e["estimator"] == "twfe")["effect"]["estimate"]
    assert sum(c["weight"] for c in cs["bacon"]) == pytest.approx(1.0, abs=1e-10)
    assert sum(c["weight"] * c["estimate"] for c in cs["bacon"]) == pytest.approx(twfe, abs=1e-10)
    est = {e["estimator"]: e["effect"]["estimate"] for e in cs["estimators"]}
    assert (f"two-way fixed effects {num(est['twfe'])} {unit} lower, Callaway & Sant'Anna "
            f"{num(est['callaway_santanna'])} {unit} lower, Sun & Abraham {num(est['sun_abraham'])} {unit} "
            "lower") in report
    bad = sum(c["weight"] for c in cs["bacon"] if c["type"] == "later_vs_earlier")
    assert f"({bad:.0%} of its weight here, Goodman-Bacon 2021)" in report
    # the breakdown value in words, as results.json has it
    s = cs["sensitivity"]
    if s["breakdown"] is None:
        assert "so we cannot tell whether it would survive any departure from parallel trends" in report
    else:
        assert f"more than {s['breakdown']:.2g} times the largest one seen" in report
    assert "breakdown" in s and s["relative_magnitude"]["rows"] and s["smoothness"]["rows"]


def test_figures_and_tables_of_the_staggered_analysis(pack: Path) -> None:
    for name in ("cs-asb-dynamic", "cs-asb-bacon", "cs-asb-sensitivity"):
        assert (pack / "figures" / f"{name}.png").stat().st_size > 5_000
    for name in ("cs-asb-dynamic", "cs-asb-group", "cs-asb-calendar", "cs-asb-estimators", "cs-asb-bacon",
                 "cs-asb-sensitivity", "hubs-asb-cohort-period"):
        assert (pack / "tables" / f"{name}.csv").exists(), name
