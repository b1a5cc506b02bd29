"""The weight-influence term of the aggregations in closed form equals R ``did:::wif`` built
as a units x cells matrix (``aggregate._wif``, kept as the definition), to rounding."""

from __future__ import annotations

import numpy as np
import pytest

from preveval.methods.did import aggregate as ag


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_weight_influence_equals_the_matrix(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, cells = 400, 25
    unit_group = rng.choice([0.0, 3.0, 5.0, 7.0, np.inf], size=n)  # a group no cell has (0, inf)
    w = rng.random(n) + 0.5
    groups = rng.choice([3.0, 5.0, 7.0], size=cells)
    pg, att = rng.random(cells), rng.normal(size=cells)
    for keep in (np.arange(cells), np.flatnonzero(groups == 5.0), np.array([0, 4, 9]), np.array([3])):
        matrix = ag._wif(keep, pg, w, unit_group, groups) @ att[keep]
        closed = ag._wif_times(keep, pg, w, unit_group, groups, att[keep])
        np.testing.assert_allclose(closed, matrix, rtol=0, atol=1e-14)
