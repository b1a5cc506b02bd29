"""Write a plan folder (plan.json, plan.html, plan.md, figures/, tables/, advice.yaml) as a pack is written.

The folder is claimed, locked and swapped in atomically by
:func:`preveval.pack.writer.write_folder` (never deleting a file it did not write); an
existing folder must be empty or an earlier plan (its manifest lists plan.json): an
evaluation pack or any other folder is refused.
"""

from __future__ import annotations

from pathlib import Path

from preveval.errors import PackError
from preveval.pack.manifest import read_manifest
from preveval.pack.target import Target
from preveval.plan.run import PlanResult

__all__ = ["check_plan_folder", "write_plan"]


def check_plan_folder(t: Target) -> None:
    """Refuse a folder holding an evaluation pack (a plan replaces only an earlier plan)."""
    if not t.out.is_dir():
        return
    listed = read_manifest(t.out)
    if listed is not None and "plan.json" not in listed:
        raise PackError(f"{t.show()}: holds an evaluation pack, not a plan; choose another --out for the plan")


def write_plan(plan: PlanResult, out: Path | str) -> Path:
    """Write the plan into ``out``; returns its absolute path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from preveval.pack.neutralise import escape_controls
    from preveval.pack.render import render_html, render_markdown
    from preveval.pack.style import add_source_note, source_note
    from preveval.pack.writer import figure_png, figure_svg, table_csv
    from preveval.plan.report import build_plan_sections
    from preveval.provenance import version

    def build(t: Target) -> dict[str, bytes]:
        files: dict[str, bytes] = {"plan.json": plan.to_json().encode("utf-8")}
        sections = build_plan_sections(plan)
        note = escape_controls(source_note(plan.spec.data.path, plan.spec.initiative.name, version()))
        pngs: dict[str, bytes] = {}
        svgs: dict[str, bytes] = {}
        paths: dict[str, str] = {}
        for sec in sections:
            for f in sec.figures:
                add_source_note(f.figure, note)
                pngs[f.name], svgs[f.name] = figure_png(f.figure), figure_svg(f.figure)
                paths[f.name] = f"figures/{f.name}.png"
                files[paths[f.name]] = pngs[f.name]
            for tab in sec.tables:
                files[f"tables/{tab.name}.csv"] = table_csv(tab)
        title = f"{plan.spec.initiative.name}: is this measurable?"
        files["plan.md"] = render_markdown(title, sections, paths, pngs).encode("utf-8")
        files["plan.html"] = render_html(title, f"Made with preveval {version()}", sections, pngs, svgs).encode("utf-8")
        if plan.advice is not None:
            files["advice.yaml"] = plan.advice.yaml.encode("utf-8")
        return files

    from preveval.pack.writer import write_folder

    return write_folder(Path(out), build, check=check_plan_folder)
