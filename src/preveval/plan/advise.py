"""The design advisor: which designs the data's shape permits, which one to use, and the YAML.

:func:`data_shape` reads the shape of a loaded evaluation's data: units, which units are
treated and from when (from the first analysis that says so: ``first_treated``,
``treatment``, ``group``/``post``, a synthetic control's ``treated``, or an ITS's units and
intervention), periods before and after, frequency, outcome kind and exposure.
:func:`advise` lists every design with whether the data permit it, what it would need that
is missing, and recommends one:

- one series only: interrupted time series, the weakest design (nothing shows what else
  changed at the same time);
- one treated area with enough untreated areas (:data:`MIN_DONORS`): synthetic control;
- treated areas starting at different times: staggered difference-in-differences
  (Callaway & Sant'Anna 2021), never TWFE on its own (Goodman-Bacon 2021);
- treated areas starting together with untreated areas: difference-in-differences (TWFE),
  with the wild cluster bootstrap when clusters are few (:data:`FEW_CLUSTERS`).

The suggested ``analyses:`` block is YAML a user can paste into the evaluation file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from preveval.data.periods import FREQUENCIES, period_word
from preveval.spec.models import DidAnalysis, ItsAnalysis, SynthAnalysis

__all__ = ["Advice", "DataShape", "DesignOption", "advise", "data_shape"]

MIN_DONORS = 10
FEW_CLUSTERS = 50
MIN_PRE = 8


@dataclass(frozen=True)
class DataShape:
    """What the advisor reads from the data."""

    n_units: int
    n_treated: int
    n_never: int
    cohorts: dict[str, int]  # first treated period -> number of units starting then
    n_periods: int
    n_pre: int
    n_post: int
    first_period: str
    last_period: str
    frequency: str
    indicator: str
    kind: str
    exposure: str | None
    timing_from: str | None  # which field told the advisor who is treated
    treated_units: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)  # role -> column used


@dataclass(frozen=True)
class DesignOption:
    """One design: permitted or not, why, and what it would need."""

    design: str
    name: str
    permitted: bool
    why: str
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Advice:
    """The advisor's answer."""

    shape: DataShape
    options: tuple[DesignOption, ...]
    recommended: str
    reason: str
    yaml: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for plan.json."""
        return {"shape": asdict(self.shape), "options": [asdict(o) for o in self.options],
                "recommended": self.recommended, "reason": self.reason, "yaml": self.yaml}


def _period(ordinal: float, freq: str) -> str:
    return str(pd.Period(ordinal=int(ordinal), freq=FREQUENCIES[freq]))


def _starts(ev: Any) -> tuple[dict[str, float], str | None, dict[str, str]]:
    """Each treated unit's first treated period (ordinal), from the analysis that says most.

    A DiD's ``first_treated`` first, then a DiD's ``treatment`` or ``group``, a synthetic
    control's ``treated``, and last an ITS's units and intervention.
    """
    f, unit, freq = ev.frame, ev.spec.data.unit, ev.spec.data.frequency

    def rank(a: Any) -> int:
        if isinstance(a, DidAnalysis):
            return 0 if a.first_treated else 1
        return 2 if isinstance(a, SynthAnalysis) else 3

    for a in sorted(ev.spec.analyses, key=rank):
        if isinstance(a, DidAnalysis) and unit:
            if a.first_treated:
                ft = f.groupby(unit)[a.first_treated].first()
                return ({str(u): float(v) for u, v in ft.items() if np.isfinite(v)}, "first_treated",
                        {"first_treated": a.first_treated})
            col = a.treatment or a.group
            if col:
                on = f[f[col].astype(float) != 0]
                if a.design == "two_by_two" and a.post:
                    on = on[on[a.post].astype(float) != 0]
                st = on.groupby(unit)["t"].min()
                return {str(u): float(v) for u, v in st.items()}, col, {("treatment" if a.treatment else "group"): col}
        if isinstance(a, SynthAnalysis):
            p = pd.Period(a.intervention, freq=FREQUENCIES[freq]).ordinal
            return {u: float(p) for u in a.treated_units}, "treated", {}
        if isinstance(a, ItsAnalysis):
            p = min(pd.Period(v, freq=FREQUENCIES[freq]).ordinal for v in a.intervention_map().values())
            us = a.units if isinstance(a.units, tuple) else ("(all)",)
            return {u: float(p) for u in us}, "intervention", {}
    return {}, None, {}


def data_shape(ev: Any) -> DataShape:
    """The shape of a loaded evaluation's data (its first analysis' indicator)."""
    spec, f = ev.spec, ev.frame
    freq = spec.data.frequency
    unit = spec.data.unit
    ind = spec.indicator(spec.analyses[0].indicator) if spec.analyses else spec.indicators[0]
    starts, source, cols = _starts(ev)
    units = sorted(set(f[unit].astype(str))) if unit else []
    t = f["t"].to_numpy()
    first = float(min(starts.values())) if starts else float(t.max()) + 1
    cohorts: dict[str, int] = {}
    for v in starts.values():
        cohorts[_period(v, freq)] = cohorts.get(_period(v, freq), 0) + 1
    exposure = next((a.offset for a in spec.analyses if getattr(a, "offset", None)), None)
    n_treated = len([u for u in starts if u in units]) if unit else (1 if starts else 0)
    if "(all)" in starts:
        n_treated = len(units) or 1
    return DataShape(
        n_units=len(units) or 1, n_treated=n_treated, n_never=max(len(units) - n_treated, 0) if unit else 0,
        cohorts=dict(sorted(cohorts.items())), n_periods=int(len(np.unique(t))),
        n_pre=int((np.unique(t) < first).sum()), n_post=int((np.unique(t) >= first).sum()),
        first_period=_period(t.min(), freq), last_period=_period(t.max(), freq), frequency=freq,
        indicator=ind.id, kind=ind.kind, exposure=exposure, timing_from=source,
        treated_units=tuple(sorted(u for u in starts if u != "(all)")), columns=cols)


def _options(s: DataShape) -> list[DesignOption]:
    word = period_word(float({"day": 365.25, "week": 52.1775, "month": 12, "quarter": 4, "year": 1}[s.frequency]))
    known = s.timing_from is not None
    short = s.n_pre < MIN_PRE
    pre_need = (f"at least {MIN_PRE} {word}s before the start (there are {s.n_pre})",) if short else ()
    opts = [DesignOption(
        "its", "interrupted time series", known and not short and s.n_post >= 1,
        "one series before and after the start; the weakest design: nothing shows what else changed then",
        (*(() if known else ("the first period in which the initiative is active (intervention:)",)), *pre_need))]
    panel = s.n_units > 1
    cohorts = len(s.cohorts)
    need_units = () if panel else ("data for several areas (data.unit), some of which did not run the initiative",)
    need_never = () if s.n_never >= 1 else ("areas that never ran the initiative (or ran it later)",)
    opts.append(DesignOption(
        "controlled_its", "controlled interrupted time series", panel and s.n_never >= 1 and not short,
        "the treated series against untreated areas' series: a check on changes shared by both",
        (*need_units, *need_never, *pre_need)))
    few = s.n_units < FEW_CLUSTERS
    opts.append(DesignOption(
        "twfe", "difference-in-differences", panel and s.n_treated >= 2 and s.n_never >= 1 and cohorts == 1,
        "treated against untreated areas, before and after" + (
            f" (with {s.n_units} areas, few clusters: use the wild cluster bootstrap)" if few else ""),
        (*need_units, *need_never, *(("at least 2 treated areas",) if s.n_treated < 2 else ()),
         *(("one common start (the areas start at different times: use the staggered design)",)
           if cohorts > 1 else ()))))
    opts.append(DesignOption(
        "staggered", "staggered difference-in-differences (Callaway & Sant'Anna)",
        panel and s.n_treated >= 2 and cohorts >= 2 and (s.n_never >= 1 or cohorts >= 2),
        "each roll-out wave against areas not (yet) treated; avoids the bias of TWFE with staggered starts",
        (*need_units, *(("treated areas starting at two or more different times",) if cohorts < 2 else ()),
         *(("a first_treated column (first treated period of each area, blank if never)",)
           if "first_treated" not in s.columns else ()))))
    opts.append(DesignOption(
        "synthetic_control", "synthetic control", panel and s.n_treated == 1 and s.n_never >= 5 and not short,
        "one treated area against a weighted mix of untreated areas; the placebo test needs 19 or more donors "
        "to reach 5%",
        (*need_units, *(("exactly one treated area",) if s.n_treated != 1 else ()),
         *((f"at least 5 untreated areas as donors (there are {s.n_never})",) if s.n_never < 5 else ()),
         *pre_need)))
    return opts


def _recommend(s: DataShape, opts: list[DesignOption]) -> tuple[str, str]:
    ok = {o.design for o in opts if o.permitted}
    if s.n_units <= 1 or not (ok - {"its"}):
        return "its", ("one series only: an interrupted time series is all the data allow, and the weakest "
                       "design; add areas that did not run the initiative to compare with")
    if "synthetic_control" in ok:
        return "synthetic_control", (f"one treated area with {s.n_never} untreated areas: a synthetic control "
                                     "weights the untreated areas to track the treated one before the start")
    if "staggered" in ok:
        return "staggered", (f"the {s.n_treated} treated areas start at {len(s.cohorts)} different times: "
                             "Callaway & Sant'Anna compare each wave with the areas that never ran it (control: "
                             "never_treated, the default)")
    if "twfe" in ok:
        return "twfe", (f"{s.n_treated} treated areas start together and {s.n_never} never do: "
                        "difference-in-differences compares their change")
    if "controlled_its" in ok:
        return "controlled_its", (f"{s.n_treated} treated area(s) against {s.n_never} untreated: a controlled "
                                  "interrupted time series")
    return "its", "only the interrupted time series is permitted by the data"


def _yaml(ev: Any, s: DataShape, opts: list[DesignOption], rec: str) -> str:
    import yaml

    count = s.kind == "count"
    ind = s.indicator
    out: list[dict[str, Any]] = []
    intervention = min(s.cohorts) if s.cohorts else "YYYY-MM"
    ok = [o.design for o in opts if o.permitted] or ["its"]
    for d in [rec, *[x for x in ok if x != rec]]:
        a: dict[str, Any] = {"id": f"{d.replace('_', '-')}-{ind}".replace("_", "-")[:60],
                             "method": {"its": "its", "controlled_its": "its", "synthetic_control":
                                        "synthetic_control"}.get(d, "did"), "indicator": ind}
        if d in ("its", "controlled_its"):
            if s.n_units > 1:
                a["units"] = list(s.treated_units) or "all"
                if not s.treated_units:
                    a["aggregate"] = "sum"
            a["intervention"] = intervention
            a["family"] = "quasipoisson" if count else "gaussian"
            if s.frequency in ("month", "quarter", "week"):
                per = {"month": 12, "quarter": 4, "week": 52}[s.frequency]
                a["seasonality"] = {"type": "fourier", "period": per, "harmonics": 2 if per > 4 else 1}
            if d == "controlled_its":
                treated = set(s.treated_units)
                a["comparison"] = {"units": sorted(set(ev.frame[ev.spec.data.unit].astype(str)) - treated)}
        elif d == "twfe":
            a.update({"design": "twfe", "treatment": s.columns.get("treatment", "active"),
                      "inference": "wild_bootstrap" if s.n_units < FEW_CLUSTERS else "cluster"})
            if count:
                a["family"] = "poisson"
        elif d == "staggered":
            a.update({"design": "staggered", "first_treated": s.columns.get("first_treated", "first_treated"),
                      "control": "never_treated" if s.n_never >= 2 else "not_yet_treated"})
        else:
            a.update({"treated": s.treated_units[0] if s.treated_units else "UNIT", "intervention": intervention})
        if s.exposure:
            a["offset"] = s.exposure
        out.append(a)
    return yaml.safe_dump({"analyses": out}, sort_keys=False, allow_unicode=True, default_flow_style=None)


def advise(ev: Any) -> Advice:
    """The advisor's answer for a loaded evaluation."""
    s = data_shape(ev)
    opts = _options(s)
    rec, why = _recommend(s, opts)
    return Advice(s, tuple(opts), rec, why, _yaml(ev, s, opts, rec))
