r"""The random-effects (mixed-effects) model fitted once: :math:`\hat\tau^2`, then weighted
least squares with :math:`w_i = 1 / (v_i + \hat\tau^2)`, Wald or Knapp-Hartung inference,
Cochran's Q and :math:`I^2`/:math:`H^2`. :func:`fit_model` is the one core that
:func:`~preveval.pooling.pool`, :func:`~preveval.pooling.meta_regression` and the
leave-one-out and influence diagnostics call.

Inference on :math:`\beta` (Viechtbauer 2010, section 2.3):

* Wald (metafor ``test="z"``): :math:`\mathrm{Var}(\hat\beta) = (X^\top W X)^{-1}`, normal
  quantiles.
* Knapp and Hartung (2003), also Hartung (1999) and Sidik and Jonkman (2002) (metafor
  ``test="knha"``): :math:`\mathrm{Var}(\hat\beta) = s^2_w (X^\top W X)^{-1}` with

  .. math:: s^2_w = \frac{\sum_i w_i (y_i - x_i^\top\hat\beta)^2}{k - p} = \frac{Q(\hat\tau^2)}{k - p},

  and :math:`t_{k-p}` quantiles. As metafor, :math:`s^2_w` is **not** truncated at 1, so the
  adjusted interval can be narrower than the Wald one (the truncated variant is metafor's
  ``test="adhoc"``; Jackson et al. 2017, section 4.3). A note says when :math:`s^2_w < 1`.

References
----------
Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a
single covariate. *Stat Med* 22(17):2693-2710.
Jackson D, Law M, Rücker G, Schwarzer G (2017). The Hartung-Knapp modification for
random-effects meta-analysis. *Stat Med* 36(25):3923-3934.
Viechtbauer W (2010). *J Stat Softw* 36(3):1-48.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preveval.errors import EstimationError
from preveval.pooling._dist import chi2_sf, crit, two_sided_p
from preveval.pooling.estimators import (
    estimate_tau2,
    heterogeneity_shares,
    q_profile_ci,
    typical_variance,
    wls,
)

__all__ = ["ModelFit", "fit_model"]


@dataclass(frozen=True)
class ModelFit:
    """Everything one fit of the model gives (internal; results copy plain numbers out).

    ``vt`` is the typical sampling variance of :math:`I^2`. ``vb`` is the covariance of ``beta`` as used for inference (scaled by ``s2w`` under
    Knapp-Hartung); ``w`` are the random-effects weights; ``df`` is ``k - p`` under
    Knapp-Hartung and None for Wald (normal) inference.
    """

    method: str
    knapp_hartung: bool
    level: float
    y: np.ndarray
    v: np.ndarray
    X: np.ndarray
    tau2: float
    se_tau2: float | None
    tau2_ci: tuple[float, float] | None
    beta: np.ndarray
    vb: np.ndarray
    s2w: float
    w: np.ndarray
    q: float
    q_p: float
    vt: float
    i2: float
    h2: float
    notes: tuple[str, ...]

    @property
    def k(self) -> int:
        """Number of studies."""
        return int(self.X.shape[0])

    @property
    def p(self) -> int:
        """Number of coefficients."""
        return int(self.X.shape[1])

    @property
    def df(self) -> int | None:
        """Degrees of freedom of the t reference distribution, None for the normal."""
        return self.k - self.p if self.knapp_hartung else None

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the coefficients."""
        return np.sqrt(np.diag(self.vb))

    @property
    def crit(self) -> float:
        """Two-sided critical value for intervals at ``level``."""
        return crit(self.level, self.df)

    @property
    def stat(self) -> np.ndarray:
        """z (or t) statistics of the coefficients."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.beta / self.se

    @property
    def p_values(self) -> np.ndarray:
        """Two-sided p-values of the coefficients."""
        return np.array([two_sided_p(float(s), self.df) for s in self.stat])

    @property
    def weights_pct(self) -> np.ndarray:
        """Each study's share of the total weight, in percent (metafor's ``weights()``)."""
        return 100 * self.w / float(np.sum(self.w))

    def predict(self, x: np.ndarray) -> tuple[float, float, float, float, float]:
        r"""Prediction at covariates ``x``: estimate, SE, CI and prediction interval.

        As metafor's ``predict.rma``: :math:`\hat\mu \pm c\, \mathrm{SE}` and
        :math:`\hat\mu \pm c \sqrt{\mathrm{SE}^2 + \hat\tau^2}` with the same critical value
        :math:`c` (normal, or :math:`t_{k-p}` under Knapp-Hartung, whose SE includes
        :math:`s^2_w`). Returns (estimate, se, ci_low, ci_high) and the PI half-width last.
        """
        mu = float(x @ self.beta)
        se = float(np.sqrt(x @ self.vb @ x))
        c = self.crit
        return mu, se, mu - c * se, mu + c * se, c * float(np.sqrt(se**2 + self.tau2))


def fit_model(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, knapp_hartung: bool,
              level: float, tau2_ci: bool = True) -> ModelFit:
    """Fit the (mixed-)effects model of ``y`` with sampling variances ``v`` on ``X``.

    Parameters
    ----------
    y, v : ndarray, shape (k,)
        Estimates and their sampling variances (validated: finite, ``v > 0``).
    X : ndarray, shape (k, p)
        Design matrix of full column rank with ``k > p`` (``ones((k, 1))`` to pool).
    method : {"REML", "DL", "PM", "FE"}
        Estimator of :math:`\\tau^2` (see :mod:`preveval.pooling.estimators`).
    knapp_hartung : bool
        Knapp-Hartung standard errors and t(k - p) quantiles instead of Wald/normal.
    level : float
        Confidence level of the intervals.
    tau2_ci : bool
        Compute the Q-profile interval of :math:`\\tau^2` (not for ``FE``).
    """
    k, p = X.shape
    if knapp_hartung and k <= p:
        raise EstimationError(f"the Knapp-Hartung adjustment needs more studies ({k}) than coefficients ({p})")
    t2 = estimate_tau2(method, y, v, X)
    f = wls(y, v, X, t2.value)
    notes = list(t2.notes)
    s2w = 1.0
    if knapp_hartung:
        s2w = f.q / (k - p) if f.q > np.finfo(float).eps else 0.0
        if method == "FE":
            notes.append("the Knapp-Hartung adjustment is meant for random-effects models, not FE")
        if s2w < 1:
            notes.append(f"the Knapp-Hartung factor s2w = {s2w:.3g} is below 1 and narrows the "
                         "interval; it is not truncated (as metafor's test='knha')")
    q0 = max(0.0, wls(y, v, X, 0.0).q if t2.value != 0.0 else f.q)
    if k > p:
        i2, h2 = heterogeneity_shares(t2.value, q0, v, X, method)
        q_p, vt = chi2_sf(q0, k - p), typical_variance(v, X)
    else:  # one study pooled by FE: nothing to test
        i2 = h2 = q_p = vt = float("nan")
    ci = q_profile_ci(y, v, X, level) if (tau2_ci and method != "FE") else None
    return ModelFit(method=method, knapp_hartung=knapp_hartung, level=level, y=y, v=v, X=X,
                    tau2=t2.value, se_tau2=t2.std_error, tau2_ci=ci, beta=f.beta, vb=s2w * f.vb,
                    s2w=s2w, w=f.w, q=q0, q_p=q_p, vt=vt, i2=i2, h2=h2, notes=tuple(notes))
