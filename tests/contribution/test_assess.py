"""assess_contribution end to end on the road-safety example."""

from __future__ import annotations

import json

import pytest

from contribution.ca_helpers import default_results, make_spec
from preveval.contribution import assess_contribution


def test_design_example_shape_and_numbers():
    spec = make_spec()
    res = assess_contribution(spec, default_results())
    # did-effect not found (CI spans 0): LR 0.2/0.7; pupils-recall found: 1.8 -> odds 0.514..
    odds = (0.2 / 0.7) * 1.8
    assert res.posterior == pytest.approx(odds / (1 + odds))
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    for k in ("prior", "posterior", "evidence", "rival_explanations", "steps", "links", "rating", "label"):
        assert k in d
    assert 0 <= d["posterior"] <= 1
    ev = {e["id"]: e for e in d["evidence"]}
    assert ev["did-effect"]["observed"] is False and ev["did-effect"]["observed_source"] == "analysis"
    assert ev["did-effect"]["links"] == ["ksi"]  # from the indicator's outcome
    assert d["rival_explanations"][0]["status"] == "not_ruled_out"
    assert d["rating"]["sms"]["level"] == 3
    assert res.link_status()["ksi"] == "contradicted"
    assert res.link_status()["aware"] == "supported"
    assert res.sentence.startswith("The evidence makes it about as likely as not (posterior 0.34) that the road")


def test_missing_analysis_result_and_no_contribution_block():
    spec = make_spec()
    res = assess_contribution(spec, {"its-ksi": None})
    assert any("has no result" in w for w in res.warnings)
    assert res.evidence[0].observed is None
    spec2 = make_spec(contribution=None)
    r2 = assess_contribution(spec2, default_results())
    assert r2.posterior == 0.5 and r2.claim.startswith("Pre-driver road safety day contributed to fewer")
    assert r2.warnings
