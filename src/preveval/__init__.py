"""preveval: evaluate public-sector prevention initiatives.

Load an evaluation file (a logic model plus analyses), check it and its data, run
interrupted time series, difference-in-differences and contribution analysis, and write
a standardised evaluation pack::

    import preveval as pv
    ev = pv.load("evaluations/road-safety-day/evaluation.yaml")
    res = ev.run()
    res.summary()            # a DataFrame of headline effects
    res.write_pack("pack")   # results.json, report.html, report.md, figures/, tables/

or one analysis straight from a DataFrame (:mod:`preveval.api`)::

    r = pv.its(frame, outcome="aces", time="month", intervention="2005-01", offset="stdpop")
    r.tidy(); r.plot(); r.refit(family="poisson"); pv.compare(r, other)
"""

from .provenance import version as _version

__version__ = _version()

from .api import compare, did, its, synthetic_control  # noqa: E402 - after the records it lends its hooks to
from .errors import (
    DataError,
    EstimationError,
    InputError,
    Issue,
    PackError,
    PrevevalError,
    SpecError,
)
from .pipeline import Evaluation, from_dict, load
from .pooling import meta_regression, pool
from .results import (
    Diagnostic,
    DidResult,
    Estimate,
    EvaluationResult,
    ItsResult,
    Ratio,
    SynthResult,
)

__all__ = [
    "DataError",
    "Diagnostic",
    "DidResult",
    "Estimate",
    "EstimationError",
    "Evaluation",
    "EvaluationResult",
    "InputError",
    "Issue",
    "ItsResult",
    "PackError",
    "PrevevalError",
    "Ratio",
    "SpecError",
    "SynthResult",
    "__version__",
    "compare",
    "did",
    "from_dict",
    "its",
    "load",
    "meta_regression",
    "pool",
    "synthetic_control",
]
