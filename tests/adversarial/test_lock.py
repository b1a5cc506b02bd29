"""The lock beside a pack: one run at a time, clear refusals, stale locks taken over safely."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adversarial.adv_helpers import assert_clean, cli, leftovers, snapshot
from preveval.errors import PackError
from preveval.pack import lock as lock_module
from preveval.pack.lock import PackLock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process checks are POSIX only")


@pytest.fixture
def sleeper() -> Iterator[int]:
    """The pid of a live process that is not preveval."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def write_lock(path: Path, **content: object) -> bytes:
    path.write_text(json.dumps(content))
    return path.read_bytes()


def test_a_live_holder_is_named_and_its_lock_left_alone(evaluation_dir: Path, sleeper: int,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(evaluation_dir)
    held = write_lock(evaluation_dir / ".pack.lock", pid=sleeper, host=socket.gethostname(),
                      started="2024-05-01 09:00:00")
    err = assert_clean(cli("run", "evaluation.yaml", "--out", "pack"), 2)
    assert err.startswith(f"pack: another preveval run is writing this pack (pid {sleeper} on "
                          f"{socket.gethostname()}, started 2024-05-01 09:00:00); wait for it to finish"), err
    assert (evaluation_dir / ".pack.lock").read_bytes() == held
    assert not (evaluation_dir / "pack").exists()


def test_a_lock_from_another_host_is_never_taken_over(tmp_path: Path) -> None:
    held = write_lock(tmp_path / ".pack.lock", pid=dead_pid(), host="elsewhere.example", started="x")
    with pytest.raises(PackError, match="another preveval run is writing this pack"):
        PackLock(tmp_path / ".pack.lock", "pack").acquire()
    assert (tmp_path / ".pack.lock").read_bytes() == held


def test_an_empty_lock_is_fresh_for_a_minute_then_stale(tmp_path: Path) -> None:
    path = tmp_path / ".pack.lock"
    path.write_bytes(b"")
    with pytest.raises(PackError, match="it is being started"):
        PackLock(path, "pack").acquire()
    old = time.time() - 2 * lock_module.EMPTY_LOCK_GRACE
    os.utime(path, (old, old))
    with PackLock(path, "pack"):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert not path.exists()


def test_a_dead_holders_lock_is_taken_over_with_a_note(tmp_path: Path) -> None:
    pid = dead_pid()
    write_lock(tmp_path / ".pack.lock", pid=pid, host=socket.gethostname(), started="then")
    with PackLock(tmp_path / ".pack.lock", "pack") as lk:
        assert lk.notes == [f"took over the lock of an earlier run (pid {pid}, started then) that is no longer running"]
    assert leftovers(tmp_path) == []


def test_taking_over_never_removes_a_fresh_lock(tmp_path: Path, sleeper: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another run takes the stale lock over between our read and our rename: we put its lock back."""
    path = tmp_path / ".pack.lock"
    write_lock(path, pid=dead_pid(), host=socket.gethostname(), started="stale")
    fresh = json.dumps({"pid": sleeper, "host": socket.gethostname(), "started": "fresh"})
    real_rename = os.rename

    def racing_rename(src: object, dst: object) -> None:
        if Path(str(src)) == path and ".stl-" in str(dst):
            other = tmp_path / "other"
            other.write_text(fresh)
            real_rename(other, path)  # the other run's new lock replaces the stale one
        real_rename(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(lock_module.os, "rename", racing_rename)
    with pytest.raises(PackError, match=f"pid {sleeper}"):
        PackLock(path, "pack").acquire()
    assert path.read_text() == fresh
    assert sorted(p.name for p in tmp_path.iterdir()) == [".pack.lock"]


def test_the_lock_is_reentrant_in_a_thread_and_refused_to_another(tmp_path: Path) -> None:
    path = tmp_path / ".pack.lock"
    errors: list[str] = []
    with PackLock(path, "pack"), PackLock(path, "pack"):
        t = threading.Thread(target=lambda: _try(path, errors))
        t.start()
        t.join()
        assert path.exists()
    assert errors == ["pack: another thread of this process is writing this pack"]
    assert not path.exists()


def _try(path: Path, errors: list[str]) -> None:
    try:
        PackLock(path, "pack").acquire()
    except PackError as exc:
        errors.append(str(exc))


def test_release_leaves_a_lock_that_is_not_ours(tmp_path: Path, sleeper: int) -> None:
    path = tmp_path / ".pack.lock"
    lk = PackLock(path, "pack")
    lk.acquire()
    theirs = write_lock(path, pid=sleeper, host=socket.gethostname(), started="later")
    lk.release()
    assert path.read_bytes() == theirs


def test_a_failed_run_releases_the_lock(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever fails after the lock was taken (here the fit), the lock goes with the run."""
    monkeypatch.chdir(evaluation_dir)

    def broken(self: object, progress: object = None, **kw: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("preveval.pipeline.Evaluation.run", broken)
    before = snapshot(evaluation_dir)
    err = assert_clean(cli("run", "evaluation.yaml", "--out", "pack"), 1)
    assert "internal error (RuntimeError: boom)" in err
    assert snapshot(evaluation_dir) == before and leftovers(evaluation_dir) == []
