r"""Leave-one-out refits and case (influence) diagnostics of a fitted model.

Each study :math:`i` is left out in turn and the model refitted with the same estimator and
inference; :math:`\hat\beta_{(-i)}`, :math:`\hat\tau^2_{(-i)}`, :math:`s^2_{w(-i)}` (1 under
Wald inference) and :math:`\mathrm{Var}(\hat\beta_{(-i)})` are the deleted fit's. With
:math:`h_i` the diagonal of the hat matrix :math:`X (X^\top W X)^{-1} X^\top W` of the full
fit, the diagnostics are (Viechtbauer & Cheung 2010, section 3; as metafor's
``influence.rma.uni`` and ``rstudent.rma.uni``):

.. math::

    \text{rstudent}_i &= \frac{y_i - x_i^\top\hat\beta_{(-i)}}
        {\sqrt{s^2_{w(-i)} (v_i + \hat\tau^2_{(-i)}) + x_i^\top \mathrm{Var}(\hat\beta_{(-i)}) x_i}} \\
    \text{DFFITS}_i &= \frac{x_i^\top\hat\beta - x_i^\top\hat\beta_{(-i)}}
        {\sqrt{s^2_{w(-i)}\, h_i\, (v_i + \hat\tau^2_{(-i)})}} \\
    D_i &= (\hat\beta - \hat\beta_{(-i)})^\top \mathrm{Var}(\hat\beta)^{-1} (\hat\beta - \hat\beta_{(-i)}) \\
    \text{COVRATIO}_i &= \det \mathrm{Var}(\hat\beta_{(-i)}) / \det \mathrm{Var}(\hat\beta) \\
    \text{DFBETAS}_{ij} &= \frac{\hat\beta_j - \hat\beta_{(-i)j}}
        {\sqrt{s^2_{w(-i)} [(X^\top W_{(-i)} X)^{-1}]_{jj}}}, \quad
        W_{(-i)} = \mathrm{diag}(1 / (v + \hat\tau^2_{(-i)})) \text{ over all } k \text{ studies}

plus :math:`\hat\tau^2_{(-i)}`, the deleted :math:`Q_E`, :math:`h_i` and the weight (percent).
A study is flagged influential, as metafor, when :math:`|\text{DFFITS}_i| > 3\sqrt{p/(k-p)}`,
:math:`F_{\chi^2_p}(D_i) > 0.5`, :math:`h_i > 3p/k` or any :math:`|\text{DFBETAS}_{ij}| > 1`.

References
----------
Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for meta-analysis.
*Research Synthesis Methods* 1(2):112-125.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from preveval.errors import EstimationError
from preveval.pooling._dist import chi2_sf
from preveval.pooling._plain import record_dict
from preveval.pooling.fit import ModelFit, fit_model

__all__ = ["InfluenceResult", "LeaveOneOutResult", "influence", "leave_one_out"]


def _deleted_fits(fit: ModelFit) -> list[ModelFit | None]:
    """The model refitted without each study in turn (None where it cannot be fitted)."""
    k, p = fit.X.shape
    if k - 1 - p < 1:
        raise EstimationError(f"leaving a study out leaves {k - 1} studies for {p} coefficient(s); "
                              f"leave-one-out and influence diagnostics need at least {p + 2} studies")
    out: list[ModelFit | None] = []
    for i in range(k):
        keep = np.arange(k) != i
        Xi = fit.X[keep]
        if np.linalg.matrix_rank(Xi) < p:
            out.append(None)
            continue
        out.append(fit_model(fit.y[keep], fit.v[keep], Xi, fit.method, fit.knapp_hartung,
                             fit.level, tau2_ci=False))
    return out


@dataclass(frozen=True)
class LeaveOneOutResult:
    """The pooled result with each study left out in turn (metafor's ``leave1out``).

    Each field is a tuple over the studies: entry ``i`` is the fit without ``omitted[i]``.
    ``ratio*`` fields are the back-transformed estimate and interval for ``scale="log"``.
    """

    method: str
    scale: str
    omitted: tuple[str, ...]
    estimate: tuple[float, ...]
    std_error: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    p_value: tuple[float, ...]
    tau2: tuple[float, ...]
    i2: tuple[float, ...]
    h2: tuple[float, ...]
    q: tuple[float, ...]
    q_p_value: tuple[float, ...]

    def tidy(self) -> pd.DataFrame:
        """One row per omitted study (and ratio columns on the log scale)."""
        df = pd.DataFrame({f: getattr(self, f) for f in (
            "omitted", "estimate", "std_error", "ci_low", "ci_high", "p_value", "tau2", "i2", "h2",
            "q", "q_p_value")})
        if self.scale == "log":
            for c, r in (("estimate", "ratio"), ("ci_low", "ratio_ci_low"), ("ci_high", "ratio_ci_high")):
                df[r] = np.exp(df[c])
        return df

    def to_dict(self) -> dict[str, object]:
        """Plain JSON form (NaN becomes None)."""
        return record_dict(self)


def leave_one_out(fit: ModelFit, labels: tuple[str, ...], scale: str) -> LeaveOneOutResult:
    """Refit the pooled model without each study in turn."""
    rows = []
    for d in _deleted_fits(fit):
        assert d is not None  # one column of ones keeps full rank
        mu, se, lo, hi, _ = d.predict(np.ones(1))
        rows.append((mu, se, lo, hi, float(d.p_values[0]), d.tau2, d.i2, d.h2, d.q, d.q_p))
    cols = list(zip(*rows, strict=True))
    return LeaveOneOutResult(fit.method, scale, labels, *(tuple(map(float, c)) for c in cols))


@dataclass(frozen=True)
class InfluenceResult:
    """Case diagnostics as metafor's ``influence.rma.uni`` (see the module docstring).

    Tuples run over the studies; ``dfbetas[i][j]`` is study ``i``'s DFBETAS for
    coefficient ``terms[j]``; ``weight`` is in percent. NaN marks a study whose deletion
    leaves the model inestimable.
    """

    method: str
    labels: tuple[str, ...]
    terms: tuple[str, ...]
    rstudent: tuple[float, ...]
    dffits: tuple[float, ...]
    cook_d: tuple[float, ...]
    cov_r: tuple[float, ...]
    tau2_del: tuple[float, ...]
    qe_del: tuple[float, ...]
    hat: tuple[float, ...]
    weight: tuple[float, ...]
    dfbetas: tuple[tuple[float, ...], ...]
    influential: tuple[bool, ...]

    def tidy(self) -> pd.DataFrame:
        """One row per study; DFBETAS as ``dfbetas_<term>`` columns."""
        df = pd.DataFrame({f: getattr(self, f) for f in (
            "labels", "rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight")})
        df = df.rename(columns={"labels": "study"})
        for j, t in enumerate(self.terms):
            df[f"dfbetas_{t}"] = [row[j] for row in self.dfbetas]
        df["influential"] = self.influential
        return df

    def to_dict(self) -> dict[str, object]:
        """Plain JSON form (NaN becomes None)."""
        return record_dict(self)


def influence(fit: ModelFit, labels: tuple[str, ...], terms: tuple[str, ...]) -> InfluenceResult:
    """Compute the case diagnostics of ``fit`` by refitting without each study."""
    k, p = fit.X.shape
    X, y, v = fit.X, fit.y, fit.v
    unscaled = fit.vb / fit.s2w if fit.s2w > 0 else np.linalg.inv(X.T @ (X * fit.w[:, None]))
    hat = np.einsum("ij,jk,ik->i", X, unscaled, X) * fit.w
    inv_vb = np.linalg.inv(fit.vb) if fit.s2w > 0 else np.full((p, p), np.nan)
    _, logdet_full = np.linalg.slogdet(fit.vb)
    nan = math.nan
    out: dict[str, list[float]] = {n: [] for n in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del")}
    dfbetas: list[tuple[float, ...]] = []
    for i, d in enumerate(_deleted_fits(fit)):
        if d is None:
            for n in out:
                out[n].append(nan)
            dfbetas.append((nan,) * p)
            continue
        xi = X[i]
        db = fit.beta - d.beta
        t2, s2 = d.tau2, d.s2w
        out["rstudent"].append(float((y[i] - xi @ d.beta) / math.sqrt(s2 * (v[i] + t2) + xi @ d.vb @ xi)))
        out["dffits"].append(float(xi @ db / math.sqrt(s2 * hat[i] * (v[i] + t2))))
        out["cook_d"].append(float(db @ inv_vb @ db))
        _, logdet_del = np.linalg.slogdet(d.vb)
        out["cov_r"].append(math.exp(logdet_del - logdet_full))
        out["tau2_del"].append(t2)
        out["qe_del"].append(d.q)
        w_del = 1.0 / (v + t2)
        vb_del = np.linalg.inv(X.T @ (X * w_del[:, None]))
        dfbetas.append(tuple(float(x) for x in db / np.sqrt(s2 * np.diag(vb_del))))
    cut_dffits = 3 * math.sqrt(p / (k - p))
    flags = []
    for i in range(k):
        cook = out["cook_d"][i]
        flags.append(bool(abs(out["dffits"][i]) > cut_dffits
                          or (not math.isnan(cook) and 1 - chi2_sf(cook, p) > 0.5)
                          or hat[i] > 3 * p / k
                          or any(abs(b) > 1 for b in dfbetas[i])))
    return InfluenceResult(
        method=fit.method, labels=labels, terms=terms,
        **{n: tuple(float(x) for x in vals) for n, vals in out.items()},
        hat=tuple(float(h) for h in hat), weight=tuple(float(w) for w in fit.weights_pct),
        dfbetas=tuple(dfbetas), influential=tuple(flags))
