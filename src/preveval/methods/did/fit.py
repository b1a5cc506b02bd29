r"""Difference-in-differences: :func:`fit_did` runs the design an analysis names.

Design matrices are built from validated column names with numpy (no formula strings).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from preveval.methods.did.core import Prepared, prepare
from preveval.methods.did.event_study import fit_event_study_design
from preveval.methods.did.staggered import fit_staggered_design
from preveval.methods.did.staggered_detail import sun_abraham_headline
from preveval.methods.did.twfe import fit_twfe_design, fit_two_by_two_design
from preveval.results.did import DidResult
from preveval.spec.models import DidAnalysis

__all__ = ["DESIGNS", "fit_did"]

def _staggered(spec: DidAnalysis, p: Prepared) -> DidResult:
    """Callaway & Sant'Anna (or, for counts, the extended TWFE Poisson); Sun & Abraham when it is the estimator."""
    result = fit_staggered_design(spec, p)
    if spec.family == "gaussian" and spec.estimator == "sun_abraham":
        return sun_abraham_headline(spec, p, result)
    return result


#: The fitter of each ``design``.
DESIGNS: dict[str, Callable[[DidAnalysis, Prepared], DidResult]] = {
    "two_by_two": fit_two_by_two_design,
    "twfe": fit_twfe_design,
    "event_study": fit_event_study_design,
    "staggered": _staggered,
}


def fit_did(spec: DidAnalysis, frame: pd.DataFrame, *, outcome: str, unit: str | None, time: str) -> DidResult:
    r"""Fit a difference-in-differences analysis.

    Estimand: the average treatment effect on the treated (ATT), ``effect.term == "att"``.

    * ``two_by_two``: :math:`y_i = a + b G_i + c P_i + \tau G_i P_i + x_i'\gamma + e_i`,
      :math:`\tau` = ATT (Card & Krueger 1994; Angrist & Pischke 2009, eq. 5.2.3);
    * ``twfe``: :math:`y_{it} = \alpha_i + \lambda_t + \tau D_{it} + x_{it}'\gamma + e_{it}`
      (``D`` 0/1 or a dose);
    * ``event_study``: relative-time leads and lags with unit and period fixed effects,
      reference period :math:`-1`, headline :math:`\tau` = treated-observation-weighted
      average of the lags :math:`\ge 0` (:mod:`preveval.methods.did.event_study`);
    * ``staggered``: Callaway & Sant'Anna (2021) group-time ATTs aggregated to one ATT, or
      (``estimator: sun_abraham``) the Sun & Abraham (2021) interaction-weighted average, or
      (``family: poisson``) Wooldridge's (2023) extended TWFE Poisson rate ratio.

    ``family: poisson`` replaces the linear model by PPML, :math:`E[y] = \exp(\cdot)`, with
    the effect on the log scale. ``frame`` must have passed the data checks; ``time``
    holds integer period ordinals or pandas Periods.

    Parameters
    ----------
    spec : DidAnalysis
        The analysis.
    frame : pandas.DataFrame
        Checked data; it is not modified.
    outcome, unit, time : str
        Column of the indicator, of the unit (``None`` for repeated cross-sections) and of
        the period.

    Returns
    -------
    DidResult

    Raises
    ------
    EstimationError
        No treated units, or the effect is not identified (collinear design).
    """
    p = prepare(spec, frame, outcome, unit, time)
    return DESIGNS[spec.design](spec, p)
