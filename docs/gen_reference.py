"""Generate the YAML reference and the library catalogue for the docs site.

Run by mkdocs-gen-files while ``mkdocs build`` runs (see mkdocs.yml), or by hand with
``python docs/gen_reference.py OUTDIR`` to write the pages into a folder. The YAML reference
comes from the JSON Schema that ``preveval schema`` prints; the catalogue from the entries
of the initiative library (``templates/``).
"""

from __future__ import annotations

import json
import sys
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


def catalogue() -> str:
    """The initiative library: one entry per template."""
    lines = ["# The initiative library", "",
             "Ready-made logic models, generated from `templates/` (do not edit by hand). Browse them "
             "with `preveval library list`, `preveval library show ID`, and start one with "
             "`preveval new my-evaluation --from ID`. This page is a placeholder catalogue: it lists "
             "what each entry needs; the entries' own descriptions are in `templates/`.", "",
             "| id | initiative | level | partners | indicators | designs |", "|---|---|---|---|---|---|"]
    for t in templates():
        s = t.spec
        designs = sorted({a.method if a.method == "its" else f"{a.method} ({getattr(a, 'design', '')})"
                          for a in s.analyses})
        lines.append(f"| `{t.id}` | {_cell(t.name)} | {s.initiative.prevention_level} | "
                     f"{_cell(', '.join(p.name for p in s.initiative.partners))} | "
                     f"{_cell(', '.join(i.label for i in s.indicators))} | {_cell(', '.join(designs))} |")
    return "\n".join(lines) + "\n"


PAGES = {"reference/yaml.md": yaml_reference, "library.md": catalogue}


def main() -> None:
    """By hand (``python docs/gen_reference.py OUTDIR``) into a folder, else into the mkdocs build."""
    if "mkdocs" not in sys.modules:  # by hand (mkdocs-gen-files runs it inside the build)
        out = Path(sys.argv[1] if len(sys.argv) > 1 else "site-src")
        for rel, make in PAGES.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_text(make(), encoding="utf-8")
        return
    import mkdocs_gen_files

    for rel, make in PAGES.items():
        with mkdocs_gen_files.open(rel, "w") as f:
            f.write(make())


main()
