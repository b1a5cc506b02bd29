"""Bayesian updating, evidence types, confidence words and prior sensitivity.

Hand-computed examples (exact fractions worked on paper), the published worked examples
of Bayesian process tracing in Humphreys & Jacobs (2023), the framework that contribution
tracing (Befani & Stedman-Bryce 2017) applies to evaluation, and one textbook example of
Bayes' rule.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from preveval.contribution.tracing import (
    TracedItem,
    TypeThresholds,
    classify_evidence,
    confidence_label,
    format_probability,
    likelihood_ratio,
    trace_contribution,
    update,
)


def item(i, obs, pt, pf, **kw):
    return TracedItem(f"e{i}", obs, pt, pf, **kw)


# ------------------------------------------------------------------ hand-computed examples


def test_observed_item_hand_computed():
    # prior 0.5, S = 0.8, alpha = 0.3, found: 0.4 / (0.4 + 0.15) = 8/11
    assert update(0.5, 0.8, 0.3, True) == pytest.approx(8 / 11)


def test_missing_item_hand_computed():
    # not found: 0.5*0.2 / (0.5*0.2 + 0.5*0.7) = 2/9
    assert update(0.5, 0.8, 0.3, False) == pytest.approx(2 / 9)


def test_design_example_sequence_hand_computed():
    # DESIGN.md example with both items found: odds 1 -> 8/3 -> 8/3 * 9/5 = 24/5; p = 24/29
    r = trace_contribution(0.5, [item(1, True, 0.8, 0.3), item(2, True, 0.9, 0.5)])
    assert [s.posterior for s in r.steps] == pytest.approx([8 / 11, 24 / 29])
    assert r.posterior == pytest.approx(24 / 29)
    assert r.bayes_factor == pytest.approx(24 / 5)
    assert [s.likelihood_ratio for s in r.steps] == pytest.approx([8 / 3, 1.8])
    assert r.label == "likely"


def test_hoop_failed_then_smoking_gun_hand_computed():
    # prior 0.3 (odds 3/7); hoop missed: LR (1-0.95)/(1-0.6) = 1/8; smoking gun found: 0.4/0.02 = 20
    # odds 3/7 * 1/8 * 20 = 15/14 -> p = 15/29
    r = trace_contribution(0.3, [item(1, False, 0.95, 0.6), item(2, True, 0.4, 0.02)])
    assert r.steps[0].posterior == pytest.approx((3 / 56) / (1 + 3 / 56))
    assert r.posterior == pytest.approx(15 / 29)
    assert [s.type for s in r.steps] == ["hoop", "smoking_gun"]


# ------------------------------------------------------- published worked examples
# Humphreys, M. and Jacobs, A. M. (2023) *Integrated Inferences: Causal Models for Qualitative
# and Mixed-Method Research*, Cambridge University Press, chapter 5 "Bayesian Answers"
# (open access; the book's source is public at github.com/integrated-inferences/book,
# 05-being-bayesian.qmd). Their clue probabilities phi_b = Pr(K=1 | X caused Y) and
# phi_d = Pr(K=1 | it did not) are our p_if_true and p_if_false.


@pytest.mark.reference
def test_humphreys_jacobs_hoop_test_worked_example():
    # Section 5.2.1, "Process Tracing with a Model": a case with X = Y = 1 in the chain
    # X -> K -> Y. Prior that X caused Y = 1/3; phi_b = 1, phi_d = 0.5. Published: finding
    # the clue moves the belief "from a prior of 1/3 to a posterior of 1/2"; had it not been
    # found, "our posterior would have been 0". The book calls this a hoop test.
    found = trace_contribution(1 / 3, [item(1, True, 1.0, 0.5)])
    assert found.posterior == pytest.approx(0.5, rel=1e-12)
    missed = trace_contribution(1 / 3, [item(1, False, 1.0, 0.5)])
    assert missed.posterior == 0.0
    assert found.steps[0].type == "hoop"


@pytest.mark.reference
def test_humphreys_jacobs_failed_hoop_from_074():
    # Section 5.3.1 "Priors Matter", Figure 5.3 (hoop: phi_d = 0.6, phi_b = 0.95): when the
    # clue is not found, learning is greatest near a prior of 0.74, where "beliefs change
    # from 0.74 to 0.26" (published to two decimals).
    r = trace_contribution(0.74, [item(1, False, 0.95, 0.6)])
    assert round(r.posterior, 2) == 0.26


@pytest.mark.reference
@pytest.mark.parametrize(
    ("phi_b", "phi_d", "kind"),
    # Figure 5.3's four panels, labelled by the test each approximates.
    [(0.6, 0.4, "straw_in_the_wind"), (0.95, 0.6, "hoop"), (0.4, 0.05, "smoking_gun"),
     (0.95, 0.05, "doubly_decisive")],
)
def test_humphreys_jacobs_test_types(phi_b, phi_d, kind):
    assert classify_evidence(phi_b, phi_d) == kind


@pytest.mark.reference
def test_humphreys_jacobs_probative_values():
    # Section 5.1.5 "Learning": probative value log10(phi_1 / phi_0) of a found clue and
    # log10((1 - phi_0) / (1 - phi_1)) of a missing one; phi_1 = 0.999, phi_0 = 0.333 gives
    # 2.82 when the clue is missing (published "log(.667/.001) = 2.82"), and the Figure 5.3
    # smoking gun (0.4, 0.05) found has probative value 0.9 (published round(log10(8), 2)).
    missing = likelihood_ratio(0.999, 0.333, False)
    assert round(math.log10(1 / missing), 2) == 2.82
    assert round(math.log10(likelihood_ratio(0.4, 0.05, True)), 2) == 0.9


@pytest.mark.reference
def test_bayes_rule_mammography_problem():
    # Eddy (1982); Gigerenzer & Hoffrage (1995) Psychological Review 102(4): 684-704:
    # prevalence 1%, sensitivity 80%, false-positive rate 9.6% -> P(cancer | positive) = 7.8%
    assert update(0.01, 0.8, 0.096, True) == pytest.approx(0.0776, abs=5e-4)


def test_table_columns_and_rows():
    r = trace_contribution(0.5, [item(1, True, 0.8, 0.3), item(2, False, 0.9, 0.5)])
    t = r.table()
    assert list(t.columns) == ["item", "type", "observed", "result", "counted", "p_if_true", "p_if_false",
                               "likelihood_ratio", "posterior"]
    assert t["observed"].tolist() == ["yes", "no"] and t["result"].tolist() == ["found", "not found"]
    assert t["type"].tolist() == ["hoop test", "hoop test"]


def test_unknown_observation_leaves_posterior_unchanged():
    r = trace_contribution(0.4, [item(1, None, 0.9, 0.1), item(2, True, 0.9, 0.1)])
    assert r.steps[0].posterior == 0.4 and r.steps[0].likelihood_ratio is None
    assert r.posterior == pytest.approx(update(0.4, 0.9, 0.1, True))


def test_certain_evidence_and_impossible_result():
    r = trace_contribution(0.5, [item(1, True, 0.5, 0.0)])
    assert r.posterior == 1.0 and r.bayes_factor == math.inf
    r = trace_contribution(0.5, [item(1, True, 0.0, 0.0)])
    assert r.posterior == 0.5 and r.warnings and r.bayes_factor is None
    r = trace_contribution(0.5, [item(1, True, 0.5, 0.0), item(2, True, 0.0, 0.5)])
    assert any("contradictory" in w for w in r.warnings)


def test_bad_probability_rejected():
    with pytest.raises(ValueError):
        trace_contribution(1.2, [])
    with pytest.raises(ValueError):
        trace_contribution(0.5, [item(1, True, 1.5, 0.1)])


# ------------------------------------------------------------------------ types and words


@pytest.mark.parametrize(
    ("pt", "pf", "kind"),
    [(0.9, 0.5, "hoop"), (0.3, 0.05, "smoking_gun"), (0.9, 0.05, "doubly_decisive"),
     (0.6, 0.4, "straw_in_the_wind"), (0.8, 0.2, "doubly_decisive"), (0.79, 0.21, "straw_in_the_wind")],
)
def test_classify(pt, pf, kind):
    assert classify_evidence(pt, pf) == kind


def test_classify_custom_thresholds():
    assert classify_evidence(0.85, 0.15, TypeThresholds(0.9, 0.1)) == "straw_in_the_wind"


@pytest.mark.parametrize(
    ("p", "label"),
    [(0.0, "exceptionally unlikely"), (0.03, "extremely unlikely"), (0.07, "very unlikely"),
     (0.2, "unlikely"), (0.5, "about as likely as not"), (0.7, "likely"), (0.93, "very likely"),
     (0.96, "extremely likely"), (0.995, "virtually certain"), (1.0, "virtually certain")],
)
def test_confidence_label(p, label):
    assert confidence_label(p) == label


def test_format_probability():
    assert format_probability(0.934) == "0.93"
    assert format_probability(0.996) == "0.996"
    assert format_probability(0.99999) == "> 0.999"


def test_prior_sensitivity_grid():
    items = [item(1, True, 0.8, 0.3)]
    r = trace_contribution(0.5, items)
    assert [s.prior for s in r.prior_sensitivity] == pytest.approx([0.1 * k for k in range(1, 10)])
    # odds(prior) * 8/3
    for s in r.prior_sensitivity:
        odds = s.prior / (1 - s.prior) * 8 / 3
        assert s.posterior == pytest.approx(odds / (1 + odds))
    assert r.sensitivity_table().shape == (9, 3)


# ----------------------------------------------------------------------------- properties

prob = st.floats(0.0, 1.0, allow_nan=False)
inner = st.floats(0.01, 0.99, allow_nan=False)
items_st = st.lists(st.tuples(st.booleans(), inner, inner), min_size=0, max_size=8)


@settings(deadline=None, max_examples=200)
@given(prob, st.lists(st.tuples(st.booleans(), prob, prob), max_size=8))
def test_posterior_is_probability(prior, raw):
    r = trace_contribution(prior, [item(i, *t) for i, t in enumerate(raw)])
    assert 0.0 <= r.posterior <= 1.0
    assert all(0.0 <= s.posterior <= 1.0 for s in r.steps)


@settings(deadline=None, max_examples=200)
@given(inner, items_st, st.randoms(use_true_random=False))
def test_order_does_not_change_final_posterior(prior, raw, rnd):
    its = [item(i, *t) for i, t in enumerate(raw)]
    shuffled = list(its)
    rnd.shuffle(shuffled)
    a = trace_contribution(prior, its).posterior
    b = trace_contribution(prior, shuffled).posterior
    assert a == pytest.approx(b, abs=1e-9)


@settings(deadline=None, max_examples=200)
@given(prior=st.floats(0.01, 0.99), observed=st.booleans(),
       dd=st.tuples(st.floats(0.8, 1.0), st.floats(0.0, 0.2)),
       sw=st.tuples(st.floats(0.01, 0.79), st.floats(0.21, 0.99)))
def test_doubly_decisive_moves_further_than_straw(prior, observed, dd, sw):
    assert classify_evidence(*dd) == "doubly_decisive"
    assert classify_evidence(*sw) == "straw_in_the_wind"
    p_dd = update(prior, *dd, observed)
    p_sw = update(prior, *sw, observed)
    # compare only when both move the same way
    dir_dd = math.copysign(1, p_dd - prior) if p_dd != prior else 0
    dir_sw = math.copysign(1, p_sw - prior) if p_sw != prior else 0
    assume(dir_dd != 0 and dir_dd == dir_sw)
    assert abs(p_dd - prior) >= abs(p_sw - prior) - 1e-12


@settings(deadline=None, max_examples=200)
@given(st.floats(0.01, 0.99), st.floats(0.01, 0.99), st.booleans())
def test_likelihood_ratio_matches_odds_update(pt, pf, obs):
    prior = 0.37
    post = update(prior, pt, pf, obs)
    assert post / (1 - post) == pytest.approx(prior / (1 - prior) * likelihood_ratio(pt, pf, obs), rel=1e-9)
