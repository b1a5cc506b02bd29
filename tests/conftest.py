"""Shared fixtures: a small valid evaluation (YAML + CSV) written into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import SPEC, series_frame


@pytest.fixture
def evaluation_dir(tmp_path: Path) -> Path:
    """A folder with evaluation.yaml and data.csv that validate."""
    (tmp_path / "evaluation.yaml").write_text(SPEC)
    series_frame().to_csv(tmp_path / "data.csv", index=False)
    return tmp_path
