"""The kernel sandbox on its own: what code running in a student's kernel cannot do.

Each test runs tiny notebooks through nbclient with the grader's
``ZygoteKernelManager``, their kernels forked by a student's ``Zygote`` (bubblewrap
+ prlimit + timeout), as nbgrader does.
"""

from __future__ import annotations

import gc
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder.config import REPO, SOURCE_DIR, Limits
from autograder.execute import BoundedClient
from autograder.sandbox import (
    LIBRARY,
    MAX_CELL_OUTPUT,
    MAX_NOTEBOOK_OUTPUT,
    SYSTEM,
    Zygote,
    ZygoteKernelManager,
    isolation,
    prepare_workdir,
    readable_paths,
)


def test_bubblewrap_is_available_here():
    """`make test` installs Debian's bubblewrap; without it grading is not isolated."""
    assert isolation().sandbox is None


@pytest.fixture
def secret(tmp_path):
    """A course folder with a gradebook the kernel must not see."""
    course = tmp_path / "course"
    course.mkdir()
    (course / "gradebook.db").write_text("grades of every student")
    return course


def student_sandbox(tmp_path, secret, *, memory: int = 2 * 1024**3, wall: int = 120
                    ) -> Zygote:
    workdir = tmp_path / "k"  # short: it holds the kernels' Unix sockets
    prepare_workdir(workdir)
    zygote = Zygote(workdir, hidden=[str(secret), str(SOURCE_DIR), str(LIBRARY)],
                    readable=readable_paths(), limits=Limits(memory=memory), wall=wall)
    zygote.start()
    zygote.ready()
    return zygote


def execute(zygote: Zygote, *sources: str, cell_timeout: int = 30, wall: int = 60,
            client: type[NotebookClient] = NotebookClient) -> nbformat.NotebookNode:
    """Run one notebook of ``sources`` in a kernel forked by ``zygote``."""
    config = Config()
    config.ZygoteKernelManager.update(workdir=str(zygote.workdir), zygote=zygote.socket,
                                         wall=wall)
    nb = new_notebook(cells=[new_code_cell(src) for src in sources])
    client(nb, kernel_manager_class=ZygoteKernelManager, config=config,
           kernel_name="python3", timeout=cell_timeout, allow_errors=True,
           interrupt_on_timeout=True).execute()
    return nb


def run(tmp_path, secret, *sources: str, cell_timeout: int = 30, wall: int = 60,
        memory: int = 2 * 1024**3) -> nbformat.NotebookNode:
    with student_sandbox(tmp_path, secret, memory=memory) as zygote:
        return execute(zygote, *sources, cell_timeout=cell_timeout, wall=wall)


def run_until_dead(tmp_path, secret, *sources: str, **limits) -> None:
    with student_sandbox(tmp_path, secret) as zygote:
        run_until_dead_in(zygote, *sources, **limits)


def run_until_dead_in(zygote: Zygote, *sources: str, **limits) -> None:
    """Run cells that kill the kernel; nbclient then leaves ZeroMQ sockets to the garbage
    collector, whose ResourceWarnings are nbclient's, not a failure of the sandbox."""
    with pytest.raises(DeadKernelError):
        execute(zygote, *sources, **limits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def output(cell) -> str:
    return "".join(o.get("text", "") + o.get("ename", "") + o.get("evalue", "")
                   for o in cell.outputs)


def test_kernel_cannot_see_the_course_or_the_solutions(tmp_path, secret):
    nb = run(tmp_path, secret,
             f"import os; print(sorted(os.listdir({str(secret)!r})))",
             f"print(open({str(secret / 'gradebook.db')!r}).read())",
             f"print(os.listdir({str(SOURCE_DIR)!r}))")
    for cell in nb.cells:
        assert "FileNotFoundError" in output(cell)


def test_kernel_sees_only_python_and_the_system(tmp_path, secret):
    """A minimal view of the host: no home folders, no /run (the host's sockets, e.g.
    PostgreSQL's), no /var, no other folder of the repository (an LMS download or a
    gradebook kept anywhere else stays out of reach); Python, NumPy and the system's
    libraries are there, read-only."""
    probe = Path(tempfile.mkdtemp(prefix="week14-lms-", dir="/var/tmp"))
    (probe / "grades.csv").write_text("alice,100")
    try:
        nb = run(tmp_path, secret,
                 "import os\nprint(sorted(os.listdir('/')))",
                 f"print(os.path.exists({str(probe)!r}), os.path.exists('/run'), "
                 f"os.path.exists({str(REPO / 'README.md')!r}), "
                 "os.path.exists('/etc/passwd'))",
                 "import numpy, sys\nprint(numpy.ones(2).sum(), sys.prefix)",
                 "import socket\ns = socket.socket(socket.AF_UNIX)\ntry:\n"
                 "    s.connect('/run/postgresql/.s.PGSQL.5432')\nexcept OSError as e:\n"
                 "    print(type(e).__name__)",
                 "open('/usr/new-file', 'w')",
                 "open('/dev/new-file', 'w')",
                 "open('/new-file', 'w')",
                 f"open({str(REPO / 'new-file')!r}, 'w')",
                 "open('/dev/null', 'w').write('fine'); open('/tmp/x', 'w').write('fine');"
                 "open('/dev/shm/x', 'w').write('fine'); print('writable')")
    finally:
        shutil.rmtree(probe)
    top = set(eval(output(nb.cells[0])))  # noqa: S307 - a list of names printed by us
    # The system's folders, the sandbox's own, and the first folder of each path bound
    # for Python and the grader (wherever this checkout and its environment lie).
    bound = {Path(path).parts[1] for path in readable_paths()}
    assert top <= {Path(path).name for path in SYSTEM} | {"etc", "dev", "proc", "tmp"} | bound, top
    assert not {"run", "var", "srv", "mnt", "media"} & top, top
    assert output(nb.cells[1]).split() == ["False"] * 4
    assert output(nb.cells[2]).split()[0] == "2.0"
    assert "FileNotFoundError" in output(nb.cells[3])
    for cell in nb.cells[4:7]:
        assert "Read-only file system" in output(cell)
    # The repository's folder: read-only, or (where it lies under /tmp, as in a CI
    # checkout) in the sandbox's own /tmp; never the host's.
    assert not (REPO / "new-file").exists()
    assert output(nb.cells[8]).strip() == "writable"


def test_kernel_cannot_write_outside_its_folder(tmp_path, secret):
    readme = (REPO / "README.md").read_bytes()
    nb = run(tmp_path, secret,
             f"open({str(secret / 'gradebook.db')!r}, 'w')",
             f"open({str(REPO / 'README.md')!r}, 'a').write('changed')",
             "open('scratch.txt', 'w').write('fine'); print(open('scratch.txt').read())",
             "import os; print(os.getuid(), os.getgid())")
    assert "Error" in output(nb.cells[0])
    assert (REPO / "README.md").read_bytes() == readme
    assert output(nb.cells[2]).strip() == "fine"
    assert output(nb.cells[3]).strip() == "65534 65534"
    assert (secret / "gradebook.db").read_text() == "grades of every student"


def test_kernel_has_no_network(tmp_path, secret):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        nb = run(tmp_path, secret,
                 f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), 2)"
                 "\n    print('connected')\nexcept OSError as e:\n    print('refused', e)")
    assert output(nb.cells[0]).startswith("refused")


def test_large_allocation_raises_memory_error(tmp_path, secret):
    nb = run(tmp_path, secret, "import numpy as np\nx = np.ones(2**28)  # 2 GiB",
             "print('still alive')")
    assert "MemoryError" in output(nb.cells[0])
    assert output(nb.cells[1]).strip() == "still alive"


def test_os_exit_only_ends_this_kernel(tmp_path, secret):
    run_until_dead(tmp_path, secret, "import os; os._exit(0)", "print('never')")


def test_endless_loop_that_ignores_sigint_is_killed_by_the_wall_clock(tmp_path, secret):
    start = time.monotonic()
    run_until_dead(tmp_path, secret,
                   "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                   "while True:\n    pass", cell_timeout=60, wall=8)
    assert time.monotonic() - start < 60


def test_interrupt_reaches_the_kernel(tmp_path, secret):
    """nbgrader's per-cell timeout interrupts a plain endless loop; the kernel goes on."""
    nb = run(tmp_path, secret, "while True:\n    pass", "print('next cell ran')",
             cell_timeout=3)
    assert "next cell ran" in output(nb.cells[1])


def test_each_notebook_gets_a_fresh_kernel(tmp_path, secret):
    """Kernels forked by one zygote share nothing but the student's folder, and see
    ``NBGRADER_EXECUTION`` as under nbgrader (so explorers do not wait for a browser)."""
    with student_sandbox(tmp_path, secret) as zygote:
        first = execute(zygote, "import os, numpy as np\nleft_over = 1\n"
                                "np.seterr(all='ignore')\nprint(os.getpid())")
        second = execute(zygote, "import os, numpy as np\nprint(os.getpid())\n"
                                 "print('left_over' in globals(), np.geterr()['divide'])\n"
                                 "print(os.environ.get('NBGRADER_EXECUTION'))")
    first_pid = output(first.cells[0]).split()[0]
    second_pid, leftover, divide, execution = output(second.cells[0]).split()
    assert first_pid != second_pid
    assert (leftover, divide) == ("False", "warn")
    assert execution == "autograde"


def test_figures_show_in_a_forked_kernel(tmp_path, secret):
    with student_sandbox(tmp_path, secret) as zygote:
        nb = execute(zygote, "import matplotlib.pyplot as plt\nplt.plot([1, 2])")
    assert any("image/png" in out.get("data", {}) for out in nb.cells[0].outputs)


def test_a_killed_kernel_command_kills_the_kernel_and_the_sandbox_ends(tmp_path, secret):
    """The wall clock kills the kernel command; the zygote then kills the kernel, and
    stopping the sandbox leaves no process of the student's behind."""
    with student_sandbox(tmp_path, secret) as zygote:
        run_until_dead_in(zygote, "import time\nwhile True:\n    time.sleep(1)",
                          cell_timeout=60, wall=5)
        assert zygote.running()  # the zygote outlives its kernel and forks the next
        nb = execute(zygote, "print('next notebook')")
        assert output(nb.cells[0]).strip() == "next notebook"
    leftover = subprocess.run(["pgrep", "-f", zygote.socket], capture_output=True, text=True)
    assert leftover.stdout == ""


def test_kernel_sees_none_of_the_graders_environment(tmp_path, secret, monkeypatch):
    """The grader's variables (a database password, a token) are nowhere in the
    sandbox: not in the kernel's environment, nor in any process's start-up one."""
    monkeypatch.setenv("WEEK14_GRADER_SECRET", "hunter2-canary")
    nb = run(tmp_path, secret,
             "import os\nprint(sorted(os.environ))",
             "import pathlib\nfound = []\nfor p in pathlib.Path('/proc').glob('*/environ'):\n"
             "    try:\n        found.append(p.read_bytes())\n    except OSError:\n"
             "        pass\nprint(any(b'hunter2' in f for f in found), len(found))")
    names = output(nb.cells[0])
    assert "WEEK14_GRADER_SECRET" not in names and "HOME" in names
    seen, count = output(nb.cells[1]).split()
    assert seen == "False" and int(count) >= 1


def test_kernel_has_week14_but_not_its_source(tmp_path, secret):
    """week14 works in a sandboxed kernel (imported by the zygote from a copy it then
    deleted), but there is no source to read or reload: week14's own implementations
    cannot be brought back once grading strips them (week14.remote.strip)."""
    nb = run(tmp_path, secret,
             "from week14 import activations\nprint(activations.sigmoid(0.0))",
             "import importlib\nimportlib.reload(activations)",
             f"print(open({str(LIBRARY / 'activations.py')!r}).read())",
             "import os\nprint(os.path.exists(activations.__file__))")
    assert output(nb.cells[0]).strip() == "0.5"
    assert "Error" in output(nb.cells[1])
    assert "FileNotFoundError" in output(nb.cells[2])
    assert output(nb.cells[3]).strip() == "False"


def test_a_process_a_kernel_leaves_running_ends_with_the_kernel(tmp_path, secret):
    """A child started in a new session escapes the kernel's process group; when the
    kernel ends, the zygote (a subreaper) kills it, before the student's next notebook."""
    marker = f"week14-stray-{secrets.token_hex(4)}"
    with student_sandbox(tmp_path, secret) as zygote:
        nb = execute(zygote, "import subprocess, sys, time\n"
                             "child = subprocess.Popen([sys.executable, '-c', 'while True: pass',"
                             f" {marker!r}], start_new_session=True)\n"
                             "time.sleep(0.5)\nprint(child.poll())")
        assert output(nb.cells[0]).strip() == "None"  # it ran while the kernel did
        deadline = time.monotonic() + 10
        while subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0:
            assert time.monotonic() < deadline, "the child outlived its kernel"
            time.sleep(0.1)
        assert zygote.running()


def test_output_is_kept_up_to_a_bound_per_cell_and_per_notebook(tmp_path, secret):
    """The grader keeps about MAX_CELL_OUTPUT characters of a cell's output and
    MAX_NOTEBOOK_OUTPUT of a notebook's, each cut with a note; an error or stderr past
    the bound is cut short but kept (it decides whether a test cell scores)."""
    cells = ["print('x' * 300_000)", *["print('y' * 90_000)"] * 14,
             "import sys\nprint('z' * 10_000, file=sys.stderr)",
             "raise ValueError('w' * 1_000_000)"]
    with student_sandbox(tmp_path, secret) as zygote:
        nb = execute(zygote, *cells, client=BoundedClient)
    kept = [len(output(cell)) for cell in nb.cells]
    assert MAX_CELL_OUTPUT - 1000 < kept[0] < MAX_CELL_OUTPUT + 1000
    assert "this cell printed more than" in output(nb.cells[0])
    assert MAX_NOTEBOOK_OUTPUT - MAX_CELL_OUTPUT < sum(kept) < MAX_NOTEBOOK_OUTPUT + 20_000
    assert all(output(cell).count("printed more than") == 1 for cell in nb.cells[11:15])
    assert "notebook's cells together printed more than" in output(nb.cells[14])
    stderr, error = nb.cells[-2].outputs, nb.cells[-1].outputs
    assert [o.get("name") for o in stderr if o.output_type == "stream"][0] == "stderr"
    assert [o.ename for o in error if o.output_type == "error"] == ["ValueError"]
    assert len(output(nb.cells[-1])) < 10_000
