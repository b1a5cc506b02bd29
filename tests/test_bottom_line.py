"""The report's first paragraph: what was done, the primary analysis, its effect with units and baseline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

import preveval as pv
from preveval.pack.report import build_sections
from support import series_frame


def _run(evaluation_dir: Path, edit: tuple[str, str] | None = None):
    if edit:
        y = evaluation_dir / "evaluation.yaml"
        y.write_text(y.read_text().replace(*edit))
    return pv.load(evaluation_dir / "evaluation.yaml").run()


def test_the_bottom_line_opens_the_report_and_names_the_primary(evaluation_dir: Path) -> None:
    res = _run(evaluation_dir)
    summary = build_sections(res)[0]
    text = summary.paragraphs[0]
    assert text.startswith("Test initiative is a primary prevention initiative")
    assert "The main answer comes from the interrupted time series of events" in text
    assert res.primary.analysis == "its-events"
    assert "its-events" not in text  # analysis ids only in headings
    # the effect with its unit, period and baseline
    assert re.search(r"from about [\d.,]+ per 100,000 population a month before the start", text), text
    # prevented events from the same analysis
    p = res.analyses["its-events"].prevented
    assert f"about {abs(p.total):,.0f} fewer" in text
    # the reading aid for a negative bound only where a bound is negative
    assert ("negative numbers mean more" in text) == (p.ci_low < 0), text


def test_an_inconclusive_primary_says_the_data_cannot_tell_and_how_to_firm_it_up(evaluation_dir: Path) -> None:
    frame = series_frame()
    rng = np.random.default_rng(5)
    frame["events"] = rng.poisson(3.0, len(frame))  # few events, no effect: a weak test
    frame.to_csv(evaluation_dir / "data.csv", index=False)
    res = _run(evaluation_dir, ("    family: quasipoisson\n", "    family: quasipoisson\n    plausible_effect: -0.2\n"))
    assert res.primary.verdict == "inconclusive" and res.primary.power < 0.5
    sections = build_sections(res)
    text = sections[0].paragraphs[0]
    assert "the data cannot tell whether the initiative made a difference" in text
    assert f"would be detected only {res.primary.power:.0%} of the time" in text
    assert "The answer would be firmer with" in text
    assert "unlikely" not in text


def test_results_json_records_the_primary_and_its_verdict(evaluation_dir: Path, tmp_path: Path) -> None:
    res = _run(evaluation_dir)
    doc = json.loads(res.to_json())
    assert doc["primary"]["analysis"] == "its-events" and doc["primary"]["verdict"] in (
        "supported", "contradicted", "inconclusive")
    assert doc["analyses"]["its-events"]["baseline"]["period"] == "month"
    assert doc["analyses"]["its-events"]["effect"]["interval_method"] == "wald_normal"
