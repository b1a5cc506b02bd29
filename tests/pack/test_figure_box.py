"""The box a pack figure is saved in (writer.noted_box, measured without a drawing pass) is the
one a drawn layout pass gives: every figure of the flagship's and the mental-health triage
evaluation's packs is byte-identical, PNG and SVG, either way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib as mpl
import pytest
from matplotlib.transforms import Bbox

import preveval as pv
from preveval.pack import writer
from preveval.pack.report import build_sections
from preveval.pack.style import add_source_note, context, source_note

ROOT = Path(__file__).resolve().parents[2]


def drawn_box(fig: Any, note: str) -> Any:
    """The box after the layout pass ``savefig(bbox_inches="tight")`` makes (a drawing with
    painting disabled), the note placed as noted_box places it."""
    with context():
        renderer = fig.canvas.get_renderer()
        with renderer._draw_disabled():
            fig.draw(renderer)
        box = fig.get_tightbbox(renderer)
        text = add_source_note(fig, note, box)
        if text is not None:
            box = Bbox.union([box, text.get_window_extent(renderer).transformed(fig.dpi_scale_trans.inverted())])
        return box.padded(mpl.rcParams["savefig.pad_inches"])


def saved(result: Any, box_of: Any) -> dict[str, tuple[bytes, bytes]]:
    note = source_note(result.spec.data.path, result.spec.initiative.name, "test")
    out = {}
    for sec in writer._all(build_sections(result)):
        for f in sec.figures:
            box = box_of(f.figure, note)
            assert box != "tight", f.name
            with writer._fixed_layout(f.figure, box):
                out[f.name] = (writer.figure_png(f.figure, box), writer.figure_svg(f.figure, box))
    return out


@pytest.mark.parametrize("evaluation", ["road-safety-day", "mental-health-triage"])
def test_the_measured_box_saves_the_same_bytes_as_a_drawn_layout_pass(evaluation: str) -> None:
    result = pv.load(ROOT / "evaluations" / evaluation / "evaluation.yaml").run()
    ours, drawn = saved(result, writer.noted_box), saved(result, drawn_box)
    assert len(ours) >= 8 and ours.keys() == drawn.keys()
    for name in ours:
        assert ours[name][0] == drawn[name][0], f"{name}.png"
        assert ours[name][1] == drawn[name][1], f"{name}.svg"
