"""Report sections: the one shape every part of the pack is written from.

A section builder (one per method, plus contribution, economics, logic model) turns a
result into a :class:`Section`; the Markdown and HTML writers render any section without
knowing which method made it. Builders may draw figures (matplotlib) but never fit models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class FigureItem:
    """A figure: ``name`` becomes ``figures/<name>.png``; ``alt`` is its text alternative."""

    name: str
    caption: str
    figure: Any  # matplotlib.figure.Figure
    alt: str = ""


@dataclass
class TableItem:
    """A table: ``name`` becomes ``tables/<name>.csv``; shown in the report when ``show``.

    ``shown``: the rows the report shows when they are fewer than the CSV's (``frame``).
    """

    name: str
    caption: str
    frame: pd.DataFrame
    show: bool = True
    digits: int = 4
    shown: pd.DataFrame | None = None

    def displayed(self) -> pd.DataFrame:
        """The rows and columns the report shows."""
        return self.frame if self.shown is None else self.shown


@dataclass
class Section:
    """One part of the report.

    ``headline`` is one plain-English sentence for a board member; ``paragraphs`` and
    ``bullets`` explain; ``details`` hold the technical specification for an analyst
    (model, standard errors, diagnostics); ``warnings`` are shown prominently.
    """

    id: str
    title: str
    headline: str = ""
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    figures: list[FigureItem] = field(default_factory=list)
    tables: list[TableItem] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)
