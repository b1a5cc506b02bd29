"""The home-safety-hub worked evaluation: one treated rural area, rare events, a true 20% fall.

The pack must say the data cannot tell (or find the effect) without calling the claim
unlikely, warn about the single treated area, and give an interval of fires prevented that
contains the true number the generator knows.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from preveval.cli import app
from support import ROOT, check_pack

HERE = ROOT / "evaluations" / "home-safety-hub"


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hsh") / "pack"
    res = CliRunner().invoke(app, ["run", str(HERE / "evaluation.yaml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def _truth() -> float:
    spec = importlib.util.spec_from_file_location("hsh_generate", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return float(mod.simulate()[1])


def test_the_pack_conforms_to_the_contract(pack: Path) -> None:
    check_pack(pack)


def test_it_says_the_data_cannot_tell_and_never_calls_the_claim_unlikely(pack: Path) -> None:
    doc = json.loads((pack / "results.json").read_text())
    c = doc["contribution"]
    assert "unlikely" not in c["label"] and c["posterior"] >= c["prior"] - 0.1
    assert doc["primary"]["verdict"] in ("inconclusive", "supported")
    report = (pack / "report.md").read_text()
    summary = report.split("\n## ")[1]
    assert "unlikely" not in summary
    if doc["primary"]["verdict"] == "inconclusive":
        assert "the data cannot tell" in summary and "would be detected only" in summary
    for item in c["evidence"]:
        if item["from_analysis"]:
            assert item["result"] in ("inconclusive", "supported")


def test_it_warns_about_the_single_treated_area(pack: Path) -> None:
    doc = json.loads((pack / "results.json").read_text())
    assert any("Only one area ran the initiative" in w for w in doc["warnings"])
    assert doc["analyses"]["did-fires"]["n_treated_clusters"] == 1
    assert doc["analyses"]["did-fires"]["effect"]["interval_method"] == "randomization"
    assert "Only one area ran the initiative" in (pack / "report.md").read_text()


def test_the_interval_of_fires_prevented_contains_the_truth(pack: Path) -> None:
    doc = json.loads((pack / "results.json").read_text())
    truth = _truth()
    primary = doc["analyses"][doc["primary"]["analysis"]]
    p = primary["prevented"]
    assert p["ci_low"] <= truth <= p["ci_high"], (p, truth)
    for a in doc["analyses"].values():
        if a.get("prevented"):  # an unbounded interval (null limits) contains it too
            lo, hi = a["prevented"]["ci_low"], a["prevented"]["ci_high"]
            assert (-math.inf if lo is None else lo) <= truth <= (math.inf if hi is None else hi)


def test_the_synthetic_control_says_five_neighbours_cannot_show_an_effect(pack: Path) -> None:
    """Issue: one treated area. Five donors: no placebo p-value below 1/6, so no 5% result."""
    doc = json.loads((pack / "results.json").read_text())
    sc = doc["analyses"]["sc-fires"]
    assert sc["method"] == "synthetic_control" and sc["effect"]["term"] == "att"
    assert sc["n_donors"] == 5 and sc["min_p_value"] == 1 / 6 and sc["p_value"] >= 1 / 6
    assert sc["effect"]["ci_low"] is None and sc["effect"]["interval_method"] == "placebo_test_inversion"
    assert abs(sum(sc["weights"].values()) - 1) < 1e-12 and set(sc["weights"]) == {
        "Aberlor", "Craigmhor", "Dunbrae", "Invercarron", "Kilnaver"}
    assert set(sc["v"]) == {"households 2009-01 to 2013-09", "fires 2012-10 to 2013-09"}
    item = next(i for i in doc["contribution"]["evidence"] if i["from_analysis"] == "sc-fires")
    assert item["result"] == "inconclusive"
    report = (pack / "report.md").read_text()
    section = report.split("## Synthetic control: ")[1].split("\n## ")[0]
    headline = section.split("**")[1]
    top = max(sc["weights"], key=sc["weights"].get)
    assert f"{round(100 * sc['weights'][top])}% {top}" in headline
    assert "1/6" in headline and "cannot tell" in headline and "unlikely" not in headline


def test_the_data_file_is_what_the_seeded_generator_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("hsh_generate2", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    frame, _ = mod.simulate()
    frame.to_csv(tmp_path / "fires.csv", index=False, lineterminator="\n")
    assert (tmp_path / "fires.csv").read_bytes() == (HERE / "data" / "fires.csv").read_bytes()
