"""The worked portfolio: twelve council evaluations of the road safety day (SYNTHETIC data).

Fast: the committed files are what the seeded generator makes, and every evaluation is valid.
Slow: the portfolio on a two-worker local cluster gives every pack a sequential run gives,
each pack passes check-pack, the hub pools all twelve, and a meta-regression on rurality
recovers the true gradient log(0.80 / 0.90) within its 95% interval.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

import preveval as pv
from preveval.pack import write_pack
from support import ROOT, SHARED

HERE = ROOT / "evaluations" / "portfolio-road-safety"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("portfolio_generate", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_committed_files_are_what_the_generator_makes(tmp_path: Path) -> None:
    gen = _generator()
    gen.main(tmp_path)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(made) == 12 * 2 + 1
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (HERE / rel).read_bytes(), rel
    councils = pd.read_csv(HERE / "councils.csv")
    assert dict(zip(councils["rurality"], councils["true_rate_ratio"], strict=False)) == gen.TRUE_RR
    for folder in councils["folder"]:
        ev = pv.load(HERE / folder / "evaluation.yaml")
        assert ev.spec.initiative.id == "road-safety-day"


@pytest.mark.slow
def test_the_portfolio_recovers_the_rurality_gradient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", "from preveval.cli import main; main()", "portfolio",
                           "evaluations/portfolio-road-safety", "--out", str(out), "--workers", "2"],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    record = json.loads((out / "portfolio.json").read_text())
    assert record["counts"] == {"ok": 12, "invalid": 0, "failed": 0}
    for rec in record["evaluations"]:
        pack = out / rec["id"]
        assert rec["id"] == f"road-safety-day-{rec['folder']}"
        seq = write_pack(pv.load(rec["loaded_as"]).run(), tmp_path / "sequential" / rec["id"])
        assert (pack / "results.json").read_bytes() == (seq / "results.json").read_bytes(), rec["id"]
        check = subprocess.run([sys.executable, str(SHARED / "tools" / "check-pack"), str(pack)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout

    from preveval.hub import query_hub, studies

    [sec] = query_hub(out / "hub", "road-safety-day")["pooled"]
    assert sec["k"] == 12 and sec["mismatches"] == [] and sec["not_pooled"] == []
    st = studies(out / "hub", "road-safety-day").merge(pd.read_csv(HERE / "councils.csv"), left_on="label",
                                                      right_on="council")
    assert len(st) == 12
    fit = pv.meta_regression(st["estimate"], st["std_error"], st[["rural"]], labels=st["label"])
    slope = next(c for c in fit.coefficients if c.term == "rural")
    assert slope.ci_low <= math.log(0.80 / 0.90) <= slope.ci_high
    assert slope.ci_high < 0  # rural councils gain more, and the data can tell
    urban = next(c for c in fit.coefficients if c.term == "intercept")
    assert urban.ci_low <= math.log(0.90) <= urban.ci_high
