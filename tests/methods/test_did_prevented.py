"""Prevented events from a DiD effect, checked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from preveval.methods.did import DidResult
from preveval.methods.did.prevented import did_prevented
from preveval.results import Estimate
from preveval.spec.models import DidAnalysis


def _result(est: float, lo: float, hi: float, scale: str) -> DidResult:
    e = Estimate("att", est, 0.1, lo, hi, 0.01)
    return DidResult("a", "did", "x", 4, e, scale, None, (e,))  # type: ignore[arg-type]


FRAME = pd.DataFrame({
    "unit": ["a", "a", "b", "b"], "t": [1, 2, 1, 2], "d": [0.0, 1.0, 0.0, 1.0],
    "y": [12.0, 10.0, 25.0, 20.0], "pop": [1e5, 1e5, 2e5, 2e5],
    "period": pd.period_range("2020-01", periods=2, freq="M").tolist() * 2,
})


def test_log_scale_divides_observed_by_the_rate_ratio() -> None:
    spec = DidAnalysis(id="a", method="did", indicator="x", design="twfe", treatment="d", family="poisson")
    p = did_prevented(spec, _result(math.log(0.8), math.log(0.6), math.log(1.1), "log"), FRAME, outcome="y", time="t")
    assert p is not None
    assert p.observed == 30
    assert p.total == pytest.approx(30 / 0.8 - 30)  # 7.5
    assert p.ci_low == pytest.approx(30 / 1.1 - 30)  # more events: negative
    assert p.ci_high == pytest.approx(30 / 0.6 - 30)  # 20
    assert p.years == pytest.approx(1 / 12)


def test_rate_scale_uses_the_exposure() -> None:
    spec = DidAnalysis(id="a", method="did", indicator="x", design="twfe", treatment="d", offset="pop", rate_per=100_000)
    p = did_prevented(spec, _result(-2.0, -3.0, -1.0, "difference"), FRAME, outcome="y", time="t")
    assert p is not None
    # 2 fewer per 100,000 over 300,000 treated person-periods = 6 events
    assert p.total == pytest.approx(6.0)
    assert (p.ci_low, p.ci_high) == pytest.approx((3.0, 9.0))
