"""Pooling engine: fixed- and random-effects meta-analysis and meta-regression.

::

    from preveval.pooling import pool, meta_regression
    res = pool(log_rr, se, method="REML", labels=names, scale="log", measure="risk ratio")
    res.summary(); res.tidy(); res.to_dict(); res.plot()
    res.leave_one_out(); res.influence()
    reg = meta_regression(log_rr, se, frame, columns=["ablat", "year"])

Modules: ``estimators`` (tau^2: REML, DL, PM; Q-profile interval), ``fit`` (the one model
core), ``pool`` (:func:`pool`, :class:`PoolResult`), ``regression``
(:func:`meta_regression`), ``influence`` (leave-one-out and case diagnostics), ``inputs``
(checks). Reproduces R's metafor (``rma``, ``confint``, ``predict``, ``leave1out``,
``influence``); see ``tests/pooling``. Imports neither matplotlib nor scipy.stats.
"""

from preveval.pooling.influence import InfluenceResult, LeaveOneOutResult
from preveval.pooling.pool import PoolResult, pool
from preveval.pooling.regression import Coefficient, MetaRegressionResult, meta_regression

__all__ = [
    "Coefficient",
    "InfluenceResult",
    "LeaveOneOutResult",
    "MetaRegressionResult",
    "PoolResult",
    "meta_regression",
    "pool",
]
