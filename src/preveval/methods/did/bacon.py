r"""Goodman-Bacon (2021) decomposition of the two-way fixed-effects DiD estimate.

With a balanced panel and a binary treatment that switches on once (timing groups
:math:`k` first treated at :math:`t^*_k`, units never treated :math:`U`, and possibly units
treated throughout), the TWFE coefficient of :math:`y_{it} = \alpha_i + \lambda_t + \beta D_{it} + e_{it}`
is a weighted average of every two-by-two DiD (Goodman-Bacon 2021, Theorem 1, eq. 7):

.. math::

    \hat\beta^{DD} = \sum_{k \ne U} s_{kU}\hat\beta^{2\times2}_{kU}
    + \sum_{k \ne U}\sum_{l > k}\big[s^k_{kl}\hat\beta^{2\times2,k}_{kl}
    + s^l_{kl}\hat\beta^{2\times2,l}_{kl}\big],

* :math:`\hat\beta_{kU}` (eq. 10a): group :math:`k` against never-treated units over the whole
  window, weight :math:`s_{kU} = (n_k+n_U)^2\, n_{kU}(1-n_{kU})\, \bar D_k(1-\bar D_k) / \hat V^D`;
* :math:`\hat\beta^{k}_{kl}` (eq. 10b, earlier vs later treated): :math:`k` against :math:`l`
  before :math:`l` starts, weight
  :math:`s^k_{kl} = ((n_k+n_l)(1-\bar D_l))^2\, n_{kl}(1-n_{kl})\,
  \frac{\bar D_k-\bar D_l}{1-\bar D_l}\frac{1-\bar D_k}{1-\bar D_l} / \hat V^D`;
* :math:`\hat\beta^{l}_{kl}` (eq. 10c, later vs earlier treated): :math:`l` against the already
  treated :math:`k` after :math:`k` starts, weight
  :math:`s^l_{kl} = ((n_k+n_l)\bar D_k)^2\, n_{kl}(1-n_{kl})\,
  \frac{\bar D_l}{\bar D_k}\frac{\bar D_k-\bar D_l}{\bar D_k} / \hat V^D`;

with :math:`n` the groups' shares of units, :math:`n_{ab} = n_a/(n_a+n_b)`,
:math:`\bar D_k` the share of periods group :math:`k` is treated and :math:`\hat V^D` the
variance of the two-way demeaned treatment (eq. 9). Units treated throughout act like the
never treated (their treatment does not vary); their comparisons are labelled
``treated_vs_always``.

Reference: Goodman-Bacon A (2021). Difference-in-differences with variation in treatment
timing. *Journal of Econometrics* 225(2): 254-277; as R ``bacondecomp::bacon`` without
covariates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from preveval.errors import EstimationError
from preveval.results.staggered import BaconComparison, BaconDecomposition

__all__ = ["bacon_decomposition"]


def _did(ybar: np.ndarray, a: int, b: int, window: np.ndarray, post: np.ndarray) -> float:
    """Two-by-two DiD of group rows ``a`` against ``b`` over the periods in ``window``."""
    pre = window & ~post
    pw = window & post
    return float((ybar[a, pw].mean() - ybar[a, pre].mean()) - (ybar[b, pw].mean() - ybar[b, pre].mean()))


def bacon_decomposition(y: np.ndarray, unit: np.ndarray, time: np.ndarray, treated: np.ndarray,
                        label: Callable[[float], str] = lambda o: str(int(o))) -> BaconDecomposition:
    r"""Every two-by-two comparison behind the TWFE estimate, with its type, estimate and weight.

    Parameters
    ----------
    y : ndarray
        Outcome of each row.
    unit, time : ndarray
        Unit codes and period ordinals of the rows (a balanced panel: one row per unit and period).
    treated : ndarray
        0/1 treatment of each row, switching on once and staying on.
    label : callable
        Period ordinal -> text (the timing groups are named by their first treated period).

    Returns
    -------
    BaconDecomposition
        ``twfe`` (the two-way fixed-effects coefficient) and the comparisons; their weights sum
        to 1 and their weighted sum is ``twfe`` (Theorem 1).
    """
    y = np.asarray(y, dtype=float)
    d = np.asarray(treated, dtype=float)
    if not np.isin(d, (0.0, 1.0)).all():
        raise EstimationError("the Goodman-Bacon decomposition needs a 0/1 treatment")
    units, ucode = np.unique(unit, return_inverse=True)
    periods, tcode = np.unique(time, return_inverse=True)
    N, T = len(units), len(periods)
    if len(y) != N * T or np.bincount(ucode * T + tcode, minlength=N * T).max() != 1:
        raise EstimationError("the Goodman-Bacon decomposition needs a balanced panel (one row per unit and period)")
    Y = np.zeros((N, T))
    D = np.zeros((N, T))
    Y[ucode, tcode] = y
    D[ucode, tcode] = d
    if np.any(np.diff(D, axis=1) < 0):
        raise EstimationError("the treatment must stay on once it starts (no unit may switch it off)")
    # two-way fixed effects by double demeaning (balanced panel)
    Dt = D - D.mean(axis=1, keepdims=True) - D.mean(axis=0, keepdims=True) + D.mean()
    VD = float(np.mean(Dt**2))
    if VD <= 0:
        raise EstimationError("the treatment does not vary across units and periods")
    twfe = float(np.sum(Dt * Y) / np.sum(Dt**2))
    first = np.where(D.any(axis=1), D.argmax(axis=1), T)  # index of the first treated period; T = never
    first[D.all(axis=1)] = -1  # treated throughout
    groups = np.unique(first)
    ybar = np.array([Y[first == g].mean(axis=0) for g in groups])
    share = np.array([np.mean(first == g) for g in groups])
    dbar = np.array([np.mean(np.arange(T) >= g) for g in groups])
    idx = np.arange(T)
    timing = [i for i, g in enumerate(groups) if 0 <= g < T]
    fixed = [i for i, g in enumerate(groups) if g < 0 or g >= T]
    out: list[BaconComparison] = []

    def name(i: int) -> str:
        g = groups[i]
        return "never" if g >= T else "always" if g < 0 else label(periods[g])

    everywhere = np.ones(T, dtype=bool)
    for k in timing:
        for u in fixed:
            nk, nu = share[k], share[u]
            nku = nk / (nk + nu)
            w = (nk + nu) ** 2 * nku * (1 - nku) * dbar[k] * (1 - dbar[k]) / VD
            kind: Literal["treated_vs_never", "treated_vs_always"] = (
                "treated_vs_never" if groups[u] >= T else "treated_vs_always")
            out.append(BaconComparison(name(k), name(u), kind, _did(ybar, k, u, everywhere, idx >= groups[k]), float(w)))
    for a, k in enumerate(timing):
        for l in timing[a + 1:]:  # noqa: E741 - the paper's name for the later group
            nk, nl = share[k], share[l]
            nkl = nk / (nk + nl)
            Dk, Dl = dbar[k], dbar[l]
            wk = ((nk + nl) * (1 - Dl)) ** 2 * nkl * (1 - nkl) * (Dk - Dl) / (1 - Dl) * (1 - Dk) / (1 - Dl) / VD
            wl = ((nk + nl) * Dk) ** 2 * nkl * (1 - nkl) * (Dl / Dk) * (Dk - Dl) / Dk / VD
            early = idx < groups[l]
            late = idx >= groups[k]
            out.append(BaconComparison(name(k), name(l), "earlier_vs_later",
                                       _did(ybar, k, l, early, idx >= groups[k]), float(wk)))
            out.append(BaconComparison(name(l), name(k), "later_vs_earlier",
                                       _did(ybar, l, k, late, idx >= groups[l]), float(wl)))
    return BaconDecomposition(twfe, tuple(out))
