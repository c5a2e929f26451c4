"""Autograde a student's notebooks one at a time, each in a scratch course.

A unit of work is one student: their notebooks, graded one after another in the
student's own sandbox (:mod:`autograder.sandbox`), where a zygote forks a fresh kernel
for each notebook. For each notebook the grader builds the notebook to run from the
release and the student's answer cells (:mod:`autograder.integrity`), then runs
nbgrader's autograde in a scratch course made for it: a copy of that notebook's
*template* gradebook, which knows the notebook but no student. The grader then reads
the scores from the scratch gradebook; only the parent process writes the class
gradebook. So a notebook can neither see nor damage another student's files or the
class gradebook, one broken notebook costs only its own points, and students are
graded side by side in worker processes for ``--jobs``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, fields
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.config import ASSIGNMENT, Limits, nbgrader_config, quiet_nbgrader
from autograder.integrity import prepare

if TYPE_CHECKING:
    from autograder.sandbox import Zygote


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to grade one notebook of one student, as plain data."""

    student: str
    notebook: str  # name without .ipynb
    submitted: Path  # .../submitted/STUDENT/week14/NOTEBOOK.ipynb (may be missing)
    released: Path  # the release's NOTEBOOK.ipynb
    template_db: Path  # gradebook with this notebook of the assignment, no students
    work: Path  # scratch folder for this job (emptied first)
    log: Path  # where nbgrader's log goes when the notebook could not be graded
    limits: Limits


@dataclass(frozen=True)
class StudentJob:
    """One student's notebooks to grade, in one sandbox, as plain data."""

    student: str
    notebooks: tuple[Job, ...]
    hidden: tuple[str, ...]  # folders the kernels must not see
    readable: tuple[str, ...]  # folders the kernels must read
    limits: Limits

    @property
    def wall(self) -> int:
        """Seconds the student's sandbox may live: every notebook's limit, and a minute."""
        return self.limits.notebook * len(self.notebooks) + 60


@dataclass
class NotebookResult:
    """One student's notebook: its digest, scores per test cell, flags, and the seconds
    spent in each part of grading it (:data:`PHASES`)."""

    student: str
    notebook: str
    digest: str
    scores: dict[str, list[float]] = field(default_factory=dict)  # test -> [score, max]
    flags: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> NotebookResult:
        """Read :meth:`to_json`'s output, also from older versions of the grader."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


#: Where grading time goes, in order: checking answers and building the scratch course;
#: starting the student's sandbox and zygote (once per student, counted for the notebook
#: that needed it first); forking a kernel until it answers; running the cells; the
#: rest of nbgrader's autograde (its gradebook, the other preprocessors, files);
#: writing the class gradebook (in the parent process).
PHASES = ("prepare", "sandbox start", "kernel start", "execution", "nbgrader", "gradebook")


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


def scratch_config(job: Job, zygote: Zygote):
    """nbgrader configuration for the job's scratch course, its kernel forked by the
    student's ``zygote``."""
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
    km.workdir = str(zygote.workdir)
    km.zygote = zygote.socket
    km.wall = job.limits.notebook
    config.Execute.timeout = job.limits.cell
    config.SandboxedExecute.timings_file = str(job.work / "timings.json")
    return config


def grade_student(job: StudentJob) -> list[NotebookResult]:
    """Grade one student's notebooks, their kernels forked in one sandbox."""
    from autograder.sandbox import Zygote, prepare_workdir

    # The kernels' folder holds their Unix sockets, whose paths may not exceed 107
    # bytes: a short temporary folder, not one deep in the course folder.
    with tempfile.TemporaryDirectory(prefix="week14-") as folder:
        workdir = Path(folder)
        prepare_workdir(workdir)
        with Zygote(workdir, hidden=list(job.hidden), readable=list(job.readable),
                    memory=job.limits.memory, wall=job.wall) as zygote:
            return [grade(notebook, zygote) for notebook in job.notebooks]


def grade(job: Job, zygote: Zygote) -> NotebookResult:
    """Grade one notebook of one student in a scratch course under ``job.work``, its
    kernel forked by ``zygote`` (started here if it is not running)."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

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
    config = scratch_config(job, zygote)
    result.timings["prepare"] = time.perf_counter() - start
    if not zygote.running():
        sandbox_start = time.perf_counter()
        zygote.start()
        result.timings["sandbox start"] = time.perf_counter() - sandbox_start
    nbgrader_start = time.perf_counter()
    with quiet_nbgrader():
        outcome = NbGraderAPI(CourseDirectory(config=config), config=config).autograde(
            ASSIGNMENT, job.student, force=True, create=True)

    graded = course / "autograded" / job.student / ASSIGNMENT / f"{name}.ipynb"
    elapsed = time.perf_counter() - nbgrader_start  # the notebook's own run
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
    timings = job.work / "timings.json"
    kernel = json.loads(timings.read_text()) if timings.exists() else {}
    result.timings.update(kernel)
    result.timings["nbgrader"] = time.perf_counter() - nbgrader_start - sum(kernel.values())
    return result


def _failed(job: Job, why: str) -> NotebookResult:
    result = NotebookResult(job.student, job.notebook, file_digest(job.submitted),
                            _zero_scores(job.template_db, job.notebook))
    result.flags.append(f"{job.notebook}: {why}; scored 0 for now")
    return result


def run_jobs(work: list[StudentJob], workers: int,
             on_done: Callable[[Job, NotebookResult], None]) -> None:
    """Grade every student's job in ``workers`` spawned processes, calling ``on_done``
    in this process for each notebook as its student finishes.

    A watchdog guards the class against the grader itself: a student cannot
    legitimately take longer than their sandbox's limit (:attr:`StudentJob.wall`), so
    if no student finishes for that long plus two minutes, the workers are killed, the
    notebooks of the students that were being graded get a flag that says to grade
    again, and the rest start over in fresh workers. A job that raises is recorded the
    same way; the others go on.
    """
    patience = max(job.wall for job in work) + 120
    queue = list(work)
    while queue:
        pool = ProcessPoolExecutor(min(workers, len(queue)), mp_context=get_context("spawn"))
        futures = {pool.submit(grade_student, job): job for job in queue}
        queue, remaining = [], set(futures)
        try:
            while remaining:
                finished, remaining = wait(remaining, timeout=patience,
                                           return_when=FIRST_COMPLETED)
                for future in finished:
                    job = futures[future]
                    try:
                        results = future.result()
                    except Exception as err:  # noqa: BLE001 - a grader error, not the class's
                        why = f"the grader failed ({type(err).__name__}: {err}); run grade again"
                        results = [_failed(notebook, why) for notebook in job.notebooks]
                    for notebook, result in zip(job.notebooks, results, strict=True):
                        on_done(notebook, result)
                if not finished:
                    why = (f"grading did not finish in {patience} s (the grader hung); "
                           "run grade again")
                    for future in remaining:
                        job = futures[future]
                        if any((notebook.work / "course").exists() for notebook in job.notebooks):
                            for notebook in job.notebooks:
                                on_done(notebook, _failed(notebook, why))
                        else:
                            queue.append(job)
                    break
        finally:
            if remaining:
                for process in list(pool._processes.values()):
                    process.kill()
            pool.shutdown(wait=not remaining, cancel_futures=True)
