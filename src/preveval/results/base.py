"""Frozen, plain records shared by every design family.

:class:`Estimate`, :class:`Ratio`, :class:`Diagnostic`, :class:`Prevented` and the common
part of every analysis result, :class:`AnalysisResult`; ``to_plain`` gives the JSON form of
the public contract (plain numbers; NaN and infinities become ``null``). Quantiles come from
:mod:`scipy.special` (the same functions scipy.stats calls), imported when first needed, so
importing the records stays cheap (``preveval validate`` never loads SciPy).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

Scale = Literal["log", "difference"]
Status = Literal["pass", "fail", "inconclusive", "not_applicable"]


def quantile(prob: float, df: float | None = None) -> float:
    """Quantile of the standard normal (``df`` None) or of Student t with ``df`` degrees of freedom."""
    from scipy import special

    return float(special.ndtri(prob) if df is None else special.stdtrit(df, prob))


def two_sided_p(z: float, df: float | None = None) -> float:
    """Two-sided p-value of a z (``df`` None) or t statistic."""
    from scipy import special

    tail = special.ndtr(-abs(z)) if df is None else special.stdtr(df, -abs(z))
    return float(2 * tail)


#: How an interval (and its p-value) was obtained: the ``interval_method`` of an
#: :class:`Estimate`. The standard error beside it is the one the interval uses, or None.
INTERVAL_METHODS: dict[str, str] = {
    "wald_normal": "estimate ± 1.96 standard errors (normal quantile)",
    "wald_t": "estimate ± the Student t quantile with df degrees of freedom times the standard error",
    "fixed_b": "HAC (Newey-West) standard error with fixed-b critical values simulated for the design",
    "kiefer_vogelsang": "HAC (Newey-West) standard error with the Kiefer-Vogelsang (2005) fixed-b critical value",
    "cohort_welch_t": "cohort-by-cohort variance with a small-sample correction and Welch-Satterthwaite t",
    "wild_cluster_restricted_bootstrap": "wild cluster restricted bootstrap; the interval inverts the bootstrap "
                                         "test (no standard error)",
    "wild_cluster_score_bootstrap": "wild cluster score bootstrap (Kline & Santos 2012); the interval inverts the "
                                    "bootstrap test (no standard error)",
    "randomization": "randomization inference: the treatment re-assigned to other units; the interval inverts "
                     "the permutation test (no standard error)",
    "placebo_test_inversion": "synthetic control: the p-value ranks the treated unit's post/pre RMSPE ratio among "
                              "placebo re-fits of every donor; the interval holds the constant effects that test does "
                              "not reject (none at 95% with fewer than 19 donors; no standard error)",
    "sdid_placebo_se": "synthetic difference-in-differences: estimate ± 1.96 placebo standard errors (re-fits with "
                       "donors as pseudo-treated units, seeded)",
    "sdid_jackknife_se": "synthetic difference-in-differences with several treated units: estimate ± 1.96 "
                         "jackknife standard errors (leaving out one unit at a time)",
}


@dataclass(frozen=True)
class Estimate:
    """One estimated quantity with its uncertainty.

    ``ci_low``/``ci_high`` are 95% limits; ``n`` is the number of observations behind it;
    ``interval_method`` names how the interval and p-value were obtained
    (:data:`INTERVAL_METHODS`) and ``df`` the t degrees of freedom of a ``wald_t`` interval.
    ``std_error`` is always the standard error that interval uses, or None when the interval
    comes from a bootstrap or a permutation test.
    """

    term: str
    estimate: float
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    n: int | None = None
    interval_method: str | None = None
    df: float | None = None

    @classmethod
    def wald(
        cls,
        term: str,
        estimate: float,
        std_error: float,
        *,
        df: float | None = None,
        level: float = 0.95,
        n: int | None = None,
    ) -> Estimate:
        """Build a Wald estimate: normal quantile, or Student t with ``df`` when given."""
        q = quantile(0.5 + level / 2, df)
        how = "wald_normal" if df is None else "wald_t"
        if not np.isfinite(std_error) or std_error <= 0:
            return cls(term, float(estimate), _num(std_error), None, None, None, n, how, df)
        z = estimate / std_error
        p = two_sided_p(z, df)
        return cls(
            term,
            float(estimate),
            float(std_error),
            float(estimate - q * std_error),
            float(estimate + q * std_error),
            p,
            n,
            how,
            None if df is None else float(df),
        )

    def scaled(self, term: str, factor: float) -> Estimate:
        """The same estimate, interval and p-value for ``factor`` times the quantity (factor > 0)."""
        def mul(v: float | None) -> float | None:
            return None if v is None else v * factor

        return Estimate(term, self.estimate * factor, mul(self.std_error), mul(self.ci_low), mul(self.ci_high),
                        self.p_value, self.n, self.interval_method, self.df)

    def exp(self) -> Ratio:
        """Exponentiate estimate and limits (rate ratio of a log-link coefficient)."""
        return Ratio(
            math.exp(self.estimate),
            None if self.ci_low is None else math.exp(self.ci_low),
            None if self.ci_high is None else math.exp(self.ci_high),
        )

    def excludes_zero(self) -> bool:
        """Whether the confidence interval lies wholly on one side of zero."""
        if self.ci_low is None or self.ci_high is None:
            return False
        return self.ci_low > 0 or self.ci_high < 0


@dataclass(frozen=True)
class Ratio:
    """A ratio (e.g. a rate ratio) with its 95% interval."""

    estimate: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class Baseline:
    """The outcome before the start in the places that ran the initiative: the effect's yardstick.

    ``value`` is the mean per period (``period``: month, quarter...) over the ``periods``
    pre-start periods; a rate per ``rate_per`` of the exposure column ``exposure`` when the
    analysis has an offset, else the indicator's own units; per area (``per_area``) for
    panel designs, the whole series for an interrupted time series.
    """

    value: float
    period: str
    periods: int
    rate_per: float | None = None
    exposure: str | None = None
    per_area: bool = False


@dataclass(frozen=True)
class Prevented:
    """Events prevented over the post period: expected without the initiative minus observed.

    ``total`` and its 95% interval ``ci_low``/``ci_high``, per year (``per_year``,
    ``per_year_low``, ``per_year_high``) over ``years`` years; ``expected`` and ``observed``
    event totals; ``interval`` says what the interval covers (``reps`` and ``seed`` of the
    simulation behind it, 0 when there is none). Negative values mean more events than
    expected. Shared by every design that turns an effect into events.
    """

    total: float
    ci_low: float
    ci_high: float
    per_year: float
    per_year_low: float
    per_year_high: float
    years: float
    expected: float
    observed: float
    interval: str
    reps: int
    seed: int
    #: Critical value the coefficient draws were scaled to (t or fixed-b; None: normal).
    critical_value: float | None = None


@dataclass(frozen=True)
class Diagnostic:
    """A check of an assumption. ``status`` may be ``not_applicable`` with a reason."""

    name: str
    status: Status
    reason: str
    statistic: float | None = None
    p_value: float | None = None


def _num(x: Any) -> Any:
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def to_plain(obj: Any) -> Any:
    """Convert results (dataclasses, frames, numpy scalars) to JSON-ready plain data."""
    if is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in fields(obj):
            if f.metadata.get("json") is False:
                continue
            out[f.name] = to_plain(getattr(obj, f.name))
        return out
    if isinstance(obj, pd.DataFrame):
        return [to_plain(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, pd.Period):
        return str(obj)
    return _num(obj)


def not_json(default: Any = None, **kw: Any) -> Any:
    """A dataclass field kept out of the JSON form (e.g. a large table written as CSV)."""
    return field(default=default, metadata={"json": False}, **kw)


#: What the layers above the records lend them so that a result can draw, describe and
#: re-fit itself in a notebook: ``plot``, ``headline`` and ``refit``, registered by
#: :mod:`preveval.api` when ``preveval`` is imported. The records never import the pack or
#: the methods (data flows one way); they call what was registered here.
_HOOKS: dict[str, Callable[..., Any]] = {}


def register_hook(name: str, function: Callable[..., Any]) -> None:
    """Lend the records a function of a layer above them (``plot``, ``headline``, ``refit``)."""
    _HOOKS[name] = function


def _hook(name: str) -> Callable[..., Any]:
    if name not in _HOOKS:  # preveval imports its API lazily: registering is importing it
        import importlib

        importlib.import_module("preveval.api")
    try:
        return _HOOKS[name]
    except KeyError:
        raise RuntimeError(f"no '{name}' function is registered; import preveval (which registers it) "
                           "before calling it") from None


@dataclass(frozen=True)
class FitSource:
    """What an analysis was fitted on, kept for ``plot`` and ``refit`` in a notebook.

    ``spec`` is the validated evaluation, ``raw`` the evaluation as plain data (a dict, as
    written), ``data`` the data as given (before any check converted it) and ``analysis``
    the analysis id. Nothing of it reaches results.json or the pack.
    """

    spec: Any
    raw: Mapping[str, Any]
    data: pd.DataFrame
    analysis: str

    def analysis_spec(self) -> Any:
        """The analysis' own record of the validated spec."""
        return next(a for a in self.spec.analyses if a.id == self.analysis)


TIDY_COLUMNS = ["estimate", "std_error", "ci_low", "ci_high", "p_value"]


def _g(value: float | None, digits: int = 4) -> str:
    return "" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}g}"


def coefficient_table(estimates: list[Estimate] | tuple[Estimate, ...]) -> pd.DataFrame:
    """The tidy coefficient table: one row per term."""
    return pd.DataFrame(
        [
            {
                "term": e.term,
                "estimate": e.estimate,
                "std_error": e.std_error,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "p_value": e.p_value,
                "interval_method": e.interval_method,
            }
            for e in estimates
        ],
        columns=["term", "estimate", "std_error", "ci_low", "ci_high", "p_value", "interval_method"],
    )


@dataclass(frozen=True)
class AnalysisResult:
    """Fields every method's result carries (the ``analyses.<id>`` object of results.json).

    Subclasses add their own fields; large tables are kept out of the JSON with
    :func:`not_json` and written to ``tables/`` by the pack.
    """

    id: str
    method: str
    indicator: str
    n_obs: int
    effect: Estimate
    scale: Scale
    ratio: Ratio | None
    coefficients: tuple[Estimate, ...]
    warnings: tuple[str, ...] = ()
    #: The headline effect under other inference methods, for comparison only (labelled by
    #: their ``interval_method``); the headline, tables and evidence use ``effect``.
    inference_comparison: tuple[Estimate, ...] = ()
    #: The outcome before the start where the initiative ran (the effect's yardstick).
    baseline: Baseline | None = None

    #: The coefficients' covariance matrix (a DataFrame indexed by term both ways) where the
    #: fit has one (None for bootstrap- or permutation-only quantities). Not in results.json.
    vcov: Any = not_json(compare=False, repr=False)
    #: What the analysis was fitted on (:class:`FitSource`), for ``refit`` and ``plot``.
    source: Any = not_json(compare=False, repr=False)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every design family's record keeps the short one-line repr below: set it on the
        # subclass before @dataclass runs, which then leaves an existing __repr__ alone.
        super().__init_subclass__(**kwargs)
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = AnalysisResult.__repr__  # type: ignore[method-assign]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``effect`` carries ``scale`` as the contract shows."""
        d = to_plain(self)
        eff = d.pop("effect")
        eff["scale"] = d.pop("scale")
        d.pop("id", None)
        d = {"method": d.pop("method"), "n_obs": d.pop("n_obs"), "effect": eff, **d}
        return d

    def coefficient_frame(self) -> pd.DataFrame:
        """Coefficients as a tidy DataFrame."""
        return coefficient_table(self.coefficients)

    # ------------------------------------------------------------------ notebook helpers

    def tidy(self) -> pd.DataFrame:
        """Every coefficient (the headline effect first if it is not one): term as index and
        ``estimate``, ``std_error``, ``ci_low``, ``ci_high``, ``p_value``."""
        rows = list(self.coefficients)
        if self.effect.term not in {e.term for e in rows}:
            rows.insert(0, self.effect)
        frame = pd.DataFrame([[e.estimate, e.std_error, e.ci_low, e.ci_high, e.p_value] for e in rows],
                             index=pd.Index([e.term for e in rows], name="term"), columns=TIDY_COLUMNS,
                             dtype=float)
        return frame

    def _effect_text(self) -> str:
        e = self.effect
        ci = (f" (95% CI {_g(e.ci_low)} to {_g(e.ci_high)})" if e.ci_low is not None and e.ci_high is not None
              else " (no interval)")
        ratio = ""
        if self.scale == "log" and self.ratio is not None:
            r = self.ratio
            ratio = f", ratio {_g(r.estimate, 3)}" + (f" ({_g(r.ci_low, 3)} to {_g(r.ci_high, 3)})"
                                                      if r.ci_low is not None and r.ci_high is not None else "")
        return f"{e.term} = {_g(e.estimate)}{ci}, {self.scale} scale{ratio}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} ({self.method}): {self._effect_text()}>"

    def summary(self) -> str:
        """Print a text table of the fit (headline, coefficients, warnings) and return it."""
        e = self.effect
        lines = [f"{type(self).__name__} {self.id}: {self.method} of {self.indicator}, {self.n_obs} observations",
                 f"Headline: {self._effect_text()}"
                 + (f"; p = {_g(e.p_value, 3)}" if e.p_value is not None else "")
                 + (f"; interval: {e.interval_method}" if e.interval_method else ""), ""]
        table = self.tidy()
        text = table.to_string(float_format=lambda v: f"{v:.4g}", na_rep="")
        lines += [text, ""]
        lines += [f"Warning: {w}" for w in self.warnings]
        out = "\n".join(lines).rstrip() + "\n"
        print(out, end="")
        return out

    def plot(self, name: Any = "main", ax: Any = None) -> Any:
        """The matplotlib Figure of the analysis' main figure, or of another by ``name``.

        ``ax``: draw into this Axes (its figure is returned). Names depend on the method
        (``its``: ``main``, ``residual_acf``; ``did``: ``main``, ``event_study``,
        ``trends``); an unknown name raises ValueError listing them.
        """
        if not isinstance(name, str):  # plot(ax) called positionally
            name, ax = "main", name
        return _hook("plot")(self, name, ax)

    def refit(self, **changes: Any) -> AnalysisResult:
        """Fit the same analysis again with fields of its spec changed (validated as before).

        ``changes`` are fields of the analysis (``family="poisson"``, ``seasonality=None``
        for its default, ``impact="level"``...); the data are the ones this result was
        fitted on. Returns a new result; this one is unchanged.
        """
        return _hook("refit")(self, changes)  # type: ignore[no-any-return]

    def _repr_html_(self) -> str:
        import html

        try:
            head = _hook("headline")(self)
        except Exception:  # noqa: BLE001 - a notebook view falls back to the plain line
            head = ""
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (f"<div><p><strong>{html.escape(type(self).__name__)} {html.escape(self.id)}</strong> "
                f"({html.escape(self.method)}): {html.escape(self._effect_text())}</p>"
                + (f"<p>{html.escape(head)}</p>" if head else "")
                + (f"<p>{len(self.warnings)} warning(s):</p><ul>{warn}</ul>" if warn else "") + "</div>")
