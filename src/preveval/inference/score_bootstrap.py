r"""Wild cluster score bootstrap for one coefficient of a Poisson (PPML) model.

The wild cluster bootstrap of :mod:`preveval.inference.wild_bootstrap` re-estimates a
linear model on every draw; for Poisson pseudo-maximum likelihood that would mean one
iterative fit per draw. The score bootstrap of Kline & Santos (2012) perturbs the
*scores* instead, which needs one restricted fit per hypothesised value:

1. Fit the model under :math:`H_0: \beta_j = \delta` (``x_j\delta`` moved into the offset),
   giving :math:`\tilde\mu`, the fixed effects partialled out of the design with the
   working weights :math:`w_i\tilde\mu_i` (:math:`\tilde X`), the information
   :math:`\tilde H = \tilde X' \mathrm{diag}(w\tilde\mu) \tilde X` and the cluster scores
   :math:`s_g = \sum_{i\in g} w_i \tilde x_i (y_i - \tilde\mu_i)` (the fixed effects'
   own scores are zero at the restricted fit, so the profiled score is the full one).
2. Form :math:`c_g = e_j'\tilde H^{-1} s_g`, the cluster contributions to the one-step
   estimate of :math:`\beta_j - \delta`.
3. The statistic is the score (LM) t-statistic
   :math:`t = \sum_g c_g / \sqrt{m\sum_g c_g^2}` and each draw of one weight per cluster
   gives :math:`t^*_b = \sum_g v_{gb} c_g / \sqrt{m\sum_g v_{gb}^2 c_g^2}`, with
   :math:`m = G/(G-1)`; the p-value is :math:`B^{-1}\sum_b 1\{|t^*_b| \ge |t|\}`. With
   Rademacher weights this is a sign-flip test of the cluster scores.

The confidence interval inverts the test: the hypothesised values whose p-value is at
least :math:`1 - \text{level}`, found by bisection from the cluster-robust interval
outwards (each step one restricted fit). Draws are those of the linear bootstrap (same
seed, weights and enumeration rule).

Reference: Kline, P. & Santos, A. (2012). A score based approach to wild bootstrap
inference. *Journal of Econometric Methods* 1(1): 23-41.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from preveval.errors import EstimationError
from preveval.inference.fe_structure import compact_codes
from preveval.inference.fixed_effects import demean
from preveval.inference.ppml import fit_fepois
from preveval.inference.wild_common import (
    WeightsType,
    cluster_sums,
    weight_draws,
)

__all__ = ["ScoreBootstrapResult", "ppml_score_bootstrap"]

_BISECTIONS = 40


@dataclass(frozen=True)
class ScoreBootstrapResult:
    """Score-bootstrap p-value of :math:`\\beta_j = 0` and the interval from inverting the test."""

    t_stat: float
    p_value: float
    ci_low: float
    ci_high: float
    reps: int
    weights_type: str
    n_clusters: int
    enumerated: bool


class _Test:
    """p-value of :math:`\\beta_j = \\delta` for any :math:`\\delta`, on fixed draws."""

    def __init__(self, y, X, names, fe, j, offset, weights, clusters, v) -> None:  # noqa: ANN001
        self.y, self.X, self.names, self.fe, self.j = y, X, list(names), fe, j
        self.off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
        self.w = weights
        self.codes = compact_codes(np.asarray(clusters))
        self.G = int(self.codes.max()) + 1
        self.v = v
        self.others = [i for i in range(X.shape[1]) if i != j]

    def contributions(self, delta: float) -> np.ndarray:
        """Cluster contributions :math:`c_g` under :math:`\\beta_j = \\delta`."""
        Xo = self.X[:, self.others]
        off = self.off + delta * self.X[:, self.j]
        r = fit_fepois(self.y, Xo, [self.names[i] for i in self.others], self.fe, weights=self.w,
                       vcov="classical", offset=off)
        keep = r.keep
        y, X = self.y[keep], self.X[keep]
        uw = np.ones(len(y)) if self.w is None else np.asarray(self.w, dtype=float)[keep]
        cw = np.asarray(r.weights, dtype=float)  # w * mu at the restricted fit
        mu = cw / uw
        fe = [np.asarray(c)[keep] for c in self.fe]
        Xd = demean(np.asfortranarray(X), fe, cw, tol=1e-12)[0] if fe else X
        H = (Xd * cw[:, None]).T @ Xd
        scores = Xd * (uw * (y - mu))[:, None]
        S = cluster_sums(self.codes[keep], self.G, scores)             # (G, k); empty clusters 0
        return S @ np.linalg.solve(H, np.eye(X.shape[1])[:, self.j])  # (G,)

    def stats(self, delta: float) -> tuple[float, float]:
        """(score t statistic, bootstrap p-value) under :math:`\\beta_j = \\delta`."""
        c = self.contributions(delta)
        G = len(c)
        m = G / (G - 1)
        den = np.sqrt(m * np.sum(c**2))
        if den <= 0:
            return float("nan"), float("nan")
        t = float(np.sum(c) / den)
        tb = (c @ self.v) / np.sqrt(m * ((c**2) @ (self.v**2)))
        # |t*| >= |t| up to rounding: the draws with all signs equal give t* = +-t summed in
        # another order, which near t = 0 differs from t by far more than a relative 1e-12
        # (numpy's pairwise sums changed that order); an absolute 1e-10 on the t scale
        # counts them as ties, as they are.
        return t, float(np.mean(np.abs(tb) >= abs(t) * (1 - 1e-12) - 1e-10))


def ppml_score_bootstrap(
    y: np.ndarray,
    X: np.ndarray,
    names: Sequence[str],
    fe: Sequence[np.ndarray],
    column: int,
    clusters: np.ndarray,
    *,
    offset: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    estimate: float,
    std_error: float,
    reps: int = 9999,
    weights_type: WeightsType = "auto",
    seed: int = 20240101,
    level: float = 0.95,
) -> ScoreBootstrapResult:
    """Score bootstrap p-value of :math:`\\beta_j = 0` and the inverted-test interval.

    ``y``, ``X`` (not demeaned), ``fe``, ``offset``, ``weights`` and ``clusters`` are the raw
    inputs of :func:`~preveval.inference.ppml.fit_fepois`; ``estimate`` and ``std_error``
    (the unrestricted estimate and its cluster-robust standard error) seed the search for
    the interval.
    """
    codes = compact_codes(np.asarray(clusters))
    G = int(codes.max()) + 1
    if G < 2:
        raise EstimationError("the score bootstrap needs at least 2 clusters")
    idx, points, kind, enumerated = weight_draws(G, reps, weights_type, seed)
    v = points[idx]
    test = _Test(np.asarray(y, float), np.asarray(X, float), names, list(fe), column, offset, weights, clusters, v)
    t0, p0 = test.stats(0.0)
    alpha = 1.0 - level

    def accepted(delta: float) -> bool:
        return test.stats(delta)[1] >= alpha

    def bound(sign: float) -> float:
        inside = estimate
        step = max(std_error, 1e-8)
        outside = estimate + sign * 2.0 * step
        k = 0
        while accepted(outside):
            inside, outside = outside, outside + sign * 2.0**k * step
            k += 1
            if k > 30:
                return sign * float("inf")
        for _ in range(_BISECTIONS):
            mid = 0.5 * (inside + outside)
            if accepted(mid):
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) < 1e-4 * step:
                break
        return inside

    from preveval.inference.mode import intervals_wanted

    if not intervals_wanted() or not accepted(estimate):
        lo = hi = float("nan")
    else:
        lo, hi = bound(-1.0), bound(1.0)
    return ScoreBootstrapResult(t0, p0, lo, hi, int(v.shape[1]), kind, G, bool(enumerated))
