"""The notebook API: one analysis from a DataFrame in one call, and results side by side.

:func:`its` and :func:`did` build the smallest evaluation file that describes the analysis
(an indicator from the outcome column, the data from the frame), validate it exactly as
``preveval validate`` validates a YAML file (the same :class:`~preveval.errors.SpecError`
and :class:`~preveval.errors.DataError`, each with its ``.issues``), fit it with the
pipeline's own :func:`~preveval.pipeline.fit_analysis` and return the analysis result
(:class:`~preveval.results.ItsResult`, :class:`~preveval.results.DidResult`). pandas in,
pandas out; the caller's frame is never changed::

    import preveval as pv
    res = pv.its(sicily, outcome="aces", time="month", intervention="2005-01",
                 offset="stdpop", seasonality={"type": "fourier", "period": 12, "harmonics": 2})
    res.tidy(); res.plot(); res.refit(family="poisson"); pv.compare(res, other)

A design family adds one short function here: build its analysis fields and call
:func:`_analysis` (see :func:`its` and :func:`did`), and name its figures in
:data:`FIGURES`. This module also lends the result records the functions they use to draw,
describe and re-fit themselves (:func:`preveval.results.base.register_hook`); it sits above
the pack and the pipeline, which never import it.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from preveval.errors import Issue, SpecError
from preveval.pipeline import FAMILIES, Evaluation, fit_analysis, from_dict
from preveval.results.base import AnalysisResult, FitSource, register_hook

__all__ = ["FIGURES", "compare", "did", "its", "synthetic_control"]

#: Options that belong to the data, the indicator or the initiative rather than the analysis.
_DATA_KEYS = ("frequency", "unit")
_INDICATOR_KEYS = ("kind", "desired", "label", "unit_label", "exposure_label")
_FREQ_CODES = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year", "A": "year"}


# ----------------------------------------------------------------------------- builders


def its(frame: pd.DataFrame, *, outcome: str, time: str | None = None, intervention: Any = None,
        family: str | None = None, offset: str | None = None, seasonality: Any = None,
        **options: Any) -> Any:
    """Fit an interrupted time series to a DataFrame and return its :class:`~preveval.results.ItsResult`.

    Parameters
    ----------
    frame : DataFrame
        One row per period (or per unit and period with ``unit=`` and ``units=``). A
        ``DatetimeIndex`` or ``PeriodIndex`` may stand in for the time column.
    outcome : str
        The outcome column; it becomes the indicator (``label=``, ``kind=``, ``desired=``,
        ``unit_label=`` and ``exposure_label=`` may be given among the options).
    time : str, optional
        The period column (default: the index).
    intervention : str, Period or Timestamp
        The first period in which the initiative is active; or ``interventions={id: period}``.
    family, offset, seasonality
        As in the evaluation file; ``seasonality=12`` is short for Fourier terms of period 12.
    **options
        Any other field of an ITS analysis (``impact``, ``errors``, ``covariates``...), and
        ``frequency`` (inferred from the time values when left out), ``unit``, ``name``.

    Raises
    ------
    SpecError, DataError
        Exactly as ``preveval validate`` would for the same file and data.
    """
    fields: dict[str, Any] = {"intervention": intervention, "family": family, "offset": offset,
                              "seasonality": _seasonality(seasonality)}
    return _analysis("its", frame, outcome, time, fields, options)


def did(frame: pd.DataFrame, *, outcome: str, unit: str, time: str | None = None, treatment: str | None = None,
        first_treated: str | None = None, design: str | None = None, **options: Any) -> Any:
    """Fit a difference-in-differences to a panel and return its :class:`~preveval.results.DidResult`.

    ``treatment`` names a 0/1 column (design ``twfe`` by default); ``first_treated`` a
    column holding each unit's first treated period, where NaT, None and NaN mean never
    treated (design ``staggered`` by default); ``group=`` and ``post=`` give a two-by-two.
    Other options are fields of a DiD analysis (``inference``, ``family``, ``cluster``,
    ``offset``, ``weights``...) or ``frequency``, ``name`` and the indicator's fields, as
    for :func:`its`.
    """
    if design is None:
        design = ("staggered" if first_treated is not None else
                  "two_by_two" if "group" in options or "post" in options else "twfe")
    fields: dict[str, Any] = {"design": design, "treatment": treatment, "first_treated": first_treated}
    return _analysis("did", frame, outcome, time, fields, {"unit": unit, **options})


def synthetic_control(frame: pd.DataFrame, *, outcome: str, unit: str, treated: Any, intervention: Any,
                      time: str | None = None, estimator: str = "abadie", donors: Iterable[Any] | None = None,
                      predictors: Iterable[Mapping[str, Any]] | None = None, **options: Any) -> Any:
    """Fit a synthetic control (or synthetic DiD) and return its :class:`~preveval.results.SynthResult`.

    ``treated`` is the unit that ran the initiative (``estimator="sdid"`` also takes a list);
    ``donors`` the units the synthetic comparison may use (default every other unit);
    ``predictors`` a list of ``{"column", "from", "to"}`` windows (``abadie`` only; default the
    outcome in every pre-period). Other options are fields of a synthetic-control analysis
    (``offset``, ``rate_per``, ``fit_from``, ``fit_to``, ``placebo_date``, ``robustness``,
    ``reps``, ``seed``) or ``frequency``, ``name`` and the indicator's fields, as for
    :func:`its`.
    """
    fields: dict[str, Any] = {
        "treated": list(treated) if isinstance(treated, list | tuple) else treated,
        "intervention": intervention, "estimator": estimator,
        "donors": None if donors is None else list(donors),
        "predictors": None if predictors is None else [dict(p) for p in predictors]}
    return _analysis("synthetic_control", frame, outcome, time, fields, {"unit": unit, **options})


def _analysis(method: str, frame: Any, outcome: str, time: str | None, fields: dict[str, Any],
              options: dict[str, Any]) -> Any:
    """Build the minimal evaluation of one analysis, validate it, fit it, keep its source."""
    spec = minimal_spec(method, frame, outcome, time, fields, options)
    ev = from_dict(spec, frame)
    return _fit(ev, ev.spec.analyses[0].id)


def minimal_spec(method: str, frame: Any, outcome: str, time: str | None, fields: dict[str, Any],
                 options: dict[str, Any]) -> dict[str, Any]:
    """The evaluation file (as a dict) of one analysis of ``outcome`` in ``frame``."""
    options = dict(options)
    ind_id = _ident(outcome)
    indicator: dict[str, Any] = {"id": ind_id, "label": options.pop("label", None) or outcome, "column": outcome}
    for k in _INDICATOR_KEYS[:2] + _INDICATOR_KEYS[3:]:
        if k in options:
            indicator[k] = options.pop(k)
    if "kind" not in indicator:
        indicator["kind"] = _kind(frame, outcome)
    data: dict[str, Any] = {"path": "<DataFrame>"}
    if time is not None:
        data["time"] = time
    for k in _DATA_KEYS:
        if options.get(k) is not None:
            data[k] = options.pop(k)
        options.pop(k, None)
    if "frequency" not in data:
        data["frequency"] = infer_frequency(frame, time)
    design = {"its": "interrupted time series", "did": "difference-in-differences",
              "synthetic_control": "synthetic control"}[method]
    name = options.pop("name", None) or f"{outcome}: {design}"
    analysis = {"id": f"{method}-{ind_id}".replace("_", "-"), "method": method, "indicator": ind_id}
    analysis.update({k: _plain(v, data["frequency"]) for k, v in {**fields, **options}.items() if v is not None})
    return {"schema_version": 1, "initiative": {"id": "notebook", "name": name}, "indicators": [indicator],
            "data": data, "analyses": [analysis]}


def _fit(ev: Evaluation, analysis_id: str) -> Any:
    a = next(x for x in ev.spec.analyses if x.id == analysis_id)
    importlib.import_module(f"preveval.methods.{FAMILIES[a.method]}")  # before the filter: libraries set their own
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as Evaluation.run: the methods word the warnings that matter
        result = fit_analysis(ev, a)
    return replace(result, source=FitSource(ev.spec, ev.positioned.data, ev.dataset.frame, analysis_id))


# ------------------------------------------------------------------------------ helpers


def _ident(name: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_.-]", "_", str(name)).strip("_") or "outcome"
    return text if re.match(r"[A-Za-z_]", text) else f"_{text}"


def _kind(frame: Any, column: str) -> str:
    """``count`` for non-negative whole numbers, else ``continuous`` (the checks report the rest)."""
    if not isinstance(frame, pd.DataFrame) or column not in frame.columns:
        return "count"
    values = pd.to_numeric(frame[column], errors="coerce").dropna().to_numpy(dtype=float)
    whole = values.size > 0 and bool(np.all(values >= 0) and np.all(np.mod(values, 1) == 0))
    return "count" if whole or values.size == 0 else "continuous"


def _seasonality(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"type": "fourier", "period": value}
    return value


def _plain(value: Any, frequency: str) -> Any:
    """Periods and dates as the text the evaluation file would hold; containers as lists/dicts."""
    if isinstance(value, pd.Period):
        return _period_text(value, frequency)
    if isinstance(value, (pd.Timestamp, dt.date)):
        return _period_text(pd.Period(value, freq="D"), frequency)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, frequency) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, frequency) for v in value]
    return value


def _period_text(p: pd.Period, frequency: str) -> str:
    from preveval.data.periods import FREQUENCIES

    q = p.asfreq(FREQUENCIES[frequency], how="start")
    return str(q).split("/")[0] if frequency != "week" else f"{q.start_time.isocalendar()[0]}-W{q.start_time.isocalendar()[1]:02d}"


def infer_frequency(frame: Any, time: str | None) -> str:
    """The frequency of the time values (column ``time`` or the index): day ... year.

    Raises SpecError with a hint to pass ``frequency=`` when the values do not tell.
    """
    values: Any = None
    if isinstance(frame, pd.DataFrame):
        if time is not None and time in frame.columns:
            values = frame[time]
        elif isinstance(frame.index, (pd.DatetimeIndex, pd.PeriodIndex)):
            values = frame.index.to_series()
        elif isinstance(frame.index, pd.MultiIndex) and time is not None and time in (frame.index.names or []):
            values = frame.index.get_level_values(time).to_series()
    found = None if values is None else _frequency_of(pd.Series(values).dropna())
    if found is None:
        raise SpecError([Issue("cannot tell the frequency of the periods" + (f" in '{time}'" if time else ""),
                               path="data.frequency", file="<dict>",
                               hint="pass frequency='month' (or day, week, quarter, year)")])
    return found


def _frequency_of(s: pd.Series) -> str | None:
    if s.empty:
        return None
    if isinstance(s.dtype, pd.PeriodDtype):
        return _FREQ_CODES.get(s.dtype.freq.rule_code[:1])
    first = s.iloc[0]
    if isinstance(first, pd.Period):
        return _FREQ_CODES.get(first.freqstr[:1])
    if pd.api.types.is_datetime64_any_dtype(s) or isinstance(first, (pd.Timestamp, dt.date)):
        return _spacing(pd.to_datetime(pd.Series(s)).drop_duplicates().sort_values())
    text = s.astype(str).str.strip()
    patterns = [(r"\d{4}-\d{1,2}", "month"), (r"\d{4}-?Q[1-4]", "quarter"), (r"\d{4}-?W\d{1,2}(-?\d)?", "week"),
                (r"\d{4}(\.0)?", "year")]
    for pattern, freq in patterns:
        if text.str.fullmatch(pattern, case=False).all():
            return freq
    if text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all():
        return _spacing(pd.to_datetime(text).drop_duplicates().sort_values())
    return None


def _spacing(dates: pd.Series) -> str | None:
    if len(dates) < 2:
        return None
    days = float(np.median(np.diff(dates.to_numpy()).astype("timedelta64[D]").astype(float)))
    for lo, hi, freq in ((1, 1, "day"), (7, 7, "week"), (28, 31, "month"), (89, 92, "quarter"), (365, 366, "year")):
        if lo <= days <= hi:
            return freq
    return None


# ------------------------------------------------------------------------------ compare


def compare(*results: Any, names: Iterable[str] | None = None, stat: str = "ci", digits: int = 3) -> pd.DataFrame:
    """Results side by side, one column per result (as ``etable`` does).

    Rows are every coefficient (the headline first), then the headline term, scale, ratio,
    observations, design and inference. Cells are ``estimate [ci_low, ci_high]``
    (``stat="ci"``), ``estimate (std_error)`` (``stat="se"``) or ``estimate (p=...)``
    (``stat="p"``), rounded to ``digits`` significant digits. Pass results, lists of
    them, dicts (their keys are the names) or EvaluationResults (each analysis a column).
    """
    items = _flatten(results)
    given = list(names) if names is not None else None
    if given is not None and len(given) != len(items):
        raise ValueError(f"{len(given)} names for {len(items)} results")
    labels = _unique(given or [n for n, _ in items])
    terms: list[str] = []
    for _, r in items:
        for term in r.tidy().index:
            if term not in terms:
                terms.append(term)
    head = list(dict.fromkeys(r.effect.term for _, r in items))
    terms = head + [t for t in terms if t not in head]
    cols: dict[str, list[str]] = {}
    for label, (_, r) in zip(labels, items, strict=True):
        tidy = r.tidy()
        cells = [_cell(tidy.loc[t], stat, digits) if t in tidy.index else "" for t in terms]  # type: ignore[arg-type]
        ratio = r.ratio
        cells += [r.effect.term, r.scale,
                  "" if ratio is None else _cell(pd.Series({"estimate": ratio.estimate, "ci_low": ratio.ci_low,
                                                            "ci_high": ratio.ci_high}), "ci", digits),
                  f"{r.n_obs:,}", _design(r), str(r.effect.interval_method or "")]
        cols[label] = cells
    index = terms + ["headline term", "scale", "ratio", "observations", "design", "interval"]
    return pd.DataFrame(cols, index=pd.Index(index, name="term"))


def _flatten(results: Iterable[Any]) -> list[tuple[str, AnalysisResult]]:
    out: list[tuple[str, AnalysisResult]] = []
    for r in results:
        if isinstance(r, AnalysisResult):
            out.append((r.id, r))
        elif isinstance(r, Mapping):
            out += [(str(k), v) for k, v in r.items()]
        elif hasattr(r, "analyses") and isinstance(r.analyses, Mapping):
            out += list(r.analyses.items())
        elif isinstance(r, (list, tuple)):
            out += _flatten(r)
        else:
            raise TypeError(f"compare takes analysis results, not {type(r).__name__}")
    return out


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    return out


def _num(v: Any, digits: int) -> str:
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{float(v):.{digits}g}"


def _cell(row: pd.Series, stat: str, digits: int) -> str:
    est = _num(row.get("estimate"), digits)
    if stat == "se":
        se = _num(row.get("std_error"), digits)
        return f"{est} ({se})" if se else est
    if stat == "p":
        p = row.get("p_value")
        return est if p is None or p != p else f"{est} (p={'<0.001' if p < 0.001 else f'{p:.2g}'})"
    lo, hi = _num(row.get("ci_low"), digits), _num(row.get("ci_high"), digits)
    return f"{est} [{lo}, {hi}]" if lo and hi else est


def _design(r: Any) -> str:
    bits = [r.method, getattr(r, "design", None) if r.method == "did" else None, getattr(r, "family", None)]
    return ", ".join(b for b in bits if b)


# ------------------------------------------------------------------ hooks for the records


def _where(result: Any) -> tuple[Any, Any]:
    """The indicator and analysis spec a result was fitted with."""
    src = result.source
    if src is None:
        raise ValueError(f"{result.id}: this result does not record what it was fitted on; fit it with "
                         "pv.its, pv.did or Evaluation.run to draw or re-fit it")
    a = src.analysis_spec()
    return src.spec.indicator(a.indicator), a


def _its_figures(result: Any, indicator: Any, spec: Any) -> dict[str, Callable[[Any], Any]]:
    from preveval.pack.its_section import plot_its, plot_residual_acf

    return {"main": lambda ax: plot_its(result, indicator, spec, ax=ax),
            "residual_acf": lambda ax: plot_residual_acf(result, ax=ax)}


def _did_figures(result: Any, indicator: Any, spec: Any) -> dict[str, Callable[[Any], Any]]:
    from preveval.pack.did_section import plot_event_study, plot_trends

    out: dict[str, Callable[[Any], Any]] = {}
    if not result.event_study_table().empty:
        out["event_study"] = lambda ax: plot_event_study(result, indicator, spec, ax=ax)
    rob = result.robustness
    if rob is not None and rob.trends is not None and not rob.trends.empty:
        out["trends"] = lambda ax: plot_trends(rob.trends, indicator, rob.first_start,
                                               spec.rate_per if spec.offset else None, ax=ax)
    if result.design == "staggered":
        from preveval.pack.staggered_section import (
            plot_bacon,
            plot_dynamic_effects,
            plot_sensitivity,
        )

        if (result.aggregations or {}).get("dynamic") is not None:
            out["dynamic"] = lambda ax: plot_dynamic_effects(result, indicator, ax=ax)
        if result.bacon:
            out["bacon"] = lambda ax: plot_bacon(result, indicator, ax=ax)
        if result.sensitivity is not None:
            out["sensitivity"] = lambda ax: plot_sensitivity(result, indicator, ax=ax)
    if out:
        out["main"] = out.get("dynamic") or out.get("event_study") or out.get("trends") or next(iter(out.values()))
    return out


def _synth_figures(result: Any, indicator: Any, spec: Any) -> dict[str, Callable[[Any], Any]]:
    from preveval.pack.synth_section import plot_gaps, plot_synthetic, plot_weights

    out: dict[str, Callable[[Any], Any]] = {"main": lambda ax: plot_synthetic(result, indicator, ax=ax),
                                            "weights": lambda ax: plot_weights(result, ax=ax)}
    out["synthetic"] = out["main"]
    if result.placebo_gaps is not None:
        out["gaps"] = lambda ax: plot_gaps(result, indicator, ax=ax)
    return out


#: The figures of each method's results by name (``main`` is the default of ``.plot()``).
FIGURES: dict[str, Callable[[Any, Any, Any], dict[str, Callable[[Any], Any]]]] = {
    "its": _its_figures, "did": _did_figures, "synthetic_control": _synth_figures}


def _plot(result: Any, name: str, ax: Any) -> Any:
    indicator, spec = _where(result)
    figures = FIGURES[result.method](result, indicator, spec)
    key = {"acf": "residual_acf", "residual-acf": "residual_acf", "event-study": "event_study"}.get(name, name)
    if key not in figures:
        raise ValueError(f"{result.id} has no figure '{name}'; it has: {', '.join(figures) or 'none'}")
    fig = figures[key](ax)
    if fig is None:
        raise ValueError(f"{result.id}: the figure '{name}' has nothing to show")
    return fig


def _headline(result: Any) -> str:
    indicator, spec = _where(result)
    if result.method == "its":
        from preveval.pack.its_section import headline

        return headline(result, indicator, spec)
    if result.method == "did":
        from preveval.pack.did_section import headline as did_headline

        return did_headline(result, indicator, spec)
    if result.method == "synthetic_control":
        from preveval.pack.synth_section import headline as synth_headline

        return synth_headline(result, indicator, spec)
    return ""


def _refit(result: Any, changes: Mapping[str, Any]) -> Any:
    src = result.source
    if src is None:
        _where(result)
    raw = copy.deepcopy(dict(src.raw))
    frequency = raw.get("data", {}).get("frequency", "month")
    a = next(x for x in raw["analyses"] if x.get("id") == src.analysis)
    data_keys = {k: changes[k] for k in _DATA_KEYS if k in changes}
    for k, v in changes.items():
        if k in data_keys:
            continue
        if v is None:
            a.pop(k, None)
        else:
            a[k] = _plain(_seasonality(v) if k == "seasonality" else v, frequency)
    raw["data"] = {**raw.get("data", {}), **data_keys}
    raw["analyses"] = [a]
    for k in ("contribution", "economics"):
        raw.pop(k, None)
    ev = from_dict(raw, src.data)
    return _fit(ev, src.analysis)


register_hook("plot", _plot)
register_hook("headline", _headline)
register_hook("refit", _refit)
