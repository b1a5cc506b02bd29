"""Diagnostics and plain-English warnings of an ITS fit.

- **Residual autocorrelation**: Durbin–Watson statistic and the Ljung–Box test on the
  residuals of the treated series in the fit (Pearson residuals for count families,
  one-step prediction errors under ``errors: ar``). Ljung–Box lags follow Hyndman &
  Athanasopoulos (*Forecasting: Principles and Practice*, 3rd ed., §5.4): 10 for
  non-seasonal data, two seasonal cycles (24 for monthly, 8 for quarterly) for seasonal
  data, at most n/5. statsmodels ``acorr_ljungbox``.
- **Overdispersion** under ``family: poisson``: Pearson :math:`X^2/(n-k)` and the test
  :math:`X^2 \\sim \\chi^2_{n-k}`; warned when the ratio exceeds 1.5 and p < 0.05.
- **Points per side**: fewer than 8 periods before or after an interruption (Penfold & Zhang
  2013, *Acad Pediatr* 13(6 Suppl):S38–44) weakens the trend estimates.
- **Outlier at the interruption**: a standardised residual beyond ±3 in the period before,
  at, or after the interruption, which can drive the level change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from preveval.methods.its.corefit import CoreFit
from preveval.methods.its.design import ItsDesign
from preveval.methods.its.dist import chi2_sf
from preveval.results.base import Diagnostic, Status
from preveval.spec.models import ItsAnalysis

__all__ = ["diagnose", "ljung_box", "ljung_box_lags", "residual_acf"]

MIN_SIDE = 8


# statsmodels' acf, acorr_ljungbox and durbin_watson, written out with the same numpy
# operations in the same order (the same numbers to the last bit), so that a fit does not
# import statsmodels.tsa (and scipy.signal with it: about 0.12 s of a cold run).


def acf(x: np.ndarray, nlags: int) -> np.ndarray:
    """Autocorrelations at lags 0 to ``nlags``: statsmodels ``acf(x, nlags, fft=False)``
    (demeaned, divided by n at every lag, no missing values)."""
    x = np.asarray(x, dtype=np.double)
    n = len(x)
    xo = x - x.mean()
    d = n * np.ones(2 * n - 1)
    avf = np.correlate(xo, xo, "full")[n - 1:] / d[n - 1:]
    return avf[: nlags + 1] / avf[0]


def acorr_ljungbox(x: np.ndarray, lags: int) -> tuple[float, float]:
    """Ljung-Box statistic and p-value up to ``lags``: statsmodels ``acorr_ljungbox(x, lags=[lags])``."""
    x = np.asarray(x, dtype=np.double)
    nobs = x.shape[0]
    lag = np.asarray([lags], dtype="int")
    maxlag = lag.max()
    sacf = acf(x, nlags=maxlag)
    sacf2 = sacf[1: maxlag + 1] ** 2 / (nobs - np.arange(1, maxlag + 1))
    q = nobs * (nobs + 2) * np.cumsum(sacf2)[lag - 1]
    p = np.full_like(q, np.nan)
    loc = lag > 0
    p[loc] = chi2_sf(q[loc], lag[loc])
    return float(q[0]), float(p[0])


def durbin_watson(resids: np.ndarray) -> float:
    """The Durbin-Watson statistic: statsmodels ``durbin_watson``."""
    resids = np.asarray(resids)
    diff_resids = np.diff(resids, 1, axis=0)
    return np.sum(diff_resids**2, axis=0) / np.sum(resids**2, axis=0)


def ljung_box_lags(n: int, ppy: float, seasonal: bool) -> int:
    """Ljung–Box lag: 10, or two seasonal cycles for seasonal data; at most n/5, at least 1."""
    h = int(round(2 * ppy)) if seasonal and 1.5 < ppy <= 52.2 else 10
    return max(1, min(h, n // 5))


def ljung_box(resid: np.ndarray, lags: int, what: str) -> Diagnostic:
    """Ljung–Box test of ``what`` up to ``lags`` as a Diagnostic (fail when p < 0.05)."""
    q, p = acorr_ljungbox(resid, lags)
    return Diagnostic(
        "ljung_box",
        "pass" if p >= 0.05 else "fail",
        f"Ljung-Box test of {what} up to lag {lags}: Q = {q:.2f}, p = {p:.3f}",
        statistic=q,
        p_value=p,
    )


def residual_acf(resid: np.ndarray, nlags: int) -> pd.DataFrame:
    """Residual autocorrelations with the ±1.96/√n band of white noise."""
    n = len(resid)
    nlags = max(1, min(nlags, n - 2))
    r = acf(resid, nlags=nlags)
    bound = 1.96 / np.sqrt(n)
    return pd.DataFrame({"lag": np.arange(1, nlags + 1), "acf": r[1:], "lower": -bound, "upper": bound})


def diagnose(
    spec: ItsAnalysis, design: ItsDesign, core: CoreFit, table: pd.DataFrame, *, ppy: float
) -> tuple[list[Diagnostic], list[str], pd.DataFrame, pd.DataFrame]:
    """Run the diagnostics of an ITS fit.

    Returns
    -------
    diagnostics : list of Diagnostic
    warnings : list of str
        Plain-English warnings for the report.
    residuals : DataFrame
        ``period``, ``t``, ``residual`` of the treated series in the fit.
    acf : DataFrame
        ``lag``, ``acf``, ``lower``, ``upper`` (residual autocorrelation function).
    """
    diags: list[Diagnostic] = []
    warns: list[str] = []
    m = design.fit_mask
    tr_in_fit = design.treated[m]
    resid = core.resid[tr_in_fit]
    t_fit = design.t[m][tr_in_fit]
    periods = table.set_index("t").loc[t_fit, "period"].to_numpy()
    res_tab = pd.DataFrame({"period": periods, "t": t_fit, "residual": resid})
    n = len(resid)
    seasonal = spec.seasonality not in (None, "none")

    dw = float(durbin_watson(resid))
    diags.append(
        Diagnostic(
            "durbin_watson",
            "pass" if 1.5 <= dw <= 2.5 else "fail",
            f"Durbin-Watson {dw:.2f} (about 2 when residuals are uncorrelated; rule of thumb 1.5 to 2.5)",
            statistic=dw,
        )
    )
    h = ljung_box_lags(n, ppy, seasonal)
    lb = ljung_box(resid, h, "residual autocorrelation")
    p = 1.0 if lb.p_value is None else float(lb.p_value)
    diags.append(lb)
    if p < 0.05 and spec.errors == "ols":
        warns.append(
            f"The residuals are autocorrelated (Ljung-Box p = {p:.3f} at lag {h}), so the standard errors "
            "may be too small and the intervals too narrow; consider errors: hac"
            + (" or errors: ar" if spec.family == "gaussian" else "")
            + "."
        )
    acf_tab = residual_acf(resid, h)

    if spec.family == "poisson" and core.pearson_chi2 is not None:
        rdf = core.residual_df if core.residual_df is not None else core.df_resid
        ratio = core.pearson_chi2 / rdf
        pval = float(chi2_sf(core.pearson_chi2, rdf))
        over = ratio > 1.5 and pval < 0.05
        diags.append(
            Diagnostic(
                "overdispersion",
                "fail" if over else "pass",
                f"Pearson chi-square / df = {ratio:.2f} (1 under the Poisson model), p = {pval:.3g}",
                statistic=ratio,
                p_value=pval,
            )
        )
        if over:
            warns.append(
                f"The counts vary more than a Poisson model allows (dispersion {ratio:.1f}, p = {pval:.2g}); "
                "the intervals are too narrow. Use family: quasipoisson or negative_binomial."
            )
    elif spec.family in ("quasipoisson", "negative_binomial"):
        diags.append(Diagnostic("overdispersion", "not_applicable", f"family {spec.family} allows for overdispersion", statistic=core.dispersion if spec.family == "quasipoisson" else core.alpha))

    t_all = design.t[design.treated & m]
    for k, t0 in design.t0.items():
        name = f"intervention '{k}'" if k else "the intervention"
        n_before = int((t_all < t0).sum())
        n_after = int((t_all >= design.starts[k]).sum())
        status: Status = "pass" if min(n_before, n_after) >= MIN_SIDE else "fail"
        diags.append(Diagnostic(f"points_per_side{'.' + k if k else ''}", status, f"{n_before} periods before and {n_after} from {name}"))
        if status == "fail":
            warns.append(
                f"Only {min(n_before, n_after)} periods {'before' if n_before < n_after else 'after'} {name}; "
                f"with fewer than {MIN_SIDE} the trend and its change are poorly estimated."
            )

    scale = np.sqrt(core.dispersion) if spec.family in ("gaussian", "quasipoisson") else 1.0
    if spec.errors == "ar":
        scale = np.sqrt(core.dispersion)
    std = resid / scale if scale > 0 else resid
    for k, t0 in design.t0.items():
        near = (t_fit >= t0 - 1) & (t_fit <= t0 + 1)
        big = near & (np.abs(std) > 3)
        if big.any():
            i = int(np.argmax(np.where(big, np.abs(std), 0)))
            warns.append(
                f"An unusual value at {periods[i]}, next to the interruption (standardised residual {std[i]:.1f}), "
                "may drive the estimated level change; check that period's data."
            )
            diags.append(Diagnostic(f"outlier_at_interruption{'.' + k if k else ''}", "fail", f"standardised residual {std[i]:.2f} at {periods[i]}", statistic=float(std[i])))
        else:
            diags.append(Diagnostic(f"outlier_at_interruption{'.' + k if k else ''}", "pass", "no standardised residual beyond ±3 around the interruption"))
    return diags, warns, res_tab, acf_tab
