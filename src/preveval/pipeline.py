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

import numpy as np
import pandas as pd

from .data.checks import check_dataset
from .data.periods import parse_period
from .data.read import Dataset, dataset_from_frame, read_dataset
from .errors import DataError, InputError, Issue, SpecError
from .results.base import AnalysisResult
from .results.evaluation import EvaluationResult, InputSummary
from .spec.loader import Positioned, load_yaml_file
from .spec.models import DidAnalysis, EvaluationSpec, ItsAnalysis, SynthAnalysis
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
    #: the plan.json named by ``contribution.plan`` (:class:`preveval.plan.link.PlanLink`)
    plan: Any = None

    @property
    def data(self) -> pd.DataFrame:
        """The checked data (a copy) with ``period`` and ``t`` columns added."""
        return self.frame.copy()

    def run(self, progress: Progress | None = None, *, workers: int = 1, pool: Any = None) -> EvaluationResult:
        """Fit every analysis, then contribution and economics; return the result.

        ``workers``: with 2 or more, the heavy analyses (:func:`heavy_analysis`) are fitted in
        one helper process (spawned) while this process fits the others, when
        there is something else to overlap them with. The result is the same either way: each
        analysis is fitted by the same code on the same data, and the results are put in the
        evaluation's order. ``preveval run`` uses 2; the default (1) never starts a process.
        ``pool``: a helper already started (:func:`preveval.helper.start_helper`), so that its start-up overlaps
        the loading of the evaluation; it is used (when ``workers`` >= 2) but not shut down.
        """
        helper, offload = _start_helper(self, workers, pool)
        if helper is not None and pool is not None:
            helper = (None, helper[1])  # the caller's pool: the caller shuts it down
        if helper is None:
            return self._fit_all(progress, frozenset(), None)
        try:
            return self._fit_all(progress, offload, helper)
        except Exception:  # noqa: BLE001 - run again without the helper, which raises the first error in order
            from .helper import stop_helper

            stop_helper(helper[0] or pool, wait=False)
            return self._fit_all(progress, frozenset(), None)
        finally:
            if helper[0] is not None:
                helper[0].shutdown(wait=True, cancel_futures=True)

    def _fit_all(self, progress: Progress | None, offload: frozenset[str],
                 helper: tuple[Any, Any] | None) -> EvaluationResult:
        # Import the families this evaluation uses before the filter below: their libraries
        # (statsmodels) set warning filters of their own at import.
        for family in dict.fromkeys(FAMILIES[a.method] for a in self.spec.analyses if a.id not in offload):
            importlib.import_module(f"preveval.methods.{family}")
        results: dict[str, AnalysisResult] = {}
        with warnings.catch_warnings():
            # Library warnings (statsmodels convergence notes and the like) are not for the
            # user: the methods turn the ones that matter into plain-English warnings.
            warnings.simplefilter("ignore")
            for a in self.spec.analyses:
                if a.id in offload:
                    continue
                if progress:
                    progress(a.id)
                results[a.id] = fit_analysis(self, a)
            if helper is not None:
                results.update(_helper_results(self, helper, offload, progress))
            results = {a.id: results[a.id] for a in self.spec.analyses}
            return assemble(self, results)

    def inputs(self) -> InputSummary:
        """What this evaluation is made from, as recorded in the result."""
        f = self.frame
        unit = self.spec.data.unit
        t = f["t"].to_numpy()  # the periods' ordinals: comparing them is comparing the periods
        return InputSummary(
            source=self.positioned.file, evaluation_sha256=self.spec_sha256,
            data_file=self.dataset.file, data_sha256=self.dataset.sha256, n_rows=int(len(f)),
            first_period=str(f["period"].iloc[int(np.argmin(t))]), last_period=str(f["period"].iloc[int(np.argmax(t))]),
            n_periods=int(f["t"].nunique()), n_units=int(f[unit].nunique()) if unit else None,
            warnings=tuple(i.format() for i in self.warnings if i.level == "warning"
                           and not i.path.startswith("analyses[")),
        )


def _period_ordinal(text: str, freq: str) -> int:
    p = parse_period(text, freq)
    assert p is not None  # checked by check_intervention_windows
    return int(p.ordinal)


#: The design-family package (``preveval.methods.<family>``) of each analysis method.
FAMILIES = {"its": "its", "did": "did", "synthetic_control": "synth"}


def fit_analysis(ev: Evaluation, a: ItsAnalysis | DidAnalysis | SynthAnalysis) -> AnalysisResult:
    """Fit one analysis of the evaluation with its design family."""
    spec = ev.spec
    indicator = spec.indicator(a.indicator)
    result: AnalysisResult
    if isinstance(a, ItsAnalysis):
        from .methods.its import build_its_series, fit_its

        series = build_its_series(a, ev.frame, outcome=indicator.column, unit=spec.data.unit)
        interventions = {k: _period_ordinal(v, spec.data.frequency) for k, v in a.intervention_map().items()}
        result = fit_its(a, series, outcome=indicator.column, interventions=interventions, indicator=indicator)
    elif isinstance(a, SynthAnalysis):
        from .methods.synth import fit_synthetic_control

        assert spec.data.unit is not None  # a synthetic control needs data.unit (design rule)
        result = fit_synthetic_control(a, ev.frame, outcome=indicator.column, unit=spec.data.unit,
                                       freq=spec.data.frequency, count=indicator.kind == "count",
                                       indicator=indicator)
    else:
        from .methods.did import did_prevented, did_robustness, did_staggered_detail, fit_did

        did_result = fit_did(a, ev.frame, outcome=indicator.column, unit=spec.data.unit, time="t")
        did_result = did_staggered_detail(a, did_result, ev.frame, outcome=indicator.column, unit=spec.data.unit,
                                          time="t")
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


def heavy_analysis(a: ItsAnalysis | DidAnalysis | SynthAnalysis) -> bool:
    """Whether an analysis takes long enough (seconds) to be worth a helper process: a staggered
    difference-in-differences with its extras (comparisons, honest sensitivity), a synthetic
    control with its placebo fits, or an ITS that fits a structural time-series model (its own
    estimator, or the sensitivity table's row: statsmodels' state-space models and scipy.stats
    take about half a second to import, which the helper does while this process loads)."""
    if isinstance(a, SynthAnalysis):
        return True
    if isinstance(a, ItsAnalysis):
        return a.estimator == "structural" or (a.sensitivity and a.structural_alternative())
    return isinstance(a, DidAnalysis) and a.design == "staggered" and a.family == "gaussian"


def _start_helper(ev: Evaluation, workers: int,
                  pool: Any = None) -> tuple[tuple[Any, Any] | None, frozenset[str]]:
    """Give the heavy analyses to the helper (see :meth:`Evaluation.run`), started here unless
    ``pool`` is one: ``(pool, future), ids`` or ``None, frozenset()``. Only when this process
    keeps analyses of its own to fit meanwhile (otherwise the helper would only add its start-up)."""
    analyses = ev.spec.analyses
    heavy = [a.id for a in analyses if heavy_analysis(a)]
    if workers < 2 or not heavy or len(analyses) < 2:
        return None, frozenset()
    if len(heavy) == len(analyses):
        heavy = heavy[1::2]  # every one heavy: alternate them between the two processes
    if pool is None:
        from .helper import start_helper

        pool = start_helper()
        if pool is None:
            return None, frozenset()
    try:
        future = pool.submit(_fit_many, ev, tuple(heavy))
    except RuntimeError:  # a broken pool
        return None, frozenset()
    return (pool, future), frozenset(heavy)


def _fit_many(ev: Evaluation, ids: tuple[str, ...]) -> dict[str, AnalysisResult]:
    """The helper process's work: the analyses ``ids``, fitted as :meth:`Evaluation.run` fits them."""
    by_id = {a.id: a for a in ev.spec.analyses}
    for family in dict.fromkeys(FAMILIES[by_id[i].method] for i in ids):
        importlib.import_module(f"preveval.methods.{family}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {i: fit_analysis(ev, by_id[i]) for i in ids}


def _helper_results(ev: Evaluation, helper: tuple[Any, Any], ids: frozenset[str],
                    progress: Progress | None) -> dict[str, AnalysisResult]:
    """The helper's results; if it failed in any way (an analysis that cannot be estimated, a
    lost process), those analyses are fitted here instead, so that errors are raised exactly as
    in a run without the helper."""
    try:
        out: dict[str, AnalysisResult] = helper[1].result()
    except Exception:  # noqa: BLE001 - fitted again below, which raises the real error
        out = {}
        for a in ev.spec.analyses:
            if a.id in ids:
                if progress:
                    progress(a.id)
                out[a.id] = fit_analysis(ev, a)
        return out
    if progress:
        for a in ev.spec.analyses:
            if a.id in ids:
                progress(a.id)
    return out


def assemble(ev: Evaluation, results: dict[str, AnalysisResult]) -> EvaluationResult:
    """Add contribution analysis and economics to the fitted analyses."""
    from .contribution import assess_contribution, assess_economics, select_primary

    spec = ev.spec
    economics = assess_economics(spec, results, ev.plan) if spec.economics is not None else None
    contribution = (assess_contribution(spec, results, economics=economics, plan=ev.plan)
                    if spec.contribution is not None else None)
    inputs = ev.inputs()
    warnings = list(inputs.warnings)
    warnings += [f"{aid}: {w}" for aid, r in results.items() for w in r.warnings]
    if contribution is not None:
        warnings += [f"contribution: {w}" for w in contribution.warnings]
    if economics is not None:
        warnings += [f"economics: {w}" for w in getattr(economics, "notes", ())]
    return EvaluationResult(spec, inputs, results, contribution, economics, tuple(dict.fromkeys(warnings)), ev,
                            select_primary(spec, results, ev.plan))


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
    ev = _finish(pos, dataset, spec_sha, checked)
    return _with_plan(ev, path.parent, Path(display).parent)


def _with_plan(ev: Evaluation, base: Path, shown: Path) -> Evaluation:
    """The evaluation with the plan.json its contribution block names (an input error if unreadable)."""
    c = ev.spec.contribution
    if c is None or c.plan is None:
        return ev
    from .plan.link import read_plan

    link, issues = read_plan(base / c.plan, str(shown / c.plan) if shown != Path(".") else c.plan, ev.positioned)
    if issues:
        raise SpecError(issues)
    return replace(ev, plan=link)


def from_dict(spec: Mapping[str, Any], data: pd.DataFrame, *, name: str = "<dict>") -> Evaluation:
    """Build an evaluation from a spec dict and a DataFrame (the notebook route).

    ``data.path`` in the dict is ignored (it may be omitted); the caller's frame is not
    changed. Errors name the dict's fields without line numbers.

    Data handling: a ``DatetimeIndex`` or ``PeriodIndex`` (or a level of a ``MultiIndex``)
    becomes the time column (named by ``data.time``, else by the index); dates and periods
    may be pandas dtypes, and NaT, None and NaN in ``first_treated`` mean never treated.
    Columns named ``t`` or ``period`` are the caller's own: they are renamed to ``t (data)``
    and ``period (data)`` for the checks (which add working columns of those names) and the
    spec is rewritten to match; error messages name them as the caller did. Anything but a
    DataFrame is a :class:`~preveval.errors.DataError` with a hint.
    """
    if not isinstance(spec, Mapping):
        raise SpecError([Issue(f"the evaluation must be a dict, not {type(spec).__name__}",
                               hint="pass the parsed evaluation file, e.g. yaml.safe_load(text)", file=name)])
    _check_expressible(spec, name)
    spec = dict(spec)
    block = spec.get("data")
    if block is None or isinstance(block, Mapping):  # anything else is reported by the validator
        spec["data"] = {"path": "<DataFrame>", **dict(block or {})}
    spec, frame, renamed = frame_for(spec, data)
    pos = Positioned(spec, name)
    text = json.dumps(spec, sort_keys=True, default=str).encode()
    try:
        return _with_plan(_finish(pos, _dataset(frame), hashlib.sha256(text).hexdigest()), Path("."), Path("."))
    except InputError as exc:
        if not renamed:
            raise
        raise type(exc)([_named_as_given(i, renamed) for i in exc.issues]) from None


#: Deepest nesting of a spec dict (the YAML loader has the same limit for files).
MAX_DEPTH = 32


def _check_expressible(spec: Mapping[str, Any], name: str) -> None:
    """Refuse a dict that no evaluation file could be: keys that are not text, a dict or list
    that contains itself, nesting deeper than :data:`MAX_DEPTH` (the validator and the hash
    would otherwise fail with Python's own errors)."""
    def walk(node: Any, where: str, depth: int, seen: tuple[int, ...]) -> None:
        if not isinstance(node, (Mapping, list, tuple)):
            return
        if id(node) in seen:
            raise SpecError([Issue("this value contains itself (a cycle), which no evaluation file can express",
                                   path=where, file=name, hint="build the dict from plain values")])
        if depth > MAX_DEPTH:
            raise SpecError([Issue(f"values are nested more than {MAX_DEPTH} levels deep", path=where,
                                   file=name, hint="an evaluation file needs a few levels only")])
        items = node.items() if isinstance(node, Mapping) else enumerate(node)
        for key, value in items:
            if isinstance(node, Mapping) and not isinstance(key, str):
                raise SpecError([Issue(f"the key {key!r} is a {type(key).__name__}, not text", path=where,
                                       file=name, hint="every key of an evaluation is text, e.g. 'analyses'")])
            walk(value, f"{where}.{key}" if where else str(key), depth + 1, (*seen, id(node)))

    walk(spec, "", 0, ())


#: Working columns the data checks add to the frame; a caller's columns of these names are
#: renamed on the way in so that they are never overwritten.
RESERVED_COLUMNS = ("t", "period")
#: Keys of the evaluation file whose values name data columns (strings or lists of them).
COLUMN_KEYS = frozenset({"time", "unit", "column", "offset", "covariates", "treatment", "group", "post",
                         "first_treated", "weights", "cluster", "fixed_effects"})


def _data_error(message: str, hint: str) -> DataError:
    return DataError([Issue(message, path="data", file="<DataFrame>", hint=hint)])


def frame_for(spec: dict[str, Any], data: Any) -> tuple[dict[str, Any], pd.DataFrame, dict[str, str]]:
    """The frame the checks read, the spec to match and the columns renamed (see :func:`from_dict`).

    The caller's frame is never changed (a new frame is made whenever anything differs).
    """
    if isinstance(data, pd.Series):
        raise _data_error("the data is a pandas Series, not a DataFrame",
                          "pass series.to_frame() or a DataFrame with a column per variable")
    if not isinstance(data, pd.DataFrame):
        what = "a dict" if isinstance(data, Mapping) else type(data).__name__
        raise _data_error(f"the data must be a pandas DataFrame, not {what}",
                          "build one first, e.g. pd.DataFrame(data), or read it with pd.read_csv")
    frame = data
    if not isinstance(spec.get("data") or {}, Mapping):
        return spec, frame, {}  # the validator reports the data block
    dspec = dict(spec.get("data") or {})
    time = dspec.get("time")
    index = frame.index
    if isinstance(index, pd.MultiIndex):
        named = [n for n in index.names if n is not None and n not in frame.columns]
        if named:
            frame = frame.reset_index(level=named)
    elif isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)) and not (isinstance(time, str) and time in frame.columns):
        free = next(c for c in ("time", "date", "time_index", "time_index_") if c not in frame.columns)
        col = time if isinstance(time, str) else (index.name or free)
        if col in frame.columns:
            raise _data_error(f"the index and a column are both named '{col}'",
                              "rename one of them, or drop the index with frame.reset_index(drop=True)")
        frame = frame.rename_axis(str(col)).reset_index()
        if not isinstance(time, str):
            dspec["time"] = col
    frame = frame.reset_index(drop=True) if frame is not data else frame
    if any(not isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str) if frame is not data else frame.copy().rename(columns=str)
    converted = {c: _as_objects(frame[c]) for c in frame.columns
                 if _is_datelike(frame[c]) or (frame[c].dtype == object and frame[c].isna().any())}
    if converted:
        frame = frame.assign(**converted) if frame is not data else data.assign(**converted)
    renamed = {c: _private(c, frame.columns) for c in RESERVED_COLUMNS if c in frame.columns}
    if renamed:
        frame = frame.rename(columns=renamed)
    spec = {**spec, "data": dspec}
    if renamed:
        spec = _rename_columns(spec, renamed)
    return spec, frame, renamed


def _dataset(frame: pd.DataFrame) -> Dataset:
    try:
        return dataset_from_frame(frame)
    except TypeError:  # cells that cannot be hashed: lists, dicts, arrays
        bad = [c for c in frame.columns if frame[c].dtype == object
               and frame[c].map(lambda v: isinstance(v, (list, dict, set, tuple)) or hasattr(v, "shape")).any()]
        raise _data_error(f"column(s) {', '.join(repr(c) for c in bad) or '(unknown)'} hold lists, dicts or arrays "
                          "in their cells", "put one number, text or date in each cell (one row per unit and "
                          "period)") from None


def _is_datelike(s: pd.Series) -> bool:
    return isinstance(s.dtype, (pd.PeriodDtype, pd.DatetimeTZDtype)) or pd.api.types.is_datetime64_any_dtype(s)


def _as_objects(s: pd.Series) -> pd.Series:
    """Dates and periods as objects, missing ones (NaT) as None: what the period checks read."""
    out = s.astype(object)
    return out.where(s.notna(), None)


def _private(column: str, taken: Any) -> str:
    name, k = f"{column} (data)", 2
    while name in set(taken):
        name, k = f"{column} (data {k})", k + 1
    return name


def _rename_columns(node: Any, renamed: dict[str, str], key: str | None = None) -> Any:
    if isinstance(node, Mapping):
        return {k: _rename_columns(v, renamed, k) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_rename_columns(v, renamed, key) for v in node]
    if key in COLUMN_KEYS and isinstance(node, str):
        return renamed.get(node, node)
    return node


def _named_as_given(issue: Issue, renamed: dict[str, str]) -> Issue:
    def back(text: str | None) -> str | None:
        if text is None:
            return None
        for original, private in renamed.items():
            text = text.replace(private, original)
        return text

    return replace(issue, message=back(issue.message) or "", hint=back(issue.hint), path=back(issue.path) or "")
