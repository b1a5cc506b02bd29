"""The chi-square and F tail areas the ITS family reads, from :mod:`scipy.special`.

``scipy.stats`` computes these with the same cephes functions (equal to the bit), but importing
it costs about 0.3 s of a cold run. Normal and t quantiles and p-values come from
:func:`preveval.results.base.quantile` and :func:`~preveval.results.base.two_sided_p`. (The
pooling engine has its own copy of these wrappers, ``preveval.pooling._dist``: it imports
nothing of preveval beyond ``preveval.errors``, by design and by test.)
"""

from __future__ import annotations

from typing import Any

from scipy import special

__all__ = ["chi2_sf", "f_sf"]


def chi2_sf(x: Any, df: Any) -> Any:
    """Upper tail area of chi-square(``df``) beyond ``x`` (``x`` >= 0; arrays or numbers)."""
    return special.chdtrc(df, x)


def f_sf(x: float, df1: float, df2: float) -> float:
    """Upper tail area of F(``df1``, ``df2``) beyond ``x`` (``x`` >= 0)."""
    return float(special.fdtrc(df1, df2, x))
