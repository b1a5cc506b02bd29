"""DiD estimates and standard errors against pyfixest and statsmodels fitted directly.

Formula strings appear here only, to drive the reference software. Tolerance: 1e-6
relative on estimates and standard errors (pyfixest run with fixef_tol=1e-10 so that its
demeaning does not limit the agreement). Versions: pyfixest 0.60, statsmodels 0.15.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.api as sm
from pyfixest.demeaners import MapDemeaner
from scipy import stats

from preveval.methods.did import fit_did
from preveval.spec.models import DidAnalysis

pytestmark = pytest.mark.reference
RTOL = 1e-6
DEMEANER = MapDemeaner(fixef_tol=1e-10)
VCOV = {"classical": "iid", "robust": "hetero"}


def spec(**kw) -> DidAnalysis:
    base = {"id": "did", "method": "did", "indicator": "y"}
    return DidAnalysis(**{**base, **kw})


def pyfixest_fit(fml: str, data: pd.DataFrame, vcov, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data=data, vcov=vcov, demeaner=DEMEANER, **kw)


def assert_close(ours, theirs, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(ours, float), np.asarray(theirs, float), rtol=rtol, atol=0)


# ----------------------------------------------------------------- real public panel


@pytest.fixture(scope="module")
def wage_panel() -> pd.DataFrame:
    """Vella & Verbeek (1998) NLSY young men 1980-87, 545 men x 8 years (real data)."""
    import linearmodels.datasets.wage_panel as lm
    return lm.load()


@pytest.mark.parametrize("inference", ["cluster", "robust", "classical"])
def test_twfe_wage_panel_matches_pyfixest(wage_panel, inference):
    """Union wage premium with worker and year FE (treatment switches on and off)."""
    s = spec(design="twfe", treatment="union", covariates=("expersq",), inference=inference)
    r = fit_did(s, wage_panel, outcome="lwage", unit="nr", time="year")
    vc = {"CRV1": "nr"} if inference == "cluster" else VCOV[inference]
    m = pyfixest_fit("lwage ~ union + expersq | nr + year", wage_panel, vc)
    assert_close([r.effect.estimate, r.coefficients[1].estimate], m.coef().values)
    assert_close([r.effect.std_error, r.coefficients[1].std_error], m.se().values)
    assert_close([r.effect.ci_low, r.effect.ci_high], m.confint().iloc[0].values)
    assert_close(r.effect.p_value, m.pvalue().iloc[0], rtol=1e-5)
    assert r.n_obs == m._N
    assert r.n_clusters == (545 if inference == "cluster" else None)


def test_twfe_wage_panel_extra_fe_cluster_not_nested(wage_panel):
    """Occupation as extra FE and occupation clusters: worker FE are not nested in them."""
    s = spec(design="twfe", treatment="union", fixed_effects=("occupation",), cluster="occupation")
    r = fit_did(s, wage_panel, outcome="lwage", unit="nr", time="year")
    m = pyfixest_fit("lwage ~ union | nr + year + occupation", wage_panel, {"CRV1": "occupation"})
    assert_close(r.effect.estimate, m.coef().iloc[0])
    assert_close(r.effect.std_error, m.se().iloc[0])
    assert r.df_resid == 8  # 9 occupations: t with G - 1 df


# ------------------------------------------------------------------ synthetic panels


@pytest.mark.parametrize("inference", ["cluster", "robust", "classical"])
@pytest.mark.parametrize("weighted", [False, True])
def test_twfe_unbalanced_weights_extra_fe(unbalanced_panel, inference, weighted):
    df = unbalanced_panel
    s = spec(
        design="twfe", treatment="d", covariates=("x1",), fixed_effects=("region",),
        weights="w" if weighted else None, inference=inference,
    )
    r = fit_did(s, df, outcome="y", unit="unit", time="period")
    vc = {"CRV1": "unit"} if inference == "cluster" else VCOV[inference]
    m = pyfixest_fit("y ~ d + x1 | unit + period + region", df, vc, weights="w" if weighted else None)
    assert r.n_obs == m._N
    assert_close([c.estimate for c in r.coefficients], m.coef().values)
    assert_close([c.std_error for c in r.coefficients], m.se().values)
    assert any("staggered" in w for w in r.warnings)


def test_twfe_dose_treatment(panel):
    s = spec(design="twfe", treatment="dose")
    r = fit_did(s, panel, outcome="y", unit="unit", time="period")
    m = pyfixest_fit("y ~ dose | unit + period", panel, {"CRV1": "unit"})
    assert_close(r.effect.estimate, m.coef().iloc[0])
    assert_close(r.effect.std_error, m.se().iloc[0])
    assert "dose" in r.description


def test_twfe_cluster_other_than_unit(panel):
    df = panel.assign(state=panel["unit"].str[-1])
    s = spec(design="twfe", treatment="d", cluster="state")
    r = fit_did(s, df, outcome="y", unit="unit", time="period")
    m = pyfixest_fit("y ~ d | unit + period", df, {"CRV1": "state"})
    assert_close(r.effect.std_error, m.se().iloc[0])
    assert r.n_clusters == 10


def test_twfe_period_column(panel):
    """Periods as pandas Periods give the same fit as integer ordinals."""
    df = panel.assign(month=pd.period_range("2015-01", periods=12, freq="M")[panel["period"] - 1])
    s = spec(design="twfe", treatment="d")
    a = fit_did(s, df, outcome="y", unit="unit", time="month")
    b = fit_did(s, panel, outcome="y", unit="unit", time="period")
    assert a.effect == b.effect


# --------------------------------------------------------------------------- 2 x 2


@pytest.mark.parametrize(
    ("inference", "cov_type", "kw"),
    [("classical", "nonrobust", {}), ("robust", "HC1", {}), ("cluster", "cluster", None)],
)
def test_two_by_two_matches_statsmodels(panel, inference, cov_type, kw):
    df = panel.assign(group=(~panel["ft"].isna()).astype(int), post=(panel["period"] >= 7).astype(int))
    s = spec(design="two_by_two", group="group", post="post", covariates=("x1",), inference=inference)
    r = fit_did(s, df, outcome="y", unit="unit", time="period")
    X = np.column_stack([np.ones(len(df)), df.group, df.post, df.group * df.post, df.x1])
    codes = pd.factorize(df["unit"])[0]
    kw = {"groups": codes} if kw is None else kw
    m = sm.OLS(df["y"].to_numpy(), X).fit(cov_type=cov_type, cov_kwds=kw or None, use_t=True)
    assert_close([c.estimate for c in r.coefficients], m.params)
    assert_close([c.std_error for c in r.coefficients], m.bse)
    assert r.coefficients[3].term == "att"
    if inference != "cluster":  # statsmodels uses G-1 df for clusters as well: check both
        assert_close([r.effect.ci_low, r.effect.ci_high], m.conf_int()[3])
    else:
        assert r.df_resid == 59


def test_two_by_two_repeated_cross_sections_weighted(panel):
    """No unit column: HC1 replaces CR1 (with a warning); WLS matches statsmodels."""
    df = panel.assign(group=(~panel["ft"].isna()).astype(int), post=(panel["period"] >= 7).astype(int))
    s = spec(design="two_by_two", group="group", post="post", weights="w")
    r = fit_did(s, df, outcome="y", unit=None, time="period")
    X = np.column_stack([np.ones(len(df)), df.group, df.post, df.group * df.post])
    m = sm.WLS(df["y"].to_numpy(), X, weights=df["w"].to_numpy()).fit(cov_type="HC1")
    assert_close(r.effect.estimate, m.params[3])
    assert_close(r.effect.std_error, m.bse[3])
    assert r.se_type == "HC1" and any("HC1" in w for w in r.warnings)


# -------------------------------------------------------------------------- Poisson


@pytest.mark.parametrize("design", ["twfe", "two_by_two"])
def test_ppml_matches_fepois(panel, design):
    df = panel.assign(group=(~panel["ft"].isna()).astype(int), post=(panel["period"] >= 7).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if design == "twfe":
            s = spec(design="twfe", treatment="d", covariates=("x1",), family="poisson")
            m = pf.fepois("count ~ d + x1 | unit + period", data=df, vcov={"CRV1": "unit"},
                          demeaner=MapDemeaner(fixef_tol=1e-12), iwls_tol=1e-12)
            idx = 0
        else:
            s = spec(design="two_by_two", group="group", post="post", family="poisson")
            m = pf.fepois("count ~ group * post", data=df, vcov={"CRV1": "unit"}, iwls_tol=1e-12)
            idx = 3
    r = fit_did(s, df, outcome="count", unit="unit", time="period")
    assert r.n_obs == m._N
    assert_close(r.effect.estimate, m.coef().iloc[idx])
    assert_close(r.effect.std_error, m.se().iloc[idx])
    assert r.scale == "log" and r.rate_ratio is not None
    assert r.rate_ratio.estimate == pytest.approx(np.exp(r.effect.estimate))
    assert r.df_resid is None  # normal quantiles for the GLM


# ---------------------------------------------------------------------- event study


def _rel(df: pd.DataFrame, lo: int, hi: int, binned: bool) -> pd.Series:
    rel = df["period"] - df["ft"]
    if binned:
        rel = rel.clip(-lo, hi)
    return rel.fillna(-1.0)  # never treated: all indicators zero, like the reference period


@pytest.mark.parametrize("binned", [True, False])
def test_event_study_matches_pyfixest_i(unbalanced_panel, binned):
    df = unbalanced_panel
    s = spec(design="event_study", first_treated="ft", leads=3, lags=4, bin_endpoints=binned, covariates=("x1",))
    r = fit_did(s, df, outcome="y", unit="unit", time="period")
    m = pyfixest_fit("y ~ i(rel, ref=-1.0) + x1 | unit + period",
                     df.assign(rel=_rel(df, 3, 4, binned)), {"CRV1": "unit"})
    assert_close([c.estimate for c in r.coefficients], m.coef().values)
    assert_close([c.std_error for c in r.coefficients], m.se().values)
    # pre-trend test: pyfixest's Wald statistic W of the leads (it reports the chi2 form
    # when R is not the identity); ours is F = W / q with G - 1 denominator df (fixest::wald)
    leads = [n for n in m.coef().index if "::-" in n]
    R = np.array([[1.0 if c == lead else 0.0 for c in m.coef().index] for lead in leads])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W = float(m.wald_test(R=R)["statistic"])
    pt = r.pretrend_test
    assert pt.distribution == "F" and pt.df_num == len(leads) and pt.df_denom == r.n_clusters - 1
    assert_close(pt.statistic * pt.df_num, W)
    assert_close(pt.p_value, stats.f.sf(W / len(leads), len(leads), r.n_clusters - 1))
    # headline ATT: treated-observation weighted mean of lags >= 0 and its delta-method SE
    tab = r.event_study_table()
    post = [c for c in r.coefficients if c.term.startswith("rel_time::") and int(c.term.split("::")[1]) >= 0]
    rel = _rel(df, 3, 4, binned)
    wts = np.array([(rel == int(c.term.split("::")[1])).sum() for c in post], float)
    wts /= wts.sum()
    names = [f"rel::{float(c.term.split('::')[1])}" for c in post]
    b = m.coef()[names].to_numpy()
    V = np.asarray(m._vcov)
    idx = [list(m.coef().index).index(n) for n in names]
    assert_close(r.effect.estimate, wts @ b)
    assert_close(r.effect.std_error, np.sqrt(wts @ V[np.ix_(idx, idx)] @ wts))
    assert tab.loc[tab.rel_time == -1, "reference"].item()
    assert set(tab.rel_time) <= set(range(-3, 5))


def test_event_study_poisson_matches_fepois(panel):
    s = spec(design="event_study", first_treated="ft", leads=3, lags=3, family="poisson")
    r = fit_did(s, panel, outcome="count", unit="unit", time="period")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.fepois("count ~ i(rel, ref=-1.0) | unit + period", data=panel.assign(rel=_rel(panel, 3, 3, True)),
                      vcov={"CRV1": "unit"}, demeaner=MapDemeaner(fixef_tol=1e-12), iwls_tol=1e-12)
    assert_close([c.estimate for c in r.coefficients], m.coef().values)
    assert_close([c.std_error for c in r.coefficients], m.se().values)
    assert r.pretrend_test.distribution == "chi2" and r.pretrend_test.df_denom is None
    assert r.rate_ratio.estimate == pytest.approx(np.exp(r.effect.estimate))
