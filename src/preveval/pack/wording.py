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
    lim = None if e.ci_low is None or e.ci_high is None else _limits(e.ci_low, e.ci_high, num)
    return f"about {num(e.estimate)}{suffix} {word}", lim, e.excludes_zero()


def _limits(lo: float, hi: float, f: object) -> str:
    """The interval in words; the unit is said once, with the estimate."""
    fmt = f  # type: ignore[assignment]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "95% CI unbounded: no effect size could be ruled out"
    if lo < 0 < hi or hi < 0 < lo:
        return f"95% CI from {fmt(lo)} lower to {fmt(hi)} higher"  # type: ignore[operator]
    a, b = sorted((abs(lo), abs(hi)))
    return f"95% CI {fmt(a)} to {fmt(b)} {'lower' if hi < 0 else 'higher'}"  # type: ignore[operator]


def desired_direction(e: Estimate, desired: str) -> bool:
    """Whether the estimate points the way the partnership wants."""
    return (e.estimate < 0) == (desired == "decrease")


def per_phrase(rate_per: float | None, exposure: str | None, exposure_label: str | None = None) -> str:
    """``per 100,000 people aged 17-25`` (empty without a rate)."""
    if rate_per is None:
        return ""
    what = exposure_label or (exposure or "of the exposure").replace("_", " ")
    return f"per {rate_per:,.0f} {what}"


def amount(value: float, unit_label: str | None, per: str, period: str | None) -> str:
    """``9.1 casualties per 100,000 people aged 17-25 a month`` (magnitude, unit and period)."""
    bits = [num(value)]
    if unit_label:
        bits.append(unit_label)
    if per:
        bits.append(per)
    return " ".join(bits) + (f" a {period}" if period else "")


def _period_of(baseline: object, indicator: object) -> str | None:
    """Counts are events in a period ("a month"); rates, shares and averages are not."""
    return getattr(baseline, "period", None) if getattr(indicator, "kind", "count") == "count" else None


def baseline_phrase(baseline: object, indicator: object) -> str:
    """``about 9.1 casualties per 100,000 people aged 17-25 a month in each area before the start``."""
    if baseline is None:
        return ""
    b = baseline
    per = per_phrase(getattr(b, "rate_per", None), getattr(b, "exposure", None),
                     getattr(indicator, "exposure_label", None))
    where = " in each area" if getattr(b, "per_area", False) else ""
    value = amount(b.value, getattr(indicator, "unit_label", None), per, _period_of(b, indicator))  # type: ignore[attr-defined]
    return f"about {value}{where} before the start"


def size_phrase(value: float, scale: str, unit: str = "") -> str:
    """``14% lower`` (log scale) or ``1.5 casualties ... lower`` (difference scale)."""
    word = "lower" if value < 0 else "higher"
    if scale == "log":
        return f"{pct(math.exp(value) - 1)} {word}"
    return f"{num(value)}{' ' + unit if unit else ''} {word}"


def verdict_tail(verdict: object, scale: str, unit: str = "") -> str:
    """What a verdict means in words: why the data cannot tell, or what they rule out (empty if supported)."""
    if verdict is None:
        return ""
    kind = getattr(verdict, "verdict", None)
    plausible = float(getattr(verdict, "plausible_effect", 0.0))
    power = float(getattr(verdict, "power", 0.0))
    if kind == "inconclusive":
        return (f" With these data an effect of the plausible size ({size_phrase(plausible, scale, unit)}) would "
                f"be detected only {power:.0%} of the time, so the data cannot tell whether the initiative made a "
                "difference.")
    if kind == "contradicted":
        return f" The data rule out an effect as large as hoped ({size_phrase(plausible, scale, unit)})."
    return ""


def difference_unit(result: object, indicator: object) -> str:
    """The unit of a difference-scale effect: ``casualties per 100,000 people aged 17-25 a month``."""
    unit_label = getattr(indicator, "unit_label", None)
    b = getattr(result, "baseline", None)
    if b is None:
        return unit_label or ""
    per = per_phrase(b.rate_per, b.exposure, getattr(indicator, "exposure_label", None))
    if not per and b.per_area and getattr(indicator, "kind", "count") == "count":
        per = "per area"
    period = _period_of(b, indicator)
    return " ".join(x for x in (unit_label, per) if x) + (f" a {period}" if period else "")


def fmt_p(p: float | None) -> str:
    """A p-value for a sentence: ``<0.001`` below a thousandth, else three significant digits."""
    if p is None or p != p:
        return "not available"
    return "<0.001" if p < 0.001 else f"{p:.3g}"
