"""Crash-safe replacement: a run killed at the worst moment loses nothing.

``preveval run`` runs in a subprocess with the writer's test hook
(``PREVEVAL_TEST_PAUSE_BETWEEN_RENAMES``): between moving the old pack aside and moving
the new one into place it creates a flag file and waits. The tests kill it there with
SIGKILL, or start a second run against it, then show what the next run does. The rules
themselves (which leftover is put back, which is removed, which is kept) are tested one by
one on folders laid out by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import preveval as pv
from adversarial.adv_helpers import (
    CLI,
    assert_clean,
    check_pack,
    cli,
    leftovers,
    snapshot,
    subprocess_env,
)
from preveval.errors import PackError
from preveval.pack.manifest import MANIFEST, survey
from preveval.pack.target import claim_target
from support import SPEC, series_frame

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and renames")
YAML = "evaluation.yaml"


def start_paused(d: Path, out: str, flag: Path) -> subprocess.Popen[str]:
    """Start ``preveval run`` in a subprocess and wait until it pauses between the renames."""
    proc = subprocess.Popen([*CLI, "run", YAML, "--out", out], cwd=d, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            env=subprocess_env(PREVEVAL_TEST_PAUSE_BETWEEN_RENAMES=str(flag)))
    deadline = time.monotonic() + 180
    while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not flag.exists():
        proc.kill()
        out_, err = proc.communicate()
        pytest.fail(f"the run never reached the pause (exit {proc.returncode}):\n{out_}\n{err}")
    return proc


def renamed(d: Path, text: str) -> None:
    """Give the evaluation another initiative name, so the new pack differs from the old."""
    spec = (d / YAML).read_text().replace("name: Test initiative", f"name: {text}")
    (d / YAML).write_text(spec)


def name_in(pack: Path) -> str:
    return json.loads((pack / "results.json").read_text())["initiative"]["name"]


@pytest.fixture
def old_pack(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch, copy_pack) -> dict[str, bytes | str]:
    """A pack at evaluation_dir/pack; the spec then renamed to 'Second version'. Its snapshot."""
    monkeypatch.chdir(evaluation_dir)
    copy_pack(evaluation_dir / "pack")
    renamed(evaluation_dir, "Second version")
    return snapshot(evaluation_dir / "pack")


def test_kill_between_the_renames_then_the_next_run_puts_the_old_pack_back(
        evaluation_dir: Path, old_pack: dict[str, bytes | str], tmp_path_factory: pytest.TempPathFactory) -> None:
    d = evaluation_dir
    flag = tmp_path_factory.mktemp("flag") / "paused"
    proc = start_paused(d, "pack", flag)
    # the worst moment: --out is gone, the old pack is aside, the new one is complete
    assert not (d / "pack").exists()
    (aside,) = d.glob(".pack.old-*")
    assert snapshot(aside / "pack") == old_pack
    (new,) = d.glob(".pack.tmp-*")
    assert survey(new).complete and name_in(new) == "Second version"
    assert json.loads((d / ".pack.lock").read_text())["pid"] == proc.pid
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # the next run fails on its input, but first puts the old pack back and cleans up
    good = (d / YAML).read_text()
    (d / YAML).write_text(good.replace("family: quasipoisson", "family: quasipoison"))
    err = assert_clean(cli("run", YAML, "--out", "pack"), 2)
    assert f"took over the lock of an earlier run (pid {proc.pid}" in err
    assert "note: pack: an interrupted run had moved this pack aside" in err and "it is back in place" in err
    assert "did you mean 'quasipoisson'" in err
    assert snapshot(d / "pack") == old_pack  # the old pack is never lost
    assert leftovers(d) == []

    # and the run after that writes the new pack
    (d / YAML).write_text(good)
    assert_clean(cli("run", YAML, "--out", "pack"), 0)
    assert name_in(d / "pack") == "Second version" and survey(d / "pack").complete
    check_pack(d / "pack")
    assert leftovers(d) == []


def test_a_run_finds_the_pack_busy_while_another_is_replacing_it(
        evaluation_dir: Path, old_pack: dict[str, bytes | str], tmp_path_factory: pytest.TempPathFactory) -> None:
    d = evaluation_dir
    flag = tmp_path_factory.mktemp("flag") / "paused"
    proc = start_paused(d, "pack", flag)
    during = leftovers(d)
    err = assert_clean(cli("run", YAML, "--out", "pack"), 2)
    assert f"pack: another preveval run is writing this pack (pid {proc.pid} on " in err
    assert "wait for it to finish, or delete .pack.lock if no such run is going" in err
    assert leftovers(d) == during  # the second run left nothing, touched nothing
    flag.unlink()  # let the first run finish
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert name_in(d / "pack") == "Second version" and survey(d / "pack").complete
    assert leftovers(d) == []


@pytest.mark.slow
def test_two_runs_started_together_on_one_out(evaluation_dir: Path, old_pack: dict[str, bytes | str]) -> None:
    """No internal error, no empty .old folder: one waits its turn or is told the pack is busy."""
    d = evaluation_dir
    procs = [subprocess.Popen([*CLI, "run", YAML, "--out", "pack"], cwd=d, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=subprocess_env()) for _ in range(2)]
    results = [(p, *p.communicate(timeout=300)) for p in procs]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes in ([0, 0], [0, 2]), [r[2] for r in results]
    for p, _, err in results:
        assert "Traceback" not in err and "internal error" not in err, err
        if p.returncode == 2:
            assert "another preveval run is writing this pack" in err, err
    assert name_in(d / "pack") == "Second version" and survey(d / "pack").complete
    assert leftovers(d) == []


def test_an_interrupt_between_the_renames_rolls_back_at_once(
        evaluation_dir: Path, old_pack: dict[str, bytes | str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("preveval.pack.writer._pause_between_renames", interrupted)
    err = assert_clean(cli("run", YAML, "--out", "pack"), 1)
    assert "interrupted; nothing was written" in err
    assert snapshot(evaluation_dir / "pack") == old_pack
    assert leftovers(evaluation_dir) == []


# ------------------------------------------------------------ recovery rules, by hand


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, pack_template: Path) -> tuple[Path, Path]:
    """Two complete packs written by preveval (A and B), to lay out leftovers with."""
    base = tmp_path_factory.mktemp("packs")
    (base / YAML).write_text(SPEC)
    series_frame().to_csv(base / "data.csv", index=False)
    shutil.copytree(pack_template, base / "A")
    renamed(base, "Second version")
    pv.load(base / YAML).run().write_pack(base / "B")
    return base / "A", base / "B"


@pytest.fixture
def w(tmp_path: Path) -> Path:
    """An empty folder to lay leftovers out in (tmp_path holds the evaluation)."""
    (tmp_path / "w").mkdir()
    return tmp_path / "w"


def _claim(out: Path) -> list[str]:
    with claim_target(out) as c:
        return c.notes


def test_recovery_puts_the_old_pack_back_and_drops_the_new_one(w: Path, made: tuple[Path, Path]) -> None:
    a, b = made
    shutil.copytree(a, w / ".pack.old-abcd1234" / "pack")
    shutil.copytree(b, w / ".pack.tmp-efgh5678")
    notes = _claim(w / "pack")
    assert snapshot(w / "pack") == snapshot(a)
    assert leftovers(w) == [] and len(notes) == 1


def test_recovery_rolls_a_finished_first_pack_forward(w: Path, made: tuple[Path, Path]) -> None:
    shutil.copytree(made[1], w / ".pack.tmp-efgh5678")
    notes = _claim(w / "pack")
    assert snapshot(w / "pack") == snapshot(made[1])
    assert "written this pack completely" in notes[0] and leftovers(w) == []


def test_recovery_removes_an_unfinished_pack(w: Path, made: tuple[Path, Path]) -> None:
    shutil.copytree(made[1], w / ".pack.tmp-efgh5678")
    (w / ".pack.tmp-efgh5678" / MANIFEST).unlink()  # killed before the manifest was written
    _claim(w / "pack")
    assert not (w / "pack").exists() and leftovers(w) == []


def test_recovery_restores_even_a_folder_it_cannot_vouch_for(w: Path, made: tuple[Path, Path]) -> None:
    """An old folder is the user's: without --out, it goes back, whatever it holds."""
    shutil.copytree(made[0], w / ".pack.old-abcd1234" / "pack")
    (w / ".pack.old-abcd1234" / "pack" / "notes.txt").write_text("mine")
    with pytest.raises(PackError, match="holds files preveval did not write: notes.txt"):
        _claim(w / "pack")  # put back, then (being the user's) not to be replaced
    assert (w / "pack" / "notes.txt").read_text() == "mine" and leftovers(w) == []


def test_recovery_deletes_an_old_pack_only_when_both_are_preveval_packs(w: Path,
                                                                          made: tuple[Path, Path]) -> None:
    a, b = made
    shutil.copytree(b, w / "pack")
    shutil.copytree(a, w / ".pack.old-abcd1234" / "pack")
    _claim(w / "pack")
    assert leftovers(w) == [] and snapshot(w / "pack") == snapshot(b)
    shutil.copytree(a, w / ".pack.old-abcd1234" / "pack")
    (w / ".pack.old-abcd1234" / "pack" / "notes.txt").write_text("mine")
    notes = _claim(w / "pack")
    assert (w / ".pack.old-abcd1234" / "pack" / "notes.txt").read_text() == "mine"
    assert any("is kept here" in n and ".pack.old-abcd1234/pack" in n for n in notes)


def test_recovery_removes_its_other_leftovers_and_nothing_else(w: Path, made: tuple[Path, Path]) -> None:
    shutil.copytree(made[0], w / "pack")
    (w / ".pack.old-abcd1234").mkdir()                       # killed before the first rename
    shutil.copytree(made[1], w / ".pack.del-abcd1234")        # killed while deleting
    (w / ".pack.prb-abcd1234").write_bytes(b"\0")            # killed while probing
    (w / ".pack.stl-abcd1234").write_text("{}")              # killed while taking over a lock
    lookalikes = [".pack.tmp-abcd12345", ".pack.tmp-ABCD1234", ".other.tmp-abcd1234", "pack.tmp-abcd1234",
                  ".pack.lock.bak", ".pack.backup"]
    for name in lookalikes:
        (w / name).mkdir()
    _claim(w / "pack")
    assert sorted(p.name for p in w.iterdir()) == sorted(["pack", *lookalikes])


def test_a_stale_lock_of_a_killed_run_is_taken_over(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(evaluation_dir)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    import socket

    (evaluation_dir / ".pack.lock").write_text(json.dumps({"pid": pid, "host": socket.gethostname(),
                                                           "started": "2020-01-01 00:00:00"}))
    err = assert_clean(cli("run", YAML, "--out", "pack"), 0)
    assert f"took over the lock of an earlier run (pid {pid}" in err
    assert leftovers(evaluation_dir) == []
    assert os.path.isdir(evaluation_dir / "pack")
