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
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import Issue, SpecError
from .design_rules import DESIGN_RULES
from .loader import Loc, Positioned
from .models import DidAnalysis, EvaluationSpec, ItsAnalysis

_UNION_TAGS = {"its", "did", "str", "Element", "Seasonality", "literal['none']", "function-after[_check(), Seasonality]"}


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    """Drop pydantic's union-member markers from a location."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (part in _UNION_TAGS or part.startswith(("function-", "literal[", "tagged-union["))):
            continue
        out.append(part)
    return tuple(out)


def _model_at(loc: Loc, data: Any) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` (for key suggestions)."""
    model: Any = EvaluationSpec
    node = data
    for part in loc:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        info = model.model_fields.get(part)
        if info is None:
            return None
        node = node.get(part) if isinstance(node, dict) else None
        model = _resolve(info.annotation, node)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _resolve(annotation: Any, node: Any) -> Any:
    """Find the BaseModel inside an annotation such as ``tuple[Analysis, ...] | None``."""
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    candidates: list[type[BaseModel]] = []
    stack = [annotation]
    while stack:
        a = stack.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            candidates.append(a)
        else:
            stack.extend(get_args(a))
    if len(candidates) > 1 and isinstance(node, dict):
        method = node.get("method")
        for c in candidates:
            if c is ItsAnalysis and method == "its":
                return c
            if c is DidAnalysis and method == "did":
                return c
    return candidates[0] if candidates else None


def suggest(word: str, options: Iterable[str]) -> str | None:
    """A "did you mean" hint, or None."""
    match = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None


def _expected_values(ctx: dict[str, Any] | None) -> list[str]:
    text = str((ctx or {}).get("expected", ""))
    return [p.strip().strip("'\"") for p in text.replace(" or ", ",").split(",") if p.strip()]


def translate(err: ValidationError, pos: Positioned) -> list[Issue]:
    """Pydantic errors as positioned issues with hints."""
    issues: list[Issue] = []
    seen: set[tuple[str, str]] = set()
    errors = err.errors(include_url=False)
    nested = {_clean_loc(e["loc"])[:n] for e in errors for n in range(len(_clean_loc(e["loc"])))}
    for e in errors:
        loc = _clean_loc(e["loc"])
        etype = e["type"]
        if etype == "too_short" and loc in nested:
            continue  # the items themselves failed; their errors say why
        hint: str | None = None
        key = False
        msg = e["msg"]
        if etype == "extra_forbidden":
            key = True
            model = _model_at(loc[:-1], pos.data)
            fields = list(model.model_fields) if model else []
            hint = suggest(str(loc[-1]), fields)
            if hint is None and fields:
                hint = "allowed keys: " + ", ".join(fields)
            msg = f"unknown key '{loc[-1]}'"
        elif etype == "missing":
            key = False
            msg = f"'{loc[-1]}' is required" if loc else "a required key is missing"
            line, col = pos.where(loc[:-1])
            item = Issue(msg, _dotted(loc), pos.file, line, col, None)
            if (item.path, item.message) not in seen:
                seen.add((item.path, item.message))
                issues.append(item)
            continue
        elif etype in ("literal_error", "enum"):
            options = _expected_values(e.get("ctx"))
            hint = suggest(str(e.get("input")), options)
            msg = f"'{e.get('input')}' is not one of: {', '.join(options)}" if options else msg
        elif etype == "union_tag_invalid":
            ctx = e.get("ctx") or {}
            options = _expected_values({"expected": ctx.get("expected_tags", "")})
            hint = suggest(str(ctx.get("tag")), options)
            loc = (*loc, "method")
            msg = f"method '{ctx.get('tag')}' is not one of: {', '.join(options)}"
        elif etype == "union_tag_not_found":
            msg = "'method' is required (its or did)"
        elif etype == "value_error":
            msg = msg.removeprefix("Value error, ")
        elif etype == "string_pattern_mismatch":
            pattern = (e.get("ctx") or {}).get("pattern", "")
            msg = f"'{e.get('input')}' is not allowed here"
            hint = ("use lower-case letters, digits and hyphens" if "a-z0-9-" in pattern
                    else "use letters, digits, _ . and -, starting with a letter")
        path = _dotted(loc)
        if (path, msg) in seen:
            continue
        seen.add((path, msg))
        issues.append(pos.issue(loc, msg, hint, key=key))
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
        if isinstance(v, int) and v not in (1,):
            # An unsupported version: other errors would only confuse.
            raise SpecError([pos.issue(("schema_version",), f"schema_version {v} is not supported",
                                       "this preveval reads schema_version 1")])
    try:
        spec = EvaluationSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError(translate(err, pos)) from None
    issues = [i for rule in RULES for i in rule(spec, pos)]
    if any(i.level == "error" for i in issues):
        raise SpecError(issues)
    return spec, issues
