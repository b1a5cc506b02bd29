"""Link statuses, rival statuses and the contribution story."""

from __future__ import annotations

import pytest

from preveval.contribution.mayne import assess_links, assess_rival, mayne_steps
from preveval.contribution.tracing import TracedItem, trace_contribution
from preveval.spec.models import LogicModel, RivalExplanation

LM = LogicModel.model_validate({
    "activities": [{"id": "sessions", "text": "Sessions"}],
    "outputs": [{"id": "attend", "text": "Pupils attend"}],
    "outcomes": {"short": [{"id": "aware", "text": "Awareness"}], "long": [{"id": "ksi", "text": "Fewer KSI"}]},
    "impact": "Fewer deaths",
    "assumptions": ["Pupils attend before driving"],
})


def status(items):
    return {lk.id: lk.status for lk in assess_links(LM, items)}


def test_link_statuses():
    items = [
        TracedItem("a", True, 0.9, 0.5, links=("attend",)),          # LR 1.8 -> supported
        TracedItem("b", False, 0.9, 0.5, links=("aware",)),          # LR 0.2 -> contradicted
        TracedItem("c", True, 0.6, 0.6, links=("ksi",)),             # LR 1 -> the data cannot tell
        TracedItem("d", None, 0.9, 0.1, links=("sessions",)),       # unknown -> untested
        TracedItem("r", True, 0.9, 0.1, links=("impact-1",), rival="x"),  # rival item: not a link test
    ]
    s = status(items)
    assert s == {"sessions": "untested", "attend": "supported", "aware": "contradicted",
                 "ksi": "inconclusive", "impact-1": "untested", "assumptions-1": "untested"}


def test_analysis_verdicts_decide_links_and_repeats_do_not_count():
    items = [
        TracedItem("a", False, 0.1, 0.025, links=("ksi",), outcome="inconclusive", likelihoods=(0.87, 0.86)),
        TracedItem("b", True, 0.9, 0.025, links=("aware",), outcome="supported", likelihoods=(0.9, 0.025),
                   counted=False, counted_with="a"),
        TracedItem("c", False, 0.8, 0.025, links=("attend",), outcome="contradicted", likelihoods=(0.02, 0.7)),
    ]
    s = status(items)
    assert s["ksi"] == "inconclusive" and s["attend"] == "contradicted"
    assert s["aware"] == "untested"  # a repeat of 'a' does not decide a link on its own


def test_mixed_evidence_uses_product_of_ratios():
    items = [TracedItem("a", True, 0.9, 0.1, links=("ksi",)),    # LR 9
             TracedItem("b", False, 0.8, 0.4, links=("ksi",))]   # LR 1/3 -> product 3
    links = {lk.id: lk for lk in assess_links(LM, items)}
    assert links["ksi"].status == "supported"
    assert links["ksi"].likelihood_ratio == pytest.approx(3.0)
    assert links["ksi"].evidence == ("a", "b")


def rival(**kw):
    return RivalExplanation(id="eng", description="Road engineering", **kw)


def test_rival_user_status_wins():
    a = assess_rival(rival(status="partly"), [TracedItem("x", True, 0.9, 0.01, rival="eng")])
    assert a.status == "partly" and a.status_source == "user"


@pytest.mark.parametrize(
    ("obs", "pt", "pf", "expected"),
    [(True, 0.6, 0.05, "ruled_out"),      # LR 12 >= 10
     (True, 0.6, 0.2, "partly"),          # LR 3
     (False, 0.6, 0.2, "not_ruled_out")],  # LR 0.5: favours the rival
)
def test_rival_status_from_items(obs, pt, pf, expected):
    a = assess_rival(rival(), [TracedItem("x", obs, pt, pf, description="No works", rival="eng")])
    assert a.status == expected and a.status_source == "evidence"
    if expected == "not_ruled_out":
        assert a.evidence_for == ("x: No works",)
    else:
        assert a.evidence_against == ("x: No works",)


def test_rival_with_item_favouring_it_is_not_ruled_out_fully():
    items = [TracedItem("x", True, 0.9, 0.01, rival="eng"), TracedItem("y", True, 0.3, 0.6, rival="eng")]
    assert assess_rival(rival(), items).status == "partly"


def test_rival_text_only():
    assert assess_rival(rival(evidence_against=("Works finished in 2012",)), []).status == "partly"
    a = assess_rival(rival(evidence_for=("Works in 2016",), evidence_against=("Few sites",)), [])
    assert a.status == "not_ruled_out" and a.status_source == "text"
    assert assess_rival(rival(), []).status_source == "none"


def test_rival_evidence_named_by_id():
    a = assess_rival(rival(evidence_against=("x",)), [TracedItem("x", True, 0.6, 0.05)])
    assert a.status == "ruled_out" and a.items == ("x",)


def test_steps_story_and_suggestions():
    items = [TracedItem("a", True, 0.9, 0.5, links=("aware",)),
             TracedItem("w", True, 0.6, 0.4, links=("attend",))]
    tr = trace_contribution(0.5, items)
    steps = mayne_steps("The day contributed to fewer KSI", LM, items, tr,
                        rivals=[rival()], further_evidence=["Survey parents"])
    assert steps.further_evidence[0] == "Survey parents"
    text = " ".join(steps.further_evidence)
    assert "Sessions" in text and "Road engineering" in text and "straw in the wind" in text
    assert "smoking-gun" in text
    assert "the day contributed to fewer KSI" in steps.story
    assert "Of its 5 links, 2 are supported" in steps.story
    assert steps.question.startswith("Did the initiative")
    assert steps.link_status()["aware"] == "supported"
    assert [e.id for e in steps.theory_of_change] == ["sessions", "attend", "aware", "ksi", "impact-1"]
    assert steps.assumptions == ("Pupils attend before driving",)


def test_unknown_link_warns():
    items = [TracedItem("a", True, 0.9, 0.5, links=("nope",))]
    steps = mayne_steps("c", LM, items, trace_contribution(0.5, items))
    assert any("'nope'" in w for w in steps.warnings)


def test_rival_links_listed_on_link():
    links = {lk.id: lk for lk in assess_links(LM, [], [rival(links=("ksi",))])}
    assert links["ksi"].rivals == ("eng",) and links["ksi"].status == "untested"
