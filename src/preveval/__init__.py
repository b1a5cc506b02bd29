"""preveval: evaluate public-sector prevention initiatives.

Load an evaluation file (a logic model plus analyses), check it and its data, run
interrupted time series, difference-in-differences and contribution analysis, and write
a standardised evaluation pack::

    import preveval as pv
    ev = pv.load("evaluations/road-safety-day/evaluation.yaml")
    res = ev.run()
    res.summary()            # a DataFrame of headline effects
    res.write_pack("pack")   # results.json, report.html, report.md, figures/, tables/
"""

from .provenance import version as _version

__version__ = _version()

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
from .results import Diagnostic, Estimate, EvaluationResult, Ratio

__all__ = [
    "DataError",
    "Diagnostic",
    "Estimate",
    "EstimationError",
    "Evaluation",
    "EvaluationResult",
    "InputError",
    "Issue",
    "PackError",
    "PrevevalError",
    "Ratio",
    "SpecError",
    "__version__",
    "from_dict",
    "load",
    "meta_regression",
    "pool",
]
