"""A warm template for one student's kernels: each kernel is forked, not started cold.

Starting an IPython kernel and importing NumPy, matplotlib and week14 in
it costs about two seconds of CPU, for every notebook; the notebooks themselves often
run for less. So while one student is graded, a *zygote* process waits in that
student's sandbox (:mod:`autograder.sandbox`) with those modules imported, and every
notebook's kernel is a fresh ``fork()`` of it: a new process with nothing of the
previous notebook's, which only has to open its sockets. The zygote is the student's
alone and ends with their grading, so nothing passes between students.

Two sides, both run as ``python -m autograder.zygote``:

- ``serve SOCKET [--checker]``, inside the sandbox (or, for the checker, outside it):
  import :data:`PRELOAD`, then for each request on the Unix socket fork a kernel and
  tell the requester how it ended;
- ``connect SOCKET KERNEL-ARGS...``, the kernel command that jupyter_client starts:
  asks the zygote for a kernel with those arguments (``-f CONNECTION_FILE ...``) and
  lives exactly as long as it. When it is killed (nbgrader's or the wall-clock limit),
  the zygote kills the kernel.

Only the standard library is imported here before :func:`serve` preloads.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import pkgutil
import select
import shutil
import signal
import socket
import sys
import threading

#: Imported once per student, in the zygote: the kernel itself and what the notebooks
#: import. Not ``matplotlib.pyplot`` nor its inline backend: imported before the
#: kernel's shell exists, they would not hook into it and figures would not show, so
#: each notebook still imports them (0.1 s).
PRELOAD = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "numpy",
    "matplotlib", "matplotlib.figure", "ipywidgets", "threadpoolctl", "tqdm.auto",
    "week14", "week14.activations", "week14.cnn", "week14.data", "week14.functional",
    "week14.gradcheck", "week14.grading", "week14.kernels", "week14.layers",
    "week14.losses", "week14.model", "week14.pruning", "week14.schedules",
    "week14.symmetry", "week14.training", "week14.widgets", "week14.plaindata",
    "week14.remote", "week14.wire", "week14.widgets.cost", "week14.widgets.cnn",
)
#: Imported too by the checker's zygote: the checker's line to the student's kernel.
CHECKER_PRELOAD = ("jupyter_client", "autograder.checker")
#: What ipykernel would set on start-up; set before the preload so that matplotlib
#: chooses the same backend as in a kernel started cold.
KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}


#: The folder, in a sandbox's folder, that week14 is copied to and imported from.
LIBRARY_COPY = ".week14-copy"


def sandbox_env(workdir: str) -> dict[str, str]:
    """The whole environment of a zygote and its kernels: nothing of the grader's."""
    return {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "NBGRADER_EXECUTION": "autograde",
        # pid 1 means "no parent to watch" to ipykernel: inside the sandbox's own
        # process tree the real parent is invisible.
        "JPY_PARENT_PID": "1",
        "HOME": workdir,
        # Graders run notebooks side by side: one BLAS thread each is fastest.
        "OPENBLAS_NUM_THREADS": "1",
        "IPYTHONDIR": f"{workdir}/.ipython",
        "MPLCONFIGDIR": f"{workdir}/.matplotlib",
        # In a sandbox, week14 is imported from a copy there, then deleted (see serve).
        "PYTHONPATH": f"{workdir}/{LIBRARY_COPY}",
    }


_PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
_PR_SET_CHILD_SUBREAPER = 36  # prctl(2): orphaned descendants become our children


def _kernel(argv: list[str]) -> None:
    """In the forked child: become a kernel with ``argv``, in the zygote's own (fixed,
    minimal) environment (never returns)."""
    code = 1
    try:
        os.setpgid(0, 0)
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the zygote
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.modules["numpy"].random.seed()  # preloaded; a cold kernel's RNG starts fresh
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(argv)
        app.start()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _children() -> set[int]:
    """This process's child processes (from ``/proc``: the ``ppid`` of every process)."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:  # not a process, or gone
            continue
        if int(stat.rpartition(")")[2].split()[1]) == me:
            found.add(int(entry))
    return found


class Kernels:
    """The kernels a zygote forked and still waits for; what else is its child is
    left over from a kernel that ended (a process it started in a new session, say:
    the zygote is a *subreaper*, so orphans of its kernels become its children)."""

    def __init__(self) -> None:
        self.running: set[int] = set()
        self.lock = threading.Lock()

    def sweep(self) -> None:
        """Kill and reap every child that is not a running kernel."""
        with self.lock:
            for _ in range(100):
                strays = _children() - self.running
                if not strays:
                    return
                for pid in strays:
                    try:
                        os.kill(pid, signal.SIGKILL)
                        os.waitpid(pid, 0)
                    except (ProcessLookupError, ChildProcessError):
                        pass


def _supervise(connection: socket.socket, pid: int, kernels: Kernels) -> None:
    """Wait for the kernel ``pid`` or for its requester to go; tell it the exit code;
    then kill what the kernel left behind."""
    with connection:
        pidfd = os.pidfd_open(pid)
        try:
            ready, _, _ = select.select([connection, pidfd], [], [])
            if connection in ready and pidfd not in ready:  # the requester was killed
                os.killpg(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            with kernels.lock:
                kernels.running.discard(pid)
            kernels.sweep()
            try:
                connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            except OSError:
                pass
        finally:
            os.close(pidfd)


def serve(path: str, *, checker: bool = False) -> None:
    """Preload (:data:`PRELOAD`, and :data:`CHECKER_PRELOAD` for the ``checker``),
    listen on ``path`` and fork one kernel per request; each kernel is watched by a
    thread of its own (the checker's zygote serves every grading worker at once)."""
    os.environ.update(KERNEL_ENV)
    for module in PRELOAD + (CHECKER_PRELOAD if checker else ()):
        importlib.import_module(module)
    copy = os.environ.get("PYTHONPATH", "")
    if copy and os.path.isdir(os.path.join(copy, "week14")):
        # A sandbox: import the whole library from its copy, then delete the copy.
        week14 = importlib.import_module("week14")
        for module in pkgutil.walk_packages(week14.__path__, "week14."):
            importlib.import_module(module.name)
        shutil.rmtree(copy)
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1)
    kernels = Kernels()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    while True:
        connection, _ = server.accept()
        with connection.makefile("r") as lines:
            request = json.loads(lines.readline())
        with kernels.lock:  # a sweep never sees a kernel before it is counted
            pid = os.fork()
            if pid == 0:
                server.close()
                connection.close()
                _kernel(request["argv"])
            kernels.running.add(pid)
        threading.Thread(target=_supervise, args=(connection, pid, kernels),
                         daemon=True).start()


def connect(path: str, argv: list[str]) -> int:
    """Ask the zygote at ``path`` for a kernel with ``argv``; its exit code."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(path)
        request = {"argv": argv}
        client.sendall(json.dumps(request).encode() + b"\n")
        answer = client.makefile("r").readline().strip()
    return int(answer) if answer.lstrip("-").isdigit() else 1


def main(argv: list[str]) -> int:
    if len(argv) in (2, 3) and argv[0] == "serve":
        serve(argv[1], checker=argv[2:] == ["--checker"])
        return 0
    if len(argv) >= 2 and argv[0] == "connect":
        return connect(argv[1], argv[2:])
    print("usage: python -m autograder.zygote serve SOCKET [--checker] | "
          "connect SOCKET KERNEL-ARGS...",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
