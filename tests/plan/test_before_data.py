"""Planning before any post-period data exist: the post period simulated from the pre-period alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from plan_data import panel_frame
from typer.testing import CliRunner

from preveval.cli import app

runner = CliRunner()


def _write(d: Path, analysis: dict, frame: pd.DataFrame, unit: bool) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    frame.to_csv(d / "data.csv", index=False)
    data = {"path": "data.csv", "time": "month", "frequency": "month", **({"unit": "unit"} if unit else {})}
    spec = {"schema_version": 1, "initiative": {"id": "early", "name": "Early plan"},
            "indicators": [{"id": "y", "label": "Falls", "column": "y", "kind": "count", "unit_label": "falls"}],
            "data": data, "analyses": [analysis]}
    (d / "evaluation.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return d / "evaluation.yaml"


def _series(n: int = 48) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    periods = pd.period_range("2016-01", periods=n, freq="M")
    return pd.DataFrame({"month": [str(p) for p in periods], "y": rng.poisson(60, n)})


ITS = {"id": "its", "method": "its", "indicator": "y", "intervention": "2020-01", "impact": "level",
       "family": "poisson", "sensitivity": False, "plausible_effect": -0.2}


def test_an_its_starting_after_the_data_is_planned_from_the_pre_period_alone(tmp_path: Path) -> None:
    f = _write(tmp_path / "ev", ITS, _series(), unit=False)
    assert runner.invoke(app, ["validate", str(f)]).exit_code == 2  # run could not use it yet
    r = runner.invoke(app, ["plan", str(f), "--out", str(tmp_path / "p"), "--simulations", "60", "--workers", "1",
                            "--extra-years", "1"])
    assert r.exit_code == 0, r.output
    assert "the post period is simulated from the periods before it alone" in r.stderr
    a = json.loads((tmp_path / "p" / "plan.json").read_text())["analyses"]["its"]
    assert a["observed_last_period"] == "2019-12" and a["start_period"] == "2020-01"
    assert a["n_post"] == 12 and a["last_period"] == "2020-12" and a["length_curve"]["last_period"][-1] == "2021-12"
    # Poisson counts near 60 a month, 48 months before and 12 after, with a trend: the level
    # change's standard error from the Fisher information (X'WX)^-1 with W = 60, and the MDE
    # (1.96 + 0.84) standard errors, within the Monte Carlo error of 60 simulations
    time = np.arange(1, 61.0)
    X = np.column_stack([np.ones(60), time, (time > 48).astype(float)])
    se = float(np.sqrt(np.linalg.inv(X.T @ X * 60.0)[2, 2]))
    assert abs(-a["mde"] / (2.8016 * se) - 1) < 0.2, (a["mde"], 2.8016 * se)
    md = (tmp_path / "p" / "plan.md").read_text()
    assert "simulated from the months before it" in md


def test_a_staggered_roll_out_yet_to_start_is_planned_and_a_far_typo_is_still_an_error(tmp_path: Path) -> None:
    frame = panel_frame(6, 6, 36, None, count=True)
    first = {f"area-{i:02d}": ("2015-01" if i < 3 else "2015-07") if i < 6 else None for i in range(12)}
    frame["first_treated"] = frame["unit"].map(first)
    cs = {"id": "cs", "method": "did", "indicator": "y", "design": "staggered", "first_treated": "first_treated",
          "robustness": False}
    f = _write(tmp_path / "ev", cs, frame, unit=True)
    r = runner.invoke(app, ["plan", str(f), "--out", str(tmp_path / "p"), "--simulations", "30", "--workers", "1",
                            "--extra-years", "1"])
    assert r.exit_code == 0, r.output
    a = json.loads((tmp_path / "p" / "plan.json").read_text())["analyses"]["cs"]
    assert a["status"] == "planned" and a["observed_last_period"] == "2014-12" and a["mde"] < 0
    f = _write(tmp_path / "typo", {**ITS, "intervention": "2061-01"}, _series(), unit=False)
    r = runner.invoke(app, ["plan", str(f), "--out", str(tmp_path / "q"), "--simulations", "30"])
    assert r.exit_code == 2 and "outside the data" in r.stderr and not (tmp_path / "q").exists()
