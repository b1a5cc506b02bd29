"""Disclosure control for a published pack: small counts from the data are not shown.

UK official statistics suppress small counts that could identify people (the GSS and ONS
guidance on disclosure control; a threshold of 5 is common practice for counts of events
about individuals). ``preveval run --publish`` (or ``write_pack(..., publish=True)``)
applies these rules to the tables and figures of the pack; internal packs (the default)
show everything. The analysis always uses the full data: estimates, intervals and
results.json are the same either way.

Rules (:func:`disclose`):

* **What**: cells of the pack that come from counts observed in the data, never model
  estimates: the observed values of an interrupted time series' series table (and of its
  comparison series) and the treated and comparison values of a difference-in-differences'
  trends table, the treated unit's observed values and gaps of a synthetic control, for
  count indicators (all of them, or those in ``disclosure.apply_to``).
  A rate or mean is judged by the count of events behind it (the events of the selected
  units in that period, read from the checked data), so a rate from 2 events is
  suppressed like the count 2.
* **Primary suppression**: a cell whose count is 1 to ``threshold - 1`` is shown as
  :data:`SUPPRESSED` (``[c]``, the GSS symbol for confidential) in the tables and left out
  of the figures (its periods are marked under the axis). Zero is shown.
* **Secondary suppression**: totals and differences must not give a suppressed cell away.
  The report publishes each series' total before and after the start (baselines and
  prevented events), so within each of these groups a single suppressed cell is joined by
  the smallest other non-zero cell; and since an analysis of all areas publishes the
  period's total of treated and comparison areas, a suppressed treated (comparison) cell
  suppresses the comparison (treated) cell of the same period. Repeated until stable.

:func:`disclosure_section` says in the report what was suppressed and how.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from preveval.pack.section import Section, TableItem

__all__ = ["SUPPRESSED", "DisclosureRules", "Suppression", "disclose", "disclosure_section", "rules_of",
           "suppress_counts"]

#: What a suppressed cell shows (the Government Statistical Service's symbol for confidential).
SUPPRESSED = "[c]"


@dataclass(frozen=True)
class DisclosureRules:
    """Counts from 1 to ``threshold - 1`` are suppressed; ``apply_to``: indicator ids (None: every count)."""

    threshold: int = 5
    apply_to: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Suppression:
    """What was suppressed in one column of one table."""

    table: str
    column: str
    primary: int
    secondary: int
    cells: int
    basis: str


def rules_of(spec: Any) -> DisclosureRules:
    """The rules of an evaluation's ``disclosure:`` block (the defaults without one)."""
    block = getattr(spec, "disclosure", None)
    if block is None:
        return DisclosureRules()
    apply_to = getattr(block, "apply_to", None)
    return DisclosureRules(int(block.threshold), None if apply_to is None else tuple(apply_to))


def suppress_counts(counts: np.ndarray, threshold: int, groups: list[np.ndarray],
                    pairs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Primary and secondary suppression of one or two columns of counts.

    ``counts`` is ``(n,)`` or ``(n, 2)`` (two columns whose row sums are published);
    ``groups`` are row masks of column 0 whose totals are published. Returns the primary
    and the secondary masks (same shape as ``counts``). NaN counts are never suppressed.
    """
    c = np.asarray(counts, dtype=float)
    two = c.ndim == 2
    c2 = c if two else c[:, None]
    valid = np.isfinite(c2)
    primary = valid & (c2 >= 1) & (c2 < threshold)
    hidden = primary.copy()
    changed = True
    while changed:
        changed = False
        for g in groups:
            col = hidden[:, 0] & g
            if col.sum() == 1:
                cand = g & ~hidden[:, 0] & valid[:, 0] & (c2[:, 0] > 0)
                if cand.any():
                    j = int(np.flatnonzero(cand)[np.argmin(c2[cand, 0])])
                    hidden[j, 0] = changed = True
        if two:
            one = hidden.sum(axis=1) == 1
            if pairs is not None:
                one &= pairs
            for i in np.flatnonzero(one):
                other = 1 if hidden[i, 0] else 0
                if valid[i, other]:
                    hidden[i, other] = changed = True
    secondary = hidden & ~primary
    return (primary, secondary) if two else (primary[:, 0], secondary[:, 0])


def _mark(values: pd.Series, hide: np.ndarray) -> pd.Series:
    out = values.astype(object).copy()
    out[np.asarray(hide, dtype=bool)] = SUPPRESSED
    return out


def _by_t(frame: pd.DataFrame, mask: np.ndarray | None, column: str) -> pd.Series:
    rows = frame if mask is None else frame.loc[mask]
    return pd.to_numeric(rows[column], errors="coerce").groupby(rows["t"].to_numpy()).sum(min_count=1)


def _unit_mask(frame: pd.DataFrame, unit: str | None, units: Any) -> np.ndarray | None:
    if unit is None or units in (None, "all"):
        return None
    return frame[unit].astype(str).isin([str(u) for u in units]).to_numpy()


def _its(result: Any, a: Any, column: str, frame: pd.DataFrame | None, unit: str | None,
         threshold: int) -> tuple[Any, list[Suppression]]:
    from preveval.pack.its_section import _as_period

    s = result.series
    if s is None or s.empty or "t" not in s.columns:
        return result, []
    t = s["t"].to_numpy()
    freq = pd.PeriodIndex(s["period"]).freq
    first = min(_as_period(v, freq) for v in result.interventions.values())
    post = np.asarray(pd.PeriodIndex(s["period"]) >= first)
    columns: dict[str, tuple[np.ndarray, str]] = {}
    if frame is not None:
        columns["observed"] = (_by_t(frame, _unit_mask(frame, unit, a.units), column).reindex(t).to_numpy(),
                               "events in the selected units per period")
        comp = a.comparison
        if "comparison_observed" in s.columns and comp is not None:
            if comp.units is not None:
                cmask = _unit_mask(frame, unit, comp.units)
                columns["comparison_observed"] = (_by_t(frame, cmask, column).reindex(t).to_numpy(),
                                                  "events in the comparison units per period")
            elif comp.column is not None:
                columns["comparison_observed"] = (_by_t(frame, None, comp.column).reindex(t).to_numpy(),
                                                  "events of the control outcome per period")
    elif a.offset is None:
        columns["observed"] = (pd.to_numeric(s["observed"], errors="coerce").to_numpy(), "observed counts")
    out = s.copy()
    done = []
    for col, (counts, basis) in columns.items():
        primary, secondary = suppress_counts(counts, threshold, [~post, post])
        out[col] = _mark(out[col], primary | secondary)
        done.append(Suppression(f"{result.id}-series", col, int(primary.sum()), int(secondary.sum()), len(t), basis))
    return replace(result, series=out), done


def _treated_rows(a: Any, frame: pd.DataFrame, unit: str | None) -> np.ndarray:
    """Rows of the units ever treated (as the trends figure groups them)."""
    if a.design == "two_by_two":
        return pd.to_numeric(frame[a.group], errors="coerce").to_numpy(dtype=float) == 1
    if a.design == "twfe" or a.first_treated is None:
        on = pd.to_numeric(frame[a.treatment], errors="coerce").to_numpy(dtype=float) > 0
    else:
        on = np.isfinite(pd.to_numeric(frame[a.first_treated], errors="coerce").to_numpy(dtype=float))
    if unit is None:
        return on
    return pd.Series(on).groupby(frame[unit].to_numpy()).transform("max").to_numpy(dtype=bool)


def _did(result: Any, a: Any, column: str, frame: pd.DataFrame | None, unit: str | None,
         threshold: int) -> tuple[Any, list[Suppression]]:
    rob = result.robustness
    if rob is None or rob.trends is None or rob.trends.empty or frame is None:
        return result, []
    tr = rob.trends
    t = tr["t"].to_numpy()
    treated = _treated_rows(a, frame, unit)
    counts = np.column_stack([_by_t(frame, treated, column).reindex(t).to_numpy(dtype=float),
                              _by_t(frame, ~treated, column).reindex(t).to_numpy(dtype=float)])
    start = rob.first_start
    post = t >= start if start is not None else np.zeros(len(t), dtype=bool)
    primary, secondary = suppress_counts(counts, threshold, [~post, post])
    out = tr.copy()
    done = []
    for k, col in enumerate(("mean_treated", "mean_comparison")):
        if col in out.columns:
            out[col] = _mark(out[col], primary[:, k] | secondary[:, k])
            done.append(Suppression(f"{result.id}-trends", col, int(primary[:, k].sum()),
                                    int(secondary[:, k].sum()), len(t),
                                    f"events in the {'treated' if k == 0 else 'comparison'} units per period"))
    return replace(result, robustness=replace(rob, trends=out)), done


def _synth(result: Any, a: Any, column: str, frame: pd.DataFrame | None, unit: str | None,
           threshold: int) -> tuple[Any, list[Suppression]]:
    """The treated unit's observed values (and its gap, which gives them away) in a synthetic control."""
    s = result.series
    if s is None or s.empty or frame is None or unit is None:
        return result, []
    t = s["t"].to_numpy()
    post = s["post"].to_numpy(dtype=bool)
    counts = _by_t(frame, _unit_mask(frame, unit, list(result.treated)), column).reindex(t).to_numpy(dtype=float)
    primary, secondary = suppress_counts(counts, threshold, [~post, post])
    hide = primary | secondary
    out = s.copy()
    for col in ("treated", "gap"):
        out[col] = _mark(out[col], hide)
    gaps = result.placebo_gaps
    if gaps is not None:
        gaps = gaps.copy()
        for name in result.treated:
            if name in gaps.columns:
                gaps[name] = _mark(gaps[name], hide)
    done = [Suppression(f"{result.id}-series", "treated", int(primary.sum()), int(secondary.sum()), len(t),
                        "events in the treated unit(s) per period")]
    return replace(result, series=out, placebo_gaps=gaps), done


def disclose(result: Any, rules: DisclosureRules) -> tuple[Any, list[Suppression]]:
    """A copy of the evaluation result whose data-count cells follow the rules, and what changed.

    Only the tables the pack draws from (series and trends, kept out of results.json) are
    changed; every estimate is left as it is.
    """
    spec = result.spec
    ev = getattr(result, "evaluation", None)
    frame = getattr(ev, "frame", None)
    unit = spec.data.unit
    analyses = dict(result.analyses)
    done: list[Suppression] = []
    for a in spec.analyses:
        ind = spec.indicator(a.indicator)
        if ind.kind != "count" or (rules.apply_to is not None and ind.id not in rules.apply_to):
            continue
        r = analyses.get(a.id)
        if r is None:
            continue
        if a.method == "its":
            analyses[a.id], found = _its(r, a, ind.column, frame, unit, rules.threshold)
        elif a.method == "did":
            analyses[a.id], found = _did(r, a, ind.column, frame, unit, rules.threshold)
        elif a.method == "synthetic_control":
            analyses[a.id], found = _synth(r, a, ind.column, frame, unit, rules.threshold)
        else:
            found = []
        done += found
    return replace(result, analyses=analyses), done


def disclosure_section(rules: DisclosureRules, done: list[Suppression]) -> Section:
    """The report's account of what was suppressed and how."""
    sec = Section(id="disclosure", title="Disclosure control")
    n1 = sum(d.primary for d in done)
    n2 = sum(d.secondary for d in done)
    k = rules.threshold
    sec.headline = (f"This pack is published with small counts suppressed: {n1} cell(s) with 1 to {k - 1} events, "
                    f"and {n2} more so that totals and differences cannot reveal them.")
    sec.paragraphs = [
        f"Counts of 1 to {k - 1} events observed in the data (threshold {k}, as in UK official statistics practice "
        f"for small counts) are shown as {SUPPRESSED} in the tables and CSV files and are left out of the figures, "
        "where their periods are marked under the axis; zeros are shown. A rate or average is suppressed when the "
        "count of events behind it is small, since the rate and the population would give the count away.",
        "Secondary suppression: the report gives each series' total before and after the start (in the baselines "
        "and the prevented events), so where one of these groups had a single suppressed cell the smallest other "
        "non-zero cell was suppressed too; and where the treated or the comparison areas' value for a period was "
        "suppressed, so was the other, since an analysis of all areas gives their sum.",
        "Only values taken from the data are suppressed, never model estimates. The analyses used the full data: "
        "every estimate, interval and results.json are the same as in an unpublished pack.",
    ]
    if not done:
        sec.paragraphs.append("No table of this pack holds counts from the data, so nothing had to be suppressed.")
    frame = pd.DataFrame([{"table": d.table, "column": d.column, "cells": d.cells, "suppressed (small count)":
                           d.primary, "suppressed (secondary)": d.secondary, "counted": d.basis} for d in done],
                         columns=["table", "column", "cells", "suppressed (small count)", "suppressed (secondary)",
                                  "counted"])
    if done:
        sec.tables.append(TableItem("disclosure", "Cells suppressed in each published table", frame))
    return sec
