"""``contribution.plan``: the plan's simulated power becomes the evidence's p_if_true.

The plan is made with ``preveval plan`` on one evaluation file; the same file, naming the
plan, is then run. Every number the run takes from the plan is recomputed here from
plan.json's detection thresholds, and the analytic route is what remains without a plan.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from preveval.cli import app
from preveval.contribution.assess import FEW_SIMULATIONS, few_simulations_warning
from preveval.plan.power import power_at

runner = CliRunner()

ITS = {"id": "its-y", "method": "its", "indicator": "y", "intervention": "2018-01", "impact": "level",
       "family": "gaussian", "sensitivity": False, "plausible_effect": -2.0}


def write(d: Path, *, plan: str | None = None, item: dict[str, Any] | None = None,
          analysis: dict[str, Any] | None = None) -> Path:
    """A monthly series (white noise, a level fall of 1.5 from 2018) and its evaluation file."""
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    periods = pd.period_range("2015-01", periods=60, freq="M")
    y = 50 + 0.05 * np.arange(60) + 2.0 * rng.standard_normal(60) - 1.5 * (np.arange(60) >= 36)
    pd.DataFrame({"month": [str(p) for p in periods], "y": y.round(3)}).to_csv(d / "data.csv", index=False)
    contribution: dict[str, Any] = {
        "claim": "The service cut response times",
        "evidence": [{"id": "its-evidence", "from_analysis": "its-y", "p_if_false": 0.1, **(item or {})}]}
    if plan is not None:
        contribution = {"plan": plan, **contribution}
    spec = {"schema_version": 1, "initiative": {"id": "link-test", "name": "Link test"},
            "indicators": [{"id": "y", "label": "Response time", "column": "y", "kind": "continuous",
                            "desired": "decrease"}],
            "data": {"path": "data.csv", "time": "month", "frequency": "month"},
            "analyses": [{**ITS, **(analysis or {})}], "contribution": contribution}
    (d / "evaluation.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return d / "evaluation.yaml"


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An evaluation folder with plan/plan.json made by preveval plan (60 simulations)."""
    d = tmp_path_factory.mktemp("link")
    f = write(d)
    r = runner.invoke(app, ["plan", str(f), "--out", str(d / "plan"), "--simulations", "60", "--extra-years", "1",
                            "--workers", "1"])
    assert r.exit_code == 0, r.output
    return d


def run(f: Path, out: Path) -> dict[str, Any]:
    r = runner.invoke(app, ["run", str(f), "--out", str(out)])
    assert r.exit_code == 0, r.output
    return json.loads((out / "results.json").read_text())


def plan_power(d: Path, size: float) -> float:
    """The share of the plan's simulations detecting an effect of ``size``, from plan.json alone."""
    a = json.loads((d / "plan" / "plan.json").read_text())["analyses"]["its-y"]
    t = np.array(a["detection_thresholds"] + [np.inf] * (a["n_simulations"] - len(a["detection_thresholds"])))
    return power_at(t, abs(size))


def test_plan_json_thresholds_give_its_power_and_curve(planned: Path) -> None:
    a = json.loads((planned / "plan" / "plan.json").read_text())["analyses"]["its-y"]
    assert len(a["detection_thresholds"]) <= a["n_simulations"] == 60
    assert a["detection_thresholds"] == sorted(a["detection_thresholds"])
    assert plan_power(planned, a["plausible_effect"]) == a["power"]
    for e, p in zip(a["power_curve"]["effect"], a["power_curve"]["power"], strict=True):
        assert plan_power(planned, e) == p


def test_run_takes_p_if_true_from_the_plan(planned: Path, tmp_path: Path) -> None:
    f = write(planned, plan="plan/plan.json")
    doc = run(f, tmp_path / "pack")
    c = doc["contribution"]
    item = c["evidence"][0]
    plan_doc = json.loads((planned / "plan" / "plan.json").read_text())
    assert item["p_if_true_source"] == "simulation"
    assert item["p_if_true"] == item["power"] == plan_doc["analyses"]["its-y"]["power"]
    assert c["plan"]["file"] == str(planned / "plan" / "plan.json") and c["plan"]["n_simulations"] == 60
    import hashlib

    assert c["plan"]["sha256"] == hashlib.sha256((planned / "plan" / "plan.json").read_bytes()).hexdigest()
    # the bottom line's primary analysis reports the same power
    assert doc["primary"]["power"] == item["power"]
    assert "simulated power of the declared analysis (60 simulations" in item["note"]
    # 60 simulations are few: the run says so, with the Monte Carlo error of that power
    few = [w for w in c["warnings"] if "from only 60 simulations" in w]
    assert len(few) == 1 and f"{item['p_if_true']:.0%}" in few[0] and "--simulations 200" in few[0], c["warnings"]
    assert "from only 60 simulations" in (tmp_path / "pack" / "report.md").read_text(encoding="utf-8")
    # without the plan the same file gives the analytic power of the reported interval
    plain = run(write(tmp_path / "plain"), tmp_path / "pack-plain")["contribution"]["evidence"][0]
    assert plain["p_if_true_source"] == "power" and "plan" not in run(write(tmp_path / "plain"),
                                                                       tmp_path / "p2")["contribution"]
    assert plain["p_if_true"] != item["p_if_true"]
    # a folder naming the plan works too, and gives the same results.json
    f2 = write(planned, plan="plan")
    doc2 = run(f2, tmp_path / "pack2")
    assert doc2["contribution"]["evidence"][0]["p_if_true"] == item["p_if_true"]


def test_an_items_own_plausible_effect_is_read_off_the_thresholds(planned: Path, tmp_path: Path) -> None:
    f = write(planned, plan="plan/plan.json", item={"plausible_effect": -3.0})
    item = run(f, tmp_path / "pack")["contribution"]["evidence"][0]
    assert item["p_if_true_source"] == "simulation"
    assert item["p_if_true"] == plan_power(planned, -3.0)
    assert item["p_if_true"] > json.loads((planned / "plan" / "plan.json").read_text())["analyses"]["its-y"]["power"]


def test_a_changed_analysis_keeps_the_analytic_power_and_says_why(planned: Path, tmp_path: Path) -> None:
    cases = [({"analysis": {"errors": "hac"}}, "inference 'model-based' (now 'Newey-West (HAC)')"),
             ({"analysis": {"transform": "log"}}, "an effect on the difference scale (now log)"),
             ({"analysis": {"id": "its-z"}, "item": {"from_analysis": "its-z"}}, "analysis 'its-z' is not in the plan")]
    for k, (change, why) in enumerate(cases):
        doc = run(write(planned, plan="plan/plan.json", **change), tmp_path / f"pack{k}")
        item = doc["contribution"]["evidence"][0]
        assert item["p_if_true_source"] == "power", change
        assert any("not the plan's simulated power" in w and why in w for w in doc["contribution"]["warnings"]), \
            doc["contribution"]["warnings"]


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    (b"{not json", "is not JSON"),
    (b'{"x": 1}', "not a plan.json"),
    (b'{"schema_version": 9, "analyses": {}}', "schema_version 9 is not supported"),
])
def test_a_bad_plan_is_an_input_error_that_writes_nothing(tmp_path: Path, content: bytes | None,
                                                         message: str) -> None:
    if content is not None:
        (tmp_path / "bad.json").parent.mkdir(parents=True, exist_ok=True)
    f = write(tmp_path, plan="bad.json")
    if content is not None:
        (tmp_path / "bad.json").write_bytes(content)
    for args in (["validate", str(f)], ["run", str(f), "--out", str(tmp_path / "pack")]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2, r.output
        assert f"{f}:" in r.output and "contribution.plan" in r.output and message in r.output
        assert "Traceback" not in r.output
    assert not (tmp_path / "pack").exists()


def test_a_plan_of_enough_simulations_gives_no_warning_about_their_number(planned: Path, tmp_path: Path) -> None:
    d = tmp_path / "big"
    shutil.copytree(planned, d)
    doc = json.loads((d / "plan" / "plan.json").read_text())
    doc["analyses"]["its-y"]["n_simulations"] = doc["n_simulations"] = FEW_SIMULATIONS
    (d / "plan" / "plan.json").write_text(json.dumps(doc), encoding="utf-8")
    c = run(write(d, plan="plan/plan.json"), tmp_path / "pack")["contribution"]
    assert c["evidence"][0]["p_if_true_source"] == "simulation"
    assert not [w for w in c["warnings"] if "simulations, give or take" in w], c["warnings"]


@pytest.mark.parametrize(("power", "n", "share"), [(0.15, 40, "6"), (0.5, 100, "5"), (0.0, 60, "1")])
def test_the_few_simulations_warning_gives_the_monte_carlo_error(power: float, n: int, share: str) -> None:
    text = few_simulations_warning("e1", power, n)
    assert f"{power:.0%}, from only {n} simulations, give or take about {share} percentage points" in text
