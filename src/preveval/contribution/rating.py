"""Evidence rating: the Maryland Scientific Methods Scale and an EMMIE summary.

**Maryland Scientific Methods Scale (SMS)** — Sherman, L. W., Gottfredson, D., MacKenzie,
D., Eck, J., Reuter, P. and Bushway, S. (1997) *Preventing Crime: What Works, What Doesn't,
What's Promising*, chapter 2; Farrington, D. P., Gottfredson, D. C., Sherman, L. W. and
Welsh, B. C. (2002) "The Maryland Scientific Methods Scale", in *Evidence-Based Crime
Prevention*, Routledge, pp. 13-21. The level is read from the design actually run, not
the one planned:

* level 1 — a correlation at one point in time;
* level 2 — before and after, no comparable control condition. An interrupted time
  series without a comparison series is rated 2: its long pre-period models the trend,
  which is far stronger than a single before-after pair, but nothing controls for
  another change at the same moment (history), the threat the scale ranks on;
* level 3 — before and after in experimental and comparable control conditions:
  difference-in-differences (any design), a controlled ITS (a comparison series), a
  synthetic control;
* level 4 — Sherman et al.'s wording ("multiple experimental and control units,
  controlling for other variables") could admit a many-unit DiD with covariates; preveval
  follows the stricter reading of the What Works Centre for Local Economic Growth's
  scoring guide (Madaleno, M. and Waights, S., 2016, "Guide to scoring methods using the
  Maryland Scientific Methods Scale"), which keeps DiD at 3 — even with many units and a
  passed event-study pre-trend test, because parallel trends after the start cannot be
  tested — and gives 4 to designs exploiting as-if random assignment (regression
  discontinuity, instrumental variables);
* level 5 — random assignment.

**EMMIE** — Johnson, S. D., Tilley, N. and Bowers, K. J. (2015) "Introducing EMMIE: an
evidence rating scale to encourage mixed-method crime prevention synthesis reviews",
*Journal of Experimental Criminology* 11(3): 459-473: Effect, Mechanism, Moderators,
Implementation, Economic cost. The summary says what the pack holds for each and what is
missing; it rates coverage (covered / partly / missing), not quality.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

SMS_LEVELS: dict[int, str] = {
    1: "Correlation between the initiative and the outcome at one point in time",
    2: "Outcome measured before and after, with no comparable control condition",
    3: "Outcome measured before and after in treated and comparable control conditions",
    4: "Comparison exploiting as-if random assignment, or multiple treated and control units "
       "controlling for other influences",
    5: "Random assignment to the initiative and control conditions",
}

_RANDOMISED = {"rct", "randomised", "randomized", "cluster_rct", "experiment", "randomised_trial"}
_QUASI_RANDOM = {"rdd", "regression_discontinuity", "iv", "instrumental_variables"}
_COMPARISON_METHODS = {"did", "synthetic_control", "controlled_its", "cits", "comparative_its"}
_BEFORE_AFTER = {"before_after", "pre_post"}
_CROSS_SECTION = {"correlation", "cross_section", "cross_sectional"}

DID_DESIGN_WORDS = {
    "two_by_two": "a two-group, two-period difference-in-differences",
    "twfe": "a two-way fixed-effects difference-in-differences",
    "event_study": "an event-study difference-in-differences",
    "staggered": "a staggered-adoption difference-in-differences",
}


@dataclass(frozen=True)
class SmsAnalysisLevel:
    """The SMS level one analysis reaches, and why."""

    analysis: str
    method: str
    level: int | None
    reason: str
    cautions: tuple[str, ...] = ()


@dataclass(frozen=True)
class SmsRating:
    """The strongest SMS level among the analyses run."""

    level: int | None
    description: str
    reason: str
    analyses: tuple[SmsAnalysisLevel, ...]
    cautions: tuple[str, ...] = ()


def _pretrend(result: Any) -> str | None:
    """``pass`` / ``fail`` / other status of a pre-trend diagnostic, if the result has one."""
    pt = getattr(result, "pretrend_test", None)
    if pt is not None and getattr(pt, "status", None) is not None:
        return str(pt.status)
    for d in getattr(result, "diagnostics", ()) or ():
        name = str(getattr(d, "name", "")).lower()
        if ("pre" in name and "trend" in name) or "parallel" in name:
            return str(getattr(d, "status", None))
    return None


def _has_comparison(result: Any, analysis: Any = None) -> bool:
    for obj in (result, analysis):
        for attr in ("comparison", "control_series", "comparison_series"):
            v = getattr(obj, attr, None)
            if v not in (None, False, "", (), []):
                return True
    return False


def _name(aid: str, analysis: Any, indicators: Mapping[str, str] | None) -> str:
    """How a sentence names the analysis: its title when the spec is known, else its id."""
    if analysis is not None and indicators is not None and hasattr(analysis, "title"):
        t = analysis.title(indicators.get(analysis.indicator, "the indicator"))
        return t[:1].upper() + t[1:]
    return f"Analysis '{aid}'"


def sms_level(result: Any, analysis: Any = None, indicators: Mapping[str, str] | None = None) -> SmsAnalysisLevel:
    """The SMS level of one analysis from its ``method`` and design attributes.

    Reads, where present on the result (or on its ``analysis`` spec): ``design``,
    ``comparison`` (or ``control_series``), ``pretrend_test`` or ``diagnostics`` (a
    pre-trend / parallel-trends check), ``randomised``, ``n_clusters`` / ``n_units``.
    """
    aid = str(getattr(result, "id", "?"))
    method = str(getattr(result, "method", "")).lower()
    design = getattr(result, "design", None) or getattr(analysis, "design", None)
    cautions: list[str] = []
    if getattr(result, "randomised", False) or method in _RANDOMISED:
        return SmsAnalysisLevel(aid, method, 5, "the initiative was assigned at random")
    if method in _QUASI_RANDOM:
        return SmsAnalysisLevel(aid, method, 4, "the design exploits as-if random assignment "
                                "(a discontinuity or an instrument)")
    if method == "its" and not _has_comparison(result, analysis):
        return SmsAnalysisLevel(
            aid, method, 2,
            "an interrupted time series without a comparison series: the trend before the start "
            "is modelled, but nothing controls for another change at the same time",
        )
    if method == "synthetic_control":
        return _synth_level(aid, result, analysis, indicators)
    if method == "its" or method in _COMPARISON_METHODS:
        if method == "did":
            what = DID_DESIGN_WORDS.get(str(design), "a difference-in-differences")
        elif method == "its":
            what = "an interrupted time series with a comparison series"
        else:
            what = f"a {method.replace('_', ' ')} design"
        reason = f"{what} compares treated and comparison conditions before and after"
        pt = _pretrend(result)
        if pt == "pass":
            reason += ("; the pre-trend test passed, which supports but cannot prove parallel "
                       "trends after the start, so the level stays 3")
        elif pt == "fail":
            cautions.append(f"{_name(aid, analysis, indicators)}: the pre-trend test failed; treated and comparison units were "
                            "already diverging, so the comparison may not be a fair counterfactual")
        n_units = getattr(result, "n_clusters", None) or getattr(result, "n_units", None)
        treated = getattr(result, "n_treated_clusters", None)
        if isinstance(treated, int) and 0 < treated < 6:
            cautions.append(f"{_name(aid, analysis, indicators)}: only {treated} treated "
                            f"area{'s' if treated > 1 else ''}; cluster-based inference is unreliable with so few")
        elif isinstance(n_units, int) and n_units < 10:
            cautions.append(f"{_name(aid, analysis, indicators)}: only {n_units} units or clusters; inference "
                            "with few clusters is fragile")
        return SmsAnalysisLevel(aid, method, 3, reason, tuple(cautions))
    if method in _BEFORE_AFTER:
        return SmsAnalysisLevel(aid, method, 2, "before and after without a comparison")
    if method in _CROSS_SECTION:
        return SmsAnalysisLevel(aid, method, 1, "a comparison at one point in time")
    return SmsAnalysisLevel(aid, method, None, f"method '{method}' is not rated")


def _synth_level(aid: str, result: Any, analysis: Any, indicators: Mapping[str, str] | None) -> SmsAnalysisLevel:
    """Level 3: treated and weighted comparison areas before and after; cautions from the fit's checks."""
    sdid = getattr(result, "estimator", "abadie") == "sdid"
    reason = ("a synthetic " + ("difference-in-differences" if sdid else "control") + " compares the area that ran "
              "the initiative with a weighted mix of areas that did not, before and after the start, the weights "
              "chosen to match it before the start")
    name = _name(aid, analysis, indicators)
    cautions = []
    pit = next((d for d in getattr(result, "diagnostics", ()) if d.name == "placebo_in_time"), None)
    if pit is not None and pit.status == "pass":
        reason += "; a fake earlier start found no effect, which supports the comparison but cannot prove it"
    elif pit is not None and pit.status == "fail":
        cautions.append(f"{name}: a fake earlier start already shows an 'effect', so the synthetic comparison may "
                        "not be a fair counterfactual")
    if any("fits" in w and "poorly before the start" in w for w in getattr(result, "warnings", ())):
        cautions.append(f"{name}: the synthetic comparison fits poorly before the start")
    donors = getattr(result, "n_donors", None)
    if isinstance(donors, int) and donors + 1 < 20 and getattr(result.effect, "interval_method", "") == \
            "placebo_test_inversion":
        cautions.append(f"{name}: only {donors} donor areas, so the placebo test cannot reach the 5% level")
    return SmsAnalysisLevel(aid, "synthetic_control", 3, reason, tuple(cautions))


def rate_design(results: Sequence[Any], analyses: Sequence[Any] = (),
                indicators: Mapping[str, str] | None = None) -> SmsRating:
    """The SMS level of the evaluation: the strongest design among the analyses run.

    ``analyses`` (the spec's analyses) supply design details the results do not carry,
    such as an ITS ``comparison`` series.
    """
    by_id = {getattr(a, "id", None): a for a in analyses}
    per = tuple(sms_level(r, by_id.get(getattr(r, "id", None)), indicators) for r in results if r is not None)
    rated = [p for p in per if p.level is not None]
    cautions = tuple(c for p in per for c in p.cautions)
    if not rated:
        return SmsRating(None, "not rated", "no analysis with a rated design was run", per, cautions)
    best = max(rated, key=lambda p: p.level or 0)
    assert best.level is not None
    def named(p: SmsAnalysisLevel) -> str:
        return _name(p.analysis, by_id.get(p.analysis), indicators)

    reason = f"Level {best.level} from {named(best)[:1].lower() + named(best)[1:]}: {best.reason}."
    others = [p for p in rated if p is not best]
    if others:
        reason += " Other analyses: " + "; ".join(f"{named(p)[:1].lower() + named(p)[1:]} level {p.level}"
                                                  for p in others) + "."
    return SmsRating(best.level, SMS_LEVELS[best.level], reason, per, cautions)


# --------------------------------------------------------------------------------- EMMIE

EmmieStatus = Literal["covered", "partly", "missing"]


@dataclass(frozen=True)
class EmmieDimension:
    """One EMMIE dimension: what the pack holds and what is missing."""

    dimension: str
    status: EmmieStatus
    holds: str
    missing: str


@dataclass(frozen=True)
class EvidenceRating:
    """SMS level and EMMIE summary together."""

    sms: SmsRating
    emmie: tuple[EmmieDimension, ...]

    def emmie_table(self) -> pd.DataFrame:
        """EMMIE as a table: dimension, status, what the pack holds, what is missing."""
        return pd.DataFrame(
            [{"dimension": d.dimension, "status": d.status, "holds": d.holds, "missing": d.missing}
             for d in self.emmie],
            columns=["dimension", "status", "holds", "missing"],
        )


def _effect(results: Sequence[Any], sms: SmsRating) -> EmmieDimension:
    with_ci = [r for r in results if getattr(r.effect, "ci_low", None) is not None]
    if not results:
        return EmmieDimension("Effect", "missing", "no analysis estimated the effect",
                              "an impact analysis (ITS or DiD)")
    holds = (f"{len(results)} {'analyses' if len(results) != 1 else 'analysis'} "
             f"({', '.join(sorted({r.method for r in results}))}), {len(with_ci)} with a 95% interval; "
             f"SMS level {sms.level if sms.level is not None else 'not rated'}")
    if sms.level is not None and sms.level >= 3 and with_ci:
        return EmmieDimension("Effect", "covered", holds, "")
    return EmmieDimension("Effect", "partly", holds,
                          "a comparison group (SMS level 3 or above)" if (sms.level or 0) < 3
                          else "confidence intervals")


def _mechanism(links: Sequence[Any]) -> EmmieDimension:
    chain = [lk for lk in links if lk.stage.startswith("outcomes") or lk.stage in ("outputs", "impact")]
    if not chain:
        return EmmieDimension("Mechanism", "missing", "no outputs or outcomes in the logic model",
                              "a theory of change setting out how the initiative works")
    tested = [lk for lk in chain if lk.status != "untested"]
    sup = [lk for lk in chain if lk.status == "supported"]
    holds = f"a logic model with {len(chain)} output/outcome links; {len(sup)} supported by evidence"
    if tested and len(sup) == len(chain):
        return EmmieDimension("Mechanism", "covered", holds, "")
    missing = f"evidence on {len(chain) - len(tested)} untested link(s)" if len(tested) < len(chain) else ""
    con = len(tested) - len(sup)
    if con:
        missing = (missing + "; " if missing else "") + f"an explanation of {con} contradicted link(s)"
    return EmmieDimension("Mechanism", "partly", holds, missing)


def _moderators(spec: Any, results: Sequence[Any]) -> EmmieDimension:
    ini = spec.initiative
    context = [x for x in (ini.target_group and f"target group: {ini.target_group}",
                           ini.area and f"area: {ini.area}",
                           f"prevention level: {ini.prevention_level}") if x]
    sub = [r for r in results if getattr(r, "subgroups", None) or getattr(r, "moderators", None)]
    holds = "; ".join(context)
    if sub:
        return EmmieDimension("Moderators", "covered",
                              holds + f"; subgroup results in {', '.join(r.id for r in sub)}", "")
    status: EmmieStatus = "partly" if (ini.target_group or ini.area) else "missing"
    return EmmieDimension("Moderators", status, holds,
                          "analysis of whether the effect differs between places, groups or times")


def _implementation(spec: Any, links: Sequence[Any]) -> EmmieDimension:
    impl = [lk for lk in links if lk.stage in ("activities", "outputs")]
    sup = [lk for lk in impl if lk.status == "supported"]
    n_part = len(spec.initiative.partners)
    holds = f"{len(impl)} activities/outputs, {len(sup)} with supporting evidence; {n_part} partner(s) named"
    if impl and len(sup) == len(impl):
        return EmmieDimension("Implementation", "covered", holds, "")
    if impl or n_part:
        return EmmieDimension("Implementation", "partly", holds,
                              "evidence that the activities were delivered as planned (reach, dose, fidelity)")
    return EmmieDimension("Implementation", "missing", holds, "a description of what was delivered, by whom")


def _economic(spec: Any, economics: Any) -> EmmieDimension:
    if spec.economics is None:
        return EmmieDimension("Economic", "missing", "no costs recorded",
                              "an 'economics' block with costs by partner and unit values")
    if economics is not None and getattr(economics, "bcr", None) is not None:
        return EmmieDimension("Economic", "covered",
                              "costs by partner, cost per prevented event and benefit-cost ratio", "")
    n = len(spec.economics.costs)
    return EmmieDimension("Economic", "partly", f"{n} cost line(s)",
                          "prevented events from an analysis and a unit value, for cost per prevented "
                          "event and benefit-cost ratio")


def emmie_summary(
    spec: Any,
    results: Mapping[str, Any] | Sequence[Any],
    *,
    links: Sequence[Any] = (),
    sms: SmsRating | None = None,
    economics: Any = None,
) -> tuple[EmmieDimension, ...]:
    """What the pack holds on each EMMIE dimension and what is missing.

    ``links`` are :class:`~preveval.contribution.mayne.LinkAssessment` records;
    ``economics`` an :class:`~preveval.contribution.economics.EconomicsResult` or ``None``.
    """
    rs = [r for r in (results.values() if isinstance(results, Mapping) else results) if r is not None]
    sms = sms or rate_design(rs, getattr(spec, "analyses", ()), _indicator_labels(spec))
    return (
        _effect(rs, sms),
        _mechanism(links),
        _moderators(spec, rs),
        _implementation(spec, links),
        _economic(spec, economics),
    )


def _indicator_labels(spec: Any) -> dict[str, str] | None:
    inds = getattr(spec, "indicators", None)
    return None if inds is None else {i.id: i.label for i in inds}


def rate_evidence(
    spec: Any,
    results: Mapping[str, Any] | Sequence[Any],
    *,
    links: Sequence[Any] = (),
    economics: Any = None,
) -> EvidenceRating:
    """SMS level of the designs run and the EMMIE summary."""
    rs = [r for r in (results.values() if isinstance(results, Mapping) else results) if r is not None]
    sms = rate_design(rs, getattr(spec, "analyses", ()), _indicator_labels(spec))
    return EvidenceRating(sms, emmie_summary(spec, rs, links=links, sms=sms, economics=economics))
