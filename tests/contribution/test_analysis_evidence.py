"""Evidence derived from an analysis: observed, power as p_if_true, test size as p_if_false."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from contribution.ca_helpers import result
from preveval.contribution.evidence import (
    default_plausible_effect,
    detection_power,
    effect_observed,
    evidence_from_analysis,
)
from preveval.spec.models import EvidenceItem


def ev(**kw):
    return EvidenceItem(id="e", from_analysis="its-ksi", **kw)


def test_power_hand_computed():
    # delta 0.0588 with se 0.03: |delta|/se = 1.96 -> power = Phi(0) = 0.5
    assert detection_power(-0.0588, 0.03) == pytest.approx(0.5, abs=1e-3)
    # |delta|/se = 1.96 + 0.8416 -> power 0.80
    se = 0.05
    delta = (1.959964 + 0.841621) * se
    assert detection_power(delta, se) == pytest.approx(0.80, abs=1e-4)
    with pytest.raises(ValueError):
        detection_power(0.1, 0.0)


@pytest.mark.parametrize(
    ("est", "se", "desired", "observed"),
    [(-0.12, 0.03, "decrease", True),   # CI below zero
     (-0.12, 0.10, "decrease", False),  # CI spans zero
     (0.12, 0.03, "decrease", False),   # wrong direction, significant
     (0.12, 0.03, "increase", True)],
)
def test_observed_rule(est, se, desired, observed):
    assert effect_observed(result("its-ksi", "its", est, se), desired) is observed


def test_defaults_from_power_and_test_size():
    r = result("its-ksi", "its", -0.12, 0.03)
    d = evidence_from_analysis(ev(plausible_effect=-0.10), r, "decrease")
    assert d.observed is True and d.observed_source == "analysis"
    assert d.p_if_false == 0.025 and d.p_if_false_source == "test_size"
    expected = stats.norm.cdf(0.10 / 0.03 - stats.norm.ppf(0.975))
    assert d.p_if_true == pytest.approx(expected) and d.p_if_true_source == "power"
    assert "power" in d.reason


def test_default_plausible_effect_is_ten_percent_on_log_scale():
    assert default_plausible_effect("log", "decrease") == pytest.approx(math.log(0.9))
    assert default_plausible_effect("log", "increase") == pytest.approx(math.log(1.1))
    assert default_plausible_effect("difference", "decrease") is None
    d = evidence_from_analysis(ev(), result("its-ksi", "its", -0.12, 0.05), "decrease")
    assert d.power == pytest.approx(detection_power(math.log(0.9), 0.05))


def test_difference_scale_without_plausible_effect_falls_back_with_warning():
    d = evidence_from_analysis(ev(), result("did-ksi", "did", -1.0, 0.3, "difference"), "decrease")
    assert d.p_if_true == 0.5 and d.p_if_true_source == "fallback"
    assert any("plausible_effect" in w for w in d.warnings)


def test_user_values_win():
    r = result("its-ksi", "its", -0.12, 0.03)
    d = evidence_from_analysis(ev(observed=False, p_if_true=0.7, p_if_false=0.2, plausible_effect=-0.1), r, "decrease")
    assert (d.observed, d.p_if_true, d.p_if_false) == (False, 0.7, 0.2)
    assert (d.observed_source, d.p_if_true_source, d.p_if_false_source) == ("user", "user", "user")


def test_no_confidence_interval_means_unknown():
    from preveval.results import AnalysisResult, Estimate

    r = AnalysisResult("its-ksi", "its", "ksi_young", 10, Estimate("effect", -0.1), "log", None, ())
    d = evidence_from_analysis(ev(), r, "decrease")
    assert d.observed is None and d.p_if_true_source == "fallback"
    assert d.warnings


def test_plausible_effect_against_direction_warns():
    d = evidence_from_analysis(ev(plausible_effect=0.1), result("its-ksi", "its", -0.12, 0.03), "decrease")
    assert any("points away" in w for w in d.warnings)
    assert d.power == pytest.approx(detection_power(0.1, 0.03))
