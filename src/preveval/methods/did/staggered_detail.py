r"""What a staggered analysis adds to its headline: aggregations, bands, comparisons, sensitivity.

:func:`did_staggered_detail` runs after :func:`~preveval.methods.did.fit_did` on a
``design: staggered`` analysis (family gaussian) and fills the result's staggered fields:

* ``aggregations``: Callaway & Sant'Anna ATT(g, t) by event time, cohort and calendar period
  (:func:`~preveval.methods.did.aggregate.aggregate_att`, R ``did::aggte``), with the
  seeded multiplier bootstrap and its uniform band under ``band: uniform``;
* ``estimators``, ``sun_abraham``, ``bacon``: two-way fixed effects, Callaway & Sant'Anna and
  Sun & Abraham (2021) side by side, and the Goodman-Bacon (2021) decomposition of the
  two-way fixed-effects coefficient;
* ``sensitivity``: Rambachan & Roth (2023) robust intervals and the breakdown value for the
  average of the dynamic effects.

The comparisons and the sensitivity analysis are supplementary: when one cannot be computed
(for example the decomposition with an unbalanced panel) it is left out with a note in
``staggered_notes`` rather than failing the analysis. :func:`sun_abraham_headline` makes the
Sun & Abraham estimate the headline under ``estimator: sun_abraham``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from preveval.errors import EstimationError
from preveval.inference.fe_structure import fe_codes
from preveval.inference.fixed_effects import fit_feols
from preveval.methods.did.aggregate import BootstrapOptions, aggregate_att, event_study_vector
from preveval.methods.did.bacon import bacon_decomposition
from preveval.methods.did.cells import GroupTimeCells, StaggeredOptions
from preveval.methods.did.core import Prepared, period_ordinals, prepare
from preveval.methods.did.honest import honest_relative_magnitude, honest_sensitivity
from preveval.methods.did.staggered import staggered_cells
from preveval.methods.did.sun_abraham import sun_abraham
from preveval.results.base import Estimate
from preveval.results.did import DidResult, EventTimeEstimate
from preveval.results.staggered import (
    BaconDecomposition,
    EstimatorRow,
    HonestSensitivity,
    StaggeredAggregate,
    StaggeredSensitivity,
    SunAbrahamResult,
)
from preveval.spec.models import DidAnalysis

__all__ = ["did_staggered_detail", "sun_abraham_headline"]

#: Search range and precision of the relative-magnitudes breakdown value.
BREAKDOWN_UPPER = 10.0
BREAKDOWN_TOL = 0.05


def _treated(p: Prepared, first: np.ndarray) -> np.ndarray:
    return (np.isfinite(first) & (p.time >= np.nan_to_num(first, nan=np.inf))).astype(float)


def _sa_control(spec: DidAnalysis, first: np.ndarray, time: np.ndarray) -> str:
    if spec.control == "last_treated":
        return "last_treated"
    never = ~np.isfinite(first) | (first > time.max())
    return "never_treated" if never.any() else "last_treated"


def _sun_abraham(spec: DidAnalysis, p: Prepared) -> SunAbrahamResult:
    assert spec.first_treated is not None and p.unit is not None
    first = period_ordinals(p.frame[spec.first_treated])
    return sun_abraham(p.y, p.unit, p.time, first, control=_sa_control(spec, first, p.time),
                       reference=(-1 - spec.anticipation,), label=p.label)


def sun_abraham_headline(spec: DidAnalysis, p: Prepared, cs: DidResult) -> DidResult:
    r"""The Sun & Abraham (2021) estimate as the analysis' headline (``estimator: sun_abraham``).

    ``effect``: the average of the interaction-weighted post-period effects
    :math:`\hat v_\ell`, weighted by treated observations, with the share-estimation term in
    its standard error (Proposition 6), CR1 by unit and t quantiles; the event-study rows are
    the :math:`\hat v_\ell`. The Callaway & Sant'Anna estimate stays as the comparison, and
    the pre-trend test is that of its pre-period cells.
    """
    sa = _sun_abraham(spec, p)
    n_rel = sa.weights.groupby("rel_time")["n_obs"].sum() if len(sa.weights) else pd.Series(dtype=float)
    rows = tuple(EventTimeEstimate(r.rel_time, r.estimate, r.std_error, r.ci_low, r.ci_high, r.p_value,
                                   int(n_rel.get(r.rel_time, 0)), reference=r.reference) for r in sa.rows)
    desc = ("Staggered difference-in-differences by the interaction-weighted event study of Sun & Abraham (2021): "
            f"every cohort's effect at each period relative to its start against {sa.control_cohort} units, "
            "unit and period fixed effects, averaged over cohorts by their shares at each relative period and "
            "over the post-period by treated observations; standard errors clustered by unit (CR1) including "
            "the estimation of the cohort shares, t intervals. The pre-trend test is that of the Callaway & "
            "Sant'Anna pre-period cells.")
    return replace(cs, effect=sa.att, coefficients=sa.cohort_effects, event_study=rows, n_obs=sa.n_obs,
                   df_resid=sa.att.df, se_type="CR1", description=desc,
                   inference_comparison=(*cs.inference_comparison, replace(cs.effect, term="att_callaway_santanna")))


def _aggregations(spec: DidAnalysis, cells: GroupTimeCells, notes: list[str]) -> dict[str, StaggeredAggregate]:
    boot = BootstrapOptions(reps=spec.reps, seed=spec.seed) if spec.band == "uniform" else None
    out: dict[str, StaggeredAggregate] = {}
    for kind in spec.aggregations:
        kw: dict = {}
        if kind == "dynamic":
            kw = {"min_e": -np.inf if spec.min_e is None else spec.min_e,
                  "max_e": np.inf if spec.max_e is None else spec.max_e, "balance_e": spec.balance_e}
        try:
            out[kind] = aggregate_att(cells, kind, bootstrap=boot, **kw)
        except EstimationError as exc:
            notes.append(f"the {kind} aggregation is not available: {exc}")
    return out


def _sensitivity(spec: DidAnalysis, p: Prepared, cells: GroupTimeCells) -> StaggeredSensitivity | None:
    opt = spec.sensitivity_options()
    if opt is None:
        return None
    if cells.base_period != "universal":
        cells = staggered_cells(spec, p, replace(StaggeredOptions.from_spec(spec), base_period="universal"))
    e, est, V, n_pre = event_study_vector(cells, min_e=opt.min_e, max_e=opt.max_e)
    post = e >= 0
    lv = np.full(int(post.sum()), 1.0 / post.sum())
    se = float(np.sqrt(lv @ V[np.ix_(post, post)] @ lv))
    rm = honest_sensitivity(est, V, n_pre, opt.relative_magnitude, restriction="relative_magnitude", l_vec=lv)
    grid = opt.smoothness if opt.smoothness is not None else tuple(float(x) for x in np.linspace(0.0, se, 6))
    sd = honest_sensitivity(est, V, n_pre, grid, restriction="smoothness", l_vec=lv)
    bd = _breakdown(rm, est, V, n_pre, lv)
    shown = tuple(int(x) for x in e)
    return StaggeredSensitivity(
        target=f"average of the dynamic effects at event times 0 to {int(e.max())}", estimate=rm.estimate,
        original=rm.original, event_times=shown, n_pre=n_pre, breakdown=bd,
        breakdown_capped=bd is not None and bd >= BREAKDOWN_UPPER, upper=BREAKDOWN_UPPER, tolerance=BREAKDOWN_TOL,
        relative_magnitude=rm, smoothness=sd, breakdown_smoothness=sd.breakdown,
        event_study=tuple((int(k), float(b), float(np.sqrt(V[j, j]))) for j, (k, b) in enumerate(zip(e, est, strict=True))),
    )


def _breakdown(rm: HonestSensitivity, est: np.ndarray, V: np.ndarray, n_pre: int, lv: np.ndarray) -> float | None:
    r"""The relative-magnitudes breakdown value: the grid's, refined by bisection to :data:`BREAKDOWN_TOL`.

    Between the grid's breakdown value (the largest :math:`\bar M` whose interval excludes zero,
    every smaller one's too) and the next grid value; beyond the grid's end the search goes up
    to :data:`BREAKDOWN_UPPER`. The robust intervals widen with :math:`\bar M` (the sets are nested).
    """
    if rm.breakdown is None:
        return None
    above = [r.m for r in rm.rows if r.m > rm.breakdown]
    lo, hi = rm.breakdown, (min(above) if above else BREAKDOWN_UPPER)

    def excludes(m: float) -> bool:
        a, b = honest_relative_magnitude(est, V, n_pre, m, lv)
        return bool(np.isfinite(a) and (a > 0 or b < 0))

    if not above and excludes(hi):
        return hi
    while hi - lo > BREAKDOWN_TOL:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excludes(mid) else (lo, mid)
    return float(round(lo, 6))


def _twfe(p: Prepared, d: np.ndarray) -> Estimate:
    assert p.unit is not None
    ucode = fe_codes(pd.Series(p.unit))
    fit = fit_feols(p.y, d[:, None], ["att"], [ucode, fe_codes(pd.Series(p.time))], clusters=ucode, vcov="CR1",
                    protect=("att",))
    return Estimate.wald("att_twfe", float(fit.coef[0]), float(np.sqrt(fit.cov.vcov[0, 0])), df=fit.cov.df_resid,
                         n=fit.n_obs)


def _comparisons(spec: DidAnalysis, p: Prepared, result: DidResult, cells: GroupTimeCells,
                 notes: list[str]) -> tuple[tuple[EstimatorRow, ...], BaconDecomposition | None, SunAbrahamResult | None]:
    assert spec.first_treated is not None
    first = period_ordinals(p.frame[spec.first_treated])
    d = _treated(p, first)
    if p.weights is not None or p.covariate_names:
        notes.append("two-way fixed effects, Sun & Abraham and the Goodman-Bacon decomposition are computed "
                     "without the analysis' " + " and ".join(x for x, on in (("weights", p.weights is not None),
                                                                        ("covariates", bool(p.covariate_names)))
                                                           if on) + ", which only Callaway & Sant'Anna uses")
    rows: list[EstimatorRow] = []
    try:
        rows.append(EstimatorRow("twfe", "Two-way fixed effects", _twfe(p, d),
                                 "one coefficient: a variance-weighted average of every two-by-two comparison, "
                                 "including already-treated areas used as controls"))
    except EstimationError as exc:
        notes.append(f"two-way fixed effects could not be estimated: {exc}")
    if spec.estimator == "callaway_santanna":
        cs = result.effect
    else:
        cs = aggregate_att(cells, "simple").overall
    rows.append(EstimatorRow("callaway_santanna", "Callaway & Sant'Anna", replace(cs, term="att_callaway_santanna"),
                             f"each cohort against {spec.control.replace('_', '-')} areas only, post-period cells "
                             "weighted by cohort size", spec.estimator == "callaway_santanna"))
    sa = None
    try:
        sa = _sun_abraham(spec, p)
        rows.append(EstimatorRow("sun_abraham", "Sun & Abraham", replace(sa.att, term="att_sun_abraham"),
                                 f"each cohort against {sa.control_cohort} areas, relative-period effects weighted "
                                 "by cohort shares, then by treated observations", spec.estimator == "sun_abraham"))
    except EstimationError as exc:
        notes.append(f"Sun & Abraham could not be estimated: {exc}")
    bacon = None
    try:
        assert p.unit is not None
        bacon = bacon_decomposition(p.y, p.unit, p.time, d, label=p.label)
    except EstimationError as exc:
        notes.append(f"the Goodman-Bacon decomposition is not available: {exc}")
    return tuple(rows), bacon, sa


def _same_units(p: Prepared, cells: GroupTimeCells) -> Prepared:
    """The rows of the units behind the Callaway & Sant'Anna cells (like-for-like comparisons)."""
    assert p.unit is not None
    keep = np.isin(p.unit, cells.unit_codes)
    if keep.all():
        return p
    return replace(p, frame=p.frame.loc[keep], y=p.y[keep], time=p.time[keep], unit=p.unit[keep],
                   extra_fe=[f[keep] for f in p.extra_fe], covariates=p.covariates[keep],
                   weights=None if p.weights is None else p.weights[keep],
                   clusters=None if p.clusters is None else p.clusters[keep],
                   offset=None if p.offset is None else p.offset[keep], warnings=[])


def did_staggered_detail(spec: DidAnalysis, result: DidResult, frame: pd.DataFrame, *, outcome: str,
                         unit: str | None, time: str) -> DidResult:
    """The staggered fields of ``result`` filled in (see the module docstring); other designs unchanged.

    ``frame`` is the checked data the result was fitted on; it is not modified.
    """
    if spec.design != "staggered" or spec.family != "gaussian":
        return result
    p = prepare(spec, frame, outcome, unit, time)
    cells = staggered_cells(spec, p)
    notes: list[str] = []
    aggregations = _aggregations(spec, cells, notes)
    estimators: tuple[EstimatorRow, ...] = ()
    bacon = sa = None
    if spec.comparisons:
        same = _same_units(p, cells)
        if same is not p:
            notes.append(f"two-way fixed effects, Sun & Abraham and the Goodman-Bacon decomposition use the "
                         f"{cells.n_units} units behind the Callaway & Sant'Anna estimate (units left out of it "
                         "are left out of them too)")
        estimators, dec, sa = _comparisons(spec, same, result, cells, notes)
        bacon = None if dec is None else dec.comparisons
    sens = None
    try:
        sens = _sensitivity(spec, p, cells)
    except EstimationError as exc:
        notes.append(f"the sensitivity analysis is not available: {exc}")
    return replace(result, aggregations=aggregations, bacon=bacon, sensitivity=sens, sun_abraham=sa,
                   estimators=estimators, staggered_notes=tuple(notes))
