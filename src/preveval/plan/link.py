r"""The plan's simulated power as the evidence's ``p_if_true`` (``contribution.plan``).

``preveval plan`` simulates each analysis as declared, with its own inference, and records
every simulation's detection threshold :math:`m^*_s` (the smallest effect that simulation
detects) in plan.json. An evaluation file whose contribution block names that plan,

.. code-block:: yaml

    contribution:
      plan: plan/plan.json     # written by: preveval plan evaluation.yaml --out plan

takes ``p_if_true`` of each evidence item derived from a planned analysis from those
simulations: the share of simulations that detect the item's plausible effect
:math:`\delta`, :math:`\#\{s: m^*_s \le |\delta|\}/S` (the same number as plan.json's
``power`` when :math:`\delta` is the analysis' plausible effect). This is the power of the
design the partnership committed to, under the data's own noise, rather than the normal
approximation of the interval reported (:mod:`preveval.contribution.evidence`), and it is
fixed before the post-period results are seen when the plan was made from the pre-period
alone.

An item whose analysis was not planned, was planned as a different analysis (another
method, design, indicator or inference than the evaluation now declares) or in the other
direction keeps the analytic power, with a warning saying why. A plan file that is missing,
is not JSON or is not a plan.json is an input error at ``contribution.plan``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from preveval.errors import Issue
from preveval.plan.power import power_at

__all__ = ["PlanLink", "PlannedPower", "plan_design", "read_plan"]

PLAN_SCHEMA_VERSIONS = (1,)
#: plan.json's ``inference`` of an ITS analysis, by its ``errors``
ITS_INFERENCE = {"ols": "model-based", "hac": "Newey-West (HAC)", "ar": "AR errors"}


def plan_design(analysis: Any) -> str:
    """plan.json's ``design`` of an analysis: the DiD design, the synthetic-control estimator or ``its``."""
    if analysis.method == "did":
        return str(analysis.design)
    return str(analysis.estimator) if analysis.method == "synthetic_control" else "its"


@dataclass(frozen=True)
class PlannedPower:
    """The simulated power of one analysis at an effect, and where it came from."""

    power: float
    n_simulations: int
    seed: int
    last_period: str | None
    observed_last_period: str | None
    file: str

    def describe(self) -> str:
        """Where the number comes from, for the evidence's reason."""
        data = (f"made before any post-period data, from data up to {self.observed_last_period}"
                if self.observed_last_period else f"made from data up to {self.last_period}")
        return (f"the simulated power of the declared analysis ({self.n_simulations} simulations, seed "
                f"{self.seed}, in {self.file}, {data})")


@dataclass(frozen=True)
class PlanLink:
    """A plan.json read for the evidence: its analyses' detection thresholds."""

    file: str
    sha256: str
    n_simulations: int
    seed: int
    analyses: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """What results.json records of the plan used."""
        return {"file": self.file, "sha256": self.sha256, "n_simulations": self.n_simulations, "seed": self.seed}

    def power_for(self, analysis: Any, indicator: str, plausible: float,
                  scale: str | None = None) -> tuple[PlannedPower | None, str | None]:
        """The simulated power of ``analysis`` to detect ``plausible``, or why there is none.

        The plan must have simulated the analysis as it is declared now: the same method,
        design, indicator and inference, and (given ``scale``, the result's) an effect on the
        same scale.
        """
        p = self.analyses.get(analysis.id)
        if p is None:
            return None, f"analysis '{analysis.id}' is not in the plan {self.file}"
        if p.get("status") != "planned":
            return None, f"the plan could not simulate analysis '{analysis.id}' ({p.get('reason') or 'not planned'})"
        declared = {"method": analysis.method, "design": plan_design(analysis), "indicator": indicator}
        changed = [f"{k} {p.get(k)!r} (now {v!r})" for k, v in declared.items() if p.get(k) != v]
        inference = (analysis.inference if analysis.method == "did"
                     else ITS_INFERENCE.get(analysis.errors) if analysis.method == "its" else p.get("inference"))
        if p.get("inference") != inference:
            changed.append(f"inference {p.get('inference')!r} (now {inference!r})")
        if scale is not None and (p.get("scale") == "log") != (scale == "log"):
            changed.append(f"an effect on the {p.get('scale')} scale (now {scale})")
        if changed:
            return None, (f"the plan {self.file} simulated analysis '{analysis.id}' with " + ", ".join(changed)
                          + "; run preveval plan again")
        thresholds = p.get("detection_thresholds")
        n = p.get("n_simulations")
        if not isinstance(thresholds, list) or not isinstance(n, int) or n <= 0:
            return None, f"the plan {self.file} has no detection thresholds (made by an older preveval); run preveval plan again"
        direction = -1.0 if p.get("direction") == "decrease" else 1.0
        if plausible != 0 and math.copysign(1.0, plausible) != direction:
            return None, (f"the plan {self.file} simulated an effect in the other direction "
                          f"({p.get('direction')}) from the plausible effect {plausible:g}")
        never = [math.inf] * (n - len(thresholds))  # simulations left out: they never detect
        return PlannedPower(power_at(np.array([*thresholds, *never], dtype=float), abs(plausible)), n, int(p.get("seed", self.seed)), p.get("last_period"),
                            p.get("observed_last_period"), self.file), None


def _bad(display: str, pos: Any, message: str, hint: str | None) -> Issue:
    return pos.issue(("contribution", "plan"), f"{message} ({display})", hint)


def read_plan(path: Path, display: str, pos: Any) -> tuple[PlanLink | None, list[Issue]]:
    """Read the plan.json (or a folder holding one) named by ``contribution.plan``.

    Returns the link, or ``None`` and the issues (errors positioned at ``contribution.plan``).
    """
    hint = "write it with: preveval plan EVALUATION.yaml --out DIR, then give DIR/plan.json"
    if path.is_dir():
        path, display = path / "plan.json", str(Path(display) / "plan.json")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        why = "no such file" if isinstance(exc, FileNotFoundError) else exc.strerror or type(exc).__name__
        return None, [_bad(display, pos, f"the plan cannot be read: {why}", hint)]
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [_bad(display, pos, f"the plan is not JSON: {exc}", hint)]
    if not isinstance(doc, dict) or not isinstance(doc.get("analyses"), dict):
        return None, [_bad(display, pos, "this is not a plan.json written by preveval plan (no 'analyses')", hint)]
    version = doc.get("schema_version")
    if version not in PLAN_SCHEMA_VERSIONS:
        return None, [_bad(display, pos, f"plan schema_version {version!r} is not supported",
                           "this preveval reads plan schema_version " + ", ".join(map(str, PLAN_SCHEMA_VERSIONS)))]
    analyses = {str(k): v for k, v in doc["analyses"].items() if isinstance(v, dict)}
    n, seed = doc.get("n_simulations"), doc.get("seed")
    return PlanLink(display, hashlib.sha256(raw).hexdigest(), n if isinstance(n, int) else 0,
                    seed if isinstance(seed, int) else 0, analyses), []
