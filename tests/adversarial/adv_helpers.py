"""Helpers of the adversarial tests: running the CLI, snapshots of folders, a hostile spec."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner, Result

from preveval.cli import app
from support import SHARED

runner = CliRunner()
CHECK_PACK = SHARED / "tools" / "check-pack"
CLI = [sys.executable, "-c", "from preveval.cli import main; main()"]


def cli(*args: str | Path) -> Result:
    """Run the CLI in this process (typer's CliRunner); stdout and stderr apart."""
    return runner.invoke(app, [str(a) for a in args])


def assert_clean(r: Result | subprocess.CompletedProcess[str], code: int) -> str:
    """The exit code is ``code`` and no Python traceback was printed; returns stderr."""
    got = r.exit_code if isinstance(r, Result) else r.returncode
    err = r.stderr
    out = r.stdout
    assert got == code, f"exit {got}, expected {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert "Traceback" not in err and "Traceback" not in out, err
    return err


def snapshot(d: Path) -> dict[str, bytes | str]:
    """Every entry under ``d`` (hidden ones too): file bytes, 'dir' or 'link -> target'."""
    out: dict[str, bytes | str] = {}
    for p in sorted(d.rglob("*")):
        rel = str(p.relative_to(d))
        if p.is_symlink():
            out[rel] = f"link -> {os.readlink(p)}"
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = p.read_bytes()
    return out


def leftovers(parent: Path) -> list[str]:
    """Hidden entries beside the packs in ``parent``: locks and temporary folders."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def check_pack(pack: Path) -> None:
    """The shared contract checker passes on ``pack``."""
    proc = subprocess.run([sys.executable, str(CHECK_PACK), str(pack)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a ``preveval`` subprocess: Agg backend, no test hook unless given."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("PREVEVAL_TEST_PAUSE_BETWEEN_RENAMES", None)
    env.update(extra)
    return env


HOSTILE_UNITS = ["=1+2", "@SUM(A1)", "+cmd", "-2+3", "\tTabbed", 'Plain, "quoted"']

HOSTILE_SPEC = r'''schema_version: 1
initiative:
  id: hostile
  name: "Hostile \e[31mred\e[0m \u202eevil \x07name"
  description: "See [c](javascript:alert(1)) and ![t](http://evil.example/p.png)\n# Injected heading\n<script>alert(1)</script> <b>bold</b> \r overwrite"
  target_group: "> quoted\n- listed"
  partners:
    - {name: '=HYPERLINK("http://evil.example","click")', role: support, contribution: "@SUM(A1:A9)"}
    - {name: "-2+3", role: lead}
    - {name: "+441234", role: delivery, contribution: "\tcmd"}
indicators:
  - id: events
    label: "Events | [x](http://evil.example) *bold* <i>"
    column: events
    kind: count
    desired: decrease
data:
  path: data.csv
  time: month
  frequency: month
  unit: council
analyses:
  - id: did-events
    method: did
    indicator: events
    design: twfe
    treatment: active
    inference: cluster
contribution:
  claim: "It worked [c](javascript:alert(1))\n# Claim heading"
  prior: 0.5
  rival_explanations:
    - {id: rival, description: "=cmd|' /C calc'!A0"}
  evidence:
    - {id: e1, from_analysis: did-events, p_if_true: 0.8, p_if_false: 0.3, plausible_effect: -2}
economics:
  price_year: 2023
  costs:
    - {item: "=HYPERLINK(\"http://evil.example\")", partner: "@evil partner", amount: 1000}
  unit_values:
    - {indicator: events, value: 500}
'''


def hostile_panel(seed: int = 3) -> pd.DataFrame:
    """Six councils with formula-like names, 24 months, the first three treated from month 13."""
    rng = np.random.default_rng(seed)
    months = pd.period_range("2017-01", periods=24, freq="M")
    rows = []
    for i, u in enumerate(HOSTILE_UNITS):
        for t, m in enumerate(months):
            treated = i < 3 and t >= 12
            rows.append({"council": u, "month": m.strftime("%Y-%m"),
                         "events": int(rng.poisson(30 * np.exp(0.1 * i - 0.25 * treated))),
                         "active": int(treated), "population": 50_000 + 1_000 * i})
    return pd.DataFrame(rows)


def write_hostile(d: Path) -> Path:
    """A valid evaluation full of hostile text in ``d``; returns the YAML path."""
    hostile_panel().to_csv(d / "data.csv", index=False)
    (d / "evaluation.yaml").write_text(HOSTILE_SPEC)
    return d / "evaluation.yaml"
