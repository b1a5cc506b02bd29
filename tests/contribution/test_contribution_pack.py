"""Report sections and figures for contribution, rating and economics."""

from __future__ import annotations

import hashlib
import io
from types import SimpleNamespace

import matplotlib

from contribution.ca_helpers import default_results, make_spec
from preveval.contribution import assess_contribution, assess_economics
from preveval.pack.contribution_section import (
    contribution_section,
    contribution_sections,
    economics_section,
    rating_section,
)
from preveval.pack.logic_diagram import logic_model_figure, plot_logic_model
from preveval.pack.section import Section


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def test_logic_diagram_is_deterministic_and_coloured():
    spec = make_spec()
    res = assess_contribution(spec, default_results())
    status = res.link_status()
    a = plot_logic_model(spec.logic_model, spec.initiative.partners, res.rival_explanations, status)
    b = plot_logic_model(spec.logic_model, spec.initiative.partners, res.rival_explanations, status)
    assert hashlib.sha256(_png(a)).hexdigest() == hashlib.sha256(_png(b)).hexdigest()
    texts = [t.get_text() for t in a.axes[0].texts]
    assert any("Partners: Police Scotland (lead)" in t for t in texts)
    assert "Rival\nexplanations" in texts and "Impact" in texts
    facecolors = {matplotlib.colors.to_hex(p.get_facecolor()) for p in a.axes[0].patches}
    assert "#d9f0d3" in facecolors and "#fddbc7" in facecolors  # supported and contradicted
    labels = [t.get_text() for t in a.legends[0].get_texts()]
    assert "link supported" in labels and "rival not ruled out" in labels


def test_logic_diagram_wraps_long_text_and_handles_empty_model():
    from preveval.spec.models import LogicModel

    long = "A very long activity description that must be wrapped over several lines to stay readable"
    fig = plot_logic_model(LogicModel(activities=(long,)), (), (), None)
    assert max(len(t.get_text()) for t in fig.axes[0].texts) < 40
    assert plot_logic_model(LogicModel()) is not None
    assert logic_model_figure(SimpleNamespace(logic_model=LogicModel())) is None


def test_contribution_section_contents():
    spec = make_spec()
    res = assess_contribution(spec, default_results())
    sec = contribution_section(res, spec)
    assert not any(f.name == "contribution-logic-model" for s in contribution_section(res, spec, diagram=False).subsections for f in s.figures)
    assert isinstance(sec, Section)
    assert sec.headline.startswith("The evidence makes it about as likely as not (posterior 0.34)")
    titles = [s.title for s in sec.subsections]
    assert len(titles) == 6 and titles[0].startswith("Step 1")
    names = [f.name for s in sec.subsections for f in s.figures]
    assert names == ["contribution-logic-model", "contribution-posterior", "contribution-prior-sensitivity"]
    tables = {t.name: t.frame for s in sec.subsections for t in s.tables}
    assert list(tables["contribution-tracing"].columns)[:3] == ["item", "type", "observed"]
    assert len(tables["contribution-prior-sensitivity"]) == 9
    assert all(f.alt for s in sec.subsections for f in s.figures)
    assert any("conditionally independent" in d for d in sec.details)


def test_rating_and_economics_sections():
    spec = make_spec()
    results = default_results()
    res = assess_contribution(spec, results)
    r = rating_section(res.rating)
    assert "level 3 of 5" in r.headline
    assert {t.name for t in r.tables} == {"evidence-rating-sms", "evidence-rating-emmie"}
    eco = assess_economics(spec, results)
    e = economics_section(eco)
    assert e.headline.startswith("About £9,170 per serious casualty prevented, a benefit-cost ratio of 27.3")
    assert {t.name for t in e.tables} == {"economics-costs", "economics-summary"}


def test_contribution_sections_from_evaluation_result():
    spec = make_spec()
    results = default_results()
    er = SimpleNamespace(spec=spec, analyses=results, contribution=assess_contribution(spec, results),
                         economics=assess_economics(spec, results))
    ids = [s.id for s in contribution_sections(er)]
    assert ids == ["contribution", "evidence-rating", "economics"]
    er2 = SimpleNamespace(spec=spec, analyses=results, contribution=None, economics=None)
    assert [s.id for s in contribution_sections(er2)] == ["evidence-rating"]
    fig = logic_model_figure(spec, er)
    assert fig.name == "logic-model" and "supported" in fig.alt


def test_economics_headline_hedged_when_interval_includes_zero():
    from preveval.contribution.economics import PreventedEvents, evaluate_economics

    spec = make_spec()
    eco = evaluate_economics(spec.economics, PreventedEvents(360.5, -578, 1669, years=6.75),
                             indicator="ksi_young", unit_label="casualties")
    h = economics_section(eco).headline
    assert h.startswith("About £") and "includes no reduction at all" in h
