r"""Pool study estimates: fixed-effect (common-effect) and random-effects meta-analysis.

The estimand of the random-effects model is :math:`\mu`, the mean of the distribution of
true effects across studies (settings, populations, versions of the initiative) from which
the studies are taken to be drawn; :math:`\tau^2` is the variance of that distribution.
Under ``method="FE"`` the estimand is a single effect common to all studies
(:math:`\tau^2 = 0`), or more loosely the inverse-variance weighted mean of the studies'
own effects. For inputs on the log scale (log risk, rate or odds ratios; ``scale="log"``)
:math:`\exp(\mu)` is the median (not the mean) ratio across settings.

.. math::

    \hat\mu = \frac{\sum_i w_i y_i}{\sum_i w_i}, \qquad w_i = \frac{1}{v_i + \hat\tau^2},
    \qquad \mathrm{SE}(\hat\mu) = \Big(\sum_i w_i\Big)^{-1/2}

(Viechtbauer 2010, eqs. 3-5), with Knapp-Hartung scaling as in
:mod:`preveval.pooling.fit`. The prediction interval for the true effect in a new setting
is :math:`\hat\mu \pm c \sqrt{\mathrm{SE}(\hat\mu)^2 + \hat\tau^2}` (Higgins, Thompson &
Spiegelhalter 2009, eq. 12; metafor's ``predict.rma``), with :math:`c` the normal quantile,
or the :math:`t_{k-1}` quantile under Knapp-Hartung (metafor's choice; Higgins et al. use
:math:`t_{k-2}`).

References
----------
Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of random-effects
meta-analysis. *J R Stat Soc A* 172(1):137-159.
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. *J Stat
Softw* 36(3):1-48.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from preveval.errors import DataError, Issue
from preveval.pooling._dist import crit
from preveval.pooling._plain import fmt, fmt_p, record_dict
from preveval.pooling.fit import ModelFit, fit_model
from preveval.pooling.influence import InfluenceResult, LeaveOneOutResult, influence, leave_one_out
from preveval.pooling.inputs import Studies, check_options, check_studies

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["PoolResult", "pool"]

Method = Literal["REML", "DL", "PM", "FE"]
Scale = Literal["difference", "log"]
_NAMES = {"REML": "restricted maximum likelihood", "DL": "DerSimonian-Laird",
          "PM": "Paule-Mandel", "FE": "fixed effect"}


@dataclass(frozen=True, repr=False)
class PoolResult:
    """A pooled estimate with its heterogeneity, from :func:`pool`.

    All estimates are on the scale of the inputs (for ``scale="log"`` the log ratio);
    ``ratio*`` fields hold the back-transformed (exponentiated) values for ``scale="log"``
    and are None otherwise. ``i2``, its interval and ``weights`` are in percent. ``df`` is
    the t degrees of freedom (``k - 1``) under Knapp-Hartung, None for normal (z) inference.
    ``kh_scale`` is the Knapp-Hartung factor :math:`s^2_w`. Fields of :math:`\\tau^2` are 0
    and its interval, the prediction interval and ``tau2_std_error`` None for ``FE``.
    """

    method: str
    knapp_hartung: bool
    level: float
    scale: str
    measure: str | None
    k: int
    estimate: float
    std_error: float
    statistic: float
    df: int | None
    p_value: float
    ci_low: float
    ci_high: float
    pi_low: float | None
    pi_high: float | None
    tau2: float
    tau2_std_error: float | None
    tau2_ci_low: float | None
    tau2_ci_high: float | None
    tau: float
    i2: float
    i2_ci_low: float | None
    i2_ci_high: float | None
    h2: float
    h2_ci_low: float | None
    h2_ci_high: float | None
    q: float
    q_df: int
    q_p_value: float
    kh_scale: float | None
    ratio: float | None
    ratio_ci_low: float | None
    ratio_ci_high: float | None
    ratio_pi_low: float | None
    ratio_pi_high: float | None
    labels: tuple[str, ...]
    estimates: tuple[float, ...]
    std_errors: tuple[float, ...]
    weights: tuple[float, ...]
    notes: tuple[str, ...] = ()

    # -- refits -------------------------------------------------------------------------------

    def _fit(self, tau2_ci: bool = False) -> ModelFit:
        y, se = np.asarray(self.estimates), np.asarray(self.std_errors)
        return fit_model(y, se**2, np.ones((self.k, 1)), self.method, self.knapp_hartung,
                         self.level, tau2_ci=tau2_ci)

    def leave_one_out(self) -> LeaveOneOutResult:
        """The pooled estimate, its interval, :math:`\\tau^2`, :math:`I^2`, :math:`H^2` and Q
        with each study left out in turn (metafor's ``leave1out``); needs k >= 3."""
        return leave_one_out(self._fit(), self.labels, self.scale)

    def influence(self) -> InfluenceResult:
        """Case diagnostics as metafor's ``influence.rma.uni``
        (:mod:`preveval.pooling.influence`); needs k >= 3."""
        return influence(self._fit(), self.labels, ("estimate",))

    # -- views --------------------------------------------------------------------------------

    def study_intervals(self) -> tuple[np.ndarray, np.ndarray]:
        """Each study's own Wald interval at ``level`` (normal quantile), as in a forest plot."""
        y, se = np.asarray(self.estimates), np.asarray(self.std_errors)
        c = crit(self.level, None)
        return y - c * se, y + c * se

    def tidy(self) -> pd.DataFrame:
        """The forest-plot table: one row per study, then the pooled estimate and (for a
        random-effects method) the prediction interval (as ``ci_low``/``ci_high``)."""
        lo, hi = self.study_intervals()
        rows = [dict(term=lab, kind="study", estimate=y, std_error=s, ci_low=a, ci_high=b, weight=w)
                for lab, y, s, a, b, w in zip(self.labels, self.estimates, self.std_errors, lo, hi,
                                              self.weights, strict=True)]
        rows.append(dict(term=f"pooled ({self.method})", kind="pooled", estimate=self.estimate,
                         std_error=self.std_error, ci_low=self.ci_low, ci_high=self.ci_high, weight=100.0))
        if self.pi_low is not None:
            rows.append(dict(term="prediction interval", kind="prediction", estimate=self.estimate,
                             std_error=math.nan, ci_low=self.pi_low, ci_high=self.pi_high, weight=math.nan))
        df = pd.DataFrame(rows)
        if self.scale == "log":
            for c, r in (("estimate", "ratio"), ("ci_low", "ratio_ci_low"), ("ci_high", "ratio_ci_high")):
                df[r] = np.exp(df[c].astype(float))
        return df

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form: numbers, strings, lists; NaN and infinities become None."""
        return record_dict(self)

    def summary(self) -> str:
        """A few lines of plain text: model, pooled estimate, heterogeneity, prediction."""
        pct = f"{100 * self.level:g}%"
        model = "Fixed-effect" if self.method == "FE" else "Random-effects"
        head = f"{model} meta-analysis ({_NAMES[self.method]}), k = {self.k} studies"
        if self.knapp_hartung:
            head += f"; Knapp-Hartung t({self.df}) inference"
        what = self.measure or ("ratio" if self.scale == "log" else "estimate")
        if self.scale == "log":
            est = (f"Pooled {what}: {fmt(self.ratio, 3)} ({pct} CI {fmt(self.ratio_ci_low, 3)} to "
                   f"{fmt(self.ratio_ci_high, 3)}); log scale {fmt(self.estimate)} (SE {fmt(self.std_error)})")
        else:
            est = (f"Pooled {what}: {fmt(self.estimate)} (SE {fmt(self.std_error)}; {pct} CI "
                   f"{fmt(self.ci_low)} to {fmt(self.ci_high)})")
        lines = [head, f"{est}, {fmt_p(self.p_value)}"]
        het = f"Heterogeneity: Q({self.q_df}) = {fmt(self.q)}, {fmt_p(self.q_p_value)}; I^2 = {fmt(self.i2, 1)}%"
        if self.method != "FE":
            het += (f"; tau^2 = {fmt(self.tau2)} ({pct} CI {fmt(self.tau2_ci_low)} to "
                    f"{fmt(self.tau2_ci_high)}), tau = {fmt(self.tau)}")
        lines.append(het)
        if self.pi_low is not None:
            if self.scale == "log":
                lines.append(f"{pct} prediction interval: {fmt(self.ratio_pi_low, 3)} to {fmt(self.ratio_pi_high, 3)}")
            else:
                lines.append(f"{pct} prediction interval: {fmt(self.pi_low)} to {fmt(self.pi_high)}")
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"PoolResult(method={self.method!r}, k={self.k}, estimate={self.estimate:.4f}, "
                f"ci=({self.ci_low:.4f}, {self.ci_high:.4f}), tau2={self.tau2:.4f}, i2={self.i2:.1f}%)")

    def plot(self, *, xlabel: str | None = None, title: str | None = None) -> Figure:
        """A forest plot (:func:`preveval.pack.forest.plot_forest`): each study's estimate
        and interval with a box sized by its weight, the pooled diamond and the prediction
        interval; ratios on a log axis when ``scale="log"``. Returns the Figure."""
        from preveval.pack.forest import plot_forest

        log = self.scale == "log"

        def tr(x: Any) -> Any:
            return np.exp(np.asarray(x, dtype=float)) if log else np.asarray(x, dtype=float)

        lo, hi = self.study_intervals()
        if xlabel is None:
            name = self.measure or ("Ratio" if log else "Difference")
            xlabel = f"{name[:1].upper()}{name[1:]}" + (" (log scale)" if log else "")
        pi = None if self.pi_low is None or self.pi_high is None else (float(tr(self.pi_low)), float(tr(self.pi_high)))
        return plot_forest(
            labels=self.labels, estimates=tr(np.asarray(self.estimates)), ci_low=tr(lo), ci_high=tr(hi),
            weights=np.asarray(self.weights),
            pooled=(float(tr(self.estimate)), float(tr(self.ci_low)), float(tr(self.ci_high))),
            prediction=pi, log_scale=log, xlabel=xlabel, level=self.level,
            pooled_label=f"Pooled ({self.method}{', KH' if self.knapp_hartung else ''})", title=title)


def _result(s: Studies, f: ModelFit, scale: str, measure: str | None) -> PoolResult:
    mu, se, lo, hi, half = f.predict(np.ones(1))
    fe = f.method == "FE"
    pi_lo, pi_hi = (None, None) if fe else (mu - half, mu + half)
    tci = f.tau2_ci
    i2_ci = h2_ci = None
    if tci is not None:  # Viechtbauer 2007, section 4: the bounds of tau^2 carried to I^2, H^2
        i2_ci = tuple(100 * t / (f.vt + t) for t in tci)
        h2_ci = tuple(t / f.vt + 1 for t in tci)
    log = scale == "log"

    def ex(x: float | None) -> float | None:
        return None if (x is None or not log) else math.exp(x)

    return PoolResult(
        method=f.method, knapp_hartung=f.knapp_hartung, level=f.level, scale=scale, measure=measure,
        k=f.k, estimate=mu, std_error=se, statistic=float(f.stat[0]), df=f.df,
        p_value=float(f.p_values[0]), ci_low=lo, ci_high=hi, pi_low=pi_lo, pi_high=pi_hi,
        tau2=f.tau2, tau2_std_error=f.se_tau2, tau2_ci_low=None if tci is None else tci[0],
        tau2_ci_high=None if tci is None else tci[1], tau=math.sqrt(f.tau2), i2=f.i2,
        i2_ci_low=None if i2_ci is None else i2_ci[0], i2_ci_high=None if i2_ci is None else i2_ci[1],
        h2=f.h2, h2_ci_low=None if h2_ci is None else h2_ci[0], h2_ci_high=None if h2_ci is None else h2_ci[1],
        q=f.q, q_df=f.k - 1, q_p_value=f.q_p, kh_scale=f.s2w if f.knapp_hartung else None,
        ratio=ex(mu), ratio_ci_low=ex(lo), ratio_ci_high=ex(hi), ratio_pi_low=ex(pi_lo), ratio_pi_high=ex(pi_hi),
        labels=s.labels, estimates=tuple(map(float, s.y)), std_errors=tuple(map(float, s.se)),
        weights=tuple(map(float, f.weights_pct)), notes=f.notes)


def pool(estimates: Sequence[float] | np.ndarray | pd.Series, std_errors: Sequence[float] | np.ndarray | pd.Series,
         method: Method = "REML", knapp_hartung: bool = False, labels: Sequence[Any] | None = None,
         level: float = 0.95, scale: Scale = "difference", measure: str | None = None) -> PoolResult:
    r"""Pool study estimates by inverse-variance weighting (fixed or random effects).

    Parameters
    ----------
    estimates : array-like of float, shape (k,)
        Each study's estimate, on an additive scale: a difference, or a log ratio when
        ``scale="log"``. A pandas Series with a non-default index gives the labels.
    std_errors : array-like of float, shape (k,)
        Their standard errors (positive, finite).
    method : {"REML", "DL", "PM", "FE"}
        Estimator of the between-study variance :math:`\tau^2`: restricted maximum
        likelihood, DerSimonian-Laird, Paule-Mandel, or none (fixed effect, :math:`\tau^2=0`).
    knapp_hartung : bool
        Knapp-Hartung (Hartung-Knapp-Sidik-Jonkman) standard error and :math:`t_{k-1}`
        quantiles for the interval, p-value and prediction interval; the factor is not
        truncated at 1 (as metafor's ``test="knha"``).
    labels : sequence, optional
        Study labels (default ``"Study 1"``, ...); repeats are numbered.
    level : float
        Confidence level of every interval (default 0.95).
    scale : {"difference", "log"}
        ``"log"`` when the estimates are log ratios: the result then also gives ratios.
    measure : str, optional
        What the estimates measure, for labels (e.g. ``"risk ratio"``).

    Returns
    -------
    PoolResult

    Raises
    ------
    DataError
        When lengths differ, an estimate or standard error is missing, not finite or (for
        the standard error) not positive, naming the study; with no study; with one study
        and a method other than ``"FE"``, or with Knapp-Hartung.

    Notes
    -----
    Estimators, their standard errors and the Q-profile interval for :math:`\tau^2`
    (Viechtbauer 2007) are in :mod:`preveval.pooling.estimators`; the results reproduce
    R's metafor ``rma(yi, sei=..., method=...)``, ``confint`` and ``predict`` (see
    ``tests/pooling``).
    """
    m = check_options(method, level, scale)
    s = check_studies(estimates, std_errors, labels, m)
    if knapp_hartung and s.k < 2:
        raise DataError([Issue("the Knapp-Hartung adjustment needs at least two studies", path="knapp_hartung")])
    f = fit_model(s.y, s.v, np.ones((s.k, 1)), m, bool(knapp_hartung), float(level))
    return _result(s, f, scale, measure)
