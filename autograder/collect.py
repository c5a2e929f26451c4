"""Collect submissions from a folder or an LMS download zip into a course folder.

Accepted layouts (NOTEBOOK is one of the assignment's notebook names, e.g.
``03_gradient_descent.ipynb``):

- a folder or zip laid out ``STUDENT/NOTEBOOK.ipynb`` or ``STUDENT/week14/NOTEBOOK.ipynb``;
- flat LMS file names ``STUDENT_<anything>_NOTEBOOK.ipynb``: the student is the text
  before the first ``_``. This covers Canvas (``jsmith_LATE_1234_5678_01_feedforward.ipynb``)
  and Blackboard-style names; a resubmission suffix such as ``NOTEBOOK-1.ipynb`` (Canvas)
  or ``NOTEBOOK (1).ipynb`` is accepted too;
- Moodle folders ``Full Name_1234_assignsubmission_file_/NOTEBOOK.ipynb``: the student
  is the folder name up to its first ``_``, with spaces replaced by ``-``.

Student ids may hold letters, digits, ``.``, ``-`` and ``_`` only. A file that cannot be
placed (unknown notebook name, not a notebook, no student) is reported with the reason
and left out; nothing is ever extracted outside the course folder (zip entries are read
into memory and written to paths built from validated names), and a file larger than
:data:`MAX_NOTEBOOK_BYTES` is refused.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.config import ASSIGNMENT

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
_STUDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_RESUBMISSION = re.compile(r"(?:-\d+| \(\d+\))$")


@dataclass
class CollectReport:
    """What ``collect`` took and what it could not place."""

    taken: list[tuple[str, str]] = field(default_factory=list)  # (student, notebook)
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    def lines(self) -> list[str]:
        students = sorted({s for s, _ in self.taken + self.unchanged})
        out = [f"collected {len(self.taken)} new or changed notebook(s), "
               f"{len(self.unchanged)} unchanged, from {len(students)} student(s)"]
        out += [f"  could not place {name}: {reason}" for name, reason in self.skipped]
        return out


def _entries(source: Path) -> Iterator[tuple[str, int, Callable[[], bytes]]]:
    """(relative posix path, size, reader) for every file in a folder or zip."""
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            yield path.relative_to(source).as_posix(), path.stat().st_size, path.read_bytes
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    yield info.filename, info.file_size, (
                        lambda info=info: archive.read(info))
    elif source.exists():
        raise ValueError(f"{source} is neither a folder nor a zip file: pass the folder of "
                         "submissions or the zip downloaded from your LMS")
    else:
        raise ValueError(f"{source} does not exist: check the path of the submissions")


def place(relpath: str, notebooks: set[str]) -> tuple[str, str] | str:
    """(student, notebook) for an entry's path, or the reason it cannot be placed."""
    parts = PurePosixPath(relpath).parts
    name = parts[-1]
    if relpath.startswith("/") or ".." in parts:
        return "unsafe path (absolute or with ..): not extracted"
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return "hidden or system file"
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
    if suffix != ".ipynb":
        return "not a notebook (.ipynb)"
    stem = _RESUBMISSION.sub("", stem)
    notebook = next((nb for nb in sorted(notebooks, key=len, reverse=True)
                     if stem == nb or stem.endswith("_" + nb)), None)
    if notebook is None:
        return (f"{name!r} is not one of this assignment's notebooks "
                f"({', '.join(sorted(notebooks))})")
    folders = [p for p in parts[:-1] if p != ASSIGNMENT]
    if stem != notebook:
        student = stem[: -len(notebook) - 1].split("_")[0]
    elif folders:
        student = folders[-1].split("_")[0].strip().replace(" ", "-")
    else:
        return "no student: expected STUDENT/NOTEBOOK.ipynb or STUDENT_..._NOTEBOOK.ipynb"
    if not _STUDENT.match(student):
        return f"student id {student!r} may only hold letters, digits, '.', '-' and '_'"
    return student, notebook


def collect(source: Path, submitted: Path, notebooks: set[str]) -> CollectReport:
    """Copy every placeable notebook under ``source`` to ``submitted/STUDENT/week14/``.

    ``notebooks`` are the assignment's notebook names without ``.ipynb``. A file
    whose content is already there is counted as unchanged; two files for the same
    student and notebook in one source are a conflict and both are reported.
    """
    report = CollectReport()
    found: dict[tuple[str, str], tuple[str, bytes]] = {}
    conflicts: set[tuple[str, str]] = set()
    for relpath, size, read in _entries(source):
        where = place(relpath, notebooks)
        if isinstance(where, str):
            report.skipped.append((relpath, where))
            continue
        if size > MAX_NOTEBOOK_BYTES:
            report.skipped.append((relpath, f"{size} bytes is more than the "
                                   f"{MAX_NOTEBOOK_BYTES} a notebook may have"))
            continue
        if where in found:
            conflicts.add(where)
            report.skipped.append((relpath, f"a second file for {where[0]}/{where[1]} "
                                   f"(also {found[where][0]}): keep one and collect again"))
            continue
        found[where] = (relpath, read())
    for (student, notebook), (relpath, data) in sorted(found.items()):
        if (student, notebook) in conflicts:
            report.skipped.append((relpath, "conflicting duplicate: not collected"))
            continue
        target = submitted / student / ASSIGNMENT / f"{notebook}.ipynb"
        if target.exists() and target.read_bytes() == data:
            report.unchanged.append((student, notebook))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        report.taken.append((student, notebook))
    return report
