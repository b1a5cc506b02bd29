"""Generate the YAML reference and the library catalogue for the docs site.

Run by mkdocs-gen-files while ``mkdocs build`` runs (see mkdocs.yml), or by hand with
``python docs/gen_reference.py OUTDIR`` to write the pages into a folder. The YAML reference
comes from the JSON Schema that ``preveval schema`` prints; the catalogue and one page per
entry (``library/<id>.md``) from the initiative library (``templates/``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from preveval.library import templates
from preveval.spec.models import EvaluationSpec


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"] if p.get("type") != "null") + " (optional)" \
            if any(p.get("type") == "null" for p in prop["anyOf"]) else " or ".join(_type(p) for p in prop["anyOf"])
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    t = prop.get("type", "any")
    if t == "array":
        items = prop.get("items", {})
        return f"list of {_type(items)}" if items else "list"
    if t == "object" and "additionalProperties" in prop and isinstance(prop["additionalProperties"], dict):
        return f"map of {_type(prop['additionalProperties'])}"
    return str(t)


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" in prop:
        return f"`{json.dumps(prop['default'])}`"
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _model(name: str, schema: dict[str, Any]) -> list[str]:
    out = [f"## {name}", ""]
    if schema.get("description"):
        out += [schema["description"].strip(), ""]
    props = schema.get("properties", {})
    if not props:
        return out
    req = set(schema.get("required", []))
    out += ["| field | type | default | what it means |", "|---|---|---|---|"]
    for key, prop in props.items():
        out.append(f"| `{key}` | {_cell(_type(prop))} | {_cell(_default(prop, key in req))} | "
                   f"{_cell(prop.get('description', ''))} |")
    return [*out, ""]


def yaml_reference() -> str:
    """The evaluation file, model by model, from its JSON Schema."""
    schema = EvaluationSpec.model_json_schema()
    lines = ["# The evaluation file (YAML reference)", "",
             "Generated from the JSON Schema that `preveval schema` prints (do not edit by hand). Every "
             "field not marked required is optional with the default shown. The file is validated as a "
             "whole and every problem is reported with its line and column.", ""]
    lines += _model("EvaluationSpec", {**schema, "description": "The whole evaluation file (its top level)."})
    for name, sub in sorted(schema.get("$defs", {}).items()):
        lines += _model(name, sub)
    return "\n".join(lines) + "\n"


def _designs(t: Any) -> str:
    return ", ".join(f"`{d}`" for d in t.designs)


def catalogue() -> str:
    """The initiative library: a table of the entries, each linking to its own page."""
    lines = ["# The initiative library", "",
             "Ready-made evaluation files for prevention initiatives run in partnership, generated from "
             "`templates/` (do not edit by hand). Each entry is a complete, valid evaluation file: the partners "
             "and what each brings, a logic model, indicators with their usual data sources, the recommended "
             "design for one area, a few areas and a staggered roll-out, rival explanations, evidence items, a "
             "plausible effect with its source, and the costs to record.", "",
             "```sh",
             "preveval library list                          # ids in full; --level, --partner, --design filters",
             'preveval library search "fires in the home"    # ranked by relevance',
             "preveval library show ID",
             "preveval new my-evaluation --from ID --units 'North,South,East' --treated North --start 2019-04",
             "```", "",
             "Every library command takes `--json` and then prints only a JSON array of "
             "`{id, name, level, partners, designs, score}` (search: best first; `score` is null for list and "
             "show). `preveval new` fills in the units, the treated unit(s), the start and the frequency (with "
             "seasonality to match), or reads them from an existing file with `--from-data FILE`, and prints what "
             "is still to do.", "",
             "| entry | level | what it is | designs in the template |", "|---|---|---|---|"]
    for t in templates():
        lines.append(f"| [{_cell(t.name)}](library/{t.id}.md) (`{t.id}`) | {t.level} | "
                     f"{_cell(t.card.summary)} | {_designs(t)} |")
    lines += ["", "Effects quoted in the entries come from the sources they name; where no published estimate "
              "exists the entry says so, and its number is only an illustration of the change a partnership might "
              "hope for."]
    return "\n".join(lines) + "\n"


def entry_page(t: Any) -> str:
    """One library entry in full."""
    s, card = t.spec, t.card
    out = [f"# {t.name}", "", f"`{t.id}` · {t.level} prevention · [all entries](../library.md)", "",
           card.summary + ".", ""]
    if s.initiative.description:
        out += [s.initiative.description.strip(), ""]
    if s.initiative.target_group:
        out += [f"**Who it is for:** {s.initiative.target_group}", ""]
    out += ["```sh", f"preveval new my-evaluation --from {t.id}", "```", "",
            "## Partners you need", "", "| partner | role | what they bring |", "|---|---|---|"]
    out += [f"| {_cell(p.name)} | {p.role} | {_cell(p.contribution or '')} |" for p in s.initiative.partners]
    out += ["", "## Logic model", "", "| stage | id | element |", "|---|---|---|"]
    out += [f"| {stage} | `{el.id}` | {_cell(el.text)} |" for stage, el in s.logic_model.elements()]
    unit = s.data.unit or "the series"
    out += ["", "## Indicators and data", "",
            f"One row per {unit} (column `{s.data.unit or '-'}`) and {s.data.frequency} "
            f"(column `{s.data.time}`).", "",
            "| indicator | column | kind | desired | usual source |", "|---|---|---|---|---|"]
    out += [f"| {_cell(i.label)} (`{i.id}`) | `{i.column}` | {i.kind} | {i.desired} | "
            f"{_cell(card.data_sources[i.id])} |" for i in s.indicators]
    out += ["", "## Recommended design", "", "| your data | design |", "|---|---|",
            f"| one area runs it | {_cell(card.designs.one_area)} |",
            f"| a few areas | {_cell(card.designs.few_areas)} |",
            f"| staggered roll-out | {_cell(card.designs.staggered)} |", "",
            "Analyses in the template:", ""]
    out += [f"- `{a.id}`: {a.design_name()} of {s.indicator(a.indicator).label.lower()}" for a in s.analyses]
    out += ["", "## Plausible effect", "", card.effect.text, "", f"**Source:** {card.effect.source}", ""]
    if s.contribution is not None:
        c = s.contribution
        out += ["## Contribution", "", f"**Claim:** {c.claim}", "", "Rival explanations:", ""]
        out += [f"- {r.description}" for r in c.rival_explanations]
        out += ["", "Evidence items:", ""]
        out += [f"- {e.description or e.id}" + (f" (from `{e.from_analysis}`)" if e.from_analysis else "")
                for e in c.evidence]
        if c.further_evidence:
            out += ["", "Further evidence to collect:", ""] + [f"- {x}" for x in c.further_evidence]
        out.append("")
    out += ["## Costs to record", "", "| cost | partner | recurring | in kind |", "|---|---|---|---|"]
    out += [f"| {_cell(c.item)} | {_cell(c.partner or '')} | {'per year' if c.per == 'year' else 'one-off'} | "
            f"{'yes' if c.in_kind else 'no'} |" for c in card.costs]
    out += ["", "## The template", "", f"`templates/{t.id}.yaml`, as `preveval new` copies it:", "",
            "```yaml", t.text.rstrip("\n"), "```"]
    return "\n".join(out) + "\n"


def pages() -> dict[str, Callable[[], str]]:
    """Every generated page: the YAML reference, the catalogue and one page per library entry."""
    out: dict[str, Callable[[], str]] = {"reference/yaml.md": yaml_reference, "library.md": catalogue}
    for t in templates():
        out[f"library/{t.id}.md"] = (lambda t=t: entry_page(t))
    return out




def main() -> None:
    """By hand (``python docs/gen_reference.py OUTDIR``) into a folder, else into the mkdocs build."""
    if "mkdocs" not in sys.modules:  # by hand (mkdocs-gen-files runs it inside the build)
        out = Path(sys.argv[1] if len(sys.argv) > 1 else "site-src")
        for rel, make in pages().items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_text(make(), encoding="utf-8")
        return
    import mkdocs_gen_files

    for rel, make in pages().items():
        with mkdocs_gen_files.open(rel, "w") as f:
            f.write(make())


main()
