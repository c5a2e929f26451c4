"""A course folder: nbgrader's directories and gradebook behind a small Python API.

Layout of a course folder (``--course``, default ``<repo>/course``)::

    gradebook.db                      nbgrader's gradebook (or any SQLAlchemy URL)
    submitted/STUDENT/week14/*.ipynb  collected submissions
    autograded/STUDENT/week14/        nbgrader's graded copies
    feedback/STUDENT/week14/*.html    feedback for students
    exports/                          grade tables
    .release/                         nbgrader's scratch copy of the release

One nbgrader API object is made per course and reused, so its ~5 s start-up is paid
once per command, not once per student.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from autograder.config import ASSIGNMENT, COURSE_ID, course_dir, nbgrader_config


@dataclass(frozen=True)
class TestScore:
    """One graded test cell of one student's notebook."""

    student: str
    notebook: str
    test: str
    score: float
    max_score: float


class Course:
    """The instructor's working folder for one class."""

    def __init__(self, root: str | os.PathLike | None = None, *, db_url: str | None = None):
        self.root = course_dir(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = nbgrader_config(self.root, db_url=db_url)
        self.config.CourseDirectory.release_directory = str(self.root / ".release")
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

    def sync_assignment(self) -> None:
        """Record the assignment's notebooks, grade cells and points in the gradebook."""
        result = self.api.generate_assignment(ASSIGNMENT, force=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader could not register the assignment:\n"
                               f"{result.get('error') or result.get('log')}")

    def submission_dir(self, student: str) -> Path:
        return self.root / "submitted" / student / ASSIGNMENT

    def autograded_dir(self, student: str) -> Path:
        return self.root / "autograded" / student / ASSIGNMENT

    def feedback_dir(self, student: str) -> Path:
        return self.root / "feedback" / student / ASSIGNMENT

    def students(self) -> list[str]:
        """Students with a submission folder, sorted."""
        submitted = self.root / "submitted"
        if not submitted.is_dir():
            return []
        return sorted(p.name for p in submitted.iterdir() if (p / ASSIGNMENT).is_dir())

    def autograde(self, student: str) -> dict:
        """Autograde one student's submission with nbgrader; returns nbgrader's result."""
        return self.api.autograde(ASSIGNMENT, student, force=True, create=True)

    def test_scores(self) -> list[TestScore]:
        """Every graded test cell's score for every graded student."""
        rows = []
        with self.gradebook() as gb:
            for submission in gb.assignment_submissions(ASSIGNMENT):
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        rows.append(TestScore(submission.student_id, nb.name, grade.name,
                                              float(grade.score), float(grade.max_score)))
        return sorted(rows, key=lambda r: (r.student, r.notebook, r.test))

    def generate_feedback(self, student: str) -> dict:
        """Write the student's feedback HTML (hidden tests removed); nbgrader's result."""
        return self.api.generate_feedback(ASSIGNMENT, student, force=True)
