"""The logic-model diagram: columns from inputs to impact, coloured by the evidence.

Each element is a box in its stage's column (inputs, activities, outputs, short-, medium-
and long-term outcomes, impact); its colour is the status of the link into it
(supported green, contradicted red, the data cannot tell grey, untested pale). Partners head the figure and are
named under the elements they deliver; rival explanations stand in a column at the side,
coloured by whether they are ruled out; assumptions and risks run along the bottom.
Drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot state), so the
same input always gives the same picture.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

from preveval.pack.style import LINK, RIVAL, styled
from preveval.spec.models import LogicModel

__all__ = ["COLUMNS", "LINK_COLOURS", "RIVAL_COLOURS", "logic_model_figure", "plot_logic_model"]

#: (stage, column heading) in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("inputs", "Inputs"),
    ("activities", "Activities"),
    ("outputs", "Outputs"),
    ("outcomes.short", "Outcomes\n(short term)"),
    ("outcomes.medium", "Outcomes\n(medium term)"),
    ("outcomes.long", "Outcomes\n(long term)"),
    ("impact", "Impact"),
)

#: status -> (fill, edge): the house style's colours (Okabe-Ito edges); the status is also
#: written in each tested box, so that no one needs to tell the colours apart
LINK_COLOURS: dict[str, tuple[str, str]] = dict(LINK)
#: What a tested box says under its text.
LINK_MARKS = {"supported": "✓ supported", "contradicted": "✗ contradicted", "inconclusive": "? data cannot tell"}
#: Legend words of each link status.
LINK_WORDS = {"supported": "supported", "contradicted": "contradicted", "inconclusive": "data cannot tell",
              "untested": "untested"}
RIVAL_COLOURS: dict[str | None, tuple[str, str]] = dict(RIVAL)
RIVAL_WORDS = {"ruled_out": "ruled out", "partly": "partly ruled out", "not_ruled_out": "not ruled out",
               None: "status not assessed"}

COL_W = 1.65    # inches of box width
GAP_X = 0.38    # between columns
LINE_H = 0.155  # inches per text line at 8 pt
PAD = 0.12
GAP_Y = 0.14
WRAP = 21       # characters per line


def _wrap(text: str, width: int = WRAP) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=True) or [""]


def _box_lines(text: str, partners: Sequence[str], status: str | None = None) -> tuple[list[str], list[str]]:
    main = _wrap(text)
    sub = _wrap("(" + ", ".join(partners) + ")", WRAP + 4) if partners else []
    if status in LINK_MARKS:
        sub = [*sub, LINK_MARKS[status]]
    return main, sub


def _height(n_lines: int) -> float:
    return n_lines * LINE_H + 2 * PAD


def _draw_box(ax: Any, x: float, y_top: float, main: list[str], sub: list[str],
              fill: str, edge: str, dashed: bool = False) -> tuple[float, float]:
    """Box with its top at ``y_top``; returns (centre y, height)."""
    h = _height(len(main) + len(sub))
    ax.add_patch(FancyBboxPatch(
        (x, y_top - h), COL_W, h, boxstyle="round,pad=0,rounding_size=0.06",
        facecolor=fill, edgecolor=edge, linewidth=1.4, linestyle="--" if dashed else "-",
    ))
    y = y_top - PAD - LINE_H / 2
    for line in main:
        ax.text(x + COL_W / 2, y, line, ha="center", va="center", fontsize=8, color="#1a1a1a")
        y -= LINE_H
    for line in sub:
        ax.text(x + COL_W / 2, y, line, ha="center", va="center", fontsize=7, color="#444444",
                style="italic")
        y -= LINE_H
    return y_top - h / 2, h


def _partner_text(partners: Sequence[Any]) -> str:
    bits = []
    for p in partners:
        name = getattr(p, "name", None) or str(p)
        role = getattr(p, "role", None)
        bits.append(f"{name} ({role})" if role else name)
    return "Partners: " + "; ".join(bits) if bits else ""


@styled
def plot_logic_model(
    logic_model: LogicModel,
    partners: Sequence[Any] = (),
    rivals: Sequence[Any] = (),
    link_status: Mapping[str, str] | None = None,
) -> Figure:
    """Draw the logic model with each element coloured by the evidence on its link.

    Parameters
    ----------
    logic_model
        The theory of change.
    partners
        :class:`~preveval.spec.models.Partner` records (or names) shown across the top.
    rivals
        Rival explanations (spec records or
        :class:`~preveval.contribution.mayne.RivalAssessment`); their ``status`` colours them.
    link_status
        ``{element id: supported | contradicted | untested}``; missing ids are untested.

    Returns
    -------
    matplotlib.figure.Figure
    """
    status = dict(link_status or {})
    elements = logic_model.elements()
    cols = [(st, head, [el for s, el in elements if s == st]) for st, head in COLUMNS]
    cols = [c for c in cols if c[2]] or [("inputs", "Inputs", [])]
    extras = [(s, el) for s, el in elements if s in ("assumptions", "risks")]

    # heights of every column, to size the figure
    def col_height(items: Sequence[tuple[list[str], list[str]]]) -> float:
        return sum(_height(len(a) + len(b)) for a, b in items) + GAP_Y * max(len(items) - 1, 0)

    laid = [[_box_lines(el.text, el.partners, status.get(el.id)) for el in els] for _, _, els in cols]
    rival_laid = [(_wrap(getattr(r, "description", str(r))), [RIVAL_WORDS.get(getattr(r, "status", None),
                                                                              "status not assessed")])
                  for r in rivals]
    body_h = max([col_height(c) for c in laid] + [col_height(rival_laid) if rivals else 0.0, 0.6])
    extra_words = {"supported": " (supported by evidence)", "contradicted": " (contradicted by evidence)"}
    extra_lines = [
        f"{'Assumption' if s == 'assumptions' else 'Risk'}: {el.text}{extra_words.get(status.get(el.id, ''), '')}"
        for s, el in extras
    ]
    n_cols = len(cols) + (1 if rivals else 0)
    width = n_cols * COL_W + (n_cols - 1) * GAP_X + (0.35 if rivals else 0) + 0.4
    partner_line = _partner_text(partners)
    partner_wrapped = textwrap.wrap(partner_line, width=int(width * 12)) if partner_line else []
    extra_wrapped = [w for line in extra_lines for w in textwrap.wrap(line, width=int(width * 13))]
    top_h = 0.55 + LINE_H * len(partner_wrapped)
    bottom_h = 0.75 + LINE_H * 1.1 * len(extra_wrapped)
    height = top_h + body_h + bottom_h

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")

    y = height - 0.15
    for line in partner_wrapped:
        ax.text(0.2, y - LINE_H / 2, line, ha="left", va="center", fontsize=8.5, fontweight="bold",
                color="#1a1a1a")
        y -= LINE_H
    head_y = height - top_h + 0.22
    body_top = height - top_h
    centres: list[tuple[float, float]] = []  # column centre (x_left, y_mid)
    x = 0.2
    for (_stage, head, els), lines in zip(cols, laid, strict=True):
        ax.text(x + COL_W / 2, head_y, head, ha="center", va="center", fontsize=9, fontweight="bold")
        yt = body_top - (body_h - col_height(lines)) / 2
        for el, (main, sub) in zip(els, lines, strict=True):
            fill, edge = LINK_COLOURS.get(status.get(el.id, "untested"), LINK_COLOURS["untested"])
            _, h = _draw_box(ax, x, yt, main, sub, fill, edge)
            yt -= h + GAP_Y
        centres.append((x, body_top - body_h / 2))
        x += COL_W + GAP_X
    for (x0, y0), (x1, y1) in zip(centres, centres[1:], strict=False):
        ax.add_patch(FancyArrowPatch((x0 + COL_W + 0.04, y0), (x1 - 0.04, y1), arrowstyle="-|>",
                                     mutation_scale=14, color="#404040", linewidth=1.3))
    if rivals:
        x += 0.35
        ax.plot([x - GAP_X / 2 - 0.15] * 2, [body_top - body_h, body_top + 0.05], color="#999999",
                linewidth=0.8, linestyle=":")
        ax.text(x + COL_W / 2, head_y, "Rival\nexplanations", ha="center", va="center", fontsize=9,
                fontweight="bold")
        yt = body_top - (body_h - col_height(rival_laid)) / 2
        for r, (main, sub) in zip(rivals, rival_laid, strict=True):
            fill, edge = RIVAL_COLOURS.get(getattr(r, "status", None), RIVAL_COLOURS[None])
            _, h = _draw_box(ax, x, yt, main, sub, fill, edge, dashed=True)
            yt -= h + GAP_Y
    y = body_top - body_h - 0.3
    for line in extra_wrapped:
        ax.text(0.2, y, line, ha="left", va="center", fontsize=8, color="#333333")
        y -= LINE_H * 1.1

    shown = set(status.values()) | {"supported", "contradicted", "untested"}
    handles = [Patch(facecolor=f, edgecolor=e, label=f"link {LINK_WORDS[k]}") for k, (f, e) in LINK_COLOURS.items()
               if k in shown]
    if rivals:
        handles += [Patch(facecolor=RIVAL_COLOURS[k][0], edgecolor=RIVAL_COLOURS[k][1], linestyle="--",
                          label=f"rival {RIVAL_WORDS[k]}") for k in ("ruled_out", "partly", "not_ruled_out")]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=7.5,
               frameon=False, bbox_to_anchor=(0.5, 0.0))
    return fig


def logic_model_figure(spec: Any, result: Any = None) -> Any:
    """The logic-model diagram of an evaluation as a report figure (``None`` without elements).

    Link colours and rival statuses come from ``result.contribution`` when it was assessed;
    otherwise every link is untested and rivals are taken from the spec unassessed.
    """
    from preveval.pack.section import FigureItem

    lm = spec.logic_model
    if not lm.elements():
        return None
    contribution = getattr(result, "contribution", None)
    if contribution is not None:
        rivals: Sequence[Any] = contribution.rival_explanations
        status = contribution.link_status()
    else:
        rivals = spec.contribution.rival_explanations if spec.contribution is not None else ()
        status = {}
    fig = plot_logic_model(lm, spec.initiative.partners, rivals, status)
    n = {k: sum(v == k for v in status.values()) for k in ("supported", "contradicted", "inconclusive")}
    alt = (f"Logic model of {spec.initiative.name}: " + "; ".join(f"{st}: {el.text}" for st, el in lm.elements())
           + (f". {n['supported']} link(s) supported, {n['contradicted']} contradicted by the evidence, "
              f"{n['inconclusive']} where the data cannot tell."
              if status else ""))
    return FigureItem(
        "logic-model",
        "Logic model: inputs to impact, coloured by the evidence on each link (green supported, "
        "red contradicted, grey the data cannot tell, pale untested); rival "
        "explanations at the side.",
        fig,
        alt=alt,
    )
