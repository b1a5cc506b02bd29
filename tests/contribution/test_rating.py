"""Maryland SMS levels from the designs run, and the EMMIE summary."""

from __future__ import annotations

import pytest

from contribution.ca_helpers import default_results, make_spec, result
from preveval.contribution.mayne import assess_links
from preveval.contribution.rating import rate_design, rate_evidence, sms_level
from preveval.results import Diagnostic


@pytest.mark.parametrize(
    ("method", "kw", "level"),
    [("its", {}, 2),
     ("its", {"comparison": "scotland"}, 3),
     ("did", {"design": "two_by_two"}, 3),
     ("did", {"design": "event_study", "n_units": 32,
              "diagnostics": (Diagnostic("pre-trend test", "pass", "joint F"),)}, 3),
     ("rct", {}, 5),
     ("rdd", {}, 4),
     ("before_after", {}, 2),
     ("cross_section", {}, 1),
     ("mystery", {}, None)],
)
def test_sms_levels(method, kw, level):
    assert sms_level(result("a", method, -0.1, 0.05, **kw)).level == level


def test_sms_reasons_and_cautions():
    r = sms_level(result("a", "did", -0.1, 0.05, design="event_study", n_units=32,
                         diagnostics=(Diagnostic("pre-trend test", "pass", "ok"),)))
    assert "stays 3" in r.reason
    r = sms_level(result("a", "did", -0.1, 0.05, design="twfe", n_units=6,
                         diagnostics=(Diagnostic("parallel trends", "fail", "diverging"),)))
    assert r.level == 3 and len(r.cautions) == 2
    assert "without a comparison" in sms_level(result("b", "its", -0.1, 0.05)).reason


def test_rate_design_takes_strongest():
    r = rate_design(list(default_results().values()))
    assert r.level == 3 and "did-ksi" in r.reason and "'its-ksi' level 2" in r.reason
    assert rate_design([]).level is None


def test_emmie_summary():
    spec = make_spec()
    res = default_results()
    rating = rate_evidence(spec, res, links=assess_links(spec.logic_model, []))
    dims = {d.dimension: d for d in rating.emmie}
    assert list(dims) == ["Effect", "Mechanism", "Moderators", "Implementation", "Economic"]
    assert dims["Effect"].status == "covered"
    assert dims["Mechanism"].status == "partly" and "untested" in dims["Mechanism"].missing
    assert dims["Moderators"].status == "partly"
    assert dims["Economic"].status == "partly"  # economics block but no result given
    assert rating.emmie_table().shape == (5, 4)
    no_eco = rate_evidence(make_spec(economics=None), {})
    d2 = {d.dimension: d for d in no_eco.emmie}
    assert d2["Economic"].status == "missing" and d2["Effect"].status == "missing"


def test_comparison_read_from_analysis_spec_and_pretrend_attribute():
    from types import SimpleNamespace

    its = result("its-ksi", "its", -0.1, 0.05)
    assert sms_level(its, SimpleNamespace(comparison=SimpleNamespace(units=("a",)))).level == 3
    did = result("did-ksi", "did", -0.1, 0.05, design="event_study")
    object.__setattr__(did, "pretrend_test", Diagnostic("pre-trends", "fail", "F test"))
    assert any("pre-trend test failed" in c for c in sms_level(did).cautions)
