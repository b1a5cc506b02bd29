"""Estimation methods, one package per design family.

A family is a package ``methods/<family>/`` whose ``__init__`` exposes its ``fit_<family>``
entry point and result type: :mod:`~preveval.methods.its` (interrupted time series) and
:mod:`~preveval.methods.did` (difference-in-differences). Its other modules are private to
it: nothing outside the family imports them. A method is pure: it never reads YAML, never
imports matplotlib and never writes files; it returns a record of :mod:`preveval.results`.
This package imports no family, so a run pays for the libraries of the families it uses.
"""
