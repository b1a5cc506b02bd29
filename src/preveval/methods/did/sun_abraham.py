r"""Sun & Abraham (2021) interaction-weighted (IW) event study.

Step 1, the saturated regression (their eq. 28): with :math:`E_i` the first treated period,
:math:`C` the control cohort (never treated, or the last-treated cohort with the periods
from its start dropped) and :math:`\ell = t - E_i` the relative period,

.. math::

    y_{it} = \alpha_i + \lambda_t + \sum_{e \notin C}\sum_{\ell \notin R}
    \delta_{e,\ell}\, 1\{E_i = e\}\, 1\{t - E_i = \ell\} + \varepsilon_{it},

every cohort's own relative-period effects, :math:`R` the reference periods (default
:math:`\{-1\}`), OLS with unit and period fixed effects, cluster-robust (CR1) by unit.

Step 2, the cohort shares :math:`\hat w_{e,\ell} = \widehat{\Pr}(E_i = e \mid E_i \in [-\ell, T-\ell])`,
the share of cohort :math:`e` among the observations at relative period :math:`\ell`
(eq. 29); step 3, the IW estimate :math:`\hat v_\ell = \sum_e \hat w_{e,\ell}\hat\delta_{e,\ell}`.
Its variance adds the estimation of the shares to that of :math:`\hat\delta` (their
Proposition 6, as Stata ``eventstudyinteract``):
:math:`\hat w_\ell'\hat V_\delta \hat w_\ell + \hat\delta_\ell'\hat\Sigma_{w,\ell}\hat\delta_\ell`
with the multinomial :math:`\hat\Sigma_{w,\ell} = (\mathrm{diag}(\hat w_\ell) - \hat w_\ell\hat w_\ell')/N_\ell`
(the robust covariance of the share regression of ``eventstudyinteract``, with one
observation per unit at each :math:`\ell` in a balanced panel). ``std_error_fixed_weights``
leaves the share term out (as ``fixest::sunab`` and pyfixest's ``aggregate``).

Reference: Sun L, Abraham S (2021). Estimating dynamic treatment effects in event studies
with heterogeneous treatment effects. *Journal of Econometrics* 225(2): 175-199.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from preveval.errors import EstimationError
from preveval.inference.fe_structure import fe_codes
from preveval.inference.fixed_effects import fit_feols
from preveval.results.base import Estimate, quantile, two_sided_p
from preveval.results.staggered import SunAbrahamResult, SunAbrahamRow

__all__ = ["sun_abraham"]


def sun_abraham(y: np.ndarray, unit: np.ndarray, time: np.ndarray, first_treated: np.ndarray, *,
                control: str = "never_treated", reference: tuple[int, ...] = (-1,),
                label: Callable[[float], str] = lambda o: str(int(o))) -> SunAbrahamResult:
    r"""Interaction-weighted event-study estimates :math:`\hat v_\ell` (Sun & Abraham 2021, eq. 29-30).

    Parameters
    ----------
    y, unit, time : ndarray
        Outcome, unit codes and period ordinals of the rows.
    first_treated : ndarray
        First treated period of each row's unit (NaN, or beyond the last period: never treated).
    control : {"never_treated", "last_treated"}
        The control cohort: never-treated units, or the last-treated cohort (rows from its
        first treated period on are dropped).
    reference : tuple of int
        Relative periods left out (normalised to 0).

    Returns
    -------
    SunAbrahamResult
    """
    y = np.asarray(y, dtype=float)
    time = np.asarray(time, dtype=np.int64)
    E = np.asarray(first_treated, dtype=float).copy()
    tmin, tmax = int(time.min()), int(time.max())
    E[np.isnan(E) | (E > tmax)] = np.inf
    keep = E > tmin  # units treated from the first period have no reference period
    if control == "last_treated":
        finite = E[np.isfinite(E)]
        if finite.size == 0:
            raise EstimationError("no treated units")
        last = finite.max()
        keep &= time < last
        E[E == last] = np.inf
    elif control != "never_treated":
        raise EstimationError(f"control must be 'never_treated' or 'last_treated' (got {control!r})")
    if control == "never_treated" and not np.isinf(E[keep]).any():
        raise EstimationError("no never-treated units: use control: last_treated")
    y, time, E, unit = y[keep], time[keep], E[keep], np.asarray(unit)[keep]
    treated = np.isfinite(E)
    if not treated.any():
        raise EstimationError("no treated cohort is left besides the control cohort")
    rel = np.where(treated, time - np.where(treated, E, 0), 0).astype(np.int64)
    cells = sorted({(int(e), int(r)) for e, r in zip(E[treated], rel[treated], strict=True) if r not in reference})
    names = [f"{label(e)}::{r}" for e, r in cells]
    col = {c: j for j, c in enumerate(cells)}
    X = np.zeros((len(y), len(cells)))
    rows = np.flatnonzero(treated)
    for i in rows:
        j = col.get((int(E[i]), int(rel[i])))
        if j is not None:
            X[i, j] = 1.0
    ucode = fe_codes(pd.Series(unit))
    fit = fit_feols(y, X, names, [ucode, fe_codes(pd.Series(time))], clusters=ucode, vcov="CR1", protect=tuple(names))
    if len(fit.names) < len(names):
        raise EstimationError(f"cohort x relative-period effects not identified: {', '.join(sorted(set(names) - set(fit.names)))}")
    delta, V = fit.coef, fit.cov.vcov
    df = fit.cov.df_resid
    q = quantile(0.975, df)
    # observations behind each (cohort, rel) coefficient, in the estimation sample
    count = X[fit.keep].sum(axis=0)
    rels = sorted({r for _, r in cells})
    out_rows: list[SunAbrahamRow] = []
    wrows = []
    att_w = np.zeros(len(cells))
    att_share_var = 0.0
    n_post = sum(count[j] for j, (_, r) in enumerate(cells) if r >= 0)
    for r in sorted(set(rels) | set(reference)):
        if r in reference:
            out_rows.append(SunAbrahamRow(int(r), 0.0, None, None, None, None, None, reference=True))
            continue
        idx = [j for j, (_, rr) in enumerate(cells) if rr == r]
        n_l = count[idx].sum()
        w = np.zeros(len(cells))
        w[idx] = count[idx] / n_l
        est = float(w @ delta)
        var_fixed = float(w @ V @ w)
        wl = w[idx]
        sigma_w = (np.diag(wl) - np.outer(wl, wl)) / n_l
        share_var = float(delta[idx] @ sigma_w @ delta[idx])
        se = float(np.sqrt(var_fixed + share_var))
        out_rows.append(SunAbrahamRow(int(r), est, se, est - q * se, est + q * se, two_sided_p(est / se, df),
                                      float(np.sqrt(var_fixed))))
        for j, s in zip(idx, np.sqrt(np.diag(sigma_w)), strict=True):
            wrows.append({"cohort": label(cells[j][0]), "rel_time": int(r), "weight": float(w[j]),
                          "std_error": float(s), "n_obs": int(count[j])})
        if r >= 0:
            att_w += w * n_l / n_post
            att_share_var += (n_l / n_post) ** 2 * share_var
    att_se = float(np.sqrt(att_w @ V @ att_w + att_share_var))
    att = Estimate.wald("att", float(att_w @ delta), att_se, df=df, n=fit.n_obs)
    coefs = tuple(Estimate.wald(nm, float(b), float(s), df=df, n=fit.n_obs)
                  for nm, b, s in zip(names, delta, np.sqrt(np.diag(V)), strict=True))
    return SunAbrahamResult(
        rows=tuple(out_rows), cohort_effects=coefs, att=att,
        control_cohort="never treated" if control == "never_treated" else "last treated",
        n_obs=fit.n_obs, n_clusters=int(fit.cov.n_clusters or 0),
        weights=pd.DataFrame(wrows, columns=["cohort", "rel_time", "weight", "std_error", "n_obs"]),
    )
