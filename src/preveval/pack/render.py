"""Render report sections to Markdown and to self-contained HTML.

Both renderers take the same list of :class:`~preveval.pack.section.Section` objects.
HTML goes through a jinja2 template with autoescaping on, and every value passes
:func:`~preveval.pack.neutralise.escape_controls` on its way in (the environment's
``finalize``); figures are inlined as base64 PNG so the page needs no external resource.

Markdown: every string in a section is plain text (builders never write Markdown), so
the renderer backslash-escapes all of it (:func:`~preveval.pack.neutralise.md_block`,
:func:`~preveval.pack.neutralise.md_inline`) and only its own headings, emphasis, lists,
tables and figure links are Markdown. A name in the evaluation file can therefore add no
link, image, heading or HTML to report.md; control characters are shown as escapes.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import jinja2
import markupsafe
import pandas as pd

from .neutralise import escape_controls, md_block, md_inline
from .section import Section, TableItem


def _finalize(value: Any) -> Any:
    """Every ``{{ value }}`` of the template: controls escaped; rendered markup left alone."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return escape_controls(value)
    return value


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("preveval.pack", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_finalize,
)


def fmt(value: Any, digits: int = 4) -> str:
    """Format a table cell: numbers to ``digits`` significant digits, missing as blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if abs(value) >= 1e6:  # money and counts: 4,235,000, never 4.2e+06
            return f"{value:,.0f}"
        if value != 0 and abs(value) < 1e-4:
            return f"{value:.{max(digits, 1)}g}"
        return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:,.{max(digits - len(str(int(abs(value)))), 0)}f}"
    return str(value)


def table_rows(t: TableItem) -> tuple[list[str], list[list[str]]]:
    """Header and formatted rows of a table."""
    frame: pd.DataFrame = t.frame
    header = [str(c) for c in frame.columns]
    rows = [[fmt(v, t.digits) for v in rec] for rec in frame.itertuples(index=False, name=None)]
    return header, rows


def md_escape(text: str) -> str:
    """User text at the start of a Markdown line, escaped (see :func:`~preveval.pack.neutralise.md_block`)."""
    return md_block(text)


def _md_cell(text: str) -> str:
    return md_inline(text)


def render_markdown(title: str, sections: list[Section], figure_paths: dict[str, str]) -> str:
    """The report as Markdown; ``figure_paths`` maps figure name to its relative path.

    Text from the sections is escaped; the headings, emphasis, lists, tables and figure
    links around it are the only Markdown in the result.
    """
    out = [f"# {md_block(title)}", ""]

    def emit(sec: Section, level: int) -> None:
        out.extend([f"{'#' * level} {md_block(sec.title)}", ""])
        if sec.headline:
            out.extend([f"**{md_inline(sec.headline)}**", ""])
        for w in sec.warnings:
            out.extend([f"> ⚠ {md_inline(w)}", ""])
        for p in sec.paragraphs:
            out.extend([md_block(p), ""])
        if sec.bullets:
            out.extend([f"- {md_block(b)}" for b in sec.bullets] + [""])
        for f in sec.figures:
            out.extend([f"![{md_inline(f.alt or f.caption)}]({figure_paths[f.name]})", "",
                        f"*{md_inline(f.caption)}*", ""])
        for t in sec.tables:
            if not t.show:
                out.extend([f"Table: {md_inline(t.caption)} (tables/{t.name}.csv)", ""])
                continue
            header, rows = table_rows(t)
            out.extend([f"*{md_inline(t.caption)}* (tables/{t.name}.csv)", ""])
            out.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
            out.append("|" + "|".join("---" for _ in header) + "|")
            out.extend("| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows)
            out.append("")
        if sec.details:
            out.extend(["Technical details:", ""] + [f"- {md_block(d)}" for d in sec.details] + [""])
        for sub in sec.subsections:
            emit(sub, level + 1)

    for sec in sections:
        emit(sec, 2)
    return "\n".join(out).rstrip() + "\n"


def render_html(title: str, subtitle: str, sections: list[Section], figures_png: dict[str, bytes]) -> str:
    """The report as one self-contained HTML page."""
    images = {name: "data:image/png;base64," + base64.b64encode(png).decode("ascii") for name, png in figures_png.items()}
    template = _ENV.get_template("report.html.j2")
    return template.render(title=title, subtitle=subtitle, sections=sections, images=images, table_rows=table_rows,
                           numeric_columns=numeric_columns)


def numeric_columns(t: TableItem) -> list[bool]:
    """Which columns hold numbers (right-aligned in HTML)."""
    return [pd.api.types.is_numeric_dtype(t.frame[c]) and not pd.api.types.is_bool_dtype(t.frame[c])
            for c in t.frame.columns]
