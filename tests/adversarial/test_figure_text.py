"""Text from the evaluation file is drawn literally on figures: ``$...$`` is not mathematics.

A label such as ``cost $\\x$`` reached matplotlib's mathtext parser, which failed
(``ParseFatalException``: run exited 1 after validate had passed). Every text field that is
drawn on a figure (the indicator label, the initiative and partner names, logic-model
elements, the claim, rivals and evidence) holds TeX-like text here. The pack's figures, the
notebook's and the forest plot of pooled results draw it literally (pack/style.py: text.parse_math
off, ``literal``).
"""

from __future__ import annotations

import io
from pathlib import Path

import preveval as pv
from adversarial.adv_helpers import assert_clean, check_pack, cli
from support import SPEC, series_frame

TEX = r"cost $\x$ and $\frac{1}{0}$"  # an even number of $: matplotlib would parse it


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\") + '"'


def tex_spec() -> str:
    q = _quoted(TEX)
    text = (SPEC.replace("label: Events", f"label: {q}\n    unit_label: {q}")
            .replace("name: Test initiative", f"name: {q}")
            .replace("{name: Police Scotland, role: lead}", f"{{name: {q}, role: lead}}"))
    return text + f"""    label: {q}
logic_model:
  inputs: [{q}]
  activities: [{{id: act, text: {q}}}]
  outcomes: {{short: [{q}]}}
  impact: {q}
contribution:
  claim: {q}
  rival_explanations:
    - {{id: r, description: {q}, links: [act]}}
  evidence:
    - {{id: e1, from_analysis: its-events, p_if_false: 0.3, description: {q}, links: [act]}}
    - {{id: e2, observed: true, p_if_true: 0.9, p_if_false: 0.5, description: {q}, rival: r}}
economics:
  price_year: 2023
  costs:
    - {{item: {q}, partner: {q}, amount: 1000}}
  unit_values:
    - {{indicator: events, value: 500, source: {q}}}
"""


def test_tex_like_text_is_drawn_literally_in_the_pack(tmp_path: Path) -> None:
    (tmp_path / "evaluation.yaml").write_text(tex_spec(), encoding="utf-8")
    series_frame().to_csv(tmp_path / "data.csv", index=False)
    assert_clean(cli("run", tmp_path / "evaluation.yaml", "--out", tmp_path / "pack"), 0)
    check_pack(tmp_path / "pack")
    assert (tmp_path / "pack" / "report.md").read_text(encoding="utf-8").startswith("# cost $")


def test_tex_like_text_is_drawn_literally_in_a_notebook(tmp_path: Path) -> None:
    """``result.plot()`` draws the same figures outside the pack: rendering them must not parse."""
    (tmp_path / "evaluation.yaml").write_text(tex_spec(), encoding="utf-8")
    series_frame().to_csv(tmp_path / "data.csv", index=False)
    result = pv.load(tmp_path / "evaluation.yaml").run().analyses["its-events"]
    fig = result.plot()
    fig.savefig(io.BytesIO(), format="png")  # mathtext is parsed when the text is drawn


def test_tex_like_study_labels_in_a_forest_plot() -> None:
    """Study labels come from the user (pv.pool labels) or from packs (the hub's area names)."""
    from preveval.pack.writer import figure_png

    pooled = pv.pool([0.1, 0.2, -0.1], [0.05, 0.1, 0.08], labels=[TEX, "Area 2", "Area 3"])
    assert figure_png(pooled.plot(xlabel=TEX, title=TEX)).startswith(b"\x89PNG")
