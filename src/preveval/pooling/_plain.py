"""Plain JSON values and short number formats shared by the pooling results."""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

__all__ = ["fmt", "fmt_p", "none_if_nan", "plain", "record_dict"]


def none_if_nan(x: float | None) -> float | None:
    """``None`` for a missing, NaN or infinite number, else the float."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def plain(value: Any) -> Any:
    """Convert to JSON-ready Python: tuples and arrays to lists, NumPy scalars to Python
    numbers, NaN and infinities to ``None``."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return none_if_nan(float(value))
    return value


def record_dict(record: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of a frozen dataclass as plain JSON values."""
    assert is_dataclass(record)
    return {f.name: plain(getattr(record, f.name)) for f in fields(record) if f.name not in skip}


def fmt(x: float | None, digits: int = 4) -> str:
    """A number to ``digits`` decimals, or 'NA'."""
    return "NA" if none_if_nan(x) is None else f"{x:.{digits}f}"


def fmt_p(p: float | None) -> str:
    """A p-value as metafor prints it: 'p < .0001' below 1e-4, else four decimals."""
    if none_if_nan(p) is None:
        return "p = NA"
    assert p is not None
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.4f}"
