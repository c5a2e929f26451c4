"""One source of truth for nbgrader's configuration.

Both the command line (``python -m autograder``) and plain ``nbgrader`` commands
(through ``autograder/nbgrader_config.py``) build their configuration here, so paths
never depend on the folder a command is started from.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

REPO = Path(__file__).resolve().parent.parent
SOURCE_DIR = REPO / "solutions"
RELEASE_DIR = REPO / "notebooks"
ASSIGNMENT = "week14"
COURSE_ID = "data622"
DEFAULT_COURSE = REPO / "course"
COURSE_ENV = "WEEK14_COURSE"
DB_URL_ENV = "WEEK14_DB_URL"  # the gradebook's SQLAlchemy URL when --db-url is not given



@dataclass(frozen=True)
class Limits:
    """Limits for one student's notebooks while they are graded (see
    autograder/sandbox.py; :func:`autograder.sandbox.isolation` says which hold here)."""

    cell: int = 60  # seconds per cell (the cell is interrupted)
    notebook: int = 300  # seconds for a whole notebook (the kernel is killed)
    memory: int = 2 * 1024**3  # bytes: each process's address space, and the memory
    #                            of all the student's processes together
    tasks: int = 256  # processes and threads of a student's sandbox together
    disk: int = 256 * 1024**2  # bytes of files: the working folder, /tmp and /dev/shm each
    cpus: float = 1.0  # cores of CPU time for all of a student's processes


@contextmanager
def quiet_nbgrader() -> Iterator[None]:
    """Silence a warning nbgrader 0.9.6 triggers in Gradebook.add_submission with
    SQLAlchemy 2 ("Object of type ... not in session"): harmless, and not ours to fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session")
        yield


def course_dir(course: str | os.PathLike | None = None) -> Path:
    """The instructor's working folder: ``course``, else ``$WEEK14_COURSE``, else ``course/``.

    It holds submissions, the gradebook, feedback and exports, and must not be inside
    ``solutions/`` or ``notebooks/`` (which are published material).
    """
    path = Path(course or os.environ.get(COURSE_ENV) or DEFAULT_COURSE).resolve()
    for published in (SOURCE_DIR, RELEASE_DIR):
        if path == published or published in path.parents:
            raise ValueError(
                f"the course folder {path} is inside {published}, which is published "
                "material; choose a folder outside it, e.g. --course course"
            )
    return path


def nbgrader_config(course: str | os.PathLike | None = None, *,
                    db_url: str | None = None) -> Config:
    """nbgrader configuration for the course folder ``course`` (see :func:`course_dir`).

    nbgrader runs helper programs (``alembic``) by name, so this Python's ``bin`` folder
    is put first on ``PATH`` as well: the grader works without an activated venv."""
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    root = course_dir(course)
    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = str(SOURCE_DIR)
    c.CourseDirectory.release_directory = str(RELEASE_DIR)
    c.CourseDirectory.db_url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    # Students' notebooks are graded as submitted; a deleted test cell is put back.
    c.OverwriteCells.add_missing_cells = True
    c.Execute.timeout = Limits.cell
    c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal"]
    # Feedback must show neither hidden tests nor what they printed.
    c.ClearHiddenTests.enforce_metadata = False
    c.GenerateFeedback.preprocessors = [
        "nbgrader.preprocessors.GetGrades",
        "autograder.feedback.HideHiddenTestOutput",
        "nbgrader.preprocessors.ClearHiddenTests",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
    return c
