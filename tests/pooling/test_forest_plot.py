"""The forest plot (preveval/pack/forest.py, via PoolResult.plot) and the import rules of the
pooling engine: no matplotlib or scipy.stats at module level, and pack/forest.py does not
import preveval.pooling (so there is no cycle)."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from preveval.pack.forest import COLOURS, plot_forest
from preveval.pooling import pool

SRC = Path(__file__).resolve().parents[2] / "src" / "preveval"


def test_forest_plot_rows_and_log_axis_for_ratios(bcg):
    r = pool(bcg["yi"], bcg["sei"], labels=bcg["label"], scale="log", measure="risk ratio")
    fig = r.plot(title="BCG")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == [*bcg["label"], "Pooled (REML)", "95% prediction interval"]  # 13 + 2 rows
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "Risk ratio (log scale)"
    lo, hi = ax.get_xlim()
    assert lo < r.ratio_pi_low and hi > r.ratio_pi_high  # everything drawn is in view
    (squares,) = ax.collections[1:2]  # hlines, then the squares
    sizes = squares.get_sizes()
    assert len(sizes) == 13 and np.argmax(sizes) == int(np.argmax(r.weights))  # box area by weight
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # the Agg canvas renders
    assert buf.getvalue()[:4] == b"\x89PNG"


def test_forest_plot_on_the_difference_scale_without_prediction_interval(bcg):
    fig = pool(bcg["yi"], bcg["sei"], method="FE").plot()
    (ax,) = fig.axes
    assert ax.get_xscale() == "linear" and ax.get_xlabel() == "Difference"
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert len(names) == 14 and names[-1] == "Pooled (FE)"  # 13 studies + pooled, no PI for FE
    kh = pool(bcg["yi"], bcg["sei"], knapp_hartung=True).plot(xlabel="Log risk ratio")
    assert kh.axes[0].get_xlabel() == "Log risk ratio"
    assert kh.axes[0].get_yticklabels()[-2].get_text() == "Pooled (REML, KH)"


def test_plot_forest_checks_its_arrays():
    args = dict(labels=["a", "b"], estimates=[1.0, 2.0], ci_low=[0.5, 1.0], ci_high=[2.0, 4.0],
                weights=[50.0, 50.0], pooled=(1.4, 0.9, 2.2))
    assert len(plot_forest(**args, log_scale=True).axes[0].get_yticklabels()) == 3
    with pytest.raises(ValueError, match="same length"):
        plot_forest(**{**args, "weights": [100.0]})
    with pytest.raises(ValueError, match="positive"):
        plot_forest(**{**args, "ci_low": [-0.5, 1.0]}, log_scale=True)


def test_colours_are_okabe_ito():
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
    assert {COLOURS["study"], COLOURS["pooled"], COLOURS["prediction"]} <= okabe_ito


def _module_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:  # top-level statements only
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_pooling_imports_neither_matplotlib_nor_scipy_stats_at_module_level():
    for path in sorted((SRC / "pooling").glob("*.py")):
        bad = {n for n in _module_level_imports(path)
               if n.startswith(("matplotlib", "scipy.stats", "preveval.pack")) or n == "scipy.stats"}
        assert not bad, f"{path.name} imports {bad}"
        allowed = ("preveval.errors", "preveval.pooling")
        for n in _module_level_imports(path):
            if n.startswith("preveval"):
                assert n.startswith(allowed), f"{path.name} imports {n}"


def test_forest_module_does_not_import_pooling():
    tree = ast.parse((SRC / "pack" / "forest.py").read_text())
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m and m.startswith(("preveval.pooling", "statsmodels")) for m in mods)


def test_importing_pooling_loads_no_matplotlib():
    code = "import sys, preveval.pooling; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
