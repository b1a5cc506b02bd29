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


def start_helper() -> Any:
    """Start the helper process of :meth:`Evaluation.run` (a one-process spawn pool) and have it
    import the difference-in-differences and synthetic-control families meanwhile; ``None``
    where no process can be started. Stop it with :func:`stop_helper`."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # The helper keeps this process's BLAS threads: one thread changes the digits of some
    # results (OpenBLAS splits sums differently), and results must not depend on the route.
    try:
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        pool.submit(_warm_up)
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


def _warm_up() -> None:
    """The helper's first task: the imports its analyses will need (the spec's models and the
    families; :mod:`preveval.pipeline` follows when its first task is unpickled)."""
    for name in ("preveval.spec.models", "preveval.data.checks", "preveval.methods.did", "preveval.methods.synth"):
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


def likely_heavy(file: Path) -> bool:
    """A quick look at an evaluation file, before it is loaded: whether it has two analyses or
    more, one of them heavy as :func:`preveval.pipeline.heavy_analysis` judges (a synthetic
    control, or a staggered difference-in-differences of the default gaussian family); then
    the helper is worth starting early. Only a hint: :meth:`~preveval.pipeline.Evaluation.run`
    decides on the validated spec; anything unreadable here is ``False``."""
    try:
        import yaml

        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
        analyses = doc["analyses"]
        return len(analyses) >= 2 and any(
            a.get("method") == "synthetic_control"
            or (a.get("method") == "did" and a.get("design") == "staggered" and a.get("family", "gaussian") == "gaussian")
            for a in analyses)
    except Exception:  # noqa: BLE001 - a hint only; the evaluation's own checks report problems
        return False
