"""Checks of a data file against the evaluation spec (one named function per check).

:func:`check_dataset` runs them in order and returns the prepared frame (numbers
converted, ``period`` and ``t`` added) with every issue found. Errors name the file, line
and column of the bad cell, or the YAML field that names a missing column; warnings (weak
designs) travel on into the results.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import Issue
from ..spec.loader import Loc, Positioned
from ..spec.models import DidAnalysis, EvaluationSpec, ItsAnalysis, SynthAnalysis
from ..spec.validate import suggest
from .design_checks import check_designs
from .periods import EXAMPLES, FREQUENCIES, parse_period, parse_periods
from .read import Dataset

MAX_CELL_ERRORS = 10
MIN_PERIODS_ERROR = 3
MIN_PERIODS_WARN = 8
#: The largest count accepted: 2^53, the largest whole number a float holds exactly (it fits
#: an int64). A count above it is a misplaced digit or a code in the wrong column.
MAX_COUNT = 2.0**53


@dataclass(frozen=True)
class ColumnRef:
    """A column named in the spec, where it is named, and what it must hold."""

    loc: Loc
    column: str
    role: str  # time | unit | count | numeric | predictor (numeric, blanks allowed) | offset | binary | period | label


def referenced_columns(spec: EvaluationSpec) -> Iterator[ColumnRef]:
    """Every data column the spec names, with the checks its role needs."""
    yield ColumnRef(("data", "time"), spec.data.time, "time")
    if spec.data.unit:
        yield ColumnRef(("data", "unit"), spec.data.unit, "unit")
    for k, ind in enumerate(spec.indicators):
        role = "count" if ind.kind == "count" else "numeric"
        yield ColumnRef(("indicators", k, "column"), ind.column, role)
    for k, a in enumerate(spec.analyses):
        base: Loc = ("analyses", k)
        if isinstance(a, ItsAnalysis):
            if a.offset:
                yield ColumnRef((*base, "offset"), a.offset, "offset")
            for j, c in enumerate(a.covariates):
                yield ColumnRef((*base, "covariates", j), c, "numeric")
            if a.comparison is not None and a.comparison.column:
                kinds = {i.id: i.kind for i in spec.indicators}
                role = "count" if kinds.get(a.indicator) == "count" else "numeric"
                yield ColumnRef((*base, "comparison", "column"), a.comparison.column, role)
        elif isinstance(a, DidAnalysis):
            roles = {"treatment": "numeric", "group": "binary", "post": "binary",
                     "first_treated": "period", "weights": "offset", "offset": "offset", "cluster": "label"}
            for name, role in roles.items():
                c = getattr(a, name)
                if c:
                    yield ColumnRef((*base, name), c, role)
            for j, c in enumerate(a.covariates):
                yield ColumnRef((*base, "covariates", j), c, "numeric")
            for j, c in enumerate(a.fixed_effects):
                yield ColumnRef((*base, "fixed_effects", j), c, "label")
        elif isinstance(a, SynthAnalysis):
            if a.offset:
                yield ColumnRef((*base, "offset"), a.offset, "offset")
            for j, pred in enumerate(a.predictors or ()):
                yield ColumnRef((*base, "predictors", j, "column"), pred.column, "predictor")


def _capped(issues: list[Issue], total: int, what: str, file: str) -> list[Issue]:
    """End a list cut at :data:`MAX_CELL_ERRORS` with a line that counts as the rest."""
    if total > len(issues):
        more = total - len(issues)
        issues.append(Issue(f"... and {more} more {what}", file=file, count=more))
    return issues


def check_columns_exist(ds: Dataset, refs: list[ColumnRef], pos: Positioned) -> list[Issue]:
    """Every column the spec names is in the file."""
    cols = list(ds.frame.columns)
    out = []
    for r in refs:
        if r.column not in cols:
            hint = suggest(r.column, cols) or f"the file has: {', '.join(cols[:20])}"
            out.append(pos.issue(r.loc, f"column '{r.column}' is not in {ds.file}", hint))
    return out


def check_periods(ds: Dataset, frame: pd.DataFrame, time: str,
                  freq: str) -> tuple[pd.Series, np.ndarray, list[Issue]]:
    """Every time value reads as a period of the declared frequency: the periods, their
    ordinals (NaN where unread) and the issues."""
    periods, bad, ordinals = parse_periods(frame[time], freq)
    issues = [
        ds.issue(i, time, f"'{frame[time].iloc[i]}' is not a {freq}",
                 f"write {freq}s like {EXAMPLES[freq]}, or change data.frequency")
        if not pd.isna(frame[time].iloc[i])
        else ds.issue(i, time, "the period is missing")
        for i in bad[:MAX_CELL_ERRORS]
    ]
    return periods, ordinals, _capped(issues, len(bad), "unreadable periods", ds.file)


def check_numeric(ds: Dataset, frame: pd.DataFrame, column: str,
                  blanks: bool = False) -> tuple[pd.Series, list[Issue]]:
    """A column holds numbers in every row (no text; no missing values unless ``blanks``)."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = np.flatnonzero(values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan)))
    if blanks:
        bad = np.array([i for i in bad if not (raw.iloc[i] != raw.iloc[i] or raw.iloc[i] is None)], dtype=int)
    issues = []
    for i in bad[:MAX_CELL_ERRORS]:
        v = raw.iloc[i]
        if pd.isna(v):
            issues.append(ds.issue(int(i), column, "the value is missing",
                                   "fill it in, or drop the row if the period is not observed"))
        else:
            issues.append(ds.issue(int(i), column, f"'{v}' is not a number",
                                   "write plain numbers: no units, thousands separators or notes"))
    return values, _capped(issues, len(bad), f"bad values in '{column}'", ds.file)


def check_counts(ds: Dataset, values: pd.Series, column: str) -> list[Issue]:
    """A count column holds whole numbers of zero or more, up to :data:`MAX_COUNT`."""
    v = values.to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(v)
    w = np.where(ok, v, 0.0)  # no arithmetic on inf or NaN (already reported as not numbers)
    neg = np.flatnonzero(ok & (w < 0))
    huge = np.flatnonzero(ok & (w > MAX_COUNT))
    frac = np.flatnonzero(ok & (w >= 0) & (w <= MAX_COUNT) & (np.abs(w - np.round(w)) > 1e-9))
    issues = [ds.issue(int(i), column, f"a count cannot be negative (got {v[i]:g})") for i in neg[:MAX_CELL_ERRORS]]
    issues += [
        ds.issue(int(i), column, f"a count cannot be this large (got {v[i]:g}; at most {MAX_COUNT:,.0f})",
                 "check for a misplaced digit, or a code in the wrong column")
        for i in huge[:MAX_CELL_ERRORS]
    ]
    issues += [
        ds.issue(int(i), column, f"a count must be a whole number (got {v[i]:g})",
                 "declare the indicator as kind: rate or continuous if it is not a count")
        for i in frac[:MAX_CELL_ERRORS]
    ]
    return _capped(issues, len(neg) + len(huge) + len(frac), f"bad counts in '{column}'", ds.file)


def check_positive(ds: Dataset, values: pd.Series, column: str) -> list[Issue]:
    """An offset (exposure) or weight is greater than zero."""
    v = values.to_numpy()
    bad = np.flatnonzero(np.isfinite(v) & (v <= 0))
    issues = [
        ds.issue(int(i), column, f"an offset or weight must be greater than zero (got {v[i]:g})",
                 "exposure such as population is never zero")
        for i in bad[:MAX_CELL_ERRORS]
    ]
    return _capped(issues, len(bad), f"non-positive values in '{column}'", ds.file)


def check_binary(ds: Dataset, values: pd.Series, column: str) -> list[Issue]:
    """A 0/1 column holds only 0 and 1."""
    v = values.to_numpy()
    bad = np.flatnonzero(np.isfinite(v) & ~np.isin(v, (0.0, 1.0)))
    issues = [ds.issue(int(i), column, f"must be 0 or 1 (got {v[i]:g})") for i in bad[:MAX_CELL_ERRORS]]
    return _capped(issues, len(bad), f"values other than 0/1 in '{column}'", ds.file)


def check_period_column(ds: Dataset, frame: pd.DataFrame, column: str, freq: str) -> tuple[pd.Series, list[Issue]]:
    """A column of periods (e.g. first treated period) reads where it is filled in."""
    raw = frame[column]
    filled = raw.notna().to_numpy()  # empty, NaN, NaT or <NA>: never treated
    _, bad, ordinals = parse_periods(raw.astype(object).where(raw.notna(), None), freq)
    bad = [i for i in bad if filled[i]]
    issues = [
        ds.issue(i, column, f"'{raw.iloc[i]}' is not a {freq}", f"write {freq}s like {EXAMPLES[freq]}; leave empty for never treated")
        for i in bad[:MAX_CELL_ERRORS]
    ]
    return pd.Series(ordinals, index=raw.index, dtype=float), _capped(issues, len(bad), f"unreadable periods in '{column}'", ds.file)


def check_unique_rows(ds: Dataset, frame: pd.DataFrame, keys: list[str], what: str, hint: str,
                      time: str) -> list[Issue]:
    """No two rows share the same key (unit and period, or period for a single series)."""
    dup = frame.duplicated(subset=keys, keep="first").to_numpy()
    idx = np.flatnonzero(dup)
    issues = []
    for i in idx[:MAX_CELL_ERRORS]:
        label = ", ".join(f"period {frame['period'].iloc[i]}" if k == "t" else f"{k} '{frame[k].iloc[i]}'"
                          for k in keys)
        issues.append(ds.issue(int(i), time, f"{what}: {label} appears more than once", hint))
    return _capped(issues, len(idx), "duplicate rows", ds.file)


def check_gaps(ds: Dataset, frame: pd.DataFrame, unit: str | None, level: str, time: str) -> list[Issue]:
    """Consecutive periods: no period is missing inside a series (or a unit's series).

    Each gap is reported at the row where the series goes on after it.
    """
    issues: list[Issue] = []
    t_all = frame["t"].to_numpy()
    if unit is None:
        codes, names = np.zeros(len(frame), dtype=np.intp), np.array([None], dtype=object)
    else:
        codes, uniques = pd.factorize(frame[unit], use_na_sentinel=True)
        names = np.asarray(uniques, dtype=object)
    order = np.lexsort((t_all, codes))  # by unit, then period (stable: ties keep the file's order)
    order = order[codes[order] >= 0]  # rows without a unit are reported elsewhere
    ts, cs = t_all[order], codes[order]
    steps = np.diff(ts)
    holes = np.flatnonzero((cs[1:] == cs[:-1]) & (steps > 1))
    if len(holes) == 0:
        return issues
    gap_units, first_hole = np.unique(cs[holes], return_index=True)  # holes are sorted: the first per unit
    missing = np.bincount(cs[holes], weights=steps[holes] - 1, minlength=len(names))
    freq = frame["period"].iloc[int(order[0])].freq
    for j in sorted(range(len(gap_units)), key=lambda j: str(names[gap_units[j]])):
        code, hole = int(gap_units[j]), int(holes[first_hole[j]])
        first = pd.Period(ordinal=int(ts[hole] + 1), freq=freq)
        who = f"unit '{names[code]!s}'" if unit else "the series"
        issues.append(ds.issue(
            int(order[hole + 1]), time, f"{who} has {int(missing[code])} missing period(s), the first is {first}, "
            "just before this row", "add a row for every period (a zero count is a value, not a gap)",
            level))
    return issues


def check_intervention_windows(spec: EvaluationSpec, frame: pd.DataFrame, pos: Positioned) -> list[Issue]:
    """ITS interventions read as periods and lie inside the data with enough periods on each side."""
    out: list[Issue] = []
    freq = spec.data.frequency
    t = np.unique(frame["t"].to_numpy())
    if len(t) == 0:
        return out
    lo, hi = int(t.min()), int(t.max())
    code = FREQUENCIES[freq]
    for k, a in enumerate(spec.analyses):
        if isinstance(a, SynthAnalysis):
            out += synth_windows(a, k, lo, hi, freq, pos)
            continue
        if not isinstance(a, ItsAnalysis):
            continue
        for iid, text in a.intervention_map().items():
            loc: Loc = ("analyses", k, "interventions", iid) if iid else ("analyses", k, "intervention")
            p = parse_period(text, freq)
            if p is None:
                out.append(pos.issue(loc, f"'{text}' is not a {freq}", f"write it like {EXAMPLES[freq]}"))
                continue
            first, last = pd.Period(ordinal=lo, freq=code), pd.Period(ordinal=hi, freq=code)
            if not lo < p.ordinal <= hi:
                out.append(pos.issue(loc, f"{p} is outside the data ({first} to {last})",
                                     "the intervention is the first period in which the initiative is active"))
                continue
            before, after = p.ordinal - lo, hi - p.ordinal + 1
            for side, n in (("before", before), ("from", after)):
                if n < MIN_PERIODS_ERROR:
                    out.append(pos.issue(loc, f"only {n} period(s) {side} the intervention {p}; at least {MIN_PERIODS_ERROR} are needed",
                                         "use a longer series"))
                elif n < MIN_PERIODS_WARN:
                    out.append(pos.issue(loc, f"only {n} periods {side} the intervention {p}: estimates of trend and change will be imprecise",
                                         f"{MIN_PERIODS_WARN} or more on each side are recommended", level="warning"))
    return out


def synth_windows(a: SynthAnalysis, k: int, lo: int, hi: int, freq: str, pos: Positioned) -> list[Issue]:
    """A synthetic control's periods read, lie inside the data and keep to the pre-period where they must.

    The intervention leaves at least :data:`MIN_PERIODS_ERROR` periods on each side; the fit
    window and every predictor window end before it (a predictor measured after the start
    would carry the effect into the weights); the placebo date leaves two periods on each side
    of it inside the pre-period.
    """
    out: list[Issue] = []
    code = FREQUENCIES[freq]
    first, last = pd.Period(ordinal=lo, freq=code), pd.Period(ordinal=hi, freq=code)

    def read(loc: Loc, text: str | None) -> pd.Period | None:
        if text is None:
            return None
        p = parse_period(text, freq)
        if p is None:
            out.append(pos.issue(loc, f"'{text}' is not a {freq}", f"write it like {EXAMPLES[freq]}"))
        elif not lo <= p.ordinal <= hi:
            out.append(pos.issue(loc, f"{p} is outside the data ({first} to {last})", "use a period inside the data"))
            return None
        return p

    base: Loc = ("analyses", k)
    start = read((*base, "intervention"), a.intervention)
    if start is None:
        return out
    before, after = start.ordinal - lo, hi - start.ordinal + 1
    for side, n in (("before", before), ("from", after)):
        if n < MIN_PERIODS_ERROR:
            out.append(pos.issue((*base, "intervention"), f"only {n} period(s) {side} the intervention {start}; at "
                                 f"least {MIN_PERIODS_ERROR} are needed", "use a longer series"))
        elif n < MIN_PERIODS_WARN:
            out.append(pos.issue((*base, "intervention"), f"only {n} periods {side} the intervention {start}: the "
                                 "synthetic comparison will rest on little data",
                                 f"{MIN_PERIODS_WARN} or more on each side are recommended", level="warning"))

    def pre(loc: Loc, p: pd.Period | None, what: str) -> None:
        if p is not None and p.ordinal >= start.ordinal:
            out.append(pos.issue(loc, f"{what} ({p}) must come before the intervention ({start})",
                                 "use periods before the start only: a predictor or fit period after it would let "
                                 "the effect shape the weights"))

    f_from, f_to = read((*base, "fit_from"), a.fit_from), read((*base, "fit_to"), a.fit_to)
    pre((*base, "fit_from"), f_from, "fit_from")
    pre((*base, "fit_to"), f_to, "fit_to")
    if f_from is not None and f_to is not None and f_from.ordinal > f_to.ordinal:
        out.append(pos.issue((*base, "fit_to"), f"fit_to {f_to} is before fit_from {f_from}", "swap them"))
    for j, pred in enumerate(a.predictors or ()):
        loc: Loc = (*base, "predictors", j)
        p_from, p_to = read((*loc, "from"), pred.from_), read((*loc, "to"), pred.to)
        pre((*loc, "from"), p_from, "the predictor window's start")
        pre((*loc, "to"), p_to, "the predictor window's end")
        if p_from is not None and p_to is not None and p_from.ordinal > p_to.ordinal:
            out.append(pos.issue((*loc, "to"), f"'to' {p_to} is before 'from' {p_from}", "swap them"))
    fake = read((*base, "placebo_date"), a.placebo_date)
    if fake is not None and not (lo + 2 <= fake.ordinal <= start.ordinal - 2):
        out.append(pos.issue((*base, "placebo_date"), f"the placebo date {fake} needs two periods before it and two "
                             f"between it and the intervention {start}", "choose a date inside the pre-period"))
    return out


def check_dataset(ds: Dataset, spec: EvaluationSpec, pos: Positioned) -> tuple[pd.DataFrame, list[Issue]]:
    """Run every check; return the prepared frame and all issues (errors and warnings)."""
    refs = list(referenced_columns(spec))
    missing = check_columns_exist(ds, refs, pos)
    if missing:
        return ds.frame, missing
    frame = ds.frame.copy()
    issues: list[Issue] = []
    if len(frame) == 0:
        return frame, [Issue("the file has a header but no rows", file=ds.file)]
    periods, t_ordinals, errs = check_periods(ds, frame, spec.data.time, spec.data.frequency)
    issues += errs
    done: set[tuple[str, str]] = set()
    for r in refs:
        if (r.column, r.role) in done or r.role in ("time",):
            continue
        done.add((r.column, r.role))
        if r.role in ("unit", "label"):
            frame[r.column] = frame[r.column].astype(str) if r.role == "unit" else frame[r.column]
            blank = np.flatnonzero(ds.frame[r.column].isna().to_numpy())
            issues += [ds.issue(int(i), r.column, "the value is missing") for i in blank[:MAX_CELL_ERRORS]]
            continue
        if r.role == "period":
            ordinals, errs = check_period_column(ds, frame, r.column, spec.data.frequency)
            issues += errs
            frame[r.column] = ordinals
            continue
        values, errs = check_numeric(ds, frame, r.column, blanks=r.role == "predictor")
        issues += errs
        if r.role == "count":
            issues += check_counts(ds, values, r.column)
        elif r.role == "offset":
            issues += check_positive(ds, values, r.column)
        elif r.role == "binary":
            issues += check_binary(ds, values, r.column)
        frame[r.column] = values
    if any(i.level == "error" for i in issues):
        return frame, issues
    frame["period"] = periods
    frame["t"] = t_ordinals.astype(np.int64)
    issues += _check_structure(ds, frame, spec, pos)
    if not any(i.level == "error" for i in issues):
        issues += check_intervention_windows(spec, frame, pos)
    if not any(i.level == "error" for i in issues):
        issues += check_designs(frame, spec, pos)
    return frame, issues


def _check_structure(ds: Dataset, frame: pd.DataFrame, spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """Series, panel or repeated cross-sections: rows and periods fit the analyses."""
    unit, time = spec.data.unit, spec.data.time
    has_its = any(isinstance(a, ItsAnalysis) for a in spec.analyses)
    needs_panel = [k for k, a in enumerate(spec.analyses)
                   if isinstance(a, DidAnalysis) and a.design != "two_by_two"]
    issues: list[Issue] = []
    if unit:
        issues += check_unique_rows(ds, frame, [unit, "t"], "duplicate row for a unit and period",
                                    "a panel has one row per unit and period", time)
        if not issues:
            issues += check_gaps(ds, frame, unit, "error" if has_its else "warning", time)
        return issues
    for k in needs_panel:
        issues.append(pos.issue(("analyses", k, "design"), f"design {spec.analyses[k].design} needs panel data",  # type: ignore[union-attr]
                                "set data.unit to the column naming the areas (or use design: two_by_two)"))
    if has_its:
        issues += check_unique_rows(ds, frame, ["t"], "a single series has one row per period",
                                    f"if rows are individual records, aggregate them per {spec.data.frequency}, "
                                    "or set data.unit for panel data", time)
        if not issues:
            issues += check_gaps(ds, frame, None, "error", time)
    return issues
