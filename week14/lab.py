"""Start JupyterLab on the student notebooks: ``python -m week14.lab`` (or ``week14-lab``).

The launcher works the same on Windows, macOS and Linux, with Python alone:

- it serves the ``notebooks`` folder (``--notebooks PATH``; by default ``notebooks/``
  in the current folder, else next to the ``week14`` package) and opens its first
  notebook in the browser;
- it puts the student JupyterLab configuration ``lab/student`` (found next to the
  notebooks folder, else next to the package) first on ``JUPYTER_CONFIG_PATH``, joined
  with ``os.pathsep`` (``;`` on Windows, ``:`` elsewhere), so nothing in the
  environment or in the student's own ``~/.jupyter`` is changed;
- it listens on ``--port`` (8888 unless told otherwise) and, when that port is taken,
  says so and what to do instead of letting JupyterLab quietly move to another port;
- it adds ``--allow-root`` when run as root on a POSIX system (containers).

Any other ``--Option=value`` is passed to ``jupyter lab`` as it is. The module imports
only the standard library, nothing POSIX-only; ``jupyter_server`` is imported only to
list the servers already running when the port is taken.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

#: The port JupyterLab uses unless told otherwise (Jupyter's own default).
DEFAULT_PORT = 8888
#: The notebooks folder and the student configuration, relative to the course folder.
NOTEBOOKS = "notebooks"
STUDENT_CONFIG = Path("lab") / "student"
#: How the student runs this, in messages.
COMMAND = "python -m week14.lab"


class LaunchError(Exception):
    """Something the student has to fix before JupyterLab can start; the message says
    what and how."""


@dataclass(frozen=True)
class Launch:
    """Everything needed to start JupyterLab: the command line and its environment."""

    command: list[str]
    env: dict[str, str]
    notebooks: Path
    first_notebook: str  # relative to ``notebooks``, with ``/``
    config: Path | None  # the student configuration folder, if found


def package_root() -> Path:
    """The folder that holds the ``week14`` package: the course folder when the package
    is used from its source (an editable install, the unzipped bundle, a checkout)."""
    return Path(__file__).resolve().parent.parent


def _unique(paths: Sequence[Path]) -> list[Path]:
    seen: list[Path] = []
    for path in paths:
        if path.resolve() not in [p.resolve() for p in seen]:
            seen.append(path)
    return seen


def find_notebooks(requested: Path | None, cwd: Path) -> Path:
    """The notebooks folder to serve: ``requested`` if given, else ``notebooks/`` in
    ``cwd``, else next to the package. Raises :class:`LaunchError` naming the fix."""
    if requested is not None:
        folder = cwd / requested
        if folder.is_dir():
            return folder.resolve()
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise LaunchError(
            f"the notebooks folder {folder} {problem}.\n"
            "What to do:\n"
            "  - check the path given to --notebooks: it is the folder that holds the\n"
            "    week14 folder of notebooks (e.g. --notebooks week14-course/notebooks), or\n"
            "  - leave --notebooks out and run the command from the course folder.")
    candidates = _unique([cwd / NOTEBOOKS, package_root() / NOTEBOOKS])
    for folder in candidates:
        if folder.is_dir():
            return folder.resolve()
    looked = "\n".join(f"    {folder}" for folder in candidates)
    raise LaunchError(
        f"no notebooks folder found. Looked for:\n{looked}\n"
        "What to do:\n"
        "  - run the command from the course folder, the one that holds notebooks/ and\n"
        "    README.md (after unzipping the student bundle: cd week14-course), or\n"
        f"  - name the folder: {COMMAND} --notebooks PATH/TO/notebooks")


def first_notebook(notebooks: Path) -> str:
    """The first notebook under ``notebooks`` in name order (checkpoints skipped), as a
    path relative to it with ``/`` separators."""
    found = sorted(
        path.relative_to(notebooks).as_posix() for path in notebooks.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.parts)
    if not found:
        raise LaunchError(
            f"the folder {notebooks} holds no notebooks (.ipynb files).\n"
            "What to do: point --notebooks at the course's notebooks folder (it holds\n"
            "week14/01_feedforward.ipynb and the others), or unzip the bundle again.")
    return found[0]


def find_student_config(notebooks: Path) -> Path | None:
    """``lab/student`` next to the notebooks folder, else next to the package."""
    for root in _unique([notebooks.parent, package_root()]):
        if (root / STUDENT_CONFIG).is_dir():
            return (root / STUDENT_CONFIG).resolve()
    return None


def config_path(student_config: Path | None, inherited: str | None) -> str:
    """``JUPYTER_CONFIG_PATH`` with the student configuration first, then whatever was
    already set, joined with this system's separator."""
    parts = [str(student_config)] if student_config is not None else []
    if inherited:
        parts.append(inherited)
    return os.pathsep.join(parts)


def runs_as_root() -> bool:
    """Whether this process is root on a POSIX system (JupyterLab then needs
    ``--allow-root``). Always ``False`` on Windows."""
    geteuid = getattr(os, "geteuid", None)
    return os.name == "posix" and geteuid is not None and geteuid() == 0


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``host:port`` now (as JupyterLab would)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if os.name != "nt":  # as Tornado does; on Windows the option would steal the port
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port_after(port: int, tries: int = 50) -> int | None:
    """The first free port after ``port``, or ``None`` if the next ``tries`` are taken."""
    return next((p for p in range(port + 1, min(port + 1 + tries, 65536)) if port_is_free(p)),
                None)


def running_servers() -> list[str]:
    """Addresses (with their tokens) of the Jupyter servers this user runs, as
    ``jupyter server list`` shows them; empty if that cannot be told."""
    try:
        from jupyter_server.serverapp import list_running_servers

        servers = list(list_running_servers())
    except Exception:  # only used to help with a message
        return []
    lines = []
    for server in servers:
        url = server.get("url", "")
        token = server.get("token")
        address = f"{url}lab?token={token}" if token else f"{url}lab"
        lines.append(f"{address}  (serving {server.get('root_dir', '?')})")
    return lines


def port_taken_message(port: int, servers: Sequence[str], suggestion: int | None) -> str:
    """What to tell a student whose port is in use, and what to do about it."""
    lines = [f"port {port} is already in use on this computer, so JupyterLab cannot "
             "start there."]
    if servers:
        lines.append("Jupyter servers already running:")
        lines += [f"    {server}" for server in servers]
    lines.append("What to do:")
    if servers:
        lines.append("  - use the JupyterLab already running: open its address above in your\n"
                     "    browser; or stop it with Ctrl+C in its window and run this again, or")
    else:
        lines.append("  - if JupyterLab is already running (in another terminal window), use\n"
                     "    that one, or stop it there with Ctrl+C and run this again, or")
    other = suggestion if suggestion is not None else port + 1
    lines.append(f"  - start on another port: {COMMAND} --port {other}")
    return "\n".join(lines)


def lab_command(notebooks: Path, first: str, port: int, *, open_browser: bool = True,
                allow_root: bool = False, extra: Sequence[str] = (),
                python: str = sys.executable) -> list[str]:
    """The ``jupyter lab`` command line: serve ``notebooks``, open ``first`` (a path
    relative to it), listen on ``port`` and nowhere else (no silent move to the next
    port), and pass ``extra`` options through."""
    command = [
        python, "-m", "jupyterlab",
        f"--ServerApp.root_dir={notebooks}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--LabApp.default_url=/lab/tree/{quote(first)}",
    ]
    if not open_browser:
        command.append("--no-browser")
    if allow_root:
        command.append("--allow-root")
    return command + list(extra)


def prepare(notebooks: Path | None = None, port: int = DEFAULT_PORT, *,
            open_browser: bool = True, extra: Sequence[str] = (),
            cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> Launch:
    """Check everything a launch needs and build it; raises :class:`LaunchError` with
    the fix for a missing notebooks folder, a taken port or a missing JupyterLab."""
    cwd = Path.cwd() if cwd is None else cwd
    environ = os.environ if environ is None else environ
    if importlib.util.find_spec("jupyterlab") is None:
        raise LaunchError(
            f"JupyterLab is not installed for this Python ({sys.executable}).\n"
            "What to do: in the course folder, with the course's environment active, run\n"
            "    python -m pip install -e .")
    folder = find_notebooks(notebooks, cwd)
    first = first_notebook(folder)
    if port != 0 and not port_is_free(port):
        raise LaunchError(port_taken_message(port, running_servers(), free_port_after(port)))
    config = find_student_config(folder)
    env = dict(environ)
    env["JUPYTER_CONFIG_PATH"] = config_path(config, environ.get("JUPYTER_CONFIG_PATH"))
    command = lab_command(folder, first, port, open_browser=open_browser,
                          allow_root=runs_as_root(), extra=extra)
    return Launch(command, env, folder, first, config)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m week14.lab``."""
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Start JupyterLab on the week 14 notebooks with the student "
                    "configuration and open the first notebook. Other --Option=value "
                    "arguments are passed to `jupyter lab`.")
    parser.add_argument("--notebooks", type=Path, default=None, metavar="PATH",
                        help="the notebooks folder (default: notebooks/ in the current "
                             "folder, else next to the week14 package)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"the port to listen on (default {DEFAULT_PORT}; 0: any free "
                             "port)")
    parser.add_argument("--no-browser", dest="open_browser", action="store_false",
                        help="do not open a browser; JupyterLab prints the address")
    return parser


def run(launch: Launch) -> int:
    """Run JupyterLab in the foreground until it stops; its exit code.

    Ctrl+C reaches JupyterLab too (same console), which asks to confirm; this process
    waits for it to finish rather than leaving it behind.
    """
    print(f"Starting JupyterLab on {launch.notebooks}, opening {launch.first_notebook}.")
    print(f"Student configuration: {launch.config or 'not found (lab/student)'}")
    print("Stop it with Ctrl+C in this window (twice, or answer y).", flush=True)
    with subprocess.Popen(launch.command, env=launch.env) as process:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                continue


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m week14.lab`` and ``week14-lab``; the exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    unknown = [arg for arg in extra if not arg.startswith("--")]
    if unknown:
        parser.error(f"unexpected arguments: {' '.join(unknown)}")
    try:
        launch = prepare(args.notebooks, args.port, open_browser=args.open_browser,
                         extra=extra)
    except LaunchError as error:
        print(f"week14-lab: {error}", file=sys.stderr)
        return 1
    if launch.config is None:
        print("week14-lab: warning: the student configuration (lab/student) was not found "
              "next to the notebooks folder; JupyterLab starts with its defaults.",
              file=sys.stderr)
    return run(launch)


if __name__ == "__main__":
    sys.exit(main())
