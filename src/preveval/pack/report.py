"""Assemble the report: the list of sections every renderer writes.

Order: summary for the board, the initiative and its logic model, one section per
analysis, contribution analysis, evidence rating and economics, then data, methods and
provenance for the analyst. Section builders live beside this module, one per method.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from preveval.pack.bottom_line import bottom_line
from preveval.pack.section import Section, TableItem

if TYPE_CHECKING:
    from preveval.results.evaluation import EvaluationResult


def verdict_of(result: Any, spec: Any, analysis: Any, plan: Any = None) -> Any:
    """The verdict of an analysis against its plausible effect (None when it has none).

    ``plan``: the plan.json of ``contribution.plan``, whose simulated power is reported.
    """
    from preveval.contribution.primary import planned_power, plausible_effect_of
    from preveval.contribution.verdict import analysis_verdict

    plausible = plausible_effect_of(spec, analysis.id, result.scale)
    if plausible is None:
        return None
    return analysis_verdict(result, spec.indicator(analysis.indicator).desired, plausible,
                            planned_power(plan, analysis, plausible, result.scale))


def _plan_of(result: Any) -> Any:
    return getattr(getattr(result, "evaluation", None), "plan", None)


def analysis_section(result: Any, spec: Any, analysis: Any, plan: Any = None) -> Section:
    """The section of one analysis, from the builder of its method."""
    indicator = spec.indicator(analysis.indicator)
    verdict = verdict_of(result, spec, analysis, plan)
    if analysis.method == "its":
        from preveval.pack.its_section import its_section

        sec = its_section(result, indicator, analysis, verdict)
    elif analysis.method == "synthetic_control":
        from preveval.pack.synth_section import synth_section

        sec = synth_section(result, indicator, analysis, verdict)
    else:
        from preveval.pack.did_section import did_section

        sec = did_section(result, indicator, analysis, verdict)
    sec.id = f"analysis-{analysis.id}"
    return sec


def build_sections(result: EvaluationResult) -> list[Section]:
    """Every section of the report, in reading order."""
    spec = result.spec
    analyses = [analysis_section(result.analyses[a.id], spec, a, _plan_of(result)) for a in spec.analyses]
    extra: list[Section] = []
    if result.contribution is not None or result.economics is not None:
        from preveval.pack.contribution_section import contribution_sections

        extra = contribution_sections(result)
    summary = Section(id="summary", title="Summary")
    summary.paragraphs.append(bottom_line(result, {a.id: s.headline for s, a in zip(analyses, spec.analyses,
                                                                                   strict=True)}))
    summary.bullets = [f"{s.title}: {s.headline}" for s in analyses if s.headline]
    agreement = agreement_sections(result)
    summary.bullets += [f"{s.title}: {s.headline}" for s in [*agreement, *extra] if s.headline]
    if result.warnings:
        summary.warnings = [f"{len(result.warnings)} warning(s) about the data or design: each is shown in the "
                            "section it concerns."]
    sections = [summary, _initiative(spec), _logic_model(spec, result), *analyses, *agreement, *extra,
                _data(result), _provenance(result)]
    _tidy(sections)
    return sections


def _tidy(sections: list[Section]) -> None:
    """Sentences start with a capital letter, whichever builder wrote them."""
    for sec in sections:
        sec.warnings = [w[:1].upper() + w[1:] for w in sec.warnings]
        _tidy(sec.subsections)


def _as_percent(estimate: float) -> float:
    return 100 * (math.exp(estimate) - 1)


def _pretrend(result: Any, analysis: Any) -> tuple[str, float | None, str, str]:
    """(verdict, p-value, scale, what was tested) of an analysis' check of the pre-period."""
    pt = getattr(result, "pretrend_test", None)
    if pt is None:
        pt = next((d for d in getattr(result, "diagnostics", ())
                   if d.name in ("pre_period_trend_break", "placebo_in_time")), None)
    if pt is None or pt.status == "not_applicable":
        return "not tested", None, "", ""
    scale = "log" if result.scale == "log" else "additive"
    if pt.status == "inconclusive":
        return "cannot tell", pt.p_value, scale, "a fake start date before the real one (too few donors to test)"
    if analysis.method == "synthetic_control":
        what = "a fake start date before the real one, against the donors' placebos"
    elif analysis.method == "its":
        what = "placebo start dates before the real one"
    elif getattr(analysis, "design", "") == "staggered":
        what = (f"the average of the pre-period group-time effects against {analysis.control.replace('_', '-')} "
                "areas")
    else:
        what = "a joint test that every lead is zero (never-treated and not-yet-treated areas as comparison)"
    return ("passed" if pt.status == "pass" else "failed"), pt.p_value, scale, what


def _disagreement(rows: list[dict[str, Any]]) -> str:
    """Why analyses of one indicator can reach different pre-trend verdicts."""
    tested = [r for r in rows if r["pre_trend"] in ("passed", "failed")]
    if len({r["pre_trend"] for r in tested}) < 2:
        if tested:
            return ("Every pre-period check " + ("passed" if tested[0]["pre_trend"] == "passed" else "failed")
                    + ": " + "; ".join(f"{r['name']} ({r['pre_trend_scale']} scale)" for r in tested) + ".")
        return ""
    passed = [r for r in tested if r["pre_trend"] == "passed"]
    failed = [r for r in tested if r["pre_trend"] == "failed"]
    reasons = []
    if len({r["pre_trend_scale"] for r in tested}) > 1:
        reasons.append("they test on different scales: trends that are parallel in proportion (log scale) are not "
                       "parallel in absolute numbers (additive scale) when the areas start from different levels, "
                       "and the reverse")
    if len({r["pre_trend_test"] for r in tested}) > 1:
        reasons.append("they test different things: a joint test that every lead is zero can fail on one odd "
                       "period that an average of the pre-period effects smooths away, while an average can "
                       "fail on a steady drift that single leads are too noisy to show")
    reasons.append("they compare with different areas or periods, and one test may simply have more power than "
                   "the other")
    return (f"The pre-period checks disagree: {'; '.join(r['name'] + ' passed' for r in passed)}, but "
            f"{'; '.join(r['name'] + ' failed' for r in failed)}. This can happen because "
            + "; ".join(reasons) + ". A failed check means the comparison before the start was not a fair guide "
            "for that design, so give more weight to the designs whose check passed, and look at the trends "
            "figure for when and where the paths part.")


def agreement_sections(result: EvaluationResult) -> list[Section]:
    """Where an indicator has several analyses: do they agree, on the effect and on the pre-period?"""
    spec = result.spec
    out = []
    for ind in spec.indicators:
        mine = [a for a in spec.analyses if a.indicator == ind.id]
        if len(mine) < 2:
            continue
        rows = []
        for a in mine:
            r = result.analyses[a.id]
            e = r.effect
            design = (a.method if a.method == "its" else a.design_name() if a.method == "synthetic_control"
                      else f"did ({a.design})")
            good = (e.estimate < 0) == (ind.desired == "decrease")
            verdict = verdict_of(r, spec, a, _plan_of(result))
            pre, pre_p, pre_scale, pre_what = _pretrend(r, a)
            rows.append({
                "analysis": a.id, "name": a.title(ind.label), "design": design, "term": e.term, "scale": r.scale,
                "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                "interval_method": e.interval_method,
                "change_percent": _as_percent(e.estimate) if r.scale == "log" else None,
                "desired_direction": good, "ci_excludes_zero": e.excludes_zero(),
                "verdict": None if verdict is None else verdict.verdict,
                "pre_trend": pre, "pre_trend_p": pre_p, "pre_trend_scale": pre_scale, "pre_trend_test": pre_what,
            })
        frame = pd.DataFrame(rows)
        sec = Section(id=f"agreement-{ind.id}", title=f"Do the analyses agree? {ind.label}")
        n, n_good = len(rows), int(frame["desired_direction"].sum())
        clear = int((frame["desired_direction"] & frame["ci_excludes_zero"]).sum())
        against = int((~frame["desired_direction"] & frame["ci_excludes_zero"]).sum())
        sec.headline = (f"{n_good} of {n} analyses point the way the initiative intends; {clear} of them clearly "
                        f"(95% interval excluding no change)" + (f", and {against} clearly point the other way." if against else "."))
        sec.paragraphs.append(
            "Each design answers a slightly different question, so some disagreement is expected. An interrupted "
            "time series compares each period with the trend before the start; a difference-in-differences "
            "compares areas that had the initiative with areas that did not, over the same time"
            + ("; a synthetic control compares the area with a weighted mix of areas chosen to match it before the "
               "start" if any(a.method == "synthetic_control" for a in mine) else "") + ".")
        pre_text = _disagreement(rows)
        if pre_text:
            sec.paragraphs.append(pre_text)
        its_panel = [a for a in mine if a.method == "its" and spec.data.unit
                     and getattr(a, "units", None) in (None, "all") and getattr(a, "comparison", None) is None]
        did_any = [a for a in mine if a.method == "did"]
        if its_panel and did_any:
            treated = [getattr(result.analyses[a.id], "n_treated_units", None) for a in did_any]
            units = [getattr(result.analyses[a.id], "n_units", None) for a in did_any]
            if treated[0] and units[0] and treated[0] < units[0]:
                later = (", and some started later than the date used in the time series"
                         if any(getattr(result.analyses[a.id], "staggered", False) for a in did_any) else "")
                sec.paragraphs.append(
                    f"The whole-area time series adds up all {units[0]} units, but only {treated[0]} of them ran the "
                    f"initiative{later}. Any effect is "
                    "therefore diluted there, and the time series cannot separate it from other changes that hit "
                    "every area at once (such as a national enforcement campaign). The difference-in-differences "
                    "designs compare treated with untreated areas over the same months, which removes such "
                    "shared changes: where they disagree with the time series, they are usually the better guide.")
        if any(getattr(a, "design", "") == "twfe" for a in did_any) and any(
                getattr(result.analyses[a.id], "staggered", False) for a in did_any):
            sec.paragraphs.append(
                "With a staggered roll-out, the two-way fixed-effects estimate can be biased if effects grow over "
                "time; the event study and the staggered (Callaway & Sant'Anna) design avoid that, at the cost of "
                "wider intervals.")
        sec.tables.append(TableItem(f"agreement-{ind.id}", "Headline estimates of every analysis of this "
                                    "indicator (change_percent: for log-scale effects, the % change; verdict "
                                    "against the plausible effect; the pre-period check, its p-value and the "
                                    "scale it was tested on)", frame.drop(columns=["name"])))
        out.append(sec)
    return out


def _initiative_sentence(spec: Any) -> str:
    ini = spec.initiative
    partners = [p.name for p in ini.partners]
    who = f" run by {', '.join(partners[:-1])} and {partners[-1]}" if len(partners) > 1 else (
        f" run by {partners[0]}" if partners else "")
    target = f" for {ini.target_group[0].lower()}{ini.target_group[1:]}" if ini.target_group else ""
    return f"This report evaluates {ini.name}, a {ini.prevention_level} prevention initiative{target}{who}."


def _initiative(spec: Any) -> Section:
    ini = spec.initiative
    sec = Section(id="initiative", title="The initiative")
    if ini.description:
        sec.paragraphs.append(ini.description)
    facts = [("Prevention level", ini.prevention_level), ("Target group", ini.target_group),
             ("Area", ini.area), ("Started", ini.start)]
    sec.bullets = [f"{k}: {v}" for k, v in facts if v]
    if ini.partners:
        frame = pd.DataFrame([{"partner": p.name, "role": p.role, "brings": p.contribution or ""}
                              for p in ini.partners])
        sec.tables.append(TableItem("partners", "Partners and their roles", frame))
    return sec


def _logic_model(spec: Any, result: EvaluationResult) -> Section:
    lm = spec.logic_model
    sec = Section(id="logic-model", title="Logic model (theory of change)")
    sec.paragraphs.append("How the partnership expects the initiative to work, from what goes in to the "
                          "long-term impact, and what has to hold true along the way.")
    rows = [{"stage": stage, "id": el.id, "element": el.text} for stage, el in lm.elements()]
    if rows:
        sec.tables.append(TableItem("logic-model", "Elements of the logic model", pd.DataFrame(rows)))
    try:
        from preveval.pack.logic_diagram import logic_model_figure
    except ImportError:
        return sec
    fig = logic_model_figure(spec, result)
    if fig is not None:
        sec.figures.append(fig)
    return sec


def _data(result: EvaluationResult) -> Section:
    spec = result.spec
    i = result.inputs
    sec = Section(id="data", title="Data")
    d = spec.data
    sec.bullets = [
        f"File: {i.data_file} ({i.n_rows:,} rows)",
        f"Periods: {i.first_period} to {i.last_period} ({d.frequency}ly, "
        f"{i.n_periods} periods)".replace("dayly", "daily"),
    ]
    if d.unit:
        sec.bullets.append(f"Units ({d.unit}): {i.n_units}")
    rows = [{"indicator": i.id, "label": i.label, "column": i.column, "kind": i.kind,
             "desired change": i.desired} for i in spec.indicators]
    sec.tables.append(TableItem("indicators", "Indicators", pd.DataFrame(rows)))
    sec.warnings = list(result.inputs.warnings)
    return sec


def _provenance(result: EvaluationResult) -> Section:
    prov = result.provenance()
    sec = Section(id="provenance", title="Provenance and reproducibility")
    sec.paragraphs.append("Re-running preveval on the same files with the same software versions gives an "
                          "identical results.json; the fingerprints below identify the inputs.")
    sec.bullets = [f"Evaluation file SHA-256: {prov['evaluation_sha256']}",
                   *[f"Data file {k} SHA-256: {v}" for k, v in prov["data_files"].items()]]
    sec.details = [f"{k} {v}" for k, v in prov["packages"].items()]
    return sec
