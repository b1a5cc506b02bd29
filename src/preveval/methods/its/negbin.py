r"""The negative binomial (NB2) dispersion by profile likelihood.

For :math:`Y_i \sim \mathrm{NB2}(\mu_i, \alpha)`, :math:`\mathrm{Var}\,Y_i = \mu_i + \alpha\mu_i^2`,
:math:`\log\mu_i = x_i^\top\beta + o_i`, the profile log-likelihood
:math:`\ell_p(\alpha) = \max_\beta \ell(\beta, \alpha)` is maximised over :math:`\alpha > 0`.
By the envelope theorem its derivative is the partial score at :math:`\hat\beta(\alpha)`,

.. math::

    \frac{d\ell_p}{d\alpha} = \sum_i \Big[\frac{1}{\alpha^2}\Big(\log(1+\alpha\mu_i)
        - \sum_{j=0}^{y_i-1}\frac{\alpha}{1+\alpha j}\Big) + \frac{y_i-\mu_i}{\alpha(1+\alpha\mu_i)}\Big],

(:math:`\psi(y+1/\alpha)-\psi(1/\alpha) = \sum_{j<y} 1/(1/\alpha+j)` for whole counts), so
:math:`\hat\alpha` is the root of this one-dimensional function, found by bracketing on a
log scale and Brent's method (``scipy.optimize.brentq``) with :math:`\hat\beta(\alpha)` from
IRLS at each step. As :math:`\alpha \to 0` the derivative tends to
:math:`\tfrac12\sum_i[(y_i-\mu_i)^2-y_i]` at the Poisson fit: when that is not positive the
likelihood is largest at the boundary :math:`\alpha = 0` (no overdispersion; Cameron & Trivedi
2013, *Regression Analysis of Count Data*, 2nd ed., sec. 3.4) and the fit is Poisson, said in
``note``. Anything else that does not converge raises :class:`~preveval.errors.EstimationError`
rather than returning a Poisson fit in disguise. The result equals the joint maximum
likelihood of statsmodels' ``NegativeBinomial(loglike_method="nb2")`` and R's
``MASS::glm.nb`` (which alternates the same two steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from preveval.errors import EstimationError

__all__ = ["NbDispersion", "nb_dispersion", "nb_profile_score"]

#: Search range of the dispersion (alpha); 1e-9 is Poisson to any practical purpose.
ALPHA_LOW, ALPHA_HIGH = 1e-9, 1e6


@dataclass(frozen=True)
class NbDispersion:
    """The ML dispersion, the log-likelihood at it and how it was found."""

    alpha: float
    llf: float
    params: np.ndarray
    boundary: bool
    evaluations: int
    note: str = ""


def _digamma_difference(y: np.ndarray, k: float) -> np.ndarray:
    r""":math:`\psi(y + k) - \psi(k)` for whole counts ``y``: the finite sum when small, else digamma."""
    if y.max(initial=0) <= 2000:
        j = np.arange(int(y.max(initial=0)))
        terms = 1.0 / (k + j)
        cums = np.concatenate([[0.0], np.cumsum(terms)])
        return cums[y.astype(np.int64)]
    return special.digamma(y + k) - special.digamma(k)


def nb_profile_score(alpha: float, y: np.ndarray, mu: np.ndarray) -> float:
    """Derivative of the NB2 log-likelihood in ``alpha`` at means ``mu`` (see the module docstring)."""
    a = float(alpha)
    bracket = np.log1p(a * mu) - _digamma_difference(y, 1.0 / a)
    return float(np.sum(bracket / a**2 + (y - mu) / (a * (1.0 + a * mu))))


def _nb_loglik(alpha: float, y: np.ndarray, mu: np.ndarray) -> float:
    k = 1.0 / alpha
    return float(np.sum(special.gammaln(y + k) - special.gammaln(k) - special.gammaln(y + 1)
                        + k * np.log(k / (k + mu)) + y * np.log(mu / (k + mu))))


def nb_dispersion(y: np.ndarray, X: np.ndarray, offset: np.ndarray | None, start: np.ndarray) -> NbDispersion:
    """Maximum likelihood NB2 dispersion by the profile score (see the module docstring).

    Parameters
    ----------
    y, X, offset : ndarray
        Whole counts, design and log offset (or None).
    start : ndarray
        Starting coefficients (the Poisson estimates).

    Returns
    -------
    NbDispersion

    Raises
    ------
    EstimationError
        The dispersion cannot be bracketed or the fits do not converge.
    """
    y = np.asarray(y, dtype=float)
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
    if not np.allclose(y, np.round(y)) or (y < 0).any():
        raise EstimationError("the negative binomial model needs whole, non-negative counts")
    yi = np.round(y)
    beta = np.asarray(start, dtype=float)
    mu0 = np.exp(X @ beta + off)
    evaluations = 0

    def fit_at(alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """IRLS for beta at a fixed dispersion (log link), from the last solution."""
        nonlocal beta, evaluations
        evaluations += 1
        b = beta.copy()
        for _ in range(200):
            mu = np.exp(X @ b + off)
            w = mu / (1.0 + alpha * mu)
            z = X @ b + (yi - mu) / mu
            sw = np.sqrt(w)
            step = np.linalg.lstsq(X * sw[:, None], z * sw, rcond=None)[0] - b
            b = b + step
            if np.max(np.abs(step)) <= 1e-12 * (1.0 + np.max(np.abs(b))):
                break
        else:
            raise EstimationError(f"the negative binomial fit did not converge at dispersion {alpha:.3g}")
        if not np.all(np.isfinite(b)):
            raise EstimationError(f"the negative binomial fit diverged at dispersion {alpha:.3g}")
        beta = b
        return b, np.exp(X @ b + off)

    def score(log_alpha: float) -> float:
        a = math.exp(log_alpha)
        _, mu = fit_at(a)
        return nb_profile_score(a, yi, mu)

    at_zero = 0.5 * float(np.sum((yi - mu0) ** 2 - yi))
    if at_zero <= 0:
        poisson_llf = float(np.sum(yi * np.log(mu0) - mu0 - special.gammaln(yi + 1)))
        return NbDispersion(0.0, poisson_llf, beta, True, 0,
                            "no overdispersion: the likelihood is largest at dispersion 0, so the "
                            "negative binomial fit equals the Poisson fit")
    lo = math.log(ALPHA_LOW)
    if score(lo) <= 0:
        poisson_llf = float(np.sum(yi * np.log(mu0) - mu0 - special.gammaln(yi + 1)))
        return NbDispersion(0.0, poisson_llf, beta, True, evaluations,
                            "the overdispersion is negligible: the likelihood is largest at dispersion "
                            "0 to working precision, so the negative binomial fit equals the Poisson fit")
    hi = lo
    while True:
        hi += math.log(10.0)
        if hi > math.log(ALPHA_HIGH):
            raise EstimationError("the negative binomial dispersion could not be estimated (the likelihood "
                                  "keeps rising with the dispersion); check the counts for a few huge values")
        if score(hi) < 0:
            break
        lo = hi
    try:
        from scipy import optimize  # NB2 fits only: scipy.optimize is 0.1 s to import

        root = optimize.brentq(score, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps, maxiter=200)
    except (ValueError, RuntimeError) as exc:  # pragma: no cover - brentq failing on a bracket
        raise EstimationError(f"the negative binomial dispersion did not converge ({exc})") from None
    alpha = math.exp(root)
    params, mu = fit_at(alpha)
    return NbDispersion(alpha, _nb_loglik(alpha, yi, mu), params, False, evaluations)
