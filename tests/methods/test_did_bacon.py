"""Goodman-Bacon (2021) decomposition: every 2x2 comparison, its type, estimate and weight.

Reference: the castle-doctrine panel shipped with R bacondecomp (tests/reference/castle/,
SOURCE.md) and the decomposition bacondecomp prints for it (its CRAN vignette and its 2019
notebook); the TWFE coefficient also against pyfixest ``feols(l_homicide ~ post | state + year)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from preveval.errors import EstimationError
from preveval.methods.did.bacon import bacon_decomposition
from support import ROOT

CASTLE = ROOT / "tests" / "reference" / "castle" / "castle.csv"


@pytest.fixture(scope="module")
def castle() -> pd.DataFrame:
    return pd.read_csv(CASTLE)


@pytest.fixture(scope="module")
def decomposition(castle):
    return bacon_decomposition(castle["l_homicide"].to_numpy(), castle["state"].to_numpy(),
                               castle["year"].to_numpy(), castle["post"].to_numpy())


@pytest.mark.reference
def test_castle_weights_sum_to_one_and_recover_twfe(castle, decomposition):
    import pyfixest as pf

    d = decomposition
    assert sum(c.weight for c in d.comparisons) == pytest.approx(1.0, abs=1e-10)
    assert d.weighted_sum == pytest.approx(d.twfe, abs=1e-10)
    fit = pf.feols("l_homicide ~ post | state + year", data=castle)
    assert d.twfe == pytest.approx(float(fit.coef()["post"]), abs=1e-10)
    # bacondecomp index.ipynb (2019): "Two-way FE estimate = 0.0818116169306475"
    assert d.twfe == pytest.approx(0.0818116169306475, abs=1e-12)


@pytest.mark.reference
def test_castle_matches_the_published_decomposition(decomposition):
    s = decomposition.summary().set_index("type")
    # bacondecomp: weights 0.05976325 / 0.03189818 / 0.90833857 (index.ipynb), average estimates
    # -0.00554 / 0.07032 / 0.08796 (CRAN vignette, bacon_summary, rounded to 5 decimals)
    assert s.loc["earlier_vs_later", "weight"] == pytest.approx(0.05976325, abs=5e-9)
    assert s.loc["later_vs_earlier", "weight"] == pytest.approx(0.03189818, abs=5e-9)
    assert s.loc["treated_vs_never", "weight"] == pytest.approx(0.90833857, abs=5e-9)
    assert s.loc["earlier_vs_later", "avg_est"] == pytest.approx(-0.00554, abs=5e-6)
    assert s.loc["later_vs_earlier", "avg_est"] == pytest.approx(0.07032, abs=5e-6)
    assert s.loc["treated_vs_never", "avg_est"] == pytest.approx(0.08796, abs=5e-6)
    top = max(decomposition.comparisons, key=lambda c: c.weight)
    # index.ipynb: "2006 99999 0.06823587 0.5923947 Treated vs Untreated"
    assert (top.treated, top.control, top.type) == ("2006", "never", "treated_vs_never")
    assert top.estimate == pytest.approx(0.06823587, abs=5e-9)
    assert top.weight == pytest.approx(0.5923947, abs=5e-8)
    # 5 timing groups: 5 against the never treated, 10 pairs each way
    t = decomposition.table()
    assert t["type"].value_counts().to_dict() == {"earlier_vs_later": 10, "later_vs_earlier": 10, "treated_vs_never": 5}


def test_each_comparison_is_its_two_by_two(castle, decomposition):
    """The 2x2 for 2006 vs 2008 (earlier vs later) by hand: years 2000-2007, post from 2006."""
    wide = castle.pivot(index="state", columns="year", values="l_homicide")
    eff = castle.groupby("state")["effyear"].first()
    k, late = wide[eff == 2006], wide[eff == 2008]
    pre, post = [y for y in range(2000, 2006)], [2006, 2007]
    by_hand = ((k[post].mean(axis=1).mean() - k[pre].mean(axis=1).mean())
               - (late[post].mean(axis=1).mean() - late[pre].mean(axis=1).mean()))
    row = next(c for c in decomposition.comparisons if (c.treated, c.control) == ("2006", "2008"))
    assert row.type == "earlier_vs_later" and row.estimate == pytest.approx(by_hand, abs=1e-12)


def test_always_treated_units_and_input_checks():
    rng = np.random.default_rng(3)
    n, T = 40, 8
    first = rng.choice([1, 3, 5, 7, 99], size=n)  # 1: treated throughout
    unit, t = np.repeat(np.arange(n), T), np.tile(np.arange(1, T + 1), n)
    d = (t >= first[unit]).astype(float)
    y = rng.normal(size=n)[unit] + 0.1 * t + (1 + 0.2 * (t - first[unit])) * d + rng.normal(size=n * T)
    r = bacon_decomposition(y, unit, t, d)
    assert sum(c.weight for c in r.comparisons) == pytest.approx(1.0, abs=1e-10)
    assert r.weighted_sum == pytest.approx(r.twfe, abs=1e-10)
    assert {"treated_vs_always", "treated_vs_never"} <= {c.type for c in r.comparisons}
    with pytest.raises(EstimationError, match="balanced"):
        bacon_decomposition(y[1:], unit[1:], t[1:], d[1:])
    with pytest.raises(EstimationError, match="stay on"):
        bacon_decomposition(y, unit, t, np.where(t == T, 0.0, d))
    with pytest.raises(EstimationError, match="0/1"):
        bacon_decomposition(y, unit, t, d * 0.5)
