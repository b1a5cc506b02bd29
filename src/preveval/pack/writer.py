"""Write an evaluation pack atomically.

Everything is built in a temporary folder beside the target and renamed into place only
when complete, so a failed run leaves the target exactly as it was. An existing folder is
replaced only when it is empty or is itself a pack (it has a results.json): preveval
never deletes a folder of someone else's files.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from preveval.errors import PackError
from preveval.pack.render import render_html, render_markdown
from preveval.pack.section import Section
from preveval.provenance import version

if TYPE_CHECKING:
    from preveval.results.evaluation import EvaluationResult

__all__ = ["check_target", "figure_png", "write_pack"]


def figure_png(fig: object) -> bytes:
    """A matplotlib figure as PNG bytes (no timestamp or software tag: byte-stable)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")  # type: ignore[attr-defined]
    return buf.getvalue()


def _all(sections: list[Section]) -> list[Section]:
    out = []
    for s in sections:
        out.append(s)
        out.extend(_all(s.subsections))
    return out


def check_target(out: Path) -> None:
    """Refuse a target that is a file or a non-empty folder that is not a pack."""
    if out.exists():
        if not out.is_dir():
            raise PackError(f"{out}: exists and is not a folder; choose another --out")
        if any(out.iterdir()) and not (out / "results.json").is_file():
            raise PackError(f"{out}: the folder is not empty and is not a preveval pack; "
                            "choose a new or empty folder for --out")


def write_pack(result: EvaluationResult, out: Path, *, progress: Callable[[str], None] | None = None) -> Path:
    """Write results.json, report.md, report.html, figures/ and tables/ into ``out``."""
    check_target(out)
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PackError(f"{parent}: cannot create the folder: {exc.strerror}") from None
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a pack is an ordinary folder
    try:
        _write_into(result, tmp, progress)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.rename(out, old / "pack")
            try:
                os.rename(tmp, out)
            except OSError:
                os.rename(old / "pack", out)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_into(result: EvaluationResult, d: Path, progress: Callable[[str], None] | None) -> None:
    import matplotlib

    from preveval.pack.report import build_sections  # the section builders draw with matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import pyplot as plt

    (d / "figures").mkdir()
    (d / "tables").mkdir()
    (d / "results.json").write_text(result.to_json(), encoding="utf-8")
    if progress:
        progress("report sections")
    sections = build_sections(result)
    pngs: dict[str, bytes] = {}
    paths: dict[str, str] = {}
    for sec in _all(sections):
        for f in sec.figures:
            if f.name in pngs:
                raise PackError(f"two figures are named {f.name}")
            pngs[f.name] = figure_png(f.figure)
            plt.close(f.figure) if hasattr(f.figure, "number") else None
            (d / "figures" / f"{f.name}.png").write_bytes(pngs[f.name])
            paths[f.name] = f"figures/{f.name}.png"
        for t in sec.tables:
            t.frame.to_csv(d / "tables" / f"{t.name}.csv", index=False, lineterminator="\n")
    spec = result.spec
    title = f"{spec.initiative.name}: evaluation report"
    subtitle = _subtitle(result)
    (d / "report.md").write_text(render_markdown(title, sections, paths), encoding="utf-8")
    (d / "report.html").write_text(render_html(title, subtitle, sections, pngs), encoding="utf-8")


def _subtitle(result: EvaluationResult) -> str:
    s = result.spec
    partners = ", ".join(p.name for p in s.initiative.partners)
    return (f"Made with preveval {version()} from {result.inputs.source}"
            + (f" — partners: {partners}" if partners else ""))


