"""Autograde submissions one student at a time, each in a scratch course.

nbgrader grades a submission inside a course folder and writes the scores into
that course's gradebook. Here every submission is graded in its own scratch course
(a copy of the submission and a copy of a *template* gradebook that knows the
assignment but no student), so a submission can neither see nor damage another
student's files or the class gradebook. The grader then reads the scratch scores
and is the only one to write the class gradebook. The same unit of work runs in
worker processes for ``--jobs``.

Flags (things the instructor must look at) are found here too: notebooks that
failed to run or timed out, and test cells a student deleted or edited (nbgrader
restores those from the gradebook before grading; the flag says it happened).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.config import ASSIGNMENT, nbgrader_config


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to grade one student, as plain paths."""

    student: str
    submission: Path  # .../submitted/STUDENT/week14
    template_db: Path  # gradebook with the assignment and no students
    release: Path  # the released notebooks, to compare test cells against
    work: Path  # scratch folder for this student (emptied first)


@dataclass
class Result:
    """One student's grading: scores per notebook and test cell, and flags."""

    student: str
    digest: str
    scores: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def submission_digest(folder: Path) -> str:
    """SHA-256 over the names and bytes of a submission's files (change detection)."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def _test_cells(path: Path) -> dict[str, str] | None:
    """grade_id -> source of a notebook's graded test cells (None if unreadable)."""
    try:
        nb = json.loads(path.read_text())
        cells = nb["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    found = {}
    for cell in cells if isinstance(cells, list) else []:
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if isinstance(meta, dict) and meta.get("grade") and "grade_id" in meta:
            src = cell.get("source", "")
            found[str(meta["grade_id"])] = "".join(src) if isinstance(src, list) else str(src)
    return found


def cell_flags(submitted: Path, released: Path) -> list[str]:
    """Flags for test cells deleted or edited in ``submitted`` relative to ``released``."""
    theirs, ours = _test_cells(submitted), _test_cells(released)
    if theirs is None or ours is None:
        return []
    flags = []
    missing = sorted(set(ours) - set(theirs))
    edited = sorted(g for g in ours if g in theirs and theirs[g].strip() != ours[g].strip())
    if missing:
        flags.append(f"{submitted.stem}: test cell(s) deleted and restored: {', '.join(missing)}")
    if edited:
        flags.append(f"{submitted.stem}: test cell(s) edited and restored: {', '.join(edited)}")
    return flags


def _timed_out(autograded: Path) -> bool:
    nb = json.loads(autograded.read_text())
    return any(out.get("ename") == "CellTimeoutError"
               for cell in nb["cells"] for out in cell.get("outputs", []))


def grade(job: Job) -> Result:
    """Grade one student's submission in a scratch course under ``job.work``."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    start = time.perf_counter()
    result = Result(job.student, submission_digest(job.submission))
    shutil.rmtree(job.work, ignore_errors=True)
    submitted = job.work / "submitted" / job.student / ASSIGNMENT
    shutil.copytree(job.submission, submitted)
    shutil.copyfile(job.template_db, job.work / "gradebook.db")
    config = nbgrader_config(job.work)
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    outcome = api.autograde(ASSIGNMENT, job.student, force=True, create=True)

    autograded = job.work / "autograded" / job.student / ASSIGNMENT
    for released in sorted(job.release.glob("*.ipynb")):
        name = released.stem
        mine = submitted / released.name
        graded = autograded / released.name
        if not mine.exists():
            result.flags.append(f"{name}: not submitted")
        elif not graded.exists():
            result.flags.append(f"{name}: failed to run (not a valid notebook, or the "
                                "kernel died); scored 0")
        elif _timed_out(graded):
            result.flags.append(f"{name}: timed out; unfinished cells scored 0")
        if mine.exists():
            result.flags.extend(cell_flags(mine, released))
    if not outcome["success"] and not result.flags:
        result.flags.append("nbgrader reported an error: see the autograded folder")

    with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gb:
        submission = gb.find_submission(ASSIGNMENT, job.student)
        for nb in submission.notebooks:
            result.scores[nb.name] = {g.name: [float(g.score), float(g.max_score)]
                                      for g in nb.grades}
    result.seconds = time.perf_counter() - start
    return result
