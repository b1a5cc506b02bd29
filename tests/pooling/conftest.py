"""Fixtures for the pooling tests: the BCG reference case (tests/reference/bcg/) and a seeded
simulator of study estimates with a known mean effect and between-study variance."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "bcg"


def simulate_studies(rng: np.random.Generator, k: int, mu: float, tau2: float,
                     se_range: tuple[float, float] = (0.1, 0.5)) -> tuple[np.ndarray, np.ndarray]:
    """k study estimates ``y_i ~ N(theta_i, se_i^2)`` with ``theta_i ~ N(mu, tau2)`` and
    ``se_i`` uniform on ``se_range``: the random-effects model with known mu and tau^2."""
    se = rng.uniform(*se_range, size=k)
    theta = mu + np.sqrt(tau2) * rng.standard_normal(k)
    return theta + se * rng.standard_normal(k), se


@pytest.fixture(scope="session")
def simulate() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """The seeded random-effects simulator :func:`simulate_studies`."""
    return simulate_studies


@pytest.fixture(scope="session")
def bcg() -> pd.DataFrame:
    """dat.bcg with log risk ratios ``yi``, variances ``vi``, ``sei`` and ``label``, computed
    as metafor's escalc(measure="RR") (see tests/reference/bcg/SOURCE.md)."""
    d = pd.read_csv(REF / "bcg.csv")
    n1, n2 = d["tpos"] + d["tneg"], d["cpos"] + d["cneg"]
    d["yi"] = np.log((d["tpos"] / n1) / (d["cpos"] / n2))
    d["vi"] = 1 / d["tpos"] - 1 / n1 + 1 / d["cpos"] - 1 / n2
    d["sei"] = np.sqrt(d["vi"])
    d["label"] = d["author"] + ", " + d["year"].astype(str)
    return d


@pytest.fixture(scope="session")
def metafor() -> dict:
    """Full-precision metafor 3.8-1 output (tests/reference/bcg/metafor_bcg.json, made by
    metafor_bcg.R)."""
    return json.loads((REF / "metafor_bcg.json").read_text())


def _printed(value: float | None, text: str, slack: float = 0.0) -> None:
    """Assert ``value`` rounds to the number printed as ``text``: within half a unit of its
    last digit (plus 1e-12 for binary representation, plus ``slack`` where the printed
    figure carries a known numerical error of the program that printed it)."""
    assert value is not None
    decimals = len(text.split(".")[1]) if "." in text else 0
    tol = 0.5 * 10.0**-decimals + 1e-12 + slack
    assert abs(value - float(text)) <= tol, f"{value!r} does not print as {text}"


@pytest.fixture(scope="session")
def printed() -> Callable[..., None]:
    """The comparison of a value with a figure printed by metafor."""
    return _printed


@pytest.fixture
def metafor_stopping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop REML's Fisher scoring where metafor does by default (a change in tau^2 below
    ``threshold = 10^-5``, rma.uni's control defaults) instead of our 1e-10.

    metafor's documentation prints fits made with its defaults, a few 1e-6 from the exact
    REML solution, which can move a 4th decimal. Our iterations follow metafor's path (the
    Hedges start, the Fisher step, step halving), so with the same stopping rule the
    printed digits must agree exactly; the exact solutions are checked against
    metafor_bcg.json (made with threshold 1e-12).
    """
    monkeypatch.setattr("preveval.pooling.estimators.REML_TOL", 1e-5)
