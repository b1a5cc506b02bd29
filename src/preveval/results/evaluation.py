"""The result of running an evaluation: analyses, contribution, economics, inputs.

:class:`EvaluationResult` is what :meth:`preveval.Evaluation.run` returns. It is plain data:
the validated spec, the analysis records keyed by id, the contribution and economics
records, the warnings and an :class:`InputSummary` of the files it was made from.
``to_dict()`` is the results.json document of the public contract, ``summary()`` a
DataFrame of headline effects, and in Jupyter it renders itself as an HTML summary.
``write_pack()`` is a convenience for :func:`preveval.pack.write_pack`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from preveval.provenance import package_versions, version
from preveval.results.base import AnalysisResult, FitSource, to_plain
from preveval.spec.models import EvaluationSpec

__all__ = ["EvaluationResult", "InputSummary"]

@dataclass(frozen=True)
class InputSummary:
    """What an evaluation was made from: the files, their fingerprints and the data's shape."""

    #: The evaluation file as the user named it (``<dict>`` for the notebook route).
    source: str
    evaluation_sha256: str
    data_file: str
    data_sha256: str
    n_rows: int
    first_period: str
    last_period: str
    n_periods: int
    n_units: int | None = None
    #: Warnings about the file and data as a whole (those about one analysis are on its record).
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, repr=False)
class EvaluationResult:
    """Everything a run produced. ``analyses`` is keyed by analysis id.

    ``evaluation`` keeps a reference to the :class:`~preveval.Evaluation` that was run (its
    checked data, for re-fits in a notebook); nothing in the record's JSON or the pack
    depends on it.
    """

    spec: EvaluationSpec
    inputs: InputSummary
    analyses: dict[str, AnalysisResult]
    contribution: Any = None
    economics: Any = None
    warnings: tuple[str, ...] = ()
    evaluation: Any = field(default=None, repr=False, compare=False)
    #: The analysis the bottom line rests on, why, and its verdict.
    primary: Any = None

    def __post_init__(self) -> None:
        # Each analysis keeps what it was fitted on (the spec as written and the data as
        # given), so that it can be re-fitted or drawn in a notebook: FitSource, not JSON.
        ev = self.evaluation
        if ev is None or not hasattr(ev, "positioned"):
            return
        analyses = {aid: (r if getattr(r, "source", None) is not None else
                          replace(r, source=FitSource(ev.spec, ev.positioned.data, ev.dataset.frame, aid)))
                    for aid, r in self.analyses.items()}
        object.__setattr__(self, "analyses", analyses)

    def provenance(self) -> dict[str, Any]:
        """Hashes of the inputs and versions of the software (no clock time: runs repeat)."""
        i = self.inputs
        return {
            "evaluation_sha256": i.evaluation_sha256,
            "data_sha256": i.data_sha256,
            "data_files": {i.data_file: i.data_sha256},
            "packages": package_versions(),
        }

    def to_dict(self) -> dict[str, Any]:
        """The results.json document."""
        spec = self.spec
        doc: dict[str, Any] = {
            "schema_version": 1,
            "preveval_version": version(),
            "initiative": {
                "id": spec.initiative.id,
                "name": spec.initiative.name,
                "prevention_level": spec.initiative.prevention_level,
                "target_group": spec.initiative.target_group,
                "partners": [p.model_dump() for p in spec.initiative.partners],
            },
            "data": {
                "file": self.inputs.data_file,
                "frequency": spec.data.frequency,
                "unit": spec.data.unit,
                "n_rows": self.inputs.n_rows,
                "first_period": self.inputs.first_period,
                "last_period": self.inputs.last_period,
            },
            "analyses": {k: r.to_dict() for k, r in self.analyses.items()},
        }
        if self.primary is not None:
            doc["primary"] = self.primary
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

    def write_pack(self, out: str | Path, *, progress: Callable[[str], None] | None = None,
                   publish: bool = False) -> Path:
        """Write the evaluation pack into ``out`` (atomically) and return its path.

        ``publish``: apply disclosure control to the published tables and figures (small
        counts suppressed, see the ``disclosure:`` block). A convenience for
        :func:`preveval.pack.write_pack`, imported here when called: the pack sits above the
        results and imports none of this module at run time.
        """
        from preveval.pack.writer import write_pack

        return write_pack(self, Path(out), progress=progress, publish=publish)

    def _primary_id(self) -> str | None:
        p = self.primary
        aid = p.get("analysis") if isinstance(p, dict) else getattr(p, "analysis", None)
        return aid if aid in self.analyses else next(iter(self.analyses), None)

    def __repr__(self) -> str:
        aid = self._primary_id()
        head = f", primary {aid}: {self.analyses[aid]._effect_text()}" if aid is not None else ""
        n = len(self.analyses)
        return (f"<EvaluationResult {self.spec.initiative.id}: {n} analys{'is' if n == 1 else 'es'}{head}, "
                f"{len(self.warnings)} warning(s)>")

    def _repr_html_(self) -> str:
        spec = self.spec
        cols = ["analysis", "method", "term", "estimate", "ci_low", "ci_high", "p_value", "scale", "ratio"]
        table = self.summary()[cols].to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0,
                                             na_rep="")
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        post = ""
        if self.contribution is not None:
            post = f"<p>Contribution claim posterior: {self.contribution.posterior:.2f}</p>"
        aid = self._primary_id()
        primary = f"<p>Primary analysis: {html.escape(aid)}</p>" if aid is not None and self.primary else ""
        return (f"<div><h3>{html.escape(spec.initiative.name)}</h3>{primary}{table}{post}"
                + (f"<details><summary>{len(self.warnings)} warning(s)</summary><ul>{warn}</ul></details>"
                   if warn else "") + "</div>")
