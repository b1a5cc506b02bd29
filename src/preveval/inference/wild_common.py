"""Shared parts of the wild cluster bootstraps: data checks, cluster sums and weight draws.

Used by :mod:`preveval.inference.wild_bootstrap` (one coefficient, with a confidence
interval), :mod:`preveval.inference.wild_wald` (joint Wald tests) and
:mod:`preveval.inference.score_bootstrap` (Poisson), so that they see the same validation
and, for the same seed, exactly the same draws.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from preveval.errors import DataError, Issue

__all__ = [
    "BLOCK_CELLS",
    "RADEMACHER_POINTS",
    "WEBB_BELOW_CLUSTERS",
    "WEBB_POINTS",
    "WeightsType",
    "cluster_sums",
    "draw_weights",
    "enumerate_signs",
    "prepare_data",
    "weight_draws",
]

WeightsType = Literal["rademacher", "webb", "auto"]

#: Below this many clusters ``weights_type="auto"`` uses Webb's six-point weights.
WEBB_BELOW_CLUSTERS = 12

#: Support of Webb's six-point distribution, each point with probability 1/6. The order
#: matches the ``wildboottest`` package so that seeded draws coincide.
WEBB_POINTS = np.concatenate(
    [-np.sqrt(np.array([3.0, 2.0, 1.0]) / 2), np.sqrt(np.array([1.0, 2.0, 3.0]) / 2)]
)
RADEMACHER_POINTS = np.array([-1.0, 1.0])

# Work on blocks of about this many cluster-by-draw cells at a time.
BLOCK_CELLS = 1 << 20


def prepare_data(
    X: np.ndarray,
    y: np.ndarray,
    cluster: np.ndarray,
    column: int,
    weights: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Validate the data (all problems at once), weight it and code the clusters."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    cluster = np.asarray(cluster).ravel()
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise DataError([Issue(f"X must be two-dimensional, got {X.ndim} dimensions", path="X")])
    n, k = X.shape
    if not -k <= column < k:
        raise ValueError(f"column {column} is out of range for X with {k} columns")
    issues = []
    for name, length in (("y", y.size), ("cluster", cluster.size)):
        if length != n:
            issues.append(Issue(f"{name} has {length} rows but X has {n}", path=name))
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=float).ravel()
        if w.size != n:
            issues.append(Issue(f"weights has {w.size} rows but X has {n}", path="weights"))
        elif not np.all(np.isfinite(w)) or np.any(w < 0):
            issues.append(
                Issue(
                    "weights must be finite and non-negative",
                    path="weights",
                    hint="drop or fix the rows with missing or negative weights",
                )
            )
    if not np.all(np.isfinite(X)):
        issues.append(Issue("X has missing or infinite values", path="X", hint="drop those rows"))
    if y.size == n and not np.all(np.isfinite(y)):
        issues.append(Issue("y has missing or infinite values", path="y", hint="drop those rows"))
    if cluster.size == n and cluster.dtype.kind == "f" and np.any(np.isnan(cluster)):
        issues.append(Issue("cluster has missing labels", path="cluster"))
    if issues:
        raise DataError(issues)
    if w is not None:
        keep = w > 0
        root = np.sqrt(w[keep])
        X, y, cluster = X[keep] * root[:, None], y[keep] * root, cluster[keep]
    _, codes = np.unique(cluster, return_inverse=True)
    codes = codes.ravel()
    n_clusters = int(codes.max()) + 1 if codes.size else 0
    if n_clusters < 2:
        raise DataError(
            [
                Issue(
                    f"the wild cluster bootstrap needs at least 2 clusters, found {n_clusters}",
                    path="cluster",
                    hint="cluster at a coarser level or use robust errors",
                )
            ]
        )
    if X.shape[0] <= X.shape[1]:
        raise DataError(
            [Issue(f"{X.shape[0]} observations for {X.shape[1]} coefficients", path="X")]
        )
    return X, y, codes, n_clusters


def cluster_sums(codes: np.ndarray, n_clusters: int, values: np.ndarray) -> np.ndarray:
    """Sum the rows of ``values`` (n,) or (n, m) within each cluster: (G,) or (G, m)."""
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n_clusters)
    return np.stack(
        [
            np.bincount(codes, weights=values[:, i], minlength=n_clusters)
            for i in range(values.shape[1])
        ],
        axis=1,
    )


def enumerate_signs(n_clusters: int) -> np.ndarray:
    """All ``2**G`` sign vectors as indices into ``RADEMACHER_POINTS``, shape (G, 2**G).

    Column ``b`` holds the binary digits of ``b`` with cluster 0 the most significant,
    the order of ``itertools.product([-1, 1], repeat=G)``.
    """
    shifts = np.arange(n_clusters - 1, -1, -1, dtype=np.int64)
    return ((np.arange(2**n_clusters, dtype=np.int64)[None, :] >> shifts[:, None]) & 1).astype(
        np.int8
    )


def draw_weights(rng: np.random.Generator, kind: str, n_clusters: int, reps: int) -> np.ndarray:
    """Draw weight indices of shape (G, B), cluster-major as in ``wildboottest``."""
    size = 2 if kind == "rademacher" else 6
    out = np.empty((n_clusters, reps), dtype=np.int8)
    rows = max(1, BLOCK_CELLS // reps)
    for start in range(0, n_clusters, rows):
        stop = min(n_clusters, start + rows)
        block = rng.integers(0, size, size=(stop - start) * reps, dtype=np.int64)
        out[start:stop] = block.reshape(stop - start, reps)
    return out


def weight_draws(
    n_clusters: int, reps: int, weights_type: str, seed: int
) -> tuple[np.ndarray, np.ndarray, Literal["rademacher", "webb"], bool]:
    """Draw indices (G, B), their support, the weights used and whether all signs were enumerated.

    ``"auto"`` means Webb's weights below :data:`WEBB_BELOW_CLUSTERS` clusters and
    Rademacher otherwise; with Rademacher weights and :math:`2^G <` ``reps`` every sign
    vector is enumerated instead (as boottest does). Otherwise the draws come from
    ``numpy.random.Generator(PCG64(seed))`` laid out as in ``wildboottest``.
    """
    kind: Literal["rademacher", "webb"]
    if weights_type == "auto":
        kind = "webb" if n_clusters < WEBB_BELOW_CLUSTERS else "rademacher"
    else:
        kind = "webb" if weights_type == "webb" else "rademacher"
    enumerated = kind == "rademacher" and 2**n_clusters < reps
    if enumerated:
        idx = enumerate_signs(n_clusters)
    else:
        idx = draw_weights(np.random.Generator(np.random.PCG64(seed)), kind, n_clusters, reps)
    points = RADEMACHER_POINTS if kind == "rademacher" else WEBB_POINTS
    return idx, points, kind, enumerated
