"""The initiative library: evaluation-file templates, installed as ``preveval._templates``.

This file only makes the folder an importable package (so that
``importlib.resources.files("preveval._templates")`` works in editable installs too).
See README.md in this folder for the template format.
"""
