"""The evaluation pack: report sections, Markdown and HTML, figures, tables and the atomic writer.

:func:`write_pack` writes an :class:`~preveval.results.evaluation.EvaluationResult` into a
folder. The writers read result records only; they never fit a model. ``write_pack`` is
imported on first use, so that a module of the pack (the neutralising of text the command
line prints) does not load the writer.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from preveval.pack.writer import write_pack

__all__ = ["write_pack"]


def __getattr__(name: str) -> Any:
    if name == "write_pack":
        from preveval.pack.writer import write_pack

        return write_pack
    raise AttributeError(f"module 'preveval.pack' has no attribute {name!r}")
