"""Headless Chromium for the browser tests (marked ``browser``; CI installs Debian's chromium).

The worked evaluations' packs are written once per session. Chromium is driven with
playwright's Python package against Debian's ``/usr/bin/chromium`` (``playwright install``
cannot download browsers here), with the flags that keep it off the network. Screenshots
and PDFs are kept as artefacts in ``$PREVEVAL_ARTEFACTS`` (default
``/tmp/preveval-artefacts``), which .ci/run keeps.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import ROOT

CHROMIUM = os.environ.get("PREVEVAL_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
WORKED = ("road-safety-day", "mental-health-triage", "home-safety-hub")
ARTEFACTS = Path(os.environ.get("PREVEVAL_ARTEFACTS", "/tmp/preveval-artefacts"))


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    why = _unavailable()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def worked_packs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three worked evaluations' packs (internal, as the CLI writes them)."""
    if _unavailable() and not os.environ.get("CI"):
        pytest.skip(str(_unavailable()))
    import preveval as pv

    out = tmp_path_factory.mktemp("worked")
    return {name: pv.load(ROOT / "evaluations" / name / "evaluation.yaml").run().write_pack(out / name)
            for name in WORKED}


@pytest.fixture(scope="session")
def artefacts() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS
