"""Ventes and RH on a phone, a tablet, a laptop and a desktop: nothing overlaps, nothing is cut.

Each page is kept as a screenshot in test-artifacts/screens/ (CI keeps the folder).
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, horizontal_overflow

WIDTHS = [375, 768, 1024, 1440]
PAGES = [("/sales", "#sales-stacked .main-svg"), ("/hr", "#hr-heatmap .main-svg")]

# Per chart: the boxes of its title, legend and animation controls, and of the chart itself.
BOXES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => {
  const box = (node) => { if (!node) return null; const r = node.getBoundingClientRect();
                          return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  return {
    id: (gd.closest('[id]') || {}).id,
    chart: box(gd.querySelector('.main-svg')),
    title: box(gd.querySelector('.gtitle')),
    legend: box(gd.querySelector('.legend')),
    buttons: [...gd.querySelectorAll('.updatemenu-button')].map(box),
    slider: box(gd.querySelector('.slider-container')),
  };
})"""

KPI_CUT = """() => [...document.querySelectorAll('.kpi-value')]
  .filter(n => n.scrollWidth > n.clientWidth + 1).map(n => n.id)"""


def _inside(inner: dict, outer: dict) -> bool:
    return inner["left"] >= outer["left"] - 1 and inner["right"] <= outer["right"] + 1


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


@pytest.mark.parametrize("hr_page", WIDTHS, indirect=True)
@pytest.mark.parametrize(("path", "ready"), PAGES)
def test_nothing_overlaps_or_is_cut(hr_page, path, ready):
    page = hr_page
    page.goto(page.base_url + path)
    page.locator(ready).first.wait_for(timeout=30_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    width = page.viewport_size["width"]
    screens = ARTIFACTS / "screens"
    screens.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screens / f"{path.strip('/')}-{width}.png"), full_page=True)

    overflow, culprits = horizontal_overflow(page)
    assert overflow <= 0, f"{overflow} px wider than the screen: {culprits}"
    assert page.evaluate(KPI_CUT) == [], "a KPI's value is cut"
    charts = page.evaluate(BOXES)
    assert len(charts) == {"/sales": 3, "/hr": 4}[path]
    for chart in charts:
        assert chart["title"] and _inside(chart["title"], chart["chart"]), f"{chart['id']}: title cut"
        if chart["legend"]:
            assert _inside(chart["legend"], chart["chart"]), f"{chart['id']}: legend cut"
            assert not _overlap(chart["legend"], chart["title"]), f"{chart['id']}: legend over the title"
        for button in chart["buttons"]:
            assert _inside(button, chart["chart"]), f"{chart['id']}: Play/Pause cut"
            assert not _overlap(button, chart["slider"]), f"{chart['id']}: Play/Pause over the year slider"
