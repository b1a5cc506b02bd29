"""Turn plain data into an :class:`EvaluationSpec`, with positioned, hinted errors.

Pydantic's errors are translated one by one into :class:`~preveval.errors.Issue` records
that carry the file, line and column of the offending key or value, the dotted field path
and a "did you mean" hint for misspelt keys and enum values. Cross-reference rules (one
function each) then check what a single field cannot: unique ids and references that
exist. Everything is gathered and raised once.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ..errors import Issue, SpecError
from .design_rules import DESIGN_RULES
from .loader import Loc, Positioned
from .models import SCHEMA_VERSIONS, EvaluationSpec

# ------------------------------------------------------------- pydantic errors as issues


@dataclass(frozen=True)
class _Where:
    """Where a pydantic error points in the user's data.

    ``loc`` is the location with pydantic's union-member markers dropped; ``owner`` the model
    that has (or lacks) the field ``loc[-1]``; ``key`` whether the error is about a mapping
    key itself; ``wrong_member`` whether the error comes from a union member of another kind
    than the value written (a mapping member when text was written), while a member of the
    right kind exists; ``no_member`` the union location and its members when no member is
    of the kind written.
    """

    loc: Loc
    owner: type[BaseModel] | None = None
    key: bool = False
    wrong_member: bool = False
    no_member: tuple[Loc, tuple[Any, ...]] | None = None


_MISSING = object()


def _unwrap(ann: Any) -> Any:
    """Strip ``Annotated`` and ``| None`` from an annotation."""
    while True:
        if get_origin(ann) is Annotated:
            ann = get_args(ann)[0]
            continue
        members = _union_members(ann)
        if members is not None and len(members) == 1:
            ann = members[0]
            continue
        return ann


def _union_members(ann: Any) -> tuple[Any, ...] | None:
    if get_origin(ann) in (Union, UnionType):
        return tuple(a for a in get_args(ann) if a is not type(None))
    return None


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _kind(ann: Any) -> str:
    """The kind of YAML value an annotation takes: mapping, list or scalar."""
    ann = _unwrap(ann)
    if _is_model(ann) or get_origin(ann) is dict or ann is dict:
        return "mapping"
    if get_origin(ann) in (tuple, list) or ann in (tuple, list):
        return "list"
    return "scalar"


def _value_kind(node: Any) -> str | None:
    if node is _MISSING:
        return None
    if isinstance(node, dict):
        return "mapping"
    if isinstance(node, (list, tuple)):
        return "list"
    return "scalar"


def _member(members: tuple[Any, ...], marker: Any) -> Any:
    """The union member that pydantic's location marker (``'str'``, ``'its'``, ...) names."""
    text = str(marker)
    for m in members:
        u = _unwrap(m)
        if _is_model(u):
            if text == u.__name__ or text.endswith((f", {u.__name__}]", f"[{u.__name__}]")):
                return m
            for f in u.model_fields.values():  # a discriminated union: the marker is the tag
                if get_origin(f.annotation) is Literal and f.is_required() and text in map(str, get_args(f.annotation)):
                    return m
        elif get_origin(u) is Literal:
            if text.startswith("literal["):
                return m
        elif get_origin(u) in (tuple, list, dict):
            if text.startswith(get_origin(u).__name__ + "["):
                return m
        elif isinstance(u, type) and text in (u.__name__, f"constrained-{u.__name__}"):
            return m
    return None


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, dict) and isinstance(part, str):
        return node.get(part, _MISSING)
    if isinstance(node, (list, tuple)) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _MISSING


def _locate(raw: tuple[Any, ...], data: Any) -> _Where:
    """Follow a pydantic location through the models and the data at the same time.

    The annotation at each step says what the next part of the location is: a field of a
    model, an index into a list, a key of a mapping, or, at a union of several types, the
    marker naming the member that failed (dropped). Names such as ``str`` or ``did`` are
    therefore only dropped where pydantic put them, never when they are the user's keys.
    """
    ann: Any = EvaluationSpec
    node: Any = data
    loc: list[str | int] = []
    owner: type[BaseModel] | None = None
    key = wrong = False
    no_member: tuple[Loc, tuple[Any, ...]] | None = None
    parts = list(raw)
    i = 0
    while i < len(parts):
        part = parts[i]
        if ann is not None:
            ann = _unwrap(ann)
            members = _union_members(ann)
            if members is not None:  # this part is pydantic's marker of the member
                chosen = _member(members, part)
                given = _value_kind(node)
                kinds = [_kind(m) for m in members]
                if given is not None and given not in kinds:
                    no_member = (tuple(loc), members)
                elif given is not None and chosen is not None and _kind(chosen) != given:
                    wrong = True
                ann = chosen
                i += 1
                continue
        if part == "[key]":  # the error is about the mapping key just passed
            key = True
            i += 1
            continue
        if _is_model(ann):
            owner = ann
            fields = {(f.alias or name): f for name, f in ann.model_fields.items()}
            fields.update(ann.model_fields)
            info = fields.get(str(part))
            ann = info.annotation if info is not None else None
        elif ann is not None and get_origin(ann) in (tuple, list):
            args = get_args(ann)
            ann = args[0] if args else None
        elif ann is not None and get_origin(ann) is dict:
            args = get_args(ann)
            ann = args[1] if len(args) == 2 else None
        else:
            ann = None
        loc.append(part)
        node = _child(node, part)
        i += 1
    return _Where(tuple(loc), owner, key, wrong, no_member)


def _keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a mapping of this model may have, as the user writes them (aliases first)."""
    return [f.alias or name for name, f in model.model_fields.items()]


def suggest(word: str, options: Iterable[str]) -> str | None:
    """A "did you mean" hint, or None."""
    match = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None


def _expected_values(ctx: dict[str, Any] | None) -> list[str]:
    text = str((ctx or {}).get("expected", ""))
    return [p.strip().strip("'\"") for p in text.replace(" or ", ",").split(",") if p.strip()]


def _shown(value: Any) -> str:
    """A short, one-line rendering of a value the user wrote."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 60 else f"'{value[:57]}...'"
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _described(ann: Any) -> str:
    u = _unwrap(ann)
    if get_origin(u) is Literal:
        return " or ".join(f"'{a}'" for a in get_args(u))
    return {"mapping": "a mapping (key: value)", "list": "a list"}.get(_kind(u)) or _TYPE_WORDS.get(
        getattr(u, "__name__", ""), "a plain value")


_TYPE_WORDS = {"str": "text", "int": "a whole number", "float": "a number", "bool": "true or false"}

#: Pydantic error types and the words preveval uses instead.
_EXPECTED = {
    "string_type": "expected text",
    "int_type": "expected a whole number", "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number", "int_parsing_size": "expected a smaller whole number",
    "float_type": "expected a number", "float_parsing": "expected a number",
    "finite_number": "expected a finite number (not .inf or .nan)",
    "bool_type": "expected true or false", "bool_parsing": "expected true or false",
    "dict_type": "expected a mapping (key: value)", "model_type": "expected a mapping (key: value)",
    "model_attributes_type": "expected a mapping (key: value)",
    "tuple_type": "expected a list", "list_type": "expected a list",
}
#: Pydantic's bound errors: the ``ctx`` key of the bound, and its words.
_BOUNDS = {"greater_than": ("gt", "greater than"), "greater_than_equal": ("ge", "at least"),
           "less_than": ("lt", "less than"), "less_than_equal": ("le", "at most")}


def _number(v: Any) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _message(e: Any) -> tuple[str, str | None]:
    """Message and hint of one pydantic error that is not about keys."""
    etype, msg = e["type"], e["msg"]
    value = e.get("input")
    ctx = e.get("ctx") or {}
    if etype in _EXPECTED:
        return f"{_EXPECTED[etype]}, got {_shown(value)}", None
    if etype in _BOUNDS and _BOUNDS[etype][0] in ctx:
        key, words = _BOUNDS[etype]
        given = value[:60] if isinstance(value, str) else _shown(value)  # '1e308' is text in YAML 1.1
        return f"must be {words} {_number(ctx[key])}, got {given}", None
    if etype == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty", None
    if etype in ("literal_error", "enum"):
        options = _expected_values(ctx)
        hint = suggest(str(value), options)
        return (f"{_shown(value)} is not one of: {', '.join(options)}" if options else msg), hint
    if etype == "value_error":
        return msg.removeprefix("Value error, "), None
    if etype == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        return f"'{value}' is not allowed here", (
            "use lower-case letters, digits and hyphens" if "a-z0-9-" in pattern
            else "use letters, digits, _ . and -, starting with a letter")
    return msg, None


def translate(err: ValidationError, pos: Positioned) -> list[Issue]:
    """Pydantic errors as positioned issues with hints.

    Locations are followed through the models (:func:`_locate`), so a user's key named like
    a type (``str``, ``did``) stays in the path. Of a union (text or a mapping; a mapping or
    ``none``) only the member of the kind the user wrote is reported; when no member is of
    that kind, one issue says what may be written there.
    """
    issues: list[Issue] = []
    seen: set[tuple[str, str]] = set()
    errors = err.errors(include_url=False)
    located = [(_locate(tuple(e["loc"]), pos.data), e) for e in errors]
    nested = {w.loc[:n] for w, _ in located for n in range(len(w.loc))}

    def add(item: Issue) -> None:
        if (item.path, item.message) not in seen:
            seen.add((item.path, item.message))
            issues.append(item)

    for where, e in located:
        loc, etype = where.loc, e["type"]
        if where.wrong_member:
            continue  # a member of another kind than the value written: not what was meant
        if where.no_member is not None:
            uloc, members = where.no_member
            node = pos.data
            for part in uloc:
                node = _child(node, part)
            add(pos.issue(uloc, f"expected {' or '.join(_described(m) for m in members)}, got {_shown(node)}"))
            continue
        if etype == "too_short" and loc in nested:
            continue  # the items themselves failed; their errors say why
        if etype == "extra_forbidden":
            name = loc[-1] if loc else ""
            fields = _keys_of(where.owner) if where.owner else []
            hint = suggest(str(name), fields)
            if hint is None and fields:
                hint = "allowed keys: " + ", ".join(fields)
            add(pos.issue(loc, f"unknown key '{name}'", hint, key=True))
            continue
        if etype == "missing":
            msg = f"'{loc[-1]}' is required" if loc else "a required key is missing"
            line, col = pos.where(loc[:-1])
            add(Issue(msg, _dotted(loc), pos.file, line, col, None))
            continue
        if etype == "union_tag_invalid":
            ctx = e.get("ctx") or {}
            options = _expected_values({"expected": ctx.get("expected_tags", "")})
            tag = str(ctx.get("tag"))
            add(pos.issue((*loc, "method"), f"method '{tag}' is not one of: {', '.join(options)}",
                          suggest(tag, options)))
            continue
        if etype == "union_tag_not_found":
            add(pos.issue(loc, "'method' is required (its, did or synthetic_control)"))
            continue
        msg, hint = _message(e)
        add(pos.issue(loc, msg, hint, key=where.key))
    return issues


def _dotted(loc: Loc) -> str:
    from .loader import dotted

    return dotted(loc)


# ------------------------------------------------------------------ cross-reference rules

Rule = Callable[[EvaluationSpec, Positioned], list[Issue]]


def rule_unique_ids(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """Indicator, analysis, evidence, rival and logic-model element ids are unique."""
    out: list[Issue] = []
    groups: list[tuple[str, list[str]]] = [
        ("indicators", [i.id for i in spec.indicators]),
        ("analyses", [a.id for a in spec.analyses]),
    ]
    if spec.contribution:
        groups.append(("contribution.evidence", [e.id for e in spec.contribution.evidence]))
        groups.append(("contribution.rival_explanations",
                       [r.id for r in spec.contribution.rival_explanations]))
    for where, ids in groups:
        counts = Counter(ids)
        first_part, *rest = where.split(".")
        for i, id_ in enumerate(ids):
            if counts[id_] > 1 and ids.index(id_) != i:
                loc: Loc = (first_part, *rest, i, "id")
                out.append(pos.issue(loc, f"id '{id_}' is used more than once",
                                     "give each entry its own id"))
    els = [el.id for _, el in spec.logic_model.elements()]
    for id_, n in Counter(els).items():
        if n > 1:
            out.append(pos.issue(("logic_model",), f"logic-model element id '{id_}' is used {n} times",
                                 "give each element its own id"))
    return out


def rule_analysis_indicators(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """Each analysis names an indicator that exists."""
    ids = [i.id for i in spec.indicators]
    out = [
        pos.issue(("analyses", k, "indicator"), f"no indicator has the id '{a.indicator}'",
                  suggest(a.indicator, ids) or f"indicators: {', '.join(ids)}")
        for k, a in enumerate(spec.analyses)
        if a.indicator not in ids
    ]
    for k, a in enumerate(spec.analyses):
        for j, pid in enumerate(getattr(a, "placebo_indicators", ())):
            if pid not in ids:
                out.append(pos.issue(("analyses", k, "placebo_indicators", j), f"no indicator has the id '{pid}'",
                                     suggest(pid, ids) or f"indicators: {', '.join(ids)}"))
    return out


def rule_evidence_references(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """Evidence and rivals point at analyses, rivals and logic-model elements that exist."""
    if spec.contribution is None:
        return []
    out: list[Issue] = []
    analyses = [a.id for a in spec.analyses]
    rivals = [r.id for r in spec.contribution.rival_explanations]
    elements = [el.id for _, el in spec.logic_model.elements()]
    for k, ev in enumerate(spec.contribution.evidence):
        base: Loc = ("contribution", "evidence", k)
        if ev.from_analysis is not None and ev.from_analysis not in analyses:
            out.append(pos.issue((*base, "from_analysis"), f"no analysis has the id '{ev.from_analysis}'",
                                 suggest(ev.from_analysis, analyses)))
        if ev.rival is not None and ev.rival not in rivals:
            out.append(pos.issue((*base, "rival"), f"no rival explanation has the id '{ev.rival}'",
                                 suggest(ev.rival, rivals)))
        for j, link in enumerate(ev.links):
            if link not in elements:
                out.append(pos.issue((*base, "links", j), f"no logic-model element has the id '{link}'",
                                     suggest(link, elements)))
    for k, r in enumerate(spec.contribution.rival_explanations):
        for j, link in enumerate(r.links):
            if link not in elements:
                out.append(pos.issue(("contribution", "rival_explanations", k, "links", j),
                                     f"no logic-model element has the id '{link}'",
                                     suggest(link, elements)))
    return out


def rule_indicator_outcomes(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """An indicator's ``outcome`` names a logic-model element."""
    elements = [el.id for _, el in spec.logic_model.elements()]
    return [
        pos.issue(("indicators", k, "outcome"), f"no logic-model element has the id '{ind.outcome}'",
                  suggest(ind.outcome, elements))
        for k, ind in enumerate(spec.indicators)
        if ind.outcome is not None and ind.outcome not in elements
    ]


def rule_economics_references(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """Economics points at indicators and analyses that exist."""
    if spec.economics is None:
        return []
    out: list[Issue] = []
    ids = [i.id for i in spec.indicators]
    analyses = [a.id for a in spec.analyses]
    for k, uv in enumerate(spec.economics.unit_values):
        if uv.indicator not in ids:
            out.append(pos.issue(("economics", "unit_values", k, "indicator"),
                                 f"no indicator has the id '{uv.indicator}'", suggest(uv.indicator, ids)))
    if spec.economics.analysis is not None and spec.economics.analysis not in analyses:
        out.append(pos.issue(("economics", "analysis"), f"no analysis has the id '{spec.economics.analysis}'",
                             suggest(spec.economics.analysis, analyses)))
    return out


def rule_evidence_dependencies(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """``depends_on`` names other evidence items that exist."""
    if spec.contribution is None:
        return []
    ids = [e.id for e in spec.contribution.evidence]
    out = []
    for k, ev in enumerate(spec.contribution.evidence):
        for j, other in enumerate(ev.depends_on):
            if other not in ids or other == ev.id:
                out.append(pos.issue(("contribution", "evidence", k, "depends_on", j),
                                     f"no other evidence item has the id '{other}'",
                                     suggest(other, [i for i in ids if i != ev.id])))
    return out


def rule_primary(spec: EvaluationSpec, pos: Positioned) -> list[Issue]:
    """At most one analysis is primary."""
    primary = [k for k, a in enumerate(spec.analyses) if a.primary]
    return [pos.issue(("analyses", k, "primary"), "only one analysis can be primary",
                      "keep primary: true on the analysis the bottom line should rest on")
            for k in primary[1:]]


RULES: tuple[Rule, ...] = (
    rule_unique_ids,
    rule_analysis_indicators,
    rule_evidence_references,
    rule_evidence_dependencies,
    rule_indicator_outcomes,
    rule_economics_references,
    rule_primary,
    *DESIGN_RULES,
)


def validate_spec(pos: Positioned) -> EvaluationSpec:
    """Validate positioned data into a spec, raising :class:`SpecError` with every issue."""
    return check_spec(pos)[0]


def check_spec(pos: Positioned) -> tuple[EvaluationSpec, list[Issue]]:
    """Validate positioned data into a spec and its warnings, raising :class:`SpecError` on errors."""
    data = pos.data
    if isinstance(data, dict) and "schema_version" in data:
        v = data["schema_version"]
        if isinstance(v, int) and not isinstance(v, bool) and v not in SCHEMA_VERSIONS:
            # An unsupported version: other errors would only confuse.
            raise SpecError([pos.issue(("schema_version",), f"schema_version {v} is not supported",
                                       "this preveval reads schema_version "
                                       + ", ".join(map(str, SCHEMA_VERSIONS)))])
    try:
        spec = EvaluationSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError(translate(err, pos)) from None
    issues = [i for rule in RULES for i in rule(spec, pos)]
    if any(i.level == "error" for i in issues):
        raise SpecError(issues)
    return spec, issues
