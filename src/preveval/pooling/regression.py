r"""Meta-regression: the mixed-effects model with study-level moderators.

Estimand: the coefficients :math:`\beta` of the mean true effect as a linear function of
the moderators, :math:`E[\theta_i \mid x_i] = x_i^\top\beta`, with residual between-study
variance :math:`\tau^2` (Viechtbauer 2010, eq. 6; metafor ``rma(yi, vi, mods = ...)``).
:math:`\hat\tau^2` is estimated by REML, DL or PM on the residuals (FE fixes it at 0) and
:math:`\hat\beta` by weighted least squares, as in :mod:`preveval.pooling.fit`.

Tests (Viechtbauer 2010, section 3.4):

* coefficients: :math:`z = \hat\beta_j / \mathrm{SE}_j` (normal), or under Knapp-Hartung
  :math:`t_{k-p}` with the scaled SE;
* omnibus test of the moderators (all coefficients but the intercept):
  :math:`Q_M = \hat\beta_{[2]}^\top \mathrm{Var}(\hat\beta_{[2]})^{-1} \hat\beta_{[2]}
  \sim \chi^2_{p-1}`, or :math:`F = Q_M / (p-1) \sim F_{p-1,\,k-p}` under Knapp-Hartung;
* residual heterogeneity: :math:`Q_E = Q(0) \sim \chi^2_{k-p}` (weights :math:`1/v_i`);
* pseudo-:math:`R^2` (Raudenbush 2009, eq. 16.52; metafor's default),
  :math:`R^2 = \max\{0, (\hat\tau^2_{RE} - \hat\tau^2_{ME}) / \hat\tau^2_{RE}\}` in percent,
  :math:`\hat\tau^2_{RE}` from the same estimator without moderators (0 when that is 0);
  for ``FE`` the adjusted :math:`R^2` of the weighted regression, as metafor.

References
----------
Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In Cooper H, Hedges
LV, Valentine JC (eds), *The Handbook of Research Synthesis and Meta-Analysis*, 2nd ed.,
295-315. Russell Sage Foundation.
Viechtbauer W (2010). *J Stat Softw* 36(3):1-48.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from preveval.pooling._dist import chi2_sf, f_sf
from preveval.pooling._plain import fmt, fmt_p, plain, record_dict
from preveval.pooling.fit import ModelFit, fit_model
from preveval.pooling.influence import InfluenceResult, influence
from preveval.pooling.inputs import check_options, check_studies, moderator_matrix

__all__ = ["Coefficient", "MetaRegressionResult", "meta_regression"]


@dataclass(frozen=True)
class Coefficient:
    """One meta-regression coefficient: estimate, SE, z or t statistic, p-value, interval."""

    term: str
    estimate: float
    std_error: float
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, repr=False)
class MetaRegressionResult:
    """A fitted meta-regression, from :func:`meta_regression`.

    ``coefficients`` is the source table (``tidy()`` gives it as a DataFrame). ``df`` is
    ``k - p`` under Knapp-Hartung (t tests, F omnibus test) and None for z tests;
    ``qm_df_resid`` is the F test's denominator degrees of freedom (None for chi-square).
    ``r2`` and ``i2`` are in percent; ``r2`` is None when the model has no intercept.
    ``design`` keeps the design matrix (rows are studies) for refits.
    """

    method: str
    knapp_hartung: bool
    level: float
    k: int
    coefficients: tuple[Coefficient, ...]
    df: int | None
    tau2: float
    tau2_std_error: float | None
    tau2_ci_low: float | None
    tau2_ci_high: float | None
    tau: float
    i2: float
    h2: float
    r2: float | None
    qe: float
    qe_df: int
    qe_p_value: float
    qm: float | None
    qm_df: int
    qm_df_resid: int | None
    qm_p_value: float | None
    kh_scale: float | None
    labels: tuple[str, ...]
    estimates: tuple[float, ...]
    std_errors: tuple[float, ...]
    design: tuple[tuple[float, ...], ...]
    notes: tuple[str, ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        """Names of the coefficients."""
        return tuple(c.term for c in self.coefficients)

    def tidy(self) -> pd.DataFrame:
        """The coefficient table, one row per term."""
        return pd.DataFrame([record_dict(c) for c in self.coefficients]).astype(
            {c: float for c in ("estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high")})

    def _fit(self) -> ModelFit:
        se = np.asarray(self.std_errors)
        return fit_model(np.asarray(self.estimates), se**2, np.asarray(self.design), self.method,
                         self.knapp_hartung, self.level, tau2_ci=False)

    def influence(self) -> InfluenceResult:
        """Case diagnostics as metafor's ``influence.rma.uni`` (needs k >= p + 2)."""
        return influence(self._fit(), self.labels, self.terms)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form (NaN and infinities become None); the design matrix is left out."""
        d = record_dict(self, skip=("coefficients", "design"))
        d["coefficients"] = [plain(record_dict(c)) for c in self.coefficients]
        return d

    def summary(self) -> str:
        """A few lines of plain text: model, heterogeneity, tests and the coefficients."""
        model = "Fixed-effects" if self.method == "FE" else "Mixed-effects"
        lines = [f"{model} meta-regression ({self.method}), k = {self.k} studies"
                 + (f"; Knapp-Hartung t({self.df}) inference" if self.knapp_hartung else "")]
        if self.method != "FE":
            r2 = "" if self.r2 is None else f", R^2 = {fmt(self.r2, 2)}%"
            lines.append(f"Residual heterogeneity: tau^2 = {fmt(self.tau2)}, I^2 = {fmt(self.i2, 2)}%{r2}")
        lines.append(f"QE({self.qe_df}) = {fmt(self.qe)}, {fmt_p(self.qe_p_value)}")
        if self.qm is not None:
            name = f"F({self.qm_df}, {self.qm_df_resid})" if self.qm_df_resid else f"QM({self.qm_df})"
            lines.append(f"Test of moderators: {name} = {fmt(self.qm)}, {fmt_p(self.qm_p_value)}")
        lines.append(self.tidy().to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        coefs = ", ".join(f"{c.term}={c.estimate:.4g}" for c in self.coefficients)
        return f"MetaRegressionResult(method={self.method!r}, k={self.k}, {coefs}, tau2={self.tau2:.4f})"


def _r2(f: ModelFit, has_intercept: bool) -> float | None:
    if not has_intercept:
        return None
    if f.method == "FE":
        # adjusted R^2 of the weighted regression (weights 1/v), as metafor for FE models
        k, p = f.X.shape
        w = 1 / f.v
        q_total = float(np.sum(w * (f.y - np.sum(w * f.y) / np.sum(w)) ** 2))
        return max(0.0, 100 * (1 - (f.q / (k - p)) / (q_total / (k - 1)))) if q_total > 0 else 0.0
    re = fit_model(f.y, f.v, np.ones((f.k, 1)), f.method, False, f.level, tau2_ci=False)
    if re.tau2 == 0:
        return 0.0
    return max(0.0, 100 * (re.tau2 - f.tau2) / re.tau2)


def meta_regression(
    estimates: Sequence[float] | np.ndarray | pd.Series,
    std_errors: Sequence[float] | np.ndarray | pd.Series,
    moderators: pd.DataFrame | Mapping[str, Any],
    method: Literal["REML", "DL", "PM", "FE"] = "REML",
    knapp_hartung: bool = False,
    *,
    columns: Sequence[str] | None = None,
    labels: Sequence[Any] | None = None,
    level: float = 0.95,
    intercept: bool = True,
) -> MetaRegressionResult:
    r"""Fit a meta-regression of study estimates on study-level moderators.

    Parameters
    ----------
    estimates, std_errors : array-like of float, shape (k,)
        Study estimates (e.g. log risk ratios) and their standard errors.
    moderators : DataFrame or mapping of column name to values
        One row per study, in the order of ``estimates``. Numeric and boolean columns enter
        as they are; a text or categorical column as indicators of its levels after the
        first (sorted) level. No formula strings are parsed.
    method : {"REML", "DL", "PM", "FE"}
        Estimator of the residual :math:`\tau^2` (``"FE"``: none, :math:`\tau^2 = 0`).
    knapp_hartung : bool
        Knapp-Hartung standard errors with :math:`t_{k-p}` and :math:`F_{p-1,k-p}` tests.
    columns : sequence of str, optional
        The moderator columns to use (default: all columns of ``moderators``).
    labels : sequence, optional
        Study labels for messages and diagnostics.
    level : float
        Confidence level of the coefficient intervals.
    intercept : bool
        Include an intercept (default True; :math:`R^2` and :math:`Q_M` assume one).

    Returns
    -------
    MetaRegressionResult

    Raises
    ------
    DataError
        For the problems :func:`~preveval.pooling.pool` reports, a missing moderator value
        (naming the study and column), an unknown column, collinear moderators, or fewer
        studies than coefficients plus one.
    """
    m = check_options(method, level)
    s = check_studies(estimates, std_errors, labels, m)
    X, names = moderator_matrix(moderators, columns, s.labels, intercept)
    f = fit_model(s.y, s.v, X, m, bool(knapp_hartung), float(level))
    k, p = X.shape
    se, stat, pv = f.se, f.stat, f.p_values
    c = f.crit
    coefs = tuple(Coefficient(n, float(b), float(e), float(z), float(q), float(b - c * e), float(b + c * e))
                  for n, b, e, z, q in zip(names, f.beta, se, stat, pv, strict=True))
    btt = np.arange(1 if intercept else 0, p)
    qm: float | None = None
    qm_p: float | None = None
    if len(btt):
        b = f.beta[btt]
        qm = float(b @ np.linalg.solve(f.vb[np.ix_(btt, btt)], b)) if f.s2w > 0 else math.inf
        if knapp_hartung:
            qm /= len(btt)
            qm_p = f_sf(qm, len(btt), k - p)
        else:
            qm_p = chi2_sf(qm, len(btt))
    tci = f.tau2_ci
    return MetaRegressionResult(
        method=m, knapp_hartung=bool(knapp_hartung), level=float(level), k=k, coefficients=coefs, df=f.df,
        tau2=f.tau2, tau2_std_error=f.se_tau2, tau2_ci_low=None if tci is None else tci[0],
        tau2_ci_high=None if tci is None else tci[1], tau=math.sqrt(f.tau2), i2=f.i2, h2=f.h2,
        r2=_r2(f, intercept), qe=f.q, qe_df=k - p, qe_p_value=f.q_p, qm=qm, qm_df=len(btt),
        qm_df_resid=(k - p) if knapp_hartung else None, qm_p_value=qm_p,
        kh_scale=f.s2w if knapp_hartung else None, labels=s.labels,
        estimates=tuple(map(float, s.y)), std_errors=tuple(map(float, s.se)),
        design=tuple(tuple(map(float, row)) for row in X), notes=f.notes)
