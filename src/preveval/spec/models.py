"""Pydantic v2 models of the evaluation file (the public contract in DESIGN.md).

Every model forbids unknown keys and is frozen. Analyses form a union discriminated by
``method`` (their models are in :mod:`preveval.spec.analyses`, re-exported here). Periods (interventions) are kept as the text the user wrote; they are parsed
against ``data.frequency`` by :mod:`preveval.data.periods` in the cross-checks.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from preveval.spec.analyses import (
    Analysis,
    DidAnalysis,
    Finite,
    ItsAnalysis,
    ItsComparison,
    Seasonality,
    SynthAnalysis,
    SynthPredictor,
)
from preveval.spec.base import Column, FilePath, Ident, Model, Probability, Slug

__all__ = [
    "SCHEMA_VERSIONS",
    "Analysis",
    "Contribution",
    "Cost",
    "DataSource",
    "DidAnalysis",
    "Economics",
    "Element",
    "EvaluationSpec",
    "EvidenceItem",
    "Indicator",
    "Initiative",
    "ItsAnalysis",
    "ItsComparison",
    "LogicModel",
    "Outcomes",
    "Partner",
    "RivalExplanation",
    "Seasonality",
    "SynthAnalysis",
    "SynthPredictor",
    "UnitValue",
]

SCHEMA_VERSIONS = (1,)

#: The largest cost or unit value accepted (a million million): far above any initiative's
#: budget, and small enough that sums and products over the evaluation stay finite.
MAX_AMOUNT = 1e12


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


ElementLike = Annotated[str, Field(min_length=1)] | Element


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
    exposure_label: str | None = Field(
        None, description="What the exposure (offset) of a rate counts, e.g. 'people aged 17-25', so that rates "
        "read 'per 100,000 people aged 17-25' (default: the offset column's name)")


# ------------------------------------------------------------------------------- data


class DataSource(Model):
    """Where the data are and how time and units are named."""

    path: FilePath = Field(description="Relative to the YAML file; .csv, .xlsx or .parquet")
    time: Column
    frequency: Literal["day", "week", "month", "quarter", "year"]
    unit: Column | None = Field(None, description="Column naming the unit; omit for a single series or repeated cross-sections")
    sheet: str | None = Field(None, description="Worksheet name for .xlsx (default: the first)")


# ----------------------------------------------------------------------- contribution


class RivalExplanation(Model):
    """Another explanation for the change in outcomes."""

    id: Ident
    description: str = Field(min_length=1)
    evidence_for: tuple[str, ...] = ()
    evidence_against: tuple[str, ...] = ()
    status: Literal["ruled_out", "partly", "not_ruled_out"] | None = None
    links: tuple[Ident, ...] = ()
    column: Column | None = Field(
        None, description="Data column marking where and when the rival was at work (e.g. 0/1 in the campaign's "
        "quarters); an analysis with it among its covariates reports its own estimated effect in the rival's row")


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
    depends_on: tuple[Ident, ...] = Field(
        (), description="Evidence items this one largely repeats (same source or data): it is shown, not multiplied in")
    plausible_effect: Finite | None = Field(
        None,
        description=(
            "from_analysis only: the effect the initiative could plausibly have, on the analysis "
            "effect's scale (log or difference; default: the analysis' plausible_effect, then a 10% change "
            "on the log scale); it sets the default p_if_true (the power to detect it) and the verdict "
            "'contradicted' when the data rule out an effect that large"
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
    plan: str | None = Field(
        None, min_length=1,
        description=("A plan.json written by 'preveval plan' (or its folder), relative to this file: evidence "
                     "derived from a planned analysis takes p_if_true from the plan's simulated power of the "
                     "declared analysis instead of the normal approximation of the reported interval"))


# -------------------------------------------------------------------------- economics


class Cost(Model):
    """A cost line, per year."""

    item: str = Field(min_length=1)
    partner: str | None = None
    amount: float = Field(ge=0, le=MAX_AMOUNT, description="In the currency of the economics section, at most "
                          "a million million (1e12)")
    per: Literal["year", "total"] = "year"
    in_kind: bool = False


class UnitValue(Model):
    """The value of preventing one event of an indicator."""

    indicator: Ident
    value: float = Field(gt=0, le=MAX_AMOUNT, description="In the currency of the economics section, at most "
                         "a million million (1e12)")
    source: str | None = None


class Economics(Model):
    """Costs and unit values for cost per prevented event and benefit-cost ratio."""

    currency: str = "GBP"
    price_year: int = Field(ge=1900, le=2100)
    costs: tuple[Cost, ...] = ()
    unit_values: tuple[UnitValue, ...] = ()
    analysis: Ident | None = Field(None, description="Analysis whose prevented events are valued (default: the first count analysis)")
    years: float | None = Field(
        None, ge=0.01, le=100,
        description="Length of the evaluated period in years, 0.01 to 100 (default: from the analysis' prevented events)"
    )
    expected_events: float | None = Field(
        None, ge=0.001, le=1e12,
        description="Events expected over the evaluated period without the initiative, 0.001 to 1e12 (for break-even as a %)"
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


# ------------------------------------------------------------------------- disclosure


class Disclosure(Model):
    """Disclosure control of a published pack (``preveval run --publish``): small counts suppressed.

    Off for internal packs; the analysis always uses the full data.
    """

    threshold: int = Field(
        5, ge=2, le=1000,
        description="Counts from 1 to threshold - 1 observed in the data are suppressed in published tables and "
        "figures (zero is shown); 5 follows UK official statistics practice for small counts")
    apply_to: tuple[Ident, ...] | None = Field(
        None, description="Ids of the count indicators to protect (default: every count indicator)")


# -------------------------------------------------------------------------------- root


class EvaluationSpec(Model):
    """A whole evaluation file."""

    schema_version: int = Field(strict=True)
    initiative: Initiative
    logic_model: LogicModel = LogicModel()
    indicators: tuple[Indicator, ...] = Field(min_length=1)
    data: DataSource
    analyses: tuple[Analysis, ...] = Field(min_length=1)
    contribution: Contribution | None = None
    economics: Economics | None = None
    disclosure: Disclosure | None = Field(
        None, description="Disclosure control applied when the pack is published (run --publish)")

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
