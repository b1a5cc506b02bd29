"""Leave-one-out and influence diagnostics agree with refits and with their definitions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from preveval.errors import EstimationError
from preveval.pooling import meta_regression, pool


@pytest.fixture
def studies(simulate):
    return simulate(np.random.default_rng(21), 8, mu=-0.3, tau2=0.1)


@pytest.mark.parametrize("method", ["REML", "DL", "PM", "FE"])
@pytest.mark.parametrize("kh", [False, True])
def test_leave_one_out_equals_refits(studies, method, kh):
    y, se = studies
    labels = [f"s{i}" for i in range(len(y))]
    loo = pool(y, se, method=method, knapp_hartung=kh, labels=labels).leave_one_out()
    assert loo.omitted == tuple(labels)
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        r = pool(y[keep], se[keep], method=method, knapp_hartung=kh)
        got = (loo.estimate[i], loo.std_error[i], loo.ci_low[i], loo.ci_high[i], loo.p_value[i],
               loo.tau2[i], loo.i2[i], loo.q[i])
        assert got == pytest.approx((r.estimate, r.std_error, r.ci_low, r.ci_high, r.p_value, r.tau2, r.i2, r.q),
                                    rel=1e-10, abs=1e-14)


def test_leave_one_out_views_on_the_log_scale(bcg):
    loo = pool(bcg["yi"], bcg["sei"], labels=bcg["label"], scale="log").leave_one_out()
    t = loo.tidy()
    assert len(t) == 13 and list(t["omitted"]) == list(bcg["label"])
    assert t["ratio"].to_numpy() == pytest.approx(np.exp(t["estimate"].to_numpy()))
    json.dumps(loo.to_dict(), allow_nan=False)


def test_influence_by_its_definitions(studies):
    y, se = studies
    r = pool(y, se)
    inf = r.influence()
    v = se**2
    w = 1 / (v + r.tau2)
    assert inf.hat == pytest.approx(tuple(w / w.sum()), rel=1e-12)  # no moderators: hat = weight share
    assert inf.weight == pytest.approx(r.weights, rel=1e-12)
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        d = pool(y[keep], se[keep])
        assert inf.tau2_del[i] == pytest.approx(d.tau2, rel=1e-10, abs=1e-14)
        assert inf.qe_del[i] == pytest.approx(d.q, rel=1e-10)
        resid = y[i] - d.estimate
        assert inf.rstudent[i] == pytest.approx(resid / np.sqrt(v[i] + d.tau2 + d.std_error**2), rel=1e-9)
        assert inf.cook_d[i] == pytest.approx((r.estimate - d.estimate) ** 2 / r.std_error**2, rel=1e-9)
        assert inf.cov_r[i] == pytest.approx(d.std_error**2 / r.std_error**2, rel=1e-9)
    t = inf.tidy()
    assert list(t.columns)[:2] == ["study", "rstudent"] and "dfbetas_estimate" in t and "influential" in t
    json.dumps(inf.to_dict(), allow_nan=False)


def test_meta_regression_influence_handles_an_inestimable_deletion(simulate):
    rng = np.random.default_rng(4)
    y, se = simulate(rng, 8, mu=0.0, tau2=0.05)
    mods = {"x": rng.normal(size=8), "only_one": [0, 0, 0, 1, 0, 0, 0, 0]}
    inf = meta_regression(y, se, mods).influence()
    assert np.isnan(inf.rstudent[3]) and not np.isnan(inf.rstudent[2])  # without study 4 the dummy is all 0
    assert json.loads(json.dumps(inf.to_dict(), allow_nan=False))["cook_d"][3] is None


def test_too_few_studies_for_leave_one_out():
    with pytest.raises(EstimationError, match="at least 3 studies"):
        pool([0.1, 0.5], [0.1, 0.2]).leave_one_out()
    with pytest.raises(EstimationError, match="at least 3 studies"):
        pool([0.1, 0.5], [0.1, 0.2]).influence()
