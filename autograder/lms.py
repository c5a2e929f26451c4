"""Grades and feedback back to the LMS: Canvas and Moodle import files.

``export`` writes, next to the generic CSVs:

- ``canvas_grades.csv``: Canvas's gradebook import format. Columns ``Student``, ``ID``,
  ``SIS User ID``, ``SIS Login ID``, ``Section`` and the assignment's column (its name in
  ``course.toml``, ``[lms] assignment = "Week 14 (12345)"``; Canvas matches an existing
  column by ``Name (id)``), a ``Points Possible`` row, then one row per student. Canvas
  finds a student by ``ID`` (the Canvas user id from the download's file names) or else
  by ``SIS Login ID`` (the course's id, from collect's ``--map``);
- ``moodle_grades.csv``: Moodle's assignment grading worksheet (Grades → Upload grading
  worksheet): ``Identifier`` (``Participant N``, from the download's folders), ``Full
  name``, ``Grade``, ``Maximum Grade``, ``Feedback comments``.

``feedback --release`` zips one HTML page per student (all their notebooks' feedback,
each in a frame) named as each LMS names that student's files: Canvas
``NAME_USERID_week14-feedback.html``, Moodle
``Full Name_N_assignsubmission_file_week14-feedback.html`` (the names of the
download, so a bulk upload of feedback files matches them to the students).

Scores are after late penalties; a student the LMS file names did not give an id for
is left out of that LMS's file and listed.
"""

from __future__ import annotations

import csv
import html
import json
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path

from autograder.collect import roster_path
from autograder.config import ASSIGNMENT
from autograder.report import ClassScores, fmt_points

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Grade", "Maximum Grade", "Feedback comments"]


def read_roster(course_root: Path) -> dict[str, dict[str, str]]:
    """Student -> what collect learnt from the LMS (``lms``, ``lms_name``, ``lms_id``)."""
    path = roster_path(course_root / "submitted")
    return json.loads(path.read_text()) if path.exists() else {}


def assignment_column(course_root: Path) -> str:
    """The assignment's column in the LMS gradebook (``course.toml`` ``[lms]
    assignment``; default the assignment's id)."""
    path = course_root / "course.toml"
    if not path.exists():
        return ASSIGNMENT
    column = tomllib.loads(path.read_text()).get("lms", {}).get("assignment", ASSIGNMENT)
    if not isinstance(column, str) or not column.strip():
        raise ValueError(f"{path} [lms] assignment must be the LMS column's name, e.g. "
                         f"\"Week 14 (12345)\"; got {column!r}")
    return column


def write_canvas_csv(scores: ClassScores, roster: dict, column: str, path: Path
                     ) -> list[str]:
    """Canvas's gradebook import file; returns the students it could not name."""
    top = max((scores.total(s).max_score for s in scores.students), default=0.0)
    left_out = []
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow([*CANVAS_COLUMNS, column])
        out.writerow(["Points Possible", "", "", "", "", fmt_points(top)])
        for student in scores.students:
            entry = roster.get(student, {})
            canvas_id = entry.get("lms_id", "") if entry.get("lms") == "canvas" else ""
            name = entry.get("lms_name") or student
            out.writerow([name, canvas_id, "", student, "",
                          fmt_points(scores.total(student).score)])
            if not canvas_id:
                left_out.append(student)
    return left_out


def write_moodle_csv(scores: ClassScores, roster: dict, path: Path) -> list[str]:
    """Moodle's grading worksheet; returns the students without a Moodle participant
    number (left out: Moodle needs it)."""
    left_out = []
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(MOODLE_COLUMNS)
        for student in scores.students:
            entry = roster.get(student, {})
            if entry.get("lms") != "moodle":
                left_out.append(student)
                continue
            total, top = scores.total(student)
            late = scores.penalty(student)
            note = f"late penalty -{fmt_points(late)}" if late else ""
            out.writerow([f"Participant {entry['lms_id']}", entry["lms_name"], fmt_points(total),
                          fmt_points(top), note])
    return left_out


def write_lms_files(course_root: Path, scores: ClassScores, exports: Path) -> list[str]:
    """Write each LMS's import file for the LMSs the class was collected from; one line
    per file for the instructor, naming the students it could not include."""
    roster = read_roster(course_root)
    writers = {"canvas": lambda path: write_canvas_csv(
                   scores, roster, assignment_column(course_root), path),
               "moodle": lambda path: write_moodle_csv(scores, roster, path)}
    lines = []
    for lms in sorted({entry.get("lms") for entry in roster.values()} & set(writers)):
        path = exports / f"{lms}_grades.csv"
        left_out = writers[lms](path)
        name = lms.capitalize()
        lines.append(f"wrote {path} for {name}'s grade import" + (
            f"; without a {name} id (give them in collect's --map): {', '.join(left_out)}"
            if left_out else ""))
    return lines


def feedback_page(student: str, pages: list[Path]) -> str:
    """One HTML page with each notebook's feedback page in a frame."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{ASSIGNMENT} "
             f"feedback: {html.escape(student)}</title></head><body>"
             f"<h1>{ASSIGNMENT} feedback for {html.escape(student)}</h1>"]
    for page in pages:
        parts.append(f"<details open><summary>{html.escape(page.stem)}</summary>"
                     f"<iframe style='width:100%;height:80vh' sandbox srcdoc=\""
                     f"{html.escape(page.read_text())}\"></iframe></details>")
    return "".join(parts) + "</body></html>"


def release_feedback(course_root: Path, students: list[str],
                     feedback_dir: Callable[[str], Path]) -> list[Path]:
    """Zip each student's feedback page named for Canvas and for Moodle (where the
    roster knows the student there): ``exports/feedback-canvas.zip`` and
    ``exports/feedback-moodle.zip``. Returns the zips written."""
    roster = read_roster(course_root)
    names: dict[str, list[tuple[str, str]]] = {"canvas": [], "moodle": []}
    for student in students:
        entry = roster.get(student, {})
        if entry.get("lms") == "canvas":
            names["canvas"].append((student, f"{entry['lms_name']}_{entry['lms_id']}_"
                                             f"{ASSIGNMENT}-feedback.html"))
        elif entry.get("lms") == "moodle":
            names["moodle"].append((student, f"{entry['lms_name']}_{entry['lms_id']}_"
                                             f"assignsubmission_file_{ASSIGNMENT}-feedback.html"))
    written = []
    for lms, files in names.items():
        if not files:
            continue
        target = course_root / "exports" / f"feedback-{lms}.zip"
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for student, name in files:
                pages = sorted(feedback_dir(student).glob("*.html"))
                if pages:
                    archive.writestr(name, feedback_page(student, pages))
        written.append(target)
    return written
