"""How grading ends when it does not end well: stopped by SIGTERM, refused for want of
a sandbox, or one student's feedback failing.

1. ``grade`` stopped by SIGTERM exits 130 with a message, leaves nothing of its run
   (processes, control groups, tmpfs mounts) and keeps what it graded: run again, it
   grades only the rest;
2. without bubblewrap, ``grade`` refuses (exit 2, naming the fix and
   ``--allow-unsandboxed``) and grades nothing; with ``--allow-unsandboxed`` it grades,
   and ``summary`` says the notebooks were NOT sandboxed;
3. ``demo`` goes on without bubblewrap, grading unsandboxed under a banner;
4. one student's failing feedback costs only their own: the others' is written, the
   failure is a flag until feedback is written again.

Only notebook 04 is graded, for a few students: the module takes about a minute and a
half on two cores (three and a half when other tests share them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import is_solution

from autograder import cgroup
from autograder import course as course_module
from autograder.__main__ import main
from autograder.collect import collect
from autograder.config import ASSIGNMENT, REPO, SOURCE_DIR, Limits
from autograder.course import Course
from autograder.examples import student_notebook
from autograder.sandbox import isolation

NOTEBOOK = "04_activation_functions"
POINTS = course_module.test_points(SOURCE_DIR / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
FULL = sum(POINTS.values())
#: ``partly``'s first answer (sigmoid) returns None; the rest is the solution.
PARTLY = FULL - POINTS["nb04_test_sigmoid"]
CGROUPS = Path("/sys/fs/cgroup")
#: ``python -m autograder`` with a cell's time limit of $W14_CELL seconds (the command
#: line has no option for limits): long while grading is to be stopped (the looping
#: student is still busy), short when it is to finish.
CLI_WITH_CELL_LIMIT = (
    "import os, sys\n"
    "import autograder.__main__ as cli\n"
    "from autograder.config import Limits\n"
    "from autograder.course import Course\n"
    "limits = Limits(cell=int(os.environ['W14_CELL']), notebook=120)\n"
    "cli._course = lambda args: Course(args.course, db_url=args.db_url, limits=limits)\n"
    "sys.exit(cli.main(sys.argv[1:]))\n")


# ---------------------------------------------------------------------------- helpers

def submit(folder: Path, students: dict[str, str]) -> None:
    """Write ``folder/STUDENT/04.ipynb`` for student -> kind (an example kind, or
    ``loop``: perfect but for a sigmoid answer that never ends)."""
    for student, kind in students.items():
        nb = nbformat.reads(student_notebook(f"{NOTEBOOK}.ipynb",
                                             "perfect" if kind == "loop" else kind),
                            as_version=4)
        if kind == "loop":
            cell = next(c for c in nb.cells
                        if is_solution(c) and c.metadata.nbgrader.grade_id == "nb04_sigmoid")
            cell.source = "while True:\n    pass\n"
        (folder / student).mkdir(parents=True)
        (folder / student / f"{NOTEBOOK}.ipynb").write_text(nbformat.writes(nb))


def new_course(tmp_path: Path, students: dict[str, str], **kwargs) -> Course:
    submit(tmp_path / "incoming", students)
    course = Course(tmp_path / "course", **kwargs)
    collect(tmp_path / "incoming", course.root / "submitted", {NOTEBOOK})
    assert course.students() == sorted(students)
    return course


def total(result) -> float:
    return sum(score for score, _ in result.scores.values())


def short_tmpdir() -> Path:
    """A fresh temporary folder for a grading (short: kernels' Unix sockets live under
    it); its path in a command line marks the processes of that grading."""
    return Path(tempfile.mkdtemp(prefix="w14stop-", dir="/tmp"))


def _proc(pid: int) -> tuple[int, int, str] | None:
    """(parent, start time, state) of a live process, None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[19]), fields[0]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip()
    except OSError:
        return ""


def descendants(root: int) -> dict[tuple[int, int], str]:
    """(pid, start time) -> command line of every process under ``root``."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _proc(int(entry.name))) is not None:
            children.setdefault(info[0], []).append((int(entry.name), info[1]))
    found, todo = {}, [root]
    while todo:
        for pid, start in children.get(todo.pop(), []):
            found[(pid, start)] = _cmdline(pid)
            todo.append(pid)
    return found


def still_running(processes: dict[tuple[int, int], str]) -> dict[int, str]:
    """Those of ``processes`` still running (the same pid and start time, no zombie)."""
    running = {}
    for (pid, start), command in processes.items():
        info = _proc(pid)
        if info is not None and info[1] == start and info[2] != "Z":
            running[pid] = command
    return running


def marked_processes(marker: Path) -> dict[int, str]:
    """Running processes whose command line names a path under ``marker``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            command = _cmdline(int(entry.name))
            if f"{marker}/" in command:
                found[int(entry.name)] = command
    return found


def run_groups(pid: int) -> list[Path]:
    """Control groups of the gradings of process ``pid`` (``week14-PID-…``)."""
    return sorted(group for controller in ("memory", "pids", "cpu")
                  if (CGROUPS / controller).is_dir()
                  for group in (CGROUPS / controller).rglob(f"week14-{pid}-*"))


def mounts_under(folder: Path) -> list[str]:
    prefix = f"{folder}/"
    return [target for line in Path("/proc/self/mounts").read_text().splitlines()
            if (target := line.split()[1].replace("\\040", " ")).startswith(prefix)]


def clean_up(marker: Path, process: subprocess.Popen | None = None) -> None:
    """Whatever a failed test left of the grading it started, by process id."""
    if process is not None:
        if process.poll() is None:
            process.kill()
            process.wait()
        cgroup.remove_run(f"week14-{process.pid}")
    for pid in marked_processes(marker):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for target in sorted(mounts_under(marker), reverse=True):
        subprocess.run(["umount", "--lazy", target], capture_output=True)
    shutil.rmtree(marker, ignore_errors=True)


def wait_until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(0.2)
    return value


# ------------------------------------------------------------------------------ tests

def test_sigterm_stops_everything_and_a_rerun_continues(tmp_path):
    # "a-loop" is graded first and never finishes its sigmoid cell: when a student is
    # done (and SIGTERM comes), a sandbox is still busy.
    students = {"a-loop": "loop", "b-perfect": "perfect", "c-partly": "partly",
                "d-perfect": "perfect", "e-perfect": "perfect", "f-perfect": "perfect"}
    course = new_course(tmp_path, students)
    marker = short_tmpdir()
    env = {**os.environ, "TMPDIR": str(marker), "W14_CELL": "60"}
    command = [sys.executable, "-c", CLI_WITH_CELL_LIMIT, "grade", "--course",
               str(course.root), "--jobs", "2", "--quiet"]
    if isolation().sandbox is not None:
        command.append("--allow-unsandboxed")
    graded = course.graded_dir
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: process.poll() is not None or any(graded.glob("*.json")), 150,
                   "no student graded")
        assert process.poll() is None, f"grade ended by itself:\n{process.communicate()}"
        # What the run holds now: the check below would see it if it were left.
        running = descendants(process.pid)
        sandboxes = [c for c in running.values() if "autograder.zygote" in c]
        groups, mounts = run_groups(process.pid), mounts_under(marker)
        assert sandboxes, f"no sandbox running at SIGTERM: {sorted(running.values())}"
        if isolation().groups is None:
            assert groups, "no control group of the run at SIGTERM"
        if isolation().folder is None:
            assert mounts, "no tmpfs working folder mounted at SIGTERM"
        process.send_signal(signal.SIGTERM)
        running |= descendants(process.pid)
        try:
            out, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("grade did not stop within 30 s of SIGTERM")
        assert process.returncode == 130, (process.returncode, out, err)
        every = len(students) * len(course.notebook_names())
        kept = {(s, nb): r.to_json() for s, nbs in course.graded().items()
                for nb, r in nbs.items()}
        assert f"grading stopped: {len(kept)} of {every} notebook(s) graded and kept" in err, (
            sorted(kept), err)
        assert 1 <= len(kept) < every and "a-loop" not in {s for s, _ in kept}, sorted(kept)

        # Nothing of the run is left: processes, control groups, mounts.
        deadline = time.monotonic() + 10  # a killed process may take a moment to go
        while (still_running(running) or marked_processes(marker)) and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        left = {**still_running(running), **marked_processes(marker)}
        assert left == {}, f"{len(left)} process(es) of the run left: {left}"
        assert run_groups(process.pid) == [], "control groups of the run left"
        assert mounts_under(marker) == [], "working folders left mounted"
        # The run's folder (its sandboxes' working folders) is gone. (The logs of the
        # killed workers' zygotes, week14-log-*, are left in $TMPDIR: not running.)
        run_folders = [p.name for p in marker.iterdir() if p.name.startswith("week14-")
                       and not p.name.startswith("week14-log-")]
        assert run_folders == [], "the run's folder is left"

        # What was graded is kept; pending() is the rest.
        left_to_grade = course.pending()
        assert sorted(left_to_grade) == sorted(
            {(s, nb) for s in students for nb in course.notebook_names()} - set(kept))
        whole = {s for s in students if all((s, nb) in kept for nb in course.notebook_names())}
        files = {s: course._state_file(s).stat().st_mtime_ns for s in whole}

        # Run again: the rest is graded, what was kept is not graded again.
        again = subprocess.run(command, env={**env, "W14_CELL": "5"}, cwd=REPO,
                               capture_output=True, text=True, timeout=240)
        assert again.returncode == 0, (again.stdout, again.stderr)
        assert (f"graded {len(left_to_grade)} notebook(s) of "
                f"{len({s for s, _ in left_to_grade})} student(s)") in again.stdout, again.stdout
        assert course.pending() == []
        graded_now = course.graded()
        assert {key: graded_now[key[0]][key[1]].to_json() for key in kept} == kept
        assert {s: course._state_file(s).stat().st_mtime_ns for s in whole} == files
        results = {s: nbs[NOTEBOOK] for s, nbs in course.graded().items()}
        assert sorted(results) == sorted(students)
        for student, kind in students.items():
            result = results[student]
            if kind == "loop":
                assert any("timed out" in flag for flag in result.flags), result.flags
                assert total(result) <= FULL - POINTS["nb04_test_sigmoid"], result.scores
            else:
                expected = FULL if kind == "perfect" else PARTLY
                assert (total(result), result.flags) == (expected, []), (student, result)
        with course.gradebook() as gb:
            for student, result in results.items():
                nb = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
                assert nb.score == pytest.approx(total(result)), student
        assert marked_processes(marker) == {}
    finally:
        clean_up(marker, process)


@pytest.fixture
def no_bubblewrap(tmp_path) -> dict[str, str]:
    """An environment whose PATH has what grading runs, but no ``bwrap``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("setpriv", "timeout", "prlimit", "env", "sh", "mount", "umount"):
        found = shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")
        assert found, f"{name} is not installed"
        (bin_dir / name).symlink_to(found)
    path = os.pathsep.join([str(Path(sys.executable).parent), str(bin_dir)])
    assert shutil.which("bwrap", path=path) is None
    return {**os.environ, "PATH": path}


def test_grade_refuses_without_a_sandbox_and_allow_unsandboxed_grades(tmp_path,
                                                                       no_bubblewrap):
    students = {"perfect": "perfect", "partly": "partly"}
    course = new_course(tmp_path, students)
    marker = short_tmpdir()
    env = {**no_bubblewrap, "TMPDIR": str(marker)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "autograder", *args, "--course",
                               str(course.root), "--quiet"], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=240)

    try:
        refused = cli("grade", "--jobs", "2")
        assert refused.returncode == 2, (refused.stdout, refused.stderr)
        assert "error: refusing to grade without a sandbox" in refused.stderr
        assert "bubblewrap is not installed" in refused.stderr
        assert "apt-get install bubblewrap" in refused.stderr
        assert "--allow-unsandboxed" in refused.stderr
        assert course.graded() == {}
        assert sorted(course.pending()) == [(s, nb) for s in sorted(students)
                                            for nb in course.notebook_names()]
        assert not course.root.joinpath("autograded").exists()

        done = cli("grade", "--jobs", "2", "--allow-unsandboxed")
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert "NOT sandboxed: bubblewrap is not installed" in done.stdout  # isolation:
        results = {s: nbs[NOTEBOOK] for s, nbs in course.graded().items()}
        assert {s: (total(r), r.flags) for s, r in results.items()} == {
            "perfect": (FULL, []), "partly": (PARTLY, [])}
        assert all(r.isolation.startswith("NOT sandboxed: bubblewrap is not installed")
                   for r in results.values()), [r.isolation for r in results.values()]

        summary = cli("summary")
        assert summary.returncode == 0, (summary.stdout, summary.stderr)
        isolation_part = summary.stdout.split("isolation (what held the graded code):")[1]
        assert "  2 notebook(s): NOT sandboxed: bubblewrap is not installed" in isolation_part
        assert "sandboxed (bubblewrap)" not in isolation_part
        assert marked_processes(marker) == {}
    finally:
        clean_up(marker)


def test_demo_runs_without_bubblewrap_with_a_banner(tmp_path, monkeypatch, capsys):
    """Without bubblewrap the demo warns, then grades unsandboxed (not refused). The
    grading itself is test_grade_refuses_without_a_sandbox_and_allow_unsandboxed_grades'
    (the demo's 40 notebooks would take a minute): here the steps after collect only
    record what they were asked."""
    import autograder.__main__ as cli
    import autograder.sandbox as sandbox

    why = "bubblewrap is not installed: `sudo apt-get install bubblewrap` (Debian, Ubuntu)"
    monkeypatch.setattr(sandbox, "isolation", lambda: sandbox.Isolation(why, None, None))
    steps = []

    def step(name: str):
        def run(args) -> int:
            steps.append((name, args))
            return 0
        return run

    for name in ("cmd_grade", "cmd_feedback", "cmd_export", "cmd_summary"):
        monkeypatch.setattr(cli, name, step(name))
    assert main(["demo", "--course", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    banner = out[:out.index("demo course:")]
    assert f"THIS DEMO GRADES WITHOUT A SANDBOX: {why}." in banner
    assert [name for name, _ in steps] == ["cmd_grade", "cmd_feedback", "cmd_export",
                                          "cmd_summary"]
    assert steps[0][1].allow_unsandboxed is True
    assert len(Course(tmp_path / "demo").students()) == 4  # collect did run


def test_one_students_failing_feedback_does_not_stop_the_others(tmp_path, capsys):
    students = {"alice": "perfect", "bob": "perfect", "carol": "partly"}
    course = new_course(tmp_path, students, limits=Limits(cell=10, notebook=60))
    marker = short_tmpdir()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TMPDIR", str(marker))
            mp.setattr(tempfile, "tempdir", str(marker))
            results = course.grade(jobs=2, allow_unsandboxed=isolation().sandbox is not None)
        assert {r.student: total(r) for r in results if r.notebook == NOTEBOOK} == {
            "alice": FULL, "bob": FULL, "carol": PARTLY}
    finally:
        clean_up(marker)
    # bob's graded notebook is damaged: nbgrader cannot make his feedback.
    graded_nb = course.autograded_dir("bob") / f"{NOTEBOOK}.ipynb"
    intact = graded_nb.read_bytes()
    graded_nb.write_bytes(intact[: len(intact) // 2])
    feedback = ["feedback", "--course", str(course.root), "--quiet"]
    html = {s: course.feedback_dir(s) / f"{NOTEBOOK}.html" for s in students}

    assert main(feedback) == 1
    out, err = capsys.readouterr()
    assert "feedback written to" in out and "for 2 student(s)" in out, out
    assert "no feedback for 1 student(s), bob" in err, err
    assert html["alice"].is_file() and html["carol"].is_file()
    assert not html["bob"].exists()
    flags = course.flags()
    assert [f for f in flags["bob"] if f.startswith("feedback:")], flags["bob"]
    assert not any(f.startswith("feedback:") for s in ("alice", "carol") for f in flags[s])
    assert main(["summary", "--course", str(course.root), "--quiet"]) == 0
    assert "feedback: nbgrader could not write it" in capsys.readouterr().out

    # Mended, the next feedback run writes bob's too, and the flag is gone.
    graded_nb.write_bytes(intact)
    assert main(feedback) == 0
    out, err = capsys.readouterr()
    assert "for 3 student(s)" in out and err == "", (out, err)
    assert all(path.is_file() for path in html.values())
    assert not [f for f in course.flags()["bob"] if f.startswith("feedback:")]
