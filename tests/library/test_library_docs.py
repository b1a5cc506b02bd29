"""The docs catalogue and one generated page per library entry (docs/gen_reference.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from preveval.library import templates
from support import ROOT


def test_catalogue_and_a_page_per_entry(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "docs" / "gen_reference.py"), str(tmp_path)], check=True,
                   cwd=tmp_path, timeout=120)
    catalogue = (tmp_path / "library.md").read_text()
    for t in templates():
        assert f"](library/{t.id}.md)" in catalogue
        page = (tmp_path / "library" / f"{t.id}.md").read_text()
        assert page.startswith(f"# {t.name}\n")
        for heading in ("## Partners you need", "## Logic model", "## Indicators and data",
                        "## Recommended design", "## Plausible effect", "## Costs to record", "## The template"):
            assert heading in page, (t.id, heading)
        assert t.card.effect.source in page and t.card.designs.staggered.replace("|", "\\|") in page
        assert f"preveval new my-evaluation --from {t.id}" in page
        # every table row has as many cells as its header
        for block in page.split("\n\n"):
            rows = [r for r in block.splitlines() if r.startswith("| ")]
            if rows:
                widths = {r.replace("\\|", "").count("|") for r in rows}
                assert len(widths) == 1, (t.id, rows[:2])
