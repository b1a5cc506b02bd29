"""Run a portfolio of evaluations on Dask, then build the hub over their packs.

By default the evaluations run on a ``dask.distributed`` :class:`~distributed.LocalCluster`
started for the run (worker processes, one thread each, ``workers`` of them: by default
as many as there are cores, at most one per evaluation; no set-up and no dashboard), or on
an existing cluster at a scheduler ``address`` (``tcp://host:8786``), whose workers must see
the portfolio and ``OUT`` folders at the same paths and run the same preveval and numerical
libraries (checked before anything runs: otherwise results would differ).

Each evaluation is one task, :func:`~preveval.portfolio.task.run_job`, which does exactly
what ``preveval run`` does, so every results.json is byte for byte that of a sequential
``preveval run FILE --out OUT/<id>``. Worker processes keep the caller's environment: the
nanny's usual cap of one BLAS/OpenMP thread per worker is left out, so that no numerical
library computes with another thread count than a sequential run would. A failing
evaluation (or a worker that dies under it) is recorded and the others go on.

While it runs, ``OUT/.portfolio.json.lock`` keeps a second portfolio run off the same
``OUT`` (each pack folder has its own lock too). Afterwards the hub is built over the packs
written in this run, at ``OUT/hub/``, and ``OUT/portfolio.json`` records every evaluation,
the hub and the exit code (:mod:`preveval.portfolio.record`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preveval.errors import PackError, PrevevalError
from preveval.pack.lock import PackLock
from preveval.portfolio.discover import HUB_FOLDER, Job, discover
from preveval.portfolio.record import (
    PORTFOLIO_FILE,
    check_record,
    exit_code,
    portfolio_bytes,
    write_record,
)
from preveval.portfolio.task import run_job

__all__ = ["PortfolioResult", "run_portfolio"]

Done = Callable[[dict[str, Any]], None]
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class PortfolioResult:
    """What a portfolio run did: one record per evaluation (path order), the hub, the exit code."""

    out: Path
    scheduler: str
    outcomes: tuple[dict[str, Any], ...]
    hub: dict[str, Any]
    exit_code: int
    hub_summary: Any = None


def _versions() -> dict[str, str | None]:
    """preveval's and the numerical libraries' versions in this process (run on every worker)."""
    from preveval.provenance import package_versions

    return dict(package_versions())


def _failed(job: Job, why: str) -> dict[str, Any]:
    return {"id": job.id, "file": job.file, "loaded_as": None, "folder": job.folder, "initiative": job.initiative_id,
            "status": "failed", "errors": [why], "warnings": []}


def _on_dask(jobs: Sequence[Job], out: str, cwd: str, workers: int | None, scheduler: str | None,
             on_done: Done | None) -> tuple[list[dict[str, Any]], str]:
    import logging

    import dask
    from distributed import Client, LocalCluster, as_completed

    environ = {k: v for k, v in dict(dask.config.get("distributed.nanny.pre-spawn-environ", {})).items()
               if k not in _THREAD_VARS}
    cluster = None
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        if scheduler:
            try:
                client = Client(scheduler, timeout="30s")
            except (OSError, TimeoutError) as exc:
                raise PrevevalError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
            where = f"Dask cluster at {scheduler}"
        else:
            n = workers or max(1, min(os.cpu_count() or 1, len(jobs)))
            try:
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)
                client = Client(cluster)
            except Exception as exc:  # noqa: BLE001 - the reason is in the message
                if cluster is not None:
                    cluster.close()
                raise PrevevalError(f"could not start a local Dask cluster of {n} workers ({type(exc).__name__}: "
                                    f"{exc})") from None
            where = f"local Dask cluster ({n} worker process{'es' if n != 1 else ''})"
    try:
        mine = _versions()
        theirs = client.run(_versions)
        odd = {w: v for w, v in theirs.items() if v != mine}
        if odd:
            w, v = next(iter(odd.items()))
            diff = ", ".join(f"{k} {v.get(k)} (here {mine.get(k)})" for k in sorted(set(v) | set(mine))
                             if v.get(k) != mine.get(k))
            raise PrevevalError(f"the worker {w} runs other versions ({diff}); its results would differ from "
                                "preveval run's: install the same versions on every worker")
        futures = {client.submit(run_job, job, out, cwd, key=f"preveval-{i:05d}-{job.id}", pure=False): job
                   for i, job in enumerate(jobs)}
        done: dict[str, dict[str, Any]] = {}
        for fut in as_completed(list(futures)):
            job = futures[fut]
            try:
                rec = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died under the evaluation
                rec = _failed(job, f"the worker running it failed ({type(exc).__name__}: {exc})")
            done[job.id] = rec
            if on_done:
                on_done(rec)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [done[j.id] for j in jobs], where


def _hub(out: Path, ok: Sequence[str]) -> tuple[dict[str, Any], Any]:
    from preveval.errors import InputError
    from preveval.hub import build_hub

    info: dict[str, Any] = {"status": "ok", "path": HUB_FOLDER, "packs": 0, "pooled": 0, "mismatches": 0,
                            "errors": []}
    try:
        s = build_hub([out / i for i in ok], out / HUB_FOLDER)
    except InputError as exc:
        return {**info, "status": "invalid", "errors": [i.format() for i in exc.issues]}, None
    except PackError as exc:
        return {**info, "status": "invalid", "errors": [str(exc)]}, None
    except Exception as exc:  # noqa: BLE001 - recorded; the packs are written either way
        return {**info, "status": "failed", "errors": [f"{type(exc).__name__}: {exc}"]}, None
    return {**info, "packs": len(s.packs), "pooled": s.n_pooled, "mismatches": s.n_mismatches}, s


def run_portfolio(directory: Path | str, out: Path | str, *, workers: int | None = None,
                  scheduler: str | None = None, on_start: Callable[[int], None] | None = None,
                  on_done: Done | None = None) -> PortfolioResult:
    """Run every evaluation under ``directory`` into ``out/<id>/``, then the hub into ``out/hub/``.

    ``workers``: worker processes of the local cluster; ``scheduler``: the address of an
    existing cluster instead (not both). ``on_start(n)`` is called with the number of
    evaluations, ``on_done(record)`` as each finishes. Raises DataError when ``directory``
    holds no evaluation, PackError when ``out`` cannot be used, PrevevalError when the
    cluster cannot be used; a problem of one evaluation is in its record instead.
    """
    if workers is not None and scheduler is not None:
        raise ValueError("give the number of local workers or the address of a scheduler, not both")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    jobs = discover(directory)
    root = Path(os.path.abspath(out))
    shown = str(out)
    if root.exists() and not root.is_dir():
        raise PackError(f"{shown}: exists and is not a folder; choose another --out")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PackError(f"{shown}: cannot create the folder: {exc.strerror or exc}") from None
    with PackLock(root / f".{PORTFOLIO_FILE}.lock", f"{shown}/{PORTFOLIO_FILE}"):
        check_record(root, shown)
        if on_start:
            on_start(len(jobs))
        outcomes, where = _on_dask(jobs, str(root), os.path.abspath(os.getcwd()), workers, scheduler, on_done)
        hub, summary = _hub(root, [o["id"] for o in outcomes if o["status"] == "ok"])
        write_record(root, shown, portfolio_bytes(directory=str(directory), out=shown, scheduler=where,
                                                  outcomes=outcomes, hub=hub))
    return PortfolioResult(root, where, tuple(outcomes), hub, exit_code(outcomes, hub["status"]), summary)
