"""Release: check the source notebooks, then generate the student version with nbgrader.

The student release (``notebooks/week14``) is a pure function of ``solutions/week14``:
nbgrader strips solutions (leaving ``raise NotImplementedError()``), hidden tests and
outputs, and locks the test cells. A temporary gradebook is used, so releasing never
touches a course's grades.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.config import ASSIGNMENT, RELEASE_DIR, SOURCE_DIR, nbgrader_config


class ReleaseError(RuntimeError):
    """A source notebook is not ready to be released; the message says how to fix it."""


@dataclass(frozen=True)
class SourceProblem:
    notebook: str
    problem: str

    def __str__(self) -> str:
        return f"{self.notebook}: {self.problem}"


def source_notebooks(source_dir: Path = SOURCE_DIR) -> list[Path]:
    """The assignment's source notebooks, in topic order (their file names sort so)."""
    folder = source_dir / ASSIGNMENT
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        raise ReleaseError(f"no source notebooks in {folder}: expected {ASSIGNMENT}/NN_topic.ipynb")
    return notebooks


def structural_problems(path: Path) -> list[SourceProblem]:
    """Problems that need no kernel: outputs left in, duplicate or missing grade ids."""
    nb = nbformat.read(path, as_version=4)
    problems, seen = [], set()
    for i, cell in enumerate(nb.cells):
        where = f"cell {i}"
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count):
            problems.append(SourceProblem(path.name, f"{where} has outputs: clear them "
                                          "(source notebooks are committed without outputs)"))
        meta = cell.metadata.get("nbgrader")
        if meta:
            gid = meta.get("grade_id")
            if gid in seen:
                problems.append(
                    SourceProblem(path.name, f"{where}: grade_id {gid!r} is used twice"))
            seen.add(gid)
    return problems


def validate(path: Path) -> list[SourceProblem]:
    """Execute ``path`` as nbgrader's validator does; every test cell must pass."""
    from nbgrader.validator import Validator

    result = Validator(config=nbgrader_config()).validate(str(path))
    return [SourceProblem(path.name, f"{kind}: {entry.get('source', '')[:200]}")
            for kind in ("type_changed", "changed", "failed") for entry in result.get(kind, [])]


def release(*, check: bool = True, release_dir: Path = RELEASE_DIR) -> list[Path]:
    """Regenerate ``release_dir/week14`` from the sources; return the released notebooks.

    With ``check`` (the default) every source notebook is first checked for outputs
    and executed by nbgrader's validator; nothing is written unless all pass.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    sources = source_notebooks()
    problems = [p for nb in sources for p in structural_problems(nb)]
    if check and not problems:
        problems = [p for nb in sources for p in validate(nb)]
    if problems:
        raise ReleaseError("not released; fix these source notebooks first:\n  "
                           + "\n  ".join(map(str, problems)))
    with tempfile.TemporaryDirectory(prefix="week14-release-") as tmp:
        (Path(tmp) / "course").mkdir()
        config = nbgrader_config(Path(tmp) / "course")
        config.CourseDirectory.release_directory = str(Path(tmp) / "release")
        api = NbGraderAPI(CourseDirectory(config=config), config=config)
        result = api.generate_assignment(ASSIGNMENT, force=True)
        if not result["success"]:
            raise ReleaseError(f"nbgrader could not generate the release:\n{result.get('error')}")
        target = release_dir / ASSIGNMENT
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(Path(tmp) / "release" / ASSIGNMENT, target)
    return sorted(target.glob("*.ipynb"))
