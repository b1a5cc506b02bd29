r"""Aggregations of Callaway & Sant'Anna ATT(g, t), as R ``did::aggte`` (version 2.5.1).

With :math:`\hat P(G=g)` the (weighted) cohort shares and :math:`w_{gt}` the weights,
every aggregate is :math:`\hat\theta = \sum_{g,t} w_{gt}\,\widehat{ATT}(g,t)`
(Callaway & Sant'Anna 2021, Section 3.1, eq. 3.3-3.8):

* ``simple``: :math:`w_{gt} \propto P(G=g)\,1\{t \ge g\}`;
* ``dynamic`` (event study): for each event time :math:`e = t - g`,
  :math:`\theta_{es}(e) = \sum_g 1\{g + e \le \mathcal{T}\} P(G = g \mid G + e \le \mathcal{T})\,ATT(g, g+e)`
  (eq. 3.5); with ``balance_e`` only cohorts observed for :math:`e` = 0..``balance_e``
  (eq. 3.6); overall: the mean of :math:`\theta_{es}(e)` over :math:`e \ge 0` in the window;
* ``group``: :math:`\theta_{sel}(\tilde g) = \frac{1}{\mathcal{T} - \tilde g + 1}\sum_{t \ge \tilde g} ATT(\tilde g, t)`
  (eq. 3.7); overall :math:`\sum_g \theta_{sel}(g) P(G = g \mid G \le \mathcal{T})`;
* ``calendar``: :math:`\theta_c(t) = \sum_g 1\{g \le t\} P(G=g \mid G \le t)\,ATT(g,t)`
  (eq. 3.8); overall: the mean over periods.

The influence function of each aggregate adds that of the estimated weights
(R ``did:::wif``): for weights :math:`\hat p_k / \sum_j \hat p_j` over cells :math:`k`,

.. math::

    \psi^{w}_i = \sum_k \widehat{ATT}_k\Big[\frac{D_{ik} - \hat p_k}{\sum_j \hat p_j}
    - \frac{\sum_j (D_{ij} - \hat p_j)}{(\sum_j \hat p_j)^2}\,\hat p_k\Big],
    \qquad D_{ik} = w_i 1\{G_i = g_k\}.

Analytic standard errors :math:`\sqrt{n^{-2}\sum_i \psi_i^2}` (``bstrap = FALSE``), or the
multiplier bootstrap of :mod:`preveval.methods.did.multiplier` with the simultaneous sup-t
band over the rows (``bstrap = TRUE, cband = TRUE``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from preveval.errors import EstimationError
from preveval.methods.did.cells import GroupTimeCells
from preveval.methods.did.multiplier import multiplier_bootstrap
from preveval.results.base import Estimate, two_sided_p
from preveval.results.staggered import AggregateRow, MultiplierBootstrap, StaggeredAggregate

__all__ = ["BootstrapOptions", "aggregate_att", "aggregate_influence", "event_study_vector"]

KINDS = ("simple", "dynamic", "group", "calendar")


@dataclass(frozen=True)
class BootstrapOptions:
    """A multiplier bootstrap request: draws, multipliers (``rademacher`` or ``mammen``), seed, band level."""

    reps: int = 999
    weights_type: str = "rademacher"
    seed: int = 20240101
    level: float = 0.95


@dataclass(frozen=True, eq=False)
class AggregateInfluence:
    """Rows of an aggregation with their influence functions (n x rows) and those of the overall effect."""

    keys: np.ndarray
    estimates: np.ndarray
    inf: np.ndarray
    n_cells: np.ndarray
    overall: float
    overall_inf: np.ndarray


def _wif(keep: np.ndarray, pg: np.ndarray, w: np.ndarray, G: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Influence of the estimated weights ``pg[keep] / sum(pg[keep])`` (R ``did:::wif``)."""
    num = w[:, None] * (G[:, None] == groups[keep][None, :]) - pg[keep][None, :]
    tot = pg[keep].sum()
    return num / tot - np.outer(num.sum(axis=1), pg[keep] / tot**2)


def _wif_times(keep: np.ndarray, pg: np.ndarray, w: np.ndarray, G: np.ndarray, groups: np.ndarray,
               a: np.ndarray) -> np.ndarray:
    r"""``_wif(keep, ...) @ a`` without the units x cells matrix: with :math:`S_a(G_i)` the sum
    of ``a`` over the kept cells of unit i's group and :math:`S_1` their number,
    :math:`(w S_a - p'a)/P - (w S_1 - P)\,p'a/P^2` (``p`` the kept shares, ``P`` their sum)."""
    pk, gk = pg[keep], groups[keep]
    tot, pa = pk.sum(), pk @ a
    levels, inverse = np.unique(gk, return_inverse=True)
    sums, counts = np.bincount(inverse, weights=a), np.bincount(inverse).astype(float)
    at = np.clip(np.searchsorted(levels, G), 0, len(levels) - 1)
    hit = levels[at] == G
    s_a, s_1 = np.where(hit, sums[at], 0.0), np.where(hit, counts[at], 0.0)
    return (w * s_a - pa) / tot - (w * s_1 - tot) * pa / tot**2


def _weighted(att: np.ndarray, inf: np.ndarray, keep: np.ndarray, pg: np.ndarray, w: np.ndarray,
              G: np.ndarray, groups: np.ndarray, estimate_weights: bool = True) -> tuple[float, np.ndarray]:
    wts = pg[keep] / pg[keep].sum()
    psi = inf[:, keep] @ wts  # the kept columns only (a product with the whole matrix costs more)
    if estimate_weights:
        psi = psi + _wif_times(keep, pg, w, G, groups, att[keep])
    return float(wts @ att[keep]), psi


def _add(keys: list, ests: list, infs: list, counts: list, key: int, est: float, psi: np.ndarray, n: int) -> None:
    keys.append(key)
    ests.append(est)
    infs.append(psi)
    counts.append(n)


def aggregate_influence(cells: GroupTimeCells, kind: str = "dynamic", *, min_e: float = -np.inf,
                        max_e: float = np.inf, balance_e: int | None = None) -> AggregateInfluence:
    """The aggregated effects and their influence functions (see the module docstring)."""
    if kind not in KINDS:
        raise EstimationError(f"aggregation must be one of {', '.join(KINDS)} (got {kind!r})")
    g, t, att, inf = cells.group, cells.time, cells.att, cells.inf
    G, w = cells.unit_group, cells.unit_weight
    pg = cells.cohort_share
    e = t - g
    window = (g <= t) & (e >= min_e) & (e <= max_e)
    if not (g <= t).any():
        raise EstimationError("no post-treatment ATT(g,t) cells: nothing to aggregate")
    keys: list[int] = []
    ests: list[float] = []
    infs: list[np.ndarray] = []
    counts: list[int] = []
    if kind == "simple":
        keep = np.flatnonzero(window)
        if not keep.size:
            raise EstimationError("no post-treatment ATT(g,t) in the event-time window (min_e, max_e)")
        est, psi = _weighted(att, inf, keep, pg, w, G, g)
        return AggregateInfluence(np.zeros(0, int), np.zeros(0), np.zeros((len(G), 0)), np.zeros(0, int), est, psi)
    if kind == "dynamic":
        include = np.ones(len(att), dtype=bool)
        eseq = np.unique(e)
        if balance_e is not None:
            maxt = t.max()
            include = (maxt - g) >= balance_e
            eseq = np.unique(e[include])
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - maxt + cells.periods[0])]
        eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
        if not eseq.size:
            raise EstimationError("no event times fall within the window (min_e, max_e, balance_e)")
        for ev in eseq:
            keep = np.flatnonzero((e == ev) & include)
            est, psi = _weighted(att, inf, keep, pg, w, G, g)
            _add(keys, ests, infs, counts, int(ev), est, psi, keep.size)
        pos = np.array(keys) >= 0
        if not pos.any():
            raise EstimationError("no event time at or after treatment in the window")
        M = np.column_stack(infs)
        overall, overall_inf = float(np.mean(np.array(ests)[pos])), M[:, pos].mean(axis=1)
    elif kind == "group":
        glist = np.unique(g)
        empty = [int(c) for c in glist if not np.any((g == c) & window)]
        if empty:
            raise EstimationError(f"no post-treatment ATT(g,t) in the window for cohort(s) "
                                  f"{', '.join(cells.label(c) for c in empty)}")
        for c in glist:
            keep = np.flatnonzero((g == c) & window)
            est, psi = _weighted(att, inf, keep, pg, w, G, g, estimate_weights=False)
            _add(keys, ests, infs, counts, int(c), est, psi, keep.size)
        pgg = np.array([np.mean(w * (G == c)) for c in glist])
        M = np.column_stack(infs)
        allg = np.arange(len(glist))
        overall, overall_inf = _weighted(np.array(ests), M, allg, pgg, w, G, glist.astype(float))
    else:
        for tt in np.unique(t[t >= g.min()]):
            keep = np.flatnonzero((t == tt) & (g <= t))
            if not keep.size:
                continue
            est, psi = _weighted(att, inf, keep, pg, w, G, g)
            _add(keys, ests, infs, counts, int(tt), est, psi, keep.size)
        M = np.column_stack(infs)
        overall, overall_inf = float(np.mean(ests)), M.mean(axis=1)
    return AggregateInfluence(np.array(keys), np.array(ests), M, np.array(counts), overall, overall_inf)


def _se(psi: np.ndarray, n: int) -> float:
    s = float(np.sqrt(np.sum(psi**2)) / n)
    return s if np.isfinite(s) and s > 0 else float("nan")


def _estimate(term: str, est: float, se: float, n: int) -> Estimate:
    if not np.isfinite(se):
        return Estimate(term, est, None, None, None, None, n, "wald_normal")
    q = float(special.ndtri(0.975))
    return Estimate(term, est, se, est - q * se, est + q * se, two_sided_p(est / se), n, "wald_normal")


def aggregate_att(cells: GroupTimeCells, kind: str = "dynamic", *, min_e: float = -np.inf, max_e: float = np.inf,
                  balance_e: int | None = None, bootstrap: BootstrapOptions | None = None) -> StaggeredAggregate:
    r"""Aggregate ATT(g, t) as R ``did::aggte(type = kind)``.

    Estimand: see the module docstring (Callaway & Sant'Anna 2021, eq. 3.3-3.8). With
    ``bootstrap`` the standard errors of the rows and of the overall effect come from one
    set of seeded multiplier draws and the rows get a simultaneous band
    :math:`\hat\theta_k \pm \hat c_{1-\alpha}\hat\sigma_k` with the sup-t critical value
    :math:`\hat c` (falling back to the normal quantile when :math:`\hat c` is smaller, as
    R ``did`` does); without it, analytic standard errors and pointwise 95% intervals.

    Parameters
    ----------
    cells : GroupTimeCells
    kind : {"simple", "dynamic", "group", "calendar"}
    min_e, max_e : float
        Event-time window (``dynamic``, ``group`` and ``simple``; ignored by ``calendar``).
    balance_e : int, optional
        ``dynamic`` only: keep cohorts observed at event times 0..``balance_e``.
    bootstrap : BootstrapOptions, optional

    Returns
    -------
    StaggeredAggregate
    """
    if kind == "calendar":
        min_e, max_e, balance_e = -np.inf, np.inf, None
    agg = aggregate_influence(cells, kind, min_e=min_e, max_e=max_e, balance_e=balance_e)
    n = cells.n_units
    q = float(special.ndtri(0.975))
    boot = None
    crit, band = q, "pointwise"
    if bootstrap is None:
        row_se = np.array([_se(agg.inf[:, k], n) for k in range(agg.inf.shape[1])])
        overall_se = _se(agg.overall_inf, n)
    else:
        allinf = np.column_stack([agg.inf, agg.overall_inf])
        rows_only = np.arange(allinf.shape[1]) < agg.inf.shape[1]
        draws = multiplier_bootstrap(allinf, reps=bootstrap.reps, weights_type=bootstrap.weights_type,
                                     seed=bootstrap.seed, level=bootstrap.level, band=rows_only)
        row_se, overall_se = draws.std_error[:-1], float(draws.std_error[-1])
        fallback = False
        if agg.inf.shape[1]:
            crit = draws.critical_value
            band = "uniform"
            if not np.isfinite(crit) or crit < float(special.ndtri(0.5 + bootstrap.level / 2)):
                crit, band, fallback = float(special.ndtri(0.5 + bootstrap.level / 2)), "pointwise", True
        boot = MultiplierBootstrap(bootstrap.reps, bootstrap.weights_type, bootstrap.seed, bootstrap.level,
                                   float(crit), draws.n_clusters, fallback)
    rows = []
    for k, key in enumerate(agg.keys):
        est, s = float(agg.estimates[k]), float(row_se[k])
        ok = np.isfinite(s)
        label = str(key) if kind == "dynamic" else cells.label(key)
        rows.append(AggregateRow(int(key), label, est, s if ok else None, est - q * s if ok else None,
                                 est + q * s if ok else None, est - crit * s if ok else None,
                                 est + crit * s if ok else None, int(agg.n_cells[k])))
    overall = _estimate(f"att_{kind}", agg.overall, overall_se, n)
    if bootstrap is not None:
        from dataclasses import replace

        overall = replace(overall, interval_method="multiplier_bootstrap")
    return StaggeredAggregate(
        kind=kind, overall=overall, rows=tuple(rows), critical_value=float(crit), band=band,  # type: ignore[arg-type]
        inference="analytic" if bootstrap is None else "multiplier_bootstrap",
        min_e=None if not np.isfinite(min_e) else float(min_e), max_e=None if not np.isfinite(max_e) else float(max_e),
        balance_e=balance_e, bootstrap=boot,
    )


def event_study_vector(cells: GroupTimeCells, *, min_e: float = -np.inf,
                       max_e: float = np.inf) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    r"""Dynamic effects and their covariance for a sensitivity analysis (as R ``HonestDiD::honest_did``).

    Returns event times, estimates :math:`\hat\theta_{es}(e)` and their covariance
    :math:`\Psi'\Psi/n^2` from the influence functions, without the reference event time
    (:math:`e = -1 - \delta`, zero by construction under the universal base period), and the
    number of pre-period effects (:math:`e < -\delta - 1`). Needs ``base_period: universal``
    (with the varying base the pre-period effects are not deviations from one reference).
    """
    if cells.base_period != "universal":
        raise EstimationError("the sensitivity analysis needs the universal base period (base_period: universal)")
    agg = aggregate_influence(cells, "dynamic", min_e=min_e, max_e=max_e)
    ref = -1 - cells.anticipation
    keep = agg.keys != ref
    e, est, inf = agg.keys[keep], agg.estimates[keep], agg.inf[:, keep]
    n_pre = int(np.sum(e < ref))
    if n_pre < 1 or np.sum(e >= 0) < 1:
        raise EstimationError("the sensitivity analysis needs at least one pre-period and one post-period effect")
    window = (e < ref) | (e >= 0)  # leave out anticipation periods
    return e[window], est[window], (inf[:, window].T @ inf[:, window]) / cells.n_units**2, n_pre
