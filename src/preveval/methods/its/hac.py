r"""Fixed-b inference for the ITS regression under ``errors: hac``.

Critical values and p-values of the HAC t-statistics of the coefficients
(:func:`hac_inference`) and of any linear combination of them
(:func:`contrast_critical_values`: prevented events, the counterfactual band), from the
fixed-b reference distribution of the design simulated by
:func:`~preveval.inference.hac.simulate_variance_ratios`. The back-ends
(:mod:`preveval.methods.its.fit`) call :func:`hac_inference` while fitting.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from preveval.inference.hac import (
    equivalent_t_df,
    fixed_b_critical_values,
    fixed_b_pvalues,
    kiefer_vogelsang_cv,
    simulate_variance_ratios,
)
from preveval.methods.its.corefit import CoreFit
from preveval.results.base import quantile, two_sided_p

__all__ = ["Inference", "contrast_critical_value", "contrast_critical_values", "hac_inference"]


@dataclass(frozen=True)
class Inference:
    df_resid: float
    use_t: bool
    crit_values: tuple[float, ...] = ()
    p_values: tuple[float, ...] = ()
    label: str = ""
    note: str = ""


_FIXED_B_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _fixed_b(X: np.ndarray, weights: np.ndarray | None, contrasts: np.ndarray | None = None,
             **kw: int | bool) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-b variance-ratio draws of a design (of its coefficients, or of ``contrasts``) and
    their 95% critical values, cached by design, weights, contrasts and settings."""
    h = hashlib.sha1(np.ascontiguousarray(X, dtype=float).tobytes())
    for extra in (weights, contrasts):
        h.update(b"-" if extra is None else np.ascontiguousarray(extra, dtype=float).tobytes())
    h.update(repr(sorted(kw.items())).encode())
    key = h.hexdigest()
    if key not in _FIXED_B_CACHE:
        if len(_FIXED_B_CACHE) >= 64:
            _FIXED_B_CACHE.pop(next(iter(_FIXED_B_CACHE)))
        ratios = simulate_variance_ratios(X, weights=weights, contrasts=contrasts, **kw)  # type: ignore[arg-type]
        _FIXED_B_CACHE[key] = (ratios, fixed_b_critical_values(ratios))
    return _FIXED_B_CACHE[key]


def _effect_columns(terms: tuple[str, ...]) -> list[int]:
    cols = [i for i, t in enumerate(terms) if t.endswith(("level_change", "slope_change"))]
    return cols or list(range(len(terms)))


def hac_inference(
    critical: str,
    X: np.ndarray,
    weights: np.ndarray | None,
    params: np.ndarray,
    cov: np.ndarray,
    terms: tuple[str, ...],
    *,
    lag: int,
    periods: int,
    prewhite: bool,
    blocks: int,
    reps: int,
    seed: int,
    use_t: bool,
) -> Inference:
    r"""Critical values and p-values of the HAC t-statistics.

    ``fixed_b``: the fixed-b reference distribution of this design and estimator, a scale
    mixture of normals simulated by :func:`~preveval.inference.hac.simulate_variance_ratios`;
    ``kiefer_vogelsang``: the location-model polynomial at :math:`b = (L+1)/n`;
    ``standard``: the family's t(n − k) or normal. The interval of every term uses one
    quantile — the largest critical value of the intervention terms, expressed as t with
    :math:`\nu` equivalent df (:func:`~preveval.inference.hac.equivalent_t_df`) — because
    the consumers of :class:`CoreFit` read ``df_resid``; ``crit_values``/``p_values`` keep
    the per-term values.
    """
    k = len(params)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    tstat = np.divide(params, se, out=np.zeros(k), where=se > 0)
    if critical == "standard":
        df = float(len(X) - k) if use_t else None
        q = quantile(0.975, df)
        return Inference(float(len(X) - k), use_t, (q,) * k, tuple(two_sided_p(float(t), df) for t in tstat), "t" if use_t else "normal")
    cols = _effect_columns(terms)
    if critical == "kiefer_vogelsang":
        b = (lag + 1) / periods
        crit = np.full(k, kiefer_vogelsang_cv(b))
        kv_df = equivalent_t_df(float(crit[0]))
        pvals = np.array([two_sided_p(float(t), kv_df) for t in tstat])
        label = f"fixed-b, Kiefer-Vogelsang (2005) Bartlett polynomial at b = {b:.3f}"
        note = f"; fixed-b critical value {crit[0]:.3f} (Kiefer-Vogelsang 2005 polynomial, b = {b:.3f})"
    else:
        ratios, crit = _fixed_b(X, weights, lag=int(lag), prewhite=bool(prewhite), blocks=int(blocks), reps=int(reps), seed=int(seed))
        pvals = fixed_b_pvalues(ratios, tstat)
        label = f"fixed-b, simulated for this design and estimator ({reps} draws, seed {seed})"
        note = f"; fixed-b critical value {float(crit[cols].max()):.3f} simulated for this design ({reps} draws)"
    nu = equivalent_t_df(float(crit[cols].max()))
    note += f", applied as t with {nu:.2f} equivalent df" if np.isfinite(nu) else ""
    return Inference(
        df_resid=float(nu) if np.isfinite(nu) else float(len(X) - k),
        use_t=bool(np.isfinite(nu)) or use_t,
        crit_values=tuple(float(c) for c in crit),
        p_values=tuple(float(p) for p in pvals),
        label=label,
        note=note,
    )


def contrast_critical_values(core: CoreFit, contrasts: np.ndarray) -> np.ndarray | None:
    r"""Two-sided 95% critical values of the HAC t-statistics of :math:`C\beta` (one per row).

    ``fixed_b``: simulated for this design and estimator exactly as for the coefficients
    (:func:`~preveval.inference.hac.simulate_variance_ratios` with ``contrasts``, same
    draws and seed); ``kiefer_vogelsang``: the location-model polynomial; ``None`` when the
    fit is not HAC or uses standard critical values. A prediction far outside the
    pre-period (a counterfactual extrapolated by the pre-trend) is a contrast with a much
    wider fixed-b law than the intervention terms, so this matters for prevented events and
    the counterfactual band.
    """
    st = core.hac_settings
    C = np.atleast_2d(np.asarray(contrasts, dtype=float))
    if st is None or st["critical"] == "standard":
        return None
    if st["critical"] == "kiefer_vogelsang":
        return np.full(C.shape[0], kiefer_vogelsang_cv(float(core.hac_b or 0.0)))
    _, crit = _fixed_b(st["X"], st["weights"], C, lag=st["lag"], prewhite=st["prewhite"], blocks=st["blocks"],
                       reps=st["reps"], seed=st["seed"])
    return crit.copy()


def contrast_critical_value(core: CoreFit, contrast: np.ndarray) -> float | None:
    """:func:`contrast_critical_values` for one linear combination."""
    c = contrast_critical_values(core, contrast)
    return None if c is None else float(c[0])

