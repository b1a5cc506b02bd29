"""One run at a time per pack: a lock file beside the target folder.

``.<name>.lock`` (for ``--out <name>``) is created atomically (``O_CREAT | O_EXCL``) and
holds the holder's process id, host name and start time as JSON. A second run on the same
target finds it and stops with a :class:`~preveval.errors.PackError` naming the holder.

A lock whose holder is gone (killed, crashed, power cut) is *stale* and is taken over:
the holder is on this host and its process id no longer exists, or the file is empty and
older than a minute (a holder killed while creating it). Taking over renames the stale
file to a unique name first and checks that what was moved is the stale lock that was
read, so two runs taking over at once cannot both win. On Windows, and for a lock made
on another host, the holder cannot be checked and is taken to be alive: the message says
which file to delete.

The lock is re-entrant within a thread (the CLI holds it from the first check to the
last rename, and :func:`~preveval.pack.writer.write_pack` takes it again inside).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

from preveval.errors import PackError

__all__ = ["PackLock"]

_HELD: dict[str, tuple[int, int]] = {}  # lock path -> (thread id, depth)
_GUARD = threading.Lock()
EMPTY_LOCK_GRACE = 60.0  # seconds an empty (being-created) lock file counts as held


def _alive(pid: int) -> bool:
    if os.name == "nt":
        return True  # no safe signal-0 probe on Windows
    if pid == os.getpid():
        return False  # a lock of ours that this process does not hold: left by an earlier life
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


class PackLock:
    """The lock of one pack folder; use as a context manager."""

    def __init__(self, path: Path, target: str, shown: str | None = None):
        self.path = path
        self.target = target  # the pack, as shown in messages
        self.shown = shown or str(path)  # the lock file, as shown in messages
        self.notes: list[str] = []
        self._key = str(path)

    def __enter__(self) -> PackLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, taking over a stale one; PackError when a live run holds it."""
        me = threading.get_ident()
        with _GUARD:
            held = _HELD.get(self._key)
            if held is not None:
                if held[0] != me:
                    raise PackError(f"{self.target}: another thread of this process is writing this pack")
                _HELD[self._key] = (me, held[1] + 1)
                return
        for _ in range(20):
            if self._create():
                with _GUARD:
                    _HELD[self._key] = (me, 1)
                return
            self._take_over_if_stale()
        raise PackError(f"{self.shown}: could not take the lock of {self.target} (other runs keep taking it)")

    def release(self) -> None:
        """Let go of the lock (the file is removed when the outermost holder lets go)."""
        with _GUARD:
            held = _HELD.get(self._key)
            if held is None:
                return
            if held[1] > 1:
                _HELD[self._key] = (held[0], held[1] - 1)
                return
            del _HELD[self._key]
        if self._read() == self._mine:
            try:
                self.path.unlink()
            except OSError:
                pass

    # -- internals -------------------------------------------------------------------

    @property
    def _mine(self) -> dict[str, object]:
        return getattr(self, "_content", {})

    def _create(self) -> bool:
        content = {"pid": os.getpid(), "host": socket.gethostname(),
                   "started": time.strftime("%Y-%m-%d %H:%M:%S"), "target": self.target}
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        except OSError as exc:
            raise PackError(f"{self.shown}: cannot create the lock file: {exc.strerror}") from None
        try:
            os.write(fd, (json.dumps(content) + "\n").encode())
        except OSError as exc:
            os.close(fd)
            self.path.unlink(missing_ok=True)
            raise PackError(f"{self.shown}: cannot write the lock file: {exc.strerror}") from None
        os.close(fd)
        self._content = content
        return True

    def _read(self) -> dict[str, object] | None:
        """The lock's content; {} when empty or unreadable, None when there is no lock."""
        snap = _snapshot(self.path)
        return None if snap is None else snap[2]

    def _stale(self, snap: tuple[int, int, dict[str, object]]) -> bool:
        _, mtime_ns, doc = snap
        if not doc:
            return time.time() - mtime_ns / 1e9 > EMPTY_LOCK_GRACE
        pid = doc.get("pid")
        if not isinstance(pid, int) or doc.get("host") != socket.gethostname():
            return False
        return not _alive(pid)

    def _take_over_if_stale(self) -> None:
        snap = _snapshot(self.path)
        if snap is None:
            return  # released meanwhile: try again
        doc = snap[2]
        if not self._stale(snap):
            who = (f"pid {doc.get('pid')} on {doc.get('host')}, started {doc.get('started')}" if doc
                   else "it is being started")
            raise PackError(f"{self.target}: another preveval run is writing this pack ({who}); wait for it to "
                            f"finish, or delete {self.shown} if no such run is going")
        # ".<name>.stl-XXXXXXXX": no longer than the writer's other temporary names
        aside = self.path.with_name(self.path.name.removesuffix(".lock") + ".stl-" + secrets.token_hex(4))
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return  # someone else took it over first
        except OSError as exc:
            raise PackError(f"{self.shown}: cannot take over a stale lock: {exc.strerror}") from None
        if _snapshot(aside) != snap:  # a fresh lock replaced the stale one before the rename: put it back
            try:
                os.link(aside, self.path)
            except OSError:
                pass
            aside.unlink(missing_ok=True)
            return
        aside.unlink(missing_ok=True)
        if doc:
            self.notes.append(f"took over the lock of an earlier run (pid {doc.get('pid')}, started "
                              f"{doc.get('started')}) that is no longer running")


def _snapshot(path: Path) -> tuple[int, int, dict[str, object]] | None:
    """(inode, mtime in ns, content) of a lock file; content {} when empty or unreadable."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            raw = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        return (0, time.time_ns(), {})  # unreadable: counts as held, never as stale
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = {}
    return (st.st_ino, st.st_mtime_ns, doc if isinstance(doc, dict) else {})
