"""Estimation methods: pure functions from a spec and checked frames to frozen results.

A method never reads YAML, never imports matplotlib and never writes files. Interrupted
time series lives in :mod:`preveval.methods.its` (with its helpers ``its_*``).
"""
