"""Render report sections to Markdown and to self-contained HTML.

Both renderers take the same list of :class:`~preveval.pack.section.Section` objects.
HTML goes through a jinja2 template with autoescaping on, and every value passes
:func:`~preveval.pack.neutralise.escape_controls` on its way in (the environment's
``finalize``). Figures are inlined as SVG (:func:`inline_svg`: matplotlib's own output with
its comments, metadata and style element removed and every id prefixed by the figure's
name, so that several figures can share one page), each with its text alternative, and a
"PNG for slides" link holding the PNG as a data URL; the page needs no external resource
and prints on A4 (the template's print style sheet).

A figure or table that repeats an earlier one exactly (two analyses drawing the same
trends, a table whose rows are all in another) is shown once: later places say where it
is (:func:`repeats`). p-values in tables read ``<0.001`` below a thousandth.

Markdown: every string in a section is plain text (builders never write Markdown), so
the renderer backslash-escapes all of it (:func:`~preveval.pack.neutralise.md_block`,
:func:`~preveval.pack.neutralise.md_inline`) and only its own headings, emphasis, lists,
tables and figure links are Markdown. A name in the evaluation file can therefore add no
link, image, heading or HTML to report.md; control characters are shown as escapes.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from typing import Any

import jinja2
import markupsafe
import pandas as pd

from .neutralise import escape_controls, md_block, md_inline
from .section import Section, TableItem
from .style import PAGE, PAGE_FONT


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


_BREAK_AFTER = re.compile(r"([_/=,]+)(?=\S)")
_LONG = re.compile(r"\S{24,}")


def breakable(text: Any) -> markupsafe.Markup:
    """Escaped text with line-break opportunities (``<wbr>``) after underscores and slashes and
    inside very long words, so that narrow table columns wrap instead of overflowing."""
    escaped = str(markupsafe.escape(escape_controls(str(text))))
    out = _BREAK_AFTER.sub(lambda m: m[1] + "<wbr>", escaped)
    out = _LONG.sub(lambda m: "<wbr>".join(m[0][i:i + 16] for i in range(0, len(m[0]), 16))
                    if "<wbr>" not in m[0] and "&" not in m[0] else m[0], out)
    return markupsafe.Markup(out)


_ENV.filters["breakable"] = breakable


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


def _is_p_column(name: str) -> bool:
    n = str(name).lower()
    return n in ("p", "p_value", "p-value") or n.endswith("_p") or n.endswith("p_value")


def fmt_p_cell(value: Any) -> str:
    """A p-value in a table: ``<0.001`` below a thousandth, else three significant digits."""
    if value is None or isinstance(value, str) or isinstance(value, bool):
        return "" if value is None else str(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if v != v:
        return ""
    return "<0.001" if v < 0.001 else f"{v:.3g}"


def table_rows(t: TableItem) -> tuple[list[str], list[list[str]]]:
    """Header and formatted rows of the table the report shows."""
    frame: pd.DataFrame = t.displayed()
    header = [str(c) for c in frame.columns]
    pcols = [_is_p_column(c) for c in frame.columns]
    rows = [[fmt_p_cell(v) if pc else fmt(v, t.digits) for v, pc in zip(rec, pcols, strict=True)]
            for rec in frame.itertuples(index=False, name=None)]
    return header, rows


def md_escape(text: str) -> str:
    """User text at the start of a Markdown line, escaped (see :func:`~preveval.pack.neutralise.md_block`)."""
    return md_block(text)


def _md_cell(text: str) -> str:
    return md_inline(text)


def _all(sections: list[Section]) -> list[Section]:
    out = []
    for s in sections:
        out.append(s)
        out.extend(_all(s.subsections))
    return out


def _frame_key(frame: pd.DataFrame) -> str:
    text = frame.to_csv(index=False, lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def repeats(sections: list[Section], figures: dict[str, bytes]) -> tuple[dict[str, str], dict[str, str]]:
    """Figures and tables that repeat an earlier one: ``({later: first}, {later: first})``.

    Figures repeat when their images are byte-identical; tables when the rows the report
    shows are identical (and, for a table not shown, the whole CSV). Each maps to the
    first one, in reading order.
    """
    seen_f: dict[bytes, str] = {}
    seen_t: dict[tuple[bool, str], str] = {}
    same_f: dict[str, str] = {}
    same_t: dict[str, str] = {}
    for sec in _all(sections):
        for f in sec.figures:
            key = hashlib.sha256(figures.get(f.name, f.name.encode())).digest()
            if key in seen_f:
                same_f[f.name] = seen_f[key]
            else:
                seen_f[key] = f.name
        for t in sec.tables:
            tkey = (t.show, _frame_key(t.displayed() if t.show else t.frame))
            if tkey in seen_t:
                same_t[t.name] = seen_t[tkey]
            else:
                seen_t[tkey] = t.name
    return same_f, same_t


def _homes(sections: list[Section]) -> dict[str, Section]:
    """The section each figure and table is shown in, by name."""
    out: dict[str, Section] = {}
    for sec in _all(sections):
        for name in [*(f.name for f in sec.figures), *(t.name for t in sec.tables)]:
            out.setdefault(name, sec)
    return out


def render_markdown(title: str, sections: list[Section], figure_paths: dict[str, str],
                    figures: dict[str, bytes] | None = None) -> str:
    """The report as Markdown; ``figure_paths`` maps figure name to its relative path.

    Text from the sections is escaped; the headings, emphasis, lists, tables and figure
    links around it are the only Markdown in the result. ``figures`` (name to image bytes)
    lets a repeated figure be shown once.
    """
    out = [f"# {md_block(title)}", ""]
    same_f, same_t = repeats(sections, figures or {})
    homes = _homes(sections)

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
            if f.name in same_f:
                first = same_f[f.name]
                out.extend([f"*{md_inline(f.caption)} The same figure as in “{md_inline(homes[first].title)}” "
                            f"({figure_paths[first]}).*", ""])
                continue
            out.extend([f"![{md_inline(f.alt or f.caption)}]({figure_paths[f.name]})", "",
                        f"*{md_inline(f.caption)}*", ""])
        for t in sec.tables:
            if t.name in same_t:
                first = same_t[t.name]
                out.extend([f"*{md_inline(t.caption)}*: the same table as in “{md_inline(homes[first].title)}” "
                            f"(tables/{first}.csv).", ""])
                continue
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


_COMMENT = re.compile(r"<!--.*?-->", re.S)
_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>", re.S)
_STYLE = re.compile(r"<style[^>]*>.*?</style>", re.S)
_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'xlink:href="#([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")


def inline_svg(svg: bytes, prefix: str) -> str:
    """Matplotlib's SVG made fit to sit inside an HTML page beside other figures.

    The XML prologue, comments (matplotlib writes each text there), metadata and the style
    element go; every id, and every reference to one, gets ``prefix`` so that ids stay
    unique on the page.
    """
    text = svg.decode("utf-8")
    text = _PROLOGUE.sub("", text, count=1)
    text = _COMMENT.sub("", text)
    text = _METADATA.sub("", text)
    text = _STYLE.sub("", text)
    text = _ID.sub(lambda m: f'id="{prefix}-{m[1]}"', text)
    text = _HREF.sub(lambda m: f'xlink:href="#{prefix}-{m[1]}"', text)
    text = _URL.sub(lambda m: f"url(#{prefix}-{m[1]})", text)
    text = text.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
    return escape_controls(text.strip())


def render_html(title: str, subtitle: str, sections: list[Section], figures_png: dict[str, bytes],
                figures_svg: dict[str, bytes] | None = None) -> str:
    """The report as one self-contained HTML page (figures as inline SVG where given, else PNG)."""
    images = {name: "data:image/png;base64," + base64.b64encode(png).decode("ascii") for name, png in figures_png.items()}
    svgs = {name: markupsafe.Markup(inline_svg(svg, f"fig-{name}")) for name, svg in (figures_svg or {}).items()}
    same_f, same_t = repeats(sections, figures_png)
    homes = _homes(sections)
    template = _ENV.get_template("report.html.j2")
    return template.render(title=title, subtitle=subtitle, sections=sections, images=images, svgs=svgs,
                           table_rows=table_rows, numeric_columns=numeric_columns, row_header=row_header,
                           same_figures=same_f, same_tables=same_t, homes=homes, page=PAGE,
                           page_font=markupsafe.Markup(PAGE_FONT),
                           wide=wide_figures(sections))


def wide_figures(sections: list[Section]) -> set[str]:
    """Figures wider than a portrait A4 page can show at a readable size (printed landscape)."""
    out = set()
    for sec in _all(sections):
        for f in sec.figures:
            get = getattr(f.figure, "get_figwidth", None)
            if get is not None and float(get()) > 9.0:
                out.add(f.name)
    return out


def numeric_columns(t: TableItem) -> list[bool]:
    """Which columns hold numbers (right-aligned in HTML); suppressed cells ([c]) count as numbers."""
    frame = t.displayed()
    out = []
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s):
            out.append(False)
        elif pd.api.types.is_numeric_dtype(s):
            out.append(True)
        else:
            vals = s.dropna()
            out.append(len(vals) > 0 and bool(vals.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
                                                       or v == "[c]").all()))
    return out


def row_header(t: TableItem) -> bool:
    """Whether the first column names the rows (text), so it is marked up as row headers."""
    frame = t.displayed()
    return len(frame.columns) > 1 and not numeric_columns(t)[0]
