r"""Fixed-effect codes and their structure: levels, singletons, nesting, degrees of freedom.

What the within estimators need to know about the fixed effects before and after absorbing
them (Correia 2015 on singletons; Abowd, Creecy & Kramarz 2002 on connected components;
Cameron & Miller 2015 on nesting in clusters). See :mod:`preveval.inference.fixed_effects`
for the references.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

__all__ = [
    "FixedEffectsDof",
    "absorbed_dof",
    "compact_codes",
    "fe_codes",
    "fixed_effects_dof",
    "is_nested",
    "n_levels",
    "singleton_mask",
]


def fe_codes(values: object) -> np.ndarray:
    """Integer codes ``0..L-1`` of a fixed-effect or cluster variable (``pandas.factorize``)."""
    codes, _ = pd.factorize(pd.Series(values), sort=True)  # type: ignore[call-overload]
    if (codes < 0).any():
        raise ValueError("fixed-effect variable has missing values")
    return codes.astype(np.intp, copy=False)


def n_levels(codes: np.ndarray) -> int:
    """Number of distinct non-negative integer codes (``O(n)``, no sort)."""
    codes = np.asarray(codes)
    return 0 if codes.size == 0 else int(np.count_nonzero(np.bincount(codes)))


def compact_codes(codes: np.ndarray) -> np.ndarray:
    """Renumber integer codes to ``0..L-1`` with no empty level (after subsetting rows)."""
    codes = np.asarray(codes)
    present = np.bincount(codes) > 0
    if present.all():
        return codes.astype(np.intp, copy=False)
    new = np.cumsum(present) - 1
    return new[codes].astype(np.intp, copy=False)


def singleton_mask(fe: Sequence[np.ndarray]) -> np.ndarray:
    """Rows to keep after iteratively dropping singleton fixed-effect groups.

    A singleton is an observation alone in its level of some fixed effect; it is fitted
    perfectly, adds nothing to the estimates and, if kept, understates cluster-robust
    standard errors (Correia 2015). Dropping one can create another, so the pass repeats
    until none is left, as ``reghdfe`` and ``pyfixest`` (``fixef_rm="singleton"``) do.

    Returns
    -------
    numpy.ndarray
        Boolean mask of rows to keep.
    """
    if not fe:
        return np.ones(0, dtype=bool)
    n = len(fe[0])
    keep = np.ones(n, dtype=bool)
    changed = True
    while changed:
        changed = False
        for c in fe:
            counts = np.bincount(c, weights=keep.astype(np.float64))
            single = keep & (counts[c] == 1)
            if single.any():
                keep &= ~single
                changed = True
    return keep


def absorbed_dof(fe: Sequence[np.ndarray]) -> int:
    r"""Number of fixed-effect parameters the within transformation absorbs.

    .. math::

        K_{FE} = \sum_f L_f - (F - 1) - (C_{12} - 1),

    where :math:`L_f` is the number of levels of dimension :math:`f`, :math:`F` the number of
    dimensions and :math:`C_{12}` the number of connected components of the bipartite
    graph of the first two dimensions (exact redundancy count for two-way fixed effects,
    Abowd, Creecy & Kramarz 2002). Higher dimensions are assumed to add one redundancy
    each, as ``reghdfe`` does by default. With a connected design (the usual panel) this
    equals ``pyfixest``'s ``sum(L_f) - (F - 1)``. The intercept is counted inside the fixed
    effects.
    """
    if not fe:
        return 0
    levels = [n_levels(c) for c in fe]
    total = sum(levels) - (len(fe) - 1)
    if len(fe) >= 2:
        a, b = compact_codes(fe[0]), compact_codes(fe[1])
        la, lb = levels[0], levels[1]
        graph = sparse.coo_matrix(
            (np.ones(a.shape[0]), (a, b + la)), shape=(la + lb, la + lb)
        ).tocsr()
        n_comp, _ = connected_components(graph, directed=False)
        total -= n_comp - 1
    return total


def is_nested(fe: np.ndarray, cluster: np.ndarray) -> bool:
    """Whether every level of ``fe`` lies inside a single cluster (FE nested in cluster)."""
    fe = np.asarray(fe, dtype=np.intp)
    cluster = np.asarray(cluster)
    rep = np.empty(int(fe.max()) + 1, dtype=cluster.dtype)
    rep[fe] = cluster  # one cluster of each level (the last row's)
    return bool(np.array_equal(rep[fe], cluster))


@dataclass(frozen=True)
class FixedEffectsDof:
    """Degrees of freedom used by fixed effects.

    Attributes
    ----------
    absorbed : int
        All absorbed parameters (:func:`absorbed_dof`).
    nested : tuple of bool
        For each dimension, whether it is nested within the cluster variable.
    for_cluster : int
        Absorbed parameters that count in :math:`K` of the CR1 factor: nested dimensions
        are left out, each contributing one parameter back (``fixest``/``reghdfe``;
        ``pyfixest`` ``k_fixef="nonnested"``).
    """

    absorbed: int
    nested: tuple[bool, ...]
    for_cluster: int


def fixed_effects_dof(fe: Sequence[np.ndarray], cluster: np.ndarray | None = None) -> FixedEffectsDof:
    r"""Degrees of freedom of the fixed effects, overall and for the CR1 correction.

    .. math::

        K_{FE}^{\mathrm{CR1}} = K_{FE} - \sum_{f\ \mathrm{nested}} L_f + \#\{f\ \mathrm{nested}\}

    Fixed effects nested within clusters do not reduce the cluster-robust degrees of
    freedom (Cameron & Miller 2015, sec. VI.B; Gormley & Matsa 2014), which is how
    ``reghdfe``, ``fixest`` and ``pyfixest`` count them.
    """
    absorbed = absorbed_dof(fe)
    if cluster is None or not fe:
        return FixedEffectsDof(absorbed, tuple(False for _ in fe), absorbed)
    nested = tuple(is_nested(c, cluster) for c in fe)
    k = absorbed
    if any(nested):
        for c, nst in zip(fe, nested, strict=True):
            if nst:
                k -= n_levels(c) - 1
    return FixedEffectsDof(absorbed, nested, k)
