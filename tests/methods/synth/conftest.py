"""Seeded simulators and reference data for the synthetic-control tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "reference"


def factor_panel(
    n_units: int,
    n_periods: int,
    *,
    seed: int,
    n_factors: int = 2,
    noise: float = 1.0,
    unit_sd: float = 2.0,
    loading_sd: float = 1.0,
) -> np.ndarray:
    r"""``(n_units, n_periods)`` outcomes of an interactive fixed-effects model.

    .. math:: Y_{it} = \alpha_i + \beta_t + \sum_f \ell_{if} F_{tf} + \varepsilon_{it},

    with :math:`\alpha_i \sim N(0, \text{unit\_sd}^2)`, :math:`\beta_t` a random walk,
    :math:`\ell_{if} \sim N(0, \text{loading\_sd}^2)`, :math:`F_{tf}` independent AR(1)
    (coefficient 0.7, unit innovations) and :math:`\varepsilon_{it} \sim N(0,
    \text{noise}^2)` iid. Units are exchangeable, so any of them may be the treated one;
    no treatment effect is added (add it to the treated block yourself).
    """
    rng = np.random.default_rng(seed)
    alpha = rng.normal(0.0, unit_sd, n_units)
    beta = np.cumsum(rng.normal(0.0, 0.5, n_periods))
    f = np.empty((n_periods, n_factors))
    f[0] = rng.normal(0.0, 1.0, n_factors) / np.sqrt(1 - 0.49)
    for t in range(1, n_periods):
        f[t] = 0.7 * f[t - 1] + rng.normal(0.0, 1.0, n_factors)
    loadings = rng.normal(0.0, loading_sd, (n_units, n_factors))
    eps = rng.normal(0.0, noise, (n_units, n_periods))
    return alpha[:, None] + beta[None, :] + loadings @ f.T + eps


@pytest.fixture
def simulate():
    """The :func:`factor_panel` simulator."""
    return factor_panel


@pytest.fixture(scope="session")
def basque() -> pd.DataFrame:
    """Synth's ``basque`` data (tests/reference/basque/SOURCE.md)."""
    return pd.read_csv(REFERENCE / "basque" / "basque.csv")


@pytest.fixture(scope="session")
def basque_expected() -> dict:
    return json.loads((REFERENCE / "basque" / "expected.json").read_text())


@pytest.fixture(scope="session")
def prop99():
    """``(Y, treated mask, T_pre, state names)`` of synthdid's ``california_prop99``.

    Rows in alphabetical order of state, as ``panel.matrices`` sorts them.
    """
    df = pd.read_csv(REFERENCE / "prop99" / "california_prop99.csv", sep=";")
    wide = df.pivot(index="State", columns="Year", values="PacksPerCapita").sort_index()
    treated = df.groupby("State")["treated"].max().reindex(wide.index).to_numpy().astype(bool)
    first = df.loc[df["treated"] == 1, "Year"].min()
    t_pre = int((wide.columns < first).sum())
    return wide.to_numpy(dtype=float), treated, t_pre, tuple(wide.index)


@pytest.fixture(scope="session")
def prop99_expected() -> dict:
    return json.loads((REFERENCE / "prop99" / "expected.json").read_text())
