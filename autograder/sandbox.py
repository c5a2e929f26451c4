"""Run a student's notebook kernels in a sandbox.

nbgrader executes a submission in an IPython kernel started as the grading user. Here
each student gets a sandbox instead, started with Debian's bubblewrap (``bwrap``) when
it works on this machine, as:

    timeout -s KILL WALL  prlimit --as=MEMORY  bwrap ...  python -m autograder.zygote serve

and every kernel of that student is forked inside it by the zygote
(:mod:`autograder.zygote`), a fresh process per notebook:

- **filesystem**: everything read-only; a private ``/tmp``; the course folder (class
  gradebook, other students, the grader's scratch files), ``solutions/`` and the
  repository's ``.git`` hidden under empty tmpfs mounts; one writable scratch folder
  that holds no notebook (the kernels' working folder);
- **network**: none (a new network namespace); a kernel talks to nbgrader through
  Unix sockets in the scratch folder (ZeroMQ's ``ipc`` transport);
- **identity**: uid/gid 65534 (nobody) inside a new user namespace, its own process
  tree (``--unshare-pid``), killed with its parent; the sandbox ends with the
  student's grading, so nothing passes from one student to the next;
- **limits**: address space (``prlimit --as``, per kernel: a large allocation raises
  ``MemoryError``); a wall-clock limit per notebook (``timeout`` on the kernel's
  command, whose end kills the kernel) and for the whole sandbox, on top of
  nbgrader's per-cell timeout.

Without bwrap (no user namespaces), only the limits apply: :func:`isolation` says which.
Interrupts go to the kernel as messages (``interrupt_mode = "message"``), because
signals do not cross into the sandbox's process tree.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, Unicode, default

from autograder.zygote import LIBRARY_COPY, sandbox_env

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
        return ("sandboxed: tests in a checker process apart from the answers; answers in "
                "bubblewrap per student, read-only files, course and solutions hidden, no "
                "network, uid 65534, memory and time limits, a fresh kernel per notebook")
    return ("NOT sandboxed (bubblewrap unavailable: install Debian's bubblewrap, and allow "
            "user namespaces): tests still run in a checker process apart from the "
            "answers, and memory and time are limited, but a submission could read or "
            "write the grader's files")


#: week14's folder, hidden from a sandbox (its copy goes to LIBRARY_COPY there).
LIBRARY = Path(__import__("week14").__file__).resolve().parent


def sandbox_command(cmd: list[str], *, workdir: str, hidden: list[str], readable: list[str],
                    memory: int, wall: int, sandboxed: bool = True) -> list[str]:
    """Wrap the command line ``cmd`` (the zygote's) in the limits, a fixed minimal
    environment (nothing of the grader's) and, when ``sandboxed`` and available,
    bwrap, with ``workdir`` its only writable folder."""
    env = ["env", "-i", *(f"{key}={value}" for key, value in sandbox_env(workdir).items())]
    limits = ["timeout", "--signal=KILL", str(wall), "prlimit", f"--as={memory}", "--", *env]
    if not (sandboxed and bwrap_works()):
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
            "--die-with-parent", "--new-session"]
    return [*limits, *box, "--", *cmd]


@dataclass(frozen=True)
class ZygoteAddress:
    """Where a running zygote listens: its kernels' folder and its Unix socket."""

    workdir: Path
    socket: str


class Zygote:
    """One student's sandbox, with the zygote that forks their kernels waiting in it.

    ``workdir`` is the kernels' writable folder (short: it holds Unix sockets, whose
    paths may not exceed 107 bytes); ``wall`` limits the whole sandbox's life. With
    ``sandboxed=False`` it is the checker's zygote: the same limits and environment,
    no bwrap (it runs only the instructor's code).
    """

    def __init__(self, workdir: Path, *, hidden: list[str], readable: list[str],
                 memory: int, wall: int, sandboxed: bool = True):
        self.workdir = workdir
        # The zygote's log is written by the grader: never in the folder the student's
        # code can write (a symbolic link planted there would send it anywhere).
        self._log = Path(tempfile.mkdtemp(prefix="week14-log-")) / "zygote.log"
        self.socket = str(workdir / "zygote")
        serve = [sys.executable, "-m", "autograder.zygote", "serve", self.socket]
        self._library = sandboxed and bwrap_works()
        self._command = sandbox_command(
            serve if sandboxed else [*serve, "--checker"],
            workdir=str(workdir), hidden=hidden, readable=readable, memory=memory,
            wall=wall, sandboxed=sandboxed)
        self._process: subprocess.Popen | None = None

    @property
    def address(self) -> ZygoteAddress:
        return ZygoteAddress(self.workdir, self.socket)

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the sandbox; :meth:`ready` waits until the zygote listens. In a
        sandbox, week14's own folder is hidden: the zygote imports week14 from a copy
        in the sandbox's folder and deletes it (:func:`autograder.zygote.serve`), so
        its kernels hold week14 only as the modules it imported, never as source to
        read or reload (:func:`week14.remote.strip` then takes the reference code of a
        notebook's exercises out of them)."""
        self.stop()
        Path(self.socket).unlink(missing_ok=True)
        if self._library:
            copy = self.workdir / LIBRARY_COPY / "week14"
            shutil.copytree(LIBRARY, copy, dirs_exist_ok=True)
            for folder in [copy, *(p for p in copy.rglob("*") if p.is_dir())]:
                folder.chmod(0o777)  # the zygote, uid 65534 inside, deletes it
        with self._log.open("wb") as out:
            self._process = subprocess.Popen(self._command, stdin=subprocess.DEVNULL,
                                             stdout=out, stderr=out, start_new_session=True)

    def ready(self, timeout: float = 120) -> None:
        """Wait until the zygote listens (its imports done)."""
        log = self._log
        deadline = time.monotonic() + timeout
        while not Path(self.socket).exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the kernel sandbox did not start:\n"
                                   f"{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Kill the zygote's whole process group (``timeout`` and the zygote, or
        bwrap's sandbox); its kernels die with it (``autograder.zygote._kernel``)."""
        if self._process is not None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._process.wait()
            self._process = None

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self._log.parent, ignore_errors=True)


#: Every graded kernel: short tracebacks (the error's line, not a page of frames) and no
#: history database (nothing reads it; it costs a SQLite file and a thread per kernel).
KERNEL_ARGUMENTS = ("--InteractiveShell.xmode=Minimal", "--HistoryManager.enabled=False")


class ZygoteKernelClient(AsyncKernelClient):
    """jupyter_client's client, ready as soon as the kernel answers ``kernel_info`` and
    IOPub carries its messages, without jupyter_client's final wait for IOPub to stay
    silent for 0.2 s (0.2 s of every graded kernel's start; later messages of other
    requests are ignored by nbclient anyway)."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or 60.0)
        while time.monotonic() < deadline:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
                if reply["msg_type"] == "kernel_info_reply":
                    await self.iopub_channel.get_msg(timeout=0.2)  # IOPub is connected
                    self._handle_kernel_info_reply(reply)
                    return
            except Empty:
                if not await self._async_is_alive():
                    raise RuntimeError("the kernel died before replying to kernel_info") from None
        raise RuntimeError(f"the kernel did not answer within {timeout} s")


class ZygoteKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels are forked by a :class:`Zygote`: the kernel
    command asks the zygote for a kernel and lives as long as it, within ``wall``."""

    workdir = Unicode(help="the kernels' writable working folder").tag(config=True)
    zygote = Unicode(help="the Unix socket of the student's zygote").tag(config=True)
    wall = Integer(600, help="seconds the kernel may live (one notebook)").tag(config=True)

    @default("client_factory")
    def _client_factory_default(self) -> type:
        return ZygoteKernelClient

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc"

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        # One ZeroMQ context for the whole grading process, never destroyed: when a
        # kernel dies, jupyter_client can leave sockets open, and a per-kernel context
        # garbage-collected later blocks forever in Context.term (seen here: a grading
        # worker hung inside an unrelated SQLAlchemy call).
        context = zmq.asyncio.Context.instance()
        # At most 100 unread messages per socket (an output flood is dropped, not
        # queued). No ZMQ_MAXMSGSIZE: a kernel disconnected for one large reply left the
        # grader blocked in its next send (a 5 MB exception message hung a worker); a
        # message is bounded by the kernel's memory limit instead.
        context.setsockopt(zmq.RCVHWM, 100)
        return context

    def client(self, **kwargs):
        kwargs.setdefault("context", self.context)
        return super().client(**kwargs)

    @default("ip")
    def _ip_default(self) -> str:
        return str(Path(self.workdir) / f"k{self._tag}")

    @default("connection_file")
    def _connection_file_default(self) -> str:
        return str(Path(self.workdir) / f"kernel-{self._tag}.json")

    @functools.cached_property
    def _tag(self) -> str:
        """Names this kernel's files apart from other kernels forked by the zygote."""
        return secrets.token_hex(4)

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)  # python -m ipykernel_launcher -f ..
        return ["timeout", "--signal=KILL", str(self.wall), sys.executable, "-m",
                "autograder.zygote", "connect", self.zygote, *cmd[cmd.index("-f"):],
                *KERNEL_ARGUMENTS]


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
