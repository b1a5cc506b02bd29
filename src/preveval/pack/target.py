"""Where a pack goes: checks before any fitting, the lock, and recovery after a crash.

:func:`claim_target` is what ``preveval run`` does before it fits anything and what
:func:`~preveval.pack.writer.write_pack` does again before it writes:

1. :func:`resolve_target`: the path made absolute; refused when it is the root, the current
   folder (or one holding it), a symbolic link (dangling or not), or a name too long for
   the file system once preveval's temporary suffix (14 bytes) is added;
2. the parent folders are created (and removed again if the run fails and they are empty);
3. the lock beside the target is taken (:mod:`preveval.pack.lock`);
4. :func:`recover` puts back what an interrupted run left (see below);
5. :func:`check_target`: an existing ``--out`` must be a folder that is empty or a pack
   holding nothing but the files its manifest lists, unchanged (:mod:`preveval.pack.manifest`);
6. :func:`probe`: a 64 KiB probe file is written, synced and removed in the parent folder,
   so a read-only folder or a full disk is found before the fit, not after it.

Every problem is a :class:`~preveval.errors.PackError` (exit code 2) that starts with the
path it is about. Temporary names beside the target are ``.<name>.<kind>-XXXXXXXX``:
``tmp`` a pack being written, ``old`` the previous pack moved aside during the swap,
``del`` a previous pack being deleted, ``prb`` the probe, ``stl`` a stale lock being
taken over. No other name is ever deleted.

Recovery, under the lock, after a run was killed:

* ``--out`` missing and an ``old`` folder holds the previous pack: it is moved back (the
  interrupted run is rolled back; the old pack is never lost);
* ``--out`` missing, no previous pack, and a ``tmp`` folder holds a complete pack (its
  manifest written, every file as listed): it is moved into place (rolled forward);
* an ``old`` pack beside a complete ``--out`` is deleted only when it too is complete
  (a pack preveval wrote, unchanged); otherwise it is kept and a note says where;
* other ``tmp``, ``del``, ``prb`` and ``stl`` leftovers are removed.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from preveval.errors import PackError
from preveval.pack.lock import PackLock
from preveval.pack.manifest import MANIFEST, is_complete, survey

__all__ = ["NAME_EXTRA", "Claim", "Target", "check_target", "claim_target", "probe", "recover", "resolve_target"]

NAME_EXTRA = 14  # ".<name>.tmp-XXXXXXXX" is 14 bytes longer than <name>
PROBE_BYTES = 64 * 1024
_HINTS = {
    errno.EACCES: "you have no write permission there; choose another --out",
    errno.EPERM: "you have no write permission there; choose another --out",
    errno.EROFS: "the file system is read-only; choose another --out",
    errno.ENOSPC: "the disk is full; free some space or choose another --out",
    errno.EDQUOT: "your disk quota is used up; free some space or choose another --out",
    errno.ENAMETOOLONG: "the path is too long; choose a shorter --out",
}


def os_problem(path: Path | str, what: str, exc: OSError) -> str:
    """``PATH: cannot <what>: <reason> (<hint>)`` for an OSError."""
    hint = _HINTS.get(exc.errno or 0)
    return f"{path}: cannot {what}: {exc.strerror or exc}" + (f" ({hint})" if hint else "")


@dataclass(frozen=True)
class Target:
    """An output folder: its absolute path, parent and name, and the path as the user gave it."""

    out: Path
    given: str = ""

    def show(self, p: Path | None = None) -> str:
        """``p`` (default: the pack) as the user would write it, for messages."""
        p = self.out if p is None else p
        base = Path(self.given).parent if self.given else self.parent
        try:
            rel = p.relative_to(self.parent)
        except ValueError:
            return str(p)
        if str(rel) == ".":
            return str(self.parent) if str(base) == "." else str(base)
        return str(rel) if str(base) == "." else str(base / rel)

    @property
    def parent(self) -> Path:
        """The folder that holds the pack, its lock and its temporary folders."""
        return self.out.parent

    @property
    def name(self) -> str:
        """The pack folder's own name."""
        return self.out.name

    @property
    def lock_path(self) -> Path:
        """``.<name>.lock`` beside the pack."""
        return self.parent / f".{self.name}.lock"

    def temporaries(self, *kinds: str) -> list[Path]:
        """preveval's own temporary entries beside the pack, of the given kinds."""
        pattern = re.compile(rf"\.{re.escape(self.name)}\.({'|'.join(kinds)})-[a-z0-9_]{{8}}")
        try:
            names = sorted(os.listdir(self.parent))
        except OSError:
            return []
        return [self.parent / n for n in names if pattern.fullmatch(n)]


@dataclass
class Claim:
    """A target checked, locked and recovered; ``notes`` say what recovery did."""

    target: Target
    notes: list[str] = field(default_factory=list)


def resolve_target(out: Path | str) -> Target:
    """Make ``out`` absolute and refuse the paths preveval cannot replace safely."""
    given = str(out)
    absolute = Path(os.path.abspath(out))
    if not absolute.name:
        raise PackError(f"{given}: give a folder for the pack, not the root of the file system")
    n = len(os.fsencode(absolute.name))
    limit = _name_max(absolute.parent) - NAME_EXTRA
    if n > limit:
        raise PackError(f"{given}: the folder name is {n} bytes long; at most {limit} fit (the file system allows "
                        f"{limit + NAME_EXTRA} and preveval needs {NAME_EXTRA} more for its temporary folder "
                        f".<name>.tmp-XXXXXXXX); choose a shorter --out")
    try:
        here = Path.cwd().resolve()
    except OSError:
        here = None
    real = Path(os.path.realpath(absolute))
    if here is not None and (real == here or real in here.parents):
        raise PackError(f"{given}: this is the current folder (or holds it); run preveval from outside it "
                        "or choose another --out")
    if absolute.is_symlink():
        link = os.readlink(absolute)
        if not absolute.exists():
            raise PackError(f"{given}: is a symbolic link to {link}, which does not exist; remove the link or "
                            "choose another --out")
        raise PackError(f"{given}: is a symbolic link (to {link}); preveval replaces the folder itself, so give "
                        "the real folder or choose another --out")
    return Target(absolute, given)


def _name_max(d: Path) -> int:
    while not os.path.isdir(d) and d != d.parent:
        d = d.parent
    try:
        return int(os.pathconf(d, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def check_target(out: Path | str | Target) -> Target:
    """Refuse a target that is a file, or a folder holding anything preveval did not write.

    An empty folder, or a pack whose every file is listed unchanged in its manifest, may
    be replaced. Nothing is locked or changed here.
    """
    t = out if isinstance(out, Target) else resolve_target(out)
    p, shown = t.out, t.show()
    if not p.exists():
        return t
    if not p.is_dir():
        raise PackError(f"{shown}: exists and is not a folder; choose another --out")
    try:
        s = survey(p)
    except OSError as exc:
        raise PackError(os_problem(shown, "look inside the folder", exc)) from None
    if s.replaceable:
        return t
    if not s.has_manifest:
        if not s.foreign:
            return t  # an empty folder
        raise PackError(f"{shown}: the folder is not empty and is not a preveval pack (it has no {MANIFEST}, so "
                        f"preveval cannot tell its files from yours); it holds {_listing(s.foreign)}. preveval only "
                        "replaces folders it wrote itself: move these away or choose a new or empty folder for --out")
    if s.foreign or s.changed:
        parts = []
        if s.foreign:
            parts.append(f"files preveval did not write: {_listing(s.foreign)}")
        if s.changed:
            parts.append(f"files changed since preveval wrote them: {_listing(s.changed)}")
        raise PackError(f"{shown}: preveval will not replace this pack, because it holds " + "; and ".join(parts)
                        + ". Move them out of the folder (or choose another --out) and run again")
    raise PackError(f"{shown}: cannot replace the pack: no write permission in {_listing(s.locked)} "
                    "(choose another --out)")


def refuse_plan(t: Target) -> None:
    """Refuse a folder holding a plan (``preveval plan``): a pack would replace it, and an
    evaluation's ``contribution.plan`` may read it."""
    from preveval.pack.manifest import read_manifest

    if t.out.is_dir():
        listed = read_manifest(t.out)
        if listed is not None and "plan.json" in listed:
            raise PackError(f"{t.show()}: holds a plan written by preveval plan, not a pack; writing the pack there "
                            "would replace the plan: choose another --out for the pack")


def _listing(items: list[str], most: int = 8) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def probe(t: Target) -> None:
    """Write, sync and remove a probe file beside the target: PackError when that fails."""
    try:
        fd, path = tempfile.mkstemp(prefix=f".{t.name}.prb-", dir=t.parent)
    except OSError as exc:
        raise PackError(os_problem(t.show(t.parent), "write in this folder", exc)) from None
    try:
        try:
            view = memoryview(bytes(PROBE_BYTES))
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise PackError(os_problem(t.show(t.parent), "write in this folder", exc)) from None
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def recover(t: Target) -> list[str]:
    """Undo or finish what an interrupted run left beside ``t``; the notes say what was done.

    Call with the lock held. The rules are in the module docstring.
    """
    notes: list[str] = []
    olds = t.temporaries("old")
    tmps = t.temporaries("tmp")
    if not t.out.exists() and not t.out.is_symlink():
        aside = [o / "pack" for o in olds if (o / "pack").is_dir() and not (o / "pack").is_symlink()]
        if aside:
            best = max(aside, key=lambda p: (is_complete(p), p.stat().st_mtime_ns))
            _rename(best, t, "put back the earlier pack")
            notes.append(f"{t.show()}: an interrupted run had moved this pack aside to {best.parent.name}; "
                         "it is back in place")
        else:
            done = [d for d in tmps if is_complete(d)]
            if done:
                best = max(done, key=lambda p: p.stat().st_mtime_ns)
                _rename(best, t, "move the finished pack into place")
                tmps.remove(best)
                notes.append(f"{t.show()}: an interrupted run had written this pack completely but not moved it "
                             "into place; it is now in place")
    out_complete = is_complete(t.out)
    for o in olds:
        pack = o / "pack"
        if pack.exists() or pack.is_symlink():
            if out_complete and is_complete(pack):
                _remove_tree(o, t, notes)
            else:
                notes.append(f"{t.show(pack)}: an earlier folder that an interrupted run had moved aside is kept here, "
                             "because preveval cannot show it wrote every file in it; look through it and "
                             "delete it yourself")
            continue
        try:
            o.rmdir()
        except OSError:
            notes.append(f"{t.show(o)}: a temporary folder of an interrupted run is kept, because it is not empty")
    for d in [*tmps, *t.temporaries("del")]:
        _remove_tree(d, t, notes)
    for f in t.temporaries("prb", "stl"):
        try:
            f.unlink()
        except OSError:
            pass
    return notes


def _rename(src: Path, t: Target, what: str) -> None:
    try:
        os.rename(src, t.out)
    except OSError as exc:
        raise PackError(os_problem(t.show(), what + f" from {t.show(src)}", exc)) from None


def _remove_tree(d: Path, t: Target, notes: list[str]) -> None:
    shutil.rmtree(d, ignore_errors=True)
    if d.exists():
        notes.append(f"{t.show(d)}: could not remove this temporary folder of an earlier run; delete it yourself")


def _make_parents(parent: Path) -> list[Path]:
    """Create ``parent`` and the folders above it that are missing; the ones created."""
    missing: list[Path] = []
    d = parent
    while not d.is_dir():
        if d.is_symlink():
            raise PackError(f"{d}: is a symbolic link to {os.readlink(d)}, which does not exist; "
                            "remove the link or choose another --out")
        if d.exists():
            raise PackError(f"{d}: exists and is not a folder; choose another --out")
        missing.append(d)
        if d == d.parent:
            break
        d = d.parent
    created: list[Path] = []
    for m in reversed(missing):
        try:
            m.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            _remove_empty(created)
            raise PackError(os_problem(m, "create the folder", exc)) from None
        created.append(m)
    return created


def _remove_empty(created: list[Path]) -> None:
    for d in reversed(created):
        try:
            d.rmdir()
        except OSError:
            break


@contextmanager
def claim_target(out: Path | str) -> Iterator[Claim]:
    """Check, create, lock, recover and probe the target; release the lock on leaving.

    Parent folders created here are removed again on leaving when they are still empty
    (the run failed before it wrote the pack). Any OS error on the way is a PackError.
    """
    try:
        t = resolve_target(out)
        created = _make_parents(t.parent)
    except OSError as exc:
        raise PackError(os_problem(out, "use this folder", exc)) from None
    try:
        lock = PackLock(t.lock_path, t.show(), t.show(t.lock_path))
        try:
            lock.acquire()
            try:
                notes = [*lock.notes, *recover(t)]
                check_target(t)
                probe(t)
            except BaseException:
                lock.release()
                raise
        except OSError as exc:
            raise PackError(os_problem(t.show(), "prepare the folder", exc)) from None
        try:
            yield Claim(t, notes)
        finally:
            lock.release()
    finally:
        _remove_empty(created)
