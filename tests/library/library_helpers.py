"""Seeded SYNTHETIC data in the shape a library template asks for (tests only).

:func:`synthetic_data` reads a template's ``data`` block, indicators and analyses and
writes a long panel (one row per unit and period) with every column the file names:

* **units**: the units the analyses name (ITS ``units``, comparison units, a synthetic
  control's ``treated`` and ``donors``) plus invented areas up to ``n_units``;
* **periods**: five years before the first intervention to three years after it, at
  ``data.frequency``, written as the period text preveval reads (``2019-04``,
  ``2019Q2``, ``2019``);
* **roll-out**: the named treated units start at the intervention; half of the other units
  (at least six) start at it or one or two years later (staggered cohorts) and the rest
  never do (a template naming no unit gets three units starting at the intervention), so
  ``first_treated``, ``treatment``, ``group`` and ``post`` columns agree with each other;
* **counts**: negative binomial (gamma-Poisson, variance ``mu + 0.12 mu^2``) around an
  exposure (population-like, growing 0.5% a year) times a base rate, a gentle downward
  trend, a winter-peaked season (monthly, weekly, quarterly data) and a true effect of
  15% in the desired direction for treated unit-periods; placebo indicators (label
  says "placebo") and comparison columns get no effect;
* **proportions** between 0 and 1 on the logit scale, **rates** and **continuous**
  indicators on their own positive scale, with the same season and effect.

The numbers are invented, not real statistics. Same template and seed: byte-identical CSV.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from preveval.data.checks import referenced_columns
from preveval.data.periods import FREQUENCIES, parse_period
from preveval.spec.models import DidAnalysis, EvaluationSpec, ItsAnalysis, SynthAnalysis

PER_YEAR = {"day": 365, "week": 52, "month": 12, "quarter": 4, "year": 1}
DEFAULT_START = {"day": "2020-04-01", "week": "2020-W14", "month": "2020-04", "quarter": "2020Q2",
                 "year": "2020"}
EFFECT = 0.15


def _label(period: pd.Period, freq: str) -> str:
    if freq == "month":
        return period.strftime("%Y-%m")
    if freq == "quarter":
        return f"{period.year}Q{period.quarter}"
    if freq == "year":
        return str(period.year)
    if freq == "week":
        return period.start_time.strftime("%Y-%m-%d")
    return period.strftime("%Y-%m-%d")


def named_units(spec: EvaluationSpec) -> tuple[list[str], list[str]]:
    """(treated units, other named units) the analyses mention, in order of appearance."""
    treated: list[str] = []
    other: list[str] = []
    for a in spec.analyses:
        if isinstance(a, ItsAnalysis):
            if isinstance(a.units, tuple):
                treated += a.units
            if a.comparison is not None and a.comparison.units:
                other += a.comparison.units
        elif isinstance(a, SynthAnalysis):
            treated += a.treated_units
            other += a.donors or ()
    treated = list(dict.fromkeys(treated))
    other = [u for u in dict.fromkeys(other) if u not in treated]
    return treated, other


def first_intervention(spec: EvaluationSpec) -> pd.Period:
    """The earliest intervention period any analysis names (or a default in 2020)."""
    freq = spec.data.frequency
    found = []
    for a in spec.analyses:
        if isinstance(a, ItsAnalysis):
            found += [parse_period(v, freq) for v in a.intervention_map().values()]
        elif isinstance(a, SynthAnalysis):
            found.append(parse_period(a.intervention, freq))
    found = [p for p in found if p is not None]
    p = min(found) if found else parse_period(DEFAULT_START[freq], freq)
    assert p is not None
    return p


def _seed(spec: EvaluationSpec, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(spec.initiative.id.encode())])


def synthetic_frame(spec: EvaluationSpec, *, seed: int = 2024, n_units: int = 16,
                    years_before: int = 5, years_after: int = 3,
                    units: list[str] | None = None) -> pd.DataFrame:
    """The synthetic panel for ``spec`` (see the module docstring)."""
    rng = _seed(spec, seed)
    freq = spec.data.frequency
    py = PER_YEAR[freq]
    start = first_intervention(spec)
    periods = pd.period_range(start - years_before * py, start + years_after * py - 1, freq=FREQUENCIES[freq])
    treated, other = named_units(spec)
    single = spec.data.unit is None
    if single:
        units = ["(single series)"]
    else:
        invented = list(units or ()) + [f"Area {chr(ord('A') + i)}" for i in range(26)]
        units = treated + other + [u for u in invented if u not in treated + other]
        units = units[:max(n_units, len(treated) + len(other) + 3)]
    # Roll-out: named treated units at the intervention; some others later; the rest never.
    start_of: dict[str, pd.Period | None] = {}
    rest = [u for u in units if u not in treated and u not in other]
    staggered = rest[: max(6, len(rest) // 2)]
    if not treated and not single:
        treated, staggered = rest[:3], rest[3:3 + max(6, len(rest) // 2)]
    for u in units:
        start_of[u] = None
    for u in treated:
        start_of[u] = start
    for k, u in enumerate(staggered):
        if u not in treated:
            start_of[u] = start + (1 + k % 2) * py if k % 3 else start
    if single:
        start_of[units[0]] = start

    refs = list({r.column: (r.column, r.role) for r in reversed(list(referenced_columns(spec)))}.values())[::-1]
    constant = {a.weights for a in spec.analyses if isinstance(a, DidAnalysis) and a.weights}
    placebo = {i.column for i in spec.indicators if "placebo" in i.label.lower()}
    comparison = {a.comparison.column for a in spec.analyses
                  if isinstance(a, ItsAnalysis) and a.comparison is not None and a.comparison.column}
    desired = {i.column: i.desired for i in spec.indicators}
    kinds = {i.column: i.kind for i in spec.indicators}
    exposures = {c for c, r in referenced_columns_roles(spec) if r == "offset"}

    n_t = len(periods)
    years = (np.arange(n_t) - years_before * py) / py
    pos_in_year = np.array([(p.ordinal % py) / py for p in periods]) if py > 1 else np.zeros(n_t)
    # winter peak: highest near the turn of the year
    season = np.cos(2 * np.pi * (pos_in_year - 0.0)) if py > 1 else np.zeros(n_t)
    rows = []
    unit_size = {u: float(rng.uniform(0.6, 1.6)) for u in units}
    base_level: dict[str, float] = {}
    for col, _ in refs:
        base_level[col] = float(rng.uniform(6.0, 30.0)) * 12 / py if py <= 12 else float(rng.uniform(1.0, 6.0))
    for u in units:
        size = unit_size[u]
        active = np.array([start_of[u] is not None and p >= start_of[u] for p in periods])
        shock = rng.normal(0, 0.05, n_t)
        data: dict[str, object] = {}
        for col, role in refs:
            if role == "time":
                data[col] = [_label(p, freq) for p in periods]
            elif role == "unit":
                data[col] = u
            elif role == "offset" and col not in desired:
                pop = 50_000 * size
                growth = np.ones(n_t) if col in constant else 1.005 ** years
                data[col] = np.round(pop * growth).astype(int)
            elif role == "period":
                s = start_of[u]
                data[col] = "" if s is None else _label(s, freq)
            elif role == "binary" and col not in desired:
                is_group = start_of[u] is not None
                data[col] = active.astype(int) if is_group and "post" not in col else (
                    np.array([p >= start for p in periods]).astype(int) if "post" in col else np.zeros(n_t, int))
            elif role == "label" and col != spec.data.unit:
                data[col] = f"cluster-{units.index(u) // 2 + 1}"
            elif role in ("numeric", "predictor") and col not in desired and col not in comparison:
                data[col] = active.astype(int) if _is_treatment(spec, col) else np.round(
                    rng.normal(10 * size, 1.0) + rng.normal(0, 0.3, n_t), 3)
        for col, _role in refs:
            if col not in desired and col not in comparison:
                continue
            effect = 0.0 if col in placebo or col in comparison else EFFECT
            sign = -1.0 if desired.get(col, "decrease") == "decrease" else 1.0
            log_effect = np.log1p(sign * effect) * active
            kind = kinds.get(col, "count")
            trend = -0.02 * years
            if kind == "count":
                mu = base_level[col] * size * np.exp(trend + 0.2 * season + shock + log_effect)
                alpha = 0.12
                if col in exposures:  # a count that is also an exposure (incidents attended)
                    mu = mu * 6
                lam = rng.gamma(1.0 / alpha, alpha * mu)
                data[col] = np.maximum(rng.poisson(lam), 1) if col in exposures else rng.poisson(lam)
            elif kind == "proportion":
                base = float(rng.uniform(-0.5, 1.5))
                z = base + 0.1 * season + shock + sign * 0.3 * active + 0.02 * years
                data[col] = np.round(1 / (1 + np.exp(-z)), 4)
            else:
                level = 40.0 * size
                data[col] = np.round(level * np.exp(trend + 0.1 * season + shock + log_effect), 3)
        rows.append(pd.DataFrame(data, index=range(n_t)))
    frame = pd.concat(rows, ignore_index=True)
    return frame[[c for c, _ in refs]] if not single else frame[[c for c, r in refs if r != "unit"]]


def referenced_columns_roles(spec: EvaluationSpec) -> list[tuple[str, str]]:
    """(column, role) of every reference, repeats kept (a column may have two roles)."""
    return [(r.column, r.role) for r in referenced_columns(spec)]


def _is_treatment(spec: EvaluationSpec, col: str) -> bool:
    return any(isinstance(a, DidAnalysis) and a.treatment == col for a in spec.analyses)


def write_synthetic_data(spec: EvaluationSpec, folder: Path, *, seed: int = 2024,
                         units: list[str] | None = None) -> Path:
    """Write the synthetic panel to ``folder / spec.data.path`` as CSV; return the path.

    ``units`` are names to use first for the units the analyses do not name.
    """
    path = folder / spec.data.path
    path.parent.mkdir(parents=True, exist_ok=True)
    synthetic_frame(spec, seed=seed, units=units).to_csv(path, index=False, lineterminator="\n")
    return path
