"""Shared pieces of the evaluation-file models: the frozen base model, field types, coercions."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "INT64_MAX", "Column", "FilePath", "Ident", "Model", "PeriodText", "Probability", "Seed", "Slug",
    "period_text", "unit_names",
]

INT64_MAX = 2**63 - 1

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=80)]
Ident = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$", min_length=1, max_length=80)]
Column = Annotated[str, Field(min_length=1, max_length=200)]
PeriodText = Annotated[str, Field(min_length=1, max_length=40)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
#: A random seed: numpy's generators take integers of zero or more; int64 keeps it portable.
Seed = Annotated[int, Field(ge=0, le=INT64_MAX)]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _plain_path(v: str) -> str:
    if m := _CONTROL.search(v):
        raise ValueError(f"a file path cannot hold control characters (found U+{ord(m[0]):04X} at "
                         f"character {m.start() + 1})")
    return v


#: A path written in the evaluation file: no NUL or other control characters, no longer than
#: any file system allows.
FilePath = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(_plain_path)]


class Model(BaseModel):
    """Base: unknown keys rejected, instances frozen, numbers finite.

    ``allow_inf_nan=False`` refuses ``.inf``, ``-.inf`` and ``.nan`` in every float field of
    every model, with the position of the value, before a validator or a method can trip on
    them (``int(inf)``, a loop up to infinity).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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
