"""Run the student launcher (``python -m week14.lab``) as a student does, for the tests
that check it: in its own session, with private Jupyter folders, a known token, a free
port and a recording "browser" (``$BROWSER``) that notes the address the launcher asked
to open. Stopping asks the server to shut down, then kills whatever of its process tree
is left (Linux ``/proc``).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 240  # seconds: a first start on a loaded machine builds JupyterLab's caches


def _proc_stat(pid: int) -> tuple[int, str] | None:
    """(parent PID, state letter) of a live process, or ``None`` if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces.
    state, ppid = stat.rsplit(")", 1)[1].split()[:2]
    return int(ppid), state


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is not)."""
    stat = _proc_stat(pid)
    return stat is not None and stat[1] not in ("Z", "X")


def descendants(pid: int) -> list[int]:
    """PIDs of every live process below ``pid`` in the process tree (Linux ``/proc``)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None:
            parents.setdefault(stat[0], []).append(int(entry.name))
    found, frontier = [], [pid]
    while frontier:
        children = parents.get(frontier.pop(), [])
        found.extend(children)
        frontier.extend(children)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def jupyter_dirs(root: Path) -> dict[str, str]:
    """Private Jupyter and IPython folders, so nothing of this machine's set-up leaks in."""
    dirs = {"JUPYTER_CONFIG_DIR": root / "config", "JUPYTER_RUNTIME_DIR": root / "runtime",
            "JUPYTER_DATA_DIR": root / "data", "IPYTHONDIR": root / "ipython"}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return {name: str(path) for name, path in dirs.items()}


@dataclass(frozen=True)
class Launched:
    """The launcher's JupyterLab: its address and token, what the launcher asked the
    browser to open, and the launcher's log."""

    url: str
    token: str
    opened: str
    log: Path

    def get(self, path: str) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path,
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read()


@contextmanager
def launched(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], home: Path
             ) -> Iterator[Launched]:
    """Run ``command`` (the launcher, with ``--port``) in ``cwd`` with ``env`` and the
    Jupyter folders of ``home`` (:func:`jupyter_dirs`); yield once its server answers
    and it has asked the browser to open a page; stop it and its whole tree after."""
    recorded, browser = home / "opened.txt", home / "browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{recorded}"\n')
    browser.chmod(0o755)
    token = secrets.token_hex(16)
    env = {**env, **jupyter_dirs(home), "BROWSER": str(browser), "JUPYTER_TOKEN": token}
    log = home / "launcher.log"
    with log.open("wb") as out:
        launcher = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
    found = None
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while found is None and time.monotonic() < deadline and launcher.poll() is None:
            for info in Path(env["JUPYTER_RUNTIME_DIR"]).glob("jpserver-*.json"):
                try:
                    server = Launched(json.loads(info.read_text())["url"], token, "", log)
                    if server.get("api/status")[0] == 200 and recorded.exists():
                        found = Launched(server.url, token, recorded.read_text(), log)
                except (OSError, ValueError, KeyError):
                    continue
            time.sleep(0.5)
        assert found, (f"the launcher did not serve and open a page within {START_TIMEOUT} s "
                       f"(exit code {launcher.poll()}):\n"
                       f"{log.read_text(errors='replace')[-3000:]}")
        yield found
    finally:
        children = descendants(launcher.pid)
        if found is not None:
            request = urllib.request.Request(found.url + "api/shutdown", method="POST",
                                             headers={"Authorization": f"token {token}"})
            try:
                urllib.request.urlopen(request, timeout=30).close()
            except OSError:
                pass
        try:
            launcher.wait(60)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait(30)
        for pid in filter(is_running, children):
            os.kill(pid, signal.SIGKILL)
