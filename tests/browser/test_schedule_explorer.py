"""The decay-schedule explorer of notebook 06 in a real JupyterLab: pin a run, draw a
second one over it, and see the picture change at each step (issue: "a comparing
schedule explorer").

The explorer's figure is a PNG in its ``Output``; the test decodes it and compares
pixels. Pinned runs are drawn in matplotlib's C0 blue, which nothing else in the
figure uses: the blue pixels count how much of the pinned runs shows. Screenshots of
the panel at each step are saved under ``artifacts/browser/schedule_explorer/``.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from lab_page import CELLS, PANEL, explore_cells, notebook_cells, open_notebook, run_all_cells
from lab_paths import NOTEBOOK_DIR
from PIL import Image
from playwright.sync_api import Locator, Page

NOTEBOOK = "06_learning_rate.ipynb"
PINNED_BLUE = (0x1F, 0x77, 0xB4)  # matplotlib's C0, the colour of the first pinned run
REDRAW_TIMEOUT_MS = 120_000

# The PNG the explorer's output shows now (its data: URL), or '' while there is none.
_SHOWN_PNG = "panel => panel.querySelector(':scope > .widget-output img')?.src ?? ''"


def _png(url: str) -> np.ndarray:
    """The RGB pixels (height, width, 3) of a ``data:image/png;base64,...`` URL."""
    header, data = url.split(",", 1)
    assert header == "data:image/png;base64", f"the output is not a PNG: {header[:40]!r}"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def _blue_pixels(pixels: np.ndarray) -> int:
    """Pixels within a small distance of the pinned runs' blue (anti-aliasing aside)."""
    return int((np.abs(pixels.astype(int) - PINNED_BLUE).sum(axis=-1) < 40).sum())


def _next_png(page: Page, panel: Locator, before: str) -> str:
    """Wait until the output shows a PNG other than ``before``; return it."""
    page.wait_for_function(f"([panel, before]) => ({_SHOWN_PNG})(panel) !== before && "
                           f"({_SHOWN_PNG})(panel) !== ''",
                           arg=[panel.element_handle(), before], timeout=REDRAW_TIMEOUT_MS)
    return panel.evaluate(_SHOWN_PNG)


def test_schedule_explorer_pins_a_run_and_overlays_a_second(lab, page, artifacts):
    cells = notebook_cells(NOTEBOOK_DIR / NOTEBOOK)
    found = [i for i in explore_cells(cells) if "ScheduleExplorer" in cells[i]["source"]]
    assert len(found) == 1, f"{NOTEBOOK}: expected one explore(ScheduleExplorer) cell, got {found}"
    index = found[0]
    open_notebook(page, lab.lab_url(f"week14/{NOTEBOOK}", workspace="schedule-explorer"),
                  len(cells))
    run_all_cells(page, cells)
    screenshots = artifacts / "schedule_explorer"
    screenshots.mkdir()
    panel = page.locator(CELLS).nth(index).locator(PANEL).first
    message = panel.locator(".widget-label", has_text="Pin")

    first = _next_png(page, panel, "")
    panel.screenshot(path=screenshots / "1-one-run.png")
    panel.get_by_role("button", name="Pin run").click()
    pinned = _next_png(page, panel, first)
    panel.screenshot(path=screenshots / "2-pinned.png")
    assert "Pinned 1 of 3: StepDecay(2, 0.5, 5)" in message.inner_text()
    panel.locator(".widget-dropdown select").select_option("exponential")
    overlaid = _next_png(page, panel, pinned)
    panel.screenshot(path=screenshots / "3-second-run-over-the-pinned.png")

    one, two, three = (_png(url) for url in (first, pinned, overlaid))
    assert one.shape == two.shape == three.shape, "the figure keeps its size"
    changed_by_pin = (one != two).any(axis=-1).mean()
    changed_by_second = (two != three).any(axis=-1).mean()
    blue = [_blue_pixels(p) for p in (one, two, three)]
    print(f"\npixels changed: pin {changed_by_pin:.1%}, second run {changed_by_second:.1%}; "
          f"pinned-blue pixels per step: {blue}")
    assert changed_by_pin > 0, "pinning the run did not change the picture"
    assert changed_by_second > 0.01, "drawing a second run did not change the picture"
    # Before pinning nothing is blue; pinned, the run hides under the identical red run
    # but its legend entry is blue; with a second run drawn, the pinned one shows.
    assert blue[0] == 0, f"{blue[0]} blue pixels before anything was pinned"
    assert 0 < blue[1] < blue[2], f"blue pixels (pinned run) per step: {blue}"
    panel.get_by_role("button", name="Clear pinned").click()
    cleared = _png(_next_png(page, panel, overlaid))
    assert _blue_pixels(cleared) == 0, "the pinned run is still drawn after Clear pinned"
