"""Tests of the wild cluster restricted bootstrap.

Reference tests run the ``wildboottest`` package (0.3.2) and pyfixest's
``Feols.wildboottest`` (0.60) on the same seeded data. Both draw their weights from
``numpy.random.default_rng(seed)`` in the same layout as preveval, so with a shared seed the
bootstrap distributions coincide draw for draw; only the treatment of exact ties
(:math:`|t^*| = |t|`, which occur for the sign vectors :math:`v = \\pm 1`) is left to
floating-point rounding in those packages (their p-value counts :math:`|t^*| > |t|`), while
preveval counts ties as reaching :math:`|t|`; so the packages' bootstrap statistics are
compared with ties counted, and their own p-values within the number of ties.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from preveval.errors import DataError, EstimationError
from preveval.inference import wild_common as wc
from preveval.inference.wild_bootstrap import WildBootstrapResult, wild_cluster_bootstrap

TIE_RTOL = 1e-9


def simulate(
    n_clusters: int,
    seed: int,
    *,
    sizes: tuple[int, int] | np.ndarray = (5, 40),
    beta: float = 0.0,
    k: int = 3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded clustered regression: intercept, tested regressor (column 1), k-2 controls.

    The tested regressor and the error both have a cluster component, the case in which
    cluster-robust inference matters. ``sizes`` is a (low, high) range for random cluster
    sizes or an explicit array of sizes.
    """
    rng = np.random.default_rng(seed)
    if isinstance(sizes, tuple):
        sizes = rng.integers(sizes[0], sizes[1], size=n_clusters)
    g = np.repeat(np.arange(n_clusters), sizes)
    n = g.size
    regressors = rng.normal(size=(n, k - 1)) + rng.normal(size=(n_clusters, k - 1))[g]
    X = np.column_stack([np.ones(n), regressors])
    coef = np.r_[1.0, beta, np.full(k - 2, 0.3)]
    y = X @ coef + rng.normal(size=n_clusters)[g] + rng.normal(size=n) * (1 + 0.5 * np.abs(X[:, 1]))
    return X, y, g


def mc_bound(p: float, reps: int, draws: int = 1) -> float:
    """Three Monte Carlo standard errors of a bootstrap p-value, plus two grid steps."""
    return 3.0 * math.sqrt(draws * max(p * (1 - p), 1.0 / reps) / reps) + 2.0 / reps


def tie_robust_p(t_stat: float, t_boot: np.ndarray) -> tuple[float, int]:
    """Share of ``|t*| >= |t|`` with exact ties counted deterministically, and the ties."""
    t_boot = np.ravel(t_boot)
    t_abs = abs(float(np.ravel(t_stat)[0]))
    ties = np.abs(np.abs(t_boot) - t_abs) <= TIE_RTOL * t_abs
    reach = (np.abs(t_boot) > t_abs) | ties
    return float(np.mean(reach)), int(np.sum(ties))


def run_wildboottest(X, y, g, column, reps, seed, weights_type="rademacher"):
    """WCR11 with the wildboottest package; returns (t, p, t_boot, reps used)."""
    from wildboottest.wildboottest import WildboottestCL

    R = np.zeros(X.shape[1])
    R[column] = 1.0
    boot = WildboottestCL(X=X, Y=y, cluster=g, R=R, B=reps, seed=seed, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot.get_weights(weights_type=weights_type)
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    return float(np.ravel(boot.t_stat)[0]), float(boot.pvalue), np.ravel(boot.t_boot), boot.B


# --- reference: the wildboottest package and pyfixest --------------------------------------


@pytest.mark.reference
@pytest.mark.parametrize(
    ("n_clusters", "weights_type", "reps"),
    [
        (10, "webb", 999),
        (14, "rademacher", 999),
        (20, "rademacher", 1999),
        (40, "rademacher", 9999),
        (30, "webb", 999),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_wildboottest_same_seed(n_clusters, weights_type, reps, seed):
    X, y, g = simulate(n_clusters, seed)
    ours = wild_cluster_bootstrap(X, y, g, 1, reps=reps, weights_type=weights_type, seed=seed)
    t, p, t_boot, _ = run_wildboottest(X, y, g, 1, reps, seed, weights_type)

    assert ours.t_stat == pytest.approx(t, rel=1e-6)
    assert not ours.enumerated and ours.reps == reps
    # Same seed, same draws: identical up to how exact ties are rounded.
    p_robust, ties = tie_robust_p(t, t_boot)
    assert ours.p_value == p_robust
    assert 0 <= ours.p_value - p <= ties / reps + 1e-12


@pytest.mark.reference
@pytest.mark.parametrize("n_clusters", [10, 25, 40])
def test_matches_wildboottest_within_monte_carlo_error(n_clusters):
    X, y, g = simulate(n_clusters, 100 + n_clusters, beta=0.15)
    reps = 9999
    ours = wild_cluster_bootstrap(X, y, g, 1, reps=reps, weights_type="rademacher", seed=1)
    t, p, _, used = run_wildboottest(X, y, g, 1, reps, seed=987654, weights_type="rademacher")
    assert ours.t_stat == pytest.approx(t, rel=1e-6)
    assert abs(ours.p_value - p) <= mc_bound(p, reps, draws=2)


@pytest.mark.reference
@pytest.mark.parametrize("n_clusters", [6, 9, 12])
def test_full_enumeration_equals_wildboottest(n_clusters):
    X, y, g = simulate(n_clusters, 7, beta=0.2)
    ours = wild_cluster_bootstrap(X, y, g, 1, reps=9999, weights_type="rademacher", seed=3)
    t, p, t_boot, used = run_wildboottest(X, y, g, 1, 9999, seed=5, weights_type="rademacher")

    assert ours.enumerated
    assert ours.reps == used == 2**n_clusters
    assert ours.t_stat == pytest.approx(t, rel=1e-6)
    # Enumeration uses no random numbers: the seeds do not matter and the p-values agree
    # exactly, apart from the two tie draws v = +1, -1 that wildboottest leaves to rounding
    # and preveval counts, so that p >= 2 / 2**G.
    p_robust, ties = tie_robust_p(t, t_boot)
    assert ties == 2
    assert ours.p_value == p_robust
    assert ours.p_value >= 2 / used
    assert 0 <= ours.p_value - p <= 2 / used + 1e-12


@pytest.mark.reference
def test_matches_wildboottest_on_weighted_least_squares():
    X, y, g = simulate(24, 11, beta=0.1)
    w = np.random.default_rng(2).uniform(0.2, 3.0, size=y.size)
    ours = wild_cluster_bootstrap(
        X, y, g, 1, reps=1999, weights_type="rademacher", weights=w, seed=4
    )
    root = np.sqrt(w)
    t, p, t_boot, _ = run_wildboottest(X * root[:, None], y * root, g, 1, 1999, seed=4)
    assert ours.t_stat == pytest.approx(t, rel=1e-6)
    assert ours.p_value == tie_robust_p(t, t_boot)[0]


@pytest.mark.reference
@pytest.mark.parametrize("weighted", [False, True])
def test_t_stat_matches_statsmodels_cr1(weighted):
    X, y, g = simulate(18, 21, beta=0.2)
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=y.size) if weighted else None
    model = sm.WLS(y, X, weights=w) if weighted else sm.OLS(y, X)
    fit = model.fit(cov_type="cluster", cov_kwds={"groups": g})
    ours = wild_cluster_bootstrap(X, y, g, 1, reps=99, weights=w, null=0.05)
    expected = (fit.params[1] - 0.05) / fit.bse[1]
    assert ours.t_stat == pytest.approx(expected, rel=1e-8)


@pytest.mark.reference
def test_matches_pyfixest_with_fixed_effects_nested_in_clusters():
    import pandas as pd
    import pyfixest as pf
    rng = np.random.default_rng(17)
    n_states, units, periods = 16, 3, 6
    unit = np.repeat(np.arange(n_states * units), periods)
    state = unit // units
    n = unit.size
    x1 = rng.normal(size=n) + rng.normal(size=n_states * units)[unit]
    x2 = rng.normal(size=n)
    y = (
        0.04 * x1
        + 0.5 * x2
        + rng.normal(size=n_states * units)[unit]
        + rng.normal(size=n_states)[state]
    )
    y = y + rng.normal(size=n)
    frame = pd.DataFrame({"y": y, "x1": x1, "x2": x2, "unit": unit, "state": state})
    fit = pf.feols("y ~ x1 + x2 | unit", data=frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, t_boot = fit.wildboottest(
            param="x1", reps=1999, seed=29, cluster="state", return_bootstrapped_t_stats=True
        )

    demeaned = frame[["y", "x1", "x2"]] - frame.groupby("unit")[["y", "x1", "x2"]].transform("mean")
    ours = wild_cluster_bootstrap(
        demeaned[["x1", "x2"]].to_numpy(),
        demeaned["y"].to_numpy(),
        frame["state"].to_numpy(),
        0,
        reps=1999,
        weights_type="rademacher",
        seed=29,
    )
    # pyfixest counts the unit dummies in K; the factor cancels in the p-value.
    ssc_ours = n_states / (n_states - 1) * (n - 1) / (n - 2)
    t_theirs = float(theirs["t value"])
    assert ours.t_stat == pytest.approx(
        t_theirs * math.sqrt(float(theirs["ssc"]) / ssc_ours), rel=1e-6
    )
    assert ours.p_value == tie_robust_p(t_theirs, t_boot)[0]
    assert abs(ours.p_value - float(theirs["Pr(>|t|)"])) <= mc_bound(ours.p_value, 1999)


# --- determinism ----------------------------------------------------------------------------


def _bits(result: WildBootstrapResult) -> bytes:
    numbers = [result.t_stat, result.p_value, result.ci_low, result.ci_high]
    return np.array(numbers, dtype=np.float64).tobytes()


def test_same_seed_gives_identical_results():
    X, y, g = simulate(20, 5, beta=0.1)
    first = wild_cluster_bootstrap(X, y, g, 1, reps=1999, seed=123)
    second = wild_cluster_bootstrap(X.copy(), y.copy(), g.copy(), 1, reps=1999, seed=123)
    assert first == second
    assert _bits(first) == _bits(second)


def test_different_seeds_differ_only_by_monte_carlo_error():
    X, y, g = simulate(30, 6, beta=0.12)
    reps = 4999
    results = [wild_cluster_bootstrap(X, y, g, 1, reps=reps, seed=s) for s in (1, 2, 3)]
    assert len({r.p_value for r in results}) > 1
    assert len({r.t_stat for r in results}) == 1
    for other in results[1:]:
        p = results[0].p_value
        assert abs(other.p_value - p) <= mc_bound(p, reps, draws=2)


def test_row_order_and_label_type_do_not_matter():
    X, y, g = simulate(15, 8, beta=0.1)
    base = wild_cluster_bootstrap(X, y, g, 1, reps=999, seed=9)
    order = np.random.default_rng(0).permutation(y.size)
    labels = np.array([f"area-{code:03d}" for code in g])
    shuffled = wild_cluster_bootstrap(X[order], y[order], labels[order], 1, reps=999, seed=9)
    assert shuffled.p_value == base.p_value
    assert shuffled.t_stat == pytest.approx(base.t_stat, rel=1e-10)
    assert shuffled.ci_low == pytest.approx(base.ci_low, rel=1e-8)
    assert shuffled.ci_high == pytest.approx(base.ci_high, rel=1e-8)


# --- test inversion -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_clusters", "weights_type", "reps"),
    [(8, "auto", 999), (12, "rademacher", 9999), (25, "auto", 2999), (40, "webb", 1999)],
)
def test_confidence_interval_inverts_the_test(n_clusters, weights_type, reps):
    X, y, g = simulate(n_clusters, 40 + n_clusters, beta=0.3)
    res = wild_cluster_bootstrap(X, y, g, 1, reps=reps, weights_type=weights_type, level=0.95)
    estimate = np.linalg.lstsq(X, y, rcond=None)[0][1]
    alpha = 1 - res.level
    assert res.ci_low < estimate < res.ci_high
    width = res.ci_high - res.ci_low
    for limit, inward in ((res.ci_low, 1.0), (res.ci_high, -1.0)):
        eps = 1e-7 * width

        def p_at(delta):
            return wild_cluster_bootstrap(
                X, y, g, 1, reps=reps, weights_type=weights_type, null=delta
            ).p_value

        inside, outside, at = p_at(limit + inward * eps), p_at(limit - inward * eps), p_at(limit)
        assert inside >= alpha > outside
        assert abs(at - alpha) <= 2.5 / res.reps


def test_p_value_at_estimate_is_one_and_null_is_reported():
    X, y, g = simulate(20, 3)
    estimate = np.linalg.lstsq(X, y, rcond=None)[0][1]
    res = wild_cluster_bootstrap(X, y, g, 1, reps=999, null=estimate)
    assert res.t_stat == pytest.approx(0.0, abs=1e-9)
    assert res.p_value == 1.0


def test_other_levels_nest():
    X, y, g = simulate(30, 12, beta=0.2)
    wide = wild_cluster_bootstrap(X, y, g, 1, reps=1999, level=0.99)
    narrow = wild_cluster_bootstrap(X, y, g, 1, reps=1999, level=0.90)
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


def test_interval_is_infinite_when_the_test_cannot_reject():
    # With three clusters and Rademacher weights there are only 8 sign vectors, two of
    # which reproduce the sample: p >= 2/8 for every null, so the set is the whole line.
    X, y, g = simulate(3, 2, sizes=(20, 21))
    res = wild_cluster_bootstrap(X, y, g, 1, weights_type="rademacher")
    assert res.enumerated and res.reps == 8
    assert res.ci_low == -math.inf and res.ci_high == math.inf


# --- auxiliary weights ----------------------------------------------------------------------


def test_webb_distribution_has_mean_zero_and_unit_variance():
    points = wc.WEBB_POINTS
    assert points.size == 6
    assert np.allclose(np.sort(points), np.sort(-points))
    assert np.mean(points) == pytest.approx(0.0, abs=1e-15)
    assert np.mean(points**2) == pytest.approx(1.0, abs=1e-15)
    assert np.allclose(np.abs(points), np.sqrt([1.5, 1.0, 0.5, 0.5, 1.0, 1.5]))
    draws = wc.draw_weights(np.random.Generator(np.random.PCG64(1)), "webb", 50, 4000)
    counts = np.bincount(draws.ravel(), minlength=6) / draws.size
    assert np.allclose(counts, 1 / 6, atol=0.005)
    values = points[draws]
    assert abs(values.mean()) < 0.01 and abs(values.var() - 1) < 0.01


@pytest.mark.parametrize(
    ("n_clusters", "expected"), [(5, "webb"), (11, "webb"), (12, "rademacher"), (30, "rademacher")]
)
def test_auto_weights_use_webb_below_twelve_clusters(n_clusters, expected):
    X, y, g = simulate(n_clusters, 1)
    res = wild_cluster_bootstrap(X, y, g, 1, reps=199)
    assert res.weights_type == expected
    assert res.n_clusters == n_clusters


def test_enumeration_only_when_all_signs_are_fewer_than_reps():
    X, y, g = simulate(10, 4)
    assert not wild_cluster_bootstrap(X, y, g, 1, reps=1024, weights_type="rademacher").enumerated
    res = wild_cluster_bootstrap(X, y, g, 1, reps=1025, weights_type="rademacher")
    assert res.enumerated and res.reps == 1024
    webb = wild_cluster_bootstrap(X, y, g, 1, reps=9999, weights_type="webb")
    assert not webb.enumerated and webb.reps == 9999


def test_enumerated_signs_are_all_distinct_and_balanced():
    signs = wc.RADEMACHER_POINTS[wc.enumerate_signs(7)]
    assert signs.shape == (7, 128)
    assert len({tuple(col) for col in signs.T}) == 128
    assert np.all(signs.sum(axis=1) == 0)


# --- progress and input checks --------------------------------------------------------------


def test_progress_is_reported_up_to_the_total():
    X, y, g = simulate(20, 2)
    calls: list[tuple[int, int]] = []
    wild_cluster_bootstrap(
        X, y, g, 1, reps=999, progress=lambda done, total: calls.append((done, total))
    )
    assert calls and calls[-1] == (999, 999)
    assert all(total == 999 for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_zero_weights_drop_rows():
    X, y, g = simulate(15, 13)
    w = np.ones(y.size)
    w[::7] = 0.0
    keep = w > 0
    weighted = wild_cluster_bootstrap(X, y, g, 1, reps=499, weights=w)
    dropped = wild_cluster_bootstrap(X[keep], y[keep], g[keep], 1, reps=499)
    assert weighted.p_value == dropped.p_value
    assert weighted.t_stat == pytest.approx(dropped.t_stat, rel=1e-10)


def test_data_problems_are_reported_together():
    X, y, g = simulate(10, 1)
    y_bad = y.copy()
    y_bad[0] = np.nan
    with pytest.raises(DataError) as info:
        wild_cluster_bootstrap(X, y_bad, g[:-1], 1, weights=-np.ones(y.size))
    paths = {issue.path for issue in info.value.issues}
    assert paths == {"cluster", "y", "weights"}


def test_one_cluster_is_a_data_error():
    X, y, _ = simulate(5, 1)
    with pytest.raises(DataError, match="at least 2 clusters"):
        wild_cluster_bootstrap(X, y, np.zeros(y.size), 1)


def test_collinear_design_is_an_estimation_error():
    X, y, g = simulate(10, 1)
    with pytest.raises(EstimationError):
        wild_cluster_bootstrap(np.column_stack([X, 2 * X[:, 1]]), y, g, 1)


@pytest.mark.parametrize(
    "kwargs",
    [{"reps": 0}, {"level": 1.0}, {"weights_type": "mammen"}, {"column": 3}, {"null": np.nan}],
)
def test_bad_arguments_raise_value_error(kwargs):
    X, y, g = simulate(10, 1)
    arguments = {"column": 1, **kwargs}
    column = arguments.pop("column")
    with pytest.raises(ValueError):
        wild_cluster_bootstrap(X, y, g, column, **arguments)


# --- Monte Carlo coverage -------------------------------------------------------------------

COVERAGE_SIMULATIONS = 2000
COVERAGE_REPS = 399


def coverage_study(sizes: np.ndarray, seed: int, simulations: int = COVERAGE_SIMULATIONS):
    """Rejection rate of the true null at 5% and coverage of the 95% interval.

    32 clusters, true coefficient 0.5; each simulation redraws the data and the bootstrap
    seed. Returns the bootstrap rejection rate, coverage and mean interval width, and for
    comparison the rejection rate of the CR1 t test with G - 1 degrees of freedom.
    """
    rng = np.random.default_rng(seed)
    n_clusters = sizes.size
    g = np.repeat(np.arange(n_clusters), sizes)
    n = g.size
    rejections = covered = wald_rejections = 0
    critical = stats.t.ppf(0.975, n_clusters - 1)
    widths = []
    for _ in range(simulations):
        x = rng.normal(size=n) + rng.normal(size=n_clusters)[g]
        z = rng.normal(size=n)
        X = np.column_stack([np.ones(n), x, z])
        u = rng.normal(size=n_clusters)[g] + rng.normal(size=n) * (1 + 0.5 * np.abs(x))
        y = 1.0 + 0.5 * x + 0.3 * z + u
        res = wild_cluster_bootstrap(
            X, y, g, 1, reps=COVERAGE_REPS, null=0.5, seed=int(rng.integers(2**31))
        )
        rejections += res.p_value < 0.05
        covered += res.ci_low <= 0.5 <= res.ci_high
        widths.append(res.ci_high - res.ci_low)
        wald_rejections += abs(res.t_stat) > critical
    share = 1.0 / simulations
    return rejections * share, covered * share, float(np.mean(widths)), wald_rejections * share


@pytest.mark.slow
@pytest.mark.parametrize(
    ("design", "sizes"),
    [
        ("equal", np.full(32, 30)),
        ("heterogeneous", np.round(np.geomspace(5, 150, 32)).astype(int)),
    ],
)
def test_monte_carlo_coverage(design, sizes):
    rejection, coverage, width, wald = coverage_study(sizes, seed=20240101 + sizes.sum())
    print(
        f"{design}: WCR rejection {rejection:.4f}, coverage {coverage:.4f}, width {width:.4f};"
        f" CR1 t(G-1) rejection {wald:.4f}"
    )
    assert 0.93 <= coverage <= 0.97
    assert 0.03 <= rejection <= 0.07
