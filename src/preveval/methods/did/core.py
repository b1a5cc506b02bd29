r"""The shared machinery of the difference-in-differences designs.

Row selection and codes (:func:`prepare` -> :class:`Prepared`), the OLS / PPML core with
absorbed fixed effects (:func:`fit_core`), Wald estimates, the wild cluster bootstraps of
one coefficient (:func:`bootstrap_effect`) and the common part of every
:class:`~preveval.results.did.DidResult` (:func:`assemble`). The estimation cores live in
:mod:`preveval.inference.fixed_effects`, :mod:`preveval.inference.ppml` and
:mod:`preveval.inference.covariance`; each design in its own module of this family.

Inference conventions (``docs/did.md``):

* ``classical`` / ``robust`` (HC1): t with :math:`N-K` degrees of freedom, :math:`K`
  counting absorbed fixed effects;
* ``cluster`` (CR1, :math:`\frac{G}{G-1}\frac{N-1}{N-K}`, fixed effects nested in clusters
  left out of :math:`K`): t with :math:`G-1` degrees of freedom (``fixest``, Stata);
* ``wild_bootstrap``: the CR1 standard error, with the p-value and interval of the wild
  cluster restricted bootstrap (:mod:`preveval.inference.wild_bootstrap`);
* Poisson (PPML): normal quantiles (GLM convention), ``rate_ratio`` = exp of the effect.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from preveval.data.design_checks import few_treated_warning
from preveval.data.periods import period_word, periods_per_year
from preveval.errors import EstimationError
from preveval.inference.fe_structure import compact_codes, fe_codes, n_levels
from preveval.inference.fixed_effects import FeFit, fit_feols
from preveval.inference.ppml import fit_fepois
from preveval.results.base import Baseline, Estimate
from preveval.results.did import BootstrapSummary, DidResult, RandomizationSummary
from preveval.spec.models import DidAnalysis

__all__ = [
    "STAGGERED_WARNING",
    "Prepared",
    "RawDesign",
    "assemble",
    "baseline_of",
    "bootstrap_effect",
    "declared_inference",
    "pretrend_warning",
    "few_treated_warning",
    "coefficients",
    "df_for",
    "first_treatment",
    "fit_core",
    "period_ordinals",
    "prepare",
    "se_text",
]

VCOV_OF_INFERENCE = {"classical": "classical", "robust": "HC1", "cluster": "CR1", "wild_bootstrap": "CR1",
                     "randomization": "CR1"}



# ------------------------------------------------------------------------ preparation


def period_ordinals(values: pd.Series) -> np.ndarray:
    """Integer period ordinals as floats (NaN where missing) from ints or pandas Periods.

    Periods of one frequency map to consecutive integers (``Period.ordinal``), so
    differences count periods.
    """
    s = pd.Series(values)
    if isinstance(s.dtype, pd.PeriodDtype):
        out = s.array.asi8.astype(np.float64)
        out[s.isna().to_numpy()] = np.nan
        return out
    if s.dtype == object:
        return np.array(
            [v.ordinal if isinstance(v, pd.Period) else (np.nan if pd.isna(v) else float(v)) for v in s],
            dtype=np.float64,
        )
    return pd.to_numeric(s).to_numpy(dtype=np.float64, na_value=np.nan)


@dataclass(eq=False)
class Prepared:
    """Arrays shared by every design, rows with missing values removed."""

    frame: pd.DataFrame
    y: np.ndarray
    time: np.ndarray
    unit: np.ndarray | None
    extra_fe: list[np.ndarray]
    covariates: np.ndarray
    covariate_names: tuple[str, ...]
    weights: np.ndarray | None
    clusters: np.ndarray | None
    vcov: str
    warnings: list[str] = field(default_factory=list)
    offset: np.ndarray | None = None
    #: Period ordinal -> the period as written in the data (``2019``, ``2019-04``).
    time_labels: dict[int, str] = field(default_factory=dict)

    def label(self, ordinal: float) -> str:
        """The period with this ordinal as written in the data (the ordinal if unseen)."""
        o = int(ordinal)
        return self.time_labels.get(o, str(o))


def prepare(
    spec: DidAnalysis, frame: pd.DataFrame, outcome: str, unit: str | None, time: str
) -> Prepared:
    """Select rows and columns, build codes, choose the covariance estimator."""
    warnings: list[str] = []
    cluster_col = spec.cluster or unit
    needed = [outcome, time, *spec.covariates, *spec.fixed_effects]
    for col in (unit, spec.weights, cluster_col, spec.treatment, spec.group, spec.post, spec.offset):
        if col is not None:
            needed.append(col)
    needed = list(dict.fromkeys(needed))
    complete = frame[needed].notna().all(axis=1).to_numpy().copy()
    if spec.weights is not None:
        complete &= pd.to_numeric(frame[spec.weights]).to_numpy(dtype=float, na_value=np.nan) > 0
    if not complete.all():
        warnings.append(f"{int((~complete).sum())} rows with missing values (or weights <= 0) were left out")
    df = frame.loc[complete]
    if len(df) == 0:
        raise EstimationError("no complete rows are left to fit the model")
    vcov = VCOV_OF_INFERENCE[spec.inference]
    if vcov == "CR1" and cluster_col is None:
        warnings.append("no unit or cluster column: heteroskedasticity-robust (HC1) standard errors are used instead of cluster-robust ones")
        vcov = "HC1"
    y = pd.to_numeric(df[outcome]).to_numpy(dtype=np.float64)
    offset = None
    if spec.offset is not None:
        exposure = pd.to_numeric(df[spec.offset]).to_numpy(dtype=np.float64)
        if spec.family == "poisson":
            offset = np.log(exposure)
        else:
            y = y / exposure * spec.rate_per
    ordinals = period_ordinals(df[time]).astype(np.int64)
    first_seen = ~pd.Series(ordinals).duplicated().to_numpy()
    # labels as written: the time column itself, or the prepared data's 'period' column when
    # the time column is its ordinal 't' (as the pipeline passes it)
    shown = df["period"] if (time == "t" and "period" in df.columns) else df[time]
    labels = {int(o): str(v) for o, v in zip(ordinals[first_seen], shown.to_numpy()[first_seen], strict=True)}
    unit_codes = None if unit is None else fe_codes(df[unit])
    return Prepared(
        frame=df,
        y=y,
        time=ordinals,
        unit=unit_codes,
        extra_fe=[fe_codes(df[c]) for c in spec.fixed_effects],
        covariates=df[list(spec.covariates)].to_numpy(dtype=np.float64).reshape(len(df), -1),
        covariate_names=tuple(spec.covariates),
        weights=None if spec.weights is None else df[spec.weights].to_numpy(dtype=np.float64),
        clusters=(None if (vcov != "CR1" or cluster_col is None)
                  else unit_codes if cluster_col == unit else fe_codes(df[cluster_col])),  # the same codes: factorised once
        vcov=vcov,
        warnings=warnings,
        offset=offset,
        time_labels=labels,
    )


def fit_core(spec: DidAnalysis, p: Prepared, X: np.ndarray, names: list[str], fe: list[np.ndarray], protect: tuple[str, ...]) -> FeFit:
    """Run the OLS or PPML core for the design matrix ``X`` (names) and fixed effects."""
    if spec.family == "poisson":
        if (p.y < 0).any():
            raise EstimationError("a Poisson model needs a non-negative outcome")
        fit = fit_fepois(p.y, X, names, fe, weights=p.weights, clusters=p.clusters, vcov=p.vcov, protect=protect,
                         offset=p.offset)
        if not fit.converged:
            p.warnings.append("the Poisson IRLS iterations did not converge; treat the estimates with caution")
        if fit.n_separated:
            p.warnings.append(f"{fit.n_separated} observations in fixed-effect groups with only zero outcomes were left out (separation)")
    else:
        fit = fit_feols(p.y, X, names, fe, weights=p.weights, clusters=p.clusters, vcov=p.vcov, protect=protect)
    if fit.n_singletons:
        p.warnings.append(f"{fit.n_singletons} singleton observations (alone in a fixed-effect group) were left out")
    if fit.dropped:
        p.warnings.append(f"collinear covariates were dropped: {', '.join(fit.dropped)}")
    return fit


def df_for(fit: FeFit) -> float | None:
    """t degrees of freedom of the intervals, or ``None`` for normal quantiles (Poisson)."""
    return None if fit.family == "poisson" else fit.cov.df_resid


def coefficients(fit: FeFit) -> tuple[Estimate, ...]:
    """Wald estimates of every coefficient of a fit."""
    se = fit.cov.std_errors
    df = df_for(fit)
    return tuple(
        Estimate.wald(name, float(b), float(s), df=df, n=fit.n_obs)
        for name, b, s in zip(fit.names, fit.coef, se, strict=True)
    )


@dataclass(frozen=True)
class RawDesign:
    """The inputs of a fit before the fixed effects are absorbed (what a PPML re-fit needs)."""

    X: np.ndarray
    names: tuple[str, ...]
    fe: tuple[np.ndarray, ...]


def baseline_of(spec: DidAnalysis, p: Prepared, pre: np.ndarray) -> Baseline | None:
    """Mean outcome per unit and period over ``pre``, the treated units' rows before their start.

    A rate per ``rate_per`` of the exposure when the analysis has an offset (for Poisson the
    events over the exposure; for gaussian the (weighted) mean of the rates), else the mean
    count or value.
    """
    pre = np.asarray(pre, dtype=bool)
    if not pre.any():
        return None
    y = p.y[pre]
    w = None if p.weights is None else p.weights[pre]
    if spec.offset is not None and p.offset is not None:
        value = float(y.sum() / np.exp(p.offset[pre]).sum() * spec.rate_per)
    else:
        value = float(np.average(y, weights=w))
    ppy = periods_per_year(p.frame["period"]) if "period" in p.frame.columns else 12.0
    n_periods = int(np.unique(p.time[pre]).size)
    return Baseline(value, period_word(ppy), n_periods, spec.rate_per if spec.offset else None, spec.offset,
                    p.unit is not None)


def pretrend_warning(test: Any) -> str | None:
    """Plain-English warning when the pre-trend test fails (None when it passes or does not apply)."""
    if test is None or getattr(test, "status", None) != "fail":
        return None
    return (f"Before the start, the areas that ran the initiative and the comparison areas were already moving "
            f"apart (pre-trend test p = {test.p_value:.3g}): the parallel-trends assumption this analysis rests on "
            "is doubtful, so its estimate may partly reflect that earlier divergence.")


def declared_inference(spec: DidAnalysis, fit: FeFit, column: str, effect: Estimate, p: Prepared,
                       raw: RawDesign | None = None, treatment: np.ndarray | None = None,
                       ) -> tuple[Estimate, dict[str, Any]]:
    """The headline under the inference the analysis declares, and what else the result records.

    ``cluster``, ``robust`` and ``classical`` keep the Wald ``effect``. ``wild_bootstrap``
    replaces its interval and p-value by the wild cluster restricted bootstrap (linear) or
    the score bootstrap of Kline & Santos (2012) (Poisson, which needs the design before
    absorption, ``raw``); ``randomization`` by randomization inference over re-assignments of
    the treatment (``treatment``, the raw treatment column of the rows in ``p``). Either way
    the standard error is left out (the interval does not use one) and the Wald estimate is
    kept as a labelled comparison. Returns the headline and the extra fields of
    :class:`~preveval.results.did.DidResult` (``bootstrap``, ``randomization``,
    ``inference_comparison``).
    """
    extra: dict[str, Any] = {}
    if spec.inference not in ("wild_bootstrap", "randomization"):
        return effect, extra
    comparison = replace(effect, interval_method=f"{effect.interval_method} ({fit.cov.kind})")
    if spec.inference == "randomization":
        if p.unit is None or treatment is None:
            p.warnings.append("randomization inference needs units; cluster-robust inference is reported")
            return effect, extra
        res = _randomize(spec, fit, effect, p, raw, treatment)
        summary = RandomizationSummary(res.p_value, res.ci_low, res.ci_high, res.statistic, res.n_assignments,
                                       res.enumerated, res.min_p_value, res.n_treated_units, res.n_units,
                                       res.at_search_limit)
        extra.update(randomization=summary, inference_comparison=(comparison,))
        return Estimate(effect.term, effect.estimate, _search_scale(effect, res.ci_low, res.ci_high), res.ci_low,
                        res.ci_high, res.p_value, effect.n, "randomization"), extra
    boot = bootstrap_effect(spec, fit, column, effect, p.warnings, p, raw)
    if boot is None:
        return effect, extra
    method = "wild_cluster_score_bootstrap" if fit.family == "poisson" else "wild_cluster_restricted_bootstrap"
    extra.update(bootstrap=boot, inference_comparison=(comparison,))
    return (Estimate(effect.term, effect.estimate, _search_scale(effect, boot.ci_low, boot.ci_high), boot.ci_low,
                     boot.ci_high, boot.p_value, effect.n, method), extra)


def _search_scale(effect: Estimate, lo: float, hi: float) -> float | None:
    """No standard error beside a bootstrap or randomization p-value, except for a plan.

    Inside :func:`preveval.inference.mode.p_value_only`, where a test skipped its interval,
    nothing else scales the plan's search for a detection threshold, so the cluster-robust
    standard error is kept.
    """
    import math

    from preveval.inference.mode import intervals_wanted

    if intervals_wanted() or (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return effect.std_error


def _randomize(spec: DidAnalysis, fit: FeFit, effect: Estimate, p: Prepared, raw: RawDesign | None,
               treatment: np.ndarray) -> Any:
    from preveval.inference.randomization import randomization_test

    keep = fit.keep
    assert p.unit is not None
    cov_cols = [j for j, n in enumerate(raw.names if raw else ()) if n in p.covariate_names]
    C = raw.X[:, cov_cols][keep] if raw is not None else np.zeros((int(keep.sum()), 0))
    fe = [np.asarray(c)[keep] for c in (raw.fe if raw is not None else ())]
    return randomization_test(
        p.y[keep], np.asarray(treatment, dtype=float)[keep], C, fe, p.unit[keep], p.time[keep],
        estimate=effect.estimate, scale=float(effect.std_error or 1.0), family=fit.family,
        weights=None if p.weights is None else p.weights[keep], offset=None if p.offset is None else p.offset[keep],
        reps=spec.reps, seed=spec.seed, level=0.95,
    )


def bootstrap_effect(spec: DidAnalysis, fit: FeFit, column: str, effect: Estimate, warnings: list[str],
                     p: Prepared | None = None, raw: RawDesign | None = None) -> BootstrapSummary | None:
    """The wild cluster bootstrap of ``effect`` (None, with a warning, when it cannot run).

    Linear models: the wild cluster restricted bootstrap. Poisson: the score bootstrap of
    Kline & Santos (2012), which needs the data before absorption (``p`` and ``raw``).
    """
    if fit.clusters is None:
        warnings.append("the wild cluster bootstrap needs clusters; robust inference is reported")
        return None
    res: Any
    if fit.family == "poisson":
        if p is None or raw is None or p.clusters is None:
            warnings.append("the score bootstrap needs the raw design; CR1 inference is reported")
            return None
        from preveval.inference.score_bootstrap import ppml_score_bootstrap

        cols = [raw.names.index(n) for n in fit.names]
        res = ppml_score_bootstrap(
            p.y, raw.X[:, cols], fit.names, list(raw.fe), fit.index(column), p.clusters,
            offset=p.offset, weights=p.weights, estimate=effect.estimate,
            std_error=float(effect.std_error or 0.0), reps=spec.reps, weights_type=spec.weights_type,
            seed=spec.seed, level=0.95,
        )
    else:
        from preveval.inference.wild_bootstrap import wild_cluster_bootstrap

        res = wild_cluster_bootstrap(
            fit.X, fit.y, fit.clusters, fit.index(column),
            reps=spec.reps, weights_type=spec.weights_type, seed=spec.seed, level=0.95, weights=fit.weights,
        )
    return BootstrapSummary(float(res.p_value), float(res.ci_low), float(res.ci_high), float(res.t_stat),
                            int(res.reps), str(res.weights_type))


def assemble(
    spec: DidAnalysis,
    p: Prepared,
    fit: FeFit,
    effect: Estimate,
    coefs: tuple[Estimate, ...],
    description: str,
    treated: np.ndarray,
    **extra: Any,
) -> DidResult:
    """Build the :class:`DidResult` common part (effect scale, ratio, counts).

    ``treated`` marks the rows of ``p`` that are treated; it gives the treated observations,
    units and clusters (and the warning when too few clusters are treated).
    """
    poisson = spec.family == "poisson"
    ratio = effect.exp() if poisson else None
    keep = fit.keep
    tr = np.asarray(treated, dtype=bool)[keep]
    units = None if p.unit is None else p.unit[keep]
    groups = fit.clusters if fit.clusters is not None else units
    n_treated_clusters = None if groups is None else n_levels(compact_codes(groups[tr])) if tr.any() else 0
    extra.setdefault("n_treated_obs", int(tr.sum()))
    extra.setdefault("n_treated_units", None if units is None else (n_levels(compact_codes(units[tr])) if tr.any() else 0))
    warning = few_treated_warning(n_treated_clusters, spec.inference) if fit.clusters is not None else None
    if warning:
        p.warnings.append(warning)
    pretrend = pretrend_warning(extra.get("pretrend_test"))
    if pretrend:
        p.warnings.append(pretrend)
    se_type = ("wild_bootstrap" if extra.get("bootstrap") else
               "randomization" if extra.get("randomization") else fit.cov.kind)
    return DidResult(
        id=spec.id,
        method="did",
        indicator=spec.indicator,
        n_obs=fit.n_obs,
        effect=effect,
        scale="log" if poisson else "difference",
        ratio=ratio,
        coefficients=coefs,
        warnings=tuple(dict.fromkeys(p.warnings)),
        design=spec.design,
        family=spec.family,
        inference=spec.inference,
        se_type=se_type,
        df_resid=df_for(fit),
        n_clusters=fit.cov.n_clusters,
        n_units=None if p.unit is None else n_levels(p.unit[keep]),
        n_periods=n_levels(p.time[keep] - p.time[keep].min()),
        rate_ratio=ratio,
        n_treated_clusters=n_treated_clusters,
        description=description,
        vcov=pd.DataFrame(np.asarray(fit.cov.vcov, dtype=float), index=list(fit.names), columns=list(fit.names)),
        **extra,
    )


def first_treatment(unit: np.ndarray, time: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """First treated period of each unit code (NaN for never-treated units)."""
    n_units = int(unit.max()) + 1
    first = np.full(n_units, np.inf)
    np.minimum.at(first, unit[treated], time[treated].astype(np.float64))
    first[np.isinf(first)] = np.nan
    return first


STAGGERED_WARNING = (
    "treatment starts at different times in different units (staggered adoption): the "
    "two-way fixed-effects estimate is a weighted average of comparisons that can be biased "
    "when effects differ across cohorts or over time (Goodman-Bacon 2021); consider design: "
    "staggered (Callaway & Sant'Anna 2021)"
)


def se_text(fit: FeFit, spec: DidAnalysis) -> str:
    dist = "normal" if fit.family == "poisson" else f"t({fit.cov.df_resid:g})"
    text = {
        "classical": "classical (homoskedastic) standard errors",
        "HC1": "heteroskedasticity-robust (HC1) standard errors",
        "CR1": f"cluster-robust (CR1) standard errors with {fit.cov.n_clusters} clusters",
    }[fit.cov.kind]
    if spec.inference == "wild_bootstrap" and fit.family == "poisson":
        return text + ("; p-value and 95% interval from the wild cluster score bootstrap (Kline & Santos "
                       "2012), the interval by inverting the test")
    if spec.inference == "wild_bootstrap":
        return text + "; p-value and 95% interval from the wild cluster restricted bootstrap"
    return text + f", 95% Wald intervals with {dist} quantiles"
