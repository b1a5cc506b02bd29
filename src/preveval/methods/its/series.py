"""The time series an ITS is fitted to: one row per period, from a series or a panel.

:func:`build_its_series` turns the checked data frame into the series (aggregating the
selected units of a panel), and adds the comparison series of a controlled ITS as columns
``comparison_outcome`` / ``comparison_offset`` (and ``comparison.<covariate>``).
"""

from __future__ import annotations

import pandas as pd

from preveval.data.periods import period_word
from preveval.errors import DataError, Issue
from preveval.results.base import Baseline
from preveval.spec.models import ItsAnalysis

__all__ = ["build_its_series", "series_baseline"]

def _fmt_periods(frame: pd.DataFrame, ts: list[int], limit: int = 5) -> str:
    lookup = dict(zip(frame["t"], frame["period"], strict=False))
    shown = [str(lookup.get(t, t)) for t in ts[:limit]]
    more = f" and {len(ts) - limit} more" if len(ts) > limit else ""
    return ", ".join(shown) + more


def _duplicate_periods(rows: pd.DataFrame, within: pd.DataFrame, what: str, path: str, hint: str) -> list[Issue]:
    """An issue naming the periods that appear more than once in ``rows`` (labels from ``within``)."""
    dup = rows["t"][rows["t"].duplicated()].unique().tolist()
    if not dup:
        return []
    return [Issue(f"{what} for period(s) {_fmt_periods(within, sorted(dup))}", path=path, hint=hint)]


def _aggregate(
    spec: ItsAnalysis,
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    units: tuple[str, ...] | None,
    field: str,
) -> tuple[pd.DataFrame, list[Issue]]:
    """Aggregate the selected units of a panel per period; issues for missing data."""
    issues: list[Issue] = []
    names = frame[unit].astype(str)
    present = list(dict.fromkeys(names))
    chosen = list(units) if units is not None else present
    unknown = [u for u in chosen if u not in set(present)]
    for u in unknown:
        issues.append(
            Issue(
                f"unit '{u}' is not in the data column '{unit}'",
                path=f"analyses.{spec.id}.{field}",
                hint=f"units in the data: {', '.join(present[:10])}{' ...' if len(present) > 10 else ''}",
            )
        )
    chosen = [u for u in chosen if u not in unknown]
    sub = frame.loc[names.isin(chosen)].copy()
    sub["_unit"] = names[names.isin(chosen)]
    all_t = sorted(set(sub["t"]))
    for key, g in sub.groupby("_unit", sort=False):
        u = str(key)
        missing = sorted(set(all_t) - set(g["t"]))
        if missing:
            issues.append(
                Issue(
                    f"unit '{u}' has no row for {len(missing)} period(s): {_fmt_periods(sub, missing)}",
                    path=f"analyses.{spec.id}.{field}",
                    hint="add the missing rows (use 0 for a period with no events) or leave the unit out with 'units:'",
                )
            )
        issues += _duplicate_periods(g, sub, f"unit '{u}' has more than one row", f"analyses.{spec.id}.{field}",
                                     "keep one row per unit and period")
    if issues or sub.empty:
        return pd.DataFrame(), issues
    grouped = sub.groupby("t", sort=True)
    out = pd.DataFrame({"t": sorted(all_t)}).set_index("t")
    out["period"] = grouped["period"].first()
    out[outcome] = grouped[outcome].sum(min_count=1) if spec.aggregate == "sum" else grouped[outcome].mean()
    if spec.offset:
        out[spec.offset] = grouped[spec.offset].sum(min_count=1)
    for c in spec.covariates:
        out[c] = grouped[c].mean()
    return out.reset_index(), issues


def _check_values(spec: ItsAnalysis, s: pd.DataFrame, columns: list[str]) -> list[Issue]:
    issues = []
    for c in columns:
        bad = s.loc[s[c].isna(), "t"].tolist()
        if bad:
            issues.append(
                Issue(
                    f"column '{c}' is empty for {len(bad)} period(s): {_fmt_periods(s, bad)}",
                    path=f"analyses.{spec.id}",
                    hint="an ITS needs a value in every period; fill the gaps or shorten the series",
                )
            )
    if spec.offset and spec.offset in s and (s[spec.offset] <= 0).any():
        bad = s.loc[s[spec.offset] <= 0, "t"].tolist()
        issues.append(
            Issue(
                f"offset column '{spec.offset}' is zero or negative in {_fmt_periods(s, bad)}",
                path=f"analyses.{spec.id}.offset",
                hint="the offset is an exposure such as a population and must be positive",
            )
        )
    return issues


def build_its_series(
    spec: ItsAnalysis, frame: pd.DataFrame, *, outcome: str, unit: str | None
) -> pd.DataFrame:
    """Build the series an ITS is fitted to.

    Parameters
    ----------
    spec : ItsAnalysis
        The analysis; ``units``, ``aggregate``, ``offset``, ``covariates`` and
        ``comparison`` are used.
    frame : DataFrame
        The checked data: original columns plus ``period`` (pandas Period) and ``t``
        (``period.ordinal``). Not modified.
    outcome : str
        The indicator's column.
    unit : str or None
        The unit column of a panel, or None for a single series.

    Returns
    -------
    DataFrame
        One row per period sorted by ``t``: ``period``, ``t``, the outcome, the offset (if
        any), the covariates; for a controlled ITS also ``comparison_outcome``,
        ``comparison_offset`` (if an offset) and ``comparison.<covariate>``.

    Raises
    ------
    DataError
        A requested unit does not exist, a selected unit lacks some periods, a period is
        duplicated in a single series, or a needed value is empty.
    """
    keep = ["period", "t", outcome, *([spec.offset] if spec.offset else []), *spec.covariates]
    comp = spec.comparison
    if comp is not None and comp.column is not None:
        keep.append(comp.column)
    keep = list(dict.fromkeys(keep))
    issues: list[Issue] = []
    if unit is None:
        if comp is not None and comp.units is not None:
            issues.append(
                Issue(
                    "comparison units need panel data with a unit column",
                    path=f"analyses.{spec.id}.comparison.units",
                    hint="set data.unit, or give a control outcome with comparison: {column: ...}",
                )
            )
        s = frame[keep].sort_values("t").reset_index(drop=True)
        issues += _duplicate_periods(s, s, "more than one row", f"analyses.{spec.id}",
                                     "a single series has one row per period; set data.unit for panel data")
    else:
        units = None if spec.units in (None, "all") else tuple(spec.units)
        s, issues = _aggregate(spec, frame, outcome=outcome, unit=unit, units=units, field="units")
        if comp is not None and comp.column is not None and not issues:
            # a control outcome is aggregated like the outcome
            agg = frame.assign(_u=frame[unit].astype(str))
            if units is not None:
                agg = agg[agg["_u"].isin(units)]
            g = agg.groupby("t")[comp.column]
            s[comp.column] = (g.sum(min_count=1) if spec.aggregate == "sum" else g.mean()).reindex(s["t"]).to_numpy()
        if comp is not None and comp.units is not None and not issues:
            overlap = set(comp.units) & set(units or ())
            if overlap or units is None:
                issues.append(
                    Issue(
                        "the comparison units overlap the treated units"
                        + (f" ({', '.join(sorted(overlap))})" if overlap else " (all units are treated by default)"),
                        path=f"analyses.{spec.id}.comparison.units",
                        hint="list the treated units under 'units:' and different ones under 'comparison: {units: ...}'",
                    )
                )
            else:
                c, cissues = _aggregate(
                    spec, frame, outcome=outcome, unit=unit, units=comp.units, field="comparison.units"
                )
                issues += cissues
                if not cissues:
                    ren = {outcome: "comparison_outcome"}
                    if spec.offset:
                        ren[spec.offset] = "comparison_offset"
                    ren.update({cv: f"comparison.{cv}" for cv in spec.covariates})
                    c = c.rename(columns=ren).drop(columns=["period"])
                    missing = sorted(set(s["t"]) ^ set(c["t"]))
                    if missing:
                        issues.append(
                            Issue(
                                f"treated and comparison units cover different periods: {_fmt_periods(pd.concat([s, c]), missing)}",
                                path=f"analyses.{spec.id}.comparison.units",
                                hint="give both the same periods",
                            )
                        )
                    s = s.merge(c, on="t", how="inner")
    if not issues:
        value_cols = [c for c in s.columns if c not in ("period", "t")]
        issues += _check_values(spec, s, value_cols)
    if issues:
        raise DataError(issues)
    if comp is not None and comp.column is not None:
        s = s.rename(columns={comp.column: "comparison_outcome"})
        if spec.offset:
            s["comparison_offset"] = s[spec.offset]
        for cv in spec.covariates:
            s[f"comparison.{cv}"] = s[cv]
    return s.sort_values("t").reset_index(drop=True)


def series_baseline(spec: ItsAnalysis, table: pd.DataFrame, t0: int, ppy: float) -> Baseline | None:
    """Mean observed outcome per period before the first intervention (the series table's units)."""
    pre = table.loc[table["t"] < t0, "observed"].to_numpy(dtype=float)
    if pre.size == 0:
        return None
    return Baseline(float(pre.mean()), period_word(ppy), int(pre.size),
                    spec.rate_per if spec.offset else None, spec.offset, False)
