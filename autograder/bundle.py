"""The student bundle: a zip that is a complete student kit, nothing of the grader.

``python -m autograder bundle`` writes ``week14-course/`` into a zip:

- ``notebooks/week14/*.ipynb``: the student release (no solutions, no hidden tests);
- ``week14/``: the library the notebooks import, with the launcher ``week14/lab.py``;
- ``lab/student/``: the student JupyterLab configuration the launcher applies;
- ``pyproject.toml``: this repository's, with the student dependencies only (no extras,
  no test or lint settings) and package discovery limited to ``week14``;
- ``environment.yml`` (conda) and ``binder/`` (Binder: publish the bundle's folder as a
  repository; never point Binder at this repository, which holds ``solutions/``);
- ``README.md``: ``autograder/bundle_readme.md`` with the notebook list filled in; its
  commands work as written on Windows, macOS and Linux, and tests/test_bundle.py runs
  them.

Nothing in it names the repository's build tool, since no Makefile is shipped.
"""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade

from autograder.config import ASSIGNMENT, RELEASE_DIR, REPO

#: The folder the zip unpacks to.
TOP = "week14-course"
#: Files and folders copied as they are, relative to the repository's root.
COPIED = ("environment.yml", "binder", "lab/student", "week14")
#: The student README's template; ``<!-- notebooks -->`` becomes the notebook table.
README_TEMPLATE = Path(__file__).with_name("bundle_readme.md")
NOTEBOOK_MARKER = "<!-- notebooks -->"
#: Sections of pyproject.toml that go to students, as they are (package-data: the digits).
PYPROJECT_SECTIONS = ("[build-system]", "[project]", "[project.scripts]",
                      "[tool.setuptools.package-data]")
STUDENT_DESCRIPTION = ("DATA622 week 14 (neural networks, part 2): the student notebooks "
                       "and the week14 NumPy library")
#: Files that must keep their executable bit (Binder runs them).
EXECUTABLE = ("binder/postBuild", "binder/start")
_SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints"}


def student_pyproject(text: str) -> str:
    """``pyproject.toml`` for students: the build system, the project with its core
    (student) dependencies and console script, the package data (the digits file), and
    setuptools' discovery limited to ``week14``; the extras (grader, dev) and the other
    tool settings are left out."""
    sections = re.split(r"(?m)^(?=\[)", text)
    kept = [section.rstrip() + "\n" for section in sections
            if section.split("\n", 1)[0].strip() in PYPROJECT_SECTIONS]
    out = "\n".join(kept)
    out = re.sub(r'(?m)^description = ".*"$', f'description = "{STUDENT_DESCRIPTION}"', out)
    return out + '\n[tool.setuptools.packages.find]\ninclude = ["week14*"]\n'


def _notebook_row(path: Path) -> str:
    """One row of the README's table: file, title (the first heading), points."""
    cells = nbformat.read(path, as_version=4).cells
    title = next((line.lstrip("#").strip() for cell in cells if cell.cell_type == "markdown"
                  for line in cell.source.splitlines() if line.startswith("#")),
                 path.stem)
    points = sum(cell.metadata.nbgrader.get("points", 0) or 0 for cell in cells
                 if is_grade(cell))
    return f"| `{path.name}` | {title} | {points:g} |"


def student_readme(notebooks: list[Path]) -> str:
    """The bundle's README: the template with the table of notebooks."""
    table = "\n".join(["| notebook | topic | points |", "| --- | --- | --- |"]
                      + [_notebook_row(path) for path in notebooks])
    return README_TEMPLATE.read_text().replace(NOTEBOOK_MARKER, table)


def _copied_files() -> list[Path]:
    files: list[Path] = []
    for item in COPIED:
        path = REPO / item
        if path.is_file():
            files.append(path)
            continue
        files += sorted(p for p in path.rglob("*") if p.is_file()
                        and not _SKIPPED_PARTS & set(p.parts) and p.suffix != ".pyc")
    return files


def contents() -> dict[str, bytes | Path]:
    """Every file of the bundle: its path inside ``week14-course/`` and either its
    bytes (generated) or the repository file it is a copy of."""
    notebooks = sorted((RELEASE_DIR / ASSIGNMENT).glob("*.ipynb"))
    files: dict[str, bytes | Path] = {
        "README.md": student_readme(notebooks).encode(),
        "pyproject.toml": student_pyproject((REPO / "pyproject.toml").read_text()).encode(),
    }
    for path in notebooks + _copied_files():
        files[path.relative_to(REPO).as_posix()] = path
    return files


def bundle(dest: Path) -> Path:
    """Write the student kit to the zip ``dest`` (see the module docstring); no
    solutions, hidden tests, grader or tests."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, source in sorted(contents().items()):
            info = zipfile.ZipInfo(f"{TOP}/{name}", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if name in EXECUTABLE else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            data = source if isinstance(source, bytes) else source.read_bytes()
            archive.writestr(info, data)
    return dest
