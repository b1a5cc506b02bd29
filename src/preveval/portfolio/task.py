"""One evaluation of a portfolio, as a worker runs it: exactly what ``preveval run`` does.

:func:`run_job` goes through the public API: it loads the evaluation file with
:func:`preveval.load`, runs it and writes its pack with :func:`preveval.pack.write_pack`
into ``OUT/<id>/``, so its seeds, results and pack are those of ``preveval run FILE --out
OUT/<id>``. It never raises for a problem of the evaluation: it returns a plain record
(picklable, small) with the status

* ``ok``: the pack is written;
* ``invalid``: the file or its data failed validation, or the pack folder cannot be used
  (``preveval run`` exits with 2), with every problem as ``FILE:LINE:COL: path: message``;
* ``failed``: anything else went wrong (``preveval run`` exits with 1).

The file is loaded by the path the user would give ``preveval run`` when the worker runs in
the caller's working folder (so that results.json names the data file the same way), and by
its absolute path otherwise (a worker of a cluster started elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from preveval.errors import InputError, PackError, PrevevalError
from preveval.portfolio.discover import Job

__all__ = ["run_job"]


def run_job(job: Job, out: str, cwd: str) -> dict[str, Any]:
    """Run one evaluation into ``out/<job.id>`` (``out`` absolute); the record of how it went."""
    import preveval
    from preveval.pack import write_pack

    file = job.file if os.path.abspath(os.getcwd()) == cwd else job.absolute
    record: dict[str, Any] = {"id": job.id, "file": job.file, "loaded_as": file, "folder": job.folder,
                              "initiative": job.initiative_id, "status": "ok", "errors": [], "warnings": []}
    try:
        ev = preveval.load(file)
        record["initiative"] = ev.spec.initiative.id
        record["warnings"] = [w.format() for w in ev.warnings]
        result = ev.run()
        write_pack(result, Path(out) / job.id)
    except InputError as exc:
        record.update(status="invalid", errors=[i.format() for i in exc.issues if i.level == "error"]
                      or [str(exc)])
    except PackError as exc:
        record.update(status="invalid", errors=[str(exc)])
    except PrevevalError as exc:
        record.update(status="failed", errors=[str(exc)])
    except Exception as exc:  # noqa: BLE001 - one evaluation's crash must not stop the others
        record.update(status="failed", errors=[f"internal error ({type(exc).__name__}: {exc})"])
    return record
