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
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from autograder.autograde import Job, NotebookResult, file_digest, run_jobs
from autograder.config import (
    ASSIGNMENT,
    COURSE_ID,
    REPO,
    SOURCE_DIR,
    Limits,
    course_dir,
    nbgrader_config,
    quiet_nbgrader,
)
from autograder.sandbox import readable_paths


class Course:
    """The instructor's working folder for one class."""

    def __init__(self, root: str | os.PathLike | None = None, *, db_url: str | None = None,
                 limits: Limits | None = None):
        self.root = course_dir(root)
        self.limits = limits or Limits()
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

    def graded(self) -> dict[str, dict[str, NotebookResult]]:
        """What was graded so far: student -> notebook -> result (the grader's state)."""
        path = self._state_file()
        if not path.exists():
            return {}
        return {s: {nb: NotebookResult(**r) for nb, r in notebooks.items()}
                for s, notebooks in json.loads(path.read_text()).items()}

    def flags(self) -> dict[str, list[str]]:
        """Everything the instructor should look at, by student."""
        return {s: [f for r in nbs.values() for f in r.flags]
                for s, nbs in self.graded().items()}

    def _save_graded(self, graded: dict[str, dict[str, NotebookResult]]) -> None:
        path = self._state_file()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(
            {s: {nb: r.to_json() for nb, r in sorted(nbs.items())}
             for s, nbs in sorted(graded.items())}, indent=1))
        tmp.replace(path)

    def pending(self, *, force: bool = False) -> list[tuple[str, str]]:
        """(student, notebook) pairs that are new or changed since last graded."""
        done = self.graded()
        todo = []
        for student in self.students():
            for notebook in self.notebook_names():
                previous = done.get(student, {}).get(notebook)
                path = self.submission_dir(student) / f"{notebook}.ipynb"
                if force or previous is None or previous.digest != file_digest(path):
                    todo.append((student, notebook))
        return todo

    def _hidden(self) -> tuple[str, ...]:
        """Folders a student's kernel must not see."""
        hidden = {str(self.root), str(SOURCE_DIR), str(REPO / ".git")}
        if self.db_url.startswith("sqlite:///"):
            hidden.add(str(Path(self.db_url.removeprefix("sqlite:///")).parent))
        return tuple(sorted(p for p in hidden if Path(p).exists()))

    def grade(self, todo: list[tuple[str, str]] | None = None, *, jobs: int = 1,
              on_result: Callable[[NotebookResult], None] | None = None
              ) -> list[NotebookResult]:
        """Grade (student, notebook) pairs (default: all pending), each in its own
        scratch course, in ``jobs`` worker processes; store the scores in the class
        gradebook (only this process writes it); return the results in order."""
        todo = self.pending() if todo is None else todo
        if not todo:
            return []
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        self.sync_assignment()
        self.backup_gradebook()
        hidden, readable = self._hidden(), tuple(readable_paths(REPO))
        work = [Job(s, nb, self.submission_dir(s) / f"{nb}.ipynb",
                    self.release_dir / f"{nb}.ipynb", self.template_db,
                    self.state_dir / "work" / f"{s}--{nb}",
                    self.state_dir / "logs" / f"{s}--{nb}.log", hidden, readable,
                    self.limits) for s, nb in todo]
        graded = self.graded()
        done: dict[tuple[str, str], NotebookResult] = {}

        def record(job: Job, result: NotebookResult) -> None:
            self._record(result, job.work)
            graded.setdefault(result.student, {})[result.notebook] = result
            done[(result.student, result.notebook)] = result
            self._save_graded(graded)
            if on_result:
                on_result(result)

        run_jobs(work, jobs, record)
        return [done[key] for key in todo]

    def backup_gradebook(self) -> Path | None:
        """Copy a SQLite class gradebook to ``.autograder/backups/`` before grading."""
        if not self.db_url.startswith("sqlite:///"):
            return None
        db = Path(self.db_url.removeprefix("sqlite:///"))
        if not db.exists():
            return None
        backups = self.state_dir / "backups"
        backups.mkdir(parents=True, exist_ok=True)
        target = backups / f"gradebook-{time.strftime('%Y%m%d-%H%M%S')}.db"
        shutil.copy2(db, target)
        for old in sorted(backups.glob("gradebook-*.db"))[:-10]:
            old.unlink()
        return target

    def _record(self, result: NotebookResult, work: Path) -> None:
        """Copy a scratch course's autograded notebook in and write its scores."""
        name = f"{result.notebook}.ipynb"
        target = self.autograded_dir(result.student) / name
        target.unlink(missing_ok=True)
        source = work / "course" / "autograded" / result.student / ASSIGNMENT / name
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        with quiet_nbgrader(), self.gradebook() as gb:
            gb.update_or_create_student(result.student)
            submission = gb.update_or_create_submission(ASSIGNMENT, result.student)
            nb = next(n for n in submission.notebooks if n.name == result.notebook)
            for g in nb.grades:
                g.auto_score = result.scores.get(g.name, [0.0])[0]
                g.manual_score = None
                g.needs_manual_grade = False
            gb.db.commit()
        shutil.rmtree(work, ignore_errors=True)

    # -- results -------------------------------------------------------------------
    def generate_feedback(self, student: str) -> dict:
        """Write the student's feedback HTML (hidden tests removed); nbgrader's result."""
        return self.api.generate_feedback(ASSIGNMENT, student, force=True)
