"""The result of running an evaluation: analyses, contribution, economics, provenance.

:class:`EvaluationResult` is what :meth:`Evaluation.run` returns. It is plain data:
``to_dict()`` is the results.json document of the public contract, ``summary()`` a
DataFrame of headline effects, ``write_pack()`` the evaluation pack, and in Jupyter it
renders itself as an HTML summary.
"""

from __future__ import annotations

import html
import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import __version__
from .results import AnalysisResult, to_plain

if TYPE_CHECKING:
    from .pipeline import Evaluation

PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "linearmodels", "pydantic", "matplotlib", "jinja2", "pyyaml")


@dataclass(frozen=True)
class EvaluationResult:
    """Everything a run produced. ``analyses`` is keyed by analysis id."""

    evaluation: Evaluation = field(repr=False)
    analyses: dict[str, AnalysisResult]
    contribution: Any = None
    economics: Any = None
    warnings: tuple[str, ...] = ()

    @property
    def spec(self) -> Any:
        """The evaluation spec."""
        return self.evaluation.spec

    def provenance(self) -> dict[str, Any]:
        """Hashes of the inputs and versions of the software (no clock time: runs repeat)."""
        versions: dict[str, str | None] = {}
        for name in PACKAGES:
            try:
                versions[name] = metadata.version(name if name != "pyyaml" else "PyYAML")
            except metadata.PackageNotFoundError:
                versions[name] = None
        ds = self.evaluation.dataset
        return {
            "evaluation_sha256": self.evaluation.spec_sha256,
            "data_sha256": ds.sha256,
            "data_files": {ds.file: ds.sha256},
            "packages": {"preveval": __version__, "python": platform.python_version(), **versions},
        }

    def to_dict(self) -> dict[str, Any]:
        """The results.json document."""
        spec = self.spec
        doc: dict[str, Any] = {
            "schema_version": 1,
            "preveval_version": __version__,
            "initiative": {
                "id": spec.initiative.id,
                "name": spec.initiative.name,
                "prevention_level": spec.initiative.prevention_level,
                "target_group": spec.initiative.target_group,
                "partners": [p.model_dump() for p in spec.initiative.partners],
            },
            "data": {
                "file": self.evaluation.dataset.file,
                "frequency": spec.data.frequency,
                "unit": spec.data.unit,
                "n_rows": int(len(self.evaluation.frame)),
                "first_period": str(self.evaluation.frame["period"].min()),
                "last_period": str(self.evaluation.frame["period"].max()),
            },
            "analyses": {k: r.to_dict() for k, r in self.analyses.items()},
        }
        if self.contribution is not None:
            doc["contribution"] = self.contribution.to_dict()
        if self.economics is not None:
            doc["economics"] = self.economics.to_dict()
        doc["warnings"] = list(self.warnings)
        doc["provenance"] = self.provenance()
        return to_plain(doc)

    def to_json(self) -> str:
        """results.json as text: stable key order, no NaN, ends with a newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    def summary(self) -> pd.DataFrame:
        """One row per analysis: the headline effect and, for log-link models, its ratio."""
        rows = []
        for aid, r in self.analyses.items():
            e = r.effect
            rows.append({
                "analysis": aid, "method": r.method, "indicator": r.indicator, "term": e.term,
                "estimate": e.estimate, "std_error": e.std_error, "ci_low": e.ci_low,
                "ci_high": e.ci_high, "p_value": e.p_value, "scale": r.scale,
                "ratio": r.ratio.estimate if r.ratio else None,
                "ratio_ci_low": r.ratio.ci_low if r.ratio else None,
                "ratio_ci_high": r.ratio.ci_high if r.ratio else None,
                "n_obs": r.n_obs,
            })
        return pd.DataFrame(rows)

    def write_pack(self, out: str | Path, *, progress: Any = None) -> Path:
        """Write the evaluation pack into ``out`` (atomically) and return its path."""
        from .pack.writer import write_pack

        return write_pack(self, Path(out), progress=progress)

    def _repr_html_(self) -> str:
        spec = self.spec
        table = self.summary().to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0)
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        post = ""
        if self.contribution is not None:
            post = f"<p>Contribution claim posterior: {self.contribution.posterior:.2f}</p>"
        return (f"<div><h3>{html.escape(spec.initiative.name)}</h3>{table}{post}"
                + (f"<p>Warnings:</p><ul>{warn}</ul>" if warn else "") + "</div>")


def assemble(ev: Evaluation, results: dict[str, AnalysisResult]) -> EvaluationResult:
    """Add contribution analysis and economics to the fitted analyses."""
    contribution = economics = None
    spec = ev.spec
    if spec.contribution is not None or spec.economics is not None:
        from .contribution import assess_contribution, assess_economics

        if spec.contribution is not None:
            contribution = assess_contribution(spec, results)
        if spec.economics is not None:
            economics = assess_economics(spec, results)
    warnings = tuple(i.format() for i in ev.warnings if i.level == "warning")
    return EvaluationResult(ev, results, contribution, economics, warnings)


