"""Autograde one student's notebook at a time, each in a scratch course.

A unit of work is one (student, notebook). The grader builds the notebook to run
from the release and the student's answer cells (:mod:`autograder.integrity`), then
runs nbgrader's autograde in a scratch course made for it: a copy of a *template*
gradebook that knows the assignment but no student, and that one notebook. The kernel
runs in the sandbox of :mod:`autograder.sandbox`. The grader then reads the scores from
the scratch gradebook; only the parent process writes the class gradebook. So a
notebook can neither see nor damage another student's files or the class gradebook,
one broken notebook costs only its own points, and the same unit runs in worker
processes for ``--jobs``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

from autograder.config import ASSIGNMENT, Limits, nbgrader_config, quiet_nbgrader
from autograder.integrity import prepare


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to grade one notebook of one student, as plain data."""

    student: str
    notebook: str  # name without .ipynb
    submitted: Path  # .../submitted/STUDENT/week14/NOTEBOOK.ipynb (may be missing)
    released: Path  # the release's NOTEBOOK.ipynb
    template_db: Path  # gradebook with the assignment and no students
    work: Path  # scratch folder for this job (emptied first)
    log: Path  # where nbgrader's log goes when the notebook could not be graded
    hidden: tuple[str, ...]  # folders the kernel must not see
    readable: tuple[str, ...]  # folders the kernel must read
    limits: Limits


@dataclass
class NotebookResult:
    """One student's notebook: its digest, scores per test cell, flags, time."""

    student: str
    notebook: str
    digest: str
    scores: dict[str, list[float]] = field(default_factory=dict)  # test -> [score, max]
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def file_digest(path: Path) -> str:
    """SHA-256 of a submitted notebook ("missing" if there is none)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"


def _zero_scores(template_db: Path, notebook: str) -> dict[str, list[float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{template_db}") as gb:
        cells = gb.find_notebook(notebook, ASSIGNMENT).grade_cells
        return {c.name: [0.0, float(c.max_score)] for c in cells}


#: What an error in a graded notebook says about the submission (ename or message part).
_ERROR_FLAGS = {
    "CellTimeoutError": "a cell timed out after {cell} s; unfinished cells scored 0",
    "MemoryError": "ran out of memory (limit {memory} MiB); that cell scored 0",
    "calls week14's reference implementation": "an answer calls the reference "
                                                "implementation it is graded against",
}


def output_flags(autograded: Path, name: str, limits: Limits) -> list[str]:
    """Flags from the errors a graded notebook shows (timeouts, memory, reference calls)."""
    nb = json.loads(autograded.read_text())
    errors = [f"{out.get('ename', '')}: {out.get('evalue', '')}"
              for cell in nb["cells"] for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    values = {"cell": limits.cell, "memory": limits.memory // 2**20}
    return [f"{name}: {message.format(**values)}" for key, message in _ERROR_FLAGS.items()
            if any(key in error for error in errors)]


def scratch_config(job: Job, kernel_dir: Path):
    """nbgrader configuration for the job's scratch course, its kernel in the sandbox
    with ``kernel_dir`` as its working folder."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from autograder.sandbox import SandboxedExecute

    config = nbgrader_config(job.work / "course")
    config.CourseDirectory.notebook_id = job.notebook
    config.Autograde.autograde_preprocessors = [
        SandboxedExecute if step is Execute else step
        for step in Autograde.class_traits()["autograde_preprocessors"].default()
    ]
    km = config.SandboxedKernelManager
    km.workdir = str(kernel_dir)
    km.hidden = list(job.hidden)
    km.readable = list(job.readable)
    km.memory = job.limits.memory
    km.wall = job.limits.notebook
    config.Execute.timeout = job.limits.cell
    return config


def grade(job: Job) -> NotebookResult:
    """Grade one notebook of one student in a scratch course under ``job.work``."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from autograder.sandbox import prepare_workdir

    start = time.perf_counter()
    name = job.notebook
    result = NotebookResult(job.student, name, file_digest(job.submitted),
                            _zero_scores(job.template_db, name))
    if not job.submitted.exists():
        result.flags.append(f"{name}: not submitted; scored 0")
        return result
    prepared = prepare(job.submitted.read_text(errors="replace"),
                       json.loads(job.released.read_text()), name)
    result.flags += prepared.flags
    if prepared.notebook is None:
        return result

    shutil.rmtree(job.work, ignore_errors=True)
    course = job.work / "course"
    target = course / "submitted" / job.student / ASSIGNMENT / f"{name}.ipynb"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(prepared.notebook))
    shutil.copyfile(job.template_db, course / "gradebook.db")
    # The kernel's folder holds its Unix sockets, whose paths may not exceed 107
    # bytes: a short temporary folder, not one deep in the course folder.
    with tempfile.TemporaryDirectory(prefix="week14-kernel-") as kernel_dir:
        prepare_workdir(Path(kernel_dir))
        config = scratch_config(job, Path(kernel_dir))
        with quiet_nbgrader():
            outcome = NbGraderAPI(CourseDirectory(config=config), config=config).autograde(
                ASSIGNMENT, job.student, force=True, create=True)

    graded = course / "autograded" / job.student / ASSIGNMENT / f"{name}.ipynb"
    elapsed = time.perf_counter() - start
    if not graded.exists():
        wall = job.limits.notebook
        why = (f"stopped after the notebook's {wall} s limit" if elapsed >= wall
               else "the kernel died or nbgrader failed")
        job.log.parent.mkdir(parents=True, exist_ok=True)
        job.log.write_text(f"{outcome.get('log') or ''}\n{outcome.get('error') or ''}")
        result.flags.append(f"{name}: failed to run ({why}; nbgrader's log: {job.log}); "
                            "scored 0")
    else:
        result.flags += output_flags(graded, name, job.limits)
        with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gb:
            nb = gb.find_submission_notebook(name, ASSIGNMENT, job.student)
            result.scores = {g.name: [float(g.score), float(g.max_score)] for g in nb.grades}
    result.seconds = time.perf_counter() - start
    return result


def _failed(job: Job, why: str) -> NotebookResult:
    result = NotebookResult(job.student, job.notebook, file_digest(job.submitted),
                            _zero_scores(job.template_db, job.notebook))
    result.flags.append(f"{job.notebook}: {why}; scored 0 for now")
    return result


def run_jobs(work: list[Job], workers: int,
             on_done: Callable[[Job, NotebookResult], None]) -> None:
    """Grade every job in ``workers`` spawned processes, calling ``on_done`` in this
    process as each finishes.

    A watchdog guards the class against the grader itself: a job cannot legitimately
    take longer than its notebook limit (the kernel is killed then), so if no job
    finishes for that long plus two minutes, the workers are killed, the jobs that
    were running get a flag that says to grade again, and the rest start over in fresh
    workers. A job that raises is recorded the same way; the others go on.
    """
    patience = max(job.limits.notebook for job in work) + 120
    queue = list(work)
    while queue:
        pool = ProcessPoolExecutor(min(workers, len(queue)), mp_context=get_context("spawn"))
        futures = {pool.submit(grade, job): job for job in queue}
        queue, remaining = [], set(futures)
        try:
            while remaining:
                finished, remaining = wait(remaining, timeout=patience,
                                           return_when=FIRST_COMPLETED)
                for future in finished:
                    job = futures[future]
                    try:
                        result = future.result()
                    except Exception as err:  # noqa: BLE001 - a grader error, not the class's
                        result = _failed(job, f"the grader failed ({type(err).__name__}: "
                                              f"{err}); run grade again")
                    on_done(job, result)
                if not finished:
                    for future in remaining:
                        job = futures[future]
                        if (job.work / "course").exists():
                            on_done(job, _failed(job, f"grading did not finish in {patience}"
                                                      " s (the grader hung); run grade again"))
                        else:
                            queue.append(job)
                    break
        finally:
            if remaining:
                for process in list(pool._processes.values()):
                    process.kill()
            pool.shutdown(wait=not remaining, cancel_futures=True)
