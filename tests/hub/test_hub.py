"""The evidence hub: building, adding, matching indicators, pooling, querying and the page.

Packs are made by hand (hub_helpers.fake_pack) so that every number and definition is known;
the portfolio tests and the worked example index real packs.
"""

from __future__ import annotations

import json
import math
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

import preveval as pv
from hub.hub_helpers import Z, analysis, effect, fake_pack, indicator, snapshot
from preveval.cli import app
from preveval.errors import DataError, PackError
from preveval.hub import add_to_hub, build_hub, query_hub, studies

runner = CliRunner()

# three councils that agree on the indicator, on the log scale, with known effects and SEs
EFFECTS = {"glenardoch": (-0.22, 0.08), "harbourgate": (-0.05, 0.07), "millbank": (-0.12, 0.075)}


@pytest.fixture
def packs(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, (est, se) in EFFECTS.items():
        out[name] = fake_pack(tmp_path / "packs" / name, area=f"{name.title()} (council area)",
                              analyses={"did": analysis("ksi", effect(est, se))}, primary="did")
    return out


def test_build_then_add_is_byte_for_byte_a_build_from_scratch(tmp_path: Path, packs: dict[str, Path]) -> None:
    a, b, c = packs.values()
    build_hub([a, b, c], tmp_path / "all")
    build_hub([a], tmp_path / "step")
    add_to_hub(tmp_path / "step", [b])
    add_to_hub(tmp_path / "step", [c, a])  # a pack already held is read again, not doubled
    whole, step = snapshot(tmp_path / "all"), snapshot(tmp_path / "step")
    assert set(whole) == {".preveval-pack.json", "hub.sqlite", "index.html"}
    assert whole == step
    # the CLI gives the same too (adding in another order)
    assert runner.invoke(app, ["hub", "build", str(c), "--out", str(tmp_path / "cli")]).exit_code == 0
    res = runner.invoke(app, ["hub", "add", str(tmp_path / "cli"), str(b), str(a)])
    assert res.exit_code == 0, res.output
    assert snapshot(tmp_path / "cli") == whole


def test_the_pooled_estimate_is_pool_of_the_primary_effects(tmp_path: Path, packs: dict[str, Path]) -> None:
    build_hub(list(packs.values()), tmp_path / "hub")
    doc = query_hub(tmp_path / "hub", "road-safety-day")
    [sec] = doc["pooled"]
    ref = pv.pool([e for e, _ in EFFECTS.values()], [s for _, s in EFFECTS.values()], method="REML")
    got = sec["pooled"]
    for k in ("estimate", "std_error", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2"):
        assert got[k] == pytest.approx(getattr(ref, k), abs=1e-12), k
    assert got["ratio"] == pytest.approx(math.exp(ref.estimate))
    assert sec["k"] == 3 and {m["label"] for m in sec["members"]} == {"Glenardoch", "Harbourgate", "Millbank"}
    assert all(m["se_source"] == "std_error" for m in sec["members"])
    assert sum(m["weight"] for m in sec["members"]) == pytest.approx(100)
    frame = studies(tmp_path / "hub", "road-safety-day")
    assert list(frame["estimate"]) == [e for e, _ in EFFECTS.values()]


def test_mismatched_indicators_are_listed_not_pooled(tmp_path: Path, packs: dict[str, Path]) -> None:
    odd = {
        "label": dict(indicators=[indicator("ksi", label="All drivers injured")]),
        "desired": dict(indicators=[indicator("ksi", desired="increase")]),
        "kind": dict(indicators=[indicator("ksi", kind="rate")]),
        "scale": dict(analyses={"did": analysis("ksi", effect(-1.5, 0.5, scale="difference"))}),
        "rate_per": dict(analyses={"did": analysis("ksi", effect(-0.1, 0.05), rate_per=1000.0)}),
        "exposure": dict(analyses={"did": analysis("ksi", effect(-0.1, 0.05), exposure="households")}),
    }
    made = [fake_pack(tmp_path / "odd" / f, area=f"Odd {f}", **kw) for f, kw in odd.items()]
    build_hub([*packs.values(), *made], tmp_path / "hub")
    doc = query_hub(tmp_path / "hub", "road-safety-day")
    [sec] = doc["pooled"]
    assert {m["label"] for m in sec["members"]} == {"Glenardoch", "Harbourgate", "Millbank"}
    assert sec["pooled"]["k"] == 3
    listed = {m["label"]: m["differences"] for m in doc["mismatches"]}
    assert set(listed) == {f"Odd {f}" for f in odd}
    for f in odd:
        assert [d.split(":")[0] for d in listed[f"Odd {f}"]] == [f], listed[f"Odd {f}"]
    assert listed["Odd label"] == ["label: 'Young drivers injured' vs 'All drivers injured'"]
    page = (tmp_path / "hub" / "index.html").read_text()
    assert "Indicators that do not match" in page and "All drivers injured" in page
    con = sqlite3.connect(tmp_path / "hub" / "hub.sqlite")
    assert con.execute("SELECT count(*) FROM pool_exclusions WHERE kind = 'mismatch'").fetchone() == (6,)
    assert con.execute("SELECT k FROM pools").fetchall() == [(3,)]
    con.close()


def test_a_missing_standard_error_is_derived_from_the_interval_and_said(tmp_path: Path,
                                                                       packs: dict[str, Path]) -> None:
    boot = fake_pack(tmp_path / "boot", area="Bootstrapped", primary="did",
                     analyses={"did": analysis("ksi", effect(-0.3, None, lo=-0.5, hi=-0.02))})
    limit = analysis("ksi", effect(-0.3, None, lo=-6.9, hi=0.1, how="randomization"))
    limit["randomization"] = {"at_search_limit": True}
    capped = fake_pack(tmp_path / "capped", area="At the limit", analyses={"ri": limit})
    build_hub([*packs.values(), boot, capped], tmp_path / "hub")
    [sec] = query_hub(tmp_path / "hub", "road-safety-day")["pooled"]
    m = next(m for m in sec["members"] if m["label"] == "Bootstrapped")
    assert m["std_error"] == pytest.approx(0.48 / (2 * Z))
    assert m["se_source"].startswith("derived from the 95% interval (wild_cluster_score_bootstrap)")
    assert [e["label"] for e in sec["not_pooled"]] == ["At the limit"]
    assert "search limit" in sec["not_pooled"][0]["reason"]
    ests = [*(e for e, _ in EFFECTS.values()), -0.3]
    ses = [*(s for _, s in EFFECTS.values()), 0.48 / (2 * Z)]
    assert sec["pooled"]["estimate"] == pytest.approx(pv.pool(ests, ses).estimate, abs=1e-10)
    page = (tmp_path / "hub" / "index.html").read_text()
    assert "SE derived from the 95% interval" in page and "Not pooled: At the limit" in page


def test_a_copied_pack_is_counted_once(tmp_path: Path, packs: dict[str, Path]) -> None:
    import shutil

    copy = shutil.copytree(packs["millbank"], tmp_path / "copy-of-millbank")
    build_hub([*packs.values(), copy], tmp_path / "hub")
    [sec] = query_hub(tmp_path / "hub", "road-safety-day")["pooled"]
    assert sec["k"] == 3 and [e["pack"] for e in sec["not_pooled"]] == ["../packs/millbank"]
    assert "the same as that of ../copy-of-millbank" in sec["not_pooled"][0]["reason"]


def test_the_primary_analysis_is_pooled_else_the_first_of_the_indicator(tmp_path: Path) -> None:
    two = {"its": analysis("ksi", effect(0.5, 0.1), method="its", design=None),
           "did": analysis("ksi", effect(-0.2, 0.1))}
    a = fake_pack(tmp_path / "a", area="A", analyses=two, primary="did")
    b = fake_pack(tmp_path / "b", area="B", analyses=two)  # no primary: the first analysis
    c = fake_pack(tmp_path / "c", area="C", analyses={"other": analysis("fires", effect(0.1, 0.1)),
                                                      "did": analysis("ksi", effect(-0.1, 0.1))},
                  indicators=[indicator("ksi"), indicator("fires", label="Fires")], primary="other")
    build_hub([a, b, c], tmp_path / "hub")
    [sec] = query_hub(tmp_path / "hub", "road-safety-day")["pooled"]  # fires: one pack, no section
    assert [(m["label"], m["analysis_id"]) for m in sec["members"]] == [("A", "did"), ("B", "its"), ("C", "did")]


def test_query_prints_json_only(tmp_path: Path, packs: dict[str, Path]) -> None:
    other = fake_pack(tmp_path / "fire", initiative="home-safety-hub", name="Home safety hub", area="Kilnaver")
    build_hub([*packs.values(), other], tmp_path / "hub")
    res = runner.invoke(app, ["hub", "query", str(tmp_path / "hub"), "--initiative", "road-safety-day", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)  # nothing but JSON on stdout
    assert doc["initiative"] == {"id": "road-safety-day", "name": "Pre-driver road safety day"}
    assert len(doc["packs"]) == 3 and doc["pooled"][0]["pooled"]["k"] == 3 and doc["mismatches"] == []
    p = doc["packs"][0]
    assert p["evidence_rating"]["sms_level"] == 3 and p["headline"]["analysis_id"] == "did"
    assert p["pack"] == "../packs/glenardoch" and len(p["provenance"]["evaluation_sha256"]) == 64
    res = runner.invoke(app, ["hub", "query", str(tmp_path / "hub"), "--json"])
    assert [d["initiative"]["id"] for d in json.loads(res.stdout)["initiatives"]] == ["home-safety-hub",
                                                                                     "road-safety-day"]
    res = runner.invoke(app, ["hub", "query", str(tmp_path / "hub"), "--initiative", "nope", "--json"])
    assert res.exit_code == 2 and res.stdout == ""
    assert "no initiative 'nope'" in res.stderr and "home-safety-hub, road-safety-day" in res.stderr


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_page_is_self_contained_and_escapes_what_packs_say(tmp_path: Path, packs: dict[str, Path]) -> None:
    evil = '<script>alert(1)</script>"><img src=http://x.test/a.png onerror=alert(2)>\x1b[31m'
    bad = fake_pack(tmp_path / "evil", name=evil, area=evil, indicators=[indicator("ksi", label=evil)])
    formula = fake_pack(tmp_path / "formula", area="Formula", indicators=[indicator("ksi", label="=1+2")])
    build_hub([*packs.values(), bad, formula], tmp_path / "hub")
    page = (tmp_path / "hub" / "index.html").read_text()
    p = _Page()
    p.feed(page)
    assert "script" not in p.tags and "link" not in p.tags and "iframe" not in p.tags
    assert 'http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:' in page
    for tag, key, value in p.attrs:
        if key == "src":
            assert tag == "img" and value is not None and value.startswith("data:image/png;base64,")
        if key == "href":
            assert value is not None and (value.startswith("#") or (":" not in value and value.endswith(
                "/report.html"))), value
        assert not key.startswith("on"), (tag, key)
    assert p.tags.count("img") == 1  # the one pooled section's forest plot
    assert "\x1b" not in page and "\\x1b[31m" in page
    text = "".join(p.text)
    assert "<script>alert(1)</script>" in text  # shown as text, not run
    assert "did: =1+2" in text and "did: '=1+2" not in text  # the spreadsheet guard of the CSV is taken off


def test_a_hub_replaces_only_what_preveval_wrote(tmp_path: Path, packs: dict[str, Path]) -> None:
    a = packs["glenardoch"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    res = runner.invoke(app, ["hub", "build", str(a), "--out", str(mine)])
    assert res.exit_code == 2 and "notes.txt" in res.stderr
    assert snapshot(mine) == {"notes.txt": b"keep me"}
    with pytest.raises(PackError, match="is an evaluation pack, not a hub"):
        build_hub([packs["millbank"]], a)
    with pytest.raises(PackError, match="not a hub"):
        add_to_hub(a, [packs["millbank"]])
    hub = build_hub([a], tmp_path / "hub").path
    (hub / "index.html").write_text("edited by hand")
    with pytest.raises(PackError, match="changed since preveval wrote them: index.html"):
        add_to_hub(hub, [packs["millbank"]])
    assert (hub / "index.html").read_text() == "edited by hand"


def test_packs_that_cannot_be_read_are_all_named(tmp_path: Path, packs: dict[str, Path]) -> None:
    changed = packs["millbank"]
    (changed / "results.json").write_text((changed / "results.json").read_text().replace("-0.12", "-0.5"))
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "results.json").write_text("{}")
    with pytest.raises(DataError) as info:
        build_hub([packs["glenardoch"], changed, plain, tmp_path / "missing"], tmp_path / "hub")
    lines = [i.format() for i in info.value.issues]
    assert len(lines) == 3
    assert "results.json was changed after preveval wrote it" in lines[0]
    assert "is not a preveval pack" in lines[1] and "does not exist" in lines[2]
    assert not (tmp_path / "hub").exists()
