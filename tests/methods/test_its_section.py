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


def _section_for(spec: ItsAnalysis, frame: pd.DataFrame, ind: Indicator, unit: str | None = None):
    s = build_its_series(spec, frame, outcome=ind.column, unit=unit)
    iv = {k: pd.Period(v, "M").ordinal for k, v in spec.intervention_map().items()}
    res = fit_its(spec, s, outcome=ind.column, interventions=iv, indicator=ind)
    sec = its_section(res, ind, spec)
    for f in sec.figures:
        f.figure.canvas.draw()
    return res, sec


def test_sections_for_every_variant() -> None:
    from preveval.methods.its.simulate import simulate_its

    ind = Indicator(id="y", label="Calls", column="y", kind="count", unit_label="calls")
    d = simulate_its(96, family="poisson", beta=(4.0, 0.002, -0.3, 0.0), seed=3)
    start = str(d["period"].iloc[48])
    variants = [
        ItsAnalysis(id="a", method="its", indicator="y", intervention=start, estimator="structural", impact="level"),
        ItsAnalysis(id="b", method="its", indicator="y", intervention=start, family="gaussian", errors="ar", sensitivity=False),
        ItsAnalysis(id="c", method="its", indicator="y", intervention=start, impact="slope", sensitivity=False),
        ItsAnalysis(id="d", method="its", indicator="y", interventions={"first": start, "second": "2016-01"}, sensitivity=False, phase_in=2),
    ]
    for spec in variants:
        res, sec = _section_for(spec, d, ind)
        assert sec.headline.endswith(".") and "After" in sec.headline
        assert sec.figures and sec.tables
    _, sec = _section_for(variants[0], d, ind)
    assert "structural" in " ".join(sec.details)
    _, sec = _section_for(variants[1], d, ind)
    assert "calls" in sec.headline and "AR coefficients" in " ".join(sec.details)
    _, sec = _section_for(variants[2], d, ind)
    assert "per month" in sec.headline


def test_section_mentions_prevented_and_placebo() -> None:
    res, sec = _run(-0.4)
    assert res.prevented is not None and res.prevented.total > 0
    assert any("fewer events than expected" in p for p in sec.paragraphs)
    ind = Indicator(id="ksi", label="KSI", column="ksi")
    spec = ItsAnalysis(id="its-ksi", method="its", indicator="ksi", intervention="2018-01", impact="level")
    _, sec = _section_for(spec, _frame(-0.4), ind)
    assert any("Placebo check" in p for p in sec.paragraphs)
    assert any(t.name == "its-ksi-sensitivity" for t in sec.tables)
