"""``OUT/portfolio.json``: what a portfolio run did, evaluation by evaluation.

::

    {"format": "preveval-portfolio", "portfolio_version": 1, "preveval_version": "0.1.0",
     "directory": "evaluations/portfolio-road-safety", "out": "out", "scheduler": "...",
     "evaluations": [{"id": "road-safety-day-glenardoch", "file": ".../evaluation.yaml",
                      "loaded_as": ".../evaluation.yaml", "folder": "glenardoch",
                      "initiative": "road-safety-day", "status": "ok" | "invalid" | "failed",
                      "pack": "road-safety-day-glenardoch" | null,
                      "errors": ["FILE:LINE:COL: path: message (hint)"], "warnings": [...]}],
     "counts": {"ok": 11, "invalid": 1, "failed": 0},
     "hub": {"status": "ok", "path": "hub", "packs": 11, "pooled": 1, "mismatches": 0, "errors": []},
     "exit_code": 2}

Evaluations are listed in path order, not in the order they finished, and nothing holds a
clock time, so the same portfolio gives the same file. It is written atomically (a
temporary file beside it, then a rename) and replaces only a ``portfolio.json`` that
preveval wrote.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from preveval.errors import PackError
from preveval.provenance import version

__all__ = ["FORMAT", "PORTFOLIO_FILE", "check_record", "exit_code", "portfolio_bytes", "write_record"]

PORTFOLIO_FILE = "portfolio.json"
FORMAT = "preveval-portfolio"


def exit_code(outcomes: Sequence[Mapping[str, Any]], hub_status: str) -> int:
    """2 if any input was invalid (the hub folder included), else 1 if any failed, else 0."""
    statuses = [o["status"] for o in outcomes] + [hub_status]
    return 2 if "invalid" in statuses else (1 if "failed" in statuses else 0)


def portfolio_bytes(*, directory: str, out: str, scheduler: str, outcomes: Sequence[Mapping[str, Any]],
                    hub: Mapping[str, Any]) -> bytes:
    """The portfolio.json document."""
    evaluations = [{**o, "pack": o["id"] if o["status"] == "ok" else None} for o in outcomes]
    counts = {s: sum(o["status"] == s for o in outcomes) for s in ("ok", "invalid", "failed")}
    doc = {"format": FORMAT, "portfolio_version": 1, "preveval_version": version(), "directory": directory,
           "out": out, "scheduler": scheduler, "evaluations": evaluations, "counts": counts, "hub": dict(hub),
           "exit_code": exit_code(outcomes, str(hub["status"]))}
    return (json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def check_record(out: Path, shown: str) -> None:
    """Refuse to go on when ``out/portfolio.json`` exists and preveval did not write it."""
    p = out / PORTFOLIO_FILE
    if not (p.exists() or p.is_symlink()):
        return
    try:
        ok = p.is_file() and not p.is_symlink() and json.loads(p.read_bytes()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        ok = False
    if not ok:
        raise PackError(f"{shown}: holds a {PORTFOLIO_FILE} that preveval did not write; move it away or choose "
                        "another --out")


def write_record(out: Path, shown: str, data: bytes) -> None:
    """Write ``out/portfolio.json`` atomically (a synced temporary file, then a rename)."""
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{PORTFOLIO_FILE}.tmp-", dir=out)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the record is an ordinary file
        os.replace(tmp, out / PORTFOLIO_FILE)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise PackError(f"{shown}/{PORTFOLIO_FILE}: cannot write the file: {exc.strerror or exc}") from None
