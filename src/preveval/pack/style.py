"""The house style: one place for the colours, fonts and sizes of every figure and page.

Colours are the Okabe-Ito palette (Okabe & Ito 2008, *Color Universal Design*), which
people with the common forms of colour-blindness can tell apart; each role in a figure
(observed, fitted, counterfactual, treated, comparison...) has one colour, and the
figures also tell roles apart by marker and line style. Text colours of the HTML report
are chosen for WCAG 2.1 AA contrast (at least 4.5:1) against their backgrounds, checked by
``tests/pack/test_style.py`` with :func:`contrast_ratio`.

:func:`context` holds the matplotlib settings every figure is drawn and saved under:
literal text (no maths parser, no TeX: ``$`` is a dollar sign), the fonts and sizes
below, and SVG output that is byte-stable (fixed hash salt, glyphs as paths so the page
looks the same on every machine). :func:`literal` makes sure no text artist of a figure
will ever be parsed as maths, and :func:`add_source_note` writes the source line under a
figure.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

#: Okabe-Ito colours by name.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: A neutral grey for context (points, pre-period, untreated) beside the palette.
GREY = "#6E6E6E"
LIGHT_GREY = "#BBBBBB"

#: Colour of each role in the figures.
ROLE = {
    "observed": "#333333",
    "fitted": OKABE_ITO["blue"],
    "counterfactual": OKABE_ITO["vermillion"],
    "comparison": OKABE_ITO["orange"],
    "treated": OKABE_ITO["blue"],
    "before": GREY,
    "after": OKABE_ITO["blue"],
    "start": OKABE_ITO["black"],
    "reference": OKABE_ITO["black"],
    "band": LIGHT_GREY,
    "zero": "#000000",
    "grid": "#DDDDDD",
    "prior": OKABE_ITO["reddish_purple"],
    "posterior": OKABE_ITO["blue"],
    "note": "#4D4D4D",
}
#: Logic model boxes: (fill, edge) by link status. Pale fills keep dark text readable; the
#: edges are Okabe-Ito and every tested box also names its status in words. (The fills of
#: supported and contradicted are pinned by tests/contribution/test_contribution_pack.py.)
LINK = {
    "supported": ("#d9f0d3", OKABE_ITO["bluish_green"]),
    "contradicted": ("#fddbc7", OKABE_ITO["vermillion"]),
    "inconclusive": ("#E3E3E3", GREY),
    "untested": ("#FFFFFF", "#8C8C8C"),
}
RIVAL = {
    "ruled_out": ("#d9f0d3", OKABE_ITO["bluish_green"]),
    "partly": ("#FBEBC2", OKABE_ITO["orange"]),
    "not_ruled_out": ("#fddbc7", OKABE_ITO["vermillion"]),
    None: ("#EEEEEE", "#7F7F7F"),
}
#: Evidence types in the contribution figures (colour, marker).
EVIDENCE = {
    "doubly_decisive": (OKABE_ITO["bluish_green"], "D"),
    "smoking_gun": (OKABE_ITO["blue"], "s"),
    "hoop": (OKABE_ITO["orange"], "o"),
    "straw_in_the_wind": (GREY, "^"),
}

#: Fonts and sizes (points).
FONT_FAMILY = ["DejaVu Sans", "Liberation Sans", "Arial", "sans-serif"]
SIZE = {"base": 9.0, "title": 10.0, "label": 9.0, "tick": 8.0, "legend": 7.5, "note": 7.0, "box": 8.0}
#: Figure sizes (inches): a full-width figure fits an A4 page with 2 cm margins (17 cm).
WIDTH = 6.7
HEIGHT = 3.8
DPI = 100
PNG_DPI = 110

#: The HTML report's colours (text on background pairs are checked for contrast).
PAGE = {
    "text": "#1D2B36",
    "muted": "#4A5662",
    "background": "#FFFFFF",
    "panel": "#F0F4F8",
    "rule": "#C7D2DD",
    "accent": OKABE_ITO["blue"],
    "link": "#005A8C",
    "warning_bg": "#FFF4D6",
    "warning_edge": OKABE_ITO["orange"],
    "nav_bg": "#F7F9FB",
}
#: (text, background) pairs the page uses: each must reach 4.5:1.
TEXT_PAIRS = [
    ("text", "background"), ("muted", "background"), ("text", "panel"), ("link", "background"),
    ("link", "nav_bg"), ("text", "warning_bg"), ("muted", "panel"), ("text", "nav_bg"), ("muted", "nav_bg"),
]
PAGE_FONT = '-apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif'

RC: dict[str, Any] = {
    "text.usetex": False,
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": FONT_FAMILY,
    "font.size": SIZE["base"],
    "axes.titlesize": SIZE["title"],
    "axes.labelsize": SIZE["label"],
    "xtick.labelsize": SIZE["tick"],
    "ytick.labelsize": SIZE["tick"],
    "legend.fontsize": SIZE["legend"],
    "axes.prop_cycle": None,  # set in context(): needs matplotlib's cycler
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#333333",
    "axes.labelcolor": "#1A1A1A",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "grid.color": ROLE["grid"],
    "grid.linewidth": 0.6,
    "axes.formatter.use_mathtext": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "preveval",
    "figure.dpi": DPI,
    "savefig.dpi": PNG_DPI,
}


@contextlib.contextmanager
def context() -> Iterator[None]:
    """Draw or save figures in the house style (matplotlib's rc settings, restored after)."""
    import matplotlib as mpl
    from cycler import cycler

    rc = {**RC, "axes.prop_cycle": cycler(color=[OKABE_ITO[k] for k in
                                                 ("blue", "orange", "bluish_green", "vermillion",
                                                  "reddish_purple", "sky_blue", "yellow", "black")])}
    with mpl.rc_context(rc):  # type: ignore[arg-type]
        yield


def literal(fig: Any) -> Any:
    """Set every text artist of ``fig`` to be drawn as written (no maths parsing); return ``fig``."""
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        t.set_parse_math(False)
        t.set_usetex(False)
    return fig


def add_source_note(fig: Any, note: str, box: Any = None) -> Any:
    """Write ``note`` (``Source: ...``) in small type under everything else in the figure.

    ``box``: the figure's tight bounding box in inches when the caller has it (else it is
    worked out here). Returns the note's text artist (``None`` for an empty note).
    """
    if not note:
        return None
    if box is None:
        box = fig.get_tightbbox(fig.canvas.get_renderer())  # inches
    height = fig.get_figheight()
    y = (box.y0 - 0.06) / height
    x = max(box.x0, 0.0) / fig.get_figwidth()
    return fig.text(x, y, note, ha="left", va="top", fontsize=SIZE["note"], color=ROLE["note"], parse_math=False,
                    usetex=False)


def source_note(data_file: str, evaluation: str, version: str) -> str:
    """``Source: <data file>, <evaluation name>; preveval <version>``."""
    return f"Source: {data_file}, {evaluation}; preveval {version}"


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour ``#RRGGBB``."""
    h = hex_colour.lstrip("#")
    out = []
    for i in (0, 2, 4):
        c = int(h[i:i + 2], 16) / 255
        out.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = out
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def styled(draw: Any) -> Any:
    """Decorator: draw a figure in the house style and make all of its text literal."""
    import functools

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with context():
            fig = draw(*args, **kwargs)
        return None if fig is None else literal(fig)

    return wrapper


def new_axes(ax: Any = None, size: tuple[float, float] = (WIDTH, HEIGHT)) -> tuple[Any, Any]:
    """``(figure, axes)``: the caller's Axes and its figure, or a new Agg figure of ``size``."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


# ------------------------------------------------------------------------ units on axes


def axis_unit(indicator: Any, rate_per: float | None = None, exposure: str | None = None,
              period: str | None = None, *, per_area: bool = False) -> str:
    """The unit of an indicator's values on an axis or in a caption.

    ``conveyances per 100 mental-health incidents a month``, ``casualties a month``,
    ``casualties per area a month``, ``hours``. Counts are events in a period; rates and
    averages are not.
    """
    from preveval.pack.wording import per_phrase

    unit = getattr(indicator, "unit_label", None) or ("events" if getattr(indicator, "kind", "count") == "count"
                                                      else "")
    per = per_phrase(rate_per, exposure, getattr(indicator, "exposure_label", None)) if rate_per else ""
    if not per and per_area:
        per = "per area"
    counted = getattr(indicator, "kind", "count") == "count"
    text = " ".join(x for x in (unit, per) if x)
    if counted and period:
        text += f" a {period}"
    return text or "value"


def with_unit(label: str, unit: str, width: int = 60) -> str:
    """``Label (unit)``, wrapped to lines of about ``width`` characters; the unit is kept whole
    on a line of its own when it does not fit beside the label."""
    import textwrap

    if not unit or unit in label:
        return "\n".join(textwrap.wrap(label, width=width)) or label
    one = f"{label} ({unit})"
    if len(one) <= width:
        return one
    return "\n".join([*textwrap.wrap(label, width=width), f"({unit})"])


PERIOD_WORDS = {12.0: "month", 4.0: "quarter", 1.0: "year", 365.25: "day", 52.1775: "week"}


def period_word(periods_per_year: float | None) -> str:
    """``month`` for 12 periods a year, and so on (``period`` when unknown)."""
    return PERIOD_WORDS.get(float(periods_per_year or 0), "period")


def below_legend(ax: Any, ncol: int = 3) -> None:
    """The legend in a row under the axes, where it cannot hide the data."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=min(ncol, len(handles)),
              frameon=False)
