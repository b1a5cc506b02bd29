"""docs/contract.md keeps the public contract of the design document, section for section."""

from __future__ import annotations

import re

import pytest

from support import ROOT, SHARED

DESIGN = SHARED / "DESIGN.md"
SECTIONS = ("CLI", "Evaluation file (YAML)", "Pack (the directory written by `run`)")


def sections(text: str, marker: str) -> dict[str, str]:
    parts = re.split(rf"^{re.escape(marker)} (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


@pytest.mark.skipif(not DESIGN.exists(), reason="the shared design document is not beside the project")
@pytest.mark.parametrize("title", SECTIONS)
def test_contract_page_matches_the_design_document(title: str) -> None:
    design = DESIGN.read_text(encoding="utf-8")
    contract = design[design.index("## Public contract"):]
    mine = sections((ROOT / "docs" / "contract.md").read_text(encoding="utf-8"), "##")
    theirs = sections(contract, "###")
    assert title in theirs and title in mine
    # the results.json example and its rules are part of the pack section
    assert mine[title] == theirs[title], f"docs/contract.md: section '{title}' differs from DESIGN.md"


def test_readme_points_at_the_contract_in_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/contract.md" in readme and (ROOT / "docs" / "contract.md").is_file()
