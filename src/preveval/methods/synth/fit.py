r"""Synthetic control of an analysis (``method: synthetic_control``): :func:`fit_synthetic_control`.

Estimand: the effect on the treated unit, averaged over the post-period,
:math:`\tau = \frac{1}{T_{post}} \sum_{t \ge T_0} (Y_{1t} - \hat Y_{1t}(0))`, the average gap
between the treated unit and its synthetic comparison (on the scale of the outcome as
analysed: a rate per ``rate_per`` of the exposure when the analysis has an offset).

* ``estimator: abadie`` (Abadie, Diamond & Hainmueller 2010): donor weights from
  :func:`~.abadie.fit_abadie` on the YAML predictors (means over windows, blanks skipped,
  standardised as ``Synth`` does, :math:`V` by nested optimisation); without predictors
  the outcome in every fit period, solved exactly by :func:`~.abadie.fit_outcome_path`.
  Inference is placebo-in-space: the permutation p-value of the RMSPE ratio (never below
  :math:`1/(J+1)`) and the interval inverting that test for a constant effect
  (:func:`~.placebo.placebo_interval`; none at 95% with fewer than 19 donors).
* ``estimator: sdid`` (Arkhangelsky et al. 2021): :func:`~.sdid.fit_sdid`, with the
  synthetic-control and DiD estimates of the same panel beside it; the headline interval
  is :math:`\hat\tau \pm 1.96\,\widehat{se}` with the placebo standard error (one treated
  unit; seeded) or the jackknife (several treated units), the placebo-in-space test kept
  for comparison. With one treated unit and fewer than :data:`MIN_DONORS_SE` donors the
  placebo standard error is too small (it covers far less than 95%), and the placebo test
  carries the headline instead, the standard-error interval beside it.

Both report the placebo in time (a fake start before the real one, tested against the
donors' placebos at that date), leave-one-donor-out re-fits and, for counts, events
prevented (:mod:`.prevented`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from preveval.data.periods import period_word, periods_per_year
from preveval.errors import EstimationError
from preveval.methods.synth.abadie import fit_abadie, fit_outcome_path
from preveval.methods.synth.cautions import noise_level, synth_warnings
from preveval.methods.synth.panel import (
    SynthPanel,
    fit_columns,
    ordinal,
    predictor_specs,
    synth_panel,
)
from preveval.methods.synth.placebo import (
    Fitter,
    abadie_fitter,
    leave_one_out,
    placebo_in_space,
    placebo_interval,
)
from preveval.methods.synth.predictors import synth_matrices
from preveval.methods.synth.prevented import synth_prevented
from preveval.methods.synth.sdid import fit_sdid
from preveval.methods.synth.sdid_batch import SdidBatchFitter, leave_one_out_jobs, space_jobs
from preveval.methods.synth.sdid_se import sdid_std_error
from preveval.results.base import Baseline, Diagnostic, Estimate
from preveval.results.synth import LeaveOneDonorOut, PlaceboInTimeSummary, SynthResult
from preveval.spec.analyses import SynthAnalysis

__all__ = ["fit_synthetic_control"]

LEVEL = 0.95
#: Donors with more weight than this are left out in turn (leave-one-donor-out).
LOO_THRESHOLD = 1e-3
#: Nelder-Mead restarts of the abadie re-fits (placebos, leave-one-out): as many as the main fit,
#: so each donor gets the same method as the treated unit (with none, the Basque placebo p-value
#: moves from 5/17 to 4/17: the re-fits' local optima matter).
REFIT_RESTARTS = 2
#: Fewest donors for the sdid placebo standard error to carry the headline (one treated unit).
#: Seeded Monte Carlo on factor-model panels (tests/methods/synth/test_synth_montecarlo.py):
#: coverage of the 95% interval 56% with 5 donors, 88% with 10, 93% with 20, 94% with 40.
MIN_DONORS_SE = 20


@dataclass(frozen=True)
class _Core:
    """What one estimator gives: the gap path, weights and the fitters of the re-fits."""

    gap: np.ndarray
    synthetic: np.ndarray
    weights: np.ndarray
    v: dict[str, float]
    v_method: str | None
    time_weights: dict[str, float]
    balance: pd.DataFrame | None
    fitter: Fitter
    time_fitter: Any  # callable(fake_t0) -> Fitter for the placebo in time
    matrix: np.ndarray  # rows: (the treated average,) then donors
    rmspe_pre: float


def _abadie(spec: SynthAnalysis, panel: SynthPanel, outcome: str, unit: str, freq: str) -> _Core:
    if panel.n_treated != 1:
        raise EstimationError("synthetic control: estimator abadie takes one treated unit (use sdid for several)")
    cols = list(fit_columns(spec, panel, freq))
    y = panel.y
    specs = predictor_specs(spec, panel, outcome, freq)

    def matrices(pred, fit_cols):
        return synth_matrices(panel.frame, unit=unit, time="t", outcome="__outcome__", treated=panel.treated[0],
                              donors=panel.donors, fit_periods=[int(panel.t[j]) for j in fit_cols],
                              predictors=pred, periods=[int(x) for x in panel.t])

    m = matrices(specs, cols)
    if specs is None:
        names = tuple(f"{outcome} {panel.labels[j]}" for j in cols)
        fit = fit_outcome_path(m.z_treated, m.z_donors, predictor_names=names, donor_names=panel.donors)
        fitter = abadie_fitter(y, v="outcome_path", fit_periods=cols)
    else:
        fit = fit_abadie(m.x_treated, m.x_donors, m.z_treated, m.z_donors, predictor_names=m.predictor_names,
                         donor_names=panel.donors)
        x_all = np.column_stack([m.x_treated, m.x_donors])
        fitter = abadie_fitter(y, predictors=x_all, fit_periods=cols, max_restarts=REFIT_RESTARTS)

    def time_fitter(fake: int) -> Fitter:
        clipped = predictor_specs(spec, panel, outcome, freq, before=fake)
        fit_cols = [j for j in cols if j < fake] or list(range(fake))
        if clipped is None:
            return abadie_fitter(y, v="outcome_path", fit_periods=fit_cols)
        mm = matrices(clipped, fit_cols)
        return abadie_fitter(y, predictors=np.column_stack([mm.x_treated, mm.x_donors]), fit_periods=fit_cols,
                             max_restarts=REFIT_RESTARTS)

    synthetic = m.y_donors @ fit.weights
    b = fit.balance
    balance = pd.DataFrame({"predictor": list(b.names), "treated": b.treated, "synthetic": b.synthetic,
                            "donor_mean": b.donor_mean})
    return _Core(
        gap=m.y_treated - synthetic, synthetic=synthetic, weights=fit.weights,
        v=dict(zip(fit.predictor_names, (float(x) for x in fit.v), strict=True)), v_method=fit.v_method,
        time_weights={}, balance=balance, fitter=fitter, time_fitter=time_fitter, matrix=y,
        rmspe_pre=float(np.sqrt(np.mean((m.y_treated - synthetic)[cols] ** 2))),
    )


def _sdid(spec: SynthAnalysis, panel: SynthPanel) -> tuple[_Core, Any]:
    n_tr = panel.n_treated
    y = np.vstack([panel.y[n_tr:], panel.y[:n_tr]])  # controls first, as fit_sdid wants
    fit = fit_sdid(y, panel.t0, n_control=len(panel.donors))
    avg = panel.averaged()
    fitter = SdidBatchFitter(avg, n_treated=n_tr)
    synthetic = fit.counterfactual
    gap = panel.treated_mean() - synthetic
    return _Core(
        gap=gap, synthetic=synthetic, weights=fit.omega, v={}, v_method=None,
        time_weights={panel.labels[j]: float(w) for j, w in enumerate(fit.lambda_weights)},
        balance=None, fitter=fitter, time_fitter=lambda fake: fitter, matrix=avg,
        rmspe_pre=float(np.sqrt(np.mean(gap[: panel.t0] ** 2))),
    ), fit


def _sdid_inference(spec: SynthAnalysis, fit: Any) -> tuple[Estimate, tuple[Estimate, ...], str | None]:
    """The headline (placebo or jackknife SE) and the SC and DiD estimates beside it."""
    method: Literal["placebo", "jackknife"] = "placebo" if fit.n_treated == 1 else "jackknife"
    how = "sdid_placebo_se" if method == "placebo" else "sdid_jackknife_se"

    def est(term: str, f: Any) -> tuple[Estimate, str | None]:
        se = sdid_std_error(f, method, replications=spec.reps, seed=spec.seed, level=LEVEL)
        if se.std_error is None or not np.isfinite(se.std_error) or se.std_error <= 0:
            return Estimate(term, float(f.att), None, None, None, None, None, how), se.reason
        w = Estimate.wald(term, float(f.att), se.std_error)
        return Estimate(term, w.estimate, w.std_error, w.ci_low, w.ci_high, w.p_value, None, how), None

    head, note = est("att", fit)
    rows = [Estimate("sdid", head.estimate, head.std_error, head.ci_low, head.ci_high, head.p_value, None, how)]
    for estimator in ("sc", "did"):
        other = fit_sdid(fit.y, fit.t_pre, n_control=fit.n_control, estimator=estimator)
        rows.append(est(estimator, other)[0])
    return head, tuple(rows), note


def _fake_start(spec: SynthAnalysis, panel: SynthPanel, freq: str) -> int:
    """Column of the placebo-in-time start: ``placebo_date``, default halfway through the pre-period."""
    if spec.placebo_date is not None:
        return int(np.searchsorted(panel.t, ordinal(spec.placebo_date, freq)))
    return panel.t0 // 2


def _prepare_refits(spec: SynthAnalysis, panel: SynthPanel, core: _Core, freq: str) -> None:
    """Batch every sdid re-fit the placebos and leave-one-out will ask for."""
    assert isinstance(core.fitter, SdidBatchFitter)
    n, T, t0 = core.matrix.shape[0], core.matrix.shape[1], panel.t0
    jobs = space_jobs(n, t0, T) if panel.n_treated == 1 else []
    fake = _fake_start(spec, panel, freq)
    if spec.robustness and 2 <= fake <= t0 - 1:
        jobs += space_jobs(n, fake, t0)
    if spec.robustness and len(panel.donors) >= 3:
        jobs += leave_one_out_jobs(n, t0, T, [1 + j for j, w in enumerate(core.weights) if w > LOO_THRESHOLD])
    core.fitter.prepare(jobs)


def _headline(spec: SynthAnalysis, panel: SynthPanel, sdid_fit: Any, space: Any, interval: Any, att: float) -> tuple[
        Estimate, tuple[Estimate, ...], tuple[Estimate, ...], list[str]]:
    """(headline, the same effect under the other inference, sdid/sc/did estimates, notes).

    ``abadie``, and ``sdid`` with one treated unit and fewer than :data:`MIN_DONORS_SE`
    donors: the placebo test and the interval inverting it. ``sdid`` otherwise: the placebo
    (one treated unit) or jackknife standard error.
    """
    placebo = None
    if space is not None and interval is not None:
        ok = interval.bounded and not interval.empty
        placebo = Estimate("att", att, None, interval.mean_low if ok else None, interval.mean_high if ok else None,
                           space.p_value, None, "placebo_test_inversion")
    if sdid_fit is None:
        assert placebo is not None
        return placebo, (), (), []
    se_effect, comparison, why = _sdid_inference(spec, sdid_fit)
    notes = [f"no standard error: {why}"] if why else []
    if placebo is not None and len(panel.donors) < MIN_DONORS_SE:
        notes.append(f"With {len(panel.donors)} donors the placebo standard error is unreliable (in our Monte Carlo "
                     "its 95% interval covered the true effect 56% of the time with 5 donors and 88% with 10), so "
                     "the headline uses the placebo test itself; the standard-error interval is shown for "
                     f"comparison only. It is trustworthy from about {MIN_DONORS_SE} donors.")
        return placebo, (se_effect,), comparison, notes
    return se_effect, (placebo,) if placebo is not None else (), comparison, notes


def _placebo_in_time(spec: SynthAnalysis, panel: SynthPanel, core: _Core, freq: str) -> tuple[
        PlaceboInTimeSummary | None, Diagnostic]:
    """A fake start (``placebo_date``, default halfway through the pre-period), tested like the real one."""
    fake = _fake_start(spec, panel, freq)
    if not 2 <= fake <= panel.t0 - 1:
        return None, Diagnostic("placebo_in_time", "not_applicable",
                                "the pre-period is too short for a fake start with two periods on each side")
    try:
        res = placebo_in_space(core.matrix[:, : panel.t0], fake, core.time_fitter(fake), names=None)
    except EstimationError as exc:
        return None, Diagnostic("placebo_in_time", "not_applicable", f"the placebo in time could not be fitted: {exc}")
    g = res.gaps[0]
    summary = PlaceboInTimeSummary(panel.labels[fake], float(g[fake:].mean()), float(res.rmspe_pre[0]),
                                   float(res.rmspe_post[0]), res.p_value)
    reason = (f"a fake start in {panel.labels[fake]} (fit on the periods before it): average gap "
              f"{summary.mean_gap:.4g} up to the real start; placebo p-value {res.p_value:.3g} among "
              f"{res.n_placebos + 1} units")
    if res.min_p_value > 0.05:
        return summary, Diagnostic("placebo_in_time", "inconclusive",
                                   reason + f"; with {res.n_placebos} donors no test at the 5% level is possible",
                                   statistic=float(res.ratio[0]), p_value=res.p_value)
    return summary, Diagnostic("placebo_in_time", "fail" if res.p_value <= 0.05 else "pass", reason, statistic=float(res.ratio[0]), p_value=res.p_value)


def _leave_one_out(panel: SynthPanel, core: _Core) -> tuple[LeaveOneDonorOut, ...]:
    if len(panel.donors) < 3:
        return ()
    res = leave_one_out(core.matrix, panel.t0, core.fitter, core.weights, names=("treated", *panel.donors),
                        threshold=LOO_THRESHOLD)
    return tuple(LeaveOneDonorOut(n, float(e)) for n, e in zip(res.names, res.mean_post_gap, strict=True))


def _baseline(spec: SynthAnalysis, panel: SynthPanel) -> Baseline:
    n_tr = panel.n_treated
    if spec.offset is not None and panel.exposure is not None:
        value = float(panel.counts[:n_tr, : panel.t0].sum() / panel.exposure[:n_tr, : panel.t0].sum() * spec.rate_per)
    else:
        value = float(panel.y[:n_tr, : panel.t0].mean())
    ppy = periods_per_year(panel.frame["period"])
    return Baseline(value, period_word(ppy), panel.t0, spec.rate_per if spec.offset else None, spec.offset,
                    n_tr > 1)


def _series(panel: SynthPanel, core: _Core) -> pd.DataFrame:
    return pd.DataFrame({"t": panel.t, "period": list(panel.periods), "treated": panel.treated_mean(),
                         "synthetic": core.synthetic, "gap": core.gap,
                         "post": np.arange(panel.t.size) >= panel.t0})


def fit_synthetic_control(spec: SynthAnalysis, frame: pd.DataFrame, *, outcome: str, unit: str, freq: str,
                          count: bool = True, indicator: Any = None) -> SynthResult:
    """Fit a synthetic-control analysis (module docstring) on checked long data.

    Parameters
    ----------
    spec : SynthAnalysis
    frame : pandas.DataFrame
        Checked data with the ``unit`` column and the ``t`` (period ordinal) and ``period``
        columns; not modified.
    outcome, unit : str
        Columns of the indicator and of the unit.
    freq : str
        ``data.frequency`` (how the periods in ``spec`` are read).
    count : bool, default True
        Whether the indicator counts events (then prevented events are reported).
    indicator : Indicator, optional
        The indicator, whose unit and exposure labels the warnings use.

    Returns
    -------
    SynthResult

    Raises
    ------
    EstimationError
        A unit lacks the outcome in a period, a predictor cannot be formed, or fewer than
        two donors remain.
    """
    panel = synth_panel(spec, frame, outcome=outcome, unit=unit, freq=freq)
    if len(panel.donors) < 2:
        raise EstimationError("synthetic control: at least two donors are needed")
    sdid_fit = None
    if spec.estimator == "abadie":
        core = _abadie(spec, panel, outcome, unit, freq)
    else:
        core, sdid_fit = _sdid(spec, panel)
    post = core.gap[panel.t0:]
    att = float(post.mean())
    if isinstance(core.fitter, SdidBatchFitter):
        _prepare_refits(spec, panel, core, freq)
    space = None
    if panel.n_treated == 1:
        space = placebo_in_space(core.matrix, panel.t0, core.fitter, names=panel.names)
    interval = placebo_interval(space, LEVEL) if space is not None else None
    effect, inference_comparison, comparison, notes = _headline(spec, panel, sdid_fit, space, interval, att)
    inverted = effect.interval_method == "placebo_test_inversion"
    n_obs = int(panel.y.size)
    effect = Estimate(effect.term, effect.estimate, effect.std_error, effect.ci_low, effect.ci_high,
                      effect.p_value, n_obs, effect.interval_method, effect.df)
    gaps = tuple(Estimate(f"gap {panel.labels[j]}", float(core.gap[j])) for j in range(panel.t0, panel.t.size))
    in_time, diagnostic = _placebo_in_time(spec, panel, core, freq) if spec.robustness else (
        None, Diagnostic("placebo_in_time", "not_applicable", "robustness: false"))
    loo = _leave_one_out(panel, core) if spec.robustness else ()
    weights = {d: float(w) for d, w in zip(panel.donors, core.weights, strict=True)}
    prevented = synth_prevented(panel, core.gap, effect, interval if inverted else None) if count else None
    result = SynthResult(
        id=spec.id, method="synthetic_control", indicator=spec.indicator, n_obs=n_obs, effect=effect,
        scale="difference", ratio=None, coefficients=(effect, *gaps),
        inference_comparison=inference_comparison, baseline=_baseline(spec, panel),
        estimator=spec.estimator, treated=panel.treated, donors=panel.donors, weights=weights,
        time_weights=core.time_weights, v=core.v, v_method=core.v_method,
        rmspe_pre=core.rmspe_pre, rmspe_post=float(np.sqrt(np.mean(post**2))),
        rmspe_ratio=None if space is None else float(space.ratio[0]), pre_noise=noise_level(panel),
        p_value=None if space is None else space.p_value,
        min_p_value=None if space is None else space.min_p_value,
        n_donors=len(panel.donors), n_pre=panel.t0, n_post=int(panel.t.size - panel.t0),
        rate_per=panel.rate_per, intervention=spec.intervention, comparison_estimates=comparison,
        diagnostics=(diagnostic,), placebo_in_time=in_time, leave_one_out=loo,
        interval_level=LEVEL, attained_level=interval.attained_level if inverted and interval is not None else None,
        description=_description(spec, panel, core), prevented=prevented,
        series=_series(panel, core), placebo_gaps=None if space is None else _placebo_frame(panel, space),
        balance=core.balance,
    )
    w = synth_warnings(result, panel, core.gap, space, indicator) + notes
    return replace(result, warnings=tuple(dict.fromkeys(w)))


def _placebo_frame(panel: SynthPanel, space: Any) -> pd.DataFrame:
    out = pd.DataFrame(space.gaps.T, columns=list(space.names))
    out.insert(0, "period", list(panel.periods))
    return out


def _description(spec: SynthAnalysis, panel: SynthPanel, core: _Core) -> str:
    scale = (f"the rate per {spec.rate_per:,.0f} {spec.offset}" if spec.offset else "the outcome as recorded")
    if spec.estimator == "abadie":
        how = ("donor weights on the simplex minimising the distance between the treated unit's and the donors' "
               "predictors (each divided by its standard deviation across units) under a diagonal "
               "predictor-importance matrix V chosen to minimise the pre-period mean squared error of the outcome"
               if core.v_method != "outcome_path" else
               "donor weights on the simplex minimising the squared distance to the treated unit's outcome in "
               "every fit period (the nested V problem solved exactly)")
        infer = ("placebo-in-space permutation p-value of the post/pre RMSPE ratio; interval by inverting that "
                 "test for a constant effect (Firpo & Possebom 2018)")
        return (f"Synthetic control (Abadie, Diamond & Hainmueller 2010) on {scale}: {how}; {infer}; "
                f"{len(panel.donors)} donors, {panel.t0} pre-periods, {panel.t.size - panel.t0} post-periods.")
    se = (f"placebo standard error ({spec.reps} seeded replications, seed {spec.seed})" if panel.n_treated == 1
          else "jackknife standard error over units")
    return (f"Synthetic difference-in-differences (Arkhangelsky et al. 2021) on {scale}: unit weights with ridge "
            "penalty zeta = (N_treated x T_post)^(1/4) x sigma and an intercept, time weights on the pre-period "
            f"(synthdid defaults); {se}, interval estimate +/- 1.96 standard errors; {panel.n_treated} treated "
            f"unit(s), {len(panel.donors)} donors, {panel.t0} pre-periods, {panel.t.size - panel.t0} post-periods.")

