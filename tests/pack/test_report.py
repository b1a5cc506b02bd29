"""The report as a reader meets it: structure, accessibility, print rules, no repeats, Markdown."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import preveval as pv
from preveval.pack import writer
from preveval.pack.render import fmt_p_cell, render_html, render_markdown, repeats, table_rows
from preveval.pack.section import FigureItem, Section, TableItem
from support import SPEC, series_frame


class Page(HTMLParser):
    """Tags with their attributes, heading levels, figure contents and table parts."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[int] = []
        self.stack: list[str] = []
        self.figures: list[dict[str, object]] = []
        self.tables: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "figure":
            self.figures.append({"img": [], "svg": 0, "alt": []})
        if self.figures and "figure" in self.stack:
            f = self.figures[-1]
            if tag == "svg":
                f["svg"] = int(f["svg"]) + 1  # type: ignore[call-overload]
            if a.get("role") == "img":
                f["alt"].append(a.get("aria-label"))  # type: ignore[attr-defined]
            if tag == "img":
                f["img"].append(a.get("alt"))  # type: ignore[attr-defined]
        if tag == "table":
            self.tables.append({"caption": 0, "th": []})
        if self.tables and "table" in self.stack or tag in ("caption", "th"):
            if tag == "caption":
                self.tables[-1]["caption"] = 1
            if tag == "th":
                self.tables[-1]["th"].append(a.get("scope"))  # type: ignore[attr-defined]
        if tag not in ("meta", "br", "wbr", "path", "use", "input", "img", "link"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[list[str]]]:
    d = tmp_path_factory.mktemp("report")
    (d / "evaluation.yaml").write_text(SPEC)
    series_frame().to_csv(d / "data.csv", index=False)
    notes: list[list[str]] = []
    original = writer.figure_svg

    def recording(fig: object, box: object = "tight") -> bytes:
        notes.append([t.get_text() for t in fig.texts])  # type: ignore[attr-defined]
        return original(fig, box)

    writer.figure_svg = recording  # type: ignore[assignment]
    try:
        out = pv.load(d / "evaluation.yaml").run().write_pack(d / "pack")
    finally:
        writer.figure_svg = original  # type: ignore[assignment]
    return out, notes


def _page(pack: Path) -> tuple[str, Page]:
    text = (pack / "report.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    return text, page


def test_headings_go_down_one_level_at_a_time(pack) -> None:
    text, page = _page(pack[0])
    levels = page.headings
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    md = (pack[0] / "report.md").read_text(encoding="utf-8")
    md_levels = [len(m[1]) for m in re.finditer(r"^(#+) ", md, re.M)]
    assert md_levels[0] == 1 and all(b <= a + 1 for a, b in zip(md_levels, md_levels[1:], strict=False))


def test_every_figure_is_inline_svg_with_a_text_alternative(pack) -> None:
    text, page = _page(pack[0])
    assert page.figures
    for f in page.figures:
        assert f["svg"] == 1 and not f["img"], f
        assert f["alt"] and all(a and len(a) > 20 for a in f["alt"]), f  # type: ignore[union-attr]
    # the PNGs stay in figures/ and each is offered for slides
    pngs = sorted(p.name for p in (pack[0] / "figures").glob("*.png"))
    assert len(pngs) == len(page.figures)
    links = [a for tag, a in page.tags if tag == "a" and a.get("download")]
    assert sorted(a["download"] for a in links) == pngs  # type: ignore[type-var]
    assert all(str(a["href"]).startswith("data:image/png;base64,") for a in links)


def test_ids_are_unique_across_the_inline_figures(pack) -> None:
    text, page = _page(pack[0])
    ids = [a["id"] for _, a in page.tags if a.get("id")]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1][:5]
    refs = set(re.findall(r'xlink:href="#([^"]+)"', text)) | set(re.findall(r"url\(#([^)]+)\)", text))
    assert refs <= set(ids)


def test_tables_have_captions_and_scoped_headers(pack) -> None:
    _, page = _page(pack[0])
    assert page.tables
    for t in page.tables:
        assert t["caption"] == 1
        assert t["th"] and all(s in ("col", "row") for s in t["th"]), t  # type: ignore[union-attr]


def test_contents_nav_is_sticky_and_print_rules_are_there(pack) -> None:
    text, page = _page(pack[0])
    assert any(tag == "nav" and a.get("aria-label") == "Contents" for tag, a in page.tags)
    css = text[text.index("<style>"):text.index("</style>")]
    assert re.search(r"nav\.toc \{ position: sticky", css)
    assert "@page { size: A4; margin:" in css and "size: A4 landscape" in css
    assert "details::details-content { content-visibility: visible" in css
    assert "main > section { break-before: page; }" in css
    assert "Content-Security-Policy" in text and "<script" not in text


def test_every_figure_has_a_source_note(pack) -> None:
    out, notes = pack
    assert notes
    for texts in notes:
        source = [t for t in texts if t.startswith("Source: ")]
        assert source == [f"Source: data.csv, Test initiative; preveval {pv.__version__}"], texts


def test_the_its_sensitivity_table_is_written_and_shown_once(pack) -> None:
    out = pack[0]
    names = sorted(p.name for p in (out / "tables").iterdir())
    assert "its-events-sensitivity.csv" in names and not [n for n in names if "specifications" in n]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.count("tables/its-events-sensitivity.csv") == 1
    assert "placebo" not in md.split("tables/its-events-sensitivity.csv")[1].split("\n\n", 2)[1]


def test_markdown_has_no_html_and_no_repeated_images(pack) -> None:
    md = (pack[0] / "report.md").read_text(encoding="utf-8")
    assert not re.search(r"&(lt|gt|amp|quot|#\d+);", md)
    assert not re.search(r"<[a-z/]", md)
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert images and len(images) == len(set(images))


def test_axes_of_the_its_figure_carry_units(small_its) -> None:
    from preveval.pack.its_section import plot_its, plot_residual_acf

    result, ind, spec = small_its()
    fig = plot_its(result, ind, spec)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Month"
    assert "events per 100,000 population a month" in ax.get_ylabel().replace("\n", " ")
    acf = plot_residual_acf(result)
    assert "Lag (months)" == acf.axes[0].get_xlabel()


def test_p_values_in_tables_read_less_than_a_thousandth() -> None:
    assert fmt_p_cell(6.5e-05) == "<0.001" and fmt_p_cell(0.0123) == "0.0123" and fmt_p_cell(None) == ""
    t = TableItem("x", "x", pd.DataFrame({"term": ["a", "b"], "estimate": [1e-5, 2.0], "p_value": [1e-9, 0.5],
                                          "pre_trend_p": [0.0004, None]}))
    _, rows = table_rows(t)
    assert rows == [["a", "1e-05", "<0.001", "<0.001"], ["b", "2.000", "0.5", ""]]


def _fig(seed: int) -> object:
    from preveval.pack.style import new_axes

    fig, ax = new_axes()
    ax.plot([0, 1], [seed, 1])
    return fig


def test_a_repeated_figure_or_table_is_shown_once_and_pointed_to() -> None:
    frame = pd.DataFrame({"t": [1, 2], "mean_treated": [3.0, 4.0]})
    a = Section(id="analysis-a", title="Analysis A", figures=[FigureItem("a-trends", "Trends of A.", _fig(0), alt="x")],
                tables=[TableItem("a-trends", "Trends", frame, show=True)])
    b = Section(id="analysis-b", title="Analysis B", figures=[FigureItem("b-trends", "Trends of B.", _fig(0), alt="x")],
                tables=[TableItem("b-trends", "Trends", frame.copy(), show=True)])
    c = Section(id="analysis-c", title="Analysis C", figures=[FigureItem("c-other", "Other.", _fig(5), alt="x")])
    sections = [a, b, c]
    pngs = {f.name: writer.figure_png(f.figure) for s in sections for f in s.figures}
    svgs = {f.name: writer.figure_svg(f.figure) for s in sections for f in s.figures}
    same_f, same_t = repeats(sections, pngs)
    assert same_f == {"b-trends": "a-trends"} and same_t == {"b-trends": "a-trends"}
    html = render_html("T", "s", sections, pngs, svgs)
    assert html.count('<figure id="figure-') == 2 and 'href="#figure-a-trends"' in html
    assert html.count("<table") == 1
    md = render_markdown("T", sections, {n: f"figures/{n}.png" for n in pngs}, pngs)
    assert md.count("![") == 2 and "The same figure as in “Analysis A” (figures/a-trends.png)" in md
    assert "the same table as in “Analysis A” (tables/a-trends.csv)" in md
