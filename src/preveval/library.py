"""The initiative library: ready-made evaluation files shipped in the wheel.

Each template in the top-level ``templates/`` folder (installed as the package
``preveval._templates``) is a complete, valid evaluation file for a common partnership
initiative: partners, logic model, indicators with the data columns they need, and a
suggested design. ``preveval new DIR --from ID`` copies one into a new folder together
with a CSV header of the columns to fill in.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import Issue, SpecError
from .spec.loader import load_yaml_text
from .spec.models import EvaluationSpec
from .spec.validate import suggest, validate_spec


@dataclass(frozen=True)
class Template:
    """A library entry."""

    id: str
    name: str
    text: str
    spec: EvaluationSpec

    @property
    def partners(self) -> list[str]:
        """Partner names with roles."""
        return [f"{p.name} ({p.role})" for p in self.spec.initiative.partners]

    def searchable(self) -> str:
        """All words a search looks in."""
        s = self.spec
        parts = [s.initiative.id, s.initiative.name, s.initiative.description or "",
                 s.initiative.target_group or "", *self.partners,
                 *[i.label for i in s.indicators], *[el.text for _, el in s.logic_model.elements()]]
        return " ".join(parts).lower()


def templates() -> list[Template]:
    """Every template, sorted by id."""
    out = []
    root = resources.files("preveval._templates")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        text = entry.read_text(encoding="utf-8")
        spec = validate_spec(load_yaml_text(text, f"templates/{entry.name}"))
        out.append(Template(spec.initiative.id, spec.initiative.name, text, spec))
    return out


def get(template_id: str) -> Template:
    """The template with this id, or a :class:`SpecError` with a suggestion."""
    all_ = templates()
    for t in all_:
        if t.id == template_id:
            return t
    ids = [t.id for t in all_]
    raise SpecError([Issue(f"no library entry has the id '{template_id}'", path="--from",
                           hint=suggest(template_id, ids) or f"entries: {', '.join(ids)}")])


def search(text: str) -> list[Template]:
    """Templates whose words contain every word of ``text``."""
    words = text.lower().split()
    return [t for t in templates() if all(w in t.searchable() for w in words)]


def scaffold(template_id: str, out: Path) -> list[Path]:
    """Write ``evaluation.yaml`` and an empty data CSV with the needed columns into ``out``."""
    t = get(template_id)
    if out.exists() and any(out.iterdir()):
        raise SpecError([Issue(f"{out} is not empty", path="DIR", hint="choose a new folder")])
    from .data.checks import referenced_columns

    columns = list(dict.fromkeys(r.column for r in referenced_columns(t.spec)))
    data_path = out / t.spec.data.path
    data_path.parent.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.yaml").write_text(t.text, encoding="utf-8")
    data_path.write_text(",".join(columns) + "\n", encoding="utf-8")
    return [out / "evaluation.yaml", data_path]
