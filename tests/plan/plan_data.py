"""Seeded panels and series of known shape for the plan tests (and their evaluation files)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import preveval as pv

BASE = {"schema_version": 1, "initiative": {"id": "plan-test", "name": "Plan test"}}


def series_eval(n: int = 60, t0: int = 36, *, sigma: float = 2.0, seed: int = 5,
                analysis: dict[str, Any] | None = None) -> Any:
    """A single monthly series with white noise, and a gaussian level-change ITS."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range("2015-01", periods=n, freq="M")
    y = 50 + 0.1 * np.arange(n) + sigma * rng.standard_normal(n)
    a = {"id": "its-y", "method": "its", "indicator": "y", "intervention": str(periods[t0]), "impact": "level",
         "family": "gaussian", "sensitivity": False, **(analysis or {})}
    spec = {**BASE, "indicators": [{"id": "y", "label": "Response time", "column": "y", "kind": "continuous"}],
            "data": {"time": "month", "frequency": "month"}, "analyses": [a]}
    return pv.from_dict(spec, pd.DataFrame({"month": [str(p) for p in periods], "y": y}))


def panel_frame(n_treated: int, n_control: int, n_periods: int, start: int | list[int] | None, *,
                sigma_w: float = 1.0, sigma_v: float = 0.0, seed: int = 9, count: bool = False) -> pd.DataFrame:
    """A monthly panel: unit effects, unit-year shocks (``sigma_v``) and monthly noise.

    ``start`` is the index of the first treated period (a list: one per treated unit, for a
    staggered roll-out; None: nobody treated). Columns: unit, month, y, pop, group, post,
    active, first_treated.
    """
    rng = np.random.default_rng(seed)
    periods = pd.period_range("2012-01", periods=n_periods, freq="M")
    rows = []
    n = n_treated + n_control
    starts = start if isinstance(start, list) else [start] * n_treated
    first = min(s for s in starts if s is not None) if starts and start is not None else n_periods
    years = n_periods // 12 + 1
    for i in range(n):
        alpha = rng.normal(20, 3)
        v = rng.normal(0, sigma_v, years) if sigma_v else np.zeros(years)
        s = starts[i] if i < n_treated and start is not None else None
        for k, p in enumerate(periods):
            mu = alpha + v[k // 12]
            y = rng.poisson(max(mu, 0.1)) if count else mu + sigma_w * rng.standard_normal()
            rows.append({"unit": f"area-{i:02d}", "month": str(p), "y": float(y), "pop": 10_000.0,
                         "group": int(i < n_treated), "post": int(k >= first),
                         "active": int(s is not None and k >= s),
                         "first_treated": str(periods[s]) if s is not None else None})
    return pd.DataFrame(rows)


def panel_eval(frame: pd.DataFrame, analysis: dict[str, Any], *, kind: str = "continuous") -> Any:
    """An evaluation of ``frame`` with one analysis."""
    spec = {**BASE, "indicators": [{"id": "y", "label": "Incidents", "column": "y", "kind": kind}],
            "data": {"time": "month", "frequency": "month", "unit": "unit"}, "analyses": [analysis]}
    return pv.from_dict(spec, frame)
