"""The normal and t quantiles and tail areas the ITS family reads, from :mod:`scipy.special`.

``scipy.stats`` computes these with the same cephes functions (the values are equal bit for
bit), but importing it costs about 0.3 s of a cold run, more than fitting a single series.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

__all__ = ["chi2_sf", "f_sf", "quantile_975", "two_sided_p"]


def quantile_975(df: float | None) -> float:
    """The 97.5% point of t(``df``), or of the standard normal when ``df`` is None."""
    return float(special.ndtri(0.975)) if df is None else float(special.stdtrit(df, 0.975))


def two_sided_p(stat: Any, df: float | None) -> Any:
    """Two-sided p-values of z (``df`` None) or t(``df``) statistics (arrays or floats)."""
    a = -np.abs(stat)
    return 2 * (special.ndtr(a) if df is None else special.stdtr(df, a))


def chi2_sf(x: Any, df: Any) -> Any:
    """Upper tail area of chi-square(``df``) beyond ``x`` (``x`` >= 0)."""
    return special.chdtrc(df, x)


def f_sf(x: float, df1: float, df2: float) -> float:
    """Upper tail area of F(``df1``, ``df2``) beyond ``x`` (``x`` >= 0)."""
    return float(special.fdtrc(df1, df2, x))
