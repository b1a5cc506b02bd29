"""Output problems are found before the fit, or, during the writing, leave nothing behind.

A read-only folder, a full disk, a dangling symbolic link, an over-long name: exit code 2
(PackError) with the path and the reason, before any model is fitted (the fit is replaced
by one that fails the test). A write error while the pack is being written (a full disk,
simulated by failing ``os.write`` for the files inside the temporary pack) is exit code 2
too, with the file named, the earlier pack untouched and no temporary folder left.
"""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from pathlib import Path

import pytest

from adversarial.adv_helpers import assert_clean, cli, leftovers, snapshot
from preveval.pack.manifest import survey

YAML = "evaluation.yaml"
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def here(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The evaluation folder as the cwd; fitting fails the test (checks must come first)."""
    monkeypatch.chdir(evaluation_dir)
    return evaluation_dir


@pytest.fixture
def no_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    def fit(self: object, progress: object = None, **kw: object) -> None:
        pytest.fail("the analyses were fitted although the output folder cannot be used")

    monkeypatch.setattr("preveval.pipeline.Evaluation.run", fit)


@pytest.fixture
def old_pack(here: Path, copy_pack) -> dict[str, bytes | str]:
    """A preveval pack at here/pack; its snapshot."""
    return snapshot(copy_pack(here / "pack"))


def refused_before_fit(here: Path, out: str, pattern: str) -> str:
    before = snapshot(here)
    err = assert_clean(cli("run", YAML, "--out", out), 2)
    assert pattern in err, err
    assert err.rstrip().splitlines()[-1].endswith("nothing was written")
    assert snapshot(here) == before  # nothing created, nothing left beside it
    return err


def test_dangling_symlink(here: Path, no_fit: None) -> None:
    (here / "out").symlink_to(here / "gone")
    refused_before_fit(here, "out", f"out: is a symbolic link to {here / 'gone'}, which does not exist")


def test_symlink_to_a_pack_is_refused_and_both_are_left(here: Path, old_pack: dict[str, bytes | str],
                                                      no_fit: None) -> None:  # old_pack first: it fits
    (here / "link").symlink_to("pack")
    refused_before_fit(here, "link", "link: is a symbolic link (to pack); preveval replaces the folder itself")
    assert snapshot(here / "pack") == old_pack


def test_parent_is_a_dangling_symlink(here: Path, no_fit: None) -> None:
    (here / "reports").symlink_to(here / "gone")
    refused_before_fit(here, "reports/pack", "is a symbolic link to")


@pytest.mark.parametrize("n", [256, 300, 242])
def test_over_long_names(here: Path, no_fit: None, n: int) -> None:
    refused_before_fit(here, "p" * n, f"{'p' * n}: the folder name is {n} bytes long; at most 241 fit")


def test_the_longest_name_that_fits_is_written(here: Path) -> None:
    assert_clean(cli("run", YAML, "--out", "p" * 241), 0)
    assert survey(here / ("p" * 241)).complete and leftovers(here) == []


def test_names_are_counted_in_bytes(here: Path, no_fit: None) -> None:
    name = "é" * 121  # 242 bytes in UTF-8
    refused_before_fit(here, name, "242 bytes long")


def test_parent_is_a_file(here: Path, no_fit: None) -> None:
    (here / "notes.txt").write_text("x")
    refused_before_fit(here, "notes.txt/pack", "notes.txt: exists and is not a folder")


def test_the_current_folder_is_refused(here: Path, no_fit: None) -> None:
    refused_before_fit(here, ".", ".: this is the current folder (or holds it)")
    refused_before_fit(here, "..", "..: this is the current folder (or holds it)")


def test_created_parents_are_removed_when_the_run_fails(here: Path) -> None:
    (here / YAML).write_text((here / YAML).read_text().replace("family: quasipoisson", "family: quasipoison"))
    refused_before_fit(here, "new/deeper/pack", "did you mean 'quasipoisson'")
    assert not (here / "new").exists()


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root may write in read-only folders")
def test_read_only_folder(here: Path, no_fit: None) -> None:
    (here / "locked").mkdir()
    (here / "locked").chmod(0o555)
    try:
        refused_before_fit(here, "locked/pack", "locked: cannot")
    finally:
        (here / "locked").chmod(0o755)


@pytest.mark.parametrize(
    ("code", "reason"),
    [(errno.EACCES, "Permission denied (you have no write permission there; choose another --out)"),
     (errno.EROFS, "Read-only file system (the file system is read-only; choose another --out)")],
    ids=["permission", "read-only-fs"],
)
def test_unwritable_folder_as_the_os_reports_it(here: Path, no_fit: None, monkeypatch: pytest.MonkeyPatch,
                                                code: int, reason: str) -> None:
    """The same as the chmod test, for root too: the probe file cannot be created."""
    real = tempfile.mkstemp

    def mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
        if ".prb-" in str(kwargs.get("prefix", "")):
            raise OSError(code, os.strerror(code))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    (here / "out").mkdir()
    refused_before_fit(here, "out/pack", f"out: cannot write in this folder: {reason}")


def _failing_write(match: str):
    """``os.write`` that fails with ENOSPC for files whose path contains ``match``."""
    real = os.write

    def write(fd: int, data: bytes) -> int:
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            path = ""
        if match in path:
            raise ENOSPC
        return real(fd, data)

    return write


linux_only = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")


@linux_only
def test_full_disk_is_found_before_the_fit(here: Path, old_pack: dict[str, bytes | str], no_fit: None,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "write", _failing_write(".pack.prb-"))
    refused_before_fit(here, "pack", f"{here}: cannot write in this folder: No space left on device (the disk is full")
    assert snapshot(here / "pack") == old_pack


@linux_only
@pytest.mark.parametrize(("match", "file"), [(".png", "pack/figures/its-events-its.png"),
                                             (".preveval-pack.json", "pack/.preveval-pack.json"),
                                             ("report.html", "pack/report.html")],
                         ids=["figure", "manifest", "report"])
def test_full_disk_while_writing(here: Path, old_pack: dict[str, bytes | str], monkeypatch: pytest.MonkeyPatch,
                                 match: str, file: str) -> None:
    monkeypatch.setattr(os, "write", _failing_write(match))
    err = assert_clean(cli("run", YAML, "--out", "pack"), 2)
    assert err.startswith(f"{file}: cannot write the file: No space left on device (the disk is full; free some "
                          "space or choose another --out); pack was left as it was"), err
    assert snapshot(here / "pack") == old_pack
    assert leftovers(here) == []


def test_a_failed_final_rename_puts_the_old_pack_back(here: Path, old_pack: dict[str, bytes | str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.rename

    def rename(src: object, dst: object) -> None:
        if ".pack.tmp-" in str(src) and Path(str(dst)).name == "pack":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", rename)
    err = assert_clean(cli("run", YAML, "--out", "pack"), 2)
    assert err.startswith("pack: cannot move the new pack into place: Input/output error; pack was left as it was")
    assert snapshot(here / "pack") == old_pack
    assert leftovers(here) == []
