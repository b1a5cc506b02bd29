"""Economics checked by hand."""

from __future__ import annotations

import pytest

from contribution.ca_helpers import default_results, make_spec, result
from preveval.contribution.economics import (
    PreventedEvents,
    annuity_factor,
    assess_economics,
    evaluate_economics,
    format_money,
)
from preveval.spec.models import Economics

# Undiscounted (discount_rate 0) so the plain sums can be checked by hand; discounting is
# checked separately below.
ECO = Economics.model_validate({
    "price_year": 2023,
    "discount_rate": 0,
    "costs": [
        {"item": "Officer time", "partner": "Police", "amount": 20000},
        {"item": "Airfield", "partner": "Fire", "amount": 5000, "in_kind": True},
        {"item": "Set-up", "partner": "Fire", "amount": 10000, "per": "total"},
    ],
    "unit_values": [{"indicator": "ksi", "value": 200000}, {"indicator": "ksi", "value": 50000},
                    {"indicator": "other", "value": 1}],
})


def test_by_hand():
    # cost = 25,000 x 4 + 10,000 = 110,000; value = 250,000; prevented 12 (4 to 20)
    r = evaluate_economics(ECO, PreventedEvents(12, 4, 20, years=4), indicator="ksi",
                           unit_label="serious casualties", expected_events=100)
    assert r.total_cost == 110000 and r.cash_total == 90000 and r.in_kind_total == 20000
    assert r.unit_value == 250000
    assert (r.benefit.estimate, r.benefit.ci_low, r.benefit.ci_high) == (3e6, 1e6, 5e6)
    assert r.bcr.estimate == pytest.approx(3e6 / 110000)
    assert (r.bcr.ci_low, r.bcr.ci_high) == pytest.approx((1e6 / 110000, 5e6 / 110000))
    assert (r.net_benefit.estimate, r.net_benefit.ci_low) == (2890000, 890000)
    assert r.cost_per_prevented.estimate == pytest.approx(110000 / 12)
    assert (r.cost_per_prevented.ci_low, r.cost_per_prevented.ci_high) == pytest.approx((5500, 27500))
    assert r.break_even_events == pytest.approx(0.44)
    assert r.break_even_pct == pytest.approx(0.44)
    parts = {p.partner: p for p in r.partners}
    assert parts["Police"].total == 80000 and parts["Fire"].total == 30000
    assert parts["Fire"].in_kind_per_year == 5000 and parts["Fire"].cash_one_off == 10000
    assert "2023 prices" in r.price_base
    assert "about £9,170 per serious casualty prevented" in r.summary
    assert "switching value" in r.summary and "worth at least that much" in r.summary
    assert r.cost_table().shape == (2, 6)
    assert "benefit-cost ratio" in r.summary_table()["quantity"].tolist()


def test_interval_reaching_zero_has_no_upper_cost_limit():
    r = evaluate_economics(ECO, PreventedEvents(5, -2, 12, years=2), indicator="ksi")
    assert r.cost_per_prevented.ci_high is None
    assert r.cost_per_prevented.ci_low == pytest.approx(60000 / 12)
    assert r.bcr.ci_low == pytest.approx(-2 * 250000 / 60000)
    assert any("no upper limit" in n for n in r.notes)


def test_without_prevented_events():
    r = evaluate_economics(ECO, None, indicator="ksi")
    assert r.total_cost is None and r.bcr is None
    assert "not available" in r.summary
    assert any("economics.years" in n for n in r.notes)


def test_format_money():
    assert format_money(9166.67) == "£9,170"
    assert format_money(123456) == "£123,000"
    assert format_money(2.5) == "£2.50"
    assert format_money(1500, "NOK") == "1,500 NOK"


def test_assess_economics_from_results():
    spec = make_spec()
    r = assess_economics(spec, default_results())
    assert r.analysis == "its-ksi" and r.total_cost == 110000
    assert r.bcr.estimate == pytest.approx(3e6 / 110000)
    assert r.to_dict()["bcr"]["estimate"] == pytest.approx(27.2727, rel=1e-4)
    # results without 'prevented': graceful note
    plain = {"its-ksi": result("its-ksi", "its", -0.1, 0.03)}
    r2 = assess_economics(spec, plain)
    assert r2.bcr is None and "not available" in r2.summary
    assert assess_economics(make_spec(economics=None), plain) is None


def test_prevented_from_record_variants():
    p = PreventedEvents.from_record({"total": 10, "ci_low": 2, "ci_high": 18, "years": [2016, 2017],
                                     "per_year": [4, 6]})
    assert p.years == 2 and p.per_year == 5

    class Rec:
        total, ci_low, ci_high, years = 3.0, 1.0, 5.0, 1.5

    assert PreventedEvents.from_record(Rec()).years == 1.5


def test_summary_hedges_when_interval_includes_no_effect():
    r = evaluate_economics(ECO, PreventedEvents(5, -2, 12, years=2), indicator="ksi", expected_events=3905)
    assert "includes no reduction" in r.summary
    assert "value for money is not established" in r.summary
    # break-even 60,000 / 250,000 = 0.24 events = 0.0061% of 3,905
    assert "0.0061% of the 3,905" in r.summary


# ------------------------------------------------------------------------------ discounting


def test_annuity_factor_by_hand_and_closed_form():
    assert annuity_factor(4, 0.0) == 4
    # fractional last year: 1 + 1/1.1 + 0.5/1.1^2
    assert annuity_factor(2.5, 0.1) == pytest.approx(1 + 1 / 1.1 + 0.5 / 1.21, rel=1e-12)
    # whole years: the annuity-due formula (1 - v^Y) / (1 - v), v = 1 / (1 + r)
    for years, r in ((4, 0.035), (10, 0.035), (7, 0.015)):
        v = 1 / (1 + r)
        assert annuity_factor(years, r) == pytest.approx((1 - v**years) / (1 - v), rel=1e-12)


def test_discounted_by_hand():
    # Green Book 3.5%: A = 1 + 1/1.035 + 1/1.035^2 + 1/1.035^3 = 3.8016370 (4 years)
    eco = ECO.model_copy(update={"discount_rate": 0.035})
    a = 1 + 1 / 1.035 + 1 / 1.035**2 + 1 / 1.035**3
    f = a / 4
    r = evaluate_economics(eco, PreventedEvents(12, 4, 20, years=4), indicator="ksi",
                           unit_label="serious casualties", expected_events=100)
    pv_cost = 25000 * a + 10000                       # one-off set-up paid in year 0
    assert r.total_cost == pytest.approx(pv_cost) and r.total_cost == pytest.approx(105040.92, abs=0.01)
    assert r.total_cost_undiscounted == 110000
    assert r.discount_factor == pytest.approx(f)
    assert r.benefit.estimate == pytest.approx(12 * 250000 * f)
    assert (r.benefit.ci_low, r.benefit.ci_high) == pytest.approx((4 * 250000 * f, 20 * 250000 * f))
    assert r.bcr.estimate == pytest.approx(12 * 250000 * f / pv_cost)
    assert r.bcr.estimate == pytest.approx(27.144, abs=1e-3)
    # events discounted too: cost per prevented event equals the unit value at break-even
    assert r.cost_per_prevented.estimate == pytest.approx(pv_cost / (12 * f))
    assert r.break_even_events == pytest.approx(pv_cost / (250000 * f))
    be = evaluate_economics(eco, PreventedEvents(r.break_even_events, None, None, years=4), indicator="ksi")
    assert be.cost_per_prevented.estimate == pytest.approx(250000)
    assert be.bcr.estimate == pytest.approx(1.0)
    parts = {p.partner: p for p in r.partners}
    assert parts["Police"].total == pytest.approx(20000 * a)
    assert parts["Fire"].total == pytest.approx(5000 * a + 10000)
    assert "discounted at 3.5% a year" in r.price_base
    assert "£110,000 over 4 years" in r.summary and "£105,000 in present value" in r.summary


def test_discount_rate_default_is_green_book():
    assert Economics.model_validate({"price_year": 2023}).discount_rate == 0.035


def test_discounting_without_period_length_values_events_undiscounted():
    eco = Economics.model_validate({"price_year": 2023, "costs": [{"item": "x", "amount": 100, "per": "total"}],
                                    "unit_values": [{"indicator": "ksi", "value": 10}]})
    r = evaluate_economics(eco, PreventedEvents(30, None, None), indicator="ksi")
    assert r.total_cost == 100 and r.benefit.estimate == 300
    assert any("without discounting" in n for n in r.notes)
