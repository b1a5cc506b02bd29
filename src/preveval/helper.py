"""The helper process of :meth:`preveval.pipeline.Evaluation.run`: one spawned process that fits
the heavy analyses while the main process fits the others.

Kept apart from :mod:`preveval.pipeline` (and free of pandas) so that ``preveval run`` can start
it before it imports anything heavy: the helper's own start-up then overlaps the main
process's.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

__all__ = ["free_workers", "likely_heavy", "start_helper", "stop_helper"]


#: statsmodels' structural time-series models: what an ITS's structural fit (or sensitivity
#: row) imports, about 0.5 s (scipy.stats with it).
STATESPACE = "statsmodels.tsa.statespace.structural"


def start_helper(statespace: bool = False) -> Any:
    """Start the helper process of :meth:`Evaluation.run` (a one-process spawn pool) and have it
    import the difference-in-differences and synthetic-control families meanwhile (and, with
    ``statespace``, the ITS family and statsmodels' structural models); ``None`` where no
    process can be started. Stop it with :func:`stop_helper`."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # The helper keeps this process's BLAS threads: one thread changes the digits of some
    # results (OpenBLAS splits sums differently), and results must not depend on the route.
    try:
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        pool.submit(_warm_up, statespace)
    except (OSError, RuntimeError):  # no processes to be had here: fit everything in this one
        return None
    return pool


def stop_helper(pool: Any, *, wait: bool = True) -> None:
    """Shut the helper down (``wait=False``: without waiting for the work it is doing)."""
    if pool is None:
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())  # gone after shutdown
    pool.shutdown(wait=wait, cancel_futures=True)
    if not wait:
        for proc in procs:
            proc.terminate()


def _warm_up(statespace: bool = False) -> None:
    """The helper's first task: the imports its analyses will need (the spec's models and the
    families; :mod:`preveval.pipeline` follows when its first task is unpickled)."""
    names = ["preveval.spec.models", "preveval.data.checks"]
    if statespace:
        names += ["preveval.methods.its", STATESPACE]
    for name in [*names, "preveval.methods.did", "preveval.methods.synth"]:
        importlib.import_module(name)


def free_workers() -> int:
    """Processes ``preveval run`` uses: 1 unless the environment variable ``PREVEVAL_WORKERS`` is
    2 (and the machine has two cores or more).

    The helper is opt-in because it has not been shown to pay: it costs a process start-up
    (about 1.5 s of CPU, mostly imports) and, measured on a shared 2-core machine (load 2-5),
    the flagship ran 0.7 s faster in two pairs and 1-3 s slower in the others. Results are
    byte-identical either way.
    """
    import os

    cores = os.cpu_count() or 1
    return 2 if cores >= 2 and os.environ.get("PREVEVAL_WORKERS", "").strip() == "2" else 1


def likely_heavy(file: Path) -> tuple[bool, bool]:
    """A quick look at an evaluation file, before it is loaded: ``(heavy, statespace)``: whether
    it has two analyses or more, one of them heavy as :func:`preveval.pipeline.heavy_analysis`
    judges (a synthetic control, a staggered difference-in-differences of the default gaussian
    family, or an ITS fitting a structural time-series model, as its sensitivity table does by
    default), so that the helper is worth starting early; and whether an ITS of those is there
    (the helper then imports statsmodels' structural models meanwhile). Only a hint:
    :meth:`~preveval.pipeline.Evaluation.run` decides on the validated spec; anything unreadable
    here is ``(False, False)``."""
    try:
        import yaml

        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
        analyses = doc["analyses"]
        its = [a for a in analyses if a.get("method") == "its" and (
            a.get("estimator") == "structural"
            or (a.get("sensitivity", True) is not False and a.get("estimator", "segmented") == "segmented"
                and a.get("comparison") is None))]
        heavy = len(analyses) >= 2 and (bool(its) or any(
            a.get("method") == "synthetic_control"
            or (a.get("method") == "did" and a.get("design") == "staggered" and a.get("family", "gaussian") == "gaussian")
            for a in analyses))
        return heavy, heavy and bool(its)
    except Exception:  # noqa: BLE001 - a hint only; the evaluation's own checks report problems
        return False, False
