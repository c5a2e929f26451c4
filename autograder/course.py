"""A course folder: nbgrader's directories and gradebook behind a small Python API.

Layout of a course folder (``--course``, default ``<repo>/course``)::

    gradebook.db                      the class gradebook (or any SQLAlchemy URL)
    submitted/STUDENT/week14/*.ipynb  collected submissions
    autograded/STUDENT/week14/        nbgrader's graded copies
    feedback/STUDENT/week14/*.html    feedback for students
    exports/                          grade tables and the histogram
    .autograder/                      the grader's own state: the release nbgrader
                                      registered, scratch folders, graded/STUDENT.json
                                      (what was graded when), gradebook backups

One nbgrader API object is made per course and reused, so its ~5 s start-up is paid
once per command, not once per student.

Several grading processes may share a course and its gradebook: ``grade --shard
INDEX/COUNT`` on each of COUNT machines with one PostgreSQL gradebook (``--db-url``).
Each grades the students of its :class:`Shard`, so no two write the same student's
state or grades; the assignment is registered under a lock (:meth:`Course._exclusive`).
Flags live in the grader's state (``graded/``), in the course folder of the machine
that graded the student; a shared folder keeps them together.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from autograder import cgroup
from autograder.autograde import Job, NotebookResult, StudentJob, file_digest, run_jobs
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
from autograder.sandbox import (
    LIBRARY,
    Zygote,
    isolation,
    prepare_workdir,
    readable_paths,
    unmount_under,
)
from autograder.timing import timed

if TYPE_CHECKING:
    from autograder.late import LatePolicy

#: Key of the PostgreSQL advisory lock that graders sharing a gradebook take in turn.
_ADVISORY_LOCK = 1414_2026


@dataclass(frozen=True)
class Shard:
    """Slice ``index`` of ``count`` of a class (``grade --shard INDEX/COUNT``): the
    students whose name hashes to it. Deterministic and stable: a student added later
    does not move the others, so each machine of ``count`` grades the same students
    every time."""

    index: int  # 1 .. count
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index}/{self.count} does not exist: INDEX/COUNT "
                             "needs 1 <= INDEX <= COUNT, e.g. 1/2 and 2/2 for two machines")

    @classmethod
    def parse(cls, text: str, environ: Mapping[str, str] | None = None) -> Shard:
        """``"2/3"`` -> Shard(2, 3), with an error that shows the expected form;
        ``"auto"`` -> the shard of this task of a cluster's array job
        (:meth:`from_environment`)."""
        if text == "auto":
            return cls.from_environment(os.environ if environ is None else environ)
        index, slash, count = text.partition("/")
        if not (slash and index.strip().isdigit() and count.strip().isdigit()):
            raise ValueError(f"--shard takes INDEX/COUNT, e.g. 1/2 on the first of two "
                             f"machines and 2/2 on the second; got {text!r}")
        return cls(int(index), int(count))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Shard:
        """The shard of this task of an array job: a Slurm job array
        (``SLURM_ARRAY_TASK_ID``, ``_MIN``, ``_STEP``, ``_COUNT``) or a Kubernetes
        Indexed Job (``JOB_COMPLETION_INDEX``, from 0, and ``SHARD_COUNT``, which its
        manifest sets to the Job's ``completions``)."""
        def number(name: str, default: int | None = None) -> int:
            text = environ.get(name)
            if text is None and default is not None:
                return default
            if text is None or not text.strip().isdigit():
                raise ValueError(f"--shard auto needs {name} to be a whole number, got "
                                 f"{text!r}")
            return int(text)

        if "SLURM_ARRAY_TASK_ID" in environ:
            first, step = number("SLURM_ARRAY_TASK_MIN", 0), number("SLURM_ARRAY_TASK_STEP", 1)
            return cls((number("SLURM_ARRAY_TASK_ID") - first) // max(step, 1) + 1,
                       number("SLURM_ARRAY_TASK_COUNT"))
        if "JOB_COMPLETION_INDEX" in environ:
            return cls(number("JOB_COMPLETION_INDEX") + 1, number("SHARD_COUNT"))
        raise ValueError("--shard auto found no array job here: run it as a Slurm job array "
                         "(sbatch --array, deploy/grade.slurm) or a Kubernetes Indexed Job "
                         "with SHARD_COUNT set (deploy/grade-job.yaml), or give INDEX/COUNT")

    def __contains__(self, student: str) -> bool:
        number = int.from_bytes(hashlib.sha256(student.encode()).digest()[:8], "big")
        return number % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _naive_utc(when: datetime | None) -> datetime | None:
    """A time as nbgrader's gradebook keeps it: UTC, without a zone."""
    return when.astimezone(UTC).replace(tzinfo=None) if when is not None else None


def test_points(source: Path) -> dict[str, float]:
    """Test cell -> points, of a source notebook."""
    import nbformat
    from nbgrader.utils import is_grade, is_solution

    return {c.metadata.nbgrader.grade_id: float(c.metadata.nbgrader.points)
            for c in nbformat.read(source, as_version=4).cells
            if c.cell_type == "code" and is_grade(c) and not is_solution(c)}


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
    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One process at a time changes the assignment: hold the lock file
        ``.autograder/lock`` (shards may share the course folder) and, for PostgreSQL,
        a transaction-level advisory lock in the database, which shards on other
        machines share."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.db_url.startswith("postgresql"):
                yield
                return
            import sqlalchemy

            engine = sqlalchemy.create_engine(self.db_url)
            try:
                with engine.begin() as connection:  # the lock ends with the transaction
                    connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"),
                                       {"key": _ADVISORY_LOCK})
                    yield
            finally:
                engine.dispose()

    def _assignment_digest(self) -> str:
        """SHA-256 of the source notebooks: what the assignment is made of."""
        from autograder.release import source_notebooks

        digest = hashlib.sha256()
        for path in source_notebooks():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    def _gradebook_notebooks(self) -> set[str]:
        """The assignment's notebooks as the class gradebook knows them (none if it
        does not know the assignment)."""
        from nbgrader.api import MissingEntry

        with self.gradebook() as gb:
            try:
                return {nb.name for nb in gb.find_assignment(ASSIGNMENT).notebooks}
            except MissingEntry:
                return set()

    def sync_assignment(self, *, force: bool = False) -> bool:
        """Record the assignment (notebooks, test cells, points) in the class gradebook.

        Skipped, returning False, when already done for the current source notebooks
        (their digest is kept in ``.autograder/assignment.sha256``) and the gradebook
        still knows them; ``force`` does it anyway. Safe to run from several processes
        (see :meth:`_exclusive`)."""
        stamp = self.state_dir / "assignment.sha256"
        with self._exclusive():
            digest = self._assignment_digest()
            notebooks = self.notebook_names()
            if (not force and stamp.exists() and stamp.read_text() == digest
                    and self._gradebook_notebooks() == set(notebooks)):
                return False
            stamp.unlink(missing_ok=True)
            result = self.api.generate_assignment(ASSIGNMENT, force=True)
            if not result["success"]:
                raise RuntimeError(f"nbgrader could not register the assignment:\n"
                                   f"{result.get('error') or result.get('log')}")
            stamp.write_text(digest)
            return True

    # -- grading -------------------------------------------------------------------
    @property
    def graded_dir(self) -> Path:
        return self.state_dir / "graded"

    def _state_file(self, student: str) -> Path:
        return self.graded_dir / f"{student}.json"

    def graded(self) -> dict[str, dict[str, NotebookResult]]:
        """What was graded so far: student -> notebook -> result (the grader's state,
        one file per student, so shards sharing this folder never write the same one)."""
        return {path.stem: {nb: NotebookResult.from_json(r)
                            for nb, r in json.loads(path.read_text()).items()}
                for path in sorted(self.graded_dir.glob("*.json"))}

    def flags(self) -> dict[str, list[str]]:
        """Everything the instructor should look at, by student: grading's flags and
        what went wrong writing their feedback (:meth:`generate_feedback`)."""
        flags = {s: [f for r in nbs.values() for f in r.flags]
                 for s, nbs in self.graded().items()}
        for path in sorted(self._feedback_problems.glob("*.txt")):
            flags.setdefault(path.stem, []).append(path.read_text())
        return flags

    def mistakes(self) -> dict[tuple[str, str], dict[str, int]]:
        """(notebook, test cell) -> catalogued mistake (or ``"other"``) -> how many
        students' last grading failed that test with it."""
        counts: dict[tuple[str, str], dict[str, int]] = {}
        for results in self.graded().values():
            for result in results.values():
                for test, mistake in result.mistakes.items():
                    row = counts.setdefault((result.notebook, test), {})
                    row[mistake] = row.get(mistake, 0) + 1
        return {key: dict(sorted(row.items(), key=lambda kv: (kv[0] == "other", -kv[1],
                                                              kv[0])))
                for key, row in sorted(counts.items())}

    def isolation(self) -> dict[str, int]:
        """What held the graded code (:meth:`autograder.sandbox.Isolation.describe`)
        -> how many notebooks it held."""
        counts: dict[str, int] = {}
        for results in self.graded().values():
            for result in results.values():
                if result.digest != "missing":
                    key = result.isolation or "not recorded (graded by an older grader)"
                    counts[key] = counts.get(key, 0) + 1
        return counts

    def _save_graded(self, result: NotebookResult) -> None:
        path = self._state_file(result.student)
        path.parent.mkdir(parents=True, exist_ok=True)
        mine = json.loads(path.read_text()) if path.exists() else {}
        mine[result.notebook] = result.to_json()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(sorted(mine.items())), indent=1))
        tmp.replace(path)

    @staticmethod
    def tests_digest(notebook: str) -> str:
        """SHA-256 of what grades ``notebook``: the source's code cells other than the
        answers (test cells with their hidden tests and points, the helpers they use).
        A submission graded against other tests is graded again."""
        import nbformat
        from nbgrader.utils import is_solution

        digest = hashlib.sha256()
        source = nbformat.read(SOURCE_DIR / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)
        for cell in source.cells:
            if cell.cell_type == "code" and not is_solution(cell):
                points = cell.metadata.get("nbgrader", {}).get("points", "")
                digest.update(f"{points}\0{cell.source}\0".encode())
        return digest.hexdigest()

    def pending(self, *, force: bool = False, shard: Shard | None = None,
                students: list[str] | None = None, notebooks: list[str] | None = None
                ) -> list[tuple[str, str]]:
        """(student, notebook) pairs that are new or changed since last graded, graded
        against tests that have changed since (after a fix and ``release``), or whose
        grading failed (the grader's own error, not the submission's); of the students
        in ``shard`` and in ``students``, and the ``notebooks`` (default: all). Unknown
        names raise ValueError with the known ones."""
        known_students, known_notebooks = self.students(), self.notebook_names()
        for asked, known, what in ((students, known_students, "student"),
                                   (notebooks, known_notebooks, "notebook")):
            unknown = sorted(set(asked or ()) - set(known))
            if unknown:
                raise ValueError(f"no {what} {', '.join(unknown)} in this course; the "
                                 f"{what}s are: {', '.join(known)}")
        done = self.graded()
        tests = {nb: self.tests_digest(nb) for nb in notebooks or known_notebooks}
        todo = []
        for student in students or known_students:
            if shard is not None and student not in shard:
                continue
            for notebook in notebooks or known_notebooks:
                previous = done.get(student, {}).get(notebook)
                path = self.submission_dir(student) / f"{notebook}.ipynb"
                if (force or previous is None or not previous.complete
                        or previous.digest != file_digest(path)
                        or previous.tests != tests[notebook]):
                    todo.append((student, notebook))
        return todo

    def _hidden(self) -> tuple[str, ...]:
        """Folders a student's kernel must not see: its sandbox shows only Python and
        the grader's package, and covers these where those hold them."""
        hidden = {str(self.root), str(SOURCE_DIR), str(REPO / ".git"), str(LIBRARY)}
        if self.db_url.startswith("sqlite:///"):
            hidden.add(str(Path(self.db_url.removeprefix("sqlite:///")).parent))
        return tuple(sorted(p for p in hidden if Path(p).exists()))

    def grade(self, todo: list[tuple[str, str]] | None = None, *, jobs: int = 1,
              on_result: Callable[[NotebookResult], None] | None = None,
              allow_unsandboxed: bool = False) -> list[NotebookResult]:
        """Grade (student, notebook) pairs (default: all pending), a student's notebooks
        in one sandbox, ``jobs`` students at a time in worker processes; store the
        scores in the class gradebook (only this process writes it) as each student
        is done; return the results in order.

        Refuses (RuntimeError) where the sandbox cannot be built, unless
        ``allow_unsandboxed``. However it ends (an exception, KeyboardInterrupt,
        SIGTERM turned into one by the command line), nothing of the run is left
        running: its workers, sandboxes (their control groups) and kernels are killed,
        what was graded is kept, and :meth:`pending` gives what is left."""
        todo = self.pending() if todo is None else todo
        if not todo:
            return []
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        problem = isolation().sandbox
        if problem is not None and not allow_unsandboxed:
            raise RuntimeError(
                f"refusing to grade without a sandbox: {problem}. Fix that, or grade "
                "anyway with `grade --allow-unsandboxed` (a submission could then read "
                "and change the grader's files; the summary will say so)")
        from autograder.late import read_policy  # imports nbgrader: only when grading

        self.sync_assignment()
        self.backup_gradebook()
        policy = read_policy(self.root)
        with quiet_nbgrader(), self.gradebook() as gb:
            gb.find_assignment(ASSIGNMENT).duedate = _naive_utc(policy.due)
            gb.db.commit()
        hidden, readable = self._hidden(), tuple(readable_paths())
        by_student: dict[str, list[Job]] = {}
        points = {nb: test_points(SOURCE_DIR / ASSIGNMENT / f"{nb}.ipynb") for _, nb in todo}
        for s, nb in todo:
            by_student.setdefault(s, []).append(Job(
                student=s, notebook=nb, submitted=self.submission_dir(s) / f"{nb}.ipynb",
                released=self.release_dir / f"{nb}.ipynb",
                source=SOURCE_DIR / ASSIGNMENT / f"{nb}.ipynb", points=points[nb],
                work=self.state_dir / "work" / f"{s}--{nb}", limits=self.limits))
        done: dict[tuple[str, str], NotebookResult] = {}

        tests = {nb: self.tests_digest(nb) for nb in points}

        def record(job: Job, result: NotebookResult) -> None:
            result.tests = tests[result.notebook]
            self._record(result, job.work, policy)
            done[(result.student, result.notebook)] = result
            self._save_graded(result)
            if on_result:
                on_result(result)

        run = f"week14-{os.getpid()}-{secrets.token_hex(3)}"
        scratch = Path(tempfile.mkdtemp(prefix=f"{run}-"))
        try:
            checker_folder = scratch / "checker"
            prepare_workdir(checker_folder)
            walls = sum(self.limits.notebook * len(nbs) + 60 for nbs in by_student.values())
            with Zygote(checker_folder, hidden=[], readable=[], limits=self.limits,
                        wall=walls + 600, sandboxed=False, log_dir=scratch) as checker:
                checker.start()
                checker.ready()
                work = [StudentJob(student=s, notebooks=tuple(jobs_), hidden=hidden,
                                   readable=readable, limits=self.limits,
                                   checker=checker.address, run=run, scratch=scratch)
                        for s, jobs_ in by_student.items()]
                run_jobs(work, jobs, record)
        finally:
            cgroup.remove_run(run)
            unmount_under(scratch)
            shutil.rmtree(scratch, ignore_errors=True)
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

    def _record(self, result: NotebookResult, work: Path, policy: LatePolicy) -> None:
        """Copy the graded notebook in and write its scores, the submission's time and
        extension, and the notebook's late penalty (:mod:`autograder.late`)."""
        from autograder.late import CoursePolicy, submitted_at

        name = f"{result.notebook}.ipynb"
        target = self.autograded_dir(result.student) / name
        target.unlink(missing_ok=True)
        source = work / "autograded.ipynb"
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        with timed(result.timings, "gradebook"), quiet_nbgrader(), self.gradebook() as gb:
            gb.update_or_create_student(result.student)
            submission = gb.update_or_create_submission(ASSIGNMENT, result.student)
            nb = next(n for n in submission.notebooks if n.name == result.notebook)
            for g in nb.grades:  # a manual score or comment a grader gave is kept
                if g.name in result.scores:
                    g.auto_score = result.scores[g.name].score
                    g.needs_manual_grade = False
                else:  # a written answer: the formgrader's (if there is a notebook)
                    g.auto_score = None
                    g.needs_manual_grade = g.manual_score is None and target.exists()
            due = policy.due_for(result.student)
            submission.timestamp = _naive_utc(
                submitted_at(self.submission_dir(result.student), policy, result.student))
            submission.extension = (due - policy.due if due and policy.due and due > policy.due
                                    else None)
            gb.db.commit()  # nb.score is the sum of the grades just written
            nb.late_submission_penalty = None
            if submission.total_seconds_late > 0:
                penalty = CoursePolicy(policy).late_submission_penalty(
                    result.student, nb.score, submission.total_seconds_late)
                nb.late_submission_penalty = min(max(penalty or 0.0, 0.0), nb.score)
            gb.db.commit()
        shutil.rmtree(work, ignore_errors=True)

    # -- results -------------------------------------------------------------------
    @property
    def _feedback_problems(self) -> Path:
        return self.state_dir / "feedback-problems"

    def generate_feedback(self, student: str) -> dict:
        """Write the student's feedback HTML (hidden tests removed); nbgrader's result
        (``success``, ``error``). Whatever goes wrong is that student's alone: it is
        returned, not raised, and kept as a flag until their feedback is written."""
        problem = self._feedback_problems / f"{student}.txt"
        try:
            result = self.api.generate_feedback(ASSIGNMENT, student, force=True)
        except Exception as err:  # noqa: BLE001 - one student's, the class goes on
            result = {"success": False, "error": f"{type(err).__name__}: {err}"}
        if result["success"]:
            problem.unlink(missing_ok=True)
        else:
            why = str(result.get("error") or result.get("log") or "no reason given")
            problem.parent.mkdir(parents=True, exist_ok=True)
            problem.write_text(f"feedback: nbgrader could not write it "
                               f"({why.strip().splitlines()[-1][:300]}); run feedback again")
        return result
