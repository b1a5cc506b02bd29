r"""Events prevented by the initiative: expected without it minus observed, after the start.

Estimand
--------
Over the post period :math:`\mathcal P` (every period from the first intervention's start,
phase-in periods included, since the initiative is active there),

.. math:: \Delta = \sum_{t \in \mathcal P} \hat\mu^{(0)}_t - \sum_{t \in \mathcal P} y_t,
          \qquad \hat\mu^{(0)}_t = g^{-1}(x^{(0)\top}_t \hat\beta [+ \log E_t])

where :math:`x^{(0)}_t` sets the intervention terms to 0 (the counterfactual). Per year:
:math:`\Delta / (|\mathcal P| / \text{periods per year})`. Positive = fewer events than
expected; negative = more.

Interval (seeded parametric simulation, ``reps`` draws, ``seed``): draw
:math:`\beta^* \sim N(\hat\beta, \hat V)`. With ``prevented_interval: prediction`` (default)
the counterfactual counts are then drawn from the model's own distribution — Poisson;
quasi-Poisson as a negative binomial with the same mean and variance
:math:`\phi\mu` (Poisson when :math:`\phi \le 1`); NB2 with the fitted :math:`\alpha`;
gaussian with the residual variance (AR(p) paths under ``errors: ar``) — so the interval
covers what would have been *counted* without the initiative, like the prediction
intervals of CausalImpact (Brodersen et al. 2015, *Ann Appl Stat* 9(1):247–274). With
``prevented_interval: mean`` it reflects coefficient uncertainty only (the expected number).
Percentile interval 2.5%–97.5%.

The coefficient draws are widened so that the expected number has the same reference
distribution as the coefficients' own intervals: by :math:`t_{0.975,\nu}/z_{0.975}` when
those use Student t, and under ``errors: hac`` by :math:`c/z_{0.975}` where :math:`c` is the
fixed-b critical value of the HAC t-statistic of the expected number itself — the linear
combination :math:`\nabla_\beta \sum_t \hat\mu^{(0)}_t` — simulated for the design
(:func:`~preveval.methods.its.hac.contrast_critical_value`). A counterfactual extrapolated by
the pre-trend is a contrast whose HAC variance is far more variable than that of the
intervention terms: with normal draws its 95% interval covered 75% in the AR(1) scenario of
``docs/its.md`` (n = 96); with the contrast's own critical value it covers nominally.
"""

from __future__ import annotations

import numpy as np

from preveval.methods.its.corefit import CoreFit
from preveval.methods.its.design import ItsDesign
from preveval.methods.its.hac import contrast_critical_value
from preveval.results.base import Prevented, quantile
from preveval.spec.models import ItsAnalysis

__all__ = ["prevented_events"]


def _count_multiplier(design: ItsDesign, rows: np.ndarray) -> np.ndarray | None:
    """Factor turning the model's mean into expected events (None if not on a count scale)."""
    if design.link == "log" and design.transform == "none":
        return np.ones(rows.sum())
    if design.link == "identity":
        if design.exposure is not None and design.rate_per is not None:
            return design.exposure[rows] / design.rate_per
        return np.ones(rows.sum())
    return None


def prevented_events(spec: ItsAnalysis, design: ItsDesign, core: CoreFit, *, ppy: float) -> Prevented | None:
    """Prevented events with a simulated 95% interval (see the module docstring).

    Parameters
    ----------
    spec : ItsAnalysis
        ``reps``, ``seed``, ``prevented_interval``, ``family``, ``errors`` are used.
    design : ItsDesign
    core : CoreFit
    ppy : float
        Periods per year.

    Returns
    -------
    Prevented or None
        None when the model is not on a count scale (log-transformed gaussian).
    """
    t_first = min(design.t0.values())
    rows = design.treated & (design.t >= t_first)
    mult = _count_multiplier(design, rows)
    if mult is None or rows.sum() == 0:
        return None
    Xc = design.counterfactual_X()[rows]
    off = np.zeros(rows.sum()) if design.offset is None else design.offset[rows]
    y = design.y[rows]
    observed = float(np.sum(y * (mult if design.link == "identity" else 1.0)))

    def mean_of(beta: np.ndarray) -> np.ndarray:
        eta = Xc @ beta.T if beta.ndim > 1 else Xc @ beta
        if design.link == "log":
            return np.exp(eta + (off[:, None] if beta.ndim > 1 else off))
        return eta * (mult[:, None] if beta.ndim > 1 else mult)

    expected = float(mean_of(core.params).sum())
    critical = _critical_value(design, core, Xc, mean_of(core.params), mult)
    scale = 1.0 if critical is None else critical / quantile(0.975)
    rng = np.random.default_rng(spec.seed)
    k = len(core.params)
    try:
        chol = np.linalg.cholesky(core.cov)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(core.cov)
        chol = v * np.sqrt(np.clip(w, 0, None))
    betas = core.params + scale * (rng.standard_normal((spec.reps, k)) @ chol.T)
    mu = mean_of(betas)  # (n_post, reps)
    if spec.prevented_interval == "prediction":
        mu = np.clip(mu, 0, None) if design.link == "log" else mu
        if (spec.family == "poisson" or (spec.family == "quasipoisson" and core.dispersion <= 1)
                or (spec.family == "negative_binomial" and not core.alpha)):
            draws = rng.poisson(mu)
        elif spec.family == "quasipoisson":
            phi = core.dispersion
            draws = rng.negative_binomial(np.maximum(mu, 1e-12) / (phi - 1), 1.0 / phi)
        elif spec.family == "negative_binomial":
            a = core.alpha or 1e-8
            draws = rng.negative_binomial(1.0 / a, 1.0 / (1.0 + a * np.maximum(mu, 1e-12)))
        else:
            z = rng.standard_normal(mu.shape) * np.sqrt(core.dispersion)
            if core.ar_params:
                from scipy.signal import lfilter  # AR errors only (scipy.signal is 0.1 s to import)

                z = lfilter([1.0], np.r_[1.0, -np.asarray(core.ar_params)], z, axis=0)
            draws = mu + z * mult[:, None]
        sims = draws.sum(axis=0) - observed
    else:
        sims = mu.sum(axis=0) - observed
    lo, hi = np.percentile(sims, [2.5, 97.5])
    years = float(rows.sum() / ppy)
    total = expected - observed
    return Prevented(
        total=total,
        ci_low=float(lo),
        ci_high=float(hi),
        per_year=total / years,
        per_year_low=float(lo) / years,
        per_year_high=float(hi) / years,
        years=years,
        expected=expected,
        observed=observed,
        interval=spec.prevented_interval,
        reps=spec.reps,
        seed=spec.seed,
        critical_value=critical,
    )


def _critical_value(design: ItsDesign, core: CoreFit, Xc: np.ndarray, mu0: np.ndarray,
                    mult: np.ndarray) -> float | None:
    """Critical value for the coefficient draws of the expected number (None: the normal's).

    The expected number is :math:`\\sum_t \\hat\\mu^{(0)}_t`; its gradient in the coefficients is
    :math:`X_c^\\top \\hat\\mu^{(0)}` on the log link and :math:`X_c^\\top m` (the count
    multipliers) on the identity link.
    """
    if core.hac_settings is not None:
        grad = Xc.T @ (mu0 if design.link == "log" else mult)
        c = contrast_critical_value(core, grad)
        if c is not None:
            return c
    if core.use_t and np.isfinite(core.df_resid) and core.df_resid > 0:
        return quantile(0.975, core.df_resid)
    return None
