"""Helpers of the hub tests: packs made by hand, with exactly the fields a test needs.

:func:`fake_pack` writes a folder that is a pack as far as the hub can tell (results.json,
tables/indicators.csv written as the pack writer writes tables, report.md with the area
bullet, and the manifest over all of them), without running an evaluation, so that a test
can set every number, every definition and every hostile string. Real packs are covered by
the portfolio tests and the worked example.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from preveval.pack.manifest import MANIFEST, manifest_bytes
from preveval.pack.neutralise import md_inline
from preveval.pack.section import TableItem
from preveval.pack.writer import table_csv

Z = 1.959963984540054


def effect(estimate: float, se: float | None, *, lo: float | None = None, hi: float | None = None,
           scale: str = "log", term: str = "att", how: str | None = None) -> dict[str, Any]:
    """An ``effect`` record: a Wald interval from ``se``, or the interval given (``se`` None)."""
    if se is not None:
        lo, hi = estimate - Z * se, estimate + Z * se
    return {"term": term, "estimate": estimate, "std_error": se, "ci_low": lo, "ci_high": hi, "p_value": 0.05,
            "n": 100, "interval_method": how or ("wald_normal" if se is not None else "wild_cluster_score_bootstrap"),
            "df": None, "scale": scale}


def analysis(indicator: str, eff: dict[str, Any], *, method: str = "did", design: str = "twfe",
             rate_per: float | None = 100000.0, exposure: str | None = "population") -> dict[str, Any]:
    """An analysis record of results.json."""
    ratio = None
    if eff["scale"] == "log":
        ratio = {k2: (None if eff[k] is None else math.exp(eff[k]))
                 for k, k2 in (("estimate", "estimate"), ("ci_low", "ci_low"), ("ci_high", "ci_high"))}
    base = None if exposure is None else {"value": 5.0, "period": "month", "periods": 36, "rate_per": rate_per,
                                          "exposure": exposure, "per_area": True}
    return {"method": method, "design": design, "n_obs": 100, "effect": eff, "indicator": indicator, "ratio": ratio,
            "coefficients": [], "warnings": [], "baseline": base}


def indicator(id: str, label: str = "Young drivers injured", kind: str = "count",
              desired: str = "decrease") -> dict[str, str]:
    """A row of the indicators table."""
    return {"indicator": id, "label": label, "column": id, "kind": kind, "desired change": desired}


def fake_pack(folder: Path, *, initiative: str = "road-safety-day", name: str = "Pre-driver road safety day",
              area: str | None = "Glenardoch (rural)", analyses: dict[str, dict[str, Any]] | None = None,
              indicators: list[dict[str, str]] | None = None, primary: str | None = None,
              sms: int | None = 3) -> Path:
    """Write a pack the hub can index into ``folder`` and return it."""
    analyses = analyses or {"did": analysis("ksi", effect(-0.2, 0.08))}
    indicators = indicators or [indicator("ksi")]
    doc: dict[str, Any] = {
        "schema_version": 1, "preveval_version": "0.1.0",
        "initiative": {"id": initiative, "name": name, "prevention_level": "primary", "target_group": None,
                       "partners": []},
        "data": {"file": "data.csv", "frequency": "month", "unit": "area", "n_rows": 100, "first_period": "2012-01",
                 "last_period": "2019-12"},
        "analyses": analyses,
    }
    if primary is not None:
        doc["primary"] = {"analysis": primary, "why": "declared primary", "sms_level": sms}
    if sms is not None:
        doc["contribution"] = {"rating": {"sms": {"level": sms, "description": "Outcome measured before and after "
                                                                           "in treated and control conditions"}}}
    doc["warnings"] = []
    # as in a real pack, another evaluation file (name, area, indicators, analyses) has another hash
    spec = json.dumps([initiative, name, area, indicators, analyses, primary, sms], sort_keys=True).encode()
    doc["provenance"] = {"evaluation_sha256": hashlib.sha256(spec).hexdigest(), "data_sha256": "1" * 64,
                         "packages": {}}
    files = {
        "results.json": (json.dumps(doc, indent=2) + "\n").encode(),
        "tables/indicators.csv": table_csv(TableItem("indicators", "Indicators", pd.DataFrame(indicators))),
        "report.md": (f"# {name}: evaluation report\n\n## The initiative\n\n"
                      + (f"- Area: {md_inline(area)}\n" if area else "") + "\n## Logic model\n").encode(),
    }
    (folder / "tables").mkdir(parents=True)
    (folder / "figures").mkdir()
    for rel, data in files.items():
        (folder / rel).write_bytes(data)
    (folder / MANIFEST).write_bytes(manifest_bytes(files))
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative POSIX path -> bytes)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
