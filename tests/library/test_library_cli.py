"""``preveval library list|search|show`` (tables, filters, --json) and ranked search."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from preveval.cli import app
from preveval.library import templates
from preveval.library_search import expand, stem

runner = CliRunner()
IDS = [t.id for t in templates()]
KEYS = {"id", "name", "level", "partners", "designs", "score"}

#: Everyday queries and the entry a user means by each: it must come first.
EVERYDAY = [
    ("fires in the home", "home-fire-safety-visits"),
    ("house fires", "home-fire-safety-visits"),
    ("young drivers", "road-safety-day"),
    ("domestic abuse", "marac-domestic-abuse"),
    ("domestic violence", "marac-domestic-abuse"),
    ("ASB", "asb-diversionary-activities"),
    ("anti-social behaviour and kids hanging about", "asb-diversionary-activities"),
    ("mental health crisis calls", "mental-health-triage"),
    ("police in schools", "campus-officer"),
    ("drink driving", "drink-drive-seatbelt-campaign"),
    ("seat belts", "drink-drive-seatbelt-campaign"),
    ("bonfire night", "bonfire-deliberate-fires"),
    ("fireworks and fire raising", "bonfire-deliberate-fires"),
    ("older people falling", "falls-prevention-referral"),
    ("ambulance referral after a fall", "falls-prevention-referral"),
    ("rural home safety", "virtual-home-safety-hub"),
    ("youth offending diversion", "youth-diversion-course"),
    ("fire station course for teenagers at risk", "fire-youth-course"),
    ("tasking and coordination group", "community-safety-hub"),
    ("MARAC", "marac-domestic-abuse"),
]


def _json(args: list[str]) -> list[dict]:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)  # stdout holds the JSON array and nothing else
    assert isinstance(data, list)
    for rec in data:
        assert set(rec) == KEYS
        assert isinstance(rec["partners"], list) and isinstance(rec["designs"], list)
    return data


@pytest.mark.parametrize(("query", "expected"), EVERYDAY)
def test_everyday_queries_find_the_expected_entry_first(query: str, expected: str) -> None:
    found = _json(["library", "search", query, "--json"])
    assert found, f"nothing found for {query!r}"
    assert found[0]["id"] == expected, [(r["id"], r["score"]) for r in found[:3]]
    scores = [r["score"] for r in found]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)


def test_search_by_design_finds_only_entries_with_that_design() -> None:
    found = _json(["library", "search", "staggered", "--json"])
    staggered = {t.id for t in templates() if t.has_design("staggered")}
    assert found and {r["id"] for r in found} <= staggered
    assert {r["id"] for r in found} == staggered
    sc = _json(["library", "search", "synthetic control", "--json"])
    assert sc and all("synthetic_control:abadie" in r["designs"] or "synthetic_control:sdid" in r["designs"]
                      for r in sc[:3])


def test_search_without_a_match_is_empty_and_says_so() -> None:
    assert _json(["library", "search", "zzyzx quokka", "--json"]) == []
    res = runner.invoke(app, ["library", "search", "zzyzx quokka"])
    assert res.exit_code == 0 and "No library entry matches" in res.stdout


def test_stemmer_and_synonyms() -> None:
    assert stem("fires") == stem("fire")
    assert stem("drivers") == stem("driver") == stem("driving")
    assert stem("falls") == stem("fall")
    assert stem("setting") == stem("set")
    assert stem("antisocial") in expand("ASB") and stem("behaviour") in expand("ASB")
    assert stem("seatbelt") in expand("seat belts")
    assert set(expand("fires in the home")) >= {stem("dwelling"), stem("fire")}
    assert "in" not in expand("fires in the home") and "the" not in expand("fires in the home")


def test_list_json_is_every_entry_sorted_with_null_scores() -> None:
    data = _json(["library", "list", "--json"])
    assert [r["id"] for r in data] == sorted(IDS)
    assert all(r["score"] is None for r in data)
    assert all(r["level"] in ("primary", "secondary", "tertiary") for r in data)


def test_show_json_is_one_entry() -> None:
    data = _json(["library", "show", "falls-prevention-referral", "--json"])
    assert [r["id"] for r in data] == ["falls-prevention-referral"]
    assert "Scottish Ambulance Service" in data[0]["partners"]


@pytest.mark.parametrize("columns", ["60", "200"])
def test_list_never_truncates_ids(columns: str) -> None:
    res = runner.invoke(app, ["library", "list"], env={"COLUMNS": columns})
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "…" not in out
    for tid in IDS:
        assert re.search(rf"(^|[\s│|]){re.escape(tid)}([\s│|]|$)", out, re.M), f"id {tid} cut at {columns} columns"
    if columns == "60":
        assert max(len(line) for line in out.splitlines()) <= 60
    header = next(line for line in out.splitlines() if "id" in line and "initiative" in line)
    assert header.index("id") < header.index("initiative")


def test_list_filters() -> None:
    tertiary = _json(["library", "list", "--level", "tertiary", "--json"])
    assert tertiary and all(r["level"] == "tertiary" for r in tertiary)
    amb = _json(["library", "list", "--partner", "ambulance", "--json"])
    assert "falls-prevention-referral" in {r["id"] for r in amb}
    assert all(any("ambulance" in p.lower() for p in r["partners"]) or r["id"] in {
        t.id for t in templates() if t.has_partner("ambulance")} for r in amb)
    sc = _json(["library", "list", "--design", "synthetic_control", "--json"])
    assert sc and all(any(d.startswith("synthetic_control") for d in r["designs"]) for r in sc)
    both = _json(["library", "list", "--design", "staggered", "--partner", "fire", "--json"])
    assert both and all("did:staggered" in r["designs"] for r in both)
    assert _json(["library", "search", "fire", "--level", "tertiary", "--json"]) == []


@pytest.mark.parametrize(("option", "value", "hint"), [("--level", "primery", "primary"),
                                                       ("--design", "synthetc", "synthetic_control")])
def test_bad_filter_is_exit_2_with_a_hint(option: str, value: str, hint: str) -> None:
    for command in (["library", "list"], ["library", "search", "fire"]):
        res = runner.invoke(app, [*command, option, value, "--json"])
        assert res.exit_code == 2 and res.stdout == ""
        assert option in res.stderr and hint in res.stderr and "Traceback" not in res.output


def test_show_prints_the_card() -> None:
    res = runner.invoke(app, ["library", "show", "virtual-home-safety-hub"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    for heading in ("Partners you need", "Logic model", "Indicators and data", "Recommended design",
                    "Plausible effect", "Costs to record", "Rival explanations"):
        assert heading in out
    assert "[in-line]" in out  # text in square brackets is printed literally, not read as markup
    assert "source: Fire and rescue service incident recording system" in out


def test_show_unknown_id_suggests() -> None:
    res = runner.invoke(app, ["library", "show", "road-safety"])
    assert res.exit_code == 2
    assert "road-safety-day" in res.stderr
