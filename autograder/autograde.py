"""Autograde a student's notebooks one at a time, each in two kernels.

A unit of work is one student: their notebooks, graded one after another. The
student's answers run in a kernel forked in the student's own sandbox
(:mod:`autograder.sandbox`); the test cells run in a kernel forked by a second,
trusted zygote, the checker, which reaches the student's kernel only through plain
data (:mod:`autograder.execute`, :mod:`week14.remote`). For each notebook the grader
builds the notebook to run from the instructor's source and the student's answer
cells (:mod:`autograder.notebook`), runs it, and scores each test cell as nbgrader
does (``nbgrader.utils.determine_grade``); only the parent process writes the class
gradebook. So a notebook can neither see nor change how it is checked, one broken
notebook costs only its own points, and students are graded side by side in worker
processes for ``--jobs``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.config import Limits
from autograder.notebook import grade_id, is_test, prepare
from autograder.report import Score
from autograder.sandbox import ZygoteAddress
from autograder.timing import timed
from autograder.workers import Workers
from week14.grading import MISTAKE_TAG
from week14.misconceptions import CATALOGUE

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from autograder.sandbox import Zygote


@dataclass(frozen=True, kw_only=True)
class Job:
    """Everything a worker needs to grade one notebook of one student, as plain data."""

    student: str
    notebook: str  # name without .ipynb
    submitted: Path  # .../submitted/STUDENT/week14/NOTEBOOK.ipynb (may be missing)
    released: Path  # the release's NOTEBOOK.ipynb (the answers' stubs)
    source: Path  # the instructor's NOTEBOOK.ipynb (test cells with hidden tests)
    points: dict[str, float]  # test cell -> points
    work: Path  # scratch folder for this job (emptied first)
    limits: Limits


@dataclass(frozen=True, kw_only=True)
class StudentJob:
    """One student's notebooks to grade, in one sandbox, as plain data."""

    student: str
    notebooks: tuple[Job, ...]
    hidden: tuple[str, ...]  # folders the kernels must not see
    readable: tuple[str, ...]  # folders the kernels must read
    limits: Limits
    checker: ZygoteAddress  # the run's checker zygote (see Course.grade)
    run: str  # the grading run's name: its control groups' prefix
    scratch: Path  # the run's folder for the sandboxes' working folders

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
    scores: dict[str, Score] = field(default_factory=dict)  # test cell -> its points
    flags: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds
    isolation: str = ""  # what held the student's code (sandbox.Isolation.describe)
    complete: bool = True  # False: the grader failed; `grade` grades it again
    mistakes: dict[str, str] = field(default_factory=dict)  # failed test -> mistake key
    tests: str = ""  # digest of the assignment's notebook it was graded against

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> NotebookResult:
        """Read :meth:`to_json`'s output, also from older versions of the grader."""
        known = {f.name for f in fields(cls)}
        result = cls(**{key: value for key, value in data.items() if key in known})
        result.scores = {test: Score(*points) for test, points in result.scores.items()}
        return result


#: Where grading time goes, in order: building the notebook to run; starting the
#: student's sandbox (once per student, counted for the notebook that needed it
#: first); forking the two kernels until they answer; running
#: the student's cells; running the test cells in the checker; scoring and writing the
#: graded notebook; writing the class gradebook (in the parent process).
PHASES = ("prepare", "sandbox start", "kernel start", "execution", "checker", "scoring",
          "gradebook")


def file_digest(path: Path) -> str:
    """SHA-256 of a submitted notebook ("missing" if there is none)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"


def _zero_scores(points: dict[str, float]) -> dict[str, Score]:
    return {name: Score(0.0, float(maximum)) for name, maximum in points.items()}


#: What an error in a graded notebook says about the submission (ename or message part).
_ERROR_FLAGS = {
    "CellTimeoutError": "a cell timed out after {cell} s; unfinished cells scored 0",
    "MemoryError": "ran out of memory (limit {memory} MiB); that cell scored 0",
    "calls week14's own": "an answer calls week14's own implementation of its exercise",
}


def output_flags(nb: NotebookNode, name: str, limits: Limits) -> list[str]:
    """Flags from the errors a graded notebook shows (timeouts, memory, reference calls)."""
    errors = [f"{out.get('ename', '')}: {out.get('evalue', '')}"
              for cell in nb.cells for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    values = {"cell": limits.cell, "memory": limits.memory // 2**20}
    return [f"{name}: {message.format(**values)}" for key, message in _ERROR_FLAGS.items()
            if any(key in error for error in errors)]


_MISTAKE = re.compile(re.escape(MISTAKE_TAG).replace(r"\{\}", r"([\w-]+)"))


KNOWN_MISTAKES = {m.key for found in CATALOGUE.values() for m in found}


def mistakes(nb: NotebookNode, scores: dict[str, Score]) -> dict[str, str]:
    """Test cell -> the catalogued mistake its failure names (week14.misconceptions),
    or ``"other"``, for each test cell that lost points. Only the catalogue's keys
    count: a key in a student's own exception message names nothing."""
    found = {}
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in scores and scores[gid].score < scores[gid].max_score:
            errors = " ".join(str(out.get("evalue", "")) for out in cell.get("outputs", [])
                              if out.get("output_type") == "error")
            keys = [key for key in _MISTAKE.findall(errors) if key in KNOWN_MISTAKES]
            found[gid] = keys[-1] if keys else "other"
    return found


def grade_student(job: StudentJob) -> list[NotebookResult]:
    """Grade one student's notebooks: their kernels forked in one sandbox, the
    checkers' by the run's checker zygote. A notebook whose grading raises is recorded
    with a flag (scored 0 for now) and the next one is graded in a fresh sandbox."""
    from autograder.sandbox import Zygote, isolation, prepare_workdir, scratch_folder

    results = []
    # The kernels' folder holds their Unix sockets, whose paths may not exceed 107
    # bytes: a short folder under the run's, not one deep in the course folder.
    with scratch_folder(job.scratch, job.limits.disk) as folder:
        prepare_workdir(folder)
        with Zygote(folder, hidden=list(job.hidden), readable=list(job.readable),
                    limits=job.limits, wall=job.wall, run=job.run,
                    log_dir=job.scratch) as student:
            for notebook in job.notebooks:
                try:
                    result = grade(notebook, student, job.checker)
                except Exception as err:  # noqa: BLE001 - this notebook's, not the class's
                    student.stop()
                    result = _failed(notebook, f"the grader failed ({type(err).__name__}: "
                                               f"{str(err)[:300]}); run grade again")
                result.isolation = isolation().describe(job.limits)
                results.append(result)
    return results


def grade(job: Job, student: Zygote, checker: ZygoteAddress) -> NotebookResult:
    """Grade one notebook of one student: the graded notebook is written to
    ``job.work / "autograded.ipynb"``. The student's zygote is started here if it is
    not running."""
    import nbformat
    from nbgrader.utils import determine_grade

    from autograder.execute import run_notebook

    name = job.notebook
    result = NotebookResult(job.student, name, file_digest(job.submitted),
                            _zero_scores(job.points))
    if not job.submitted.exists():
        result.flags.append(f"{name}: not submitted; scored 0")
        return result
    with timed(result.timings, "prepare"):
        prepared = prepare(job.submitted.read_text(errors="replace"),
                           nbformat.read(job.source, as_version=4),
                           nbformat.read(job.released, as_version=4), name)
    result.flags += [flag if flag.startswith(f"{name}:") else f"{name}: {flag}"
                     for flag in prepared.flags]
    if prepared.notebook is None:
        return result
    shutil.rmtree(job.work, ignore_errors=True)
    job.work.mkdir(parents=True)
    if not student.running():
        with timed(result.timings, "sandbox start"):
            student.start()
            student.ready()
    killed = student.killed_for_memory()
    run = asyncio.run(run_notebook(prepared, student.address, checker, job.limits))
    result.timings.update(run.timings)
    if student.killed_for_memory() > killed:
        result.flags.append(f"{name}: its processes together used more than "
                            f"{job.limits.memory // 2**20} MiB of memory; the largest was "
                            "killed")
    with timed(result.timings, "scoring"):
        nb = prepared.notebook
        for cell in nb.cells:
            if is_test(cell) and grade_id(cell) in job.points:
                score, maximum = determine_grade(cell)
                result.scores[grade_id(cell)] = Score(float(score or 0.0), float(maximum))
        result.mistakes = mistakes(nb, result.scores)
        result.flags += output_flags(nb, name, job.limits)
        result.flags += [f"{name}: {problem}; later cells scored 0" for problem in run.problems]
        nbformat.write(nb, job.work / "autograded.ipynb")
    return result


def _failed(job: Job, why: str) -> NotebookResult:
    result = NotebookResult(job.student, job.notebook, file_digest(job.submitted),
                            _zero_scores(job.points))
    result.flags.append(f"{job.notebook}: {why}; scored 0 for now")
    result.complete = False
    return result


def run_jobs(work: list[StudentJob], workers: int,
             on_done: Callable[[Job, NotebookResult], None]) -> None:
    """Grade every student's job in ``workers`` spawned processes, calling ``on_done``
    in this process for each notebook as its student finishes.

    A watchdog guards the class against the grader itself: a student cannot
    legitimately take longer than their sandbox's limit (:attr:`StudentJob.wall`), so
    a student still being graded that long plus two minutes after it began has its
    worker killed: their notebooks get a flag that says to grade again (or, if none had
    begun, they are graded again in a fresh worker). A job that raises, or whose worker
    dies, is recorded the same way. The other students go on in their own workers.
    """
    queue = list(work)
    while queue:
        again = []
        with Workers(min(workers, len(queue)), grade_student) as pool:
            for finished in pool.run(queue, _patience):
                job = finished.task
                results = finished.value
                if finished.timed_out:
                    if not any(notebook.work.exists() for notebook in job.notebooks):
                        again.append(job)
                        continue
                    why = (f"grading did not finish in {_patience(job):.0f} s (the grader "
                           "hung); run grade again")
                    results = [_failed(notebook, why) for notebook in job.notebooks]
                elif finished.error is not None:
                    why = f"the grader failed ({finished.error}); run grade again"
                    results = [_failed(notebook, why) for notebook in job.notebooks]
                for notebook, result in zip(job.notebooks, results, strict=True):
                    on_done(notebook, result)
        queue = again


def _patience(job: StudentJob) -> float:
    """Seconds the grading of ``job`` may take: its sandbox's limit, and two minutes."""
    return job.wall + 120
