"""The house style: contrast of the page's text colours, the palette, literal text in figures."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from matplotlib.text import Text

from preveval.pack import style
from preveval.pack.writer import figure_png, figure_svg


@pytest.mark.parametrize(("fg", "bg"), style.TEXT_PAIRS)
def test_page_text_colours_reach_wcag_aa(fg: str, bg: str) -> None:
    assert style.contrast_ratio(style.PAGE[fg], style.PAGE[bg]) >= 4.5


def test_contrast_ratio_matches_the_wcag_examples() -> None:
    assert style.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert style.contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


def test_figure_roles_use_the_okabe_ito_palette_or_greys() -> None:
    palette = {c.upper() for c in style.OKABE_ITO.values()}
    for role, colour in style.ROLE.items():
        c = colour.upper()
        grey = c[1:3] == c[3:5] == c[5:7]
        assert c in palette or grey, role


def test_axis_units_say_what_is_counted_per_what_and_when() -> None:
    ind = pd.Series({"unit_label": "conveyances", "kind": "count", "exposure_label": "mental-health incidents"})
    assert style.axis_unit(ind, 100, "mh_incidents", "month") == "conveyances per 100 mental-health incidents a month"
    ind2 = pd.Series({"unit_label": "casualties", "kind": "count", "exposure_label": None})
    assert style.axis_unit(ind2, None, None, "month") == "casualties a month"
    assert style.axis_unit(ind2, None, None, "month", per_area=True) == "casualties per area a month"
    assert style.with_unit("Casualties", "casualties per 100,000 people aged 17-25 a month", 30).endswith(
        "(casualties per 100,000 people aged 17-25 a month)")


HOSTILE = "cost $\\x$ per $y$ and 50% of $ \\frac{a}{b}"


@style.styled
def _drawn(label: str):
    fig, ax = style.new_axes()
    ax.plot([1, 2, 3], [1, 2, 3], label=label)
    ax.set_title(label)
    ax.set_xlabel(label)
    ax.set_xticks([1, 2, 3], [label, "$", "$$"])
    ax.legend()
    ax.annotate(label, (1, 1))
    return fig


def test_text_with_dollars_is_drawn_literally_never_parsed_as_maths() -> None:
    fig = _drawn(HOSTILE)
    style.add_source_note(fig, "Source: data/$x$.csv, $pecial$; preveval 0.1.0")
    # "$\x$" is invalid mathtext: parsing it would raise here
    png = figure_png(fig)
    svg = figure_svg(fig)
    assert png.startswith(b"\x89PNG") and b"<svg" in svg
    texts = fig.findobj(Text)
    assert any(t.get_text() == HOSTILE for t in texts)
    assert all(not t.get_parse_math() and not t.get_usetex() for t in texts)


def test_the_pack_figures_draw_labels_with_dollars(small_its) -> None:
    from preveval.pack.its_section import plot_its

    result, indicator, spec = small_its(label=HOSTILE)
    fig = plot_its(result, indicator, spec)
    figure_png(fig)
    figure_svg(fig)
    assert all(not t.get_parse_math() for t in fig.findobj(Text))


def test_the_source_note_sits_under_everything() -> None:
    fig = _drawn("label")
    style.add_source_note(fig, "Source: data.csv, Test; preveval 0.1.0")
    note = [t for t in fig.texts if t.get_text().startswith("Source:")]
    assert len(note) == 1
    renderer = fig.canvas.get_renderer()
    others = [a.get_tightbbox(renderer) for a in fig.axes]
    assert note[0].get_window_extent(renderer).y1 <= min(b.y0 for b in others) + 1
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    assert buf.getvalue()


def test_svg_output_is_byte_stable() -> None:
    assert figure_svg(_drawn("same")) == figure_svg(_drawn("same"))
