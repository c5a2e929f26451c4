"""``python -m week14.lab`` in a real browser (issue 19): started from a course folder laid
out as the student bundle is, it opens the first notebook, and there a widget renders
and answers a control.

The launcher runs as a student runs it, with ``--port`` (a free one) and a recording
"browser" (``$BROWSER``) in place of the desktop's: Chromium (Playwright) then goes to
exactly the address the launcher asked the browser to open. Jupyter's folders are
private to the test (see ``lab_server``), so the user settings the other browser tests
use (every cell rendered, no autosave) apply here too.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import lab_launch
import pytest
from lab_page import check_explorer, explore_cells, notebook_cells, open_notebook, run_all_cells
from lab_paths import NOTEBOOK_DIR, STUDENT_CONFIG
from lab_server import TEST_USER_SETTINGS
from playwright.sync_api import BrowserContext

START_TIMEOUT = 240  # seconds


def _opened_address(recorded: str) -> str:
    """The address behind what Jupyter gave the browser: its redirect page (a file
    holding the address with the token), or the address itself."""
    if not recorded.startswith("file://"):
        return recorded
    page = Path(urllib.request.url2pathname(recorded.removeprefix("file://"))).read_text()
    match = re.search(r'url=([^"]+)"', page)
    assert match, page
    return html.unescape(match.group(1))


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory, artifacts: Path
             ) -> Iterator[lab_launch.Launched]:
    """``python -m week14.lab --port N`` run from a course folder (notebooks/week14 and
    lab/student, as in the bundle)."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(NOTEBOOK_DIR, course / "notebooks" / "week14")
    shutil.copytree(STUDENT_CONFIG, course / "lab" / "student")
    home = tmp_path_factory.mktemp("launcher-jupyter")
    for plugin, values in TEST_USER_SETTINGS.items():
        path = home / "config" / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {name: value for name, value in os.environ.items()
           if name not in {"JUPYTER_CONFIG_PATH", "NBGRADER_EXECUTION"}}
    try:
        with lab_launch.launched([sys.executable, "-m", "week14.lab", "--port",
                                  str(lab_launch.free_port())], cwd=course, env=env,
                                 home=home) as server:
            yield server
    finally:
        if (home / "launcher.log").exists():
            shutil.copy(home / "launcher.log", artifacts / "launcher.log")


def test_the_launcher_opens_the_first_notebook_and_its_widget_works(
        launched: lab_launch.Launched, context: BrowserContext, artifacts: Path) -> None:
    first = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))[0]
    opened = _opened_address(launched.opened)
    assert f"/lab/tree/week14/{first}?" in opened, opened
    cells = notebook_cells(NOTEBOOK_DIR / first)
    page = context.new_page()
    try:
        open_notebook(page, opened, len(cells))
        run_all_cells(page, cells)
        screenshots = artifacts / "launcher"
        screenshots.mkdir(exist_ok=True)
        check = check_explorer(page, explore_cells(cells)[0], screenshots)
        assert check.ok, str(check)
    except BaseException:
        page.screenshot(path=artifacts / "FAILED-launcher.png")
        raise
    finally:
        page.close()
