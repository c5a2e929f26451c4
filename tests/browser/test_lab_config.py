"""The lab configurations in lab/: what students and instructors get from `make lab` and
`make lab-instructor`.

Students (``lab/student``, the configuration the browser tests' server runs with): the
nbgrader instructor plugins (formgrader, create assignment, course list) and the news
pop-up are disabled and locked, and the formgrader's server side is off. Instructors
(``lab/instructor``): nbgrader's tools stay, with the course's nbgrader configuration.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest
from lab_paths import INSTRUCTOR_CONFIG, REPO, STUDENT_CONFIG
from lab_server import LabApiError

INSTRUCTOR_PLUGINS = {
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
}
NEWS_PLUGIN = "@jupyterlab/apputils-extension:announcements"


def served_page_config(lab) -> dict:
    """The page configuration JupyterLab embeds in its page for the browser."""
    with urllib.request.urlopen(f"{lab.url}lab?token={lab.token}", timeout=30) as response:
        html = response.read().decode()
    match = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                      html, re.DOTALL)
    assert match, "no jupyter-config-data in the /lab page"
    return json.loads(match.group(1))


def test_students_lab_disables_and_locks_the_instructor_plugins(lab):
    config = served_page_config(lab)
    assert INSTRUCTOR_PLUGINS | {NEWS_PLUGIN} <= set(config["disabledExtensions"])
    assert config["news"] == {"disabled": True}
    locks = lab.api("GET", "lab/api/plugins")
    assert INSTRUCTOR_PLUGINS | {NEWS_PLUGIN} <= set(locks["lockRules"]), locks
    with pytest.raises(LabApiError) as refused:
        lab.api("POST", "lab/api/plugins",
                {"cmd": "enable", "plugin_name": "@jupyter/nbgrader:formgrader"})
    assert "locked" in refused.value.body.lower(), refused.value


def test_students_server_has_no_formgrader(lab):
    with pytest.raises(LabApiError) as missing:
        lab.api("GET", "formgrader")
    assert missing.value.status == 404, missing.value


def test_students_see_no_instructor_tools_and_no_news(lab, page):
    page.goto(f"{lab.url}lab/workspaces/menus/tree/week14?token={lab.token}")
    page.locator("li.lm-MenuBar-item", has_text=re.compile(r"^\s*Nbgrader\s*$")).click()
    items = page.locator(".lm-Menu li.lm-Menu-item:not(.lm-mod-hidden)").all_inner_texts()
    assert [item.strip() for item in items if item.strip()] == ["Assignment List"]
    page.keyboard.press("Escape")
    tabs = page.locator(".jp-SideBar .lm-TabBar-tab").evaluate_all(
        "tabs => tabs.map(t => t.getAttribute('title') ?? t.innerText)")
    assert not [t for t in tabs if "Nbgrader" in t], tabs
    assert not page.get_by_text("official Jupyter news").count()


def test_instructor_config_keeps_nbgrader_and_loads_the_course(monkeypatch, tmp_path):
    """lab/instructor disables only the news, and its nbgrader_config.py is the course's."""
    from jupyterlab_server.config import get_static_page_config
    from traitlets.config.loader import PyFileConfigLoader

    from autograder.config import SOURCE_DIR

    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(INSTRUCTOR_CONFIG))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))  # not the user's own
    disabled = get_static_page_config(level="all").get("disabledExtensions", {})
    assert {name for name, off in disabled.items() if off} == {NEWS_PLUGIN}

    monkeypatch.setattr(sys, "path", list(sys.path))  # the config file extends sys.path
    config = PyFileConfigLoader("nbgrader_config.py", path=str(INSTRUCTOR_CONFIG)).load_config()
    assert config.CourseDirectory.source_directory == str(SOURCE_DIR)


def make_dry_run(target: str) -> str:
    return subprocess.run(["make", "--dry-run", "--no-print-directory", "-C", str(REPO),
                           target], capture_output=True, text=True, check=True).stdout


def test_make_lab_instructor_opens_the_first_source_notebook_with_its_config():
    notebooks = sorted(p.name for p in (REPO / "solutions" / "week14").glob("*.ipynb"))
    command = make_dry_run("lab-instructor")
    assert f'JUPYTER_CONFIG_PATH="{INSTRUCTOR_CONFIG}' in command
    assert f"--LabApp.default_url=/lab/tree/solutions/week14/{notebooks[0]}\n" in command


def test_make_lab_runs_the_launcher_with_the_student_config(monkeypatch):
    """`make lab` is the launcher (week14/lab.py), which puts the student configuration
    first on the config path and opens the first student notebook."""
    from week14 import lab

    assert ".venv/bin/python -m week14.lab" in make_dry_run("lab")
    monkeypatch.chdir(REPO)
    launch = lab.prepare(port=0)  # any free port: 8888 may be in use here
    assert launch.env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0] == str(STUDENT_CONFIG)
    first = sorted(p.name for p in (REPO / "notebooks" / "week14").glob("*.ipynb"))[0]
    assert launch.first_notebook == f"week14/{first}"

