r"""Wild cluster restricted bootstrap of a joint Wald test (several coefficients at once).

Tests :math:`H_0: R\beta = 0` (``R`` of shape ``(q, k)``) in :math:`y = X\beta + u` with
errors correlated within clusters. With :math:`A = (X'X)^{-1}`, the restricted estimate
:math:`\tilde\beta = \hat\beta - AR'(RAR')^{-1}R\hat\beta` and residuals
:math:`\tilde u = y - X\tilde\beta`, each replication draws one weight :math:`v_g` per
cluster (the draws of :func:`~preveval.inference.wild_bootstrap.wild_cluster_bootstrap`:
same seed, same weights) and sets :math:`y^*_g = X_g\tilde\beta + v_g\tilde u_g`. With the
cluster scores :math:`s_g = X_g'\tilde u_g`, :math:`P = RA` and :math:`H_g = X_g'X_g`,

.. math::

    R\beta^* = P\sum_h v_h s_h, \qquad
    P X_g'u^*_g = v_g P s_g - P H_g A \sum_h v_h s_h,

so the bootstrap CR1 Wald statistic
:math:`W^* = (R\beta^*)'\,[m\sum_g (PX_g'u^*_g)(PX_g'u^*_g)']^{-1}(R\beta^*)` costs
:math:`O(G^2q)` per replication after cluster-level sums are formed once (Roodman,
MacKinnon, Nielsen & Webb 2019, *Stata Journal* 19(1), section 3.3, joint hypotheses). The
p-value is :math:`B^{-1}\sum_b 1\{W^*_b \ge W\}` with :math:`W` the CR1 Wald statistic of
the sample. With one restriction :math:`W = t^2` and the p-value equals the symmetric
p-value of the single-coefficient test on the same draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preveval.errors import EstimationError
from preveval.inference.wild_common import (
    WeightsType,
    cluster_sums,
    prepare_data,
    weight_draws,
)

__all__ = ["WildWaldResult", "wild_cluster_wald_test"]

#: Draws per vectorised block.
_BLOCK = 2000


@dataclass(frozen=True)
class WildWaldResult:
    """CR1 Wald statistic of :math:`R\\beta = 0`, its wild bootstrap p-value and the draws used."""

    statistic: float
    q: int
    p_value: float
    reps: int
    weights_type: str
    n_clusters: int
    enumerated: bool


def wild_cluster_wald_test(
    X: np.ndarray,
    y: np.ndarray,
    cluster: np.ndarray,
    R: np.ndarray,
    *,
    reps: int = 9999,
    weights_type: WeightsType = "auto",
    seed: int = 20240101,
    weights: np.ndarray | None = None,
) -> WildWaldResult:
    """Wild cluster restricted bootstrap p-value of the joint test :math:`R\\beta = 0`.

    ``X`` and ``y`` are already partialled out of any fixed effects (as for
    :func:`~preveval.inference.wild_bootstrap.wild_cluster_bootstrap`); ``weights`` are WLS
    weights. See the module docstring for the algebra.
    """
    R = np.atleast_2d(np.asarray(R, dtype=float))
    X, y, codes, G = prepare_data(X, y, cluster, 0, weights)
    n, k = X.shape
    if R.shape[1] != k:
        raise ValueError(f"R has {R.shape[1]} columns but X has {k}")
    if np.linalg.matrix_rank(X) < k:
        raise EstimationError("the design matrix is rank deficient; drop collinear columns before the bootstrap")
    q = R.shape[0]
    if q >= G:
        raise EstimationError(f"a joint test of {q} restrictions needs more than {G} clusters")
    A = np.linalg.inv(X.T @ X)
    beta = A @ (X.T @ y)
    P = R @ A
    M = P @ R.T
    beta_r = beta - A @ R.T @ np.linalg.solve(M, R @ beta)
    u_hat, u_r = y - X @ beta, y - X @ beta_r
    m = G / (G - 1) * (n - 1) / (n - k)

    S_hat = cluster_sums(codes, G, X * u_hat[:, None])           # (G, k) unrestricted scores
    meat = (S_hat @ P.T).T                                         # (q, G)
    V = m * meat @ meat.T
    rb = R @ beta
    W = float(rb @ np.linalg.lstsq(V, rb, rcond=None)[0])

    S = cluster_sums(codes, G, X * u_r[:, None])                  # (G, k) restricted scores
    a = S @ P.T                                                    # (G, q): P s_g
    H = np.stack([X[codes == g].T @ X[codes == g] for g in range(G)])  # (G, k, k)
    K = np.einsum("qk,gkl,lm,hm->gqh", P, H, A, S)                 # (G, q, G): P H_g A s_h

    idx, points, kind, enumerated = weight_draws(G, reps, weights_type, seed)
    B = idx.shape[1]
    exceed = 0
    for start in range(0, B, _BLOCK):
        v = points[idx[:, start:start + _BLOCK]]                   # (G, b)
        num = a.T @ v                                              # (q, b): R beta* = P sum_h v_h s_h
        scores = a[:, :, None] * v[:, None, :] - np.einsum("gqh,hb->gqb", K, v)  # (G, q, b)
        Vb = m * np.einsum("gqb,grb->bqr", scores, scores)        # (b, q, q)
        Wb = np.einsum("qb,bq->b", num, np.linalg.solve(Vb, num.T[:, :, None])[:, :, 0])
        exceed += int(np.sum(Wb >= W * (1 - 1e-12) - 1e-10))  # ties up to rounding (W near 0)
    return WildWaldResult(W, q, exceed / B, int(B), kind, int(G), bool(enumerated))
