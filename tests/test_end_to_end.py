"""End to end: the CLI and the Python API on the worked evaluations and a small example."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import preveval as pv
from preveval.cli import app
from support import ROOT, SPEC, check_pack, series_frame

runner = CliRunner()
WORKED = sorted(p.parent for p in (ROOT / "evaluations").glob("*/evaluation.yaml"))


def test_console_script_runs_and_writes_a_pack(evaluation_dir: Path) -> None:
    pack = evaluation_dir / "out" / "pack"
    proc = subprocess.run(["preveval", "run", str(evaluation_dir / "evaluation.yaml"), "--out", str(pack)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    check_pack(pack)
    doc = json.loads((pack / "results.json").read_text())
    eff = doc["analyses"]["its-events"]["effect"]
    assert eff["term"] == "level_change" and eff["scale"] == "log"
    # the simulated drop is exp(-0.2) = 0.82: the CI should cover it
    assert eff["ci_low"] < -0.2 < eff["ci_high"]
    html = (pack / "report.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    assert not [p for p in pack.parent.iterdir() if p.name.startswith(".")]


def test_running_twice_gives_identical_results_json(evaluation_dir: Path) -> None:
    ev = pv.load(evaluation_dir / "evaluation.yaml")
    a = ev.run().write_pack(evaluation_dir / "a")
    b = pv.load(evaluation_dir / "evaluation.yaml").run().write_pack(evaluation_dir / "b")
    assert (a / "results.json").read_bytes() == (b / "results.json").read_bytes()
    assert sorted(p.name for p in (a / "figures").iterdir()) == sorted(p.name for p in (b / "figures").iterdir())


def test_rerun_replaces_an_existing_pack_but_never_a_file_it_did_not_write(evaluation_dir: Path) -> None:
    pack = evaluation_dir / "pack"
    res = pv.load(evaluation_dir / "evaluation.yaml").run()
    res.write_pack(pack)
    res.write_pack(pack)  # its own pack, untouched: replaced
    check_pack(pack)
    (pack / "figures" / "stale.png").write_bytes(b"x")
    with pytest.raises(pv.PackError, match="stale.png"):
        res.write_pack(pack)
    assert (pack / "figures" / "stale.png").read_bytes() == b"x"


def test_validate_and_version(evaluation_dir: Path) -> None:
    r = runner.invoke(app, ["validate", str(evaluation_dir / "evaluation.yaml")])
    assert r.exit_code == 0 and "is valid" in r.stdout
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout.strip() == f"preveval {pv.__version__}"


def test_schema_is_json_schema() -> None:
    r = runner.invoke(app, ["schema"])
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["additionalProperties"] is False
    assert {"schema_version", "initiative", "indicators", "data", "analyses"} <= set(doc["properties"])


def test_python_api_from_dict_leaves_the_frame_alone() -> None:
    frame = series_frame()
    original = frame.copy()
    spec = yaml.safe_load(SPEC.replace("intervention: 2019-01", "intervention: '2019-01'"))
    ev = pv.from_dict(spec, frame)
    res = ev.run()
    pd.testing.assert_frame_equal(frame, original)
    summary = res.summary()
    assert list(summary["analysis"]) == ["its-events"]
    assert res.analyses["its-events"].coefficient_frame()["term"].tolist()[:2] == ["const", "time"] or \
        "level_change" in res.analyses["its-events"].coefficient_frame()["term"].tolist()
    html = res._repr_html_()
    assert "Test initiative" in html and "<table" in html
    assert res.to_dict()["analyses"]["its-events"]["method"] == "its"


def test_python_api_errors_are_raised_with_issues() -> None:
    spec = yaml.safe_load(SPEC)
    spec["analyses"][0]["family"] = "poison"
    with pytest.raises(pv.SpecError) as exc:
        pv.from_dict(spec, series_frame())
    assert exc.value.issues[0].path == "analyses[0].family"
    assert "did you mean 'poisson'" in exc.value.issues[0].format()


def test_excel_and_parquet_read_like_csv(evaluation_dir: Path) -> None:
    base = pv.load(evaluation_dir / "evaluation.yaml").run().to_dict()["analyses"]
    frame = series_frame()
    for suffix in (".xlsx", ".parquet"):
        path = evaluation_dir / f"data{suffix}"
        frame.to_excel(path, index=False) if suffix == ".xlsx" else frame.to_parquet(path, index=False)
        text = (evaluation_dir / "evaluation.yaml").read_text().replace("data.csv", f"data{suffix}")
        (evaluation_dir / f"eval{suffix}.yaml").write_text(text)
        got = pv.load(evaluation_dir / f"eval{suffix}.yaml").run().to_dict()["analyses"]
        assert got == base


def test_report_escapes_user_text(evaluation_dir: Path) -> None:
    text = (evaluation_dir / "evaluation.yaml").read_text().replace(
        "name: Police Scotland", "name: \"<script>alert('x')</script>\"")
    (evaluation_dir / "evaluation.yaml").write_text(text)
    pack = pv.load(evaluation_dir / "evaluation.yaml").run().write_pack(evaluation_dir / "pack")
    assert "<script>" not in (pack / "report.html").read_text()
    assert "<script>" not in (pack / "report.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("folder", WORKED, ids=[p.name for p in WORKED])
def test_worked_evaluations_produce_complete_packs(folder: Path, tmp_path: Path) -> None:
    r = runner.invoke(app, ["run", str(folder / "evaluation.yaml"), "--out", str(tmp_path / "pack")])
    assert r.exit_code == 0, r.output
    check_pack(tmp_path / "pack")
    assert (tmp_path / "pack" / "report.html").stat().st_size > 10_000


@pytest.mark.slow
def test_flagship_results_json_is_byte_identical_across_runs(tmp_path: Path) -> None:
    """Seeded bootstrap, simulations and every analysis of road-safety-day repeat exactly."""
    path = ROOT / "evaluations" / "road-safety-day" / "evaluation.yaml"
    a = pv.load(path).run().to_json()
    b = pv.load(path).run().to_json()
    assert a == b
    doc = json.loads(a)
    assert {"its-ksi", "did-ksi", "es-ksi", "cs-ksi"} <= set(doc["analyses"])
    assert doc["analyses"]["es-ksi"]["bootstrap"]["reps"] == 9999
    assert 0 <= doc["contribution"]["posterior"] <= 1


def _two_analysis_spec() -> dict:
    """A staggered analysis (heavy: fitted in the helper process) and a TWFE one (fitted here)."""
    did = {"method": "did", "indicator": "y"}
    return {"schema_version": 1, "initiative": {"id": "t", "name": "Test"},
            "indicators": [{"id": "y", "label": "Outcome", "column": "y", "kind": "continuous"}],
            "data": {"time": "year", "frequency": "year", "unit": "unit"},
            "analyses": [{"id": "cs", "design": "staggered", "first_treated": "first", "reps": 199, "seed": 3, **did},
                         {"id": "twfe", "design": "twfe", "treatment": "d", "robustness": False, **did}]}


def test_helper_process_gives_byte_identical_results_to_one_process() -> None:
    """``run(workers=2)`` fits the staggered analysis in a spawned helper: same results.json, same order."""
    import numpy as np

    from methods.conftest import simulate_panel
    from preveval.pipeline import _start_helper

    df = simulate_panel(40, 10, seed=11, staggered=True, effect=1.0, dynamic=0.4)
    df = df.assign(year=(2000 + df["period"]).astype(str),
                   first=[None if np.isnan(f) else str(int(2000 + f)) for f in df["ft"]])
    ev = pv.from_dict(_two_analysis_spec(), df)
    helper, offload = _start_helper(ev, 2)
    assert helper is not None and offload == {"cs"}  # the parallel route is really taken
    helper[0].shutdown(cancel_futures=True)
    seen: list[str] = []
    parallel = ev.run(progress=seen.append, workers=2)
    sequential = ev.run(workers=1)
    assert parallel.to_json() == sequential.to_json()
    assert list(parallel.analyses) == ["cs", "twfe"] and sorted(seen) == ["cs", "twfe"]
    assert _start_helper(ev, 1) == (None, frozenset())  # one worker: no process


def test_likely_heavy_peeks_at_the_analyses(tmp_path: Path) -> None:
    from preveval.helper import free_workers, likely_heavy

    flagship = ROOT / "evaluations" / "road-safety-day" / "evaluation.yaml"
    assert likely_heavy(flagship) == (True, True)  # its ITS fits a structural model for its sensitivity table
    one = tmp_path / "one.yaml"
    one.write_text(SPEC, encoding="utf-8")
    assert likely_heavy(one) == (False, False)  # a single analysis: nothing to overlap the helper with
    two = tmp_path / "two.yaml"
    two.write_text(yaml.safe_dump(_two_analysis_spec()), encoding="utf-8")
    assert likely_heavy(two) == (True, False)  # a staggered DiD and no ITS: statsmodels is not needed
    bad = tmp_path / "bad.yaml"
    bad.write_text("analyses: [unclosed", encoding="utf-8")
    assert likely_heavy(bad) == likely_heavy(tmp_path / "missing.yaml") == (False, False)
    assert free_workers() in (1, 2)


def test_an_its_with_a_structural_sensitivity_row_is_heavy() -> None:
    from preveval.pipeline import heavy_analysis

    its = pv.load(ROOT / "evaluations" / "road-safety-day" / "evaluation.yaml").spec.analyses[0]
    assert its.method == "its" and heavy_analysis(its)
    assert not heavy_analysis(its.model_copy(update={"sensitivity": False}))


def test_free_workers_is_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from preveval.helper import free_workers

    monkeypatch.delenv("PREVEVAL_WORKERS", raising=False)
    assert free_workers() == 1
    monkeypatch.setenv("PREVEVAL_WORKERS", "2")
    assert free_workers() == (2 if (os.cpu_count() or 1) >= 2 else 1)


def test_cli_with_the_helper_writes_the_same_results_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``PREVEVAL_WORKERS=2 preveval run``: the helper started before loading, the same results.json."""
    import numpy as np

    from methods.conftest import simulate_panel

    df = simulate_panel(40, 10, seed=11, staggered=True, effect=1.0, dynamic=0.4)
    df = df.assign(year=(2000 + df["period"]).astype(str),
                   first=[None if np.isnan(f) else str(int(2000 + f)) for f in df["ft"]])
    df[["unit", "year", "first", "d", "y"]].to_csv(tmp_path / "panel.csv", index=False)
    doc = _two_analysis_spec()
    doc["data"]["path"] = "panel.csv"
    doc["initiative"]["partners"] = [{"name": "Police Scotland", "role": "lead"}]
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    packs = {}
    for workers in ("2", "1"):
        monkeypatch.setenv("PREVEVAL_WORKERS", workers)
        r = runner.invoke(app, ["run", str(tmp_path / "e.yaml"), "--out", str(tmp_path / f"pack{workers}")])
        assert r.exit_code == 0, r.output
        packs[workers] = (tmp_path / f"pack{workers}" / "results.json").read_bytes()
    assert packs["2"] == packs["1"]


def test_the_flagship_with_its_its_in_the_helper_gives_the_same_results_json() -> None:
    """The flagship's ITS (statsmodels' structural model in its sensitivity table) and its staggered
    DiD go to the helper, the other two stay: the same results.json as in one process."""
    from preveval.pipeline import _start_helper

    ev = pv.load(ROOT / "evaluations" / "road-safety-day" / "evaluation.yaml")
    helper, offload = _start_helper(ev, 2)
    assert helper is not None and offload == {"its-ksi", "cs-ksi"}
    helper[0].shutdown(cancel_futures=True)
    assert ev.run(workers=2).to_json() == ev.run().to_json()
