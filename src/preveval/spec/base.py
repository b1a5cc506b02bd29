"""Shared pieces of the evaluation-file models: the frozen base model, field types, coercions."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Column", "Ident", "Model", "PeriodText", "Probability", "Slug", "period_text", "unit_names"]

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=80)]
Ident = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$", min_length=1, max_length=80)]
Column = Annotated[str, Field(min_length=1, max_length=200)]
PeriodText = Annotated[str, Field(min_length=1, max_length=40)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Model(BaseModel):
    """Base: unknown keys rejected, instances frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def unit_names(v: object) -> object:
    # Unit names may be written as numbers (council codes); they are kept as text. A single
    # name may stand for a list of one.
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        v = (v,)
    if isinstance(v, (list, tuple)):
        return tuple(str(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x for x in v)
    return v


def period_text(v: object) -> object:
    # YAML gives 2005 as an int; periods are kept as text.
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v
