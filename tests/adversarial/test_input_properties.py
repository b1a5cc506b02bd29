"""Property: whatever the evaluation file holds, the loader and the validator either accept it
or raise one of preveval's own errors (:class:`~preveval.errors.PrevevalError`), never
anything else (the CLI would report that as an internal error, exit code 1).

Three routes, each with a fixed, derandomized example budget so that the suite stays within
about a minute:

- mutations of a valid evaluation (keys dropped or renamed, values replaced by odd scalars
  or nested structures, lists wrapped), written as YAML text, then tags, anchors, aliases
  and stray characters spliced into the text; through
  :func:`preveval.spec.loader.load_yaml_text` and :func:`preveval.spec.validate.check_spec`;
- random YAML-ish text from YAML's own punctuation, tags and anchors, the same way;
- mutated dicts (with numpy and pandas scalars among the odd values) and a small DataFrame
  through :func:`preveval.from_dict`, which runs every spec and data check;
- the valid evaluation with a mutated DataFrame (odd cells, nullable and other dtypes, rows
  dropped, repeated or shuffled, columns renamed), the same way.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import warnings
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import preveval as pv
from preveval.errors import PrevevalError
from preveval.spec.loader import load_yaml_text
from preveval.spec.validate import check_spec
from support import SPEC, series_frame

EXTRA = """logic_model:
  inputs: [Staff time, {id: venue, text: A venue, partners: [Police Scotland]}]
  activities: [Home visits]
  outcomes: {short: [Fewer fires], long: [{id: safer, text: Safer homes}]}
  impact: Fewer deaths
  assumptions: [People open the door]
contribution:
  claim: The visits contributed to fewer events
  prior: 0.5
  rival_explanations:
    - {id: weather, description: A mild winter, links: [safer], status: partly}
  evidence:
    - {id: e1, from_analysis: its-events, p_if_false: 0.3, plausible_effect: -0.2}
    - {id: e2, description: Residents recall the visit, observed: true, p_if_true: 0.9, p_if_false: 0.5,
       rival: weather, depends_on: [e1]}
economics:
  price_year: 2023
  costs:
    - {item: staff, partner: Police Scotland, amount: 1000, per: year}
  unit_values:
    - {indicator: events, value: 500, source: Home Office}
  years: 1
"""
BASE: dict[str, Any] = yaml.safe_load(SPEC + EXTRA)
BASE_TEXT = SPEC + EXTRA
FRAME = series_frame()

KEYS = sorted({"schema_version", "initiative", "logic_model", "indicators", "data", "analyses", "contribution",
               "economics", "id", "name", "method", "its", "did", "str", "Element", "Seasonality", "[key]",
               "literal['none']", "function-after[_check(), Seasonality]", "tuple[str, ...]", "constrained-str",
               "seasonality", "type", "period", "units", "comparison", "interventions", "bootstrap_weights",
               "weights_type", "first_treated", "design", "path", "text", "seed", "reps", "amount", "value"})
ODD_SCALARS = [None, True, False, 0, -1, 1, 2**63, -(2**63) - 1, 99999999999999999999, 0.5, -0.0, 1e308, -1e308,
               5e-324, math.inf, -math.inf, math.nan, "", " ", "\x00", "\x1b[2J", "$\\x$", "none", "all", "its",
               "did", "2019-01", "2019-13", "9999-12", "0000-01", "ÿ" * 300, "\u202e", "-", "~", "null", ".inf"]
PY_ODDITIES = [np.float64("nan"), np.float64(1e308), np.int64(-1), np.int64(2**62), np.bool_(True), pd.NA, pd.NaT,
               dt.date(2019, 1, 1), dt.datetime(2019, 1, 1, 12), b"bytes", Decimal("NaN"), Decimal("1e400"),
               frozenset({1}), (1, 2), 1 + 2j]
SNIPPETS = ["!!int ", "!!float ", "!!bool ", "!!str ", "!!null ", "!!binary ", "!!timestamp ", "!!set ", "!!omap ",
            "!!python/name:os.system ", "!custom ", "&a ", "*a", "<<: *a\n", "{", "}", "[", "]", ",", "\x00", "\x07",
            "\ufeff", "\t", "- ", ": ", "? ", "'", '"', "\\", "#", "|", ">", "%YAML 1.1\n", "---\n", "...\n", "\n  ",
            "\r", "\u2028", ".inf", ".nan", "1e308", "99999999999999999999", "-1"]
TOKENS = [*list("ab1.:-[]{},&*!|>'\"#%@` \n\t\\?"), "!!int", "!!float", "!!bool", "&a", "*a", "<<", ": ", "- ",
          ".inf", ".nan", "~", "null", "true", "0x1F", "0o17", "1_000", "1:30", "2019-01-01"]

PROPERTY = settings(max_examples=250, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])

scalars = st.one_of(st.sampled_from(ODD_SCALARS), st.integers(), st.floats(), st.text(max_size=12),
                    st.booleans(), st.none())
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(
    st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), c, max_size=3), max_leaves=8)
key_names = st.one_of(st.sampled_from(KEYS), st.text(max_size=10))


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a nest of dicts and lists."""
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((node, k))
            _slots(v, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((node, i))
            _slots(v, out)
    return out


@st.composite
def mutated(draw: st.DrawFn, odd: st.SearchStrategy[Any] = values) -> dict[str, Any]:
    """The base evaluation with one to four mutations."""
    spec = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(spec, [])
        container, key = draw(st.sampled_from(slots))
        op = draw(st.sampled_from(["drop", "rename", "replace", "replace", "wrap", "nest"]))
        if op == "drop":
            del container[key]
        elif op == "rename" and isinstance(container, dict):
            new = draw(key_names)
            container[new] = container.pop(key)
        elif op == "wrap":
            container[key] = [container[key]]
        elif op == "nest":
            container[key] = {draw(key_names): container[key]}
        else:
            container[key] = draw(odd)
    return spec


def _dump(spec: dict[str, Any]) -> str:
    return yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, default_flow_style=None)


@st.composite
def spliced(draw: st.DrawFn) -> str:
    """A mutated evaluation as YAML text, with tags, anchors and stray characters spliced in."""
    text = _dump(draw(mutated(values.filter(lambda v: not isinstance(v, float) or math.isfinite(v)) | scalars)))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at:]
    return text


def only_preveval_errors(action: Any) -> None:
    try:
        action()
    except PrevevalError:
        pass


def _yaml_route(text: str) -> None:
    def act() -> None:
        check_spec(load_yaml_text(text, "evaluation.yaml"))
    only_preveval_errors(act)


@PROPERTY
@given(spliced())
def test_mutated_yaml_gives_preveval_errors_only(text: str) -> None:
    _yaml_route(text)


@PROPERTY
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_random_yaml_text_gives_preveval_errors_only(text: str) -> None:
    _yaml_route(text)


@settings(PROPERTY, max_examples=120)
@given(mutated(st.one_of(values, st.sampled_from(PY_ODDITIES))))
def test_mutated_dicts_and_a_frame_give_preveval_errors_only(spec: dict[str, Any]) -> None:
    only_preveval_errors(lambda: pv.from_dict(spec, FRAME))


def _cyclic() -> dict[str, Any]:
    spec = copy.deepcopy(BASE)
    spec["analyses"][0]["self"] = spec
    return spec


def _deep() -> dict[str, Any]:
    spec = copy.deepcopy(BASE)
    node: dict[str, Any] = {}
    spec["analyses"][0]["deep"] = node
    for _ in range(40):
        node["x"] = {}
        node = node["x"]
    return spec


@pytest.mark.parametrize(("make", "words"), [
    (lambda: {**copy.deepcopy(BASE), 1: "one"}, "not text"),
    (lambda: {**copy.deepcopy(BASE), "data": {**copy.deepcopy(BASE)["data"], ("a", "b"): 1}}, "not text"),
    (_cyclic, "contains itself"),
    (_deep, "nested more than"),
    (lambda: {**copy.deepcopy(BASE), "data": ["not", "a", "mapping"]}, "data"),
    (lambda: {**copy.deepcopy(BASE), "data": 3}, "data"),
], ids=["int-key", "tuple-key", "cycle", "deep", "data-list", "data-number"])
def test_dicts_yaml_cannot_express_are_refused_as_spec_errors(make: Any, words: str) -> None:
    """A notebook can build dicts no evaluation file can hold: each is a SpecError, not a crash."""
    with pytest.raises(pv.SpecError) as info:
        pv.from_dict(make(), FRAME)
    assert words in str(info.value)


CELLS = [np.nan, None, pd.NA, pd.NaT, "x", "", " ", "inf", "-inf", "nan", -1, -0.5, 2.5, 1e20, 2**63, True,
         "2019-13", "2019-02-30", "0000-01", "9999-12", dt.date(2019, 1, 1), pd.Timestamp("2019-01-01"),
         pd.Period("2019-01", "M"), "=1+2", "\x00", "1,000", "1e3"]
DTYPES = ["Int64", "Float64", "string", "category", "object", "float64", "datetime64[ns]", "period[M]"]


@st.composite
def mutated_frames(draw: st.DrawFn) -> pd.DataFrame:
    """The base data with odd cells, other dtypes, rows dropped or repeated, columns renamed."""
    f = FRAME.copy()
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["cell", "cell", "dtype", "drop", "repeat", "rename", "shuffle"]))
        col = draw(st.sampled_from(list(f.columns)))
        if op == "cell" and len(f):
            f = f.astype({col: object})
            f.iloc[draw(st.integers(0, len(f) - 1)), list(f.columns).index(col)] = draw(st.sampled_from(CELLS))
        elif op == "dtype":
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # pandas' deprecation notes about the conversion
                    f = f.astype({col: draw(st.sampled_from(DTYPES))})
            except (TypeError, ValueError, OverflowError):
                pass  # that column cannot be held in that type
        elif op == "drop" and len(f):
            f = f.drop(index=f.index[draw(st.integers(0, len(f) - 1))])
        elif op == "repeat" and len(f):
            f = pd.concat([f, f.iloc[[draw(st.integers(0, len(f) - 1))]]])
        elif op == "rename":
            f = f.rename(columns={col: draw(st.sampled_from(["t", "period", "", "events ", "Events", col * 2]))})
        elif op == "shuffle":
            f = f.sample(frac=1.0, random_state=draw(st.integers(0, 9)))
    return f


@settings(PROPERTY, max_examples=150)
@given(mutated_frames())
def test_mutated_frames_give_preveval_errors_only(frame: pd.DataFrame) -> None:
    only_preveval_errors(lambda: pv.from_dict(BASE, frame))


def test_the_base_evaluation_is_valid() -> None:
    """The mutations start from an evaluation that passes every check, on both routes."""
    check_spec(load_yaml_text(BASE_TEXT, "evaluation.yaml"))
    pv.from_dict(BASE, FRAME)
