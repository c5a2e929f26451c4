"""Collect submissions from a folder or an LMS download zip into a course folder.

Accepted layouts (NOTEBOOK is one of the assignment's notebook names, e.g.
``03_gradient_descent.ipynb``; a resubmission suffix such as ``NOTEBOOK-1.ipynb``
(Canvas) or ``NOTEBOOK (1).ipynb`` is accepted too):

- a folder or zip laid out ``STUDENT/NOTEBOOK.ipynb`` or ``STUDENT/week14/NOTEBOOK.ipynb``:
  the student is the folder's whole name (``jane_doe/`` is ``jane_doe``);
- Canvas's download, ``NAME[_LATE]_USERID_FILEID_NOTEBOOK.ipynb``: NAME is Canvas's
  sortable name (``doejane``, or ``jane_doe``: the two numeric ids that follow it end
  it, so it may hold ``_``), USERID the Canvas user id; ``LATE`` marks it late;
- Moodle's download, folders (or file names) ``Full Name_PARTICIPANT_assignsubmission_file_``:
  the student is the full name as an id (``José O'Brien`` is ``Jose-OBrien``);
- any other flat name ``STUDENT_NOTEBOOK.ipynb``: the student is all before the notebook.

A ``--map`` CSV (columns ``lms,student``) turns what the LMS calls a student (the Canvas
user id or NAME, the Moodle participant number or full name, a folder name) into the
course's id; the roster it builds (``.autograder/roster.json``) keeps each student's
LMS ids for the grade export (:mod:`autograder.lms`).

Student ids may hold letters, digits, ``.``, ``-`` and ``_`` only. A file that cannot be
placed (unknown notebook name, not a notebook, no student, an id the map does not
give) is reported with the reason and the fix, and left out; nothing is ever extracted
outside the course folder (zip entries are read into memory and written to paths built
from validated names), and a file larger than :data:`MAX_NOTEBOOK_BYTES` is refused.

When a notebook was submitted comes from the zip entry's time or the file's (UTC);
each student's latest is written, ISO 8601, to ``submitted/STUDENT/week14/timestamp.txt``
where nbgrader looks for it. A notebook Canvas marks ``LATE`` is recorded as late even if its
file time is not (see :mod:`autograder.late`).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from autograder.config import ASSIGNMENT

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
_STUDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_RESUBMISSION = re.compile(r"(?:-\d+| \(\d+\))$")
_CANVAS = re.compile(r"^(?P<name>.+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<file>\d+)$")
_MOODLE = re.compile(r"^(?P<name>.+)_(?P<user>\d+)_assignsubmission_(?:file|onlinetext)_$")


@dataclass(frozen=True)
class Placed:
    """Where a file goes: the course's student id and the notebook, with what the LMS
    said about it (its name for the student, its numeric id, a late mark)."""

    student: str
    notebook: str
    lms: str = "folder"  # "canvas", "moodle" or "folder"
    lms_name: str = ""
    lms_id: str = ""
    late: bool = False


@dataclass
class CollectReport:
    """What ``collect`` took and what it could not place."""

    taken: list[tuple[str, str]] = field(default_factory=list)  # (student, notebook)
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    late: list[str] = field(default_factory=list)  # students the LMS marked late

    def lines(self) -> list[str]:
        students = sorted({s for s, _ in self.taken + self.unchanged})
        out = [f"collected {len(self.taken)} new or changed notebook(s), "
               f"{len(self.unchanged)} unchanged, from {len(students)} student(s)"]
        if self.late:
            out.append(f"  marked late by the LMS: {', '.join(sorted(set(self.late)))}")
        out += [f"  could not place {name}: {reason}" for name, reason in self.skipped]
        return out


def as_student_id(name: str) -> str:
    """A full name as an id: accents dropped, apostrophes removed, spaces as ``-``
    (``José O'Brien`` -> ``Jose-OBrien``)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"['’`]", "", plain)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", plain.strip()).strip("-")


def read_map(path: Path) -> dict[str, str]:
    """The ``--map`` CSV: header ``lms,student``, then one row per student (what the
    LMS calls them, e.g. a Canvas user id, a Moodle full name; the course's id)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as err:
        raise ValueError(f"cannot read the --map file {path}: {err.strerror}") from None
    if rows and not {"lms", "student"} <= set(rows[0]):
        raise ValueError(f"the --map file {path} needs the header `lms,student` (what the "
                         f"LMS calls a student, the course's id); it has {list(rows[0])}")
    ids = {}
    for number, row in enumerate(rows, start=2):
        lms, student = (row.get("lms") or "").strip(), (row.get("student") or "").strip()
        if not _STUDENT.match(student):
            raise ValueError(f"{path} line {number}: the student id {student!r} may only "
                             "hold letters, digits, '.', '-' and '_'")
        if lms in ids and ids[lms] != student:
            raise ValueError(f"{path} line {number}: {lms!r} is mapped twice "
                             f"({ids[lms]!r} and {student!r}); keep one")
        ids[lms] = student
    return ids


def _entries(source: Path) -> Iterator[tuple[str, int, datetime, Callable[[], bytes]]]:
    """(relative posix path, size, time, reader) for every file in a folder or zip."""
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            stat = path.stat()
            yield (path.relative_to(source).as_posix(), stat.st_size,
                   datetime.fromtimestamp(stat.st_mtime, UTC), path.read_bytes)
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    # zip times carry no zone: LMS servers write them in UTC
                    yield (info.filename, info.file_size,
                           datetime(*info.date_time, tzinfo=UTC),
                           lambda info=info: archive.read(info))
    elif source.exists():
        raise ValueError(f"{source} is neither a folder nor a zip file: pass the folder of "
                         "submissions or the zip downloaded from your LMS")
    else:
        raise ValueError(f"{source} does not exist: check the path of the submissions")


def _who(prefix: str, folders: list[str], ids: Mapping[str, str]) -> Placed | str:
    """The student (with the LMS's words for them) that a file name's ``prefix`` (what
    comes before the notebook's name, or "") and its folders give."""
    lms, lms_name, lms_id, late = "folder", "", "", False
    if found := _CANVAS.match(prefix):
        lms, lms_name, lms_id = "canvas", found["name"], found["user"]
        late = bool(found["late"])
    elif found := _MOODLE.match(prefix + "_") or next(
            (m for folder in folders[::-1] if (m := _MOODLE.match(folder))), None):
        lms, lms_name, lms_id = "moodle", found["name"], found["user"]
    elif prefix:
        lms_name = prefix
    elif folders:
        lms_name = folders[-1]
    else:
        return "no student: expected STUDENT/NOTEBOOK.ipynb or STUDENT_NOTEBOOK.ipynb"
    student = (ids.get(lms_id) or ids.get(lms_name)) if ids else None
    if student is None and ids and lms_id:
        return (f"the --map file has neither {lms_id!r} nor {lms_name!r}: add the "
                f"student's row (lms,student)")
    if student is None:
        student = as_student_id(lms_name) if lms == "moodle" else lms_name
    if not _STUDENT.match(student):
        return (f"student id {student!r} may only hold letters, digits, '.', '-' and '_': "
                "give the student's id in a --map file (lms,student)")
    return Placed(student, "", lms, lms_name, lms_id, late)


def place(relpath: str, notebooks: set[str], ids: Mapping[str, str] | None = None
          ) -> Placed | str:
    """Where an entry's path goes, or the reason it cannot be placed (and the fix)."""
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
    prefix = stem[: -len(notebook) - 1] if stem != notebook else ""
    who = _who(prefix, [p for p in parts[:-1] if p != ASSIGNMENT], ids or {})
    if isinstance(who, str):
        return who
    return dataclasses.replace(who, notebook=notebook)


def roster_path(submitted: Path) -> Path:
    """Where collect keeps what the LMS calls each student (beside ``submitted/``)."""
    return submitted.parent / ".autograder" / "roster.json"


def _write_times(submitted: Path, times: dict[str, tuple[datetime, bool]]) -> None:
    """Each student's latest submission time in nbgrader's ``timestamp.txt``, and the
    LMS's late mark beside it (``late.txt``)."""
    for student, (when, late) in times.items():
        folder = submitted / student / ASSIGNMENT
        stamp = folder / "timestamp.txt"
        if stamp.exists():
            when = max(when, datetime.fromisoformat(stamp.read_text().strip()))
        stamp.write_text(when.isoformat())
        if late:
            (folder / "late.txt").write_text("marked late by the LMS\n")


def collect(source: Path, submitted: Path, notebooks: set[str],
            ids: Mapping[str, str] | None = None) -> CollectReport:
    """Copy every placeable notebook under ``source`` to ``submitted/STUDENT/week14/``.

    ``notebooks`` are the assignment's notebook names without ``.ipynb``; ``ids`` the
    ``--map`` file's LMS name -> student id. A file whose content is already there is
    counted as unchanged; two files for the same student and notebook in one source
    are a conflict and both are reported, as are two LMS students given one id.
    """
    report = CollectReport()
    found: dict[tuple[str, str], tuple[str, bytes, datetime, Placed]] = {}
    conflicts: set[tuple[str, str]] = set()
    who: dict[str, tuple[str, str]] = {}  # student -> (lms, lms_id) that gave it
    clashes: set[str] = set()  # ids that two LMS students both become
    for relpath, size, when, read in _entries(source):
        where = place(relpath, notebooks, ids)
        if isinstance(where, str):
            report.skipped.append((relpath, where))
            continue
        key = (where.student, where.notebook)
        origin = (where.lms, where.lms_id or where.lms_name)
        if who.setdefault(where.student, origin) != origin:
            clashes.add(where.student)
            report.skipped.append((relpath, f"two LMS students both become "
                                   f"{where.student!r}: tell them apart in a --map file "
                                   "(lms,student)"))
            continue
        if size > MAX_NOTEBOOK_BYTES:
            report.skipped.append((relpath, f"{size} bytes is more than the "
                                   f"{MAX_NOTEBOOK_BYTES} a notebook may have"))
            continue
        if key in found:
            conflicts.add(key)
            report.skipped.append((relpath, f"a second file for {key[0]}/{key[1]} "
                                   f"(also {found[key][0]}): keep one and collect again"))
            continue
        found[key] = (relpath, read(), when, where)
    times: dict[str, tuple[datetime, bool]] = {}
    roster = {}
    for (student, notebook), (relpath, data, when, where) in sorted(found.items()):
        if student in clashes:
            report.skipped.append((relpath, f"two LMS students both become {student!r}: "
                                   "tell them apart in a --map file (lms,student)"))
            continue
        if (student, notebook) in conflicts:
            report.skipped.append((relpath, "conflicting duplicate: not collected"))
            continue
        roster[student] = {"lms": where.lms, "lms_name": where.lms_name,
                           "lms_id": where.lms_id}
        latest, late = times.get(student, (when, False))
        times[student] = (max(latest, when), late or where.late)
        if where.late:
            report.late.append(student)
        target = submitted / student / ASSIGNMENT / f"{notebook}.ipynb"
        if target.exists() and target.read_bytes() == data:
            report.unchanged.append((student, notebook))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        report.taken.append((student, notebook))
    _write_times(submitted, times)
    if roster:
        path = roster_path(submitted)
        path.parent.mkdir(parents=True, exist_ok=True)
        known = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps(dict(sorted({**known, **roster}.items())), indent=1))
    return report
