r"""Callaway & Sant'Anna (2021) group-time cells: ATT(g, t), influence functions, cohort shares.

:func:`group_time_cells` computes every :math:`ATT(g,t)` of a staggered roll-out and the
unit-level influence functions behind them, and returns them as one frozen
:class:`GroupTimeCells` record that the aggregations (:mod:`preveval.methods.did.aggregate`),
the multiplier bootstrap (:mod:`preveval.methods.did.multiplier`) and the sensitivity
analysis read. Options as R ``did::att_gt`` (version 2.5.1):

* ``anticipation`` :math:`\delta \ge 0`: units may react :math:`\delta` periods before
  their first treated period :math:`g`; post-treatment cells use the base period
  :math:`b = g - \delta - 1`, not-yet-treated comparison units must be untreated until
  :math:`\max(t, b) + \delta`, and cohorts with :math:`g \le t_1 + \delta` are dropped;
* ``base_period``: ``varying`` (pre-treatment cells compare :math:`t` with :math:`t-1`) or
  ``universal`` (every cell of cohort :math:`g` compares with :math:`g-\delta-1`; the
  reference cell itself is reported as 0 with no standard error);
* ``allow_unbalanced_panel``: units missing some periods are kept and each cell is
  estimated as repeated cross-sections (R ``did``'s ``allow_unbalanced_panel = TRUE``,
  which routes the panel through ``DRDID::reg_did_rc``), the influence function summed
  within each unit; by default such units are dropped (a balanced panel is used).

Influence functions are scaled as R ``did``'s: :math:`\hat V = \Psi'\Psi / n^2` with
:math:`n` the number of units.

Reference: Callaway B, Sant'Anna PHC (2021). Difference-in-differences with multiple time
periods. *Journal of Econometrics* 225(2): 200-230, eq. 2.6-2.7 and Section 4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from preveval.errors import EstimationError
from preveval.methods.did.covariates import cell_att

__all__ = ["GroupTimeCells", "StaggeredOptions", "group_time_cells"]


@dataclass(frozen=True)
class StaggeredOptions:
    """Options of the Callaway–Sant'Anna cells beyond those of :class:`~preveval.spec.models.DidAnalysis`.

    ``anticipation`` (periods, R ``did``'s ``anticipation``), ``base_period``
    (``varying`` or ``universal``) and ``allow_unbalanced_panel`` (keep units missing
    periods, estimated as repeated cross-sections). :meth:`from_spec` reads fields of the
    same names from an analysis when it has them.
    """

    anticipation: int = 0
    base_period: Literal["varying", "universal"] = "varying"
    allow_unbalanced_panel: bool = False

    def __post_init__(self) -> None:
        if int(self.anticipation) != self.anticipation or self.anticipation < 0:
            raise EstimationError(f"anticipation must be a whole number of periods >= 0 (got {self.anticipation})")
        if self.base_period not in ("varying", "universal"):
            raise EstimationError(f"base_period must be 'varying' or 'universal' (got {self.base_period!r})")

    @classmethod
    def from_spec(cls, spec: Any) -> StaggeredOptions:
        """The options an analysis declares (defaults for fields it does not have)."""
        return cls(int(getattr(spec, "anticipation", 0) or 0), getattr(spec, "base_period", "varying") or "varying",
                   bool(getattr(spec, "allow_unbalanced_panel", False)))


def _read_only(a: np.ndarray) -> np.ndarray:
    """``a`` itself, made read-only (an array no one else holds: no copy)."""
    a.setflags(write=False)
    return a


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class GroupTimeCells:
    r"""Every estimated ATT(g, t) of a staggered design and what the aggregations need.

    Arrays over cells: ``group`` (first treated period :math:`g`, as an ordinal),
    ``time`` (:math:`t`), ``base`` (the base period compared with), ``att``, ``n_treated``,
    ``n_control``, ``reference`` (the universal base cell, 0 by construction). Over units
    (the :math:`n` units used, in the order of ``unit_codes``, codes of the prepared data):
    ``unit_group`` (:math:`G_i`, 0 = never treated in the window) and ``unit_weight``.
    ``inf`` is the :math:`n \times` cells matrix of influence functions
    (:math:`\hat V = \Psi'\Psi/n^2`). All arrays are read-only.
    """

    group: np.ndarray
    time: np.ndarray
    base: np.ndarray
    att: np.ndarray
    inf: np.ndarray
    n_treated: np.ndarray
    n_control: np.ndarray
    reference: np.ndarray
    unit_group: np.ndarray
    unit_weight: np.ndarray
    unit_codes: np.ndarray
    periods: np.ndarray
    control: str
    anticipation: int = 0
    base_period: str = "varying"
    unbalanced: bool = False
    skipped: tuple[str, ...] = ()
    labels: dict[int, str] = field(default_factory=dict)

    @property
    def n_units(self) -> int:
        """Number of units behind the cells."""
        return int(self.inf.shape[0])

    @property
    def event_time(self) -> np.ndarray:
        """:math:`e = t - g` of every cell."""
        return self.time - self.group

    @property
    def post(self) -> np.ndarray:
        """Cells at or after treatment (:math:`t \\ge g`)."""
        return self.time >= self.group

    @property
    def cohort_share(self) -> np.ndarray:
        """:math:`\\hat P(G = g)` of each cell's cohort (weighted share of the units)."""
        share = {g: np.mean(self.unit_weight * (self.unit_group == g)) for g in np.unique(self.group).tolist()}
        return np.array([share[g] for g in self.group.tolist()], dtype=float)

    @property
    def std_error(self) -> np.ndarray:
        """Analytic standard error of each ATT(g, t) (R ``did``, ``bstrap = FALSE``)."""
        return np.sqrt(np.sum(self.inf**2, axis=0)) / self.n_units

    def label(self, ordinal: float) -> str:
        """A period as written in the data."""
        return self.labels.get(int(ordinal), str(int(ordinal)))


def _base_index(j: int, g: float, periods: np.ndarray, a: int, universal: bool) -> int | None:
    """Index of the base period of cell (g, periods[j]) as R ``did`` 2.5.1 sets ``pret``."""
    before = np.flatnonzero(periods + a < g)
    last = int(before[-1]) if before.size else None
    if universal or g <= periods[j]:
        return last
    return j - 1


def _rc_cell(y: np.ndarray, D: np.ndarray, post: np.ndarray, X: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    r"""Outcome-regression DiD for repeated cross-sections (Sant'Anna & Zhao 2020; ``DRDID::reg_did_rc``).

    .. math::

        \hat\tau = \bar y_{D=1,post} - \bar y_{D=1,pre}
        - \overline{X'(\hat\gamma_{post} - \hat\gamma_{pre})}_{D=1},

    :math:`\hat\gamma_p` the OLS fit of :math:`y` on :math:`X` among comparison rows of
    period :math:`p`. Returns the estimate and its influence function on the rows.
    """
    n = len(y)
    w = w / w.mean()
    fits, lins = [], []
    for p in (0, 1):
        wo = w * (1 - D) * (post == p)
        xtx = (X * wo[:, None]).T @ X / n
        if np.linalg.matrix_rank(xtx) < X.shape[1]:
            raise EstimationError("the covariates are collinear among the comparison units of a cell")
        inv = np.linalg.inv(xtx)
        gam = inv @ ((X * wo[:, None]).T @ y / n)
        fit = X @ gam
        fits.append(fit)
        lins.append(((wo * (y - fit))[:, None] * X) @ inv)
    w_pre, w_post, w_c = w * D * (1 - post), w * D * post, w * D
    if w_pre.sum() <= 0 or w_post.sum() <= 0:
        raise EstimationError("the cohort is not observed in both periods of a cell")
    eta_pre = np.mean(w_pre * y) / np.mean(w_pre)
    eta_post = np.mean(w_post * y) / np.mean(w_post)
    cont = w_c * (fits[1] - fits[0])
    eta_c = np.mean(cont) / np.mean(w_c)
    inf_treat = (w_post * y - w_post * eta_post) / np.mean(w_post) - (w_pre * y - w_pre * eta_pre) / np.mean(w_pre)
    m1 = np.mean(w_c[:, None] * X, axis=0)
    inf_c = (cont - w_c * eta_c + lins[1] @ m1 - lins[0] @ m1) / np.mean(w_c)
    return float(eta_post - eta_pre - eta_c), inf_treat - inf_c


def _comparison(G: np.ndarray, g: float, control: str, threshold: float) -> np.ndarray:
    if control == "never_treated":
        return G == 0
    return (G == 0) | ((G > threshold) & (G != g))


def group_time_cells(
    Y: np.ndarray,
    G: np.ndarray,
    periods: np.ndarray,
    control: str,
    *,
    Xp: np.ndarray | None = None,
    method: str = "dr",
    weights: np.ndarray | None = None,
    options: StaggeredOptions | None = None,
    unit_codes: np.ndarray | None = None,
    labels: dict[int, str] | None = None,
    label: Callable[[float], str] = lambda o: str(int(o)),
) -> GroupTimeCells:
    r"""All ATT(g, t) of a staggered roll-out with their influence functions.

    For cohort :math:`g` and period :math:`t` with base period :math:`b` (see the module
    docstring),

    .. math::

        ATT(g,t) = E[Y_t - Y_b \mid G = g] - E[Y_t - Y_b \mid C_{g,t}],

    Callaway & Sant'Anna (2021) eq. 2.6 (unconditional) or, with covariates, the doubly
    robust / outcome-regression cell of :func:`preveval.methods.did.covariates.cell_att`.

    Parameters
    ----------
    Y : ndarray (units x periods)
        Outcomes; NaN where a unit is not observed (kept only with
        ``options.allow_unbalanced_panel``).
    G : ndarray (units,)
        First treated period of each unit (0 = never treated within the window).
    periods : ndarray
        The period ordinals (consecutive integers), columns of ``Y``.
    control : {"never_treated", "not_yet_treated"}
    Xp : ndarray (units x periods x k), optional
        Covariates (taken at each cell's base period; at each row's own period for
        repeated cross-sections).
    method : {"dr", "reg"}
    weights : ndarray (units,), optional
        Unit weights.
    options : StaggeredOptions, optional
    unit_codes, labels
        Codes of the units in the prepared data, and period labels, carried into the record.

    Returns
    -------
    GroupTimeCells
    """
    opt = options or StaggeredOptions()
    a = int(opt.anticipation)
    universal = opt.base_period == "universal"
    n = Y.shape[0]
    wu = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    observed = ~np.isnan(Y)
    unbalanced = not observed.all()
    if unbalanced and not opt.allow_unbalanced_panel:
        raise EstimationError("the panel is unbalanced: drop incomplete units or set allow_unbalanced_panel")
    if unbalanced and Xp is not None and method == "dr":
        raise EstimationError("with an unbalanced panel the covariate-adjusted cells use outcome regression: "
                              "set cs_method: reg")
    cohorts = [g for g in np.unique(G[G > 0]) if g > periods[0] + a]
    rows: list[tuple[float, int, int, int, int, bool, float]] = []
    # the influence functions, one column per cell, written in place (Fortran order): pages of
    # the columns no cell uses are never touched, so the bound costs no memory
    ifs = np.empty((n, max(1, len(cohorts) * len(periods))), order="F")
    skipped: list[str] = []
    start = 0 if universal else 1
    if Xp is None and not unbalanced and bool(np.all(wu > 0)):
        cohorts = []  # every cell is a difference of weighted mean changes: all at once, cohort by cohort
        _unconditional_cells(Y, G, periods, control, wu, a, universal, rows, ifs)
    for g in cohorts:
        treat = G == g
        for j in range(start, len(periods)):
            t = int(periods[j])
            b = _base_index(j, g, periods, a, universal)
            if b is None:
                break
            if universal and b == j:
                rows.append((g, t, int(periods[b]), int(treat.sum()), 0, True, 0.0))
                ifs[:, len(rows) - 1] = 0.0
                continue
            ctrl = _comparison(G, g, control, periods[max(j, b)] + a)
            if not ctrl.any():
                continue
            try:
                if unbalanced:
                    att, inf = _unbalanced_cell(Y, Xp, treat, ctrl, j, b, wu)
                else:
                    att, inf = _panel_cell(Y, Xp, treat, ctrl, j, b, method, wu)
            except (EstimationError, np.linalg.LinAlgError) as exc:
                skipped.append(f"ATT({label(g)}, {label(t)}): {exc}")
                continue
            rows.append((g, t, int(periods[b]), int((treat & observed[:, j]).sum()),
                         int((ctrl & observed[:, j]).sum()), False, att))
            ifs[:, len(rows) - 1] = inf
    arr = np.array([r[:6] for r in rows], dtype=float).reshape(-1, 6)
    return GroupTimeCells(
        group=_frozen(arr[:, 0].astype(np.int64)), time=_frozen(arr[:, 1].astype(np.int64)),
        base=_frozen(arr[:, 2].astype(np.int64)), att=_frozen(np.array([r[6] for r in rows], dtype=float)),
        inf=_read_only(ifs[:, :len(rows)]),
        n_treated=_frozen(arr[:, 3].astype(np.int64)), n_control=_frozen(arr[:, 4].astype(np.int64)),
        reference=_frozen(arr[:, 5].astype(bool)), unit_group=_frozen(G.astype(float)), unit_weight=_frozen(wu),
        unit_codes=_frozen(np.arange(n) if unit_codes is None else unit_codes), periods=_frozen(periods),
        control=control, anticipation=a, base_period=opt.base_period, unbalanced=unbalanced,
        skipped=tuple(skipped), labels=dict(labels or {}),
    )


def _unconditional_cells(Y: np.ndarray, G: np.ndarray, periods: np.ndarray, control: str, wu: np.ndarray, a: int,
                         universal: bool, rows: list[tuple[float, int, int, int, int, bool, float]],
                         ifs: np.ndarray) -> None:
    r"""Every cell of a balanced panel without covariates, cohort by cohort (appended to ``rows`` and ``ifs``).

    With :math:`\Delta_i = Y_{it} - Y_{ib}`, treated units :math:`T = \{G_i = g\}` and
    comparison units :math:`C`, the cell of :func:`preveval.methods.did.covariates.cell_att`
    without covariates is

    .. math::

        \widehat{ATT}(g,t) = \bar\Delta_T - \bar\Delta_C, \qquad
        \psi_i = n\,w_i \Big[\frac{1\{i \in T\}(\Delta_i - \bar\Delta_T)}{\sum_T w}
        - \frac{1\{i \in C\}(\Delta_i - \bar\Delta_C)}{\sum_C w}\Big]

    (weighted means). Comparison groups are unions of cohorts, so the weighted sums of
    :math:`\Delta` by cohort (one matrix product per cohort :math:`g` over all its periods)
    give every cell's means; the per-cell passes over the units of
    :func:`_panel_cell` are avoided. The same cells, in the same order, as the general
    loop of :func:`group_time_cells` (equal up to the order of the sums, about 1e-15
    relative). Needs positive weights.
    """
    n, n_periods = Y.shape
    levels, code = np.unique(G, return_inverse=True)
    n_levels = len(levels)
    ind = np.zeros((n, n_levels))
    ind[np.arange(n), code] = wu
    wsum = np.bincount(code, weights=wu, minlength=n_levels)
    count = np.bincount(code, minlength=n_levels)
    Yf = np.asfortranarray(Y)  # one column per period: the cells' columns are read whole
    unit_weights = bool(np.all(wu == 1.0))
    start = 0 if universal else 1
    col = len(rows)
    for g in levels[(levels > 0) & (levels > periods[0] + a)]:
        k = int(np.searchsorted(levels, g))
        last = int(np.flatnonzero(periods + a < g)[-1])
        j = np.arange(start, n_periods)
        b = np.where(universal | (g <= periods[j]), last, j - 1)
        ref = universal & (b == j)
        thr = periods[np.maximum(j, b)] + a
        if control == "never_treated":
            member = np.broadcast_to(levels == 0, (len(j), n_levels))
        else:
            member = (levels == 0) | ((levels > thr[:, None]) & (levels != g))
        member = member & ~ref[:, None]
        n_ctrl = member @ count
        keep = ref | (n_ctrl > 0)
        j, b, ref, member, n_ctrl = j[keep], b[keep], ref[keep], member[keep], n_ctrl[keep]
        m = len(j)
        if not m:
            continue
        block = ifs[:, col:col + m]
        for c in range(m):
            np.subtract(Yf[:, j[c]], Yf[:, b[c]], out=block[:, c])
        need = member.any(axis=0)
        need[k] = True
        sums = np.zeros((n_levels, m))
        sums[need] = (block.T @ ind[:, need]).T
        eta_t = sums[k] / wsum[k]
        w_c = member @ wsum
        safe = np.where(ref, 1.0, w_c)
        eta_c = np.where(ref, 0.0, (member.T * sums).sum(axis=0) / safe)
        # per cohort level and cell: the mean subtracted and the factor n / (sum of weights), signed
        centre = np.where(member.T, eta_c, 0.0)
        factor = np.where(member.T, -n / safe, 0.0)
        centre[k], factor[k] = eta_t, np.where(ref, 0.0, n / wsum[k])
        # gathered to units x cells in the block's (column-major) order
        block -= np.take(centre.T, code, axis=1).T
        block *= np.take(factor.T, code, axis=1).T
        if not unit_weights:
            block *= wu[:, None]
        att = np.where(ref, 0.0, eta_t - eta_c)
        for c in range(m):
            rows.append((float(g), int(periods[j[c]]), int(periods[b[c]]), int(count[k]), int(n_ctrl[c]),
                         bool(ref[c]), float(att[c])))
        col += m


def _panel_cell(Y: np.ndarray, Xp: np.ndarray | None, treat: np.ndarray, ctrl: np.ndarray, j: int, b: int,
                method: str, wu: np.ndarray) -> tuple[float, np.ndarray]:
    """A balanced-panel cell: the two-period DiD of the changes, influence function rescaled to all units."""
    n = Y.shape[0]
    cell = treat | ctrl
    dy = Y[:, j] - Y[:, b]
    # covariates at the earlier of the two periods (the base, or t for a universal pre-cell)
    cov = np.zeros((int(cell.sum()), 0)) if Xp is None else Xp[cell, min(j, b), :]
    att, inf_cell = cell_att(dy[cell], treat[cell].astype(float), cov, method, wu[cell])
    inf = np.zeros(n)
    inf[cell] = inf_cell * n / int(cell.sum())
    return att, inf


def _unbalanced_cell(Y: np.ndarray, Xp: np.ndarray | None, treat: np.ndarray, ctrl: np.ndarray, j: int, b: int,
                     wu: np.ndarray) -> tuple[float, np.ndarray]:
    """A cell of an unbalanced panel as repeated cross-sections (rows observed at t or b)."""
    n = Y.shape[0]
    cell = treat | ctrl
    units, post_rows, ys, xs = [], [], [], []
    for col, p in ((b, 0), (j, 1)):
        keep = np.flatnonzero(cell & ~np.isnan(Y[:, col]))
        units.append(keep)
        post_rows.append(np.full(keep.size, p))
        ys.append(Y[keep, col])
        xs.append(np.zeros((keep.size, 0)) if Xp is None else Xp[keep, col, :])
    u = np.concatenate(units)
    post = np.concatenate(post_rows).astype(float)
    D = treat[u].astype(float)
    if not (((D == 0) & (post == 0)).any() and ((D == 0) & (post == 1)).any()):
        raise EstimationError("no comparison units observed in both periods")
    X = np.column_stack([np.ones(u.size), np.concatenate(xs)])
    att, inf_rows = _rc_cell(np.concatenate(ys), D, post, X, wu[u])
    inf = np.zeros(n)
    np.add.at(inf, u, inf_rows * n / u.size)
    return att, inf
