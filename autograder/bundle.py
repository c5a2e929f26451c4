"""The student bundle: what students download to work offline."""

from __future__ import annotations

import zipfile
from pathlib import Path

from autograder.config import ASSIGNMENT, RELEASE_DIR, REPO

#: Files and folders of the repository that go to students, relative to its root.
CONTENTS = ("README.md", "environment.yml", "pyproject.toml", "week14")


def _files() -> list[Path]:
    files = sorted((RELEASE_DIR / ASSIGNMENT).glob("*.ipynb"))
    for item in CONTENTS:
        path = REPO / item
        files += sorted(p for p in path.rglob("*.py")) if path.is_dir() else [path]
    return files


def bundle(dest: Path) -> Path:
    """Write a zip with the student notebooks, the ``week14`` library, the README and
    environment files; no solutions, hidden tests or autograder."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in _files():
            archive.write(path, Path("week14-course") / path.relative_to(REPO))
    return dest
