r"""What an ITS fitting back-end returns (:class:`CoreFit`), shared by the back-ends, the
fixed-b inference, the diagnostics and prevented events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["CoreFit", "HacBandwidth", "HacCritical"]


HacBandwidth = Literal["llsw", "newey_west_1994"]
HacCritical = Literal["fixed_b", "kiefer_vogelsang", "standard"]


@dataclass(frozen=True)
class CoreFit:
    r"""What a back-end returns: estimates, covariance and fit statistics.

    Intervals and p-values use Student t with ``df_resid`` degrees of freedom when
    ``use_t``, else the normal. Under ``errors: hac`` with fixed-b critical values,
    ``df_resid`` is the *equivalent* t df :math:`\nu` whose 97.5% quantile equals the
    largest fixed-b critical value of the intervention terms; ``residual_df`` always holds
    the residual degrees of freedom (n − k, or n − k − p), ``crit_values`` and ``p_values``
    the per-term two-sided 95% critical values and p-values under the reference
    distribution named in ``ci_label``.
    """

    params: np.ndarray
    cov: np.ndarray
    df_resid: float
    use_t: bool
    dispersion: float
    alpha: float | None
    fitted: np.ndarray
    resid: np.ndarray
    pearson_chi2: float | None
    deviance: float | None
    aic: float | None
    llf: float | None
    se_type: str
    hac_lag: int | None = None
    ar_params: tuple[float, ...] = ()
    residual_df: float | None = None
    hac_bandwidth: str | None = None
    hac_b: float | None = None
    crit_values: tuple[float, ...] = ()
    p_values: tuple[float, ...] = ()
    ci_label: str = ""
    #: Under ``errors: hac``, what :func:`contrast_critical_value` needs to give the
    #: reference distribution of any linear combination of the coefficients.
    hac_settings: dict[str, Any] | None = None
    #: Plain-English notes about the fit (e.g. a negative binomial dispersion at its boundary).
    notes: tuple[str, ...] = ()
