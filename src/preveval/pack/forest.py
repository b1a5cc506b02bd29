"""Forest plot of a meta-analysis, from plain arrays.

Drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot state). Takes
numbers already on the display scale (ratios for a log axis) so that it needs nothing from
the pooling engine; :meth:`preveval.pooling.PoolResult.plot` calls it. Colours are from the
Okabe-Ito palette (safe for the common colour-vision deficiencies) and every element is
also told apart by shape and its row label, not by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from preveval.pack.style import styled

__all__ = ["COLOURS", "plot_forest"]

COLOURS = {"study": "#0072B2", "pooled": "#D55E00", "prediction": "#009E73", "null": "#7F7F7F"}
_MAX_AREA = 140.0  # marker area (points^2) of the heaviest study
_MIN_AREA = 10.0


def _fmt(x: float) -> str:
    return f"{x:.2f}" if abs(x) < 100 else f"{x:.3g}"


@styled
def plot_forest(
    labels: Sequence[str],
    estimates: Sequence[float] | np.ndarray,
    ci_low: Sequence[float] | np.ndarray,
    ci_high: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray,
    pooled: tuple[float, float, float],
    prediction: tuple[float, float] | None = None,
    *,
    log_scale: bool = False,
    xlabel: str = "Estimate",
    level: float = 0.95,
    pooled_label: str = "Pooled",
    title: str | None = None,
    null_value: float | None = None,
) -> Figure:
    """Draw a forest plot and return the Figure.

    Parameters
    ----------
    labels, estimates, ci_low, ci_high, weights : sequences of length k
        One entry per study, on the display scale; ``weights`` in percent set the areas of
        the squares.
    pooled : (estimate, ci_low, ci_high)
        The pooled estimate, drawn as a diamond spanning its interval.
    prediction : (low, high), optional
        The prediction interval, drawn on its own row as a bar with end caps.
    log_scale : bool
        Log axis (for ratios); the reference line is then at 1, else at 0.
    xlabel : str
        Axis label, with units (e.g. ``"Risk ratio (log scale)"``).
    level : float
        Confidence level, for the column heading and row label.
    pooled_label, title : str
        Row label of the pooled estimate; optional title.
    null_value : float, optional
        Position of the reference line (default 1 on a log axis, 0 otherwise).

    Rows, top to bottom: the k studies, then the pooled estimate, then the prediction
    interval when given; the y tick labels name them (k + 1 or k + 2 ticks).
    """
    est = np.asarray(estimates, dtype=float)
    lo = np.asarray(ci_low, dtype=float)
    hi = np.asarray(ci_high, dtype=float)
    w = np.asarray(weights, dtype=float)
    k = len(labels)
    if not (len(est) == len(lo) == len(hi) == len(w) == k):
        raise ValueError("labels, estimates, ci_low, ci_high and weights must have the same length")
    if log_scale and (np.any(lo <= 0) or pooled[1] <= 0 or (prediction is not None and prediction[0] <= 0)):
        raise ValueError("a log axis needs positive values (pass ratios, not log ratios)")
    pct = f"{100 * level:g}%"

    n_rows = k + 1 + (prediction is not None)
    height = 1.4 + 0.32 * (n_rows + 1)
    fig = Figure(figsize=(8.5, height), dpi=100)
    FigureCanvasAgg(fig)
    longest = max([len(s) for s in labels] + [len(pooled_label), len(pct) + 20 if prediction else 0])
    fig.subplots_adjust(left=min(0.45, 0.03 + 0.0095 * longest), right=0.70,
                        bottom=1.0 / height, top=1 - 0.75 / height)
    ax = fig.add_subplot(1, 1, 1)

    y_pool = 0.0 if prediction is None else 1.0
    y_study = y_pool + 1.5 + np.arange(k)[::-1]
    top = y_pool + 1.5 + (k - 1)
    area = _MIN_AREA + (_MAX_AREA - _MIN_AREA) * (w / w.max() if w.max() > 0 else np.zeros(k))
    ax.hlines(y_study, lo, hi, color=COLOURS["study"], lw=1.3, zorder=2)
    ax.scatter(est, y_study, s=area, marker="s", color=COLOURS["study"], zorder=3)

    p_est, p_lo, p_hi = pooled
    ax.fill([p_lo, p_est, p_hi, p_est], [y_pool, y_pool + 0.32, y_pool, y_pool - 0.32],
            color=COLOURS["pooled"], zorder=3)
    ticks = [*y_study, y_pool]
    names = [*labels, pooled_label]
    if prediction is not None:
        y_pi = 0.0
        ax.hlines(y_pi, prediction[0], prediction[1], color=COLOURS["prediction"], lw=2.5, zorder=2)
        ax.vlines(prediction, y_pi - 0.2, y_pi + 0.2, color=COLOURS["prediction"], lw=2.5, zorder=2)
        ticks.append(y_pi)
        names.append(f"{pct} prediction interval")

    ref = null_value if null_value is not None else (1.0 if log_scale else 0.0)
    ax.axvline(ref, color=COLOURS["null"], ls="--", lw=0.9, zorder=1)
    ax.set_yticks(ticks, names)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(-0.8, top + 1.0)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    if log_scale:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, loc="left", fontsize=11)

    tr = ax.get_yaxis_transform()  # x in axes fraction, y in data
    head_y = top + 0.6
    ax.text(1.03, head_y, f"Estimate [{pct} CI]", transform=tr, fontsize=8, fontweight="bold", va="bottom")
    ax.text(1.43, head_y, "Weight", transform=tr, fontsize=8, fontweight="bold", va="bottom")
    for yy, e, a, b, ww in zip(y_study, est, lo, hi, w, strict=True):
        ax.text(1.03, yy, f"{_fmt(e)} [{_fmt(a)}, {_fmt(b)}]", transform=tr, fontsize=8, va="center")
        ax.text(1.43, yy, f"{ww:.1f}%", transform=tr, fontsize=8, va="center")
    ax.text(1.03, y_pool, f"{_fmt(p_est)} [{_fmt(p_lo)}, {_fmt(p_hi)}]", transform=tr, fontsize=8,
            va="center", fontweight="bold")
    if prediction is not None:
        ax.text(1.03, 0.0, f"[{_fmt(prediction[0])}, {_fmt(prediction[1])}]", transform=tr, fontsize=8, va="center")
    return fig
