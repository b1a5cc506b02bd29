"""Find the evaluations of a portfolio and give each its pack folder name.

Every ``evaluation.yaml`` under the portfolio folder is one evaluation (folders whose name
starts with a dot are skipped, symbolic links to folders are not followed), in sorted path
order. Its pack goes to ``OUT/<evaluation id>/``: the initiative id of its file, read with
the safe positioned loader (nothing is validated here; the run does that and reports every
problem); when several evaluations share an initiative id, each gets a suffix made from its
folder's path under the portfolio folder (``road-safety-day-glenardoch``). An id that
cannot be read, or is not a slug, falls back to the folder's name. Names still equal after
that (or equal to the reserved ``hub``, where the portfolio's hub goes) are numbered
``-2``, ``-3`` in path order.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from preveval.errors import DataError, Issue, PrevevalError
from preveval.spec.loader import load_yaml_file

__all__ = ["EVALUATION_FILE", "HUB_FOLDER", "Job", "discover", "slug"]

EVALUATION_FILE = "evaluation.yaml"
HUB_FOLDER = "hub"
_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@dataclass(frozen=True)
class Job:
    """One evaluation of the portfolio.

    ``file`` is the evaluation file as ``preveval run`` would be given it (the portfolio
    folder as the user wrote it, joined with the file's path under it); ``absolute`` the
    same made absolute, for workers running in another working folder; ``folder`` the
    file's folder relative to the portfolio folder (POSIX, ``.`` for the folder itself).
    """

    id: str
    file: str
    absolute: str
    folder: str
    initiative_id: str | None


def slug(text: str) -> str:
    """Lower-case letters, digits and single hyphens (``evaluation`` when nothing is left)."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s or "evaluation"


def _files(root: Path) -> list[Path]:
    found = []
    for d, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        if EVALUATION_FILE in files and os.path.isfile(os.path.join(d, EVALUATION_FILE)):
            found.append(Path(d) / EVALUATION_FILE)
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def _initiative_id(path: Path) -> str | None:
    try:
        data = load_yaml_file(path).data
    except (PrevevalError, OSError, UnicodeDecodeError):
        return None
    ini = data.get("initiative") if isinstance(data, dict) else None
    value = ini.get("id") if isinstance(ini, dict) else None
    return value if isinstance(value, str) and _SLUG.fullmatch(value) else None


def discover(directory: Path | str) -> list[Job]:
    """The evaluations under ``directory``, each with its pack folder name.

    Raises DataError when ``directory`` is not a folder or holds no evaluation file.
    """
    root = Path(directory)
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a folder"
        raise DataError([Issue(f"{what}; give the folder that holds the evaluations", file=str(directory))])
    files = _files(root)
    if not files:
        raise DataError([Issue(f"no {EVALUATION_FILE} in this folder or below it", file=str(directory),
                               hint="a portfolio is a folder with one sub-folder per evaluation")])
    rows = []
    for f in files:
        rel = f.parent.relative_to(root).as_posix()
        where = slug(Path(os.path.abspath(root)).name if rel == "." else rel)
        ini = _initiative_id(f)
        rows.append((f, rel, where, ini))
    counts: dict[str, int] = {}
    for _, _, where, ini in rows:
        counts[ini or where] = counts.get(ini or where, 0) + 1
    jobs, taken = [], {HUB_FOLDER}
    for f, rel, where, ini in rows:
        base = ini or where
        name = base if counts[base] == 1 or ini is None else f"{ini}-{where}"
        n, final = 1, name
        while final in taken:
            n += 1
            final = f"{name}-{n}"
        taken.add(final)
        jobs.append(Job(id=final, file=str(f), absolute=os.path.abspath(f), folder=rel, initiative_id=ini))
    return jobs
