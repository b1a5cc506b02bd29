r"""Seeded multiplier bootstrap of influence functions, clustered by unit (R ``did::mboot``).

For estimators :math:`\hat\theta_k` with influence functions :math:`\psi_{ik}` (scaled so
that :math:`\hat\theta - \theta \approx n^{-1}\sum_i \psi_i`), each draw :math:`b` takes
i.i.d. multipliers :math:`V_c^{(b)}` with mean 0 and variance 1 per cluster :math:`c` and

.. math::

    \hat Z^{(b)}_k = \sqrt{C}\, \frac{1}{C}\sum_c V^{(b)}_c S_{ck}, \qquad
    S_{ck} = \sum_{i \in c} \psi_{ik},

(Callaway & Sant'Anna 2021, Algorithm 1 and Remark 10). The bootstrap standard error is
R ``did``'s robust one, :math:`\hat\sigma_k = (q_{.75} - q_{.25}) / (z_{.75} - z_{.25})`
of the draws, times :math:`\sqrt{C}/n`; the simultaneous band uses the sup-t critical value,
the :math:`1-\alpha` quantile (type 1) of :math:`\max_k |\hat Z^{(b)}_k| / \hat\sigma_k`.
Multipliers: Rademacher (:math:`\pm 1`, R ``did``'s) or Mammen's two-point distribution
(:math:`(1\mp\sqrt5)/2` with probabilities :math:`(\sqrt5\pm1)/(2\sqrt5)`; Mammen 1993).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["MultiplierDraws", "multiplier_bootstrap"]

_Z75 = float(special.ndtri(0.75))


@dataclass(frozen=True, eq=False)
class MultiplierDraws:
    """Standard errors (NaN where a column is degenerate) and the sup-t critical value."""

    std_error: np.ndarray
    critical_value: float
    reps: int
    weights_type: str
    seed: int
    level: float
    n_clusters: int


def _weights(rng: np.random.Generator, shape: tuple[int, int], kind: str) -> np.ndarray:
    if kind == "rademacher":
        return rng.integers(0, 2, size=shape).astype(np.float64) * 2.0 - 1.0
    if kind == "mammen":
        s5 = np.sqrt(5.0)
        low = rng.random(shape) < (s5 + 1.0) / (2.0 * s5)
        return np.where(low, (1.0 - s5) / 2.0, (1.0 + s5) / 2.0)
    raise ValueError(f"weights_type must be 'rademacher' or 'mammen' (got {kind!r})")


def multiplier_bootstrap(
    inf: np.ndarray,
    *,
    reps: int = 999,
    weights_type: str = "rademacher",
    seed: int = 20240101,
    level: float = 0.95,
    clusters: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
    band: np.ndarray | None = None,
) -> MultiplierDraws:
    """Bootstrap standard errors and the sup-t critical value of the columns of ``inf``.

    Parameters
    ----------
    inf : ndarray (n x k)
        Influence functions of ``k`` estimators over ``n`` units.
    reps : int
        Number of draws.
    weights_type : {"rademacher", "mammen"}
    seed : int
        Seed of the draws (``numpy.random.default_rng``).
    level : float
        Coverage of the simultaneous band.
    clusters : ndarray (n,), optional
        Cluster codes; the default is one cluster per unit.
    progress : callable, optional
        Called as ``progress(done, reps)`` after each block of draws.
    band : ndarray of bool (k,), optional
        The columns the simultaneous band covers (default: all).
    """
    inf = np.asarray(inf, dtype=np.float64)
    if inf.ndim == 1:
        inf = inf[:, None]
    n = inf.shape[0]
    if clusters is None:
        S = inf
    else:
        codes = np.unique(np.asarray(clusters), return_inverse=True)[1]
        S = np.zeros((int(codes.max()) + 1, inf.shape[1]))
        np.add.at(S, codes, inf)
    C = S.shape[0]
    rng = np.random.default_rng(seed)
    draws = np.empty((reps, S.shape[1]))
    block = max(1, min(reps, 2_000_000 // max(C, 1)))
    done = 0
    while done < reps:
        m = min(block, reps - done)
        draws[done:done + m] = _weights(rng, (m, C), weights_type) @ S / np.sqrt(C)
        done += m
        if progress is not None:
            progress(done, reps)
    ok = np.all(np.isfinite(draws), axis=0) & np.any(draws != 0, axis=0)
    q75 = np.quantile(draws, 0.75, axis=0, method="inverted_cdf")
    q25 = np.quantile(draws, 0.25, axis=0, method="inverted_cdf")
    sig = (q75 - q25) / (2 * _Z75)
    good = ok & np.isfinite(sig) & (sig > 0)
    se = np.where(good, sig * np.sqrt(C) / n, np.nan)
    crit = float("nan")
    cover = good if band is None else good & np.asarray(band, dtype=bool)
    if cover.any():
        tmax = np.max(np.abs(draws[:, cover] / sig[cover]), axis=1)
        crit = float(np.quantile(tmax, level, method="inverted_cdf"))
    return MultiplierDraws(se, crit, int(reps), weights_type, int(seed), float(level), int(C))
