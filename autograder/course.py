"""A course folder: nbgrader's directories and gradebook behind a small Python API.

Layout of a course folder (``--course``, default ``<repo>/course``)::

    gradebook.db                      the class gradebook (or any SQLAlchemy URL)
    submitted/STUDENT/week14/*.ipynb  collected submissions
    autograded/STUDENT/week14/        nbgrader's graded copies
    feedback/STUDENT/week14/*.html    feedback for students
    exports/                          grade tables and the histogram
    .autograder/                      the grader's own state: template gradebook,
                                      scratch courses, what was graded when

One nbgrader API object is made per course and reused, so its ~5 s start-up is paid
once per command, not once per student.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import cached_property
from multiprocessing import get_context
from pathlib import Path

from autograder.autograde import Job, Result, grade, submission_digest
from autograder.config import ASSIGNMENT, COURSE_ID, course_dir, nbgrader_config


class Course:
    """The instructor's working folder for one class."""

    def __init__(self, root: str | os.PathLike | None = None, *, db_url: str | None = None):
        self.root = course_dir(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_dir = self.root / ".autograder"
        self.config = nbgrader_config(self.root, db_url=db_url)
        self.config.CourseDirectory.release_directory = str(self.state_dir / "release")
        self.db_url: str = self.config.CourseDirectory.db_url

    @cached_property
    def api(self):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        return NbGraderAPI(CourseDirectory(config=self.config), config=self.config)

    def gradebook(self):
        """An open nbgrader ``Gradebook`` (use as a context manager)."""
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, COURSE_ID)

    # -- folders -------------------------------------------------------------------
    @property
    def release_dir(self) -> Path:
        return self.state_dir / "release" / ASSIGNMENT

    @property
    def template_db(self) -> Path:
        return self.state_dir / "template.db"

    def submission_dir(self, student: str) -> Path:
        return self.root / "submitted" / student / ASSIGNMENT

    def autograded_dir(self, student: str) -> Path:
        return self.root / "autograded" / student / ASSIGNMENT

    def feedback_dir(self, student: str) -> Path:
        return self.root / "feedback" / student / ASSIGNMENT

    def notebook_names(self) -> list[str]:
        """The assignment's notebooks (without ``.ipynb``), from the source folder."""
        from autograder.release import source_notebooks

        return [p.stem for p in source_notebooks()]

    def students(self) -> list[str]:
        """Students with a submission folder, sorted."""
        submitted = self.root / "submitted"
        if not submitted.is_dir():
            return []
        return sorted(p.name for p in submitted.iterdir() if (p / ASSIGNMENT).is_dir())

    # -- the assignment ------------------------------------------------------------
    def sync_assignment(self) -> None:
        """Record the assignment (notebooks, test cells, points) in the class gradebook
        and in a template gradebook that scratch courses start from."""
        result = self.api.generate_assignment(ASSIGNMENT, force=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader could not register the assignment:\n"
                               f"{result.get('error') or result.get('log')}")
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        scratch = self.state_dir / "template"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        config = nbgrader_config(scratch)
        config.CourseDirectory.release_directory = str(scratch / "release")
        made = NbGraderAPI(CourseDirectory(config=config), config=config).generate_assignment(
            ASSIGNMENT, force=True)
        if not made["success"]:
            raise RuntimeError(f"nbgrader could not build the template gradebook:\n"
                               f"{made.get('error') or made.get('log')}")
        shutil.move(scratch / "gradebook.db", self.template_db)
        shutil.rmtree(scratch)

    # -- grading -------------------------------------------------------------------
    def _state_file(self) -> Path:
        return self.state_dir / "graded.json"

    def graded(self) -> dict[str, Result]:
        """What was graded so far, by student (from the grader's own state file)."""
        path = self._state_file()
        if not path.exists():
            return {}
        return {s: Result(**r) for s, r in json.loads(path.read_text()).items()}

    def _save_graded(self, graded: dict[str, Result]) -> None:
        path = self._state_file()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({s: r.to_json() for s, r in sorted(graded.items())},
                                  indent=1))
        tmp.replace(path)

    def pending(self, *, force: bool = False) -> list[str]:
        """Students whose submission is new or changed since it was last graded."""
        done = self.graded()
        return [s for s in self.students()
                if force or s not in done
                or done[s].digest != submission_digest(self.submission_dir(s))]

    def grade(self, students: list[str] | None = None, *, jobs: int = 1,
              on_result: Callable[[Result], None] | None = None) -> list[Result]:
        """Grade ``students`` (default: all pending), each in its own scratch course,
        in ``jobs`` worker processes; store the scores in the class gradebook (only this
        process writes it) and return the results in the order given."""
        todo = self.pending() if students is None else students
        if not todo:
            return []
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        self.sync_assignment()
        work = [Job(s, self.submission_dir(s), self.template_db, self.release_dir,
                    self.state_dir / "work" / s) for s in todo]
        graded = self.graded()
        done: dict[str, Result] = {}

        def record(job: Job, result: Result) -> None:
            self._record(result, job.work)
            graded[result.student] = done[result.student] = result
            self._save_graded(graded)
            if on_result:
                on_result(result)

        if jobs == 1:
            for job in work:
                record(job, grade(job))
        else:
            with ProcessPoolExecutor(min(jobs, len(work)),
                                     mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(grade, job): job for job in work}
                for future in as_completed(futures):
                    record(futures[future], future.result())
        return [done[s] for s in todo]

    def _record(self, result: Result, work: Path) -> None:
        """Copy a scratch course's autograded notebooks in and write its scores."""
        target = self.autograded_dir(result.student)
        shutil.rmtree(target, ignore_errors=True)
        source = work / "autograded" / result.student / ASSIGNMENT
        if source.is_dir():
            shutil.copytree(source, target)
        with self.gradebook() as gb:
            gb.update_or_create_student(result.student)
            submission = gb.update_or_create_submission(ASSIGNMENT, result.student)
            for nb in submission.notebooks:
                scores = result.scores.get(nb.name, {})
                for g in nb.grades:
                    g.auto_score = scores.get(g.name, [0.0])[0]
                    g.manual_score = None
                    g.needs_manual_grade = False
            gb.db.commit()
        shutil.rmtree(work, ignore_errors=True)

    # -- results -------------------------------------------------------------------
    def generate_feedback(self, student: str) -> dict:
        """Write the student's feedback HTML (hidden tests removed); nbgrader's result."""
        return self.api.generate_feedback(ASSIGNMENT, student, force=True)
