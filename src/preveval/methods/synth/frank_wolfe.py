r"""Frank-Wolfe solver for the penalised simplex least squares of synthetic DiD weights.

Arkhangelsky, Athey, Hirshberg, Imbens & Wager (2021, *AER* 111(12), eq. 2.2 and 2.3)
choose unit weights :math:`\omega` and time weights :math:`\lambda` by problems of the form

.. math::

    \min_{x \in \Delta^n} \ \tfrac{1}{m}\lVert A x - b \rVert^2 + \zeta^2 \lVert x \rVert^2,

after centring the columns of :math:`[A\ b]` when the problem has an intercept (the
intercept :math:`\omega_0` or :math:`\lambda_0` is then profiled out). The R package
``synthdid`` (version 0.0.9, ``R/solver.R``) solves them by Frank-Wolfe with an exact line
search on :math:`\lVert A x - b \rVert^2 + \eta \lVert x \rVert^2`, :math:`\eta = m \zeta^2`:

* vertex :math:`i = \arg\min_j g_j`, :math:`g = A^\top (A x - b) + \eta x` (half the
  gradient; the first index among ties);
* direction :math:`d = e_i - x`; step
  :math:`s = \min(1, \max(0, -g^\top d / (\lVert A d\rVert^2 + \eta \lVert d \rVert^2)))`;
* objective recorded after each step, :math:`f_t = \zeta^2 \lVert x \rVert^2 +
  \lVert A x - b\rVert^2 / m`; stop after iteration :math:`t \ge 2` when
  :math:`f_{t-1} - f_t \le \delta^2` (``min.decrease``) or at ``max_iter``.

The weights reported by ``synthdid`` are these iterates (not the exact minimiser), so the
same recursion is implemented here; it is vectorised over a batch of problems of equal
shape (the replications of the placebo standard error), each stopping on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FrankWolfeResult", "frank_wolfe", "sparsify"]


@dataclass(frozen=True)
class FrankWolfeResult:
    """Iterates of a batch of Frank-Wolfe runs.

    Attributes
    ----------
    x : numpy.ndarray
        ``(B, n)`` final weights.
    iterations : numpy.ndarray
        ``(B,)`` iterations run.
    converged : numpy.ndarray
        ``(B,)`` whether the ``min_decrease`` rule stopped the run (not ``max_iter``).
    objective : numpy.ndarray
        ``(B,)`` the last recorded objective :math:`f_t`.
    """

    x: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    objective: np.ndarray


def sparsify(x: np.ndarray) -> np.ndarray:
    """``synthdid``'s ``sparsify_function``: zero weights ``<= max/4``, renormalise (rows)."""
    x = np.array(x, dtype=float, copy=True)
    top = x.max(axis=-1, keepdims=True)
    x[x <= top / 4.0] = 0.0
    return x / x.sum(axis=-1, keepdims=True)


def _single(A, b, x, zeta, md2, max_iter, t: int = 0, prev: float = np.nan,
            zeta2: float | None = None) -> FrankWolfeResult:
    """The same recursion for one problem with 1-d arrays (fewer numpy calls).

    ``t``, ``prev`` and ``zeta2`` continue a batch run whose other problems have stopped.
    """
    m = A.shape[0]
    zeta2 = zeta * zeta if zeta2 is None else zeta2
    eta = m * zeta2
    val = prev
    converged = False
    while t < max_iter:
        t += 1
        Ax = A @ x
        half_grad = (Ax - b) @ A + eta * x
        i = int(np.argmin(half_grad))
        dx = -x
        dx[i] = 1.0 - x[i]
        if np.any(dx != 0.0):
            derr = A[:, i] - Ax
            step = -float(half_grad @ dx) / (float(derr @ derr) + eta * float(dx @ dx))
            step = min(1.0, max(0.0, step))
            x = x + step * dx
        err = A @ x - b
        val = zeta2 * float(x @ x) + float(err @ err) / m
        if t >= 2 and not (prev - val > md2):
            converged = True
            break
        prev = val
    return FrankWolfeResult(x=x[None, :], iterations=np.array([t]), converged=np.array([converged]),
                            objective=np.array([val]))


def frank_wolfe(
    A: np.ndarray,
    b: np.ndarray,
    x0: np.ndarray,
    zeta: float | np.ndarray,
    *,
    min_decrease: float | np.ndarray,
    max_iter: int,
) -> FrankWolfeResult:
    r"""Run the ``synthdid`` Frank-Wolfe recursion on a batch of problems.

    Parameters
    ----------
    A : numpy.ndarray
        ``(B, m, n)`` designs, already centred if the problem has an intercept.
    b : numpy.ndarray
        ``(B, m)`` targets, centred likewise.
    x0 : numpy.ndarray
        ``(B, n)`` starting weights on the simplex.
    zeta : float or numpy.ndarray
        Ridge parameter :math:`\zeta` (scalar or ``(B,)``); :math:`\eta = m \zeta^2`.
    min_decrease : float or numpy.ndarray
        :math:`\delta` (scalar or ``(B,)``): stop when an iteration lowers the objective by
        at most :math:`\delta^2`.
    max_iter : int
        Iteration cap.

    Returns
    -------
    FrankWolfeResult
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    x = np.array(x0, dtype=float, copy=True)
    B, m, n = A.shape
    if B == 1:
        return _single(A[0], b[0], x[0], float(np.ravel(zeta)[0]), float(np.ravel(min_decrease)[0]) ** 2, max_iter)
    zeta2 = np.broadcast_to(np.asarray(zeta, dtype=float) ** 2, (B,)).copy()
    eta = m * zeta2
    md2 = np.broadcast_to(np.asarray(min_decrease, dtype=float) ** 2, (B,)).copy()
    iterations = np.zeros(B, dtype=int)
    converged = np.zeros(B, dtype=bool)
    last = np.full(B, np.nan)
    active = np.arange(B)
    Aa, ba, ea, z2, mda = A, b, eta, zeta2, md2
    xa = x.copy()
    prev = np.full(B, np.nan)
    t = 0
    while t < max_iter and active.size:
        if active.size == 1 and t >= 2:
            # one problem left: the cheaper 1-d recursion, continued from the same state
            j = int(active[0])
            rest = _single(Aa[0], ba[0], xa[0], 0.0, float(mda[0]), max_iter, t, float(prev[0]), float(z2[0]))
            x[j], iterations[j], converged[j], last[j] = rest.x[0], rest.iterations[0], rest.converged[0], \
                rest.objective[0]
            active = active[:0]
            break
        t += 1
        rows = np.arange(active.size)
        Ax = np.matmul(Aa, xa[:, :, None])[:, :, 0]
        half_grad = np.matmul((Ax - ba)[:, None, :], Aa)[:, 0, :] + ea[:, None] * xa
        i = half_grad.argmin(axis=1)
        dx = -xa
        dx[rows, i] = 1.0 - xa[rows, i]
        moving = (dx != 0.0).any(axis=1)
        derr = Aa[rows, :, i] - Ax
        num = -(half_grad * dx).sum(axis=1)
        den = (derr * derr).sum(axis=1) + ea * (dx * dx).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(moving, num / den, 0.0)
        step = np.minimum(1.0, np.maximum(0.0, step))
        xa = xa + step[:, None] * dx
        err = np.matmul(Aa, xa[:, :, None])[:, :, 0] - ba
        val = z2 * (xa * xa).sum(axis=1) + (err * err).sum(axis=1) / m
        iterations[active] = t
        if t >= 2:
            stop = ~(prev - val > mda)
            if stop.any():
                x[active] = xa
                last[active] = val
                converged[active[stop]] = True
                keep = ~stop
                active = active[keep]
                Aa, ba, ea, z2, mda = Aa[keep], ba[keep], ea[keep], z2[keep], mda[keep]
                xa, val = xa[keep], val[keep]
        prev = val
    if active.size:
        x[active] = xa
        last[active] = prev
    return FrankWolfeResult(x=x, iterations=iterations, converged=converged, objective=last)
