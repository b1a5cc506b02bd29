"""Checks of the studies and moderators given to :func:`~preveval.pooling.pool` and
:func:`~preveval.pooling.meta_regression`.

Every problem is gathered as an :class:`~preveval.errors.Issue` naming the study (its
label) and, for moderators, the column; then one :class:`~preveval.errors.DataError`
carries them all. Arguments that are not data (an unknown method, a level outside (0, 1))
are programming errors and raise :class:`ValueError` at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from preveval.errors import DataError, Issue

__all__ = ["METHODS", "Studies", "check_options", "check_studies", "moderator_matrix"]

METHODS = ("REML", "DL", "PM", "FE")


@dataclass(frozen=True)
class Studies:
    """Validated study-level inputs: estimates, standard errors and unique labels."""

    y: np.ndarray
    se: np.ndarray
    labels: tuple[str, ...]

    @property
    def v(self) -> np.ndarray:
        """Sampling variances, the squared standard errors."""
        return self.se**2

    @property
    def k(self) -> int:
        """Number of studies."""
        return len(self.y)


def check_options(method: str, level: float, scale: str | None = None,
                  methods: Sequence[str] = METHODS) -> str:
    """Return the method in upper case; raise ValueError for an unknown option."""
    m = str(method).upper()
    if m not in methods:
        raise ValueError(f"method must be one of {', '.join(methods)}; got {method!r}")
    if not (isinstance(level, int | float) and 0 < level < 1):
        raise ValueError(f"level must be a probability strictly between 0 and 1, got {level!r}")
    if scale is not None and scale not in ("difference", "log"):
        raise ValueError(f"scale must be 'difference' or 'log', got {scale!r}")
    return m


def _as_vector(values: Any, name: str, issues: list[Issue]) -> np.ndarray | None:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        issues.append(Issue(f"{name} must be numbers", path=name,
                            hint="pass a list, NumPy array or pandas Series of numbers"))
        return None
    if arr.ndim != 1:
        issues.append(Issue(f"{name} must be one-dimensional, got {arr.ndim} dimensions", path=name))
        return None
    return arr


def _labels(labels: Sequence[Any] | None, estimates: Any, k: int, issues: list[Issue]) -> tuple[str, ...]:
    if labels is None:
        index = getattr(estimates, "index", None)
        if isinstance(estimates, pd.Series) and not isinstance(index, pd.RangeIndex):
            labels = list(estimates.index)
        else:
            return tuple(f"Study {i + 1}" for i in range(k))
    out = tuple(str(x) for x in labels)
    if len(out) != k:
        issues.append(Issue(f"labels has {len(out)} entries but there are {k} studies", path="labels"))
    return out


def check_studies(estimates: Any, std_errors: Any, labels: Sequence[Any] | None,
                  method: str) -> Studies:
    """Validate the study estimates and standard errors.

    Raises
    ------
    DataError
        With every problem found: lengths that differ, a missing (NaN) or infinite estimate,
        a standard error that is missing, zero, negative or infinite (each naming the study),
        no studies, or one study with a method other than ``"FE"``.
    """
    issues: list[Issue] = []
    y = _as_vector(estimates, "estimates", issues)
    se = _as_vector(std_errors, "std_errors", issues)
    if y is None or se is None:
        raise DataError(issues)
    if len(y) != len(se):
        issues.append(Issue(f"estimates has {len(y)} entries but std_errors has {len(se)}",
                            path="std_errors", hint="give one standard error per study"))
        raise DataError(issues)
    k = len(y)
    names = _labels(labels, estimates, k, issues)
    if issues:
        raise DataError(issues)
    for i, (yi, si, name) in enumerate(zip(y, se, names, strict=True)):
        if math.isnan(yi):
            issues.append(Issue(f"study '{name}': the estimate is missing (NaN)", path=f"estimates[{i}]",
                                hint="supply the estimate or leave the study out"))
        elif math.isinf(yi):
            issues.append(Issue(f"study '{name}': the estimate is infinite", path=f"estimates[{i}]"))
        if math.isnan(si):
            issues.append(Issue(f"study '{name}': the standard error is missing (NaN)", path=f"std_errors[{i}]",
                                hint="supply the standard error or leave the study out"))
        elif not (0 < si < math.inf):
            issues.append(Issue(f"study '{name}': the standard error must be positive and finite, got {si:g}",
                                path=f"std_errors[{i}]"))
    if k == 0:
        issues.append(Issue("there are no studies to pool", path="estimates"))
    elif k == 1 and method != "FE":
        issues.append(Issue(f"one study ('{names[0]}') cannot inform the between-study variance that "
                            f"method='{method}' estimates", path="estimates",
                            hint="pool at least two studies, or use method='FE' (which returns the study itself)"))
    if issues:
        raise DataError(issues)
    return Studies(y=y, se=se, labels=_unique(names))


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    """Make repeated labels unique by numbering the repeats: 'A', 'A (2)'."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return tuple(out)


def _column_design(name: str, col: pd.Series, labels: tuple[str, ...],
                   issues: list[Issue]) -> tuple[list[np.ndarray], list[str]]:
    """Numeric and boolean columns as they are; text or categorical ones as 0/1 indicators
    of every level but the first (the reference level, as R's treatment contrasts)."""
    missing = col.isna().to_numpy()
    for i in np.flatnonzero(missing):
        issues.append(Issue(f"study '{labels[i]}': moderator '{name}' is missing", path=f"moderators.{name}[{i}]",
                            hint="supply the value or leave the study out"))
    if missing.any():
        return [], []
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        x = col.to_numpy(dtype=float)
        bad = ~np.isfinite(x)
        for i in np.flatnonzero(bad):
            issues.append(Issue(f"study '{labels[i]}': moderator '{name}' is infinite", path=f"moderators.{name}[{i}]"))
        return [x], [name]
    cat = col.astype("category")
    levels = list(cat.cat.categories)
    if len(levels) < 2:
        issues.append(Issue(f"moderator '{name}' has a single level ({levels[0]!r}) and cannot explain anything",
                            path=f"moderators.{name}", hint="drop the column"))
        return [], []
    values = cat.to_numpy()
    return ([(values == lev).astype(float) for lev in levels[1:]],
            [f"{name}[{lev}]" for lev in levels[1:]])


def moderator_matrix(moderators: pd.DataFrame | Mapping[str, Any], columns: Sequence[str] | None,
                     labels: tuple[str, ...], intercept: bool = True) -> tuple[np.ndarray, tuple[str, ...]]:
    """Build the design matrix of a meta-regression from named moderator columns.

    Rows are taken in the order of the studies (a DataFrame's index is not used to align).
    Numeric and boolean columns enter as they are; a text or categorical column enters as
    indicators of its levels after the first. No formula strings are parsed.

    Returns
    -------
    X : ndarray, shape (k, p)
        The design matrix, with a leading column of ones when ``intercept``.
    names : tuple of str
        Column names of ``X`` (``"intercept"`` first when present).
    """
    issues: list[Issue] = []
    k = len(labels)
    frame = moderators if isinstance(moderators, pd.DataFrame) else pd.DataFrame(dict(moderators))
    chosen = list(frame.columns) if columns is None else list(columns)
    unknown = [c for c in chosen if c not in frame.columns]
    for c in unknown:
        issues.append(Issue(f"moderator '{c}' is not a column of the moderators", path=f"moderators.{c}",
                            hint="columns are: " + ", ".join(map(str, frame.columns))))
    if not chosen:
        issues.append(Issue("no moderators were given", path="moderators", hint="use pool() for no moderators"))
    if len(frame) != k:
        issues.append(Issue(f"the moderators have {len(frame)} rows but there are {k} studies", path="moderators"))
    if issues:
        raise DataError(issues)
    cols: list[np.ndarray] = [np.ones(k)] if intercept else []
    names: list[str] = ["intercept"] if intercept else []
    for c in chosen:
        xs, ns = _column_design(str(c), frame[c].reset_index(drop=True), labels, issues)
        cols.extend(xs)
        names.extend(ns)
    if issues:
        raise DataError(issues)
    X = np.column_stack(cols)
    p = X.shape[1]
    if np.linalg.matrix_rank(X) < p:
        issues.append(Issue("the moderators are collinear (one is a combination of the others or constant): "
                            + ", ".join(names), path="moderators", hint="drop a redundant column"))
    elif k - p < 1:
        issues.append(Issue(f"{p} coefficients cannot be estimated from {k} studies with any residual degrees "
                            "of freedom", path="moderators", hint="use fewer moderators"))
    if issues:
        raise DataError(issues)
    return X, tuple(names)
