"""The student launcher ``python -m week14.lab``: what it starts, and what it says when the
port is taken or the notebooks folder is missing (issue 19). Nothing here starts
JupyterLab; tests/browser/test_launcher_in_browser.py and tests/test_bundle.py do."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from week14 import lab

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course folder laid out as the bundle is: notebooks/week14, lab/student."""
    (tmp_path / "notebooks" / "week14").mkdir(parents=True)
    for name in ("02_b.ipynb", "01_a.ipynb"):
        (tmp_path / "notebooks" / "week14" / name).write_text("{}")
    (tmp_path / "notebooks" / "week14" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "notebooks" / "week14" / ".ipynb_checkpoints" / "00-checkpoint.ipynb"
     ).write_text("{}")
    shutil.copytree(REPO / "lab" / "student", tmp_path / "lab" / "student")
    return tmp_path


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something is listening on."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def launch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "week14.lab", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_a_taken_port_says_so_and_names_a_free_one(course, taken_port):
    done = launch("--port", str(taken_port), cwd=course)
    assert done.returncode == 1
    message = done.stderr
    assert f"port {taken_port} is already in use" in message, message
    suggested = int(message.rsplit("--port", 1)[1].split()[0])
    assert suggested != taken_port and lab.port_is_free(suggested), message
    assert "Ctrl+C" in message and "already running" in message


def test_a_taken_port_lists_the_jupyter_servers_already_running():
    servers = ["http://localhost:8888/lab?token=abc  (serving /home/student/week14-course)"]
    message = lab.port_taken_message(8888, servers, 8889)
    assert servers[0] in message and "open its address above" in message
    assert message.endswith("python -m week14.lab --port 8889")


def test_a_missing_notebooks_folder_says_where_it_looked_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(lab, "package_root", lambda: tmp_path / "site-packages")
    with pytest.raises(lab.LaunchError) as missing:
        lab.find_notebooks(None, tmp_path / "somewhere")
    message = str(missing.value)
    assert "no notebooks folder found" in message
    assert str(tmp_path / "somewhere" / "notebooks") in message
    assert str(tmp_path / "site-packages" / "notebooks") in message
    assert "cd week14-course" in message and "--notebooks" in message


def test_a_wrong_notebooks_option_is_named(tmp_path):
    done = launch("--notebooks", "no-such-folder", cwd=tmp_path)
    assert done.returncode == 1
    assert f"the notebooks folder {tmp_path / 'no-such-folder'} does not exist" in done.stderr
    assert "--notebooks" in done.stderr.split("What to do:")[1]
    empty = tmp_path / "empty"
    empty.mkdir()
    done = launch("--notebooks", "empty", cwd=tmp_path)
    assert done.returncode == 1 and "holds no notebooks" in done.stderr, done.stderr


def test_the_launch_serves_the_notebooks_with_the_student_configuration(course):
    launch_ = lab.prepare(None, 0, open_browser=False, cwd=course,
                          environ={"JUPYTER_CONFIG_PATH": "/mine", "HOME": "/home/x"})
    assert launch_.notebooks == (course / "notebooks").resolve()
    assert launch_.first_notebook == "week14/01_a.ipynb"
    assert launch_.config == (course / "lab" / "student").resolve()
    assert launch_.env["JUPYTER_CONFIG_PATH"] == os.pathsep.join(
        [str(launch_.config), "/mine"])
    assert launch_.env["HOME"] == "/home/x"
    command = launch_.command
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={launch_.notebooks}" in command
    assert "--LabApp.default_url=/lab/tree/week14/01_a.ipynb" in command
    assert "--ServerApp.port_retries=0" in command and "--no-browser" in command
    assert ("--allow-root" in command) == (os.name == "posix" and os.geteuid() == 0)


def test_paths_are_joined_with_the_systems_separator(monkeypatch):
    monkeypatch.setattr(os, "pathsep", ";")
    assert lab.config_path(Path("C:/course/lab/student"), r"D:\jupyter") == \
        str(Path("C:/course/lab/student")) + r";D:\jupyter"
    assert lab.config_path(None, None) == ""


def test_allow_root_only_for_root_on_posix(monkeypatch):
    monkeypatch.setattr(lab, "os", SimpleNamespace(name="nt"))
    assert not lab.runs_as_root()
    monkeypatch.setattr(lab, "os", SimpleNamespace(name="posix", geteuid=lambda: 0))
    assert lab.runs_as_root()
    monkeypatch.setattr(lab, "os", SimpleNamespace(name="posix", geteuid=lambda: 1000))
    assert not lab.runs_as_root()


def test_a_name_with_spaces_is_quoted_in_the_address():
    command = lab.lab_command(Path("/c"), "week 14/01 a.ipynb", 8888)
    assert "--LabApp.default_url=/lab/tree/week%2014/01%20a.ipynb" in command


def test_other_options_go_to_jupyter_lab_and_stray_words_are_refused(course, capsys):
    launch_ = lab.prepare(None, 0, cwd=course, extra=["--ServerApp.ip=0.0.0.0"])
    assert launch_.command[-1] == "--ServerApp.ip=0.0.0.0"
    with pytest.raises(SystemExit):
        lab.main(["stray"])
    assert "unexpected arguments: stray" in capsys.readouterr().err
