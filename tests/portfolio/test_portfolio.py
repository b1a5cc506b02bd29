"""Portfolio runs on Dask: the same packs as sequential runs, failures recorded, the hub built.

The main test runs ``preveval portfolio`` as a user would (a subprocess, a local cluster of
two worker processes) over three small evaluations: two that share an initiative id and one
whose file is invalid. Every pack written is compared with a sequential run of the same file
through the public API. The other outcomes of one evaluation (a crash, a pack folder holding
a file preveval did not write) are tested on the task itself, in this process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import preveval as pv
from preveval.cli import app
from preveval.pack import write_pack
from preveval.portfolio import discover, run_job
from preveval.portfolio.record import exit_code
from support import SPEC, series_frame

runner = CliRunner()
CLI = [sys.executable, "-c", "from preveval.cli import main; main()"]


def write_evaluation(folder: Path, *, seed: int = 1, spec: str = SPEC) -> Path:
    """An evaluation of the small test spec (tests/support.py) with its own seeded data."""
    folder.mkdir(parents=True)
    (folder / "evaluation.yaml").write_text(spec)
    series_frame(seed=seed).to_csv(folder / "data.csv", index=False)
    return folder / "evaluation.yaml"


@pytest.fixture
def portfolio(tmp_path: Path) -> Path:
    root = tmp_path / "evals"
    write_evaluation(root / "north", seed=1)
    write_evaluation(root / "south", seed=2)
    write_evaluation(root / "broken", spec=SPEC.replace("kind: count", "kind: counts"))
    return root


def test_portfolio_on_two_workers_matches_sequential_runs(tmp_path: Path, portfolio: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    done = subprocess.run([*CLI, "portfolio", "evals", "--out", "out", "--workers", "2"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr  # an invalid input: exit 2
    assert "Traceback" not in done.stderr
    record = json.loads((tmp_path / "out" / "portfolio.json").read_text())
    assert record["scheduler"] == "local Dask cluster (2 worker processes)" and record["exit_code"] == 2
    by_id = {e["id"]: e for e in record["evaluations"]}
    assert [e["folder"] for e in record["evaluations"]] == ["broken", "north", "south"]
    assert set(by_id) == {"test-initiative-broken", "test-initiative-north", "test-initiative-south"}
    assert record["counts"] == {"ok": 2, "invalid": 1, "failed": 0}
    broken = by_id["test-initiative-broken"]
    assert broken["status"] == "invalid" and broken["pack"] is None
    assert re.match(r"evals/broken/evaluation\.yaml:\d+:\d+: indicators\[0\]\.kind: ", broken["errors"][0])
    assert broken["errors"][0] in done.stderr
    assert not (tmp_path / "out" / "test-initiative-broken").exists()

    monkeypatch.chdir(tmp_path)  # the sequential runs name the files as the portfolio did
    for pid in ("test-initiative-north", "test-initiative-south"):
        rec = by_id[pid]
        assert rec["status"] == "ok" and rec["pack"] == pid and rec["loaded_as"] == rec["file"]
        seq = write_pack(pv.load(rec["loaded_as"]).run(), tmp_path / "sequential" / pid)
        got = tmp_path / "out" / pid
        assert (got / "results.json").read_bytes() == (seq / "results.json").read_bytes()
        # the manifest holds every file's hash: the whole pack is the same
        assert (got / ".preveval-pack.json").read_bytes() == (seq / ".preveval-pack.json").read_bytes()

    assert record["hub"] == {"status": "ok", "path": "hub", "packs": 2, "pooled": 1, "mismatches": 0,
                             "errors": []}
    page = (tmp_path / "out" / "hub" / "index.html").read_text()
    assert 'href="../test-initiative-north/report.html"' in page and "Pooled: Test initiative: Events" in page


def test_the_exit_code_says_invalid_before_failed() -> None:
    ok, bad, crash = ({"status": s} for s in ("ok", "invalid", "failed"))
    assert exit_code([ok, ok], "ok") == 0
    assert exit_code([ok, crash], "ok") == 1
    assert exit_code([crash, bad, ok], "ok") == 2
    assert exit_code([ok], "invalid") == 2


def test_a_crash_or_a_blocked_pack_is_recorded_not_raised(tmp_path: Path, portfolio: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    job = discover(portfolio)[1]
    blocked = tmp_path / "out" / job.id
    blocked.mkdir(parents=True)
    (blocked / "notes.txt").write_text("mine")
    here = os.path.abspath(os.getcwd())
    rec = run_job(job, str(tmp_path / "out"), here)
    assert rec["status"] == "invalid" and "notes.txt" in rec["errors"][0]  # preveval run exits 2 here too
    assert sorted(os.listdir(blocked)) == ["notes.txt"]

    def boom(path: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(pv, "load", boom)
    rec = run_job(job, str(tmp_path / "out"), here)
    assert rec["status"] == "failed" and rec["errors"] == ["internal error (RuntimeError: boom)"]
    assert rec["loaded_as"] == job.file
    rec = run_job(job, str(tmp_path / "out"), "/somewhere/else")  # a worker in another working folder
    assert rec["loaded_as"] == job.absolute


def test_pack_names_are_the_initiative_ids_told_apart_by_folder(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_evaluation(root / "a" / "x")
    write_evaluation(root / "b" / "x")
    write_evaluation(root / "hub", spec=SPEC.replace("id: test-initiative", "id: hub"))
    write_evaluation(root / "Odd Name!", spec="initiative: [not, a, mapping]\n")
    write_evaluation(root / "solo", spec=SPEC.replace("id: test-initiative", "id: solo-initiative"))
    write_evaluation(root / ".hidden")
    jobs = discover(root)
    assert [(j.folder, j.id) for j in jobs] == [
        ("Odd Name!", "odd-name"),  # no readable id: the folder's name
        ("a/x", "test-initiative-a-x"),
        ("b/x", "test-initiative-b-x"),
        ("hub", "hub-2"),  # "hub" is where the portfolio's hub goes
        ("solo", "solo-initiative"),
    ]
    assert jobs[1].file == str(root / "a" / "x" / "evaluation.yaml")


def test_portfolio_input_problems_stop_before_any_run(tmp_path: Path, portfolio: Path) -> None:
    res = runner.invoke(app, ["portfolio", str(portfolio), "--out", str(tmp_path / "o"), "--workers", "2",
                              "--scheduler", "tcp://127.0.0.1:1"])
    assert res.exit_code == 2 and "not both" in res.output
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(app, ["portfolio", str(empty), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "no evaluation.yaml" in res.stderr
    out = tmp_path / "taken"
    out.mkdir()
    (out / "portfolio.json").write_text('{"mine": true}')
    res = runner.invoke(app, ["portfolio", str(portfolio), "--out", str(out)])
    assert res.exit_code == 2 and "portfolio.json that preveval did not write" in res.stderr
    assert sorted(os.listdir(out)) == ["portfolio.json"]


@pytest.mark.slow
def test_portfolio_on_an_existing_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from distributed import Client, LocalCluster

    from preveval.portfolio import run_portfolio

    write_evaluation(tmp_path / "evals" / "north")
    monkeypatch.chdir(tmp_path)
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster):
        res = run_portfolio("evals", "out", scheduler=cluster.scheduler_address)
    assert res.exit_code == 0 and res.scheduler.startswith("Dask cluster at tcp://")
    seq = write_pack(pv.load("evals/north/evaluation.yaml").run(), tmp_path / "seq")
    assert (tmp_path / "out" / "test-initiative" / "results.json").read_bytes() == (seq / "results.json").read_bytes()
