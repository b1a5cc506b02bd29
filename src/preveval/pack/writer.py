"""Write an evaluation pack so that nothing is lost and nothing is left half-done.

The pack is built in a temporary folder ``.<name>.tmp-XXXXXXXX`` beside the target; every
file goes through :func:`put_file` (written, synced) and the manifest
(:mod:`preveval.pack.manifest`) is written last. Then, with the target locked
(:func:`~preveval.pack.target.claim_target`):

* no pack yet: one rename puts the new pack in place;
* a pack there: it is checked once more (it must hold only the files its manifest lists,
  unchanged), renamed to ``.<name>.old-XXXXXXXX/pack``, checked again there (a file
  dropped into it at the last moment puts it back and stops the run), the new pack is
  renamed into place, and the old one is renamed to ``.<name>.del-XXXXXXXX`` and deleted.

Whichever step a run is killed at, the next run's recovery finds either the old pack or
the complete new one and puts it in place (:func:`~preveval.pack.target.recover`). A
write error (a full disk, say) is a :class:`~preveval.errors.PackError` naming the file;
the temporary folder is removed and the earlier pack is left as it was.

Test hook: when the environment variable ``PREVEVAL_TEST_PAUSE_BETWEEN_RENAMES`` names a
file, the writer creates that file between the two renames of a replacement and waits
(up to a minute) until it is deleted. It exists only so that the tests can kill a run at
the most delicate moment; nothing else reads it.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preveval.errors import PackError
from preveval.pack.manifest import MANIFEST, manifest_bytes, survey
from preveval.pack.neutralise import escape_controls, neutralise_frame
from preveval.pack.render import render_html, render_markdown
from preveval.pack.section import Section, TableItem
from preveval.pack.target import Target, check_target, claim_target, os_problem, refuse_plan
from preveval.provenance import version

if TYPE_CHECKING:
    from preveval.results.evaluation import EvaluationResult

__all__ = ["check_target", "figure_png", "figure_svg", "noted_box", "put_file", "table_csv", "write_folder", "write_pack"]

PAUSE_ENV = "PREVEVAL_TEST_PAUSE_BETWEEN_RENAMES"
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")


def noted_box(fig: Any, note: str) -> Any:
    """Add the source note under the figure (:func:`~preveval.pack.style.add_source_note`) and
    return the padded tight bounding box ``savefig(bbox_inches="tight")`` would then use, worked
    out once so that the PNG and the SVG need one drawing each (matplotlib lays a figure out
    again for every "tight" save): the note is placed under the figure's tight box and the box
    widened by the note's own extent (what ``get_tightbbox`` would add for it). The box is
    measured without drawing the figure first (``get_tightbbox`` updates ticks and lays out
    text itself; the pack's figures place nothing at draw time, tested byte for byte against
    a drawn layout pass in tests/pack/test_figure_box.py). ``"tight"`` itself where the figure
    has a layout engine or no Agg renderer."""
    import matplotlib as mpl
    from matplotlib.transforms import Bbox

    from preveval.pack.style import add_source_note, context

    get_renderer = getattr(fig.canvas, "get_renderer", None)
    if get_renderer is None or not _laid_out(fig):
        add_source_note(fig, note)
        return "tight"
    with context():
        renderer = get_renderer()
        box = fig.get_tightbbox(renderer)
        text = add_source_note(fig, note, box)
        if text is not None:
            box = Bbox.union([box, text.get_window_extent(renderer).transformed(fig.dpi_scale_trans.inverted())])
        return box.padded(mpl.rcParams["savefig.pad_inches"])


def _laid_out(fig: Any) -> bool:
    """The figure has no layout engine that would move things at the next drawing (none, or
    the placeholder ``fig.tight_layout()`` leaves behind, which does nothing)."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    return fig.get_layout_engine() is None or isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine)


@contextlib.contextmanager
def _fixed_layout(fig: Any, box: Any) -> Iterator[None]:
    """While a figure with a worked-out box is saved, hide the placeholder layout engine, whose
    mere presence makes ``savefig`` lay the figure out again (it does nothing else)."""
    engine = fig.get_layout_engine() if hasattr(fig, "get_layout_engine") else None
    if box == "tight" or engine is None or not hasattr(fig, "_layout_engine"):
        yield
        return
    fig._layout_engine = None
    try:
        yield
    finally:
        fig._layout_engine = engine


def figure_png(fig: object, box: Any = "tight") -> bytes:
    """A matplotlib figure as PNG bytes (no timestamp or software tag: byte-stable).

    zlib level 3, not Pillow's default 6: the same pixels, about a fifth less time to save
    and, for the pack's flat-colour charts, files no larger (measured on the flagship's 11
    figures: 845 KB against 859 KB)."""
    from preveval.pack.style import PNG_DPI, context

    buf = io.BytesIO()
    with context():
        fig.savefig(buf, format="png", dpi=PNG_DPI, metadata={"Software": None}, bbox_inches=box,  # type: ignore[attr-defined]
                    pil_kwargs={"compress_level": 3})
    return buf.getvalue()


def figure_svg(fig: object, box: Any = "tight") -> bytes:
    """A matplotlib figure as SVG bytes (glyphs as paths, fixed ids, no date: byte-stable)."""
    from preveval.pack.style import context

    buf = io.BytesIO()
    with context():
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None},  # type: ignore[attr-defined]
                    bbox_inches=box)
    return buf.getvalue()


def put_file(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist), write ``data`` and sync it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def table_csv(t: TableItem) -> bytes:
    """A table as CSV bytes, its text cells neutralised for spreadsheets (the one place tables are written)."""
    return neutralise_frame(t.frame).to_csv(index=False, lineterminator="\n").encode("utf-8")


def _all(sections: list[Section]) -> list[Section]:
    out = []
    for s in sections:
        out.append(s)
        out.extend(_all(s.subsections))
    return out


def write_pack(result: EvaluationResult, out: Path, *, progress: Callable[[str], None] | None = None,
               publish: bool = False) -> Path:
    """Write results.json, report.md, report.html, figures/, tables/ and the manifest into ``out``.

    ``publish``: disclosure control for publication (:mod:`preveval.pack.disclosure`): small
    counts from the data are suppressed in the tables and figures, and the report says
    what was suppressed and how; results.json is the same either way.

    Returns the pack's absolute path. Raises :class:`~preveval.errors.PackError` when the
    target cannot be used or written; the target is then exactly as it was.
    """
    with claim_target(out) as claim:
        t = claim.target
        refuse_plan(t)
        with staging_folder(t) as tmp:
            files = _write_into(result, tmp, t, progress, publish)
            _put(tmp, MANIFEST, manifest_bytes(files), t)
            _sync_dir(tmp)
            _install(tmp, t)
    return t.out


@contextlib.contextmanager
def staging_folder(t: Target) -> Iterator[Path]:
    """A new folder beside the target, as the user's umask would make it (``mkdtemp`` makes it
    private; a pack is an ordinary folder), removed again if anything fails inside."""
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{t.name}.tmp-", dir=t.parent))
    except OSError as exc:
        raise PackError(os_problem(t.show(t.parent), "create a temporary folder", exc)) from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_folder(out: Path, build: Callable[[Target], dict[str, bytes]],
                 check: Callable[[Target], None] | None = None) -> Path:
    """Write the files ``build(target)`` returns into ``out`` as a pack is written (any folder of
    files with a manifest, such as a plan): locked, built beside it, swapped in atomically.

    ``check(target)`` runs under the lock before anything is written (it may refuse the folder).
    """
    with claim_target(out) as claim:
        t = claim.target
        if check is not None:
            check(t)
        files = build(t)
        with staging_folder(t) as tmp:
            for rel, data in files.items():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                _put(tmp, rel, data, t)
            _put(tmp, MANIFEST, manifest_bytes(files), t)
            _sync_dir(tmp)
            _install(tmp, t)
    return t.out


def _put(d: Path, rel: str, data: bytes, t: Target) -> None:
    try:
        put_file(d / rel, data)
    except OSError as exc:
        raise PackError(os_problem(t.show(t.out / rel), "write the file", exc)
                         + f"; {t.show()} was left as it was") from None


def _write_into(result: EvaluationResult, d: Path, t: Target,
                progress: Callable[[str], None] | None, publish: bool = False) -> dict[str, bytes]:
    import matplotlib

    from preveval.pack.report import build_sections  # the section builders draw with matplotlib
    from preveval.pack.style import source_note

    matplotlib.use("Agg", force=False)
    # figures made through pyplot (a notebook's) are closed once written; the pack's own are
    # not pyplot's, so pyplot is never imported for them
    plt = sys.modules.get("matplotlib.pyplot")

    files: dict[str, bytes] = {}

    def put(rel: str, data: bytes) -> None:
        _put(d, rel, data, t)
        files[rel] = data

    for sub in ("figures", "tables"):
        try:
            (d / sub).mkdir()
        except OSError as exc:
            raise PackError(os_problem(t.show(t.out / sub), "create the folder", exc)) from None
    put("results.json", result.to_json().encode("utf-8"))
    if progress:
        progress("report sections")
    shown = result
    if publish:
        from preveval.pack.disclosure import disclose, disclosure_section, rules_of

        rules = rules_of(result.spec)
        shown, done = disclose(result, rules)
    sections = build_sections(shown)
    if publish:
        note = disclosure_section(rules, done)
        sections.insert(len(sections) - 1, note)  # before provenance
        sections[0].bullets.append(f"{note.title}: {note.headline}")
    # the data file as the evaluation names it (relative to it): no local folders in a figure
    note_text = source_note(result.spec.data.path, result.spec.initiative.name, version())
    pngs: dict[str, bytes] = {}
    svgs: dict[str, bytes] = {}
    paths: dict[str, str] = {}
    tables: set[str] = set()
    for sec in _all(sections):
        for f in sec.figures:
            if f.name in pngs:
                raise PackError(f"two figures are named {f.name}")
            _check_name(f.name, "figure")
            if progress:
                progress(f"figure {f.name}")
            box = noted_box(f.figure, escape_controls(note_text)) if hasattr(f.figure, "savefig") else "tight"
            with _fixed_layout(f.figure, box):
                pngs[f.name] = figure_png(f.figure, box)
                svgs[f.name] = figure_svg(f.figure, box)
            if plt is not None and hasattr(f.figure, "number"):
                plt.close(f.figure)
            put(f"figures/{f.name}.png", pngs[f.name])
            paths[f.name] = f"figures/{f.name}.png"
        for tab in sec.tables:
            _check_name(tab.name, "table")
            if tab.name in tables:
                raise PackError(f"two tables are named {tab.name}")
            tables.add(tab.name)
            put(f"tables/{tab.name}.csv", table_csv(tab))
    spec = result.spec
    title = f"{spec.initiative.name}: evaluation report"
    subtitle = _subtitle(result)
    put("report.md", render_markdown(title, sections, paths, pngs).encode("utf-8"))
    put("report.html", render_html(title, subtitle, sections, pngs, svgs).encode("utf-8"))
    return files


def _check_name(name: str, what: str) -> None:
    if not _FILE_NAME.fullmatch(name) or ".." in name:
        raise PackError(f"a {what} is named {escape_controls(name)!r}, which is not a safe file name")


def _sync_dir(d: Path) -> None:
    """Sync a folder's entries (a no-op where folders cannot be opened, as on Windows)."""
    for sub in (d / "figures", d / "tables", d):
        try:
            fd = os.open(sub, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def _pause_between_renames() -> None:
    """The test hook (see the module docstring)."""
    flag = os.environ.get(PAUSE_ENV)
    if not flag:
        return
    Path(flag).write_text(f"{os.getpid()}\n")
    deadline = time.monotonic() + 60
    while Path(flag).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def _install(tmp: Path, t: Target) -> None:
    """Put the finished pack in ``tmp`` at ``t.out``, replacing an earlier pack."""
    if not t.out.exists() and not t.out.is_symlink():
        try:
            os.rename(tmp, t.out)
        except OSError as exc:
            raise PackError(os_problem(t.show(), "move the new pack into place", exc)) from None
        _sync_dir(t.parent)
        return
    check_target(t)  # once more: files may have been added while the analyses ran
    try:
        old = Path(tempfile.mkdtemp(prefix=f".{t.name}.old-", dir=t.parent))
    except OSError as exc:
        raise PackError(os_problem(t.show(t.parent), "create a temporary folder", exc)) from None
    aside = old / "pack"
    try:
        os.rename(t.out, aside)
    except OSError as exc:
        old.rmdir()
        raise PackError(os_problem(t.show(), "move the earlier pack aside", exc)) from None
    try:
        s = survey(aside)
        if not (s.replaceable or (not s.has_manifest and not s.foreign)):
            raise _Changed  # something was added at the last moment: put it back, then say what
        _pause_between_renames()
        os.rename(tmp, t.out)
    except BaseException as exc:
        os.rename(aside, t.out)
        old.rmdir()
        if isinstance(exc, _Changed):
            check_target(t)  # raises with the list of what is there
            raise PackError(f"{t.show()}: the folder changed while the pack was being replaced; run again") from None
        if isinstance(exc, OSError):
            raise PackError(os_problem(t.show(), "move the new pack into place", exc)
                            + f"; {t.show()} was left as it was") from None
        raise
    _sync_dir(t.parent)
    trash = t.parent / f".{t.name}.del-{old.name[-8:]}"
    try:
        os.rename(old, trash)
    except OSError:
        trash = old
    shutil.rmtree(trash, ignore_errors=True)


class _Changed(Exception):
    """The earlier pack changed between the last check and the swap."""


def _subtitle(result: EvaluationResult) -> str:
    s = result.spec
    partners = ", ".join(p.name for p in s.initiative.partners)
    return (f"Made with preveval {version()} from {result.inputs.source}"
            + (f" — partners: {partners}" if partners else ""))
