"""DiD robustness checks: placebo start dates, placebo outcomes, leave-one-unit-out, reading."""

from __future__ import annotations

import numpy as np
import pytest

from preveval.methods.did import fit_did
from preveval.methods.did.robustness import did_robustness, leave_one_out, placebo_dates
from preveval.spec.models import DidAnalysis


def twfe(**kw) -> DidAnalysis:
    base = {"id": "d", "method": "did", "indicator": "y", "design": "twfe", "treatment": "d"}
    return DidAnalysis(**{**base, **kw})


@pytest.fixture
def panel(simulate):
    return simulate(24, 16, seed=8)  # treated from period 9, true ATT 1.5


def test_placebo_dates_use_only_the_pre_period(panel):
    rows = placebo_dates(twfe(), panel, "y", "unit", "period")
    assert [r.label for r in rows] == ["3", "5", "7"]  # 1 + round(share * 8) for 0.25, 0.5, 0.75
    pre = panel[panel["period"] < 9].assign(fake=lambda f: ((f["ft"] == 9) & (f["period"] >= 5)).astype(float))
    ref = fit_did(twfe(treatment="fake", robustness=False), pre, outcome="y", unit="unit", time="period")
    assert rows[1].estimate == pytest.approx(ref.effect.estimate, rel=1e-12)
    assert not any(r.significant for r in rows)  # no effect before the start in this panel


def test_leave_one_out_refits_without_each_unit(panel):
    rows = leave_one_out(twfe(), panel, "y", "unit", "period")
    units = sorted(panel["unit"].astype(str).unique())
    assert [r.label for r in rows] == units
    drop = units[3]
    ref = fit_did(twfe(robustness=False), panel[panel["unit"].astype(str) != drop], outcome="y", unit="unit", time="period")
    assert rows[3].estimate == pytest.approx(ref.effect.estimate, rel=1e-12)


def test_reading_in_percent_on_the_log_scale(panel):
    spec = twfe(family="poisson")
    main = fit_did(spec, panel, outcome="count", unit="unit", time="period")
    rob = did_robustness(spec, main, panel, outcome="count", unit="unit", time="period", placebo_columns={"x": "x1"})
    loo = next(s for s in rob.reading if s.startswith("Leaving out one unit"))
    assert "% lower" in loo or "% higher" in loo
    assert "log-scale estimates" in loo
    lin = did_robustness(twfe(), fit_did(twfe(), panel, outcome="y", unit="unit", time="period"), panel,
                         outcome="y", unit="unit", time="period", placebo_columns={})
    assert "%" not in next(s for s in lin.reading if s.startswith("Leaving out one unit"))
    assert rob.table()["check"].tolist().count("placebo outcome") == 1
    assert np.isfinite(rob.table()["estimate"].dropna()).all()


@pytest.mark.parametrize("inference", ["wild_bootstrap", "randomization"])
def test_robustness_refits_use_the_cluster_robust_se_not_the_resampling_test(inference: str) -> None:
    """Dozens of leave-one-out and placebo re-fits must not each re-run a resampling test (a
    randomization test in every re-fit took minutes): they use CR1, as the pack says."""
    from preveval.methods.did.robustness import _quiet_spec
    from preveval.spec.models import DidAnalysis

    spec = DidAnalysis(id="d", method="did", indicator="y", design="twfe", treatment="d", inference=inference)
    quiet = _quiet_spec(spec, "area")
    assert quiet.inference == "cluster" and quiet.robustness is False
