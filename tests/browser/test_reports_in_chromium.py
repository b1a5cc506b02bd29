"""The worked reports in a real browser: nothing leaves the page, no errors, every figure drawn."""

from __future__ import annotations

from pathlib import Path

import pytest

WORKED = ("road-safety-day", "mental-health-triage", "home-safety-hub")

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("name", WORKED)
def test_a_report_loads_alone_and_draws_every_figure(name: str, chromium, worked_packs, artefacts: Path) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    errors: list[str] = []

    def route(r) -> None:  # every request the page makes goes through here
        url = r.request.url
        if url.startswith("file:") or url.startswith("data:"):
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}") if not r.url.startswith("data:") else None)
    page.goto((worked_packs[name] / "report.html").as_uri(), wait_until="load")
    figures = page.evaluate("""() => [...document.querySelectorAll('figure')].map(f => {
        const chart = f.querySelector('.chart'); const svg = f.querySelector('.chart > svg');
        const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
        return {id: f.id, alt: chart ? chart.getAttribute('aria-label') : null, role: chart && chart.getAttribute('role'),
                width: box.width, height: box.height, paths: svg ? svg.querySelectorAll('path, use').length : 0};
    })""")
    page.screenshot(path=str(artefacts / f"{name}-top.png"))
    # the contents stay in view while reading
    page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
    nav_top = page.evaluate("document.querySelector('nav.toc').getBoundingClientRect().top")
    page.screenshot(path=str(artefacts / f"{name}-middle.png"))
    page.evaluate("document.querySelector('figure').scrollIntoView()")
    page.screenshot(path=str(artefacts / f"{name}-first-figure.png"))
    page.close()
    assert outside == []
    assert errors == []
    assert len(figures) >= 4
    for f in figures:
        assert f["role"] == "img" and f["alt"], f
        assert f["width"] > 100 and f["height"] > 50 and f["paths"] > 10, f
    assert abs(nav_top) < 1
