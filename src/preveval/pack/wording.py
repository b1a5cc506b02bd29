"""Plain-English phrasing of effects, shared by the report sections."""

from __future__ import annotations

import math

from preveval.results.base import Estimate


def pct(x: float) -> str:
    """A proportion as a percentage with sensible precision (sign dropped)."""
    v = abs(x) * 100
    return f"{v:.0f}%" if v >= 5 else (f"{v:.1f}%" if v >= 0.5 else f"{v:.2f}%")


def num(x: float) -> str:
    """A magnitude with sensible precision (sign dropped)."""
    v = abs(x)
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2g}" if v < 1 else f"{v:.2f}"


def lower_first(label: str) -> str:
    """Lower-case the first letter unless the label starts with an acronym."""
    return label[:1].lower() + label[1:] if label[:2] != label[:2].upper() else label


def change_phrase(e: Estimate, scale: str, unit_label: str = "") -> tuple[str, str | None, bool]:
    """Describe an effect: ('about 12% lower', '95% CI 7% to 17%' or None, excludes zero).

    On the log scale the estimate is turned into a percentage change (exp - 1); on the
    difference scale it is given in the indicator's own units.
    """
    down = e.estimate < 0
    word = "lower" if down else "higher"
    if scale == "log":
        size = pct(math.exp(e.estimate) - 1)
        lim = None
        if e.ci_low is not None and e.ci_high is not None:
            lo, hi = math.exp(e.ci_low) - 1, math.exp(e.ci_high) - 1
            lim = _limits(lo, hi, pct)
        return f"about {size} {word}", lim, e.excludes_zero()
    suffix = f" {unit_label}" if unit_label else ""
    lim = None if e.ci_low is None or e.ci_high is None else _limits(e.ci_low, e.ci_high, num, suffix)
    return f"about {num(e.estimate)}{suffix} {word}", lim, e.excludes_zero()


def _limits(lo: float, hi: float, f: object, suffix: str = "") -> str:
    fmt = f  # type: ignore[assignment]
    if lo < 0 < hi or hi < 0 < lo:
        return f"95% CI from {fmt(lo)}{suffix} lower to {fmt(hi)}{suffix} higher"  # type: ignore[operator]
    a, b = sorted((abs(lo), abs(hi)))
    return f"95% CI {fmt(a)} to {fmt(b)}{suffix}"  # type: ignore[operator]


def desired_direction(e: Estimate, desired: str) -> bool:
    """Whether the estimate points the way the partnership wants."""
    return (e.estimate < 0) == (desired == "decrease")
