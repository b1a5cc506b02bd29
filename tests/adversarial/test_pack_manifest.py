"""Nothing lost: a pack carries a manifest, and preveval replaces only what it wrote.

Each refusal is exit code 2 with a message that starts with the folder and names what is
in the way, no traceback, the folder exactly as it was and nothing left beside it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import preveval as pv
from adversarial.adv_helpers import assert_clean, check_pack, cli, leftovers, snapshot
from preveval.errors import PackError
from preveval.pack.manifest import MANIFEST, survey

YAML = "evaluation.yaml"


@pytest.fixture
def pack(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch, copy_pack) -> Path:
    """A preveval pack at evaluation_dir/pack (the cwd is evaluation_dir)."""
    monkeypatch.chdir(evaluation_dir)
    return copy_pack(evaluation_dir / "pack")


def refused(evaluation_dir: Path, out: str, *expected: str) -> str:
    """Run into ``out``, expect exit 2 with ``expected`` in stderr and ``out`` untouched."""
    target = evaluation_dir / out
    before = snapshot(target)
    siblings = sorted(p.name for p in evaluation_dir.iterdir())
    err = assert_clean(cli("run", YAML, "--out", out), 2)
    assert err.startswith(f"{out}: "), err
    for text in expected:
        assert text in err, err
    assert "nothing was written" in err
    assert snapshot(target) == before
    assert sorted(p.name for p in evaluation_dir.iterdir()) == siblings  # no lock, no temporary folder
    return err


def test_a_folder_with_a_results_json_is_not_a_pack(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's example: results.json alone no longer makes a pack; notes.txt survives."""
    monkeypatch.chdir(evaluation_dir)
    (evaluation_dir / "P").mkdir()
    (evaluation_dir / "P" / "results.json").write_text("{}\n")
    (evaluation_dir / "P" / "notes.txt").write_text("important\n")
    err = refused(evaluation_dir, "P", "not a preveval pack", MANIFEST, "notes.txt", "results.json")
    assert (evaluation_dir / "P" / "notes.txt").read_text() == "important\n"
    assert err.count("\n") == 2  # the problem on one line, then "nothing was written"


def test_the_manifest_lists_every_file_with_its_hash(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(evaluation_dir)
    assert_clean(cli("run", YAML, "--out", "pack"), 0)
    pack = evaluation_dir / "pack"
    doc = json.loads((pack / MANIFEST).read_text())
    assert doc["format"] == "preveval-pack" and doc["manifest_version"] == 1
    assert doc["preveval_version"] == pv.__version__
    on_disk = {str(p.relative_to(pack)) for p in pack.rglob("*") if p.is_file() and p.name != MANIFEST}
    assert set(doc["files"]) == on_disk
    for rel, entry in doc["files"].items():
        data = (pack / rel).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}, rel
    assert {"results.json", "report.html", "report.md"} <= on_disk
    assert any(r.startswith("figures/") and r.endswith(".png") for r in on_disk)
    assert any(r.startswith("tables/") and r.endswith(".csv") for r in on_disk)
    check_pack(pack)
    assert leftovers(pack.parent) == []


def test_same_inputs_give_the_same_manifest_and_files(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The manifest is part of the byte-identical rerun: equal manifests mean equal files."""
    monkeypatch.chdir(evaluation_dir)
    assert_clean(cli("run", YAML, "--out", "pack"), 0)
    assert_clean(cli("run", YAML, "--out", "again"), 0)
    pack = evaluation_dir / "pack"
    again = evaluation_dir / "again"
    assert (again / MANIFEST).read_bytes() == (pack / MANIFEST).read_bytes()
    assert snapshot(again) == snapshot(pack)


def test_rerun_replaces_its_own_pack_and_drops_files_it_no_longer_writes(
        evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A figure preveval wrote for an analysis since removed goes with the old pack."""
    monkeypatch.chdir(evaluation_dir)
    text = (evaluation_dir / YAML).read_text()
    two = text + ("  - {id: its-second, method: its, indicator: events, intervention: 2018-06, "
                  "family: poisson}\n")
    (evaluation_dir / "two.yaml").write_text(two)
    assert_clean(cli("run", "two.yaml", "--out", "pack"), 0)
    assert (evaluation_dir / "pack" / "figures" / "its-second-its.png").is_file()
    assert_clean(cli("run", YAML, "--out", "pack"), 0)
    assert not (evaluation_dir / "pack" / "figures" / "its-second-its.png").exists()
    assert survey(evaluation_dir / "pack").complete
    check_pack(evaluation_dir / "pack")
    assert leftovers(evaluation_dir) == []


@pytest.mark.parametrize(
    ("intrude", "expected"),
    [
        (lambda p: (p / "notes.txt").write_text("mine"), ["files preveval did not write: notes.txt"]),
        (lambda p: (p / "figures" / "extra.png").write_bytes(b"png"), ["figures/extra.png"]),
        (lambda p: (p / "drafts").mkdir(), ["drafts/"]),
        (lambda p: (p / "link").symlink_to("/etc/passwd"), ["link (a symbolic link)"]),
        (lambda p: (p / "report.md").write_text("my edits"), ["files changed since preveval wrote them: report.md"]),
        (lambda p: (p / MANIFEST).write_text("not json"), ["not a preveval pack"]),
        (lambda p: (p / MANIFEST).unlink(), ["not a preveval pack", "report.html", "results.json"]),
    ],
    ids=["foreign-file", "foreign-figure", "foreign-folder", "symlink", "changed-file", "broken-manifest",
         "no-manifest"],
)
def test_a_pack_holding_anything_else_is_not_replaced(evaluation_dir: Path, pack: Path, intrude, expected) -> None:
    intrude(pack)
    refused(evaluation_dir, "pack", *expected)


def test_files_dropped_into_the_pack_during_the_fit_stop_the_replacement(
        evaluation_dir: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pack is checked again just before it is replaced: the fit may take minutes."""
    from preveval.pipeline import Evaluation

    real_run = Evaluation.run

    def run_while_the_user_saves_notes(self: Evaluation, progress: object = None, **kw: object) -> object:
        (pack / "notes.txt").write_text("written during the fit")
        return real_run(self, progress=progress, **kw)  # type: ignore[arg-type]

    before = snapshot(pack)
    monkeypatch.setattr(Evaluation, "run", run_while_the_user_saves_notes)
    err = assert_clean(cli("run", YAML, "--out", "pack"), 2)
    assert err.startswith("pack: preveval will not replace this pack, because it holds files preveval did not "
                          "write: notes.txt"), err
    assert snapshot(pack) == {**before, "notes.txt": b"written during the fit"}
    assert leftovers(evaluation_dir) == []


def test_a_file_dropped_in_at_the_last_moment_puts_the_pack_back(
        evaluation_dir: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between the last check and the move aside: the moved pack is checked again and put back."""
    import preveval.pack.writer as writer

    real_check = writer.check_target

    def check_then_intrude(t: object) -> object:
        done = real_check(t)  # type: ignore[arg-type]
        (pack / "late.txt").write_text("just saved")
        return done

    before = snapshot(pack)
    monkeypatch.setattr(writer, "check_target", check_then_intrude)
    err = assert_clean(cli("run", YAML, "--out", "pack"), 2)
    assert "files preveval did not write: late.txt" in err, err
    assert snapshot(pack) == {**before, "late.txt": b"just saved"}
    assert leftovers(evaluation_dir) == []


def test_file_browser_caches_do_not_block_a_rerun(evaluation_dir: Path, pack: Path) -> None:
    """.DS_Store / Thumbs.db carry no user content: the one documented exception."""
    (pack / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (pack / "figures" / "Thumbs.db").write_bytes(b"thumbs")
    assert_clean(cli("run", YAML, "--out", "pack"), 0)
    assert not (pack / ".DS_Store").exists()
    assert survey(pack).complete


def test_an_empty_folder_is_filled(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(evaluation_dir)
    (evaluation_dir / "empty").mkdir()
    assert_clean(cli("run", YAML, "--out", "empty"), 0)
    assert survey(evaluation_dir / "empty").complete


def test_a_file_as_out_is_refused(evaluation_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(evaluation_dir)
    (evaluation_dir / "report.pdf").write_bytes(b"%PDF")
    refused(evaluation_dir, "report.pdf", "exists and is not a folder")


def test_python_api_refuses_the_same_way(evaluation_dir: Path) -> None:
    mine = evaluation_dir / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_bytes(b"precious")
    res = pv.load(evaluation_dir / YAML).run()
    with pytest.raises(PackError, match="not a preveval pack.*thesis.docx"):
        res.write_pack(mine)
    assert snapshot(mine) == {"thesis.docx": b"precious"}
    assert leftovers(evaluation_dir) == []
    written = res.write_pack(evaluation_dir / "api")
    assert written == evaluation_dir / "api" and survey(written).complete


def test_a_problem_with_out_is_reported_with_the_spec_errors(evaluation_dir: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """All problems at once: a bad spec and a foreign --out are both named."""
    monkeypatch.chdir(evaluation_dir)
    text = (evaluation_dir / YAML).read_text().replace("family: quasipoisson", "family: quasipoison")
    (evaluation_dir / YAML).write_text(text)
    (evaluation_dir / "mine").mkdir()
    (evaluation_dir / "mine" / "thesis.docx").write_bytes(b"precious")
    err = assert_clean(cli("run", YAML, "--out", "mine"), 2)
    assert "did you mean 'quasipoisson'" in err
    assert "mine: the folder is not empty and is not a preveval pack" in err
    assert "2 error(s); nothing was written" in err
