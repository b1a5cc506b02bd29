"""The all-at-once Callaway & Sant'Anna cells without covariates equal the cell-by-cell loop.

:func:`preveval.methods.did.cells.group_time_cells` computes the cells of a balanced panel
without covariates from weighted sums by cohort (``_unconditional_cells``); covariates with
no columns send the same panel through the general loop (``_panel_cell`` and
``cell_att``), which the csdid tests check. Both must give the same cells, in the same
order, with the same counts, estimates and influence functions (up to the order of sums).
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from methods.conftest import simulate_panel
from preveval.errors import EstimationError
from preveval.methods.did import cells as cells_module
from preveval.methods.did.aggregate import aggregate_att
from preveval.methods.did.cells import GroupTimeCells, StaggeredOptions, group_time_cells


def _matrices(n: int, periods: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    df = simulate_panel(n, periods, seed=seed, staggered=True, dynamic=0.3)
    unit = df["unit"].astype("category").cat.codes.to_numpy()
    Y = np.full((n, periods), np.nan)
    Y[unit, df["period"].to_numpy() - 1] = df["y"].to_numpy()
    first = df.groupby(unit)["ft"].first().to_numpy()
    w = df.groupby(unit)["w"].first().to_numpy()
    return Y, np.where(np.isnan(first), 0.0, first), w


def _both(Y: np.ndarray, G: np.ndarray, periods: np.ndarray, control: str, **kw) -> tuple[GroupTimeCells, GroupTimeCells]:
    fast = group_time_cells(Y, G, periods, control, **kw)
    loop = group_time_cells(Y, G, periods, control, Xp=np.zeros((*Y.shape, 0)), method="reg", **kw)
    return fast, loop


def _assert_same(fast: GroupTimeCells, loop: GroupTimeCells) -> None:
    for name in ("group", "time", "base", "n_treated", "n_control", "reference"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(loop, name), err_msg=name)
    assert fast.skipped == loop.skipped
    scale = max(1.0, float(np.max(np.abs(loop.att))))
    np.testing.assert_allclose(fast.att, loop.att, rtol=1e-12, atol=1e-13 * scale)
    assert fast.inf.shape == loop.inf.shape
    np.testing.assert_allclose(fast.inf, loop.inf, rtol=1e-12, atol=1e-13 * max(1.0, float(np.max(np.abs(loop.inf)))))
    np.testing.assert_array_equal(fast.inf[:, fast.reference], 0.0)
    np.testing.assert_allclose(fast.std_error, loop.std_error, rtol=1e-12)
    for kind in ("simple", "dynamic", "group", "calendar"):
        try:
            b = aggregate_att(loop, kind)
        except EstimationError as exc:
            with pytest.raises(EstimationError, match=re.escape(str(exc))):
                aggregate_att(fast, kind)
            continue
        a = aggregate_att(fast, kind)
        assert a.overall.estimate == pytest.approx(b.overall.estimate, rel=1e-12, abs=1e-13 * scale)
        assert a.overall.std_error == pytest.approx(b.overall.std_error, rel=1e-12)


@pytest.mark.parametrize(("control", "anticipation", "base_period", "weighted"),
                         list(itertools.product(("never_treated", "not_yet_treated"), (0, 1, 2),
                                                ("varying", "universal"), (False, True))))
def test_unconditional_cells_equal_the_cell_loop(control, anticipation, base_period, weighted):
    Y, G, w = _matrices(90, 11, seed=5)
    periods = np.arange(1, 12, dtype=float)
    fast, loop = _both(Y, G, periods, control, weights=w if weighted else None,
                       options=StaggeredOptions(anticipation, base_period))
    assert fast.att.size > 10
    _assert_same(fast, loop)


@pytest.mark.parametrize("base_period", ["varying", "universal"])
def test_cells_without_comparison_units_are_left_out_as_in_the_loop(base_period):
    """No never-treated units: late cells have no not-yet-treated comparison; levels far from
    zero, periods as years, a cohort after the window and one in the first period."""
    Y, G, w = _matrices(70, 9, seed=8)
    G = np.where(G == 0, 2010.0, G + 2000.0)  # never-treated units become a cohort after the window
    G[:3] = 2001.0
    Y = Y + 1e4
    periods = np.arange(2001, 2010, dtype=float)
    fast, loop = _both(Y, G, periods, "not_yet_treated", weights=w, options=StaggeredOptions(1, base_period))
    assert fast.att.size > 0
    _assert_same(fast, loop)


def test_the_plain_panel_does_not_go_cell_by_cell(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the cell-by-cell loop was used")

    monkeypatch.setattr(cells_module, "_panel_cell", refuse)
    Y, G, _ = _matrices(40, 8, seed=2)
    cells = group_time_cells(Y, G, np.arange(1, 9, dtype=float), "not_yet_treated")
    assert cells.att.size > 0 and not cells.skipped


def test_zero_weights_and_unbalanced_panels_use_the_loop():
    Y, G, w = _matrices(60, 8, seed=4)
    periods = np.arange(1, 9, dtype=float)
    w0 = w.copy()
    w0[np.flatnonzero(G == 0)[0]] = 0.0
    fast, loop = _both(Y, G, periods, "never_treated", weights=w0)
    np.testing.assert_array_equal(fast.att, loop.att)  # both from the loop: the same floats
    Yu = Y.copy()
    Yu[0, 3] = np.nan
    unbalanced = group_time_cells(Yu, G, periods, "never_treated", options=StaggeredOptions(allow_unbalanced_panel=True))
    assert unbalanced.unbalanced and unbalanced.att.size == fast.att.size
