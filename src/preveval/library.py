"""The initiative library: ready-made evaluation files shipped in the wheel.

Each template in the top-level ``templates/`` folder (installed as the package
``preveval._templates``) is a complete, valid evaluation file for a common partnership
initiative: partners, logic model, indicators with the data columns they need, and the
suggested analyses. Its **library card** sits at the end of the same file as comment lines
starting ``#|`` (so the evaluation file stays valid and the card travels with the copy
``preveval new`` makes): the recommended design for each usual data shape, the plausible
effect and its source, the costs to record, the usual data source of each indicator, and
extra search words. See ``templates/README.md`` for the format.

Searching is in :mod:`preveval.library_search`; ``preveval new`` is
:mod:`preveval.library_new`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import Issue, SpecError
from .spec.loader import load_yaml_text
from .spec.models import DidAnalysis, EvaluationSpec, ItsAnalysis, SynthAnalysis
from .spec.validate import suggest, validate_spec

__all__ = ["CARD_PREFIX", "Card", "Template", "design_tags", "get", "templates"]

#: Lines of a template that hold its library card (YAML after the prefix).
CARD_PREFIX = "#|"


class _CardModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataShapes(_CardModel):
    """The recommended design for each usual shape of data."""

    one_area: str = Field(min_length=1, description="One area runs the initiative, others do not")
    few_areas: str = Field(min_length=1, description="A few areas run it from the same date")
    staggered: str = Field(min_length=1, description="Areas start at different times")


class Effect(_CardModel):
    """A plausible effect and where it comes from."""

    text: str = Field(min_length=1)
    source: str = Field(min_length=1, description="A published source, or 'no published estimate; illustrative'")


class CostLine(_CardModel):
    """A cost the partnership should record (amounts are local, so none are given)."""

    item: str = Field(min_length=1)
    partner: str | None = None
    per: Literal["year", "total"] = "year"
    in_kind: bool = False


class Card(_CardModel):
    """The library card of a template."""

    summary: str = Field(min_length=1, max_length=200, description="One line for the catalogue")
    designs: DataShapes
    effect: Effect
    costs: tuple[CostLine, ...] = Field(min_length=1)
    data_sources: dict[str, str] = Field(description="Indicator id -> where its data usually come from")
    keywords: tuple[str, ...] = ()


def card_text(text: str) -> str:
    """The YAML of the card: every line starting with ``#|``, the prefix removed."""
    lines = [ln.strip()[len(CARD_PREFIX):] for ln in text.splitlines() if ln.strip().startswith(CARD_PREFIX)]
    return "\n".join(ln[1:] if ln.startswith(" ") else ln for ln in lines)


def parse_card(text: str, file: str, spec: EvaluationSpec) -> Card:
    """The card of a template, checked against its evaluation (every indicator has a source)."""
    try:
        raw: Any = yaml.safe_load(card_text(text))
        card = Card.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise SpecError([Issue(f"the library card (lines starting '#|') is not valid: {exc}", file=file)]) from None
    ids = [i.id for i in spec.indicators]
    missing = [i for i in ids if i not in card.data_sources]
    unknown = [k for k in card.data_sources if k not in ids]
    if missing or unknown:
        raise SpecError([Issue(f"the library card's data_sources must name every indicator once "
                               f"(missing: {missing}, unknown: {unknown})", file=file)])
    return card


def design_tags(a: ItsAnalysis | DidAnalysis | SynthAnalysis) -> tuple[str, ...]:
    """Words naming an analysis' design: its method, then its variant (``did``, ``staggered``)."""
    if isinstance(a, ItsAnalysis):
        return ("its", "controlled_its") if a.comparison is not None else ("its",)
    if isinstance(a, SynthAnalysis):
        return ("synthetic_control", a.estimator)
    return ("did", a.design)


def design_label(a: ItsAnalysis | DidAnalysis | SynthAnalysis) -> str:
    """A design as listed (``its``, ``controlled_its``, ``did:staggered``, ``synthetic_control:abadie``)."""
    tags = design_tags(a)
    if isinstance(a, ItsAnalysis):
        return tags[-1]
    return f"{tags[0]}:{tags[1]}"


#: Every design word ``--design`` takes, and the everyday names that stand for them.
DESIGN_WORDS = ("its", "controlled_its", "did", "two_by_two", "twfe", "event_study", "staggered",
                "synthetic_control", "abadie", "sdid")
DESIGN_ALIASES = {"synth": "synthetic_control", "sc": "synthetic_control", "cits": "controlled_its",
                  "difference_in_differences": "did", "interrupted_time_series": "its", "event": "event_study"}


def design_word(word: str) -> str:
    """``word`` as one of :data:`DESIGN_WORDS` (spaces and hyphens as underscores, aliases resolved)."""
    w = word.strip().lower().replace("-", "_").replace(" ", "_")
    return DESIGN_ALIASES.get(w, w)


@dataclass(frozen=True)
class Template:
    """A library entry: the template's text, its validated evaluation and its card."""

    id: str
    name: str
    text: str
    spec: EvaluationSpec
    card: Card

    @property
    def level(self) -> str:
        """The prevention level (primary, secondary, tertiary)."""
        return self.spec.initiative.prevention_level

    @property
    def partners(self) -> list[str]:
        """Partner names with roles."""
        return [f"{p.name} ({p.role})" for p in self.spec.initiative.partners]

    @property
    def designs(self) -> list[str]:
        """The designs of its analyses, each once, in order of appearance."""
        return list(dict.fromkeys(design_label(a) for a in self.spec.analyses))

    def has_design(self, word: str) -> bool:
        """Whether an analysis uses ``word`` (``its``, ``did``, ``staggered``, ``synthetic_control``, ``sdid``...)."""
        w = design_word(word)
        return any(w in design_tags(a) for a in self.spec.analyses)

    def has_partner(self, word: str) -> bool:
        """Whether a partner's name, role or contribution mentions ``word`` (case-insensitive)."""
        w = word.lower()
        return any(w in " ".join((p.name, p.role, p.contribution or "")).lower()
                   for p in self.spec.initiative.partners)

    def record(self, score: float | None = None) -> dict[str, Any]:
        """The entry as ``--json`` prints it: ``{id, name, level, partners, designs, score}``."""
        return {"id": self.id, "name": self.name, "level": self.level,
                "partners": [p.name for p in self.spec.initiative.partners],
                "designs": self.designs, "score": None if score is None else round(score, 6)}


@lru_cache(maxsize=1)
def _load_all() -> tuple[Template, ...]:
    out = []
    root = resources.files("preveval._templates")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        text = entry.read_text(encoding="utf-8")
        file = f"templates/{entry.name}"
        spec = validate_spec(load_yaml_text(text, file))
        out.append(Template(spec.initiative.id, spec.initiative.name, text, spec, parse_card(text, file, spec)))
    return tuple(out)


def templates(*, level: str | None = None, partner: str | None = None,
              design: str | None = None) -> list[Template]:
    """Every template, sorted by id; optionally only those of a level, partner or design."""
    items = list(_load_all())
    if level is not None:
        levels = ("primary", "secondary", "tertiary")
        if level.lower() not in levels:
            raise SpecError([Issue(f"no prevention level '{level}'", path="--level",
                                   hint=suggest(level.lower(), levels) or "primary, secondary or tertiary")])
        items = [t for t in items if t.level == level.lower()]
    if partner is not None:
        items = [t for t in items if t.has_partner(partner)]
    if design is not None:
        if design_word(design) not in DESIGN_WORDS:
            raise SpecError([Issue(f"no design '{design}'", path="--design",
                                   hint=suggest(design_word(design), DESIGN_WORDS) or
                                   f"one of: {', '.join(DESIGN_WORDS)}")])
        items = [t for t in items if t.has_design(design)]
    return items


def get(template_id: str) -> Template:
    """The template with this id, or a :class:`SpecError` with a suggestion."""
    all_ = templates()
    for t in all_:
        if t.id == template_id:
            return t
    ids = [t.id for t in all_]
    raise SpecError([Issue(f"no library entry has the id '{template_id}'", path="--from",
                           hint=suggest(template_id, ids) or f"entries: {', '.join(ids)}")])


def search(text: str, **filters: str | None) -> list[tuple[Template, float]]:
    """Templates ranked by relevance to ``text`` (see :mod:`preveval.library_search`)."""
    from .library_search import rank

    return rank(text, templates(**filters))
