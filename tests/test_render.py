"""Table cells as a reader sees them."""

from __future__ import annotations

import math

import pytest

from preveval.pack.render import fmt


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (4235000.0, 0, "4,235,000"),        # money: never 4e+06
        (96_800_000.4, 2, "96,800,000"),
        (-1_900_000.0, 2, "-1,900,000"),
        (551266.4, 0, "551,266"),
        (25.15, 2, "25"),
        (0.4979, 2, "0.5"),
        (6.575e-05, 4, "6.575e-05"),        # p-values keep scientific notation
        (3e-06, 0, "3e-06"),
        (12345, 4, "12,345"),
        (True, 4, "yes"),
        (None, 4, ""),
        (math.nan, 4, ""),
    ],
)
def test_fmt(value, digits, text):
    assert fmt(value, digits) == text
