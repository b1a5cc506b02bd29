"""The evaluation file: pydantic models, the positioned YAML loader and the cross-reference rules.

:mod:`~preveval.spec.models` holds the models (the public contract of ``DESIGN.md``),
:mod:`~preveval.spec.loader` the safe loader that keeps the line and column of every node,
:mod:`~preveval.spec.validate` the translation of errors into positioned issues and the
rules that need more than one field.
"""
