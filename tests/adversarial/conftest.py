"""Fixtures of the adversarial tests: one pack written once, copied where a test needs one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import preveval as pv
from support import SPEC, series_frame


@pytest.fixture(scope="session")
def pack_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete pack of the small evaluation (tests/support.py), written once per session."""
    d = tmp_path_factory.mktemp("template")
    (d / "evaluation.yaml").write_text(SPEC)
    series_frame().to_csv(d / "data.csv", index=False)
    return pv.load(d / "evaluation.yaml").run().write_pack(d / "pack")


@pytest.fixture
def copy_pack(pack_template: Path):
    """``copy_pack(dest)`` puts a copy of the template pack (manifest and all) at ``dest``."""
    def copy(dest: Path) -> Path:
        shutil.copytree(pack_template, dest)
        return dest
    return copy
