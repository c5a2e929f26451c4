"""Run a student's notebook kernels in a sandbox.

nbgrader executes a submission in an IPython kernel started as the grading user. Here
each student gets a sandbox instead, started with Debian's bubblewrap (``bwrap``), as

    [control group]  setpriv --pdeathsig KILL  timeout -s KILL WALL  prlimit ...
        env -i ...  bwrap ...  python -m autograder.zygote serve

and every kernel of that student is forked inside it by the zygote
(:mod:`autograder.zygote`), a fresh process per notebook:

- **filesystem**: a minimal view, read-only: the system's ``/usr`` (programs and
  libraries), a few files of ``/etc``, the Python environment and the grader's own
  package; nothing else of the host (no home folders, no course, no ``/run`` and its
  sockets, no solutions, no week14 source: see :meth:`Zygote.start`). Writable: the
  kernels' working folder (on the host a tmpfs of ``Limits.disk`` bytes, mounted by
  :func:`scratch_folder` where the grader may mount), ``/tmp`` and ``/dev/shm`` (tmpfs of
  ``Limits.disk`` bytes each, bwrap's ``--size``);
- **network**: none (a new network namespace); a kernel talks to nbgrader through
  Unix sockets in the working folder (ZeroMQ's ``ipc`` transport);
- **identity**: uid/gid 65534 (nobody) with no capabilities inside a new user
  namespace, its own process tree (``--unshare-pid``); the sandbox ends with the
  student's grading, and dies with the grading process (``--pdeathsig``,
  ``--die-with-parent``), so nothing passes from one student to the next;
- **limits for the whole process tree** (:mod:`autograder.cgroup`, where the machine
  allows control groups): memory (tmpfs files included), processes and threads, one
  core of CPU; per process: address space (``prlimit --as``: a large allocation raises
  ``MemoryError``), no core files; a wall-clock limit per notebook and for the sandbox.

:func:`isolation` says what of this holds on this machine, and why not where it does
not. Interrupts go to the kernel as messages (``interrupt_mode = "message"``), because
signals do not cross into the sandbox's process tree.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, Unicode, default

from autograder import cgroup
from autograder.config import Limits
from autograder.zygote import LIBRARY_COPY, sandbox_env

NOBODY = "65534"
#: week14's folder, hidden from a sandbox (its copy goes to LIBRARY_COPY there).
LIBRARY = Path(__import__("week14").__file__).resolve().parent
#: The grader's own package: the zygote runs from it.
GRADER = Path(__file__).resolve().parent
#: Of the host's /etc, what a kernel reads (the dynamic linker's cache, the time zone).
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime")
#: The top-level folders of the system's programs and libraries (or links to /usr).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def readable_paths() -> list[str]:
    """What a kernel must read besides the system: the Python environment (the venv
    and the Python it was made from) and the grader's package."""
    paths = {sys.prefix, sys.base_prefix, str(GRADER)}
    return sorted(p for p in paths if Path(p).exists())


def bwrap_arguments(*, workdir: str, readable: list[str], hidden: list[str],
                    disk: int) -> list[str]:
    """bubblewrap's arguments for a sandbox whose only writable folder is
    ``workdir``: the minimal filesystem view, each tmpfs ``disk`` bytes at most;
    ``hidden`` folders inside a readable one are covered by empty ones."""
    box = ["bwrap"]
    for path in SYSTEM:
        if os.path.islink(path):
            box += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            box += ["--ro-bind", path, path]
    for path in ETC_FILES:
        if os.path.exists(path):
            box += ["--ro-bind", path, path]
    box += ["--dev", "/dev", "--proc", "/proc",
            "--size", str(disk), "--tmpfs", "/tmp", "--size", str(disk), "--tmpfs", "/dev/shm"]
    for path in readable:  # after /tmp's tmpfs: a Python environment may live under /tmp
        box += ["--ro-bind", path, path]
    for path in hidden:
        if any(Path(path).is_relative_to(p) for p in readable):
            box += ["--tmpfs", path, "--remount-ro", path]
    # The root and /dev are bwrap's own tmpfs (unlimited): read-only once set up.
    return [*box, "--bind", workdir, workdir, "--remount-ro", "/dev", "--remount-ro", "/",
            "--chdir", workdir, "--unshare-all", "--uid", NOBODY, "--gid", NOBODY,
            "--die-with-parent", "--new-session"]


def _apparmor_hint() -> str:
    """What to change where the kernel restricts unprivileged user namespaces."""
    sysctls = {"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "0",
               "/proc/sys/kernel/unprivileged_userns_clone": "1",
               "/proc/sys/user/max_user_namespaces": None}
    for path, wanted in sysctls.items():
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue
        name = path.removeprefix("/proc/sys/").replace("/", ".")
        if wanted is None and value == "0":
            return f"user namespaces are disabled: `sudo sysctl -w {name}=10000`"
        if wanted is not None and value != wanted:
            if "apparmor" in name:
                return ("AppArmor restricts unprivileged user namespaces (Ubuntu 23.10 and "
                        f"later): `sudo sysctl -w {name}=0`, or give bwrap an AppArmor "
                        "profile that allows them (`userns,`)")
            return f"unprivileged user namespaces are off: `sudo sysctl -w {name}={wanted}`"
    return ""


@functools.cache
def sandbox_problem() -> str | None:
    """None when bubblewrap can build the sandbox here; else the cause and the fix."""
    if shutil.which("bwrap") is None:
        return ("bubblewrap is not installed: `sudo apt-get install bubblewrap` (Debian, "
                "Ubuntu), `sudo dnf install bubblewrap` (Fedora)")
    with tempfile.TemporaryDirectory(prefix="week14-probe-") as folder:
        probe = bwrap_arguments(workdir=folder, readable=readable_paths(), hidden=[],
                                disk=2**20) + ["--", sys.executable, "-c", "pass"]
        done = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    if done.returncode == 0:
        return None
    why = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
    hint = _apparmor_hint()
    return f"bubblewrap cannot build the sandbox ({why[0]})" + (f"; {hint}" if hint else "")


@functools.cache
def folder_problem() -> str | None:
    """None when the grader can mount a size-limited tmpfs for a working folder."""
    with tempfile.TemporaryDirectory(prefix="week14-probe-") as folder:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", folder],
                              capture_output=True, text=True)
        if done.returncode == 0:
            subprocess.run(["umount", folder], check=True)
            return None
    return ("the working folder cannot be a size-limited tmpfs (mounting needs root: "
            f"{done.stderr.strip() or done.returncode}); each file is limited instead")


@dataclass(frozen=True)
class Isolation:
    """What holds a student's code on this machine: each field None when in force,
    else why not."""

    sandbox: str | None
    groups: str | None
    folder: str | None

    def describe(self, limits: Limits) -> str:
        """One paragraph for the summary: what was in force, with the numbers."""
        mib = 2**20
        if self.sandbox is None:
            what = ("sandboxed (bubblewrap): answers run apart from the tests, uid 65534 "
                    "with no capabilities, no network, a read-only view of Python and the "
                    "system only, a fresh kernel per notebook")
        else:
            what = f"NOT sandboxed: {self.sandbox}; tests still run apart from the answers"
        if self.groups is None:
            tree = (f"for all of a student's processes together (control group): "
                    f"{limits.memory // mib} MiB of memory, {limits.tasks} processes and "
                    f"threads, {limits.cpus:g} core(s)")
        else:
            tree = f"no limit for a student's processes together: {self.groups}"
        disk = f"{limits.disk // mib} MiB"
        files = (f"{disk} each for the working folder, /tmp and /dev/shm"
                 if self.folder is None else
                 f"{disk} per file in the working folder ({self.folder})")
        return (f"{what}; {tree}; per process {limits.memory // mib} MiB of address "
                f"space; {files}; {limits.cell} s per cell, {limits.notebook} s per "
                f"notebook; output kept: {MAX_CELL_OUTPUT:,} characters per cell, "
                f"{MAX_NOTEBOOK_OUTPUT:,} per notebook")


#: Output kept per cell and per notebook, in characters (the rest is cut with a note;
#: autograder.execute.BoundedClient).
MAX_CELL_OUTPUT = 100_000
MAX_NOTEBOOK_OUTPUT = 1_000_000


@functools.cache
def isolation() -> Isolation:
    """What of the sandbox holds on this machine (probed once per process)."""
    return Isolation(sandbox_problem(), cgroup.available(), folder_problem())


def sandbox_command(cmd: list[str], *, workdir: str, hidden: list[str], readable: list[str],
                    limits: Limits, wall: int, sandboxed: bool = True,
                    group: cgroup.ControlGroup | None = None) -> list[str]:
    """Wrap the command line ``cmd`` (the zygote's) in the limits, a fixed minimal
    environment (nothing of the grader's) and, when ``sandboxed`` and available,
    bwrap, with ``workdir`` its only writable folder; inside ``group`` if given."""
    env = ["env", "-i", *(f"{key}={value}" for key, value in sandbox_env(workdir).items())]
    per_process = [f"--as={limits.memory}", "--core=0"]
    if isolation().folder is not None:
        per_process.append(f"--fsize={limits.disk}")
    wrapped = ["setpriv", "--pdeathsig", "KILL", "timeout", "--signal=KILL", str(wall),
               "prlimit", *per_process, "--", *env]
    if sandboxed and sandbox_problem() is None:
        wrapped += [*bwrap_arguments(workdir=workdir, readable=readable, hidden=hidden,
                                     disk=limits.disk), "--"]
    wrapped += cmd
    return group.command(wrapped) if group is not None else wrapped


@contextlib.contextmanager
def scratch_folder(parent: Path, disk: int) -> Iterator[Path]:
    """A new working folder for a sandbox under ``parent``: a tmpfs of ``disk`` bytes
    where the grader may mount one (see :func:`folder_problem`), else a plain folder;
    removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="s", dir=parent))
    mounted = isolation().folder is None and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={disk},mode=0700", "tmpfs", str(folder)],
        capture_output=True).returncode == 0
    try:
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", "--lazy", str(folder)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def unmount_under(parent: Path) -> None:
    """Unmount every working folder left mounted under ``parent`` (a grading process
    killed before it could)."""
    prefix = str(parent.resolve()) + "/"
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1].replace("\\040", " ")
        if target.startswith(prefix):
            subprocess.run(["umount", "--lazy", target], capture_output=True)


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
    no bwrap (it runs only the instructor's code). With a ``run`` (its name), the
    sandbox is started in a control group of its own (:mod:`autograder.cgroup`).
    """

    def __init__(self, workdir: Path, *, hidden: list[str], readable: list[str],
                 limits: Limits, wall: int, sandboxed: bool = True, run: str | None = None,
                 log_dir: Path | None = None):
        self.workdir = workdir
        # The zygote's log is written by the grader: never in the folder the student's
        # code can write (a symbolic link planted there would send it anywhere); in
        # ``log_dir`` (the grading run's folder, removed even if this process is killed).
        self._log = Path(tempfile.mkdtemp(prefix="log-", dir=log_dir)) / "zygote.log"
        self.socket = str(workdir / "zygote")
        serve = [sys.executable, "-m", "autograder.zygote", "serve", self.socket]
        self._sandboxed = sandboxed and sandbox_problem() is None
        self._arguments = {"cmd": serve if sandboxed else [*serve, "--checker"],
                           "workdir": str(workdir), "hidden": hidden, "readable": readable,
                           "limits": limits, "wall": wall, "sandboxed": sandboxed}
        self._tree = (cgroup.TreeLimits(limits.memory, limits.tasks, limits.cpus)
                      if run is not None and isolation().groups is None else None)
        self._run = run
        self._group: cgroup.ControlGroup | None = None
        self._killed_for_memory = 0
        self._process: subprocess.Popen | None = None

    @property
    def address(self) -> ZygoteAddress:
        return ZygoteAddress(self.workdir, self.socket)

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def killed_for_memory(self) -> int:
        """Processes of this sandbox the kernel killed for its memory limit so far."""
        live = self._group.out_of_memory_kills() if self._group is not None else 0
        return self._killed_for_memory + live

    def start(self) -> None:
        """Start the sandbox, in a new control group when the zygote was given a
        ``run``; :meth:`ready` waits until the zygote listens. In a sandbox, week14's
        own folder is not there: the zygote imports week14 from a copy in the
        sandbox's folder and deletes it (:func:`autograder.zygote.serve`), so its
        kernels hold week14 only as the modules it imported, never as source to read
        or reload (:func:`week14.remote.strip` then takes the reference code of a
        notebook's exercises out of them)."""
        self.stop()
        Path(self.socket).unlink(missing_ok=True)
        if self._sandboxed:
            copy = self.workdir / LIBRARY_COPY / "week14"
            shutil.copytree(LIBRARY, copy, dirs_exist_ok=True)
            for folder in [copy, *(p for p in copy.rglob("*") if p.is_dir())]:
                folder.chmod(0o777)  # the zygote, uid 65534 inside, deletes it
        if self._tree is not None:
            self._group = cgroup.ControlGroup.create(cgroup.group_name(self._run), self._tree)
        command = sandbox_command(**self._arguments, group=self._group)
        with self._log.open("wb") as out:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
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
        bwrap's sandbox; its kernels die with it, ``autograder.zygote._kernel``) and
        whatever else is left in its control group."""
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
            self._process = None
        if self._group is not None:
            self._group.kill()
            self._killed_for_memory += self._group.out_of_memory_kills()
            self._group.remove()
            self._group = None

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
