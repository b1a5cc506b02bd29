"""Synthetic-control design family: the numerical core.

Modules:

* :mod:`.simplex` - exact least squares over the unit simplex (the weight problem);
* :mod:`.abadie` - Abadie-Diamond-Hainmueller synthetic control (``Synth`` semantics);
* :mod:`.predictors` - predictor and outcome matrices from a long panel;
* :mod:`.frank_wolfe`, :mod:`.sdid`, :mod:`.sdid_se` - synthetic DiD, SC and DiD of
  Arkhangelsky et al. (2021) and their placebo, jackknife and bootstrap standard errors
  (``synthdid`` semantics);
* :mod:`.placebo` - placebo-in-space, placebo-in-time, leave-one-out and the
  test-inversion interval for any fitter;
* :mod:`.panel`, :mod:`.fit`, :mod:`.prevented`, :mod:`.cautions` - an analysis of the
  evaluation file (``method: synthetic_control``): its panel, the fit with its inference
  and re-fits, prevented events and the plain-English warnings.

The family's entry point is :func:`fit_synthetic_control`; its result type is
:class:`~preveval.results.synth.SynthResult`.
"""

from preveval.results.synth import SynthResult

from .abadie import (
    AbadieFit,
    OptimStart,
    PredictorBalance,
    fit_abadie,
    fit_outcome_path,
    standardise_predictors,
)
from .fit import fit_synthetic_control
from .placebo import (
    Fitter,
    LeaveOneOut,
    PlaceboInSpace,
    PlaceboInterval,
    PlaceboInTime,
    abadie_fitter,
    leave_one_out,
    placebo_in_space,
    placebo_in_time,
    placebo_interval,
    sdid_fitter,
)
from .predictors import PredictorSpec, SynthMatrices, outcome_lag_predictors, synth_matrices
from .sdid import SdidFit, SdidOptions, did_estimate, fit_sdid, sc_estimate
from .sdid_se import SdidStdError, placebo_estimates, sdid_std_error
from .simplex import SimplexSolution, simplex_kkt_residual, simplex_least_squares

__all__ = [
    "AbadieFit",
    "Fitter",
    "LeaveOneOut",
    "OptimStart",
    "PlaceboInSpace",
    "PlaceboInTime",
    "PlaceboInterval",
    "PredictorBalance",
    "PredictorSpec",
    "SdidFit",
    "SdidOptions",
    "SdidStdError",
    "SimplexSolution",
    "SynthResult",
    "SynthMatrices",
    "abadie_fitter",
    "did_estimate",
    "fit_abadie",
    "fit_outcome_path",
    "fit_sdid",
    "fit_synthetic_control",
    "leave_one_out",
    "outcome_lag_predictors",
    "placebo_estimates",
    "placebo_in_space",
    "placebo_in_time",
    "placebo_interval",
    "sc_estimate",
    "sdid_fitter",
    "sdid_std_error",
    "simplex_kkt_residual",
    "simplex_least_squares",
    "standardise_predictors",
    "synth_matrices",
]
