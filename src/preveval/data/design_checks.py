"""Checks of the data against each analysis' design: everything ``run`` would refuse before fitting.

Run by :func:`preveval.data.checks.check_dataset` once the columns are read and converted,
so that ``preveval validate`` reports these problems with the file, line and column of the
analysis key, exit 2, instead of ``run`` failing later. One function per design family;
the messages name the unit or the period and say how to fix it. Also the design warnings a
partnership should see before fitting: an interrupted time series that adds up areas that
did and did not run the initiative, and too few treated areas for cluster-based inference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from preveval.data.periods import parse_period
from preveval.errors import Issue
from preveval.spec.analyses import DidAnalysis, ItsAnalysis, Seasonality, SynthAnalysis
from preveval.spec.loader import Loc, Positioned
from preveval.spec.models import EvaluationSpec

__all__ = ["FEW_TREATED", "check_designs", "few_treated_warning", "treated_units"]

#: Below this many treated clusters, cluster-robust and wild-bootstrap inference are unreliable
#: (MacKinnon & Webb 2017, 2018; Conley & Taber 2011).
FEW_TREATED = 6


def few_treated_warning(n_treated: int | None, inference: str) -> str | None:
    """Plain-English warning when too few clusters are treated for cluster-based inference."""
    if n_treated is None or n_treated >= FEW_TREATED or n_treated == 0:
        return None
    who = "one area" if n_treated == 1 else f"{n_treated} areas"
    text = (f"Only {who} ran the initiative. With fewer than about {FEW_TREATED} treated clusters, "
            "cluster-robust standard errors and the wild cluster bootstrap are unreliable: they reject "
            "far too often or not at all (MacKinnon & Webb 2017, 2018; Conley & Taber 2011).")
    if inference == "randomization":
        return text + (" The interval here comes from randomization inference, which stays valid, but with "
                       "so few treated areas it can only rule out large effects.")
    return text + (" Use inference: randomization (the treatment re-assigned to the other areas)"
                   + (", or a synthetic control (method: synthetic_control), which builds the comparison "
                      "from a weighted mix of the other areas" if n_treated == 1 else "") + ".")


def treated_rows(a: DidAnalysis, frame: pd.DataFrame) -> np.ndarray:
    """Rows of units (or groups) that a DiD analysis treats at some point."""
    if a.design == "two_by_two":
        assert a.group is not None
        return frame[a.group].to_numpy(dtype=float) == 1
    if a.design == "twfe":
        assert a.treatment is not None
        return frame[a.treatment].to_numpy(dtype=float) != 0
    assert a.first_treated is not None
    return np.isfinite(frame[a.first_treated].to_numpy(dtype=float))


def _varies_within(values: np.ndarray, units: pd.Series) -> bool:
    """Some unit has two different values (missing values excluded, as ``nunique``)."""
    codes = pd.factorize(units, use_na_sentinel=True)[0]
    ok = (codes >= 0) & ~np.isnan(values)
    codes, values = codes[ok], values[ok]
    k = int(codes.max()) + 1 if codes.size else 0
    low, high = np.full(k, np.inf), np.full(k, -np.inf)
    np.minimum.at(low, codes, values)
    np.maximum.at(high, codes, values)
    return bool((high > low).any())


def treated_units(a: DidAnalysis, frame: pd.DataFrame, unit: str) -> set[str]:
    """The units a DiD analysis treats at some point."""
    return {str(u) for u in pd.unique(frame[unit][treated_rows(a, frame)])}


def _n_terms(a: ItsAnalysis) -> int:
    per = {"level": 1, "slope": 1, "level_and_slope": 2}[a.impact] * len(a.intervention_map())
    season = a.seasonality if isinstance(a.seasonality, Seasonality) else None
    seasonal = 0 if season is None else (2 * season.harmonics if season.type == "fourier" else int(season.period) - 1)
    if a.comparison is not None:
        return 2 + per + 2 + per + seasonal + len(a.covariates)
    return 2 + per + seasonal + len(a.covariates)


def check_its(spec: EvaluationSpec, frame: pd.DataFrame, pos: Positioned, k: int, a: ItsAnalysis,
              treated: set[str]) -> list[Issue]:
    """Units that exist and cover every period, values the family can use, enough periods."""
    out: list[Issue] = []
    unit = spec.data.unit
    column = spec.indicator(a.indicator).column
    rows = np.ones(len(frame), dtype=bool)
    if unit is not None and a.units is not None:
        names = frame[unit].astype(str)
        present = set(names)
        listed = sorted(present) if a.units == "all" else list(a.units)
        for j, u in enumerate(listed if a.units != "all" else ()):
            if u not in present:
                out.append(pos.issue(("analyses", k, "units", j), f"unit '{u}' is not in the data column '{unit}'",
                                     f"units in the data: {', '.join(sorted(present)[:10])}"))
        comp = list(a.comparison.units) if a.comparison is not None and a.comparison.units is not None else []
        for j, u in enumerate(comp):
            if u not in present:
                out.append(pos.issue(("analyses", k, "comparison", "units", j),
                                     f"unit '{u}' is not in the data column '{unit}'",
                                     f"units in the data: {', '.join(sorted(present)[:10])}"))
        if out:
            return out
        chosen = set(listed) | set(comp)
        rows = names.isin(chosen).to_numpy()
        t = frame["t"].to_numpy()
        all_t = np.unique(t[rows])
        per_unit = pd.Series(t[rows]).groupby(names[rows].to_numpy()).nunique()
        for name, n in per_unit.items():
            if n < len(all_t):
                where: Loc = ("analyses", k, "units")  # units: all, or a unit listed twice over
                if name in comp and name not in listed:
                    where = ("analyses", k, "comparison", "units", comp.index(str(name)))
                elif a.units != "all" and name in listed:
                    where = ("analyses", k, "units", listed.index(str(name)))
                out.append(pos.issue(where, f"unit '{name}' has no row for {len(all_t) - n} of the "
                                     f"{len(all_t)} periods the series covers",
                                     "add the missing rows (use 0 for a period with no events) or leave the unit out"))
        used = set(listed)
        mixed = used & treated, used - treated
        if treated and mixed[0] and mixed[1]:
            out.append(pos.issue(
                ("analyses", k, "units"),
                f"this interrupted time series adds up {len(used)} areas, of which only {len(mixed[0])} ran the "
                f"initiative: any effect is diluted by the {len(mixed[1])} that did not, and changes that hit every "
                "area at once cannot be told apart from it", "list only the areas that ran it (and compare them "
                "with the others: comparison: {units: [...]}, or a difference-in-differences)", level="warning"))
    values = frame.loc[rows, column].to_numpy(dtype=float)
    if a.family != "gaussian" and ((values < 0).any() or not np.allclose(values, np.round(values))):
        out.append(pos.issue(("analyses", k, "family"), f"family {a.family} needs whole counts of zero or more in "
                             f"'{column}'", "use family: gaussian for rates or continuous indicators"))
    if a.family == "gaussian" and a.transform == "log" and (values <= 0).any():
        out.append(pos.issue(("analyses", k, "transform"), f"transform: log needs values above zero in '{column}'",
                             "use a count family for counts with zeros"))
    for j, c in enumerate(a.covariates):
        cv = frame.loc[rows, c].to_numpy(dtype=float)
        if cv.size and np.allclose(cv, cv[0]):
            out.append(pos.issue(("analyses", k, "covariates", j), f"covariate '{c}' is the same in every period, "
                                 "so its effect cannot be estimated", "remove it"))
    n_periods = len(np.unique(frame.loc[rows, "t"].to_numpy())) - a.phase_in * len(a.intervention_map())
    n_obs = n_periods * (2 if a.comparison is not None else 1)
    need = _n_terms(a) + (a.ar_order + 3 if a.errors == "ar" else 1)
    if n_obs < need:
        out.append(pos.issue(("analyses", k), f"too few periods ({n_periods}) for the {_n_terms(a)} terms of this "
                             "model", "use a longer series, or fewer seasonal terms and covariates"))
    return out


def check_did(spec: EvaluationSpec, frame: pd.DataFrame, pos: Positioned, k: int, a: DidAnalysis) -> list[Issue]:
    """Treated rows, units and periods the design needs; constant cohorts and weights; clusters."""
    out: list[Issue] = []
    unit = spec.data.unit
    t = frame["t"].to_numpy()
    column = spec.indicator(a.indicator).column
    if a.family == "poisson" and (frame[column].to_numpy(dtype=float) < 0).any():
        out.append(pos.issue(("analyses", k, "family"), f"family: poisson needs values of zero or more in '{column}'"))
    if a.design == "twfe":
        assert a.treatment is not None
        d = frame[a.treatment].to_numpy(dtype=float)
        if not (d != 0).any():
            out.append(pos.issue(("analyses", k, "treatment"), f"no treated observations: '{a.treatment}' is 0 "
                                 "everywhere"))
        elif unit is not None and not _varies_within(d, frame[unit]):
            out.append(pos.issue(("analyses", k, "treatment"), f"'{a.treatment}' never changes within a unit, so the "
                                 "unit fixed effects absorb it and its effect cannot be estimated",
                                 "code the treatment 1 only from the period the initiative starts in each unit"))
    elif a.design == "two_by_two":
        assert a.group is not None and a.post is not None
        g, p = frame[a.group].to_numpy(dtype=float), frame[a.post].to_numpy(dtype=float)
        if not ((g == 1) & (p == 1)).any():
            out.append(pos.issue(("analyses", k, "group"), "no treated observations: no row has group = 1 and post = 1"))
    else:
        assert a.first_treated is not None and unit is not None
        ft = frame[a.first_treated].to_numpy(dtype=float)
        names = frame[unit].astype(str).to_numpy()
        on = np.isfinite(ft)
        loc = ("analyses", k, "first_treated")
        if not on.any():
            out.append(pos.issue(loc, f"no treated units: '{a.first_treated}' is empty for every row"))
            return out
        spread = pd.Series(np.where(on, ft, -1.0)).groupby(names).nunique()
        varying = [str(u) for u, n in spread.items() if n > 1]
        if varying:
            out.append(pos.issue(loc, f"'{a.first_treated}' changes within {len(varying)} unit(s) "
                                 f"({', '.join(varying[:3])}): a unit has one first treated period",
                                 "write the same first treated period on every row of a unit"))
        first, last = t.min(), t.max()
        cohorts = np.unique(ft[on])
        if not (cohorts > first).any():
            out.append(pos.issue(loc, "no treated unit has a period before its start, so nothing can be compared",
                                 "the data must begin before the first unit starts"))
        if not (cohorts <= last).any():
            out.append(pos.issue(loc, "no unit starts within the data, so no period after treatment is observed"))
        if a.design == "event_study":
            rel = np.floor((t[on] - ft[on]) / a.event_bin)
            if not (rel != -1).any():
                out.append(pos.issue(loc, "no relative period other than the reference period -1 is observed"))
        if a.design == "staggered":
            never = ~on | (ft > last)
            if a.control == "never_treated" and not never.any():
                out.append(pos.issue(("analyses", k, "control") if "control" in a.model_fields_set else ("analyses", k),
                                     "no never-treated units to compare with", "use control: not_yet_treated"))
            if a.weights is not None:
                w = pd.Series(frame[a.weights].to_numpy(dtype=float)).groupby(names)
                spread_w = (w.max() - w.min()).abs() > 1e-12 * np.maximum(1.0, w.max().abs())
                bad = [str(u) for u, v in spread_w.items() if v]
                if bad:
                    out.append(pos.issue(("analyses", k, "weights"), f"design: staggered needs weights that do not "
                                         f"change within a unit ('{a.weights}' changes in {', '.join(bad[:3])})",
                                         "use a unit's weight for all its periods (for example its population in "
                                         "the first year)"))
    cl = a.cluster or unit
    if a.inference in ("cluster", "wild_bootstrap", "randomization") and cl is not None:
        where = ("analyses", k, "inference") if "inference" in a.model_fields_set else ("analyses", k)
        if frame[cl].nunique() < 2:
            out.append(pos.issue(where, "cluster-based inference needs at least 2 clusters"))
        rows = treated_rows(a, frame)
        if a.inference == "randomization" and unit is not None and \
                frame.loc[rows, unit].nunique() == frame[unit].nunique():
            out.append(pos.issue(where, "randomization inference needs units that were never treated"))
        few = few_treated_warning(int(frame.loc[rows, cl].nunique()), a.inference)
        if few:
            out.append(pos.issue(where, few, level="warning"))
    return out


def _window_means(frame: pd.DataFrame, names: pd.Series, column: str, lo: int, hi: int) -> pd.Series:
    t = frame["t"].to_numpy()
    rows = (t >= lo) & (t <= hi)
    return pd.Series(frame.loc[rows, column].to_numpy(dtype=float)).groupby(names[rows].to_numpy()).mean()


def check_synth(spec: EvaluationSpec, frame: pd.DataFrame, pos: Positioned, k: int, a: SynthAnalysis) -> list[Issue]:
    """Treated and donor units that exist and cover every period; predictors every unit can form.

    Every unit of the comparison needs the outcome (and the exposure) in every period: the
    weights are fitted on the whole pre-period path and the gap is read off every
    post-period. A predictor needs a value in its window for every unit and must vary across
    the donors of every pool (the main fit and each placebo re-fit), or ``Synth``'s problem is
    not defined. The sdid placebo standard error needs more donors than treated units.
    """
    out: list[Issue] = []
    unit = spec.data.unit
    if unit is None:
        return out  # refused by the design rules
    base = ("analyses", k)
    names = frame[unit].astype(str)
    present = set(names)
    treated = a.treated_units
    hint = f"units in the data: {', '.join(sorted(present)[:10])}"
    for j, u in enumerate(treated):
        if u not in present:
            loc = (*base, "treated") if isinstance(a.treated, str) else (*base, "treated", j)
            out.append(pos.issue(loc, f"unit '{u}' is not in the data column '{unit}'", hint))
    for j, u in enumerate(a.donors or ()):
        if u not in present:
            out.append(pos.issue((*base, "donors", j), f"unit '{u}' is not in the data column '{unit}'", hint))
    if out:
        return out
    donors = list(a.donors) if a.donors is not None else sorted(present - set(treated))
    if len(donors) < 3:
        out.append(pos.issue((*base, "donors") if a.donors is not None else base, f"a synthetic control needs at least "
                             f"three donor units (two to mix, and one more for each placebo re-fit), and only "
                             f"{len(donors)} remain", "add units that did not run the initiative"))
        return out
    if a.estimator == "sdid" and len(donors) <= len(treated):
        out.append(pos.issue((*base, "donors") if a.donors is not None else base, f"the sdid standard error needs more "
                             f"donors ({len(donors)}) than treated units ({len(treated)})", "add donor units"))
    chosen = [*treated, *donors]
    rows = names.isin(chosen).to_numpy()
    t = frame["t"].to_numpy()
    all_t = np.unique(t[rows])
    column = spec.indicator(a.indicator).column
    needed = [column] + ([a.offset] if a.offset else [])
    for col in needed:
        ok = rows & np.isfinite(frame[col].to_numpy(dtype=float))
        per_unit = pd.Series(t[ok]).groupby(names[ok].to_numpy()).nunique().reindex(chosen, fill_value=0)
        short = [(str(u), int(len(all_t) - n)) for u, n in per_unit.items() if n < len(all_t)]
        if short:
            u, n = short[0]
            more = f" (and {len(short) - 1} more units)" if len(short) > 1 else ""
            out.append(pos.issue(base, f"unit '{u}' has no value of '{col}' in {n} of the {len(all_t)} periods{more}: "
                                 "a synthetic control needs every unit in every period",
                                 "fill the gaps (0 for a period with no events), or leave the unit out with donors: "
                                 "[...]"))
    if out or a.predictors is None or a.estimator != "abadie":
        return out
    freq = spec.data.frequency
    sub = frame.loc[rows]
    sub_names = names[rows]
    for j, pred in enumerate(a.predictors):
        p_lo, p_hi = parse_period(pred.from_, freq), parse_period(pred.to, freq)
        if p_lo is None or p_hi is None:
            continue  # reported by the window checks
        col = pred.column
        if a.offset and col == column:
            values = sub[col].to_numpy(dtype=float) / sub[a.offset].to_numpy(dtype=float)
            sub = sub.assign(__rate__=values)
            col = "__rate__"
        means = _window_means(sub, sub_names, col, p_lo.ordinal, p_hi.ordinal).reindex(chosen)
        empty = [u for u in chosen if not np.isfinite(means.get(u, np.nan))]
        loc = (*base, "predictors", j)
        if empty:
            out.append(pos.issue(loc, f"predictor '{pred.column}' has no value from {pred.from_} to {pred.to} for "
                                 f"unit '{empty[0]}'" + (f" (and {len(empty) - 1} more)" if len(empty) > 1 else ""),
                                 "choose a window with data for every unit"))
            continue
        d = means.reindex(donors).to_numpy(dtype=float)
        pools = [("the donors", d)] + [(f"the donors other than '{donors[i]}'", np.delete(d, i)) for i in range(len(d))]
        flat = next((what for what, v in pools if np.ptp(v) == 0), None)
        if flat is not None:
            out.append(pos.issue(loc, f"predictor '{pred.column}' ({pred.from_} to {pred.to}) takes the same value in "
                                 f"all of {flat}, so it cannot tell them apart (the placebo re-fits use each such "
                                 "pool)", "remove the predictor or choose another window"))
    return out


def check_designs(frame: pd.DataFrame, spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """Every design check of every analysis (errors and warnings)."""
    unit = spec.data.unit
    treated: set[str] = set()
    if unit is not None:
        for a in spec.analyses:
            if isinstance(a, DidAnalysis):
                treated |= treated_units(a, frame, unit)
    out: list[Issue] = []
    for k, a in enumerate(spec.analyses):
        if isinstance(a, ItsAnalysis):
            out += check_its(spec, frame, pos, k, a, treated)
        elif isinstance(a, SynthAnalysis):
            out += check_synth(spec, frame, pos, k, a)
        else:
            out += check_did(spec, frame, pos, k, a)
    return out
