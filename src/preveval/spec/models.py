"""Pydantic v2 models of the evaluation file (the public contract in DESIGN.md).

Every model forbids unknown keys and is frozen. Analyses form a union discriminated by
``method``. Periods (interventions) are kept as the text the user wrote; they are parsed
against ``data.frequency`` by :mod:`preveval.data.periods` in the cross-checks.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSIONS = (1,)

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=80)]
Ident = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$", min_length=1, max_length=80)]
Column = Annotated[str, Field(min_length=1, max_length=200)]
PeriodText = Annotated[str, Field(min_length=1, max_length=40)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Model(BaseModel):
    """Base: unknown keys rejected, instances frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _unit_names(v: object) -> object:
    # Unit names may be written as numbers (council codes); they are kept as text. A single
    # name may stand for a list of one.
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        v = (v,)
    if isinstance(v, (list, tuple)):
        return tuple(str(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x for x in v)
    return v


def _period_text(v: object) -> object:
    # YAML gives 2005 as an int; periods are kept as text.
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


# --------------------------------------------------------------------------- initiative


class Partner(Model):
    """A partner organisation and its role in the initiative."""

    name: str = Field(min_length=1)
    role: Literal["lead", "delivery", "support", "funder", "data", "evaluation"] = "delivery"
    contribution: str | None = Field(None, description="What the partner brings (staff, money, venue...)")


class Initiative(Model):
    """Who runs what, for whom."""

    id: Slug
    name: str = Field(min_length=1)
    prevention_level: Literal["primary", "secondary", "tertiary"] = "primary"
    target_group: str | None = None
    description: str | None = None
    area: str | None = Field(None, description="Where the initiative runs")
    start: str | None = Field(None, description="When the initiative started, in words or as a period")
    partners: tuple[Partner, ...] = ()


# ------------------------------------------------------------------------ logic model


class Element(Model):
    """A logic-model element with an id, so evidence can point at it."""

    id: Ident
    text: str = Field(min_length=1)
    partners: tuple[str, ...] = ()


ElementLike = str | Element


class Outcomes(Model):
    """Outcomes over the short, medium and long term."""

    short: tuple[ElementLike, ...] = ()
    medium: tuple[ElementLike, ...] = ()
    long: tuple[ElementLike, ...] = ()


class LogicModel(Model):
    """The theory of change: inputs -> activities -> outputs -> outcomes -> impact.

    Elements are plain text or ``{id, text}``; plain text gets the id
    ``<stage>-<n>`` (e.g. ``activities-2``, ``outcomes.short-1``).
    """

    inputs: tuple[ElementLike, ...] = ()
    activities: tuple[ElementLike, ...] = ()
    outputs: tuple[ElementLike, ...] = ()
    outcomes: Outcomes = Outcomes()
    impact: ElementLike | None = None
    assumptions: tuple[ElementLike, ...] = ()
    risks: tuple[ElementLike, ...] = ()

    def elements(self) -> list[tuple[str, Element]]:
        """Every element as ``(stage, Element)`` with ids filled in."""
        out: list[tuple[str, Element]] = []

        def add(stage: str, items: tuple[ElementLike, ...]) -> None:
            for i, item in enumerate(items, start=1):
                el = item if isinstance(item, Element) else Element(id=f"{stage}-{i}", text=item)
                out.append((stage, el))

        add("inputs", self.inputs)
        add("activities", self.activities)
        add("outputs", self.outputs)
        add("outcomes.short", self.outcomes.short)
        add("outcomes.medium", self.outcomes.medium)
        add("outcomes.long", self.outcomes.long)
        if self.impact is not None:
            add("impact", (self.impact,))
        add("assumptions", self.assumptions)
        add("risks", self.risks)
        return out


# ------------------------------------------------------------------------- indicators


class Indicator(Model):
    """An outcome measure and the data column that holds it."""

    id: Ident
    label: str = Field(min_length=1)
    column: Column
    kind: Literal["count", "rate", "proportion", "continuous"] = "count"
    desired: Literal["decrease", "increase"] = "decrease"
    outcome: Ident | None = Field(None, description="Id of the logic-model outcome it measures")
    unit_label: str | None = Field(None, description="What one unit of the indicator is, e.g. 'casualties'")


# ------------------------------------------------------------------------------- data


class DataSource(Model):
    """Where the data are and how time and units are named."""

    path: str = Field(min_length=1, description="Relative to the YAML file; .csv, .xlsx or .parquet")
    time: Column
    frequency: Literal["day", "week", "month", "quarter", "year"]
    unit: Column | None = Field(None, description="Column naming the unit; omit for a single series or repeated cross-sections")
    sheet: str | None = Field(None, description="Worksheet name for .xlsx (default: the first)")


# --------------------------------------------------------------------------- analyses


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

    _v_units = field_validator("units", mode="before")(_unit_names)

    @model_validator(mode="after")
    def _one(self) -> ItsComparison:
        if (self.units is None) == (self.column is None):
            raise ValueError("give exactly one of 'units' (comparison units) or 'column' (a control outcome)")
        if self.units is not None and not self.units:
            raise ValueError("'units' is empty")
        return self


class ItsAnalysis(Model):
    """Interrupted time series regression (segmented regression)."""

    id: Ident = Field(description="Id of the analysis (key in results.json)")
    method: Literal["its"] = Field(description="its: interrupted time series")
    indicator: Ident = Field(description="Id of the indicator analysed")
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
    units: tuple[str, ...] | None = Field(
        None, description="For panel data: which units to sum into the series (default: all)"
    )
    aggregate: Literal["sum", "mean"] = "sum"
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
    seed: int = 20240101
    prevented_interval: Literal["prediction", "mean"] = Field(
        "prediction",
        description="prediction: the interval includes the counts' own noise; mean: coefficient uncertainty only",
    )

    _v_int = field_validator("intervention", mode="before")(_period_text)

    @field_validator("interventions", mode="before")
    @classmethod
    def _v_ints(cls, v: object) -> object:
        if isinstance(v, dict):
            return {k: _period_text(x) for k, x in v.items()}
        return v

    _v_units = field_validator("units", mode="before")(_unit_names)

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

    def intervention_map(self) -> dict[str, str]:
        """Interventions as an ordered ``{id: period}`` map (``""`` for a single one)."""
        if self.interventions is not None:
            return dict(self.interventions)
        assert self.intervention is not None
        return {"": self.intervention}


class DidAnalysis(Model):
    """Difference-in-differences: two-by-two, TWFE, event study or staggered."""

    id: Ident = Field(description="Id of the analysis (key in results.json)")
    method: Literal["did"] = Field(description="did: difference-in-differences")
    indicator: Ident = Field(description="Id of the indicator analysed")
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
    rate_per: float = Field(100_000.0, gt=0, description="Gaussian with an offset: rate per this many")
    cluster: Column | None = Field(None, description="Cluster column for standard errors (default: the unit column)")
    inference: Literal["classical", "robust", "cluster", "wild_bootstrap"] = Field(
        "cluster", description="Standard errors: classical, robust (HC1), cluster (CR1, as Stata/fixest) or "
        "wild_bootstrap (wild cluster restricted bootstrap, for few clusters)")
    family: Literal["gaussian", "poisson"] = Field(
        "gaussian", description="gaussian (linear) or poisson (PPML, for counts; effect as a rate ratio)")
    covariates: tuple[Column, ...] = Field((), description="Extra numeric columns adjusted for")
    fixed_effects: tuple[Column, ...] = Field((), description="Extra fixed effects beyond unit and time")
    control: Literal["never_treated", "not_yet_treated"] = Field(
        "never_treated", description="staggered: comparison units (as R did::att_gt control_group)")
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
    reps: int = Field(9999, ge=99, le=1_000_000, description="Wild bootstrap replications")
    weights_type: Literal["rademacher", "webb", "auto"] = Field("auto", alias="bootstrap_weights")
    seed: int = 20240101
    placebo_indicators: tuple[Ident, ...] = Field(
        (), description="Indicators the initiative should not change, re-fitted as placebo outcomes"
    )
    robustness: bool = Field(
        True, description="Placebo dates in the pre-period, placebo outcomes, leave-one-unit-out and trends"
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

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
        return self


Analysis = Annotated[ItsAnalysis | DidAnalysis, Field(discriminator="method")]


# ----------------------------------------------------------------------- contribution


class RivalExplanation(Model):
    """Another explanation for the change in outcomes."""

    id: Ident
    description: str = Field(min_length=1)
    evidence_for: tuple[str, ...] = ()
    evidence_against: tuple[str, ...] = ()
    status: Literal["ruled_out", "partly", "not_ruled_out"] | None = None
    links: tuple[Ident, ...] = ()


class EvidenceItem(Model):
    """An item of evidence for contribution tracing (Befani & Stedman-Bryce 2017)."""

    id: Ident
    description: str | None = None
    from_analysis: Ident | None = None
    observed: bool | None = None
    p_if_true: Probability | None = None
    p_if_false: Probability | None = None
    links: tuple[Ident, ...] = ()
    rival: Ident | None = Field(None, description="Rival explanation this item speaks to")
    plausible_effect: float | None = Field(
        None,
        description=(
            "from_analysis only: the effect the initiative could plausibly have, on the analysis "
            "effect's scale (log or difference); its size sets the default p_if_true as the power "
            "to detect it"
        ),
    )

    @model_validator(mode="after")
    def _source(self) -> EvidenceItem:
        if self.from_analysis is None:
            if self.observed is None:
                raise ValueError("give 'observed' (true/false) or 'from_analysis'")
            if self.p_if_true is None or self.p_if_false is None:
                raise ValueError("give 'p_if_true' and 'p_if_false' (or use 'from_analysis')")
        return self


class Contribution(Model):
    """Contribution analysis: the claim, rival explanations and the evidence."""

    claim: str = Field(min_length=1)
    question: str | None = None
    prior: Probability = 0.5
    rival_explanations: tuple[RivalExplanation, ...] = ()
    evidence: tuple[EvidenceItem, ...] = ()
    further_evidence: tuple[str, ...] = ()


# -------------------------------------------------------------------------- economics


class Cost(Model):
    """A cost line, per year."""

    item: str = Field(min_length=1)
    partner: str | None = None
    amount: float = Field(ge=0)
    per: Literal["year", "total"] = "year"
    in_kind: bool = False


class UnitValue(Model):
    """The value of preventing one event of an indicator."""

    indicator: Ident
    value: float = Field(gt=0)
    source: str | None = None


class Economics(Model):
    """Costs and unit values for cost per prevented event and benefit-cost ratio."""

    currency: str = "GBP"
    price_year: int = Field(ge=1900, le=2100)
    costs: tuple[Cost, ...] = ()
    unit_values: tuple[UnitValue, ...] = ()
    analysis: Ident | None = Field(None, description="Analysis whose prevented events are valued (default: the first count analysis)")
    years: float | None = Field(
        None, gt=0, description="Length of the evaluated period in years (default: from the analysis' prevented events)"
    )
    expected_events: float | None = Field(
        None, gt=0, description="Events expected over the evaluated period without the initiative (for break-even as a %)"
    )
    discount_rate: float = Field(
        0.035,
        description=(
            "Yearly discount rate for costs and benefits after the first year (default 0.035, the "
            "HM Treasury Green Book rate; 0 for undiscounted sums)"
        ),
    )

    @field_validator("discount_rate")
    @classmethod
    def _rate_is_fraction(cls, v: float) -> float:
        if not 0.0 <= v < 1.0:
            raise ValueError(
                f"a discount rate is a fraction a year between 0 and 1, got {v:g} "
                "(write 0.035 for 3.5%)"
            )
        return v


# -------------------------------------------------------------------------------- root


class EvaluationSpec(Model):
    """A whole evaluation file."""

    schema_version: int
    initiative: Initiative
    logic_model: LogicModel = LogicModel()
    indicators: tuple[Indicator, ...] = Field(min_length=1)
    data: DataSource
    analyses: tuple[Analysis, ...] = Field(min_length=1)
    contribution: Contribution | None = None
    economics: Economics | None = None

    @field_validator("schema_version")
    @classmethod
    def _supported(cls, v: int) -> int:
        if v not in SCHEMA_VERSIONS:
            raise ValueError(
                f"schema_version {v} is not supported; this preveval reads {', '.join(map(str, SCHEMA_VERSIONS))}"
            )
        return v

    def indicator(self, id_: str) -> Indicator:
        """The indicator with this id."""
        for ind in self.indicators:
            if ind.id == id_:
                return ind
        raise KeyError(id_)
