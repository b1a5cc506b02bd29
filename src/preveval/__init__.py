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

from typing import TYPE_CHECKING, Any

from .errors import (
    DataError,
    EstimationError,
    InputError,
    Issue,
    PackError,
    PrevevalError,
    SpecError,
)
from .provenance import version as _version

__version__ = _version()

if TYPE_CHECKING:
    from .api import compare, did, its, synthetic_control
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

#: Where each public name lives. They are imported on first use (PEP 562), so that the command
#: line's ``validate`` does not pay for SciPy, the pooling engine or the notebook API.
_LAZY = {
    **dict.fromkeys(("compare", "did", "its", "synthetic_control"), "api"),
    **dict.fromkeys(("Evaluation", "from_dict", "load"), "pipeline"),
    **dict.fromkeys(("meta_regression", "pool"), "pooling"),
    **dict.fromkeys(("Diagnostic", "DidResult", "Estimate", "EvaluationResult", "ItsResult", "Ratio",
                     "SynthResult"), "results"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'preveval' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


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
