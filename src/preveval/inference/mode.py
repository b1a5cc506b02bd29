"""Tests without intervals: the mode ``preveval plan`` fits its simulated data sets in.

A power study reads only each fit's p-value (and a standard error to scale its search), yet
the score bootstrap and the Poisson randomization test invert their test for a confidence
interval, dozens of restricted fits after the one the p-value needs. Inside
:func:`p_value_only` they skip the inversion and report no interval (``nan`` limits), with the
same p-value, bit for bit. Nothing else changes, and ``preveval run`` never enters this mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["intervals_wanted", "p_value_only"]

_P_VALUE_ONLY: ContextVar[bool] = ContextVar("preveval_p_value_only", default=False)


def intervals_wanted() -> bool:
    """False inside :func:`p_value_only`."""
    return not _P_VALUE_ONLY.get()


@contextmanager
def p_value_only() -> Iterator[None]:
    """Fit without inverting tests for intervals (the p-values are unchanged)."""
    token = _P_VALUE_ONLY.set(True)
    try:
        yield
    finally:
        _P_VALUE_ONLY.reset(token)
