"""``preveval plan`` and ``preveval advise`` from the command line: outputs, exit codes, folders."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml
from plan_data import panel_frame
from typer.testing import CliRunner

from preveval.cli import app

runner = CliRunner()


def write_eval(d: Path, analyses: list[dict], frame: pd.DataFrame) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    frame.to_csv(d / "data.csv", index=False)
    spec = {"schema_version": 1, "initiative": {"id": "plan-cli", "name": "Plan CLI"},
            "indicators": [{"id": "y", "label": "Incidents", "column": "y", "kind": "count", "unit_label": "incidents"}],
            "data": {"path": "data.csv", "time": "month", "frequency": "month", "unit": "unit"},
            "analyses": analyses}
    (d / "evaluation.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return d / "evaluation.yaml"


TWFE = {"id": "did-y", "method": "did", "indicator": "y", "design": "twfe", "treatment": "active",
        "family": "poisson", "plausible_effect": -0.2}


def small(tmp_path: Path) -> Path:
    return write_eval(tmp_path / "ev", [TWFE], panel_frame(6, 8, 48, 36, count=True))


def test_plan_writes_plan_json_html_md_deterministically(tmp_path: Path) -> None:
    f = small(tmp_path)
    args = ["plan", str(f), "--simulations", "40", "--extra-years", "1", "--workers", "1"]
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "p1")])
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "p1" / "plan.json").read_text())
    a = doc["analyses"]["did-y"]
    assert doc["n_simulations"] == 40 and doc["seed"] == 20240101
    assert a["status"] == "planned" and a["scale"] == "log"
    assert a["mde"] < 0 and 0 < a["mde_ratio"] < 1 and 0 <= a["power"] <= 1
    assert len(a["power_curve"]["effect"]) == len(a["power_curve"]["power"]) == 21
    assert a["length_curve"]["extra_periods"] == [0, 12]
    assert (tmp_path / "p1" / "plan.html").exists() and (tmp_path / "p1" / "plan.md").exists()
    html = (tmp_path / "p1" / "plan.html").read_text()
    assert "http://" not in html.replace("http://www.w3.org", "") and "Which designs do the data allow?" in html
    md = (tmp_path / "p1" / "plan.md").read_text()
    assert "% reduction" in md and "power" in md
    # the same inputs give the same plan.json, byte for byte, and so do two workers
    r2 = runner.invoke(app, [*args, "--out", str(tmp_path / "p2")])
    assert r2.exit_code == 0
    assert (tmp_path / "p1" / "plan.json").read_bytes() == (tmp_path / "p2" / "plan.json").read_bytes()
    r3 = runner.invoke(app, [*args[:-1], "2", "--out", str(tmp_path / "p3")])
    assert r3.exit_code == 0, r3.output
    assert (tmp_path / "p1" / "plan.json").read_bytes() == (tmp_path / "p3" / "plan.json").read_bytes()
    # a different seed gives a different plan
    r4 = runner.invoke(app, [*args, "--seed", "7", "--out", str(tmp_path / "p4")])
    assert r4.exit_code == 0
    assert json.loads((tmp_path / "p4" / "plan.json").read_text())["analyses"]["did-y"]["mde"] != a["mde"]
    # an earlier plan is replaced
    r5 = runner.invoke(app, [*args, "--out", str(tmp_path / "p1")])
    assert r5.exit_code == 0, r5.output


def test_bad_input_exits_2_with_file_line_col_and_writes_nothing(tmp_path: Path) -> None:
    f = write_eval(tmp_path / "ev", [{**TWFE, "treatment": "no_such_column"}], panel_frame(3, 3, 24, 12, count=True))
    r = runner.invoke(app, ["plan", str(f), "--out", str(tmp_path / "p"), "--simulations", "20"])
    assert r.exit_code == 2
    assert f"{f}:" in r.stderr and "no_such_column" in r.stderr and "Traceback" not in r.output + r.stderr
    assert not (tmp_path / "p").exists()
    r = runner.invoke(app, ["advise", str(f)])
    assert r.exit_code == 2 and "no_such_column" in r.stderr


def test_plan_refuses_a_pack_and_a_folder_of_other_files(tmp_path: Path) -> None:
    f = small(tmp_path)
    pack = tmp_path / "pack"
    assert runner.invoke(app, ["run", str(f), "--out", str(pack)]).exit_code == 0
    before = sorted(p.name for p in pack.rglob("*"))
    r = runner.invoke(app, ["plan", str(f), "--out", str(pack), "--simulations", "20"])
    assert r.exit_code == 2 and "evaluation pack, not a plan" in r.stderr
    assert sorted(p.name for p in pack.rglob("*")) == before
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    r = runner.invoke(app, ["plan", str(f), "--out", str(other), "--simulations", "20"])
    assert r.exit_code == 2 and (other / "notes.txt").read_text() == "keep me"


def test_advise_prints_a_block_that_validates_when_pasted(tmp_path: Path) -> None:
    frame = panel_frame(6, 8, 48, [24, 24, 24, 36, 36, 36], count=True)
    f = write_eval(tmp_path / "ev", [TWFE], frame)
    r = runner.invoke(app, ["advise", str(f)])
    assert r.exit_code == 0, r.output
    block = yaml.safe_load(r.stdout)
    assert block["analyses"][0]["design"] == "staggered"
    spec = yaml.safe_load(f.read_text())
    spec["analyses"] = block["analyses"]
    f.write_text(yaml.safe_dump(spec, sort_keys=False))
    v = runner.invoke(app, ["validate", str(f)])
    assert v.exit_code == 0, v.stderr


def test_run_refuses_a_plan_folder_and_leaves_the_plan_as_it_was(tmp_path: Path) -> None:
    f = small(tmp_path)
    r = runner.invoke(app, ["plan", str(f), "--simulations", "20", "--extra-years", "1", "--workers", "1",
                            "--out", str(tmp_path / "plan")])
    assert r.exit_code == 0, r.output
    before = {p.name: p.read_bytes() for p in (tmp_path / "plan").rglob("*") if p.is_file()}
    r = runner.invoke(app, ["run", str(f), "--out", str(tmp_path / "plan")])
    assert r.exit_code == 2
    assert "holds a plan written by preveval plan, not a pack" in r.output and "Traceback" not in r.output
    assert {p.name: p.read_bytes() for p in (tmp_path / "plan").rglob("*") if p.is_file()} == before
