"""Tail areas and quantiles of the normal, t, chi-square and F distributions.

Thin wrappers over :mod:`scipy.special` (the cephes functions), so that the pooling engine
does not import :mod:`scipy.stats` (slow to import) and ``import preveval`` stays light.
"""

from __future__ import annotations

import math

from scipy import special

__all__ = ["chi2_isf", "chi2_sf", "crit", "f_sf", "two_sided_p"]


def crit(level: float, df: float | None) -> float:
    """Two-sided critical value: the ``(1 + level) / 2`` quantile of N(0, 1) or of t(df)."""
    q = 0.5 + level / 2
    if df is None:
        return float(special.ndtri(q))
    return float(special.stdtrit(df, q))


def two_sided_p(stat: float, df: float | None) -> float:
    """Two-sided p-value of a z (``df`` None) or t statistic; NaN when ``stat`` is NaN."""
    if math.isnan(stat):
        return math.nan
    a = abs(stat)
    if df is None:
        return float(2 * special.ndtr(-a))
    return float(2 * special.stdtr(df, -a))


def chi2_sf(x: float, df: float) -> float:
    """Upper tail area of chi-square(df) beyond ``x``."""
    return float(special.chdtrc(df, max(x, 0.0)))


def chi2_isf(tail: float, df: float) -> float:
    """The value with upper tail area ``tail`` under chi-square(df)."""
    return float(special.chdtri(df, tail))


def f_sf(x: float, df1: float, df2: float) -> float:
    """Upper tail area of F(df1, df2) beyond ``x``."""
    return float(special.fdtrc(df1, df2, max(x, 0.0)))
