"""Planning before any post-period data exist: the post period is simulated from the pre-period alone.

``validate`` and ``run`` need periods from each start in the data. A plan is made earlier:
when an analysis starts after the data end (or too near the end: fewer than
:data:`MIN_POST` periods from it), :func:`load_for_plan` validates the file exactly as
``load`` does, with **placeholder rows** added after the last period: for each unit, copies
of its last row, so that every message about them points at the row they copy (file, line
and column). Their outcome values are never used: the simulators learn only from periods up
to the last observed one (``observed_last``) and simulate everything after it.

A start more than :data:`MAX_AHEAD_YEARS` years after the data end is not planned this way
(it is most likely a typing error, and the ordinary message says so).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from preveval.data.periods import FREQUENCIES, parse_period
from preveval.spec.models import DidAnalysis, ItsAnalysis, SynthAnalysis

__all__ = ["MAX_AHEAD_YEARS", "MIN_POST", "load_for_plan"]

MIN_POST = 8
MAX_AHEAD_YEARS = 5
PPY = {"day": 365, "week": 52, "month": 12, "quarter": 4, "year": 1}


def _starts(spec: Any, frame: pd.DataFrame) -> list[int]:
    freq = spec.data.frequency
    out: list[int] = []
    for a in spec.analyses:
        texts: list[str] = []
        if isinstance(a, ItsAnalysis):
            texts = list(a.intervention_map().values())
        elif isinstance(a, SynthAnalysis):
            texts = [a.intervention]
        elif isinstance(a, DidAnalysis) and a.first_treated and a.first_treated in frame.columns:
            texts = [str(v) for v in frame[a.first_treated].dropna().unique()]
        for text in texts:
            p = parse_period(text, freq)
            if p is not None:
                out.append(int(p.ordinal))
    return out


def load_for_plan(path: str | Path) -> tuple[Any, int | None]:
    """The evaluation for ``preveval plan`` and the last observed period (None: no placeholders)."""
    from preveval.data.checks import check_dataset
    from preveval.data.read import read_dataset
    from preveval.errors import DataError, SpecError
    from preveval.pipeline import Evaluation, load
    from preveval.spec.loader import load_yaml_file
    from preveval.spec.validate import check_spec

    path = Path(path)
    display = str(path)
    pos = load_yaml_file(path, display)
    checked = check_spec(pos)
    spec = checked[0]
    freq = spec.data.frequency
    data_display = str(Path(display).parent / spec.data.path) if Path(display).parent != Path(".") else spec.data.path
    ds = read_dataset(path.parent / spec.data.path, data_display, spec.data.sheet)
    parsed = [parse_period(str(v), freq) for v in ds.frame[spec.data.time].astype(str).unique()]
    ordinals = [int(p.ordinal) for p in parsed if p is not None]
    starts = _starts(spec, ds.frame)
    if not ordinals or not starts or len(parsed) != len(ordinals):
        return load(path), None
    last = max(ordinals)
    need = max(starts) + max(MIN_POST, PPY[freq]) - 1
    if need <= last or max(starts) > last + MAX_AHEAD_YEARS * PPY[freq] or max(starts) <= last - MIN_POST:
        return load(path), None
    code = FREQUENCIES[freq]
    labels = [str(pd.Period(ordinal=o, freq=code)) for o in range(last + 1, need + 1)]
    if any(parse_period(x, freq) is None for x in labels):
        return load(path), None  # a frequency whose periods do not read back as written
    f = ds.frame
    t = np.array([getattr(parse_period(str(v), freq), "ordinal", -1) for v in f[spec.data.time].astype(str)])
    unit = spec.data.unit
    groups = f.groupby(f[unit].astype(str), sort=False).indices if unit else {"": np.arange(len(f))}
    src_rows: list[int] = []
    for idx in groups.values():
        rows = np.asarray(idx)
        src_rows += [int(rows[int(np.argmax(t[rows]))])] * len(labels)
    extra = f.iloc[src_rows].copy()
    extra[spec.data.time] = labels * len(groups)
    frame = pd.concat([f, extra], ignore_index=True)
    lines = None if ds.lines is None else np.concatenate([ds.lines, ds.lines[src_rows]])
    cells = None if ds.cells is None else [*ds.cells, *(ds.cells[i] for i in src_rows)]
    ds2 = replace(ds, frame=frame, lines=lines, cells=cells)
    frame2, issues = check_dataset(ds2, spec, pos)  # as pipeline.load does
    issues = [*checked[1], *issues]
    errors = [i for i in issues if i.level == "error"]
    if errors:
        spec_side = [i for i in errors if i.file == pos.file]
        raise (SpecError if spec_side and len(spec_side) == len(errors) else DataError)(errors)
    ev = Evaluation(spec, pos, ds2, frame2, tuple(issues), hashlib.sha256(path.read_bytes()).hexdigest())
    return ev, last
