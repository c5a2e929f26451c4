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
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lab_page import check_explorer, explore_cells, notebook_cells, open_notebook, run_all_cells
from lab_paths import NOTEBOOK_DIR, STUDENT_CONFIG
from lab_server import TEST_USER_SETTINGS, descendants, is_running
from playwright.sync_api import BrowserContext

START_TIMEOUT = 240  # seconds


@dataclass(frozen=True)
class Launched:
    """The launcher's JupyterLab: its address and what the launcher asked to open."""

    url: str
    token: str
    opened: str  # the address the browser was sent to
    course: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
def launched(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Launched]:
    """``python -m week14.lab --port N`` run from a course folder (notebooks/week14 and
    lab/student, as in the bundle)."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(NOTEBOOK_DIR, course / "notebooks" / "week14")
    shutil.copytree(STUDENT_CONFIG, course / "lab" / "student")
    home = tmp_path_factory.mktemp("launcher-jupyter")
    folders = {name: home / name for name in ("config", "runtime", "data", "ipython")}
    for plugin, values in TEST_USER_SETTINGS.items():
        path = folders["config"] / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    recorded = home / "opened.txt"
    browser = home / "browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{recorded}"\n')
    browser.chmod(0o755)
    token = secrets.token_hex(16)
    env = {name: value for name, value in os.environ.items()
           if name not in {"JUPYTER_CONFIG_PATH", "NBGRADER_EXECUTION"}}
    env |= {"JUPYTER_CONFIG_DIR": str(folders["config"]),
            "JUPYTER_RUNTIME_DIR": str(folders["runtime"]),
            "JUPYTER_DATA_DIR": str(folders["data"]), "IPYTHONDIR": str(folders["ipython"]),
            "BROWSER": str(browser), "JUPYTER_TOKEN": token}
    log = home / "launcher.log"
    with log.open("wb") as out:
        launcher = subprocess.Popen([sys.executable, "-m", "week14.lab", "--port",
                                     str(_free_port())], cwd=course, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
    found = None
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while found is None and time.monotonic() < deadline and launcher.poll() is None:
            for info in folders["runtime"].glob("jpserver-*.json"):
                try:
                    url = json.loads(info.read_text())["url"]
                    urllib.request.urlopen(f"{url}api/status?token={token}", timeout=10).close()
                except (OSError, ValueError, KeyError):
                    continue
                if recorded.exists():
                    found = Launched(url, token, _opened_address(recorded.read_text()), course)
            time.sleep(0.5)
        assert found, (f"the launcher did not open a notebook within {START_TIMEOUT} s (exit "
                       f"code {launcher.poll()}):\n{log.read_text(errors='replace')[-3000:]}")
        yield found
    finally:
        children = descendants(launcher.pid)
        if found is not None:
            request = urllib.request.Request(f"{found.url}api/shutdown?token={token}",
                                             method="POST")
            try:
                urllib.request.urlopen(request, timeout=30).close()
            except OSError:
                pass
        try:
            launcher.wait(60)
        except subprocess.TimeoutExpired:
            launcher.send_signal(signal.SIGKILL)
            launcher.wait(30)
        for pid in filter(is_running, children):
            os.kill(pid, signal.SIGKILL)
        shutil.copy(log, artifacts / "launcher.log")


def test_the_launcher_opens_the_first_notebook_and_its_widget_works(
        launched: Launched, context: BrowserContext, artifacts: Path) -> None:
    first = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))[0]
    assert f"/lab/tree/week14/{first}?" in launched.opened, launched.opened
    cells = notebook_cells(NOTEBOOK_DIR / first)
    page = context.new_page()
    try:
        open_notebook(page, launched.opened, len(cells))
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
