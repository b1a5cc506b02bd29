"""Was it the initiative or the rival? The rival explanation's own estimated effect, in words.

A rival explanation with a data ``column`` (for example 0/1 in the quarters of a police
campaign) is estimated alongside the initiative by every analysis that lists that column among
its covariates: the analysis' headline is then the initiative's effect *after allowing for*
the rival, and the covariate's coefficient is the rival's own effect. :func:`rival_effects`
words both for the rival-explanation row and the "was it the initiative or the rival?"
paragraph of the contribution section. It reads results; it never fits.
"""

from __future__ import annotations

import math
from typing import Any

from preveval.pack.wording import change_phrase, difference_unit, lower_first, pct

__all__ = ["rival_effects"]


def _words(e: Any, scale: str, unit: str) -> tuple[str, bool]:
    """``about 12% lower (rate ratio 0.876, 95% CI 0.830 to 0.926)`` and whether it is clear."""
    if scale == "log":
        rr = math.exp(e.estimate)
        ci = "" if e.ci_low is None else f", 95% CI {math.exp(e.ci_low):.3f} to {math.exp(e.ci_high):.3f}"
        return f"about {pct(rr - 1)} {'lower' if rr < 1 else 'higher'} (rate ratio {rr:.3f}{ci})", e.excludes_zero()
    change, lim, clear = change_phrase(e, scale, unit)
    return f"{change}{f' ({lim})' if lim else ''}", clear


def rival_effects(result: Any) -> dict[str, tuple[list[str], str]]:
    """Rival id -> (paragraphs answering "was it the initiative or the rival?", the row's short cell).

    One paragraph per analysis that estimated the rival's own effect, the primary analysis
    first; the cell lists the rival's own effect from each of them.
    """
    spec = result.spec
    if spec.contribution is None:
        return {}
    out: dict[str, tuple[list[str], str]] = {}
    init = lower_first(spec.initiative.name)
    init = init if init.startswith("the ") else f"the {init}"
    analyses = sorted(spec.analyses, key=lambda a: not a.primary)
    for rival in spec.contribution.rival_explanations:
        col = getattr(rival, "column", None)
        if col is None:
            continue
        name = rival.id.replace("-", " ").replace("_", " ")
        paragraphs: list[str] = []
        cells: list[str] = []
        for a in analyses:
            r = result.analyses.get(a.id)
            if r is None or col not in tuple(getattr(a, "covariates", ())):
                continue
            own = next((c for c in r.coefficients if c.term == col), None)
            if own is None:
                continue
            ind = spec.indicator(a.indicator)
            unit = "" if r.scale == "log" else difference_unit(r, ind)
            title = a.title(ind.label)
            hub, hub_clear = _words(r.effect, r.scale, unit)
            riv, riv_clear = _words(own, r.scale, unit)
            label = lower_first(ind.label)
            ask = f"Was it {init} or the {name}? " if not paragraphs else ""
            text = (f"{ask}{title[:1].upper() + title[1:]} estimates both from the same data. After allowing for "
                    f"the {name} (data column '{col}'), {label} were {hub} where {init} ran than the comparison "
                    "areas' experience predicts" + ("." if hub_clear else ", but this is uncertain.")
                    + f" The {name}'s own estimated effect: {label} were {riv} where and when it ran"
                    + ("." if riv_clear else ", but this is uncertain."))
            good = hub_clear and (r.effect.estimate < 0) == (ind.desired == "decrease")
            text += (f" So the {name} does not explain the change where {init} ran: it remains after allowing "
                     "for it." if good else f" After allowing for the {name} we cannot tell whether {init} made "
                     "a difference." if not hub_clear else "")
            paragraphs.append(text)
            cells.append(f"{riv} where and when it ran ({title})")
        if paragraphs:
            out[rival.id] = (paragraphs, "; ".join(cells))
    return out
