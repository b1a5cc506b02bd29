"""``preveval new DIR --from ID``: a new evaluation folder from a library entry, filled in.

The template's text is copied with its comments; the values the user gives replace the
template's in place (by the position of each YAML node, so every comment and the library
card stay): the frequency (and each seasonality, event-study window and synthetic-control
window to match), the intervention date (the other dates of an analysis keep their distance
from it), the treated unit(s) and, when the units are known, the comparison units and donors.
With ``--from-data FILE`` the units, periods and columns come from an existing file, which
the new evaluation then reads. Every argument is checked before anything is written; what
is still to do is returned as plain sentences, each with the line of the evaluation file to
edit where there is one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .data.periods import FREQUENCIES, parse_period
from .errors import Issue, SpecError
from .library import Template, get
from .library_edit import Editor, period_label, quote
from .spec.loader import load_yaml_text
from .spec.models import EvaluationSpec, ItsAnalysis, SynthAnalysis
from .spec.validate import suggest, validate_spec

__all__ = ["NewRequest", "Scaffold", "scaffold"]


@dataclass(frozen=True)
class NewRequest:
    """What the user asked ``new`` to fill in (``None``: keep the template's)."""

    units: tuple[str, ...] | None = None
    treated: tuple[str, ...] | None = None
    start: str | None = None
    frequency: str | None = None
    from_data: Path | None = None


@dataclass
class Scaffold:
    """What ``new`` wrote and what the user still has to do."""

    written: list[Path] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)


def names(text: str | None, option: str) -> tuple[str, ...] | None:
    """``A, B,C`` -> ``('A', 'B', 'C')``; an empty name is an error."""
    if text is None:
        return None
    parts = tuple(p.strip() for p in text.split(","))
    if not parts or any(not p for p in parts):
        raise SpecError([Issue(f"{option} needs comma-separated names, got '{text}'", path=option,
                               hint=f"e.g. {option} 'Area A,Area B'")])
    if len(set(parts)) < len(parts):
        raise SpecError([Issue(f"a name is given twice in {option} '{text}'", path=option)])
    return parts


@dataclass
class _Data:
    """What an existing data file tells: its columns, time and unit columns, units, periods."""

    columns: list[str]
    time: str | None
    unit: str | None
    frequency: str | None
    units: tuple[str, ...] | None
    first: pd.Period | None
    last: pd.Period | None
    frame: pd.DataFrame | None = None


def _parses(values: pd.Series, freq: str) -> list[pd.Period] | None:
    out = []
    for v in values:
        p = parse_period(v, freq)
        if p is None:
            return None
        out.append(p)
    return out


def _infer_frequency(frame: pd.DataFrame, time: str, unit: str | None) -> str | None:
    """The coarsest frequency under which the time column parses without two rows of a unit merging."""
    keys = frame[unit].astype(str) if unit else pd.Series("", index=frame.index)
    best = None
    for freq in ("day", "week", "month", "quarter", "year"):
        periods = _parses(frame[time], freq)
        if periods is None:
            continue
        pairs = list(zip(keys, periods, strict=True))
        raw = list(zip(keys, frame[time].astype(str), strict=True))
        if len(set(pairs)) == len(set(raw)):
            best = freq
    return best


def read_data(path: Path, t: Template, frequency: str | None) -> _Data:
    """Columns, time and unit columns, units and periods of an existing data file."""
    from .data.read import read_dataset

    ds = read_dataset(path, str(path))
    frame = ds.frame
    cols = [str(c) for c in frame.columns]
    d = t.spec.data
    issues = []
    time = d.time if d.time in cols else None
    if time is None:  # a column whose every value reads as a period
        tries = (frequency,) if frequency else tuple(FREQUENCIES)
        cands = [c for c in cols if len(frame) and not pd.api.types.is_float_dtype(frame[c])
                 and any(_parses(frame[c], f) is not None for f in tries)]
        time = cands[0] if len(cands) == 1 else None
    unit = d.unit if d.unit in cols else None
    if unit is None and d.unit is not None:
        cands = [c for c in cols if c != time and frame[c].dtype == object
                 and 1 < frame[c].nunique() <= max(1, len(frame) // 2)]
        unit = cands[0] if len(cands) == 1 else None
    freq = frequency
    if time is not None and freq is None:
        freq = _infer_frequency(frame, time, unit)
    first = last = None
    if time is not None and freq is not None:
        periods = _parses(frame[time], freq)
        if periods is None:
            issues.append(Issue(f"the column '{time}' does not read as {freq}s", path="--frequency", file=str(path),
                                hint="give the frequency of the file with --frequency"))
        elif periods:
            first, last = min(periods), max(periods)
    if issues:
        raise SpecError(issues)
    units = tuple(sorted({str(u) for u in frame[unit].dropna()})) if unit else None
    return _Data(cols, time, unit, freq, units, first, last, frame)


def _check_request(t: Template, req: NewRequest, data: _Data | None) -> tuple[str, pd.Period | None]:
    """The frequency to use and the start period, or every problem with the arguments."""
    issues: list[Issue] = []
    freq = req.frequency or (data.frequency if data else None) or t.spec.data.frequency
    if freq not in FREQUENCIES:
        raise SpecError([Issue(f"no frequency '{freq}'", path="--frequency",
                               hint=suggest(freq, FREQUENCIES) or f"one of: {', '.join(FREQUENCIES)}")])
    start = None
    if req.start is not None:
        start = parse_period(req.start, freq)
        if start is None:
            from .data.periods import EXAMPLES

            issues.append(Issue(f"--start '{req.start}' is not a {freq}", path="--start",
                                hint=f"write it like {EXAMPLES[freq]}"))
        elif data is not None and data.first is not None and data.last is not None \
                and not data.first < start <= data.last:
            issues.append(Issue(f"--start {period_label(start, freq)} is outside the data, which run from "
                                f"{period_label(data.first, freq)} to {period_label(data.last, freq)}",
                                path="--start", hint="the start is the first period in which the initiative "
                                "is active, and needs data before it"))
    known = req.units if req.units is not None else (data.units if data else None)
    if req.units is not None and data is not None and data.units is not None:
        extra = [u for u in req.units if u not in data.units]
        if extra:
            issues.append(Issue(f"--units names {', '.join(extra)}, not in the data's '{data.unit}' column",
                                path="--units", hint=suggest(extra[0], data.units) or
                                f"the data's units: {', '.join(data.units[:10])}"))
    if req.treated is not None:
        if t.spec.data.unit is None:
            issues.append(Issue(f"'{t.id}' is a single series: it has no units to name as treated",
                                path="--treated", hint="remove --treated"))
        elif known is not None:
            bad = [u for u in req.treated if u not in known]
            if bad:
                issues.append(Issue(f"--treated names {', '.join(bad)}, not among the units", path="--treated",
                                    hint=suggest(bad[0], known) or f"units: {', '.join(known[:10])}"))
            elif len(known) - len(req.treated) < 1:
                issues.append(Issue("every unit is treated: the comparison needs units that did not run "
                                    "the initiative", path="--treated"))
        for a in t.spec.analyses:
            if isinstance(a, SynthAnalysis) and a.estimator == "abadie" and len(req.treated) > 1:
                issues.append(Issue(f"analysis '{a.id}' (synthetic control, estimator: abadie) takes one "
                                    f"treated unit; --treated gives {len(req.treated)}", path="--treated",
                                    hint="give one unit, or change that analysis to estimator: sdid after 'new'"))
    if issues:
        raise SpecError(issues)
    return freq, start


def _edit(t: Template, req: NewRequest, freq: str, start: pd.Period | None, data: _Data | None,
          out: Path) -> str:
    """The template's text with the request filled in."""
    ed = Editor(t.text)
    s = t.spec
    old = s.data.frequency
    if freq != old:
        ed.set(("data", "frequency"), freq)
        if data is None and s.data.time == old and freq not in _columns(s):  # a time column named 'month'
            ed.set(("data", "time"), freq)
    if data is not None:
        rel = os.path.relpath(req.from_data.resolve(), out.resolve()) if req.from_data else None  # type: ignore[union-attr]
        ed.set(("data", "path"), quote(Path(rel).as_posix()) if rel else s.data.path)
        if data.time and data.time != s.data.time:
            ed.set(("data", "time"), quote(data.time))
        if data.unit and s.data.unit and data.unit != s.data.unit:
            ed.set(("data", "unit"), quote(data.unit))
    units = req.units if req.units is not None else (data.units if data else None)
    for k, a in enumerate(s.analyses):
        base = ("analyses", k)
        ed.retime(base, a, old, freq, start)
        if req.treated is not None:
            if isinstance(a, ItsAnalysis) and isinstance(a.units, tuple):
                ed.set((*base, "units"), ed.names(req.treated))
            if isinstance(a, SynthAnalysis):
                ed.set((*base, "treated"), quote(req.treated[0]) if len(req.treated) == 1
                       else ed.names(req.treated))
        if units is not None and req.treated is not None:
            others = tuple(u for u in units if u not in req.treated)
            if isinstance(a, ItsAnalysis) and a.comparison is not None and a.comparison.units is not None:
                ed.set((*base, "comparison", "units"), ed.names(others))
            if isinstance(a, SynthAnalysis) and a.donors is not None:
                ed.set((*base, "donors"), ed.names(others))
    return ed.text()


def _columns(spec: EvaluationSpec) -> set[str]:
    from .data.checks import referenced_columns

    return {r.column for r in referenced_columns(spec)}


ROLE_TEXT = {
    "treatment": "1 in the {freq}s the {unit} runs the initiative, else 0",
    "time": "the period ({example})",
    "unit": "the name of the {unit}",
    "count": "a count for each {unit} and {freq}",
    "numeric": "a number for each {unit} and {freq}",
    "offset": "the exposure (e.g. population), greater than zero",
    "period": "the first {freq} each {unit} ran the initiative ({example}); empty if never",
    "binary": "0 or 1 for each {unit} and {freq}",
    "label": "a group label for each row",
    "predictor": "a number used to match areas (blanks allowed)",
}


def _todo(t: Template, spec: EvaluationSpec, text: str, out: Path, req: NewRequest, data: _Data | None,
          data_file: str) -> list[str]:
    from .data.checks import referenced_columns
    from .data.periods import EXAMPLES

    pos = load_yaml_text(text, str(out / "evaluation.yaml"))
    todo: list[str] = []
    freq, unit = spec.data.frequency, spec.data.unit or "series"
    refs: dict[str, str] = {}
    for r in referenced_columns(spec):
        refs.setdefault(r.column, r.role)
    for a in spec.analyses:
        treatment = getattr(a, "treatment", None)
        if treatment:
            refs[treatment] = "treatment"
    dates = [d for a in spec.analyses for d in (
        a.intervention_map().values() if isinstance(a, ItsAnalysis)
        else (a.intervention,) if isinstance(a, SynthAnalysis) else ())]
    fmt = {"example": f"written like {dates[0] if dates else EXAMPLES[freq]}", "unit": unit, "freq": freq}
    need = [c for c in refs if data is None or c not in data.columns]
    if need:
        what = "; ".join(f"{c}: {ROLE_TEXT.get(refs[c], 'a value').format(**fmt)}" for c in need)
        todo.append(f"{'Fill in' if data is None else 'Add to'} {data_file} one row per {unit} and {freq} "
                    f"with the columns {what}.")
    known = set(req.units or ()) | set(data.units or () if data else ())
    for k, a in enumerate(spec.analyses):
        line = pos.where(("analyses", k))[0]
        if req.start is None:
            when = (", ".join(a.intervention_map().values()) if isinstance(a, ItsAnalysis)
                    else a.intervention if isinstance(a, SynthAnalysis) else None)
            if when:
                todo.append(f"Set the first active {freq} of analysis '{a.id}' (line {line}; the template's "
                            f"example is {when}).")
        named: list[str] = []
        if isinstance(a, ItsAnalysis):
            named = [*(a.units if isinstance(a.units, tuple) else ()),
                     *(a.comparison.units if a.comparison is not None and a.comparison.units else ())]
        elif isinstance(a, SynthAnalysis):
            named = [*a.treated_units, *(a.donors or ())]
        missing = [u for u in named if u not in known]
        if missing:
            todo.append(f"Replace the {unit} name(s) {', '.join(repr(u) for u in missing)} in analysis "
                        f"'{a.id}' (line {line}) with those in your data.")
    shape = _shape(spec, req, data)
    if shape is not None:
        label, advice = shape
        todo.append(f"Your data look like {label}: {getattr(t.card.designs, advice)} Keep the analyses that "
                    "fit your data and delete the others.")
    todo.append(f"Check the partners and their roles (line {pos.where(('initiative', 'partners'))[0]}).")
    costs = "; ".join(c.item + (f" ({c.partner})" if c.partner else "") + (", in kind" if c.in_kind else "")
                      for c in t.card.costs)
    todo.append(f"Record the costs ({costs}) and add them in an economics: block.")
    if spec.contribution is not None and spec.contribution.further_evidence:
        todo.append("Collect the further evidence the contribution block lists, and add each item as "
                    "evidence with observed: true/false when you have it.")
    todo.append(f"Then run: preveval validate {out / 'evaluation.yaml'}")
    return todo


SHAPES = {"one_area": "one area running the initiative", "few_areas": "a few areas starting together",
          "staggered": "a staggered roll-out"}


def _shape(spec: EvaluationSpec, req: NewRequest, data: _Data | None) -> tuple[str, str] | None:
    """Which usual data shape the arguments describe (one area, a few, staggered), if they say."""
    if data is not None and data.frame is not None:
        from .data.checks import referenced_columns

        starts = [r.column for r in referenced_columns(spec) if r.role == "period" and r.column in data.columns]
        values = {str(v).strip() for v in data.frame[starts[0]].dropna()} - {""} if starts else set()
        if len(values) > 1:
            return SHAPES["staggered"], "staggered"
    if req.treated is None:
        return None
    key = "one_area" if len(req.treated) == 1 else "few_areas"
    return SHAPES[key], key


def scaffold(template_id: str, out: Path, req: NewRequest | None = None) -> Scaffold:
    """Write ``out/evaluation.yaml`` (and a data CSV header unless ``--from-data``); return what is left to do."""
    req = req or NewRequest()
    t = get(template_id)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SpecError([Issue(f"{out} {'is not a folder' if not out.is_dir() else 'is not empty'}",
                               path="DIR", hint="choose a new folder: new never overwrites files")])
    data = read_data(req.from_data, t, req.frequency) if req.from_data is not None else None
    freq, start = _check_request(t, req, data)
    text = _edit(t, req, freq, start, data, out)
    spec = validate_spec(load_yaml_text(text, str(out / "evaluation.yaml")))  # the edits keep it valid
    result = Scaffold()
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.yaml").write_text(text, encoding="utf-8")
    result.written.append(out / "evaluation.yaml")
    if data is None:
        from .data.checks import referenced_columns

        columns = list(dict.fromkeys(r.column for r in referenced_columns(spec)))
        data_path = out / spec.data.path
        data_path.parent.mkdir(parents=True, exist_ok=True)
        data_path.write_text(",".join(_csv_cell(c) for c in columns) + "\n", encoding="utf-8")
        result.written.append(data_path)
        data_file = str(data_path)
    else:
        data_file = str(req.from_data)
    result.todo = _todo(t, spec, text, out, req, data, data_file)
    return result


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(ch in text for ch in ',"\n') else text

