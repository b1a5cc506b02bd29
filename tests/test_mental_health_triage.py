"""The mental-health-triage worked evaluation: one treated health board against the other 13.

Synthetic data with a known effect (conveyances to A&E per incident x 0.75 in NHS
Lanarkshire from 2019-06; evaluations/mental-health-triage/README.md). The synthetic
control and the synthetic DiD must find a fall of about that size, and say plainly that
with 13 donor boards no placebo p-value can be below 1/14, so no 5% result is possible.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from preveval.cli import app
from support import ROOT, check_pack

HERE = ROOT / "evaluations" / "mental-health-triage"
TRUE_RATE_RATIO = 0.75


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mh") / "pack"
    res = CliRunner().invoke(app, ["run", str(HERE / "evaluation.yaml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_the_pack_conforms_to_the_contract(pack: Path) -> None:
    check_pack(pack)


@pytest.mark.parametrize("aid", ["sc-conveyances", "sdid-conveyances"])
def test_synthetic_comparisons_find_the_true_fall_and_say_what_13_donors_cannot_show(pack: Path, aid: str) -> None:
    doc = json.loads((pack / "results.json").read_text())
    a = doc["analyses"][aid]
    assert a["n_donors"] == 13 and a["min_p_value"] == pytest.approx(1 / 14)
    assert a["p_value"] == pytest.approx(1 / 14)  # Lanarkshire's gap is the most unusual of the 14 boards
    assert a["effect"]["interval_method"] == "placebo_test_inversion" and a["effect"]["ci_low"] is None
    # the fall relative to the synthetic comparison: the truth is 1 - 0.75 = 25%
    series = (pack / "tables" / f"{aid}-series.csv").read_text().splitlines()
    header = series[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in series[1:]]
    synth_post = [float(r["synthetic"]) for r in rows if r["post"] == "True"]
    relative = -a["effect"]["estimate"] / (sum(synth_post) / len(synth_post))
    assert relative == pytest.approx(1 - TRUE_RATE_RATIO, abs=0.05)
    # prevented conveyances: in expectation observed x (1/0.75 - 1)
    p = a["prevented"]
    assert p["total"] == pytest.approx(p["observed"] * (1 / TRUE_RATE_RATIO - 1), rel=0.25)
    report = (pack / "report.md").read_text()
    title = "Synthetic control" if aid.startswith("sc") else "Synthetic difference-in-differences"
    headline = report.split(f"## {title}: ")[1].split("**")[1]
    assert "1/14" in headline and "the smallest possible" in headline and "cannot tell" in headline


def test_sdid_shows_sc_and_did_beside_it_and_keeps_the_unreliable_se_for_comparison(pack: Path) -> None:
    a = json.loads((pack / "results.json").read_text())["analyses"]["sdid-conveyances"]
    assert [e["term"] for e in a["comparison_estimates"]] == ["sdid", "sc", "did"]
    assert all(e["estimate"] < 0 and e["std_error"] > 0 for e in a["comparison_estimates"])
    assert a["inference_comparison"][0]["interval_method"] == "sdid_placebo_se"
    assert any("placebo standard error is unreliable" in w for w in a["warnings"])


def test_the_data_file_is_what_the_seeded_generator_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("mh_generate", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    frame = mod.build()
    frame.to_csv(tmp_path / "triage.csv", index=False, lineterminator="\n", float_format="%.2f")
    assert (tmp_path / "triage.csv").read_bytes() == (HERE / "data" / "triage.csv").read_bytes()
    assert frame["area"].nunique() == 14 and len(frame) == 14 * 96
