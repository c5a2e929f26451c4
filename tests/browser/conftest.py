"""Fixtures for the browser tests: one JupyterLab server and one Chromium per session.

The server serves a temporary copy of the student notebooks (``notebooks/week14``,
or ``$BROWSER_TEST_NOTEBOOKS`` while developing against a private release) next to
this folder's ``fixtures/``, with the student lab configuration ``lab/student`` and
private Jupyter folders (see ``lab_server``). Chromium is Debian's
``/usr/bin/chromium``; Playwright never downloads a browser. Screenshots and the
server log go to ``artifacts/browser/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_paths import ARTIFACTS, FIXTURES, HERE, NOTEBOOK_DIR, STUDENT_CONFIG
from lab_server import LabServer
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # we may run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 1000}
DEFAULT_TIMEOUT_MS = 120_000  # the machine is shared and slow


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``browser`` (deselect with ``-m "not browser"``)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives JupyterLab in Chromium (tests/browser; slow)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item, so ``page`` can screenshot a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``artifacts/browser/``, emptied at the start of the session."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[LabServer]:
    """JupyterLab serving ``week14/`` (the student notebooks) and ``fixtures/``."""
    home = tmp_path_factory.mktemp("jupyterlab")
    root = home / "root"
    root.mkdir()
    shutil.copytree(NOTEBOOK_DIR, root / "week14")
    shutil.copytree(FIXTURES, root / "fixtures")
    server = LabServer.start(root, home / "jupyter", [STUDENT_CONFIG])
    yield server
    survivors = server.stop()
    shutil.copy(server.log_path, artifacts / "jupyterlab.log")
    assert not survivors, f"processes of the JupyterLab server still running: {survivors}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, with a fresh profile (Playwright makes one)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def context(browser: Browser) -> Iterator[BrowserContext]:
    """One browser context, so JupyterLab's scripts are cached between pages."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, context: BrowserContext, lab: LabServer,
         artifacts: Path) -> Iterator[Page]:
    """A new tab; afterwards its kernels are shut down, and a failure is screenshotted."""
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=artifacts / f"FAILED-{name}.png")
    page.close()
    lab.shutdown_kernels()
