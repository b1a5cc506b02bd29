"""Verdicts of an analysis (supported / contradicted / inconclusive) and the power of the test shown."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from contribution.ca_helpers import result
from preveval.contribution.evidence import evidence_from_analysis
from preveval.contribution.tracing import update_with
from preveval.contribution.verdict import analysis_verdict, interval_model, verdict_likelihoods
from preveval.results import AnalysisResult, Estimate
from preveval.spec.models import EvidenceItem

Z = stats.norm.ppf(0.975)


def interval(est: float, lo: float, hi: float, method: str = "wild_cluster_score_bootstrap") -> AnalysisResult:
    return AnalysisResult("did", "did", "fires", 720, Estimate("att", est, None, lo, hi, 0.5, 720, method), "log",
                          None, ())


@pytest.mark.parametrize(
    ("est", "lo", "hi", "desired", "plausible", "verdict"),
    [(-0.2, -0.3, -0.1, "decrease", -0.2, "supported"),       # excludes zero, right way
     (-0.05, -0.08, -0.02, "decrease", -0.3, "supported"),    # an effect, smaller than hoped: still supported
     (0.10, -0.05, 0.25, "decrease", -0.2, "contradicted"),   # rules out a 0.2 fall
     (0.3, 0.1, 0.5, "decrease", -0.2, "contradicted"),       # significant the wrong way
     (-0.1, -0.4, 0.2, "decrease", -0.2, "inconclusive"),     # includes both 0 and the plausible effect
     (0.2, 0.1, 0.3, "increase", 0.1, "supported"),
     (0.02, -0.03, 0.07, "increase", 0.2, "contradicted")],
)
def test_verdict_rules(est, lo, hi, desired, plausible, verdict):
    v = analysis_verdict(interval(est, lo, hi), desired, plausible)
    assert v is not None and v.verdict == verdict


def test_power_of_a_normal_wald_interval_is_the_textbook_formula():
    r = result("its", "its", -0.1, 0.05)
    v = analysis_verdict(r, "decrease", math.log(0.8))
    assert v.power == pytest.approx(stats.norm.cdf(abs(math.log(0.8)) / 0.05 - Z), rel=1e-12)


def test_power_comes_from_the_interval_shown_not_another_methods_se():
    """The rural-hub case of the issue: rate ratio 0.89 (0.52 to 1.45) from the bootstrap, while
    the CR1 SE would have given power 0.9999996 for a 20% effect; the interval gives about 0.15."""
    r = interval(math.log(0.89), math.log(0.52), math.log(1.45))
    m = interval_model(r.effect, "decrease")
    assert m.s_no_effect == pytest.approx((math.log(1.45) - math.log(0.89)) / Z)
    d = evidence_from_analysis(EvidenceItem(id="e", from_analysis="did", plausible_effect=math.log(0.8)), r,
                               "decrease")
    assert d.outcome == "inconclusive" and d.p_if_true_source == "power"
    assert 0.10 < d.p_if_true < 0.20


def test_inconclusive_leaves_the_posterior_where_it_was():
    # symmetric interval at the defaults: exactly 1
    r = result("did", "did", -0.1, 0.15)
    lt, lf = verdict_likelihoods(r, "decrease", -0.2, "inconclusive", analysis_verdict(r, "decrease", -0.2).power,
                                 0.025)
    assert lt / lf == pytest.approx(1.0, abs=1e-9)
    # whatever the power and p_if_false, an underpowered inconclusive test barely moves a 0.5 prior
    for se in (0.1, 0.15, 0.25, 0.5):
        for p_false in (0.025, 0.1, 0.2):
            r = result("did", "did", -0.05, se)
            power = analysis_verdict(r, "decrease", -0.2).power
            lt, lf = verdict_likelihoods(r, "decrease", -0.2, "inconclusive", power, p_false)
            assert 0.4 < update_with(0.5, lt, lf) < 0.6, (se, p_false)


def test_contradicted_counts_against_only_when_the_test_had_power():
    strong = result("did", "did", 0.05, 0.03)   # rules out -0.2 with a tight interval
    weak = interval(0.3, 0.01, 0.9, "randomization")
    for r, bound in ((strong, 0.1), (weak, 0.7)):
        v = analysis_verdict(r, "decrease", -0.2)
        assert v.verdict == "contradicted"
        lt, lf = verdict_likelihoods(r, "decrease", -0.2, "contradicted", v.power, 0.025)
        assert lt / lf < bound
    assert analysis_verdict(strong, "decrease", -0.2).power > 0.99


def test_an_unbounded_interval_has_no_power_and_no_weight():
    r = interval(-0.3, -math.inf, math.inf, "randomization")
    v = analysis_verdict(r, "decrease", -0.2)
    assert v.verdict == "inconclusive" and v.power == 0.0
    assert verdict_likelihoods(r, "decrease", -0.2, "inconclusive", 0.0, 0.025) == (1.0, 1.0)


def test_supported_likelihood_ratio_is_power_over_false_positive_rate():
    r = result("did", "did", -0.3, 0.08)
    v = analysis_verdict(r, "decrease", -0.25)
    lt, lf = verdict_likelihoods(r, "decrease", -0.25, "supported", v.power, 0.1)
    assert lt == pytest.approx(v.power, rel=1e-9) and lf == pytest.approx(0.1, rel=1e-9)
