r"""Placebo inference for one treated unit, for any synthetic-control fitter.

A *fitter* is a callable ``fitter(target, pool, t0, t_end) -> path``: it builds the
synthetic counterfactual of row ``target`` of the outcome matrix from the rows ``pool``,
treating columns ``< t0`` as the pre-period and ``t0 .. t_end - 1`` as the post-period,
never looking at columns ``>= t_end``, and returns the ``(t_end,)`` counterfactual path.
:func:`abadie_fitter` and :func:`sdid_fitter` make one from an outcome matrix.

* **In space** (Abadie, Diamond & Hainmueller 2010, *JASA* 105(490), sec. 4.2-4.3): each
  donor is treated as if it were treated, with the other donors (not the treated unit) as
  its pool. The statistic is the ratio of post- to pre-period root mean squared gap,
  :math:`r_i = \mathrm{RMSPE}_{i,post} / \mathrm{RMSPE}_{i,pre}`, and the permutation
  p-value is the rank of the treated unit's ratio among all :math:`J + 1`,

  .. math:: p = \frac{1 + \#\{j \le J : r_j \ge r_1\}}{J + 1} \ \ge \frac{1}{J + 1}.

* **In time** (Abadie, Diamond & Hainmueller 2015, *AJPS* 59(2), sec. 4): a fake
  intervention date before the real one; the fit uses the periods before the fake date and
  the gap between the fake and the real date should be near zero.
* **Leave one out** (ADH 2015, sec. 4): refit without each donor that has positive weight.
* **Interval** for a constant additive effect by test inversion (Firpo & Possebom 2018,
  *J. Causal Inference* 6(2), sec. 4): see :func:`placebo_interval`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ...errors import EstimationError
from .abadie import fit_abadie, fit_outcome_path
from .sdid import Estimator, fit_sdid

__all__ = [
    "Fitter", "LeaveOneOut", "PlaceboInSpace", "PlaceboInTime", "PlaceboInterval",
    "abadie_fitter", "leave_one_out", "placebo_in_space", "placebo_in_time",
    "placebo_interval", "sdid_fitter",
]

Fitter = Callable[[int, np.ndarray, int, int], np.ndarray]
_TIE = 1e-12  # ratios within this relative distance of the treated's count as ties (>=)


@dataclass(frozen=True)
class PlaceboInSpace:
    """In-space placebo runs; row 0 of every array is the treated unit.

    Attributes
    ----------
    units : tuple of int
        Rows of the outcome matrix: the treated unit, then each donor.
    names : tuple of str
    gaps : numpy.ndarray
        ``(J + 1, T)`` observed minus synthetic, per unit (the placebo gap paths).
    rmspe_pre, rmspe_post, ratio : numpy.ndarray
        ``(J + 1,)`` pre- and post-period RMSPE and their ratio.
    p_value : float
        :math:`(1 + \\#\\{j: r_j \\ge r_1\\}) / (J + 1)`.
    rank : int
        Rank of the treated ratio, 1 = largest (ties counted against the treated).
    t0 : int
        First post-period column.
    """

    units: tuple[int, ...]
    names: tuple[str, ...]
    gaps: np.ndarray
    rmspe_pre: np.ndarray
    rmspe_post: np.ndarray
    ratio: np.ndarray
    p_value: float
    rank: int
    t0: int

    @property
    def n_placebos(self) -> int:
        """:math:`J`, the number of donors refitted as placebos."""
        return len(self.units) - 1

    @property
    def min_p_value(self) -> float:
        """The smallest attainable p-value, :math:`1/(J+1)`."""
        return 1.0 / len(self.units)


@dataclass(frozen=True)
class PlaceboInTime:
    """A fake intervention at column ``fake_t0`` (fit on the periods before it)."""

    fake_t0: int
    t0: int
    gap: np.ndarray
    rmspe_pre: float
    rmspe_fake_post: float
    mean_fake_post_gap: float


@dataclass(frozen=True)
class LeaveOneOut:
    """Refits without each positively weighted donor.

    ``gaps`` is ``(n_dropped, T)``; ``mean_post_gap`` their post-period means, beside
    ``base_mean_post_gap`` of the full fit.
    """

    dropped: tuple[int, ...]
    names: tuple[str, ...]
    gaps: np.ndarray
    mean_post_gap: np.ndarray
    base_gap: np.ndarray
    base_mean_post_gap: float


@dataclass(frozen=True)
class PlaceboInterval:
    """Confidence set for a constant additive effect, by inverting the placebo test.

    ``mean_*`` bound the per-period effect :math:`\\tau` (the average post-period gap
    under a constant effect), ``sum_*`` the total over the :math:`T_{post}` periods,
    :math:`T_{post}\\tau` (prevented events are minus this sum when the gap is observed
    minus counterfactual). ``level`` is the level asked; ``attained_level`` is
    :math:`1 - m/(J+1)`, the level the permutation grid guarantees. ``bounded`` is false
    when :math:`m = 0` (fewer than :math:`1/\\alpha - 1` donors): the set is the real
    line. ``empty`` is true when no constant effect is accepted (the gaps vary too much
    over the post-period for any constant effect).
    """

    level: float
    attained_level: float
    estimate_mean: float
    mean_low: float
    mean_high: float
    estimate_sum: float
    sum_low: float
    sum_high: float
    t_post: int
    bounded: bool
    empty: bool
    reason: str | None = None


def _rmspe(g: np.ndarray) -> float:
    return float(np.sqrt(np.mean(g**2))) if g.size else float("nan")


def _ratio(pre: float, post: float) -> float:
    if pre == 0.0:
        return float("inf") if post > 0 else float("nan")
    return post / pre


def _prepare(y, t0: int, treated: int):
    y = np.asarray(y, dtype=float)
    if y.ndim != 2:
        raise EstimationError(f"placebo: the outcome matrix must be units x periods, got {y.shape}")
    n, T = y.shape
    if not 0 <= treated < n:
        raise EstimationError(f"placebo: treated row {treated} is outside 0..{n - 1}")
    if not 1 <= t0 < T:
        raise EstimationError(f"placebo: t0 = {t0} needs at least one pre- and one post-period of {T}")
    donors = np.array([i for i in range(n) if i != treated], dtype=int)
    if donors.size < 2:
        raise EstimationError("placebo: at least two donors are needed")
    return y, donors


def _gap(y, fitter: Fitter, target: int, pool: np.ndarray, t0: int, t_end: int | None = None) -> np.ndarray:
    t_end = y.shape[1] if t_end is None else t_end
    path = np.asarray(fitter(target, pool, t0, t_end), dtype=float).ravel()
    if path.shape[0] != t_end:
        raise EstimationError(f"placebo: the fitter returned {path.shape[0]} periods, expected {t_end}")
    return y[target, :t_end] - path


def placebo_in_space(y, t0: int, fitter: Fitter, *, treated: int = 0,
                     names: Sequence[str] | None = None) -> PlaceboInSpace:
    """Refit with each donor as if treated (pool: the other donors) and rank the ratios.

    Parameters
    ----------
    y : array_like
        ``(N, T)`` outcomes; row ``treated`` is the treated unit, the others the donors.
    t0 : int
        First post-period column.
    fitter : Fitter
    treated : int, default 0
    names : sequence of str, optional
        Row names (default ``"0"``, ``"1"``, ...).

    Returns
    -------
    PlaceboInSpace
    """
    y, donors = _prepare(y, t0, treated)
    units = np.concatenate([[treated], donors])
    gaps = np.empty((units.size, y.shape[1]))
    gaps[0] = _gap(y, fitter, treated, donors, t0)
    for k, d in enumerate(donors, start=1):
        gaps[k] = _gap(y, fitter, int(d), donors[donors != d], t0)
    pre = np.array([_rmspe(g[:t0]) for g in gaps])
    post = np.array([_rmspe(g[t0:]) for g in gaps])
    ratio = np.array([_ratio(a, b) for a, b in zip(pre, post, strict=True)])
    r1 = ratio[0]
    if np.isnan(r1):
        raise EstimationError("placebo: the treated unit's RMSPE ratio is undefined (zero gaps throughout)")
    at_least = ratio[1:] >= r1 * (1.0 - _TIE) if np.isfinite(r1) else ratio[1:] == np.inf
    count = int(np.sum(at_least))
    all_names = tuple(names) if names is not None else tuple(str(i) for i in range(y.shape[0]))
    return PlaceboInSpace(
        units=tuple(int(u) for u in units), names=tuple(all_names[u] for u in units),
        gaps=gaps, rmspe_pre=pre, rmspe_post=post, ratio=ratio,
        p_value=(1 + count) / units.size, rank=1 + count, t0=t0,
    )


def placebo_in_time(y, t0: int, fake_t0: int, fitter: Fitter, *, treated: int = 0) -> PlaceboInTime:
    """Fit on the periods before ``fake_t0`` and report the gap up to the real ``t0``.

    The fake post-period is columns ``fake_t0 .. t0 - 1``; periods from ``t0`` on are not
    used or reported. A large fake-post gap relative to the pre-fit suggests the method
    would find an "effect" where none can be.
    """
    y, donors = _prepare(y, t0, treated)
    if not 1 <= fake_t0 < t0:
        raise EstimationError(f"placebo: the fake date {fake_t0} must lie strictly inside the pre-period 1..{t0 - 1}")
    g = _gap(y, fitter, treated, donors, fake_t0, t_end=t0)
    return PlaceboInTime(
        fake_t0=fake_t0, t0=t0, gap=g, rmspe_pre=_rmspe(g[:fake_t0]),
        rmspe_fake_post=_rmspe(g[fake_t0:]), mean_fake_post_gap=float(np.mean(g[fake_t0:])),
    )


def leave_one_out(y, t0: int, fitter: Fitter, weights, *, treated: int = 0,
                  names: Sequence[str] | None = None, threshold: float = 0.0) -> LeaveOneOut:
    """Refit without each donor whose weight exceeds ``threshold``.

    ``weights`` are the main fit's donor weights in the order of the non-treated rows.
    """
    y, donors = _prepare(y, t0, treated)
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape[0] != donors.size:
        raise EstimationError(f"placebo: {w.shape[0]} weights for {donors.size} donors")
    base = _gap(y, fitter, treated, donors, t0)
    dropped = donors[w > threshold]
    gaps = np.array([_gap(y, fitter, treated, donors[donors != d], t0) for d in dropped]).reshape(-1, y.shape[1])
    all_names = tuple(names) if names is not None else tuple(str(i) for i in range(y.shape[0]))
    return LeaveOneOut(
        dropped=tuple(int(d) for d in dropped), names=tuple(all_names[d] for d in dropped),
        gaps=gaps, mean_post_gap=gaps[:, t0:].mean(axis=1), base_gap=base,
        base_mean_post_gap=float(base[t0:].mean()),
    )


def placebo_interval(result: PlaceboInSpace, level: float = 0.95) -> PlaceboInterval:
    r"""Invert the in-space placebo test for a constant additive effect :math:`\tau`.

    Null :math:`H_0(\tau)`: the treated unit's effect is :math:`\tau` in every post-period
    and zero elsewhere. Under it the treated's adjusted gaps are :math:`g_t - \tau`; its
    pre-period RMSPE and the placebos' ratios do not change (their pools exclude the
    treated unit), so the test statistic is
    :math:`r_1(\tau) = \sqrt{\overline{(g - \tau)^2}_{post}} / \mathrm{RMSPE}_{1,pre}` and
    :math:`H_0(\tau)` is kept when :math:`p(\tau) > \alpha`. With
    :math:`m = \lfloor \alpha (J+1) \rfloor` and :math:`c` the :math:`m`-th largest placebo
    ratio, :math:`p(\tau) > \alpha \iff r_1(\tau) \le c`, which is the interval

    .. math::

        \tau \in \bar g_{post} \pm \sqrt{(c\,\mathrm{RMSPE}_{1,pre})^2 - s^2_{post}},
        \qquad s^2_{post} = \overline{(g - \bar g)^2}_{post}

    (empty when the root is imaginary; the real line when :math:`m = 0`). This is the
    confidence set of Firpo & Possebom (2018, sec. 4) for the constant-effect family, with
    the RMSPE-ratio statistic of ADH (2010).

    Coverage: if the effect is constant over the post-period and the treated unit is
    exchangeable with the donors (treatment as if assigned at random among the
    :math:`J + 1` units), the set covers :math:`\tau` with probability at least
    :math:`1 - m/(J+1)` (``attained_level``), up to the asymmetry that placebo pools lack
    the treated unit. It says nothing about effects that vary over time, and it is not a
    sampling interval over repeated draws of noise for a fixed unit.
    """
    if not 0 < level < 1:
        raise EstimationError(f"placebo: level must be in (0, 1), got {level}")
    g = result.gaps[0, result.t0:]
    t1 = g.size
    gbar = float(g.mean())
    s2 = float(np.mean((g - gbar) ** 2))
    n = len(result.units)
    alpha = 1.0 - level
    m = int(np.floor(alpha * n + 1e-9))
    attained = 1.0 - m / n

    def interval(low: float, high: float, bounded: bool, empty: bool, reason: str | None = None):
        return PlaceboInterval(
            level=level, attained_level=attained, estimate_mean=gbar, mean_low=low,
            mean_high=high, estimate_sum=gbar * t1, sum_low=low * t1, sum_high=high * t1,
            t_post=t1, bounded=bounded, empty=empty, reason=reason)

    if m == 0:
        return interval(-np.inf, np.inf, False, False,
                        f"{n - 1} placebos cannot reject at level {level}: need at least "
                        f"{int(np.ceil(1 / alpha)) - 1} donors")
    ratios = np.sort(result.ratio[1:])[::-1]
    c = float(ratios[m - 1])
    pre = float(result.rmspe_pre[0])
    radius2 = (c * pre) ** 2 - s2
    if not np.isfinite(radius2):
        return interval(-np.inf, np.inf, False, False,
                        "a placebo ratio is infinite (a perfect pre-period fit)")
    if radius2 < 0:
        return interval(np.nan, np.nan, True, True,
                        "no constant effect is accepted: the post-period gaps vary more than "
                        "the placebo distribution allows")
    h = float(np.sqrt(radius2))
    return interval(gbar - h, gbar + h, True, False)


def abadie_fitter(y, *, predictors=None, v="optimize", fit_periods: Sequence[int] | None = None,
                  max_restarts: int = 2) -> Fitter:
    """A :data:`Fitter` running :func:`~.abadie.fit_abadie` on rows of ``y``.

    ``predictors`` is a ``(k, N)`` matrix (one column per row of ``y``) used as given; by
    default the predictors are the outcome in each fit period. The fit periods are
    ``fit_periods`` (columns) restricted to ``< t0``, default every column ``< t0``; for a
    placebo in time give default predictors or ones measured before the fake date.
    ``v="outcome_path"`` (default predictors only) solves the outcome-path specification
    exactly (:func:`~.abadie.fit_outcome_path`). ``max_restarts`` is passed to
    :func:`~.abadie.fit_abadie` (fewer restarts are faster but may stop the re-fits at worse
    local optima, which moves the placebo distribution).
    """
    if v == "outcome_path" and predictors is not None:
        raise EstimationError("placebo: v='outcome_path' is for the default predictors (the outcome path)")
    y = np.asarray(y, dtype=float)
    x = None if predictors is None else np.asarray(predictors, dtype=float)

    def fit(target: int, pool: np.ndarray, t0: int, t_end: int) -> np.ndarray:
        cols = np.arange(t0) if fit_periods is None else np.array([c for c in fit_periods if c < t0], dtype=int)
        if cols.size == 0:
            raise EstimationError(f"placebo: no fit period before column {t0}")
        z1, z0 = y[target, cols], y[pool][:, cols].T
        if v == "outcome_path":
            return y[pool, :t_end].T @ fit_outcome_path(z1, z0).weights
        x1, x0 = (z1, z0) if x is None else (x[:, target], x[:, pool])
        res = fit_abadie(x1, x0, z1, z0, v=v, max_restarts=max_restarts)
        return y[pool, :t_end].T @ res.weights

    return fit


def sdid_fitter(y, *, estimator: Estimator = "sdid", **options) -> Fitter:
    """A :data:`Fitter` from :func:`~.sdid.fit_sdid`: its counterfactual path for the target
    (synthetic control plus the :math:`\\lambda`-weighted pre-period offset)."""
    y = np.asarray(y, dtype=float)

    def fit(target: int, pool: np.ndarray, t0: int, t_end: int) -> np.ndarray:
        rows = np.concatenate([pool, [target]])
        return fit_sdid(y[rows, :t_end], t0, n_control=pool.size, estimator=estimator,
                        **options).counterfactual

    return fit
