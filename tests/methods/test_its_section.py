"""The ITS report section: headline wording, tables and figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from preveval.methods.its import build_its_series, fit_its
from preveval.pack.its_section import its_section
from preveval.spec.models import Indicator, ItsAnalysis


def _frame(effect: float, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    periods = pd.period_range("2015-01", periods=72, freq="M")
    t = np.arange(72)
    mu = np.exp(4 + 0.002 * t + effect * (t >= 36))
    return pd.DataFrame({"period": periods, "t": [p.ordinal for p in periods], "ksi": rng.poisson(mu), "pop": 1e5})


def _run(effect: float, desired: str = "decrease", **kw):
    ind = Indicator(id="ksi", label="Young drivers killed or seriously injured", column="ksi", desired=desired)
    spec = ItsAnalysis(id="its-ksi", method="its", indicator="ksi", intervention="2018-01", impact="level", sensitivity=False, **kw)
    d = _frame(effect)
    s = build_its_series(spec, d, outcome="ksi", unit=None)
    res = fit_its(spec, s, outcome="ksi", interventions={"": pd.Period("2018-01", "M").ordinal}, indicator=ind)
    return res, its_section(res, ind, spec)


def test_headline_clear_fall() -> None:
    res, sec = _run(-0.4)
    assert "lower" in sec.headline and "95% CI" in sec.headline
    assert "direction the initiative aims for" in sec.headline
    names = [t.name for t in sec.tables]
    assert "its-ksi-coefficients" in names and "its-ksi-series" in names
    assert [f.name for f in sec.figures][0] == "its-ksi-its"
    assert any("Standard errors" in d for d in sec.details)


def test_headline_honest_when_ci_spans_zero() -> None:
    _, sec = _run(0.0)
    assert "uncertain" in sec.headline and "cannot tell" in sec.headline


def test_headline_opposite_direction() -> None:
    _, sec = _run(0.4)
    assert "higher" in sec.headline and "opposite" in sec.headline


def test_rate_axis_label_with_offset() -> None:
    _, sec = _run(-0.3, offset="pop")
    ax = sec.figures[0].figure.axes[0]
    assert "per 100,000" in ax.get_ylabel()
