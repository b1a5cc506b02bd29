"""Fixtures of the pack tests: a small seeded ITS result (label of your choice)."""

from __future__ import annotations

import pandas as pd
import pytest

from preveval.methods.its import build_its_series, fit_its
from preveval.spec.models import Indicator, ItsAnalysis
from support import series_frame


def _small_its(label: str = "Events", offset: str | None = "population"):
    frame = series_frame().assign(period=lambda f: pd.PeriodIndex(f["month"], freq="M"))
    frame["t"] = frame["period"].map(lambda p: p.ordinal)
    spec = ItsAnalysis(id="its-events", method="its", indicator="events", intervention="2019-01", offset=offset,
                       sensitivity=False, reps=200)
    ind = Indicator(id="events", label=label, column="events", unit_label="events")
    series = build_its_series(spec, frame, outcome="events", unit=None)
    result = fit_its(spec, series, outcome="events", interventions={"": pd.Period("2019-01", "M").ordinal},
                     indicator=ind)
    return result, ind, spec


@pytest.fixture
def small_its():
    """A factory: ``small_its(label=..., offset=...)`` -> (ItsResult, Indicator, ItsAnalysis)."""
    return _small_its
