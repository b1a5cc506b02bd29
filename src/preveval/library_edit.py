"""Edits of a template's text in place: each YAML node replaced at its position, comments kept.

Used by :mod:`preveval.library_new`. The text is composed into PyYAML nodes with the safe
loader (nothing is constructed), each edit replaces the characters of one node, and the
edits are applied from the end of the text backwards. Lists and mappings that are edited
are written in flow style (``[A, B]``, ``{type: fourier, period: 12}``), as the templates
write them.
"""

from __future__ import annotations

import pandas as pd
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .data.periods import FREQUENCIES, parse_period
from .spec.models import DidAnalysis, ItsAnalysis, Seasonality, SynthAnalysis

__all__ = ["PER_YEAR", "Editor", "period_label", "quote"]

PER_YEAR = {"day": 365.25, "week": 52.18, "month": 12.0, "quarter": 4.0, "year": 1.0}
#: The yearly cycle of each frequency: (period, most harmonics used).
SEASON = {"day": (365.25, 4), "week": (52.18, 4), "month": (12.0, 6), "quarter": (4.0, 2)}


def quote(text: str) -> str:
    """``text`` as a single-quoted YAML scalar (always read as text)."""
    return "'" + text.replace("'", "''") + "'"


def period_label(p: pd.Period, freq: str) -> str:
    """The period as preveval writes it: 2019-04, 2019Q2, 2019, 2019-W14, 2019-04-01."""
    if freq == "month":
        return f"{p.year:04d}-{p.month:02d}"
    if freq == "quarter":
        return f"{p.year:04d}Q{p.quarter}"
    if freq == "year":
        return f"{p.year:04d}"
    if freq == "week":
        iso = p.start_time.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    return p.start_time.strftime("%Y-%m-%d")


class Editor:
    """Replace YAML nodes of a text by their position."""

    def __init__(self, text: str):
        self.src = text
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        assert root is not None  # a template is a mapping
        self.root: Node = root
        self.edits: dict[int, tuple[int, str]] = {}

    def node(self, loc: tuple[str | int, ...]) -> Node:
        """The node at ``loc`` (keys and list indices)."""
        n: Node = self.root
        for part in loc:
            if isinstance(part, int):
                assert isinstance(n, SequenceNode)
                n = n.value[part]
            else:
                assert isinstance(n, MappingNode)
                n = next(v for k, v in n.value if isinstance(k, ScalarNode) and k.value == part)
        return n

    def set(self, loc: tuple[str | int, ...], text: str) -> None:
        """Replace the value at ``loc`` with ``text`` (YAML, one line)."""
        n = self.node(loc)
        if isinstance(n, (SequenceNode, MappingNode)) and not n.flow_style:
            raise ValueError(f"cannot edit the block-style value at {loc}: write it in flow style")
        self.edits[n.start_mark.index] = (n.end_mark.index, text)

    @staticmethod
    def names(units: tuple[str, ...]) -> str:
        """A flow list of quoted unit names."""
        return "[" + ", ".join(quote(u) for u in units) + "]"

    def text(self) -> str:
        """The text with every edit applied."""
        out = self.src
        for start in sorted(self.edits, reverse=True):
            end, new = self.edits[start]
            out = out[:start] + new + out[end:]
        return out

    def retime(self, base: tuple[str | int, ...], a: ItsAnalysis | DidAnalysis | SynthAnalysis, old: str,
               new: str, start: pd.Period | None) -> None:
        """Move an analysis' dates to ``start`` and ``new`` frequency; windows keep their length in years."""
        ratio = PER_YEAR[new] / PER_YEAR[old]
        if new != old:
            self._scale(base, a, ratio)
        dates: list[tuple[tuple[str | int, ...], str]] = []
        if isinstance(a, ItsAnalysis):
            if a.intervention is not None:
                dates.append(((*base, "intervention"), a.intervention))
            for key, value in (a.interventions or {}).items():
                dates.append(((*base, "interventions", key), value))
        elif isinstance(a, SynthAnalysis):
            dates.append(((*base, "intervention"), a.intervention))
            for name in ("fit_from", "fit_to", "placebo_date"):
                if getattr(a, name) is not None:
                    dates.append(((*base, name), getattr(a, name)))
            for j, pred in enumerate(a.predictors or ()):
                dates += [((*base, "predictors", j, "from"), pred.from_), ((*base, "predictors", j, "to"), pred.to)]
        if not dates or (start is None and new == old):
            return
        anchor = min(p for p in (parse_period(d, old) for _, d in dates[:1]) if p is not None)
        if isinstance(a, ItsAnalysis) and a.interventions:
            anchor = min(p for p in (parse_period(v, old) for v in a.interventions.values()) if p is not None)
        target = start if start is not None else anchor.asfreq(FREQUENCIES[new], how="start")
        for loc, text in dates:
            p = parse_period(text, old)
            assert p is not None  # the template is valid
            moved = target + int(round((p.ordinal - anchor.ordinal) * ratio))
            self.set(loc, quote(period_label(moved, new)))

    def _scale(self, base: tuple[str | int, ...], a: ItsAnalysis | DidAnalysis | SynthAnalysis,
               ratio: float) -> None:
        """Windows counted in periods keep their length in years at the new frequency."""
        minimum = {"leads": 1, "event_bin": 1}
        for name in ("leads", "lags", "event_bin", "phase_in", "lag", "hac_lag"):
            if name in a.model_fields_set:
                value = getattr(a, name)
                self.set((*base, name), str(max(minimum.get(name, 0), int(round(value * ratio)))))
        season = getattr(a, "seasonality", None)
        if isinstance(season, Seasonality):
            new = _season_for(season, ratio)
            self.set((*base, "seasonality"), new)


def _season_for(season: Seasonality, ratio: float) -> str:
    """The seasonality of the same yearly cycle at the new frequency (none for yearly data)."""
    per_year = season.period * ratio
    if per_year < 1.5:
        return "none"
    freq = min(SEASON, key=lambda f: abs(SEASON[f][0] - per_year))
    period, most = SEASON[freq]
    if freq == "quarter":
        return "{type: dummies, period: 4}"
    if season.type == "dummies" and freq == "month":
        return "{type: dummies, period: 12}"
    return f"{{type: fourier, period: {period:g}, harmonics: {min(season.harmonics, most)}}}"
