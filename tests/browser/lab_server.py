"""A JupyterLab server for the browser tests, isolated from the user's Jupyter set-up.

The server listens on 127.0.0.1 on a port the operating system picks (``--port=0``; the
real port is read back from the server's ``jpserver-<pid>.json``), requires a random
token, and keeps its configuration, runtime files (kernel connection files), data,
IPython profile, user settings and workspaces in a private folder. The lab
configuration under test (``lab/student``) is the only other entry on the Jupyter
config path.

Stopping is by process id only: the server's own PID gets SIGTERM (Jupyter then shuts
its kernels down), and every process that was its descendant before that — the
kernels — is then checked by PID and terminated if it survived.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab_launch import descendants, is_running

#: JupyterLab settings used only by the tests, written to the private user-settings
#: folder: every cell is rendered (no virtual scrolling, so a cell's DOM node exists
#: whatever the scroll position) and nothing is autosaved (the notebooks under test
#: are copies, but a run must never write outputs anywhere).
TEST_USER_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


def _terminate(pids: Sequence[int], timeout: float) -> list[int]:
    """SIGTERM each live PID, SIGKILL those still running after ``timeout``; return
    the PIDs that survived even that."""
    for pid in pids:
        if is_running(pid):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(map(is_running, pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in filter(is_running, pids):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    return [pid for pid in pids if is_running(pid)]


class LabApiError(RuntimeError):
    """The server answered a REST call with an HTTP error."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} /{path}: HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


@dataclass
class LabServer:
    """A running ``jupyter lab`` process; start it with :meth:`start`."""

    process: subprocess.Popen[bytes]
    url: str  # e.g. "http://127.0.0.1:41234/"
    token: str
    root_dir: Path
    log_path: Path

    @classmethod
    def start(cls, root_dir: Path, home: Path, config_path: Sequence[Path] = (), *,
              timeout: float = 240.0) -> LabServer:
        """Start JupyterLab serving ``root_dir``, with every Jupyter folder in ``home``.

        ``config_path`` is placed on ``JUPYTER_CONFIG_PATH`` (e.g. the student lab
        configuration). Waits until the REST API answers; raises ``RuntimeError`` with
        the end of the server log if it does not within ``timeout`` seconds.
        """
        folders = {name: home / name for name in ("config", "runtime", "data", "ipython")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        settings = folders["config"] / "lab" / "user-settings"
        for plugin, values in TEST_USER_SETTINGS.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(folders["config"]),
            "JUPYTER_RUNTIME_DIR": str(folders["runtime"]),
            "JUPYTER_DATA_DIR": str(folders["data"]),
            "IPYTHONDIR": str(folders["ipython"]),
            "JUPYTER_CONFIG_PATH": os.pathsep.join(str(p) for p in config_path),
        }
        env.pop("NBGRADER_EXECUTION", None)  # explore() would skip every widget
        token = secrets.token_hex(24)
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", "--port=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
            f"--LabApp.workspaces_dir={home / 'workspaces'}",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        log_path = home / "jupyterlab.log"
        with log_path.open("wb") as log:  # the server keeps its own copy of the descriptor
            process = subprocess.Popen(command, cwd=root_dir, env=env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        server = cls(process, "", token, root_dir, log_path)
        try:
            server._wait_until_ready(folders["runtime"], timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_until_ready(self, runtime_dir: Path, timeout: float) -> None:
        """Read the URL from ``jpserver-<pid>.json`` and wait until the REST API answers."""
        info_file = runtime_dir / f"jpserver-{self.process.pid}.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                self.url = json.loads(info_file.read_text())["url"]
                self.api("GET", "api/status")
                return
            # not written yet, half written, not listening yet, not ready yet
            except (OSError, ValueError, KeyError, LabApiError):
                time.sleep(0.25)
        raise RuntimeError(f"JupyterLab did not start within {timeout:.0f} s (exit code "
                           f"{self.process.poll()}); end of its log:\n{self.log_tail()}")

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the server's REST API (``path`` relative to the base URL); decoded JSON."""
        request = urllib.request.Request(
            self.url + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                content = response.read()
        except urllib.error.HTTPError as error:
            with error:  # closes the connection
                raise LabApiError(method, path, error.code, error.read().decode()) from None
        return json.loads(content) if content else None

    def lab_url(self, path: str, *, workspace: str) -> str:
        """URL opening ``path`` (relative to the root) in a fresh, named workspace.

        A workspace of its own means the page restores no tabs from earlier pages.
        """
        return f"{self.url}lab/workspaces/{workspace}/tree/{path}?token={self.token}"

    def shutdown_kernels(self) -> None:
        """Shut every running kernel down through the REST API (frees the CPU)."""
        for kernel in self.api("GET", "api/kernels"):
            self.api("DELETE", f"api/kernels/{kernel['id']}")

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's log."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> list[int]:
        """Stop the server and its kernels by PID; return the PIDs that survived."""
        children = descendants(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # Jupyter shuts its kernels down
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return _terminate(children, timeout)
