"""Cross-field rules of the analyses: what each design supports, what it would ignore, what it needs.

Each rule takes the validated spec and the positioned source and returns issues (errors
with the line and column of the offending key). They make ``preveval validate`` refuse
everything ``run`` would refuse before fitting, and refuse options a design would silently
ignore (the user thinks they apply). Data-dependent checks are in
:mod:`preveval.data.design_checks`.
"""

from __future__ import annotations

from collections.abc import Callable

from preveval.errors import Issue
from preveval.spec.analyses import DidAnalysis, ItsAnalysis, SynthAnalysis
from preveval.spec.loader import Loc, Positioned
from preveval.spec.models import EvaluationSpec

__all__ = ["DESIGN_RULES", "effect_scale"]

#: Options of each design family used only under a condition: option -> (condition, what it needs).
ITS_CONDITIONAL: dict[str, tuple[Callable[[ItsAnalysis], bool], str]] = {
    "hac_lag": (lambda a: a.errors == "hac", "errors: hac"),
    "hac_prewhite": (lambda a: a.errors == "hac", "errors: hac"),
    "hac_bandwidth": (lambda a: a.errors == "hac" and a.hac_lag is None, "errors: hac without hac_lag"),
    "hac_critical": (lambda a: a.errors == "hac", "errors: hac"),
    "ar_order": (lambda a: a.errors == "ar", "errors: ar"),
    "structural_trend": (lambda a: a.estimator == "structural", "estimator: structural"),
    "rate_per": (lambda a: a.offset is not None, "an offset"),
}
STAGGERED_GAUSSIAN = "design: staggered with family: gaussian"


def _cs(a: DidAnalysis) -> bool:
    """A staggered design on the linear scale (Callaway & Sant'Anna cells behind it)."""
    return a.design == "staggered" and a.family == "gaussian"


def _band(a: DidAnalysis) -> bool:
    return _cs(a) and a.band == "uniform" and bool(a.aggregations)


DID_CONDITIONAL: dict[str, tuple[Callable[[DidAnalysis], bool], str]] = {
    "treatment": (lambda a: a.design == "twfe", "design: twfe"),
    "group": (lambda a: a.design == "two_by_two", "design: two_by_two"),
    "post": (lambda a: a.design == "two_by_two", "design: two_by_two"),
    "first_treated": (lambda a: a.design in ("event_study", "staggered"), "design: event_study or staggered"),
    "leads": (lambda a: a.design == "event_study", "design: event_study"),
    "lags": (lambda a: a.design == "event_study", "design: event_study"),
    "bin_endpoints": (lambda a: a.design == "event_study", "design: event_study"),
    "event_bin": (lambda a: a.design == "event_study", "design: event_study"),
    "control": (lambda a: a.design == "staggered", "design: staggered"),
    "cs_method": (lambda a: _cs(a) and bool(a.covariates), "design: staggered with covariates (family gaussian)"),
    "fixed_effects": (lambda a: a.design != "staggered", "a design other than staggered"),
    "estimator": (_cs, STAGGERED_GAUSSIAN),
    "anticipation": (_cs, STAGGERED_GAUSSIAN),
    "base_period": (_cs, STAGGERED_GAUSSIAN),
    "allow_unbalanced_panel": (_cs, STAGGERED_GAUSSIAN),
    "aggregations": (_cs, STAGGERED_GAUSSIAN),
    "min_e": (lambda a: _cs(a) and "dynamic" in a.aggregations, "design: staggered with the dynamic aggregation"),
    "max_e": (lambda a: _cs(a) and "dynamic" in a.aggregations, "design: staggered with the dynamic aggregation"),
    "balance_e": (lambda a: _cs(a) and "dynamic" in a.aggregations, "design: staggered with the dynamic aggregation"),
    "band": (lambda a: _cs(a) and bool(a.aggregations), "design: staggered with aggregations"),
    "sensitivity": (_cs, STAGGERED_GAUSSIAN),
    "comparisons": (_cs, STAGGERED_GAUSSIAN),
    "weights_type": (lambda a: a.inference == "wild_bootstrap", "inference: wild_bootstrap"),
    "reps": (lambda a: a.inference in ("wild_bootstrap", "randomization") or _band(a),
             "inference: wild_bootstrap or randomization, or a staggered design's uniform band"),
    "seed": (lambda a: a.inference in ("wild_bootstrap", "randomization") or _band(a),
             "inference: wild_bootstrap or randomization, or a staggered design's uniform band"),
    "rate_per": (lambda a: a.offset is not None, "an offset"),
    "placebo_indicators": (lambda a: a.robustness, "robustness: true"),
    "cluster": (lambda a: a.inference in ("cluster", "wild_bootstrap", "randomization"),
                "cluster-based inference (cluster, wild_bootstrap or randomization)"),
}
SYNTH_CONDITIONAL: dict[str, tuple[Callable[[SynthAnalysis], bool], str]] = {
    "predictors": (lambda a: a.estimator == "abadie", "estimator: abadie"),
    "fit_from": (lambda a: a.estimator == "abadie", "estimator: abadie"),
    "fit_to": (lambda a: a.estimator == "abadie", "estimator: abadie"),
    "reps": (lambda a: a.estimator == "sdid" and len(a.treated_units) == 1,
             "estimator: sdid with one treated unit (the placebo standard error)"),
    "seed": (lambda a: a.estimator == "sdid" and len(a.treated_units) == 1,
             "estimator: sdid with one treated unit (the placebo standard error)"),
    "rate_per": (lambda a: a.offset is not None, "an offset"),
    "placebo_date": (lambda a: a.robustness, "robustness: true"),
}


def effect_scale(a: ItsAnalysis | DidAnalysis | SynthAnalysis) -> str:
    """``log`` or ``difference``: the scale the analysis reports its effect on."""
    if isinstance(a, SynthAnalysis):
        return "difference"
    if isinstance(a, ItsAnalysis):
        return "log" if a.family != "gaussian" or a.transform == "log" else "difference"
    return "log" if a.family == "poisson" else "difference"


def _key(a: object, name: str) -> str:
    fields = type(a).model_fields  # type: ignore[attr-defined]
    alias = fields[name].alias if name in fields else None
    return alias or name


def rule_ignored_options(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """An option set in the file that its design would ignore is an error, not a silent no-op."""
    out: list[Issue] = []
    counts = {i.id for i in spec.indicators if i.kind == "count"}
    for k, a in enumerate(spec.analyses):
        table: dict = (ITS_CONDITIONAL if isinstance(a, ItsAnalysis) else
                       SYNTH_CONDITIONAL if isinstance(a, SynthAnalysis) else DID_CONDITIONAL)
        for name in sorted(a.model_fields_set):
            rule = table.get(name)
            if rule is not None and not rule[0](a):  # type: ignore[operator]
                out.append(pos.issue(("analyses", k, _key(a, name)), f"'{_key(a, name)}' has no effect here: it "
                                     f"applies only with {rule[1]}", "remove it, or change the design so it applies",
                                     key=True))
        if isinstance(a, ItsAnalysis):
            for name in ("reps", "seed", "prevented_interval"):
                if name in a.model_fields_set and a.indicator not in counts:
                    out.append(pos.issue(("analyses", k, name), f"'{name}' has no effect here: prevented events "
                                         "are simulated only for count indicators", "remove it", key=True))
            if "aggregate" in a.model_fields_set and spec.data.unit is None:
                out.append(pos.issue(("analyses", k, "aggregate"), "'aggregate' has no effect: the data are a "
                                     "single series (no data.unit)", "remove it", key=True))
    return out


def rule_design_support(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """Families and inference each design supports."""
    out: list[Issue] = []
    for k, a in enumerate(spec.analyses):
        if not isinstance(a, DidAnalysis):
            continue
        if a.design == "staggered":
            out += _staggered_support(a, k, pos)
        if a.design == "staggered" and a.cluster is not None and a.cluster != spec.data.unit:
            out.append(pos.issue(("analyses", k, "cluster"), "design: staggered clusters its standard errors by unit "
                                 f"('{spec.data.unit}'); cluster: {a.cluster} would be ignored", "remove cluster"))
        if a.design == "staggered" and a.inference != "cluster":
            out.append(pos.issue(("analyses", k, "inference"), f"design: staggered reports influence-function "
                                 f"standard errors clustered by unit; inference: {a.inference} is not available",
                                 "remove inference (cluster is the default)"))
        if a.inference == "randomization" and a.design != "twfe":
            out.append(pos.issue(("analyses", k, "inference"), "inference: randomization needs design: twfe "
                                 "(it re-assigns each unit's treatment path)",
                                 "use design: twfe with a 0/1 treatment column"))
        if a.inference in ("wild_bootstrap", "randomization") and spec.data.unit is None and a.cluster is None:
            out.append(pos.issue(("analyses", k, "inference"), f"inference: {a.inference} needs units or "
                                 "clusters", "set data.unit, or cluster: <column>"))
    return out


def _staggered_support(a: DidAnalysis, k: int, pos: Positioned) -> list[Issue]:
    """What each staggered estimator supports (family poisson: the extended TWFE Poisson)."""
    out: list[Issue] = []
    if a.family == "poisson":
        if a.weights is not None:
            out.append(pos.issue(("analyses", k, "weights"), "design: staggered with family: poisson (the extended "
                                 "two-way fixed-effects Poisson) does not take weights",
                                 "remove weights (the offset already makes the effect one on rates)"))
        if a.control != "never_treated":
            out.append(pos.issue(("analyses", k, "control"), "design: staggered with family: poisson compares "
                                 "with never-treated units only", "remove control"))
        return out
    if a.control == "last_treated" and a.estimator != "sun_abraham":
        out.append(pos.issue(("analyses", k, "control"), "control: last_treated is the Sun & Abraham control "
                             "cohort", "use never_treated or not_yet_treated, or estimator: sun_abraham"))
    if a.estimator == "sun_abraham":
        if a.control == "not_yet_treated":
            out.append(pos.issue(("analyses", k, "control"), "estimator: sun_abraham compares with never-treated "
                                 "units or the last-treated cohort, not with not-yet-treated units",
                                 "use control: never_treated or last_treated"))
        for name in ("weights", "covariates"):
            if getattr(a, name):
                out.append(pos.issue(("analyses", k, name), f"estimator: sun_abraham does not take {name}",
                                     f"remove {name}, or use estimator: callaway_santanna"))
    if a.allow_unbalanced_panel and a.covariates and a.cs_method == "dr":
        out.append(pos.issue(("analyses", k, "allow_unbalanced_panel"), "with an unbalanced panel the "
                             "covariate-adjusted cells are estimated by outcome regression (as R did); the doubly "
                             "robust cells need a balanced panel", "add cs_method: reg, or remove "
                             "allow_unbalanced_panel (incomplete units are then left out)"))
    sens = a.sensitivity_options()
    if sens is not None and sens.min_e >= -1 - a.anticipation:
        out.append(pos.issue(("analyses", k, "sensitivity", "min_e"), f"the sensitivity analysis needs pre-periods "
                             f"before the reference event time {-1 - a.anticipation}",
                             f"set min_e to {-2 - a.anticipation} or earlier"))
    return out


def rule_its_units(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """An ITS on panel data says which units it adds up, and how; comparisons do not overlap."""
    out: list[Issue] = []
    for k, a in enumerate(spec.analyses):
        if not isinstance(a, ItsAnalysis):
            continue
        for j, c in enumerate(a.covariates):
            if c in ("const", "time", "treated", "treated.time") or c.endswith(("level_change", "slope_change")):
                out.append(pos.issue(("analyses", k, "covariates", j), f"covariate name '{c}' clashes with a term "
                                     "of the model", "rename the column"))
        if spec.data.unit is None:
            if a.units is not None:
                out.append(pos.issue(("analyses", k, "units"), "'units' needs panel data (data.unit)",
                                     "set data.unit, or remove units", key=True))
            if a.comparison is not None and a.comparison.units is not None:
                out.append(pos.issue(("analyses", k, "comparison", "units"), "comparison units need panel data with "
                                     "a unit column", "set data.unit, or give a control outcome with "
                                     "comparison: {column: ...}"))
            continue
        if a.units is None:
            out.append(pos.issue(("analyses", k), f"an interrupted time series on panel data needs 'units': "
                                 f"the areas ({spec.data.unit}) whose series it adds up",
                                 "list them (units: [A, B]), or write units: all with aggregate: sum (or mean) "
                                 "to add up every area"))
        elif a.units == "all" and "aggregate" not in a.model_fields_set:
            out.append(pos.issue(("analyses", k, "units"), "units: all adds up every area: say how with "
                                 "aggregate: sum or aggregate: mean", "add aggregate: sum"))
        if a.comparison is not None and a.comparison.units is not None and a.units is not None:
            overlap = set(a.comparison.units) & (set(a.units) if a.units != "all" else set(a.comparison.units))
            if overlap:
                out.append(pos.issue(("analyses", k, "comparison", "units"), "the comparison units overlap the "
                                     f"treated units ({', '.join(sorted(overlap))})",
                                     "list the treated units under 'units:' and different ones under comparison"))
    return out


SEASONAL_PERIODS = {"day": (7.0, 365.25), "week": (52.0, 52.1775, 52.18), "month": (12.0,), "quarter": (4.0,)}


def rule_seasonality_frequency(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """A seasonal cycle that fits the data's frequency (a warning when unusual, an error for yearly data)."""
    out: list[Issue] = []
    freq = spec.data.frequency
    for k, a in enumerate(spec.analyses):
        season = getattr(a, "seasonality", None)
        if season is None or season == "none":
            continue
        if freq == "year":
            out.append(pos.issue(("analyses", k, "seasonality"), "yearly data have no seasons",
                                 "remove seasonality"))
            continue
        usual = SEASONAL_PERIODS[freq]
        if not any(abs(season.period - p) < 0.5 for p in usual):
            out.append(pos.issue(("analyses", k, "seasonality", "period"),
                                 f"a seasonal period of {season.period:g} is unusual for {freq}ly data "
                                 f"(the yearly cycle is {usual[-1]:g} periods)",
                                 "check the period", level="warning"))
    return out


def rule_plausible_effects(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """Analysis evidence on the difference scale needs a plausible effect; every one points the desired way."""
    out: list[Issue] = []
    analyses = {a.id: (i, a) for i, a in enumerate(spec.analyses)}
    desired = {i.id: i.desired for i in spec.indicators}

    def check_sign(loc: Loc, value: float, want: str) -> None:
        if value == 0 or (value < 0) == (want == "decrease"):
            return
        out.append(pos.issue(loc, f"plausible_effect {value:g} points the other way from the desired {want}",
                             f"write it with a {'minus' if want == 'decrease' else 'plus'} sign: the effect the "
                             "initiative could plausibly have"))

    for i, a in analyses.values():
        if a.plausible_effect is not None and a.indicator in desired:
            check_sign(("analyses", i, "plausible_effect"), a.plausible_effect, desired[a.indicator])
    if spec.contribution is None:
        return out
    for k, ev in enumerate(spec.contribution.evidence):
        if ev.from_analysis is None or ev.from_analysis not in analyses:
            continue
        i, a = analyses[ev.from_analysis]
        want = desired.get(a.indicator, "decrease")
        if ev.plausible_effect is not None:
            check_sign(("contribution", "evidence", k, "plausible_effect"), ev.plausible_effect, want)
        elif a.plausible_effect is None and effect_scale(a) == "difference":
            out.append(pos.issue(("contribution", "evidence", k), "evidence from an analysis on the difference "
                                 "scale needs a plausible_effect (in the indicator's units): without it the power, "
                                 "and whether the data rule out the hoped-for effect, cannot be judged",
                                 "add plausible_effect: <effect the initiative could plausibly have> here or on "
                                 "the analysis"))
    return out


def rule_synth(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """A synthetic control needs panel data; the abadie estimator takes one treated unit."""
    out: list[Issue] = []
    for k, a in enumerate(spec.analyses):
        if not isinstance(a, SynthAnalysis):
            continue
        if spec.data.unit is None:
            out.append(pos.issue(("analyses", k, "method"), "a synthetic control needs panel data: the areas "
                                 "(data.unit) it builds the comparison from", "set data.unit to the column naming "
                                 "the areas"))
        if a.estimator == "abadie" and len(a.treated_units) > 1:
            out.append(pos.issue(("analyses", k, "treated"), f"estimator: abadie builds a synthetic comparison for "
                                 f"one treated unit, not {len(a.treated_units)}",
                                 "use estimator: sdid for several treated units, or one analysis per unit"))
        if a.predictors is not None and not a.predictors:
            out.append(pos.issue(("analyses", k, "predictors"), "'predictors' is empty",
                                 "remove it to use the outcome in every pre-period"))
    return out


def rule_economics_primary(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """The costs are set against the analysis the bottom line rests on."""
    eco = spec.economics
    primary = next((a.id for a in spec.analyses if a.primary), None)
    if eco is None or eco.analysis is None or primary is None or eco.analysis == primary:
        return []
    return [pos.issue(("economics", "analysis"), f"the costs are set against '{eco.analysis}' but the bottom line "
                      f"rests on the primary analysis '{primary}', so the report cannot give the cost per prevented "
                      "event of its main answer", "remove economics.analysis (the primary is the default) or make "
                      "that analysis the primary", level="warning")]


def rule_rival_columns(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """A rival explanation's data column is used by an analysis that adjusts for it (else it is a warning)."""
    if spec.contribution is None:
        return []
    used = {c for a in spec.analyses for c in getattr(a, "covariates", ())}
    return [pos.issue(("contribution", "rival_explanations", k, "column"), f"no analysis adjusts for '{r.column}', "
                      "so the rival's own effect is not estimated", "add it to the covariates of an analysis (for "
                      "example a staggered design with family: poisson)", level="warning")
            for k, r in enumerate(spec.contribution.rival_explanations) if r.column is not None and r.column not in used]


DESIGN_RULES = (
    rule_ignored_options,
    rule_design_support,
    rule_its_units,
    rule_seasonality_frequency,
    rule_plausible_effects,
    rule_synth,
    rule_economics_primary,
    rule_rival_columns,
)
