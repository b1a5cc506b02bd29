"""The worked reports printed to A4 PDF by headless Chromium: page counts, nothing clipped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

#: Pages of each printed report: what the three packs print to today, with room for the
#: wording to grow; far more would mean the print rules broke (a figure or table per page).
PAGES = {"road-safety-day": (15, 50), "mental-health-triage": (15, 45), "home-safety-hub": (12, 40)}


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", data))


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_report_prints_on_a4_without_clipping(name: str, chromium, worked_packs, artefacts: Path) -> None:
    page = chromium.new_page()
    page.goto((worked_packs[name] / "report.html").as_uri(), wait_until="load")
    page.emulate_media(media="print")
    clipped = page.evaluate("""() => [...document.querySelectorAll('table')].map(t => ({id: t.id,
        width: t.scrollWidth, room: t.parentElement.clientWidth})).filter(t => t.width > t.room)""")
    wide_figures = page.evaluate("""() => [...document.querySelectorAll('.chart > svg')].map(s => ({
        width: s.getBoundingClientRect().width, room: s.closest('main').clientWidth}))
        .filter(s => s.width > s.room + 1)""")
    hidden_details = page.evaluate("""() => [...document.querySelectorAll('details')].filter(d =>
        !d.open && [...d.children].some(c => c.tagName !== 'SUMMARY' && c.getClientRects().length === 0)).length""")
    sections = page.evaluate("""() => [...document.querySelectorAll('main > section')].slice(1).map(s =>
        getComputedStyle(s).breakBefore)""")
    pdf = page.pdf(path=str(artefacts / f"{name}.pdf"), prefer_css_page_size=True, print_background=True)
    page.close()
    assert clipped == []
    assert wide_figures == []
    assert hidden_details == 0  # technical details are printed expanded
    assert sections and set(sections) == {"page"}
    lo, hi = PAGES[name]
    n = pdf_pages(pdf)
    assert lo <= n <= hi, n
    boxes = {tuple(round(float(v)) for v in m.split()) for m in re.findall(rb"/MediaBox \[0 0 ([0-9. ]+)\]", pdf)}
    assert boxes <= {(595, 842), (842, 595)} and (595, 842) in boxes, boxes  # A4 portrait, landscape for wide
