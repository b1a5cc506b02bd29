"""Rambachan & Roth (2023) sensitivity analysis against R HonestDiD's documented Medicaid example.

Reference: tests/reference/ehec/SOURCE.md (the HonestDiD README: C-LF intervals under
relative magnitudes and FLCIs under smoothness, printed to 3 significant digits). The event
study is re-estimated with pyfixest ``feols`` (CRV1 by state), as the README does with fixest.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from preveval.methods.did.honest import (
    _folded_normal_quantile,
    _gamma,
    honest_breakdown,
    honest_flci,
    honest_relative_magnitude,
    honest_sensitivity,
)
from preveval.methods.did.honest_arp import _eta_lp, _eta_one_nuisance
from support import ROOT

EHEC = ROOT / "tests" / "reference" / "ehec" / "ehec_data.csv"
RM_README = {0.5: (0.0241, 0.0673), 1.0: (0.0171, 0.0720), 1.5: (0.00859, 0.0796), 2.0: (-0.00107, 0.0883)}
SD_README = {0.0: (0.0259, 0.0607), 0.01: (0.0132, 0.0787), 0.02: (0.00286, 0.0907),
             0.03: (-0.00714, 0.101), 0.04: (-0.0171, 0.111), 0.05: (-0.0271, 0.121)}


def printed(v: float) -> float:
    """Half a unit of the last of 3 significant digits, as the README prints them."""
    return 0.5 * 10 ** (np.floor(np.log10(abs(v))) - 2)


@pytest.fixture(scope="module")
def medicaid() -> tuple[np.ndarray, np.ndarray, object]:
    import pyfixest as pf

    df = pd.read_csv(EHEC)
    d = df[(df["year"] < 2016) & (df["yexp2"].isna() | (df["yexp2"] != 2015))].copy()
    d["D"] = (d["yexp2"] == 2014).astype(float)
    names = []
    for y in sorted(d["year"].unique()):
        if y != 2013:
            d[f"y{y}"] = ((d["year"] == y) & (d["D"] == 1)).astype(float)
            names.append(f"y{y}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols(f"dins ~ {' + '.join(names)} | stfips + year", data=d, vcov={"CRV1": "stfips"})
    return m.coef().to_numpy(), np.asarray(m._vcov), m


@pytest.fixture(scope="module")
def rm_results(medicaid):
    b, V, _ = medicaid
    return honest_sensitivity(b, V, 5, sorted(RM_README), restriction="relative_magnitude")


@pytest.mark.reference
def test_smoothness_flci_matches_honestdid_readme(medicaid):
    b, V, _ = medicaid
    res = honest_sensitivity(b, V, 5, sorted(SD_README), restriction="smoothness")
    for row in res.rows:
        lb, ub = SD_README[row.m]
        assert row.method == "FLCI"
        assert row.ci_low == pytest.approx(lb, abs=4e-5 + printed(lb))
        assert row.ci_high == pytest.approx(ub, abs=4e-5 + printed(ub))
    assert res.breakdown == 0.02


@pytest.mark.reference
def test_relative_magnitudes_clf_matches_honestdid_readme(medicaid, rm_results):
    b, V, _ = medicaid
    step = 40 * np.sqrt(V[5, 5]) / 999
    for row in rm_results.rows:
        lb, ub = RM_README[row.m]
        assert row.method == "C-LF"
        assert abs(row.ci_low - lb) <= step + printed(lb)
        assert abs(row.ci_high - ub) <= step + printed(ub)
    assert rm_results.breakdown == 1.5 and "up to 1.5" in rm_results.breakdown_note
    # the original interval is the event-study coefficient's normal 95% interval
    se = np.sqrt(V[5, 5])
    assert rm_results.original == pytest.approx((b[5] - 1.959963985 * se, b[5] + 1.959963985 * se), rel=1e-9)
    assert rm_results.estimate == b[5]


@pytest.mark.slow
@pytest.mark.reference
def test_relative_magnitude_breakdown_by_bisection(medicaid):
    b, V, _ = medicaid
    rm = honest_breakdown(b, V, 5, restriction="relative_magnitude", upper=2.5, tol=0.05, sims=2000)
    assert 1.5 <= rm < 2.0
    assert honest_relative_magnitude(b, V, 5, rm, sims=2000)[0] > 0


@pytest.mark.reference
def test_smoothness_breakdown_by_bisection(medicaid):
    b, V, _ = medicaid
    sd = honest_breakdown(b, V, 5, restriction="smoothness", upper=0.05, tol=1e-4)
    assert 0.02 <= sd < 0.03
    lo, _ = honest_flci(b, V, 5, sd + 2e-4)
    assert lo <= 0 < honest_flci(b, V, 5, sd)[0]


def test_average_target_and_nesting(medicaid):
    b, V, _ = medicaid
    avg = honest_sensitivity(b, V, 5, [0.0, 0.02], restriction="smoothness", l_vec=[0.5, 0.5])
    assert avg.estimate == pytest.approx(b[5:].mean()) and avg.target == (0.5, 0.5)
    a, c = avg.rows
    assert c.ci_low < a.ci_low and c.ci_high > a.ci_high  # larger M, wider interval
    lo0, hi0 = honest_relative_magnitude(b, V, 5, 0.5, sims=2000)
    lo1, hi1 = honest_relative_magnitude(b, V, 5, 1.0, sims=2000)
    assert lo1 <= lo0 and hi1 >= hi0
    with pytest.raises(ValueError, match="l_vec"):
        honest_flci(b, V, 5, 0.0, l_vec=[1.0])
    with pytest.raises(ValueError, match="restriction"):
        honest_sensitivity(b, V, 5, [0.0], restriction="linear")


def test_numerical_pieces():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 1))
    sd = np.abs(rng.normal(size=6)) + 0.5
    xi = rng.normal(size=(40, 6))
    exact = _eta_one_nuisance(xi / sd, X[:, 0] / sd)
    lp = np.array([_eta_lp(x, X, sd)[0] for x in xi])
    np.testing.assert_allclose(exact, lp, atol=1e-9)
    draws = np.abs(rng.normal(size=400_000) + 1.3)
    assert _folded_normal_quantile(0.95, 1.3) == pytest.approx(np.quantile(draws, 0.95), abs=0.01)
    assert _folded_normal_quantile(0.95, 0.0) == pytest.approx(1.959963985, abs=1e-8)
    G = _gamma(np.array([0.5, 0.5]))
    assert np.allclose(G[0], [0.5, 0.5]) and abs(np.linalg.det(G)) > 0


def test_dual_vertices_give_the_linear_programme_optimum() -> None:
    """The least-favourable critical value's eta from the enumerated dual vertices equals HiGHS's LP, draw by draw."""
    from preveval.methods.did.honest_arp import _eta_lp, dual_vertices

    rng = np.random.default_rng(20240611)
    for m, k in [(4, 2), (6, 2), (10, 3), (14, 5)]:
        X = rng.normal(size=(m, k))
        sd = rng.uniform(0.5, 2.0, size=m)
        V = dual_vertices(X, sd)
        assert V is not None and V.shape[1] == m
        assert np.all(V >= 0) and np.allclose(V @ sd, 1.0) and np.allclose(V @ X, 0.0, atol=1e-9)
        for _ in range(25):
            y = rng.normal(size=m) * 3
            lp = _eta_lp(y, X, sd)
            if lp is None:  # unbounded primal: the dual polytope is empty
                assert V.shape[0] == 0
            else:
                assert float(np.max(V @ y)) == pytest.approx(lp[0], abs=1e-8)
    assert dual_vertices(rng.normal(size=(40, 12)), np.ones(40), max_bases=1000) is None  # too many bases: LP per draw


def test_truncated_normal_quantile_matches_scipy() -> None:
    from scipy import stats

    from preveval.methods.did.honest_arp import _truncnorm_quantile

    rng = np.random.default_rng(0)
    for _ in range(500):
        lo = float(rng.normal() * 6)
        hi = lo + abs(float(rng.normal()) * 4) + 1e-3
        hi = np.inf if rng.random() < 0.1 else hi
        lo = -np.inf if rng.random() < 0.1 else lo
        p = float(rng.choice([0.05, 0.5, 0.95, 0.9947, 0.999]))
        ref = float(stats.truncnorm.ppf(p, lo, hi))
        assert abs(_truncnorm_quantile(p, lo, hi) - ref) <= 1e-12 * max(1.0, abs(ref)), (p, lo, hi)
