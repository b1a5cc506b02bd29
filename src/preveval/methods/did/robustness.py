"""Robustness checks for difference-in-differences.

* **Placebo dates**: the design re-fitted on the pre-period only, with the treated units'
  start moved to earlier, fake dates (at a quarter, a half and three quarters of the
  pre-period). Real effects should not appear before the initiative started.
* **Placebo outcomes**: the same design on indicators the initiative should not change.
* **Leave one unit out**: the design re-fitted without each unit in turn, to show whether
  one area drives the result.
* **Trends**: mean outcome per period in the treated group and the comparison group, for
  the parallel-trends figure.

Re-fits use cluster-robust (CR1) inference, or HC1 without units, instead of the wild
bootstrap, to keep the run short; the headline keeps the inference asked for.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from preveval.errors import EstimationError
from preveval.methods.did.fit import fit_did
from preveval.results.did import DidResult, DidRobustness, RobustnessRow
from preveval.spec.models import DidAnalysis

PLACEBO = "__placebo_treatment"
MAX_LEAVE_OUT_UNITS = 200


def treated_units(spec: DidAnalysis, frame: pd.DataFrame, unit: str | None) -> np.ndarray:
    """Row mask of the units (or, without units, rows) that are ever treated."""
    if spec.design == "two_by_two":
        assert spec.group is not None
        return frame[spec.group].to_numpy(dtype=float) == 1
    if spec.design == "twfe":
        assert spec.treatment is not None
        on = frame[spec.treatment].to_numpy(dtype=float) > 0
    else:
        assert spec.first_treated is not None
        on = np.isfinite(frame[spec.first_treated].to_numpy(dtype=float))
    if unit is None:
        return on
    ever = pd.Series(on).groupby(frame[unit].to_numpy()).transform("max").to_numpy()
    return ever.astype(bool)


def first_start(spec: DidAnalysis, frame: pd.DataFrame, time: str) -> int | None:
    """The earliest period in which any unit is treated."""
    t = frame[time].to_numpy(dtype=np.int64)
    if spec.design == "two_by_two":
        assert spec.post is not None
        post = frame[spec.post].to_numpy(dtype=float) == 1
        return int(t[post].min()) if post.any() else None
    if spec.design == "twfe":
        assert spec.treatment is not None
        on = frame[spec.treatment].to_numpy(dtype=float) > 0
        return int(t[on].min()) if on.any() else None
    assert spec.first_treated is not None
    ft = frame[spec.first_treated].to_numpy(dtype=float)
    return int(np.nanmin(ft)) if np.isfinite(ft).any() else None


def _row(check: str, label: str, res: DidResult | None, note: str = "") -> RobustnessRow:
    if res is None:
        return RobustnessRow(check, label, None, None, None, None, note)
    e = res.effect
    return RobustnessRow(check, label, e.estimate, e.ci_low, e.ci_high, e.p_value, note)


def _quiet_spec(spec: DidAnalysis, unit: str | None) -> DidAnalysis:
    inference = spec.inference
    if inference in ("wild_bootstrap", "randomization"):  # re-fits by the cluster-robust SE: a
        inference = "cluster"  # resampling test in each of dozens of re-fits costs minutes
    if inference == "cluster" and unit is None and spec.cluster is None:
        inference = "robust"
    return spec.model_copy(update={"inference": inference, "robustness": False})


def group_trends(spec: DidAnalysis, frame: pd.DataFrame, outcome: str, unit: str | None, time: str) -> pd.DataFrame:
    """Mean outcome per period for the treated and comparison groups (a rate with an offset)."""
    treated = treated_units(spec, frame, unit)
    df = pd.DataFrame({"t": frame[time].to_numpy(dtype=np.int64), "group": np.where(treated, "treated", "comparison"),
                       "y": frame[outcome].to_numpy(dtype=float)})
    if "period" in frame.columns:
        df["period"] = frame["period"].astype(str).to_numpy()
    if spec.offset is not None:
        # the group's rate per rate_per of the exposure: sum of events over sum of exposure
        df["exposure"] = frame[spec.offset].to_numpy(dtype=float)
        sums = df.groupby(["t", "group"], sort=True)[["y", "exposure"]].sum()
        wide = (sums["y"] / sums["exposure"] * spec.rate_per).unstack("group")
    else:
        wide = df.groupby(["t", "group"], sort=True)["y"].mean().unstack("group")
    out = pd.DataFrame({"t": wide.index.to_numpy()})
    if "period" in df.columns:
        labels = df.drop_duplicates("t").set_index("t")["period"]
        out["period"] = labels.reindex(wide.index).to_numpy()
    for g in ("treated", "comparison"):
        out[f"mean_{g}"] = wide[g].to_numpy() if g in wide.columns else np.nan
    return out


def placebo_dates(spec: DidAnalysis, frame: pd.DataFrame, outcome: str, unit: str | None, time: str) -> list[RobustnessRow]:
    """Fake starts in the pre-period (before any unit is treated)."""
    start = first_start(spec, frame, time)
    if start is None:
        return []
    t = frame[time].to_numpy(dtype=np.int64)
    pre = frame.loc[t < start].copy()
    if pre.empty:
        return []
    tp = pre[time].to_numpy(dtype=np.int64)
    lo, n_pre = int(tp.min()), start - int(tp.min())
    if n_pre < 6:
        return [RobustnessRow("placebo date", "pre-period", None, None, None, None,
                              f"only {n_pre} periods before the start: too few for placebo dates")]
    treated = treated_units(spec, frame, unit)[t < start]
    base = _quiet_spec(spec, unit)
    rows = []
    for share in (0.25, 0.5, 0.75):
        fake = lo + round(share * n_pre)
        label = str(pre.loc[tp == fake, "period"].iloc[0]) if "period" in pre.columns else str(fake)
        if spec.design == "two_by_two":
            pre[spec.post] = (tp >= fake).astype(float)  # type: ignore[index]
            s = base
        else:
            pre[PLACEBO] = (treated & (tp >= fake)).astype(float)
            s = base.model_copy(update={"design": "twfe", "treatment": PLACEBO})
        try:
            res = fit_did(s, pre, outcome=outcome, unit=unit, time=time)
            rows.append(_row("placebo date", label, res, "pre-period only; treated units 'start' here"))
        except EstimationError as exc:
            rows.append(_row("placebo date", label, None, str(exc)))
    return rows


def placebo_outcomes(spec: DidAnalysis, frame: pd.DataFrame, columns: dict[str, str], unit: str | None, time: str) -> list[RobustnessRow]:
    """The design on outcomes the initiative should not change (``{indicator id: column}``)."""
    rows = []
    base = _quiet_spec(spec, unit)
    for ind, col in columns.items():
        try:
            rows.append(_row("placebo outcome", ind, fit_did(base, frame, outcome=col, unit=unit, time=time)))
        except EstimationError as exc:
            rows.append(_row("placebo outcome", ind, None, str(exc)))
    return rows


def leave_one_out(spec: DidAnalysis, frame: pd.DataFrame, outcome: str, unit: str | None, time: str,
                  progress: Callable[[int, int], None] | None = None) -> list[RobustnessRow]:
    """The design without each unit in turn."""
    if unit is None:
        return []
    units = sorted(frame[unit].astype(str).unique())
    if len(units) > MAX_LEAVE_OUT_UNITS:
        return [RobustnessRow("leave one out", "all", None, None, None, None,
                              f"{len(units)} units: more than {MAX_LEAVE_OUT_UNITS}, not run")]
    base = _quiet_spec(spec, unit)
    codes = frame[unit].astype(str).to_numpy()
    rows = []
    for k, u in enumerate(units):
        if progress:
            progress(k, len(units))
        try:
            res = fit_did(base, frame.loc[codes != u], outcome=outcome, unit=unit, time=time)
            rows.append(_row("leave one out", u, res))
        except EstimationError as exc:
            rows.append(_row("leave one out", u, None, str(exc)))
    return rows


def _reading(main: DidResult, dates: list[RobustnessRow], outcomes: list[RobustnessRow], loo: list[RobustnessRow]) -> list[str]:
    out = []
    fitted = [r for r in dates if r.estimate is not None]
    if fitted:
        sig = [r for r in fitted if r.significant]
        out.append(f"{len(sig)} of {len(fitted)} placebo start dates before the real start show an 'effect' "
                   "whose 95% interval excludes zero" + (" — a warning sign that the groups were already "
                   "diverging." if sig else ", as expected if the groups moved in parallel beforehand."))
    for r in outcomes:
        if r.estimate is not None:
            out.append(f"Placebo outcome '{r.label}': " + (
                "an apparent effect (95% interval excludes zero), so something other than the initiative may "
                "be moving outcomes in the treated areas." if r.significant else
                "no clear effect, as expected for an outcome the initiative should not change."))
    est = [r.estimate for r in loo if r.estimate is not None]
    if est:
        flips = sum(np.sign(e) != np.sign(main.effect.estimate) for e in est)
        if main.scale == "log":
            def pct(v: float) -> str:
                return f"{abs(np.expm1(v)):.0%} {'lower' if v < 0 else 'higher'}"
            span = (f"from {pct(min(est))} to {pct(max(est))} than expected (headline "
                    f"{pct(main.effect.estimate)}; log-scale estimates {min(est):.4g} to {max(est):.4g})")
        else:
            span = f"from {min(est):.4g} to {max(est):.4g} (headline {main.effect.estimate:.4g})"
        out.append(f"Leaving out one unit at a time, the effect ranges {span}" + (
            f"; it changes sign in {flips} case(s), so single units matter." if flips
            else "; it keeps its sign every time."))
    return out


def did_robustness(spec: DidAnalysis, main: DidResult, frame: pd.DataFrame, *, outcome: str, unit: str | None,
                   time: str, placebo_columns: dict[str, str],
                   progress: Callable[[int, int], None] | None = None) -> DidRobustness:
    """Run every robustness check of a DiD analysis."""
    dates = placebo_dates(spec, frame, outcome, unit, time)
    outs = placebo_outcomes(spec, frame, placebo_columns, unit, time)
    loo = leave_one_out(spec, frame, outcome, unit, time, progress)
    trends = group_trends(spec, frame, outcome, unit, time)
    return DidRobustness(tuple(dates), tuple(outs), tuple(loo), tuple(_reading(main, dates, outs, loo)),
                         first_start(spec, frame, time), trends)
