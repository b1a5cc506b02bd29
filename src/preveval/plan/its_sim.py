r"""Simulated interrupted time series from the fitted pre-period model, fitted by the real ITS.

The declared model without its intervention terms is fitted to the periods before the
(first) intervention with the declared family. Each simulation draws a new series over the
whole span (and any extra post-period periods) from that fit, with the effect under study
added to the declared headline term:

.. math::

    \eta_t = x_t^\top \hat\beta_{\text{pre}} + d\,m\,h_t \;[+ \log E_t]

where :math:`h_t` is the design's own column of the headline term (``level_change``, or
``slope_change`` with ``impact: slope``), :math:`m \ge 0` the effect's size and :math:`d` its
direction. The noise is what the pre-period shows:

- ``gaussian``: AR(:math:`p`) errors with the Yule-Walker coefficients of the pre-period
  residuals (:math:`p` = ``ar_order`` under ``errors: ar``, else 1) and their variance;
- count families: Poisson counts (inverse CDF of a uniform) whose mean carries a gamma
  frailty with the estimated overdispersion (quasi-Poisson: variance :math:`\phi\mu`;
  negative binomial: :math:`\mu + \alpha\mu^2`); the uniforms come from a latent Gaussian
  AR(1) with the lag-1 autocorrelation of the Pearson residuals (a Gaussian copula), so the
  counts are autocorrelated as the pre-period is.

The same uniforms serve every effect size of one simulation (common random numbers): the
simulated counts rise or fall monotonically with :math:`m`. The series is then fitted by
:func:`preveval.methods.its.fit_its` with the declared family, errors and inference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from preveval.methods.its import build_design, build_its_series, fit_core, fit_its
from preveval.results.base import Estimate
from preveval.spec.models import Indicator, ItsAnalysis

__all__ = ["ItsSimulator", "extend_series", "yule_walker"]


def yule_walker(r: np.ndarray, order: int) -> tuple[np.ndarray, float]:
    """AR coefficients and innovation variance of ``r`` by the Yule-Walker equations."""
    r = np.asarray(r, dtype=float) - float(np.mean(r))
    n = len(r)
    acov = np.array([r[: n - k] @ r[k:] / n for k in range(order + 1)])
    if acov[0] <= 0:
        return np.zeros(order), 0.0
    R = np.array([[acov[abs(i - j)] for j in range(order)] for i in range(order)])
    phi = np.linalg.solve(R, acov[1:])
    # keep the process stationary (a near-unit root in a short pre-period is noise)
    if np.any(np.abs(np.roots(np.r_[1.0, -phi])) >= 0.98):
        phi = phi * 0.98 / max(1.0, float(np.max(np.abs(np.roots(np.r_[1.0, -phi])))))
    return phi, float(max(acov[0] - phi @ acov[1:], 1e-12))


def _ar_path(rng: np.random.Generator, phi: np.ndarray, n: int, burn: int = 100) -> np.ndarray:
    """A stationary AR path with unit-variance innovations (burn-in discarded)."""
    from scipy.signal import lfilter

    z = rng.standard_normal(n + burn)
    return np.asarray(lfilter([1.0], np.r_[1.0, -np.asarray(phi, dtype=float)], z))[burn:]


def extend_series(series: pd.DataFrame, extra: int) -> pd.DataFrame:
    """The series with ``extra`` more periods, offsets and covariates carried forward."""
    if extra <= 0:
        return series
    s = series.sort_values("t").reset_index(drop=True)
    last = s.iloc[[-1] * extra].copy().reset_index(drop=True)
    steps = np.arange(1, extra + 1)
    last["t"] = int(s["t"].iloc[-1]) + steps
    last["period"] = [s["period"].iloc[-1] + int(k) for k in steps]
    return pd.concat([s, last], ignore_index=True)


@dataclass
class ItsSimulator:
    """One ITS analysis made ready for simulation (picklable; designs are cached per length)."""

    analysis: ItsAnalysis
    indicator: Indicator
    series: pd.DataFrame
    outcome: str
    interventions: dict[str, int]
    head: str
    beta: np.ndarray = field(repr=False)
    null_terms: tuple[str, ...]
    family: str
    sigma2: float
    phi: np.ndarray
    dispersion: float
    alpha: float | None
    rho: float
    n_pre: int
    #: the longest extra post period simulated (the noise is drawn for it and cut)
    max_extra: int = 0
    _designs: dict[int, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, a: ItsAnalysis, frame: pd.DataFrame, *, indicator: Indicator, unit: str | None,
              interventions: dict[str, int], observed_last: int | None = None) -> ItsSimulator:
        """Fit the null model to the pre-period and keep what the draws need."""
        # the plan needs the headline estimate only: no sensitivity re-fits, and no
        # prevented-events simulation (which a count indicator would start)
        a = a.model_copy(update={"sensitivity": False})
        ind = indicator.model_copy(update={"kind": "rate"}) if indicator.kind == "count" else indicator
        series = build_its_series(a, frame, outcome=indicator.column, unit=unit).sort_values("t")
        series = series.reset_index(drop=True)
        design = build_design(a, series, outcome=indicator.column, interventions=interventions)
        first = next(iter(interventions))
        pre = f"{first}." if first else ""
        head = f"{pre}slope_change" if a.impact == "slope" else f"{pre}level_change"
        keep = [k for k, t in enumerate(design.terms) if t not in design.intervention_terms]
        before = design.t < min(interventions.values())
        if observed_last is not None:
            before &= design.t <= observed_last  # placeholder rows after the data are never learnt from
        X0 = design.X[before][:, keep]
        off = None if design.offset is None else design.offset[before]
        core = fit_core(a.family, "ols", design.y[before], X0, off, tuple(design.terms[k] for k in keep))
        beta = np.asarray(core.params, dtype=float)
        eta = X0 @ beta + (0.0 if off is None else off)
        resid = design.y[before] - (eta if design.link == "identity" or a.family == "gaussian" else np.exp(eta))
        sigma2, phi, rho, disp = 0.0, np.zeros(1), 0.0, 1.0
        if a.family == "gaussian":
            order = a.ar_order if a.errors == "ar" else 1
            phi, innov = yule_walker(resid, order)
            df = max(len(resid) - X0.shape[1], 1)
            sigma2 = float(resid @ resid / df)  # marginal variance of the errors
            rho = float(phi[0])
        else:
            mu = np.exp(eta)
            pearson = resid / np.sqrt(mu)
            rho = float(yule_walker(pearson, 1)[0][0])
            disp = float(core.dispersion) if a.family == "quasipoisson" else 1.0
        return cls(analysis=a, indicator=ind, series=series, outcome=indicator.column,
                   interventions=dict(interventions), head=head, beta=beta,
                   null_terms=tuple(design.terms[k] for k in keep), family=a.family, sigma2=sigma2,
                   phi=phi, dispersion=disp, alpha=core.alpha, rho=rho, n_pre=int(before.sum()))

    # ------------------------------------------------------------------ draws
    def _design(self, extra: int) -> tuple[pd.DataFrame, Any, np.ndarray, np.ndarray]:
        if extra not in self._designs:
            s = extend_series(self.series, extra)
            d = build_design(self.analysis, s, outcome=self.outcome, interventions=self.interventions)
            idx = [d.terms.index(t) for t in self.null_terms]
            eta0 = d.X[:, idx] @ self.beta + (0.0 if d.offset is None else d.offset)
            self._designs[extra] = (s, d, eta0, d.X[:, d.terms.index(self.head)])
        return self._designs[extra]

    def noise(self, rng: np.random.Generator, extra: int) -> dict[str, np.ndarray]:
        """The random numbers of one simulation (common to every effect size and length).

        They are drawn for the longest horizon (``max_extra`` more periods) and cut to the
        one asked for, so that a longer post period adds periods to the same series.
        """
        _, d, _, _ = self._design(extra)
        n0 = len(self.series)
        n_groups = int(d.group.max() - d.group.min()) + 1
        n_long = n0 + max(self.max_extra, extra)
        keep = n0 + extra
        if self.family == "gaussian":
            paths = [_ar_path(rng, self.phi, n_long)[:keep] for _ in range(n_groups)]
            scale = np.sqrt(self.sigma2 / max(_ar_variance(self.phi), 1e-12))
            return {"e": np.concatenate(paths) * scale}
        r = float(np.clip(self.rho, -0.95, 0.95))
        lat = np.concatenate([_ar_path(rng, np.array([r]), n_long)[:keep] for _ in range(n_groups)])
        w = np.concatenate([special.ndtr(rng.standard_normal(n_long))[:keep] for _ in range(n_groups)])
        u = special.ndtr(lat * np.sqrt(1 - r * r))
        return {"u": np.clip(u, 1e-12, 1 - 1e-12), "w": np.clip(w, 1e-12, 1 - 1e-12)}

    def draw(self, noise: dict[str, np.ndarray], effect: float, extra: int) -> pd.DataFrame:
        """The simulated series with ``effect`` (on the headline term's scale) added."""
        s, d, eta0, h = self._design(extra)
        eta = eta0 + effect * h
        if self.family == "gaussian":
            y = eta + noise["e"]
            y = np.exp(y) if d.transform == "log" else y
            if d.exposure is not None:
                y = y * d.exposure / float(self.analysis.rate_per)
        else:
            mu = np.exp(eta)
            if self.family == "quasipoisson" and self.dispersion > 1.0:
                k = mu / (self.dispersion - 1.0)
                mu = stats.gamma.ppf(noise["w"], k) * (self.dispersion - 1.0)
            elif self.family == "negative_binomial" and self.alpha:
                a = float(self.alpha)
                mu = mu * stats.gamma.ppf(noise["w"], 1.0 / a) * a
            y = stats.poisson.ppf(noise["u"], mu).astype(float)
        out = s.copy()
        n = len(s)
        out[self.outcome] = y[:n]
        if self.analysis.comparison is not None:
            out["comparison_outcome"] = y[n:]
        return out

    def fit(self, series: pd.DataFrame) -> Estimate:
        """The declared analysis' headline estimate on a simulated series."""
        r = fit_its(self.analysis, series, outcome=self.outcome, interventions=self.interventions,
                    indicator=self.indicator)
        return r.effect

    def describe(self) -> str:
        """The simulation model in words (for the plan's details)."""
        fam = {"gaussian": "normal errors", "poisson": "Poisson counts",
               "quasipoisson": f"quasi-Poisson counts (dispersion {self.dispersion:.2f})",
               "negative_binomial": f"negative binomial counts (alpha {self.alpha or 0:.3g})"}[self.family]
        ac = (f"AR({len(self.phi)}) errors, coefficients {', '.join(f'{p:.2f}' for p in self.phi)}"
              if self.family == "gaussian" else f"lag-1 autocorrelation {self.rho:.2f} (Gaussian copula)")
        return (f"series simulated from the declared model fitted to the {self.n_pre} periods before the "
                f"intervention ({', '.join(self.null_terms)}): {fam}, {ac}; the effect is added to the "
                f"model's {self.head} term and each series is fitted by the declared analysis")


def _ar_variance(phi: np.ndarray) -> float:
    """Variance of a stationary AR process with unit innovations (from its MA weights)."""
    psi = np.zeros(400)
    psi[0] = 1.0
    for k in range(1, 400):
        psi[k] = sum(phi[j] * psi[k - 1 - j] for j in range(min(len(phi), k)))
    return float(psi @ psi)
