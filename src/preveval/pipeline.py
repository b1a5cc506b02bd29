"""Run an evaluation: validate everything first, then fit, then assess.

:func:`load` (a YAML path) and :func:`from_dict` (a dict plus a DataFrame, for notebooks)
return an :class:`Evaluation` that has passed every spec and data check. Its
:meth:`Evaluation.run` fits each analysis with its design family, assesses contribution
and economics and returns an :class:`~preveval.results.evaluation.EvaluationResult`.
A family's libraries are imported only when an analysis of that family runs.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .data.checks import check_dataset
from .data.periods import parse_period
from .data.read import Dataset, dataset_from_frame, read_dataset
from .errors import DataError, Issue, SpecError
from .results.base import AnalysisResult
from .results.evaluation import EvaluationResult, InputSummary
from .spec.loader import Positioned, load_yaml_file
from .spec.models import DidAnalysis, EvaluationSpec, ItsAnalysis
from .spec.validate import check_spec

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Evaluation:
    """A validated evaluation: the spec, its checked data and the warnings found so far."""

    spec: EvaluationSpec
    positioned: Positioned
    dataset: Dataset
    frame: pd.DataFrame
    warnings: tuple[Issue, ...]
    spec_sha256: str

    @property
    def data(self) -> pd.DataFrame:
        """The checked data (a copy) with ``period`` and ``t`` columns added."""
        return self.frame.copy()

    def run(self, progress: Progress | None = None) -> EvaluationResult:
        """Fit every analysis, then contribution and economics; return the result."""
        # Import the families this evaluation uses before the filter below: their libraries
        # (statsmodels) set warning filters of their own at import.
        for family in dict.fromkeys(a.method for a in self.spec.analyses):
            importlib.import_module(f"preveval.methods.{family}")
        results: dict[str, AnalysisResult] = {}
        with warnings.catch_warnings():
            # Library warnings (statsmodels convergence notes and the like) are not for the
            # user: the methods turn the ones that matter into plain-English warnings.
            warnings.simplefilter("ignore")
            for a in self.spec.analyses:
                if progress:
                    progress(a.id)
                results[a.id] = fit_analysis(self, a)
            return assemble(self, results)

    def inputs(self) -> InputSummary:
        """What this evaluation is made from, as recorded in the result."""
        f = self.frame
        unit = self.spec.data.unit
        return InputSummary(
            source=self.positioned.file, evaluation_sha256=self.spec_sha256,
            data_file=self.dataset.file, data_sha256=self.dataset.sha256, n_rows=int(len(f)),
            first_period=str(f["period"].min()), last_period=str(f["period"].max()),
            n_periods=int(f["t"].nunique()), n_units=int(f[unit].nunique()) if unit else None,
            warnings=tuple(i.format() for i in self.warnings if i.level == "warning"
                           and not i.path.startswith("analyses[")),
        )


def _period_ordinal(text: str, freq: str) -> int:
    p = parse_period(text, freq)
    assert p is not None  # checked by check_intervention_windows
    return int(p.ordinal)


def fit_analysis(ev: Evaluation, a: ItsAnalysis | DidAnalysis) -> AnalysisResult:
    """Fit one analysis of the evaluation with its design family."""
    spec = ev.spec
    indicator = spec.indicator(a.indicator)
    result: AnalysisResult
    if isinstance(a, ItsAnalysis):
        from .methods.its import build_its_series, fit_its

        series = build_its_series(a, ev.frame, outcome=indicator.column, unit=spec.data.unit)
        interventions = {k: _period_ordinal(v, spec.data.frequency) for k, v in a.intervention_map().items()}
        result = fit_its(a, series, outcome=indicator.column, interventions=interventions, indicator=indicator)
    else:
        from .methods.did import did_prevented, did_robustness, fit_did

        did_result = fit_did(a, ev.frame, outcome=indicator.column, unit=spec.data.unit, time="t")
        rob = None
        if a.robustness:
            placebo = {pid: spec.indicator(pid).column for pid in a.placebo_indicators}
            rob = did_robustness(a, did_result, ev.frame, outcome=indicator.column, unit=spec.data.unit,
                                 time="t", placebo_columns=placebo)
        prevented = (did_prevented(a, did_result, ev.frame, outcome=indicator.column, time="t")
                     if indicator.kind == "count" else None)
        result = replace(did_result, robustness=rob, prevented=prevented)
    extra = tuple(i.format() if i.level == "error" else i.message for i in ev.warnings
                  if i.path.startswith(f"analyses[{spec.analyses.index(a)}]"))
    if extra:
        result = replace(result, warnings=tuple(dict.fromkeys((*extra, *result.warnings))))
    return result


def assemble(ev: Evaluation, results: dict[str, AnalysisResult]) -> EvaluationResult:
    """Add contribution analysis and economics to the fitted analyses."""
    from .contribution import assess_contribution, assess_economics, select_primary

    spec = ev.spec
    economics = assess_economics(spec, results) if spec.economics is not None else None
    contribution = assess_contribution(spec, results, economics=economics) if spec.contribution is not None else None
    inputs = ev.inputs()
    warnings = list(inputs.warnings)
    warnings += [f"{aid}: {w}" for aid, r in results.items() for w in r.warnings]
    if contribution is not None:
        warnings += [f"contribution: {w}" for w in contribution.warnings]
    if economics is not None:
        warnings += [f"economics: {w}" for w in getattr(economics, "notes", ())]
    return EvaluationResult(spec, inputs, results, contribution, economics, tuple(dict.fromkeys(warnings)), ev,
                            select_primary(spec, results))


def _finish(pos: Positioned, dataset: Dataset, spec_sha: str,
            checked: tuple[EvaluationSpec, list[Issue]] | None = None) -> Evaluation:
    spec, spec_warnings = checked or check_spec(pos)
    frame, issues = check_dataset(dataset, spec, pos)
    issues = [*spec_warnings, *issues]
    errors = [i for i in issues if i.level == "error"]
    if errors:
        spec_side = [i for i in errors if i.file == pos.file]
        raise (SpecError if spec_side and len(spec_side) == len(errors) else DataError)(errors)
    return Evaluation(spec, pos, dataset, frame, tuple(issues), spec_sha)


def load(path: str | Path) -> Evaluation:
    """Load and validate an evaluation file and its data.

    Raises :class:`~preveval.errors.SpecError` or :class:`~preveval.errors.DataError`
    listing every problem, each as ``FILE:LINE:COL: field.path: message (hint)``.
    """
    path = Path(path)
    display = str(path)
    pos = load_yaml_file(path, display)
    spec_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    checked = check_spec(pos)
    spec = checked[0]
    data_path = (path.parent / spec.data.path)
    data_display = str(Path(display).parent / spec.data.path) if Path(display).parent != Path(".") else spec.data.path
    dataset = read_dataset(data_path, data_display, spec.data.sheet)
    return _finish(pos, dataset, spec_sha, checked)


def from_dict(spec: Mapping[str, Any], data: pd.DataFrame, *, name: str = "<dict>") -> Evaluation:
    """Build an evaluation from a spec dict and a DataFrame (the notebook route).

    ``data.path`` in the dict is ignored (it may be omitted); the caller's frame is not
    changed. Errors name the dict's fields without line numbers.
    """
    spec = dict(spec)
    spec["data"] = {"path": "<DataFrame>", **dict(spec.get("data") or {})}
    pos = Positioned(spec, name)
    text = json.dumps(spec, sort_keys=True, default=str).encode()
    return _finish(pos, dataset_from_frame(data), hashlib.sha256(text).hexdigest())
