"""Errors and issues.

Every problem found in user input is an :class:`Issue` with a level, the file, line and
column it refers to, a dotted field path and an optional hint. Loaders and checks gather
all issues first and then raise once (:class:`SpecError` or :class:`DataError`), so a user
sees everything that is wrong in one go. Warnings travel on into the results instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """One problem with the evaluation file or its data.

    Formats as ``FILE:LINE:COL: field.path: message (hint)``; parts that are unknown are
    left out (a parquet file has no line numbers, a missing file has no field). ``count`` is
    the number of problems the issue stands for: 1, or N for the ``... and N more`` line that
    ends a capped list, so that totals count problems, not lines.
    """

    message: str
    path: str = ""
    file: str | None = None
    line: int | None = None
    col: int | None = None
    hint: str | None = None
    level: Level = "error"
    count: int = 1

    def format(self) -> str:
        """Return the one-line form used on stderr and in reports."""
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.col is not None:
                    where += f":{self.col}"
        parts = [p for p in (where, self.path) if p]
        text = self.message + (f" ({self.hint})" if self.hint else "")
        return ": ".join([*parts, text])

    def __str__(self) -> str:
        return self.format()


class PrevevalError(Exception):
    """Base class of every error preveval raises on purpose."""


class InputError(PrevevalError):
    """Invalid user input (spec or data): the CLI exits with code 2."""

    def __init__(self, issues: Iterable[Issue]):
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__("\n".join(i.format() for i in self.issues))

    @property
    def errors(self) -> tuple[Issue, ...]:
        """The issues at level ``error``."""
        return tuple(i for i in self.issues if i.level == "error")

    @property
    def n_errors(self) -> int:
        """How many errors were found (a ``... and N more`` line counts as N)."""
        return sum(i.count for i in self.errors)


class SpecError(InputError):
    """The evaluation file is invalid."""


class DataError(InputError):
    """A data file is missing, unreadable or fails a check."""


class PackError(PrevevalError):
    """The pack cannot be written where the user asked (exit code 2)."""


class EstimationError(PrevevalError):
    """A model could not be fitted (exit code 1)."""


def raise_if_errors(issues: Iterable[Issue], kind: type[InputError]) -> list[Issue]:
    """Raise ``kind`` with every issue when any is an error; else return the warnings."""
    issues = list(issues)
    if any(i.level == "error" for i in issues):
        raise kind(issues)
    return issues
