r"""The result record of an interrupted time series analysis (``method: its``).

Written by :func:`preveval.methods.its.fit_its`; read by contribution analysis and the pack,
which never import the estimator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from preveval.results.base import AnalysisResult, Diagnostic, Estimate, Prevented, Ratio, not_json

__all__ = ["ItsResult", "Prevented"]


@dataclass(frozen=True)
class ItsResult(AnalysisResult):
    """Result of an interrupted time series analysis (``method: its``).

    Beyond :class:`~preveval.results.AnalysisResult`: the model (``family``, ``link``,
    ``errors``, ``estimator``, ``specification``), inference details (``se_type``,
    ``ci_type``, ``dispersion`` = scale :math:`\\phi` or :math:`\\sigma^2`, ``nb_alpha``,
    ``hac_lag``, ``ar_params``), fit statistics, ``trend`` (the ``time`` coefficient per
    year) and ``trend_ratio_per_year`` (exp of it, log link), ``diagnostics``,
    ``prevented`` (count indicators), and tables kept out of the JSON: ``series`` (period,
    observed, fitted, counterfactual, cf_low, cf_high, in_fit; rates per ``rate_per`` when
    there is an offset), ``residuals`` and ``sensitivity``.
    """

    family: str = "quasipoisson"
    link: str = "log"
    errors: str = "ols"
    estimator: str = "segmented"
    specification: str = ""
    se_type: str = ""
    ci_type: str = "normal"
    dispersion: float | None = None
    nb_alpha: float | None = None
    hac_lag: int | None = None
    ar_params: tuple[float, ...] = ()
    n_pre: int = 0
    n_post: int = 0
    n_excluded: int = 0
    df_resid: float | None = None
    aic: float | None = None
    deviance: float | None = None
    pearson_chi2: float | None = None
    log_likelihood: float | None = None
    periods_per_year: float = 12.0
    trend: Estimate | None = None
    trend_ratio_per_year: float | None = None
    trend_ratio_per_year_ci: Ratio | None = None
    rate_per: float | None = None
    interventions: dict[str, str] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()
    prevented: Prevented | None = None
    placebo_share: float | None = None
    series: Any = not_json()
    residuals: Any = not_json()
    residual_acf: Any = not_json()
    sensitivity: Any = not_json()
