"""Run a student's notebook kernel in a sandbox.

nbgrader executes a submission in an IPython kernel started as the grading user. Here
that kernel is started instead through Debian's bubblewrap (``bwrap``), when it works on
this machine, as:

    timeout -s KILL WALL  prlimit --as=MEMORY  bwrap ...  python -m ipykernel_launcher ...

- **filesystem**: everything read-only; a private ``/tmp``; the course folder (class
  gradebook, other students, the grader's scratch files), ``solutions/`` and the
  repository's ``.git`` hidden under empty tmpfs mounts; one writable scratch folder
  that holds no notebook (the kernel's working folder);
- **network**: none (a new network namespace); the kernel talks to nbgrader through
  Unix sockets in its scratch folder (ZeroMQ's ``ipc`` transport);
- **identity**: uid/gid 65534 (nobody) inside a new user namespace, its own process
  tree (``--unshare-pid``), killed with its parent;
- **limits**: address space (``prlimit --as``, a large allocation raises
  ``MemoryError``), and a wall-clock limit for the whole notebook (``timeout``) on top of
  nbgrader's per-cell timeout.

Without bwrap (no user namespaces), only the limits apply: :func:`isolation` says which.
Interrupts go to the kernel as messages (``interrupt_mode = "message"``), because
signals do not cross into the sandbox's process tree.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path

import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Integer, List, Unicode, default

NOBODY = "65534"


@functools.cache
def bwrap_works() -> bool:
    """True when bubblewrap can build the sandbox on this machine."""
    if shutil.which("bwrap") is None:
        return False
    probe = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
             "--unshare-all", "--uid", NOBODY, "--gid", NOBODY, "--die-with-parent", "true"]
    return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0


def isolation() -> str:
    """One line for the summary: how submissions are isolated on this machine."""
    if bwrap_works():
        return ("sandboxed: bubblewrap, read-only files, course and solutions hidden, "
                "no network, uid 65534, memory and time limits")
    return ("NOT sandboxed (bubblewrap unavailable: install Debian's bubblewrap, and allow "
            "user namespaces): answers are checked before running and memory and time "
            "are limited, but a submission could read or write the grader's files")


def sandbox_command(cmd: list[str], *, workdir: str, hidden: list[str], readable: list[str],
                    memory: int, wall: int) -> list[str]:
    """Wrap a kernel command line ``cmd`` in the limits and, when available, bwrap."""
    limits = ["timeout", "--signal=KILL", str(wall), "prlimit", f"--as={memory}", "--"]
    if not bwrap_works():
        return [*limits, *cmd]
    box = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
           "--tmpfs", "/tmp"]
    for path in readable:  # what the kernel needs, even if it lives under /tmp
        box += ["--ro-bind", path, path]
    for path in hidden:
        box += ["--tmpfs", path]
    box += ["--bind", workdir, workdir]
    for path in hidden:  # read-only once the working folder is mounted inside
        box += ["--remount-ro", path]
    box += ["--chdir", workdir,
            "--unshare-all", "--uid", NOBODY, "--gid", NOBODY,
            "--die-with-parent", "--new-session",
            # pid 1 means "no parent to watch" to ipykernel: inside the sandbox's own
            # process tree the real parent is invisible.
            "--setenv", "JPY_PARENT_PID", "1",
            "--setenv", "HOME", workdir,
            # Graders run notebooks side by side: one BLAS thread each is fastest.
            "--setenv", "OPENBLAS_NUM_THREADS", "1",
            "--setenv", "IPYTHONDIR", f"{workdir}/.ipython",
            "--setenv", "MPLCONFIGDIR", f"{workdir}/.matplotlib", "--"]
    return [*limits, *box, *cmd]


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel with :func:`sandbox_command`."""

    workdir = Unicode(help="the kernel's writable working folder").tag(config=True)
    hidden = List(Unicode(), help="folders the kernel must not see").tag(config=True)
    readable = List(Unicode(), help="folders the kernel needs to read").tag(config=True)
    memory = Integer(2 * 1024**3, help="address-space limit in bytes").tag(config=True)
    wall = Integer(600, help="seconds the kernel may live (one notebook)").tag(config=True)

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc"

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        # One ZeroMQ context for the whole grading process, never destroyed: when a
        # kernel dies, jupyter_client can leave sockets open, and a per-kernel context
        # garbage-collected later blocks forever in Context.term (seen here: a grading
        # worker hung inside an unrelated SQLAlchemy call).
        return zmq.asyncio.Context.instance()

    def client(self, **kwargs):
        kwargs.setdefault("context", self.context)
        return super().client(**kwargs)

    @default("ip")
    def _ip_default(self) -> str:
        return str(Path(self.workdir) / "kernel")

    @default("connection_file")
    def _connection_file_default(self) -> str:
        return str(Path(self.workdir) / "kernel.json")

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        return sandbox_command(cmd, workdir=self.workdir, hidden=list(self.hidden),
                               readable=list(self.readable), memory=self.memory,
                               wall=self.wall)


class SandboxedExecute(Execute):
    """nbgrader's Execute preprocessor with the kernel started in the sandbox."""

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)


def prepare_workdir(workdir: Path) -> None:
    """Create the kernel's scratch folder, with matplotlib's font cache copied in so
    every kernel does not rebuild it."""
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib

        cache = Path(matplotlib.get_cachedir())
    except Exception:  # noqa: BLE001 - a missing cache only costs time
        return
    target = workdir / ".matplotlib"
    target.mkdir(exist_ok=True)
    for font_list in cache.glob("fontlist-*.json"):
        shutil.copy(font_list, target / font_list.name)


def readable_paths(repo: Path) -> list[str]:
    """Folders a kernel must be able to read: the repository (for week14) and Python."""
    paths = {str(repo), sys.prefix, sys.base_prefix}
    return sorted(p for p in paths if Path(p).exists())
