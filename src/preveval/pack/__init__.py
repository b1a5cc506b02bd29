"""The evaluation pack: report sections, Markdown and HTML, figures, tables and the atomic writer.

:func:`write_pack` writes an :class:`~preveval.results.evaluation.EvaluationResult` into a
folder. The writers read result records only; they never fit a model.
"""

from preveval.pack.writer import write_pack

__all__ = ["write_pack"]
