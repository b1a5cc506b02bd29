"""Models of the analyses in an evaluation file, one per design family, discriminated by ``method``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from preveval.spec.base import Column, Ident, Model, PeriodText, Seed, period_text, unit_names

__all__ = [
    "Analysis",
    "AnalysisBase",
    "DidAnalysis",
    "DidSensitivity",
    "Finite",
    "ItsAnalysis",
    "ItsComparison",
    "Seasonality",
    "SynthAnalysis",
    "SynthPredictor",
]


class Seasonality(Model):
    """Seasonal adjustment for ITS: Fourier terms or period dummies."""

    type: Literal["fourier", "dummies"]
    period: float = Field(gt=1, description="Length of the seasonal cycle in periods (12 for months)")
    harmonics: int = Field(2, ge=1, le=26, description="Number of sine/cosine pairs (fourier only)")

    @model_validator(mode="after")
    def _check(self) -> Seasonality:
        if self.type == "dummies" and float(self.period) != int(self.period):
            raise ValueError("dummies need a whole-number period")
        if self.type == "fourier" and 2 * self.harmonics > self.period:
            raise ValueError("harmonics must be at most period / 2")
        return self


class ItsComparison(Model):
    """The comparison series of a controlled ITS: other units of the panel, or a control outcome.

    Give exactly one of ``units`` (units of the panel, aggregated like the treated series)
    or ``column`` (a control outcome in the same data, e.g. casualties in an age group the
    initiative does not reach).
    """

    units: tuple[str, ...] | None = None
    column: Column | None = None

    _v_units = field_validator("units", mode="before")(unit_names)

    @model_validator(mode="after")
    def _one(self) -> ItsComparison:
        if (self.units is None) == (self.column is None):
            raise ValueError("give exactly one of 'units' (comparison units) or 'column' (a control outcome)")
        if self.units is not None and not self.units:
            raise ValueError("'units' is empty")
        return self


Finite = Annotated[float, Field(allow_inf_nan=False)]


class AnalysisBase(Model):
    """What every analysis has, whatever its design family."""

    id: Ident = Field(description="Id of the analysis (key in results.json)")
    indicator: Ident = Field(description="Id of the indicator analysed")
    label: str | None = Field(
        None, min_length=1, max_length=200,
        description="A short name for the analysis in the report's sentences (default: its design and indicator)")
    primary: bool = Field(
        False, description="The analysis the report's bottom line rests on (default: the strongest design)")
    plausible_effect: Finite | None = Field(
        None,
        description="The effect the initiative could plausibly have, on the effect's scale (log for count "
        "models: log(0.8) = -0.223 for 20% fewer; difference otherwise, in the indicator's units); it sets "
        "the power reported and the verdict 'contradicted' when the data rule out an effect that large")


    def design_name(self) -> str:
        """The design in words (e.g. 'interrupted time series')."""
        raise NotImplementedError

    def title(self, indicator_label: str) -> str:
        """How the report names this analysis in a sentence: its ``label``, or design and indicator."""
        if self.label:
            return self.label
        lab = indicator_label[:1].lower() + indicator_label[1:] if indicator_label[:2] != indicator_label[:2].upper() else indicator_label
        return f"the {self.design_name()} of {lab}"


class ItsAnalysis(AnalysisBase):
    """Interrupted time series regression (segmented regression)."""

    method: Literal["its"] = Field(description="its: interrupted time series")
    intervention: PeriodText | None = Field(
        None, description="First period in which the initiative is active, e.g. 2016-04")
    interventions: dict[Ident, PeriodText] | None = Field(
        None, description="Several interventions instead of one: a map id: first active period")
    impact: Literal["level", "slope", "level_and_slope"] = Field(
        "level_and_slope", description="Which changes to estimate: an immediate level change, a slope change, or both")
    family: Literal["gaussian", "poisson", "quasipoisson", "negative_binomial"] = Field(
        "quasipoisson", description="Model family; count families use a log link and give rate ratios")
    offset: Column | None = Field(
        None, description="Exposure column (e.g. population): log offset for counts, rate for gaussian")
    seasonality: Seasonality | Literal["none"] | None = Field(
        None, description="fourier or dummies seasonality; none (the default) for no seasonal terms")
    covariates: tuple[Column, ...] = Field((), description="Extra numeric columns adjusted for")
    units: tuple[str, ...] | Literal["all"] | None = Field(
        None,
        description="For panel data (required there): which units to add up into the series, or 'all' "
        "with aggregate: stated (adding up areas that did and did not run the initiative dilutes the effect)",
    )
    aggregate: Literal["sum", "mean"] = Field("sum", description="How the units' values are combined per period")
    # --- added for ITS phase 2 (methods/its*.py); defaults match R glm / statsmodels
    transform: Literal["none", "log"] = Field(
        "none", description="gaussian only: model log(outcome) (or log rate); effects become ratios"
    )
    errors: Literal["ols", "hac", "ar"] = Field(
        "ols", description="ols: model-based SEs; hac: Newey-West; ar: AR(p) errors (gaussian only)"
    )
    hac_lag: int | None = Field(None, ge=0, le=520, description="Newey-West lag (overrides hac_bandwidth)")
    hac_prewhite: bool = Field(True, description="VAR(1) prewhitening of the scores before Newey-West (R sandwich::NeweyWest default)")
    hac_bandwidth: Literal["llsw", "newey_west_1994"] = Field(
        "llsw",
        description="Newey-West lag rule: llsw (S = 1.3 sqrt(n), lag S - 1; Lazarus et al. 2018) or newey_west_1994 (floor(4(n/100)^(2/9)))",
    )
    hac_critical: Literal["fixed_b", "kiefer_vogelsang", "standard"] = Field(
        "fixed_b",
        description="Critical values under errors: hac: fixed_b (simulated for the design), kiefer_vogelsang (2005 polynomial) or standard (t / normal)",
    )
    ar_order: int = Field(1, ge=1, le=12, description="Order p of the AR(p) errors when errors: ar")
    phase_in: int = Field(0, ge=0, le=520, description="Periods from the intervention left out of the fit")
    lag: int = Field(0, ge=0, le=520, description="Periods after the intervention before the effect starts")
    comparison: ItsComparison | None = Field(None, description="Controlled ITS: the comparison series")
    estimator: Literal["segmented", "structural"] = Field(
        "segmented", description="segmented regression, or a structural time-series model (UnobservedComponents)"
    )
    structural_trend: Literal["local_level", "local_level_drift", "local_linear_trend"] = Field(
        "local_level_drift",
        description="estimator: structural: random-walk level (+ fixed drift, or + random slope) with an irregular term",
    )
    rate_per: float = Field(100_000.0, gt=0, description="Rates are shown per this many of the offset/exposure")
    sensitivity: bool = Field(True, description="Re-fit under alternative specifications and placebo dates")
    reps: int = Field(5000, ge=100, le=1_000_000, description="Simulation draws for prevented events")
    seed: Seed = 20240101
    prevented_interval: Literal["prediction", "mean"] = Field(
        "prediction",
        description="prediction: the interval includes the counts' own noise; mean: coefficient uncertainty only",
    )

    _v_int = field_validator("intervention", mode="before")(period_text)

    @field_validator("interventions", mode="before")
    @classmethod
    def _v_ints(cls, v: object) -> object:
        if isinstance(v, dict):
            return {k: period_text(x) for k, x in v.items()}
        return v

    @field_validator("units", mode="before")
    @classmethod
    def _v_units(cls, v: object) -> object:
        return v if v == "all" else unit_names(v)

    @model_validator(mode="after")
    def _one_kind(self) -> ItsAnalysis:
        if (self.intervention is None) == (self.interventions is None):
            raise ValueError("give exactly one of 'intervention' (a period) or 'interventions' (a map id: period)")
        if self.interventions is not None and not self.interventions:
            raise ValueError("'interventions' is empty")
        if self.transform == "log" and self.family != "gaussian":
            raise ValueError("transform: log is for family: gaussian (count families already use a log link)")
        if self.errors == "ar" and self.family != "gaussian":
            raise ValueError("errors: ar needs family: gaussian; use errors: hac for count families")
        if self.comparison is not None and self.estimator == "structural":
            raise ValueError("a comparison series needs estimator: segmented")
        return self

    def design_name(self) -> str:
        """The design in words."""
        if self.comparison is not None:
            return "controlled interrupted time series"
        return "interrupted time series" + (" (structural model)" if self.estimator == "structural" else "")

    def structural_alternative(self) -> bool:
        """Whether the sensitivity table (when on) re-fits this analysis as a structural
        time-series model: a segmented regression of a single series."""
        return self.estimator == "segmented" and self.comparison is None

    def intervention_map(self) -> dict[str, str]:
        """Interventions as an ordered ``{id: period}`` map (``""`` for a single one)."""
        if self.interventions is not None:
            return dict(self.interventions)
        assert self.intervention is not None
        return {"": self.intervention}


class DidSensitivity(Model):
    """Sensitivity of a staggered design to violations of parallel trends (Rambachan & Roth 2023).

    Robust intervals for the average of the dynamic effects at event times 0..``max_e``,
    from the Callaway & Sant'Anna event study with the universal base period over
    ``min_e``..``max_e``.
    """

    relative_magnitude: tuple[Annotated[float, Field(ge=0, le=100)], ...] = Field(
        (0.0, 0.5, 1.0, 1.5, 2.0), min_length=1,
        description="Mbar values: post-period violations at most Mbar times the largest pre-period one")
    smoothness: tuple[Annotated[float, Field(ge=0)], ...] | None = Field(
        None, description="M values (outcome units per period, per period): how much the slope of the trend may "
        "change each period (default: 0 to the standard error of the target in 6 steps)")
    min_e: int = Field(-4, ge=-24, le=-2, description="First event time of the event study used (needs at least "
                       "one pre-period before the reference period -1)")
    max_e: int = Field(4, ge=0, le=24, description="Last event time of the event study used (the target averages "
                       "the effects at event times 0..max_e; each one more adds to the computing time)")


class DidAnalysis(AnalysisBase):
    """Difference-in-differences: two-by-two, TWFE, event study or staggered."""

    method: Literal["did"] = Field(description="did: difference-in-differences")
    design: Literal["two_by_two", "twfe", "event_study", "staggered"] = Field(
        "twfe", description="two_by_two (group x post), twfe (unit and period fixed effects), event_study, "
        "or staggered (Callaway & Sant'Anna)")
    treatment: Column | None = Field(None, description="twfe: 0/1 (or dose) column, treated in this unit and period")
    group: Column | None = Field(None, description="two_by_two: 0/1 column, 1 for the treated group")
    post: Column | None = Field(None, description="two_by_two: 0/1 column, 1 after the start")
    first_treated: Column | None = Field(
        None, description="event_study, staggered: column with the first treated period; empty = never treated")
    weights: Column | None = Field(None, description="Regression weights (e.g. population)")
    offset: Column | None = Field(
        None,
        description="Exposure (e.g. population): log offset for poisson; for gaussian the outcome "
        "becomes a rate per rate_per of the exposure",
    )
    rate_per: float = Field(100_000.0, gt=0, description="With an offset, rates are per this many of the exposure "
                            "(gaussian: the outcome modelled; poisson: the rates shown)")
    cluster: Column | None = Field(None, description="Cluster column for standard errors (default: the unit column)")
    inference: Literal["classical", "robust", "cluster", "wild_bootstrap", "randomization"] = Field(
        "cluster", description="Standard errors: classical, robust (HC1), cluster (CR1, as Stata/fixest), "
        "wild_bootstrap (wild cluster restricted bootstrap, for few clusters) or randomization (the treatment "
        "re-assigned to other units, for few treated units; design: twfe)")
    family: Literal["gaussian", "poisson"] = Field(
        "gaussian", description="gaussian (linear) or poisson (PPML, for counts; effect as a rate ratio)")
    covariates: tuple[Column, ...] = Field((), description="Extra numeric columns adjusted for")
    fixed_effects: tuple[Column, ...] = Field((), description="Extra fixed effects beyond unit and time")
    control: Literal["never_treated", "not_yet_treated", "last_treated"] = Field(
        "never_treated", description="staggered: comparison units (as R did::att_gt control_group; last_treated: "
        "the last-treated cohort before it starts, estimator sun_abraham only)")
    estimator: Literal["callaway_santanna", "sun_abraham"] = Field(
        "callaway_santanna", description="staggered, family gaussian: the headline estimator, Callaway & Sant'Anna "
        "(2021) or the Sun & Abraham (2021) interaction-weighted event study (family poisson: Wooldridge's 2023 "
        "extended two-way fixed-effects Poisson)")
    anticipation: int = Field(0, ge=0, le=24, description="staggered: periods before the first treated period in "
                              "which units may already react (as R did::att_gt anticipation)")
    base_period: Literal["varying", "universal"] = Field(
        "varying", description="staggered: pre-period cells compare each period with the one before (varying, R "
        "did's default) or every cell with the period before treatment (universal)")
    allow_unbalanced_panel: bool = Field(
        False, description="staggered: keep units missing some periods (cells as repeated cross-sections) instead "
        "of dropping them")
    aggregations: tuple[Literal["dynamic", "group", "calendar"], ...] = Field(
        ("dynamic", "group", "calendar"), description="staggered: aggregations of ATT(g,t) reported besides the "
        "headline (as R did::aggte): by event time, by cohort and by calendar period")
    min_e: int | None = Field(None, ge=-120, le=120, description="staggered: first event time of the dynamic "
                              "aggregation (default: all)")
    max_e: int | None = Field(None, ge=0, le=120, description="staggered: last event time of the dynamic "
                              "aggregation (default: all; 0 or later, so that it has a post-period effect)")
    balance_e: int | None = Field(None, ge=0, le=120, description="staggered: keep in the dynamic aggregation only "
                                  "cohorts observed for event times 0..balance_e")
    band: Literal["uniform", "pointwise"] = Field(
        "uniform", description="staggered: simultaneous (uniform) 95% band of the dynamic effects by a seeded "
        "multiplier bootstrap clustered by unit (reps, seed), or pointwise analytic intervals")
    sensitivity: bool | DidSensitivity = Field(
        True, description="staggered: Rambachan & Roth (2023) robust intervals and breakdown value (true: the "
        "default grids; or a mapping of grids; false: off)")
    comparisons: bool = Field(
        True, description="staggered: two-way fixed effects, Callaway & Sant'Anna and Sun & Abraham side by side, "
        "and the Goodman-Bacon decomposition of the two-way fixed-effects estimate")
    cs_method: Literal["dr", "reg"] = Field(
        "dr",
        description=(
            "staggered with covariates: doubly robust (dr, Sant'Anna & Zhao 2020) or outcome "
            "regression (reg) for each group-time cell (as R did::att_gt est_method)"
        ),
    )
    leads: int = Field(4, ge=1, le=60, description="Event study: periods before treatment shown")
    lags: int = Field(6, ge=0, le=120, description="Event study: periods after treatment shown")
    bin_endpoints: bool = Field(True, description="Event study: pool periods beyond the leads/lags window into the end bins")
    event_bin: int = Field(
        1, ge=1, le=366,
        description="Event study: width of the event-time bins in periods (e.g. 12 for years with monthly data); "
        "leads and lags count bins, and bin -1 is the reference",
    )
    reps: int = Field(9999, ge=99, le=1_000_000,
                      description="Wild bootstrap replications, random re-assignments for randomization inference, "
                      "or multiplier-bootstrap draws of a staggered design's uniform band")
    weights_type: Literal["rademacher", "webb", "auto"] = Field("auto", alias="bootstrap_weights")
    seed: Seed = 20240101
    placebo_indicators: tuple[Ident, ...] = Field(
        (), description="Indicators the initiative should not change, re-fitted as placebo outcomes"
    )
    robustness: bool = Field(
        True, description="Placebo dates in the pre-period, placebo outcomes, leave-one-unit-out and trends"
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def design_name(self) -> str:
        """The design in words."""
        return {
            "two_by_two": "difference-in-differences",
            "twfe": "difference-in-differences",
            "event_study": "event study",
            "staggered": "staggered difference-in-differences",
        }[self.design]

    @model_validator(mode="after")
    def _columns_for_design(self) -> DidAnalysis:
        need = {
            "two_by_two": ("group", "post"),
            "twfe": ("treatment",),
            "event_study": ("first_treated",),
            "staggered": ("first_treated",),
        }[self.design]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise ValueError(f"design {self.design} needs {', '.join(missing)}")
        if self.min_e is not None and self.max_e is not None and self.min_e > self.max_e:
            raise ValueError(f"min_e ({self.min_e}) is after max_e ({self.max_e})")
        return self

    def sensitivity_options(self) -> DidSensitivity | None:
        """The sensitivity grids of a staggered design (None when ``sensitivity: false``)."""
        if self.sensitivity is False:
            return None
        return DidSensitivity() if self.sensitivity is True else self.sensitivity


class SynthPredictor(Model):
    """A predictor of a synthetic control: the mean of a column over a window, blanks skipped."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    column: Column
    from_: PeriodText = Field(alias="from", description="First period of the window")
    to: PeriodText = Field(description="Last period of the window")

    _v_from = field_validator("from_", "to", mode="before")(period_text)


class SynthAnalysis(AnalysisBase):
    """Synthetic control: the treated unit against a weighted mix of the units that did not run it."""

    method: Literal["synthetic_control"] = Field(description="synthetic_control: one treated unit, weighted donors")
    treated: str | tuple[str, ...] = Field(
        description="The unit (data.unit) that ran the initiative; sdid also takes a list of units")
    intervention: PeriodText = Field(description="First period in which the initiative is active")
    estimator: Literal["abadie", "sdid"] = Field(
        "abadie", description="abadie (Abadie, Diamond & Hainmueller 2010) or sdid (synthetic difference-in-differences, "
        "Arkhangelsky et al. 2021)")
    donors: tuple[str, ...] | None = Field(None, description="Units the synthetic comparison may use (default: all others)")
    predictors: tuple[SynthPredictor, ...] | None = Field(
        None, description="abadie: predictors as means of a column over a window (default: the outcome in every "
        "pre-period)")
    fit_from: PeriodText | None = Field(None, description="abadie: first pre-period whose outcome the weights fit")
    fit_to: PeriodText | None = Field(None, description="abadie: last pre-period whose outcome the weights fit")
    offset: Column | None = Field(
        None, description="Exposure (e.g. households): the outcome becomes a rate per rate_per of it, and prevented "
        "events are counted back from the rates")
    rate_per: float = Field(100_000.0, gt=0, description="With an offset, rates are per this many of the exposure")
    placebo_date: PeriodText | None = Field(
        None, description="The fake intervention of the placebo-in-time check (default: halfway through the "
        "pre-period)")
    robustness: bool = Field(True, description="Placebo in time and leave-one-donor-out re-fits")
    reps: int = Field(200, ge=50, le=10_000, description="sdid: placebo replications for the standard error")
    seed: Seed = Field(12345, description="sdid: seed of the placebo replications")

    _v_int = field_validator("intervention", "fit_from", "fit_to", "placebo_date", mode="before")(period_text)

    @field_validator("treated", mode="before")
    @classmethod
    def _v_treated(cls, v: object) -> object:
        if isinstance(v, list | tuple):
            return unit_names(v)
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    _v_donors = field_validator("donors", mode="before")(unit_names)

    @model_validator(mode="after")
    def _check(self) -> SynthAnalysis:
        treated = self.treated_units
        if not treated or any(not u for u in treated):
            raise ValueError("'treated' needs the name of the unit that ran the initiative")
        if len(set(treated)) < len(treated):
            raise ValueError("a unit is listed twice in 'treated'")
        if self.donors is not None:
            both = [u for u in treated if u in self.donors]
            if both:
                raise ValueError(f"the treated unit '{both[0]}' cannot also be a donor")
            if not self.donors:
                raise ValueError("'donors' is empty")
            if len(set(self.donors)) < len(self.donors):
                raise ValueError("a unit is listed twice in 'donors'")
        return self

    @property
    def treated_units(self) -> tuple[str, ...]:
        """The treated unit(s) as a tuple."""
        return (self.treated,) if isinstance(self.treated, str) else tuple(self.treated)

    def design_name(self) -> str:
        """The design in words."""
        return "synthetic control" if self.estimator == "abadie" else "synthetic difference-in-differences"


Analysis = Annotated[ItsAnalysis | DidAnalysis | SynthAnalysis, Field(discriminator="method")]
