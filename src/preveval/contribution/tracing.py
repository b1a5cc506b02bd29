"""Contribution tracing: evidence types and Bayesian updating of confidence in a claim.

Follows Befani, B. and Stedman-Bryce, G. (2017) "Process tracing and Bayesian updating
for impact evaluation", *Evaluation* 23(1): 42-60. Each item of evidence has

* a **sensitivity** :math:`S = P(E \\mid H)`, the probability of observing it if the
  contribution claim :math:`H` is true (``p_if_true``), and
* a **type I error** :math:`\\alpha = P(E \\mid \\neg H)`, the probability of observing it
  if the claim is false (``p_if_false``).

Confidence in the claim is updated with Bayes' rule, item by item:

.. math::

    P(H \\mid E) = \\frac{P(H)\\,L_T}{P(H)\\,L_T + (1 - P(H))\\,L_F}

where :math:`(L_T, L_F) = (S, \\alpha)` when the item was observed and
:math:`(1 - S, 1 - \\alpha)` when it was looked for and not found. An item derived from an
analysis has three possible results (supported, contradicted, inconclusive;
:mod:`preveval.contribution.verdict`) and carries the likelihoods of the one reached.

Updating one item after another equals a single update with the product of the items'
likelihood ratios only
under **conditional independence**: given whether the claim is true or false, observing
one item does not change the probability of observing another. This module assumes it for
the items it multiplies; items that repeat another (same indicator, or ``depends_on``) are
marked not ``counted`` by :mod:`preveval.contribution.assess` and listed without being
multiplied in.

Evidence types (Van Evera 1997, as used by Befani & Stedman-Bryce 2017) are read off the
two probabilities with :class:`TypeThresholds`; the posterior is put into words with
:data:`CONFIDENCE_SCALE`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

EvidenceType = Literal["hoop", "smoking_gun", "doubly_decisive", "straw_in_the_wind"]

EVIDENCE_TYPE_NAMES: dict[str, str] = {
    "hoop": "hoop test",
    "smoking_gun": "smoking gun",
    "doubly_decisive": "doubly decisive",
    "straw_in_the_wind": "straw in the wind",
}

#: Priors used for the sensitivity of the final posterior to the prior.
SENSITIVITY_PRIORS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class TypeThresholds:
    """Where "high" sensitivity and "low" type I error begin.

    An item has high sensitivity when ``p_if_true >= high_sensitivity`` and a low type I
    error when ``p_if_false <= low_type_i_error``. The defaults (0.8 and 0.2) make a
    doubly decisive item shift the odds by a factor of at least 0.8 / 0.2 = 4 when found
    and at most 0.2 / 0.8 = 1/4 when missing; a straw in the wind always shifts them by
    less (strictly between 1/4 and 4 in the direction of its own sign).
    """

    high_sensitivity: float = 0.8
    low_type_i_error: float = 0.2


DEFAULT_THRESHOLDS = TypeThresholds()


def classify_evidence(
    p_if_true: float, p_if_false: float, thresholds: TypeThresholds = DEFAULT_THRESHOLDS
) -> EvidenceType:
    """The Van Evera type of an evidence item from its sensitivity and type I error.

    ===================  ==================  ===================
    type                 sensitivity         type I error
    ===================  ==================  ===================
    doubly decisive      high                low
    hoop                 high                not low
    smoking gun          not high            low
    straw in the wind    not high            not low
    ===================  ==================  ===================

    A hoop test is one the claim must pass (missing it is damaging, finding it says
    little); a smoking gun is rarely seen unless the claim is true (finding it is strong
    support, missing it says little).
    """
    high = p_if_true >= thresholds.high_sensitivity
    low = p_if_false <= thresholds.low_type_i_error
    if high and low:
        return "doubly_decisive"
    if high:
        return "hoop"
    if low:
        return "smoking_gun"
    return "straw_in_the_wind"


# ------------------------------------------------------------------------ confidence words

#: Confidence scale: ``(lower bound inclusive, label)``, checked from the top. Adapted from
#: the IPCC calibrated likelihood language (Mastrandrea et al. 2010, "Guidance note for lead
#: authors of the IPCC Fifth Assessment Report on consistent treatment of uncertainties",
#: Table 1), whose ranges overlap; each posterior here gets the narrowest term containing
#: it, so the bands do not overlap. Befani & Stedman-Bryce (2017) also use a verbal
#: rubric; this scale is preveval's choice, not theirs.
CONFIDENCE_SCALE: tuple[tuple[float, str], ...] = (
    (0.99, "virtually certain"),
    (0.95, "extremely likely"),
    (0.90, "very likely"),
    (0.66, "likely"),
    (0.33, "about as likely as not"),
    (0.10, "unlikely"),
    (0.05, "very unlikely"),
    (0.01, "extremely unlikely"),
    (0.0, "exceptionally unlikely"),
)


def confidence_label(probability: float) -> str:
    """Words for a probability on :data:`CONFIDENCE_SCALE`.

    Bands: >= 0.99 virtually certain; [0.95, 0.99) extremely likely; [0.90, 0.95) very
    likely; [0.66, 0.90) likely; [0.33, 0.66) about as likely as not; [0.10, 0.33)
    unlikely; [0.05, 0.10) very unlikely; [0.01, 0.05) extremely unlikely; < 0.01
    exceptionally unlikely.
    """
    if not 0.0 <= probability <= 1.0 or math.isnan(probability):
        raise ValueError(f"a probability must lie in [0, 1], got {probability}")
    for lower, label in CONFIDENCE_SCALE:
        if probability >= lower:
            return label
    return CONFIDENCE_SCALE[-1][1]  # pragma: no cover - 0.0 always matches


def format_probability(p: float) -> str:
    """Two decimals, or three near 0 and 1 so 0.996 is not shown as 1.00."""
    if 0.005 <= p < 0.995:
        return f"{p:.2f}"
    if p > 0.9995 and p < 1.0:
        return "> 0.999"
    if 0.0 < p < 0.0005:
        return "< 0.001"
    return f"{p:.3f}"


# ------------------------------------------------------------------------------ updating


@dataclass(frozen=True)
class TracedItem:
    """One evidence item ready for updating (user values and derived values resolved).

    ``observed`` is ``None`` when it could not be determined (e.g. its analysis failed);
    such an item is listed but does not change the posterior. An item derived from an
    analysis carries its ``outcome`` (supported, contradicted, inconclusive) and the
    ``likelihoods`` of that outcome, P(outcome | claim) and P(outcome | not claim), which then
    replace the found / not found pair. An item that is not ``counted`` repeats evidence
    already counted (``counted_with``): it is listed but not multiplied in.
    """

    id: str
    observed: bool | None
    p_if_true: float
    p_if_false: float
    description: str = ""
    links: tuple[str, ...] = ()
    rival: str | None = None
    from_analysis: str | None = None
    note: str = ""
    outcome: str | None = None
    likelihoods: tuple[float, float] | None = None
    counted: bool = True
    counted_with: str | None = None

    @property
    def result(self) -> str | None:
        """What was seen: the analysis verdict, or found / not found (None when unknown)."""
        if self.observed is None:
            return None
        return self.outcome or ("found" if self.observed else "not found")


def item_likelihoods(it: TracedItem) -> tuple[float, float] | None:
    """``(P(result | H), P(result | not H))`` of an item, or None when it does not count."""
    if it.observed is None or not it.counted:
        return None
    if it.likelihoods is not None:
        return it.likelihoods
    return likelihoods(it.p_if_true, it.p_if_false, it.observed)


def ratio_of(lt: float, lf: float) -> float:
    """``lt / lf`` (``inf`` when ``lf`` is 0, ``nan`` for 0/0)."""
    if lf == 0.0:
        return math.nan if lt == 0.0 else math.inf
    return lt / lf


def update_with(prior: float, lt: float, lf: float) -> float:
    """Posterior after a result with likelihoods ``lt`` (claim true) and ``lf`` (false)."""
    den = prior * lt + (1.0 - prior) * lf
    if den <= 0.0:
        return prior
    return min(1.0, max(0.0, prior * lt / den))


def likelihoods(p_if_true: float, p_if_false: float, observed: bool) -> tuple[float, float]:
    """``(P(result | H), P(result | not H))`` for an item found (``observed``) or not found."""
    if observed:
        return p_if_true, p_if_false
    return 1.0 - p_if_true, 1.0 - p_if_false


def likelihood_ratio(p_if_true: float, p_if_false: float, observed: bool) -> float:
    """The Bayes factor of one item: ``L_T / L_F`` (``inf`` when ``L_F`` is 0, ``nan`` for 0/0)."""
    return ratio_of(*likelihoods(p_if_true, p_if_false, observed))


def update(prior: float, p_if_true: float, p_if_false: float, observed: bool) -> float:
    """Posterior probability of the claim after one item (Bayes' rule).

    When the result is impossible under both the claim and its negation (both likelihoods
    zero) the probability is returned unchanged: the item's probabilities need revisiting.
    """
    return update_with(prior, *likelihoods(p_if_true, p_if_false, observed))


@dataclass(frozen=True)
class TracingStep:
    """One row of the tracing table: the item and the posterior after it."""

    id: str
    description: str
    type: EvidenceType
    observed: bool | None
    p_if_true: float
    p_if_false: float
    likelihood_ratio: float | None
    prior: float
    posterior: float
    links: tuple[str, ...] = ()
    rival: str | None = None
    from_analysis: str | None = None
    note: str = ""
    result: str | None = None
    counted: bool = True


@dataclass(frozen=True)
class PriorSensitivity:
    """The final posterior had the prior been ``prior``."""

    prior: float
    posterior: float
    label: str


@dataclass(frozen=True)
class TracingResult:
    """Contribution tracing over every evidence item, in the order given."""

    prior: float
    posterior: float
    label: str
    bayes_factor: float | None
    steps: tuple[TracingStep, ...]
    prior_sensitivity: tuple[PriorSensitivity, ...]
    thresholds: TypeThresholds = DEFAULT_THRESHOLDS
    warnings: tuple[str, ...] = ()

    def table(self) -> pd.DataFrame:
        """The tracing table: item, type, observed, probabilities, likelihood ratio, posterior."""
        return pd.DataFrame(
            [
                {
                    "item": s.id,
                    "type": EVIDENCE_TYPE_NAMES[s.type],
                    "observed": None if s.observed is None else ("yes" if s.observed else "no"),
                    "result": s.result,
                    "counted": "yes" if s.counted else "no (repeats another item)",
                    "p_if_true": s.p_if_true,
                    "p_if_false": s.p_if_false,
                    "likelihood_ratio": s.likelihood_ratio,
                    "posterior": s.posterior,
                }
                for s in self.steps
            ],
            columns=[
                "item", "type", "observed", "result", "counted", "p_if_true", "p_if_false", "likelihood_ratio",
                "posterior",
            ],
        )

    def sensitivity_table(self) -> pd.DataFrame:
        """Final posterior for each prior in :data:`SENSITIVITY_PRIORS`."""
        return pd.DataFrame(
            [{"prior": s.prior, "posterior": s.posterior, "label": s.label} for s in self.prior_sensitivity],
            columns=["prior", "posterior", "label"],
        )


def final_posterior(prior: float, items: Iterable[TracedItem]) -> float:
    """The posterior after every item with a known ``observed``, updated in turn."""
    p = prior
    for it in items:
        lk = item_likelihoods(it)
        if lk is not None:
            p = update_with(p, *lk)
    return p


def prior_sensitivity(
    items: Sequence[TracedItem], priors: Sequence[float] = SENSITIVITY_PRIORS
) -> tuple[PriorSensitivity, ...]:
    """The final posterior for each prior: how much the conclusion rests on the prior."""
    out = []
    for pr in priors:
        post = final_posterior(pr, items)
        out.append(PriorSensitivity(float(pr), post, confidence_label(post)))
    return tuple(out)


def _check_probability(name: str, value: float) -> None:
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}")


def trace_contribution(
    prior: float,
    items: Sequence[TracedItem],
    *,
    thresholds: TypeThresholds = DEFAULT_THRESHOLDS,
    priors: Sequence[float] = SENSITIVITY_PRIORS,
) -> TracingResult:
    """Update confidence in the claim over every evidence item.

    Parameters
    ----------
    prior
        Confidence in the claim before any evidence, :math:`P(H)`.
    items
        The evidence, in the order it is to be shown. The final posterior does not depend
        on the order (multiplication of likelihood ratios commutes) except in the
        degenerate case of contradictory certainties, which is reported as a warning.
    thresholds
        Where high sensitivity and low type I error begin (for the evidence types).
    priors
        Priors for the prior-sensitivity table.

    Returns
    -------
    TracingResult
        Posterior after each item, final posterior and its words, the combined Bayes
        factor (product of likelihood ratios; ``None`` when undefined) and the prior
        sensitivity.
    """
    _check_probability("prior", prior)
    warnings: list[str] = []
    steps: list[TracingStep] = []
    p = prior
    log_bf = 0.0
    bf_defined = True
    certain_for: list[str] = []
    certain_against: list[str] = []
    for it in items:
        _check_probability(f"{it.id}: p_if_true", it.p_if_true)
        _check_probability(f"{it.id}: p_if_false", it.p_if_false)
        etype = classify_evidence(it.p_if_true, it.p_if_false, thresholds)
        lk = item_likelihoods(it)
        if lk is None:
            why = ("not used: whether it was observed is unknown" if it.observed is None else
                   f"not multiplied in: it repeats '{it.counted_with}', which is counted")
            steps.append(
                TracingStep(it.id, it.description, etype, it.observed, it.p_if_true, it.p_if_false, None, p, p,
                            it.links, it.rival, it.from_analysis, (it.note + "; " if it.note else "") + why
                            if it.observed is not None else (it.note or why), it.result, it.counted)
            )
            continue
        lr = ratio_of(*lk)
        note = it.note
        if math.isnan(lr):
            bf_defined = False
            msg = (f"evidence '{it.id}': its result is impossible both if the claim is true and if it "
                   f"is false (likelihoods 0 and 0); revisit p_if_true and p_if_false")
            warnings.append(msg)
            note = (note + "; " if note else "") + "ignored: impossible under both"
        elif lr == math.inf:
            certain_for.append(it.id)
            log_bf = math.inf if log_bf != -math.inf else math.nan
        elif lr == 0.0:
            certain_against.append(it.id)
            log_bf = -math.inf if log_bf != math.inf else math.nan
        else:
            log_bf += math.log(lr)
        post = update_with(p, *lk)
        steps.append(
            TracingStep(it.id, it.description, etype, it.observed, it.p_if_true, it.p_if_false,
                        None if math.isnan(lr) else lr, p, post, it.links, it.rival, it.from_analysis, note,
                        it.result, it.counted)
        )
        p = post
    if certain_for and certain_against:
        bf_defined = False
        warnings.append(
            "contradictory certainties: "
            + ", ".join(certain_for) + " make the claim certain and "
            + ", ".join(certain_against) + " rule it out; with probabilities of exactly 0 or 1 the "
            "result depends on the order of the items. Use probabilities strictly between 0 and 1."
        )
    bf: float | None = None
    if bf_defined and not math.isnan(log_bf):
        bf = math.inf if log_bf > 709.0 else math.exp(log_bf)
    return TracingResult(
        prior=float(prior),
        posterior=float(p),
        label=confidence_label(p),
        bayes_factor=bf,
        steps=tuple(steps),
        prior_sensitivity=prior_sensitivity(items, priors),
        thresholds=thresholds,
        warnings=tuple(warnings),
    )
