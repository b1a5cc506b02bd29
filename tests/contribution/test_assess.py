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
    # the DiD's interval spans zero: inconclusive, not evidence against the link
    assert res.link_status()["ksi"] == "inconclusive" and ev["did-effect"]["result"] == "inconclusive"
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


def test_default_test_size_with_open_rivals_is_flagged():
    import copy

    from contribution.ca_helpers import SPEC

    contribution = copy.deepcopy(SPEC["contribution"])
    contribution["evidence"][0] = {"id": "did-effect", "from_analysis": "did-ksi", "p_if_true": 0.8}
    res = assess_contribution(make_spec(contribution=contribution), default_results())
    flagged = [w for w in res.warnings if "uses the test's size (0.025)" in w]
    assert len(flagged) == 1 and "'did-effect'" in flagged[0] and "'road-engineering'" in flagged[0]
    # a reasoned p_if_false, or every rival ruled out, removes the warning
    assert not any("test's size" in w for w in assess_contribution(make_spec(), default_results()).warnings)
    contribution["rival_explanations"][0]["status"] = "ruled_out"
    res2 = assess_contribution(make_spec(contribution=contribution), default_results())
    assert not any("test's size" in w for w in res2.warnings)
