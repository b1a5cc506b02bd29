r"""Randomization inference for a difference-in-differences effect with few treated units.

With few treated clusters, cluster-robust standard errors and the wild cluster bootstrap
over-reject (MacKinnon & Webb 2017, "Wild bootstrap inference for wildly different cluster
sizes", *J Appl Econometrics* 32(2):233-254; 2018, "The wild bootstrap for few (treated)
clusters", *Econometrics Journal* 21(2):114-135; Conley & Taber 2011, "Inference with
'difference in differences' with a small number of policy changes", *Rev Econ Stat*
93(1):113-125). Fisher randomization inference instead compares the estimate with the
estimates obtained when the treatment is re-assigned to other units: the treated units'
treatment paths (their treatment by period) are given to other sets of units, every
assignment of the paths to distinct units when there are at most ``reps`` of them
(``enumerated``), else ``reps`` seeded random assignments plus the observed one.

Statistic. Linear models: the estimated effect itself,
:math:`\hat\tau_\pi = r_\pi' W \tilde y / r_\pi' W r_\pi` with :math:`r_\pi` the re-assigned
treatment after absorbing the fixed effects and partialling out the covariates
(Frisch-Waugh-Lovell), as Conley & Taber's coefficient-based test. Poisson (PPML): the score
of the re-assigned treatment at the fit restricted to the null,
:math:`s_\pi = r_\pi^{(\hat\mu)\prime}(y - \hat\mu)`, with :math:`r_\pi^{(\hat\mu)}` demeaned with
the weights :math:`\hat\mu` (a score test needs one restricted fit per null, not one fit
per assignment).

p-value of :math:`H_0: \tau = \tau_0` under a constant effect: the share of assignments whose
statistic is at least as large in absolute value as the observed one, computed on the
outcome with the null effect removed (:math:`y - \tau_0 D` for linear models, the offset
:math:`\tau_0 D` for Poisson). It cannot be smaller than one over the number of assignments
(``min_p_value``). The 95% interval collects the :math:`\tau_0` not rejected at the 5% level
(test inversion): exactly for linear models, whose p-value changes only at known
breakpoints (when even far values are not rejected it is unbounded: infinite limits), and
for Poisson on a grid outward from the estimate refined by bisection at the outermost
accepted point, within rate ratios of 1/1000 to 1000 (a limit there is ``at_search_limit``:
no effect in the range could be ruled out on that side).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, islice, permutations

import numpy as np

from preveval.errors import EstimationError
from preveval.inference.fe_structure import compact_codes
from preveval.inference.fixed_effects import demean

__all__ = ["RandomizationResult", "randomization_test"]

#: Columns of re-assigned treatments demeaned at a time.
BLOCK = 512
_GRID_STEP = 0.25
_GRID_STEPS = 48
_DOUBLINGS = 12
_BISECTIONS = 60
#: Poisson intervals are searched over log rate ratios in [-POISSON_LIMIT, POISSON_LIMIT]
#: (rate ratios from 1/1000 to 1000); a limit of the interval at this bound means that no
#: effect within the search range could be ruled out on that side (``at_search_limit``).
POISSON_LIMIT = math.log(1000.0)


@dataclass(frozen=True)
class RandomizationResult:
    """A randomization test of a treatment effect and the interval that inverts it."""

    p_value: float
    ci_low: float
    ci_high: float
    statistic: str
    n_assignments: int
    enumerated: bool
    min_p_value: float
    n_treated_units: int
    n_units: int
    #: The interval reaches the bounds of the search (Poisson: rate ratios 1/1000 and 1000).
    at_search_limit: bool = False


def _assignments(n_units: int, treated: np.ndarray, identical: bool, reps: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Rows: for each assignment, the unit that receives each treated path (observed first)."""
    n1 = len(treated)
    count = math.comb(n_units, n1) if identical else math.perm(n_units, n1)
    if count <= reps:
        pick = combinations if identical else permutations
        rows = np.array(list(islice(pick(range(n_units), n1), count)), dtype=np.int64)
        obs = np.asarray(treated, dtype=np.int64)
        first = np.flatnonzero((np.sort(rows, axis=1) == np.sort(obs)).all(axis=1) if identical
                               else (rows == obs).all(axis=1))
        order = np.r_[first, np.setdiff1d(np.arange(count), first)]
        return rows[order], True
    draws = np.stack([rng.permutation(n_units)[:n1] for _ in range(reps)])
    return np.vstack([np.asarray(treated, dtype=np.int64)[None, :], draws]), False


def _paths(D: np.ndarray, unit: np.ndarray, time: np.ndarray, n_units: int, n_times: int) -> np.ndarray:
    """Treatment of every unit by period (0 where a unit has no row)."""
    P = np.zeros((n_units, n_times))
    P[unit, time] = D
    return P


def _residualise(M: np.ndarray, fe: Sequence[np.ndarray], w: np.ndarray | None, C: np.ndarray,
                 tol: float) -> np.ndarray:
    """Columns of ``M`` after absorbing the fixed effects and partialling out ``C`` (weighted).

    Frisch-Waugh-Lovell: ``M`` and ``C`` are demeaned together, then the demeaned ``M`` is
    regressed on the demeaned ``C``.
    """
    q = C.shape[1]
    both = np.column_stack([C, M])
    D = demean(np.asfortranarray(both), list(fe), w, tol=tol)[0] if fe else both.copy()
    Cd, Md = D[:, :q], D[:, q:]
    if q:
        Cw = Cd if w is None else Cd * w[:, None]
        Md = Md - Cd @ np.linalg.lstsq(Cw.T @ Cd, Cw.T @ Md, rcond=None)[0]
    return Md


class _Design:
    """The data of the test and the re-assigned treatments (built block by block)."""

    def __init__(self, y: np.ndarray, D: np.ndarray, C: np.ndarray, fe: Sequence[np.ndarray],
                 unit: np.ndarray, time: np.ndarray, weights: np.ndarray | None, offset: np.ndarray | None,
                 family: str, reps: int, seed: int) -> None:
        self.y, self.D, self.fe, self.w, self.family = y, D, list(fe), weights, family
        self.off = np.zeros(len(y)) if offset is None else offset
        self.unit, self.time = compact_codes(unit), compact_codes(time)
        self.n_units, n_times = int(self.unit.max()) + 1, int(self.time.max()) + 1
        P = _paths(D, self.unit, self.time, self.n_units, n_times)
        self.treated = np.flatnonzero(np.any(P != 0, axis=1))
        if self.treated.size == 0:
            raise EstimationError("randomization inference needs treated units")
        if self.treated.size == self.n_units:
            raise EstimationError("randomization inference needs units that were never treated")
        self.paths = P[self.treated]
        identical = bool(np.all(self.paths == self.paths[0]))
        rng = np.random.Generator(np.random.PCG64(seed))
        self.assign, self.enumerated = _assignments(self.n_units, self.treated, identical, reps, rng)
        self.C = C
        self.Dd = _residualise(D[:, None], self.fe, weights, C, 1e-12)[:, 0] if family == "gaussian" else None

    def blocks(self) -> list[np.ndarray]:
        """The re-assigned treatments, ``(n, b)`` per block of assignments."""
        out = []
        for start in range(0, len(self.assign), BLOCK):
            A = self.assign[start:start + BLOCK]
            M = np.zeros((len(self.y), len(A)))
            for j in range(A.shape[1]):
                own = self.unit[:, None] == A[None, :, j]
                M += own * self.paths[j, self.time][:, None]
            out.append(M)
        return out


def _linear_stats(d: _Design) -> tuple[np.ndarray, np.ndarray]:
    """Per assignment: the effect estimate ``a`` and its response ``b`` to the observed treatment."""
    w = d.w
    yd = _residualise(d.y[:, None], d.fe, w, d.C, 1e-12)[:, 0]
    a, b = [], []
    for M in d.blocks():
        R = _residualise(M, d.fe, w, d.C, 1e-12)
        Rw = R if w is None else R * w[:, None]
        den = np.einsum("ij,ij->j", Rw, R)
        if np.any(den <= 0):
            raise EstimationError("a re-assigned treatment is collinear with the fixed effects")
        a.append(Rw.T @ yd / den)
        assert d.Dd is not None
        b.append(Rw.T @ d.Dd / den)
    return np.concatenate(a), np.concatenate(b)


def _poisson_p(d: _Design, tau0: float) -> float:
    """Share of re-assignments whose PPML score at ``tau = tau0`` reaches the observed one."""
    from preveval.inference.ppml import fit_fepois

    r = fit_fepois(d.y, d.C, [f"c{j}" for j in range(d.C.shape[1])], d.fe, weights=d.w, vcov="classical",
                   offset=d.off + tau0 * d.D)
    keep = r.keep
    cw = np.asarray(r.weights, dtype=float)  # w * mu at the restricted fit
    mu = cw / (1.0 if d.w is None else d.w[keep])
    resid = (d.y[keep] - mu) * (1.0 if d.w is None else d.w[keep])
    fe = [compact_codes(np.asarray(c)[keep]) for c in d.fe]
    C = d.C[keep]
    scores = [_residualise(M[keep], fe, cw, C, 1e-12).T @ resid
              for M in [d.D[:, None], *d.blocks()]]
    s = np.concatenate(scores)
    obs, rest = abs(s[0]), np.abs(s[2:])  # s[1] is the observed assignment again
    scale = max(1.0, float(np.max(np.abs(s))))
    return float(np.mean(rest >= obs * (1 - 1e-10) - 1e-12 * scale))


def _linear_interval(a0: float, a: np.ndarray, b: np.ndarray, p_of, alpha: float) -> tuple[float, float]:  # noqa: ANN001
    r"""Exact hull of the accepted nulls of the linear test.

    :math:`|a_\pi - \tau_0 b_\pi| \ge |a_0 - \tau_0|` changes only where
    :math:`a_\pi - \tau_0 b_\pi = \pm(a_0 - \tau_0)`, so the p-value is constant between
    these breakpoints; it is evaluated at every breakpoint and between them, and the hull of
    the accepted set is returned (infinite when the outermost pieces are accepted).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        br = np.concatenate([(a - a0) / (b - 1.0), (a + a0) / (b + 1.0)])
    br = np.unique(br[np.isfinite(br)])
    if br.size == 0:
        return (-math.inf, math.inf) if p_of(a0) >= alpha else (float("nan"), float("nan"))
    mids = (br[:-1] + br[1:]) / 2
    span = max(1.0, float(br[-1] - br[0]))
    outer_lo, outer_hi = br[0] - span, br[-1] + span
    pts = np.concatenate([[outer_lo], br, mids, [outer_hi]])
    ok = np.array([p_of(float(x)) >= alpha for x in pts])
    if not ok.any():  # pragma: no cover - the estimate itself is always accepted
        return float("nan"), float("nan")
    acc = pts[ok]
    lo = -math.inf if ok[0] else float(acc.min())
    hi = math.inf if ok[-1] else float(acc.max())
    return lo, hi


def _invert(p_of, estimate: float, scale: float, alpha: float, limit: float) -> tuple[float, float]:  # noqa: ANN001
    """Hull of the nulls not rejected at level ``alpha`` within ``[-limit, limit]``, searched from ``estimate``.

    A side still accepted at the limit ends there (the search range bounds the interval).
    """
    if p_of(estimate) < alpha:  # pragma: no cover - the observed estimate is never rejected
        return float("nan"), float("nan")
    steps = np.arange(1, _GRID_STEPS + 1) * _GRID_STEP
    steps = np.concatenate([[0.0], steps, steps[-1] * 2.0 ** np.arange(1, _DOUBLINGS + 1)])
    ends = []
    for sign in (-1.0, 1.0):
        room = (limit - sign * estimate) / scale  # steps of `scale` to the limit on this side
        side = np.unique(np.minimum(steps, max(room, 0.0)))
        accepted = [True] + [p_of(estimate + sign * side[i] * scale) >= alpha for i in range(1, side.size)]
        last = int(np.flatnonzero(accepted)[-1])
        if last == side.size - 1:
            ends.append(sign * limit)
            continue
        lo, hi = side[last], side[last + 1]
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            if hi - lo <= 1e-10 * max(1.0, hi) or mid in (lo, hi):
                break
            if p_of(estimate + sign * mid * scale) >= alpha:
                lo = mid
            else:
                hi = mid
        ends.append(estimate + sign * 0.5 * (lo + hi) * scale)
    return min(ends), max(ends)


def randomization_test(
    y: np.ndarray,
    D: np.ndarray,
    C: np.ndarray,
    fe: Sequence[np.ndarray],
    unit: np.ndarray,
    time: np.ndarray,
    *,
    estimate: float,
    scale: float,
    family: str = "gaussian",
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    reps: int = 9999,
    seed: int = 20240101,
    level: float = 0.95,
) -> RandomizationResult:
    """Randomization test of the treatment effect and its interval (see the module docstring).

    Parameters
    ----------
    y, D : ndarray
        Outcome and treatment (0/1 or dose) of the rows used by the fit.
    C : ndarray
        ``(n, q)`` covariates (may have no columns).
    fe : sequence of ndarray
        Fixed-effect codes (unit and period, and any others).
    unit, time : ndarray
        The unit whose treatment path is re-assigned, and the period of each row.
    estimate : float
        The estimated effect (the interval is searched from it).
    scale : float
        A scale for the search grid (the effect's standard error).
    family : {"gaussian", "poisson"}
    weights, offset : ndarray, optional
        Regression weights; the log offset (Poisson).
    reps, seed : int
        Random assignments drawn when there are more than ``reps`` possible ones.
    level : float
        Confidence level of the interval.

    Returns
    -------
    RandomizationResult
    """
    y = np.asarray(y, dtype=float)
    D = np.asarray(D, dtype=float)
    C = np.asarray(C, dtype=float).reshape(len(y), -1)
    d = _Design(y, D, C, fe, np.asarray(unit), np.asarray(time), weights, offset, family, reps, seed)
    alpha = (1.0 - level) * (1 - 1e-9)  # 1 - 0.95 is 0.05000000000000004: p = 1/20 must be accepted
    grid = max(float(scale), 1e-8 * max(1.0, abs(estimate))) if np.isfinite(scale) and scale > 0 else max(1.0, abs(estimate))
    if family == "gaussian":
        a, b = _linear_stats(d)
        a0, rest_a, rest_b = a[0], a[1:], b[1:]
        tol = 1e-10

        def p_of(tau0: float) -> float:
            obs = abs(a0 - tau0)
            return float((1 + np.sum(np.abs(rest_a - tau0 * rest_b) >= obs * (1 - tol) - tol * max(1.0, abs(tau0))))
                         / (rest_a.size + 1))

        p0 = p_of(0.0)
        lo, hi = _linear_interval(a0, rest_a, rest_b, p_of, alpha)
        statistic = "the estimated effect"
    else:
        def p_of(tau0: float) -> float:
            share = _poisson_p(d, tau0)
            n = d.assign.shape[0] - 1
            return (1 + share * n) / (n + 1)

        statistic = "the score of the treatment at the null"
        from preveval.inference.mode import intervals_wanted

        p0 = p_of(0.0)
        lo, hi = (_invert(p_of, estimate, grid, alpha, POISSON_LIMIT) if intervals_wanted()
                  else (float("nan"), float("nan")))
    n_assign = int(d.assign.shape[0])
    at_limit = family != "gaussian" and max(abs(lo), abs(hi)) >= POISSON_LIMIT * (1 - 1e-12)
    return RandomizationResult(p0, lo, hi, statistic, n_assign, d.enumerated, 1.0 / n_assign,
                               int(d.treated.size), d.n_units, at_limit)
