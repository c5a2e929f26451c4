"""A real course's grading workflow, through the command line as an instructor types it.

One class, collected from a Canvas download whose ids are awkward (``_`` inside them,
``.`` and ``-``, one id the prefix of others), with a due date, a late policy and an
extension: it is graded, hand-graded, regraded, exported and fed back, and every
student is there at every step with the late penalty the policy gives.
"""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from datetime import UTC, datetime, timedelta

import nbformat
import pytest
from nbgrader.utils import is_grade, is_solution

from autograder import course as course_module
from autograder.__main__ import main
from autograder.config import ASSIGNMENT, SOURCE_DIR
from autograder.course import Course, Shard
from autograder.examples import student_notebook
from autograder.late import LatePolicy, read_policy, submitted_at

NOTEBOOK = sorted(p.stem for p in (SOURCE_DIR / ASSIGNMENT).glob("*.ipynb"))[0]
DUE = datetime(2026, 12, 10, 23, 59, tzinfo=UTC)
POLICY = """
[late]
due = 2026-12-10T23:59:00Z
grace_minutes = 5
percent_per_day = 10
cap_percent = 25

[late.extensions]
student_b = 2026-12-12T23:59:00Z
"""
#: Canvas file name -> (zip time, days late the policy counts).
CLASS = {
    f"student_a_LATE_11_1_{NOTEBOOK}.ipynb": ((2026, 12, 11, 9, 30, 0), 1),
    f"student_b_LATE_12_2_{NOTEBOOK}.ipynb": ((2026, 12, 12, 8, 0, 0), 0),  # extension
    f"jane.doe-x_13_3_{NOTEBOOK}.ipynb": ((2026, 12, 11, 0, 3, 0), 0),  # within grace
    f"student_14_4_{NOTEBOOK}.ipynb": ((2026, 12, 14, 0, 30, 0), 4),  # capped at 25 %
    f"Zoë Núñez_8_assignsubmission_file_/{NOTEBOOK}.ipynb": ((2026, 12, 9, 12, 0, 0), 0),
}
IDS = {"student_a": 1, "student_b": 0, "jane.doe-x": 0, "student": 4, "Zoe-Nunez": 0}


def cli(*args: str, course) -> int:
    return main([*args, "--course", str(course), "--quiet"])


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    root = tmp_path_factory.mktemp("term")
    download = root / "submissions.zip"
    body = student_notebook(f"{NOTEBOOK}.ipynb", "perfect").encode()
    with zipfile.ZipFile(download, "w") as zf:
        for name, (when, _) in CLASS.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=when), body)
    course = root / "course"
    course.mkdir()
    (course / "course.toml").write_text(POLICY)
    assert cli("collect", str(download), course=course) == 0
    assert cli("grade", course=course) == 0
    yield Course(course)
    shutil.rmtree(root, ignore_errors=True)


def read_csv(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def notebook_row(course: Course, student: str):
    with course.gradebook() as gb:
        nb = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
        return float(nb.score), float(nb.late_submission_penalty or 0.0)


def test_every_awkward_id_is_graded_with_its_late_penalty(term):
    assert sorted(term.graded()) == sorted(IDS)
    top = sum(course_module.test_points(SOURCE_DIR / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
              .values())
    for student, days in IDS.items():
        score, penalty = notebook_row(term, student)
        assert score == top, student
        assert penalty == pytest.approx(top * min(0.10 * days, 0.25)), student


def test_export_summary_and_feedback_show_the_penalty(term, capsys):
    assert cli("export", course=term.root) == 0
    rows = {r["student"]: r for r in read_csv(term.root / "exports" /
                                              f"{ASSIGNMENT}_scores.csv")}
    assert set(rows) == set(IDS)
    score, penalty = notebook_row(term, "student")
    assert penalty > 0
    assert float(rows["student"]["late_penalty"]) == pytest.approx(penalty)
    assert float(rows["student"][NOTEBOOK]) == pytest.approx(score - penalty)
    assert float(rows["student"]["total"]) == pytest.approx(score - penalty)
    nbgrader_rows = read_csv(term.root / "exports" / "grades.csv")
    assert {r["student_id"] for r in nbgrader_rows} == set(IDS)
    assert {r["student_id"]: float(r["late_submission_penalty"]) for r in nbgrader_rows}[
        "student"] == pytest.approx(penalty)
    capsys.readouterr()
    assert cli("summary", course=term.root) == 0
    out = capsys.readouterr().out
    assert "due 2026-12-10T23:59:00+00:00, 5 min grace: 10 % per started day late" in out
    rows = {line.split()[0]: line for line in out.splitlines() if "/" in line}
    assert "late -" in rows["student"] and "late -" not in rows["jane.doe-x"]
    assert cli("feedback", course=term.root) == 0
    for student, days in IDS.items():
        page = (term.feedback_dir(student) / f"{NOTEBOOK}.html").read_text()
        assert ("Late submission penalty" in page) == (days > 0), student


def test_a_written_answer_needs_manual_grading_until_given(term, tmp_path, capsys):
    """Notebook 06's written answer: "needs manual grading" in summary and export
    until a grader scores it in the formgrader (here through the gradebook it writes);
    a notebook not handed in has nothing to grade by hand."""
    written = "06_learning_rate"
    folder = term.submission_dir("jane.doe-x")
    folder.joinpath(f"{written}.ipynb").write_text(
        student_notebook(f"{written}.ipynb", "perfect"))
    assert cli("grade", "--student", "jane.doe-x", "--notebook", written,
               course=term.root) == 0
    assert cli("export", course=term.root) == 0
    rows = {r["student"]: r for r in read_csv(term.root / "exports" /
                                              f"{ASSIGNMENT}_scores.csv")}
    assert rows["jane.doe-x"]["needs_manual_grading"] == written
    assert rows["student_a"]["needs_manual_grading"] == ""
    with term.gradebook() as gb:
        nb = gb.find_submission_notebook(written, ASSIGNMENT, "jane.doe-x")
        grade = next(g for g in nb.grades if g.name == "nb06_written_plateau")
        assert grade.needs_manual_grade and grade.score == 0
        grade.manual_score = 1.5  # what the formgrader writes
        grade.needs_manual_grade = False
        gb.db.commit()
    assert cli("grade", "--force", "--student", "jane.doe-x", "--notebook", written,
               course=term.root) == 0
    capsys.readouterr()
    assert cli("summary", course=term.root) == 0
    line = next(line for line in capsys.readouterr().out.splitlines()
                if line.startswith("jane.doe-x "))
    assert "needs manual grading" not in line
    with term.gradebook() as gb:
        nb = gb.find_submission_notebook(written, ASSIGNMENT, "jane.doe-x")
        assert next(g for g in nb.grades if g.name == "nb06_written_plateau").score == 1.5


def test_a_manual_score_survives_a_forced_regrade(term):
    with term.gradebook() as gb:
        nb = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, "jane.doe-x")
        grade = nb.grades[0]
        name, grade.manual_score = grade.name, 0.5
        for comment in nb.comments:
            comment.manual_comment = "see me about this"
        gb.db.commit()
    assert cli("grade", "--force", "--student", "jane.doe-x", course=term.root) == 0
    with term.gradebook() as gb:
        nb = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, "jane.doe-x")
        grade = next(g for g in nb.grades if g.name == name)
        assert grade.manual_score == 0.5 and grade.score == 0.5
        assert not grade.needs_manual_grade
        assert all(c.manual_comment == "see me about this" for c in nb.comments)


def test_a_fixed_test_regrades_exactly_its_notebook(term, tmp_path, monkeypatch):
    """After the instructor changes a test cell of one notebook (and releases), a
    plain `grade` finds exactly that notebook of every student to grade again."""
    assert term.pending() == []
    fixed = tmp_path / "solutions"
    shutil.copytree(SOURCE_DIR, fixed)
    path = fixed / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(path, as_version=4)
    test = next(c for c in nb.cells if is_grade(c) and not is_solution(c))
    test.source += "\n# fixed: a clearer message"
    nbformat.write(nb, path)
    monkeypatch.setattr(course_module, "SOURCE_DIR", fixed)
    assert term.pending() == sorted((s, NOTEBOOK) for s in IDS)
    assert term.pending(students=["student_a"]) == [("student_a", NOTEBOOK)]
    other = sorted(p.stem for p in (SOURCE_DIR / ASSIGNMENT).glob("*.ipynb"))[1]
    assert term.pending(notebooks=[other]) == []
    with pytest.raises(ValueError, match="no student nobody in this course; the students "
                                         "are: Zoe-Nunez, jane.doe-x, student, student_a, "
                                         "student_b"):
        term.pending(students=["nobody"])


def test_the_late_policy_is_read_and_explained(tmp_path):
    policy = read_policy(tmp_path)
    assert policy == LatePolicy() and policy.penalty(10.0, 1e6) == 0.0
    (tmp_path / "course.toml").write_text(POLICY)
    policy = read_policy(tmp_path)
    assert policy.due_for("student_b") == datetime(2026, 12, 12, 23, 59, tzinfo=UTC)
    assert policy.due_for("anyone") == DUE
    assert policy.penalty(10.0, 5 * 60) == 0.0  # within the grace period
    assert policy.penalty(10.0, 5 * 60 + 1) == pytest.approx(1.0)
    assert policy.penalty(10.0, timedelta(days=2, seconds=1).total_seconds()) == \
        pytest.approx(2.5)
    assert LatePolicy(due=DUE, zero=True).penalty(7.0, 3600) == 7.0
    for text, message in [("[late]\ndue = 'tomorrow'", "must be a TOML date-time"),
                          ("[late]\npercent_per_day = 150", "from 0 to 100, got 150"),
                          ("[late]\nzero = 1", "zero must be true or false"),
                          ("[late]\ndeadline = 2026-12-10", r"unknown keys \['deadline'\]"),
                          ("[late", "is not valid TOML")]:
        (tmp_path / "course.toml").write_text(text)
        with pytest.raises(ValueError, match=message):
            read_policy(tmp_path)


def test_an_lms_late_mark_counts_unless_the_student_has_an_extension(tmp_path):
    (tmp_path / "course.toml").write_text(POLICY)
    policy = read_policy(tmp_path)
    (tmp_path / "timestamp.txt").write_text("2026-12-10T20:00:00+00:00")
    assert submitted_at(tmp_path, policy, "anyone") == datetime(2026, 12, 10, 20, tzinfo=UTC)
    (tmp_path / "late.txt").write_text("marked late by the LMS\n")
    assert submitted_at(tmp_path, policy, "anyone") == DUE + timedelta(seconds=1)
    assert submitted_at(tmp_path, policy, "student_b") == datetime(2026, 12, 10, 20,
                                                                   tzinfo=UTC)


@pytest.mark.parametrize(("environ", "expected"), [
    ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"},
     Shard(3, 4)),
    ({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"}, Shard(1, 2)),
    ({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2",
      "SLURM_ARRAY_TASK_COUNT": "3"}, Shard(3, 3)),
    ({"JOB_COMPLETION_INDEX": "0", "SHARD_COUNT": "5"}, Shard(1, 5)),
])
def test_shard_auto_reads_the_array_job(environ, expected):
    assert Shard.parse("auto", environ) == expected


@pytest.mark.parametrize(("environ", "message"), [
    ({}, "found no array job here"),
    ({"JOB_COMPLETION_INDEX": "2"}, "needs SHARD_COUNT to be a whole number"),
    ({"JOB_COMPLETION_INDEX": "5", "SHARD_COUNT": "5"}, "shard 6/5 does not exist"),
])
def test_shard_auto_explains_what_is_missing(environ, message):
    with pytest.raises(ValueError, match=message):
        Shard.parse("auto", environ)


def test_the_roster_keeps_the_lms_ids(term):
    roster = json.loads((term.root / ".autograder" / "roster.json").read_text())
    assert {s: r["lms_id"] for s, r in roster.items()} == {
        "student_a": "11", "student_b": "12", "jane.doe-x": "13", "student": "14",
        "Zoe-Nunez": "8"}


def test_grades_go_back_as_canvas_and_moodle_import_files(term, capsys):
    (term.root / "course.toml").write_text(POLICY + '\n[lms]\nassignment = "Week 14 (4242)"\n')
    assert cli("export", course=term.root) == 0
    assert "without a Canvas id (give them in collect's --map): Zoe-Nunez" in (
        capsys.readouterr().out)
    with open(term.root / "exports" / "canvas_grades.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "Week 14 (4242)"]
    assert rows[1][0] == "Points Possible" and float(rows[1][5]) > 0
    by_id = {row[1]: row for row in rows[2:]}
    score, penalty = notebook_row(term, "student")
    assert by_id["14"][:5] == ["student", "14", "", "student", ""]
    assert float(by_id["14"][5]) == pytest.approx(score - penalty)
    assert set(by_id) == {"11", "12", "13", "14", ""}
    moodle = read_csv(term.root / "exports" / "moodle_grades.csv")
    assert [(r["Identifier"], r["Full name"]) for r in moodle] == [("Participant 8",
                                                                    "Zoë Núñez")]


def test_feedback_is_released_named_for_each_lms(term):
    assert cli("feedback", "--release", course=term.root) == 0
    with zipfile.ZipFile(term.root / "exports" / "feedback-canvas.zip") as archive:
        assert sorted(archive.namelist()) == sorted(
            f"{name}_{uid}_{ASSIGNMENT}-feedback.html" for name, uid in
            [("student_a", 11), ("student_b", 12), ("jane.doe-x", 13), ("student", 14)])
        page = archive.read(f"student_14_{ASSIGNMENT}-feedback.html").decode()
    assert page.count("<iframe") == 1 and "Late submission penalty" in page
    with zipfile.ZipFile(term.root / "exports" / "feedback-moodle.zip") as archive:
        assert archive.namelist() == [
            f"Zoë Núñez_8_assignsubmission_file_{ASSIGNMENT}-feedback.html"]


def test_a_written_answer_is_the_students_text_never_the_model_answer():
    """A written answer (a markdown solution cell, graded by hand) comes from the
    submission; the source's model answer and rubric reach no graded notebook."""
    from nbformat.v4 import new_markdown_cell, new_notebook

    from autograder.notebook import prepare

    def written(text: str):
        return new_markdown_cell(text, metadata={"nbgrader": {
            "grade_id": "why", "solution": True, "grade": True, "points": 2,
            "locked": False, "schema_version": 3}})

    source = new_notebook(cells=[written("Why?\n### BEGIN SOLUTION\nModel answer. Rubric: "
                                         "1 point for...\n### END SOLUTION")])
    release = new_notebook(cells=[written("Why?\nYOUR ANSWER HERE")])
    submitted = new_notebook(cells=[written("Because the mask keeps the winning ticket. "
                                            "### BEGIN HIDDEN TESTS")])
    graded = prepare(nbformat.writes(submitted), source, release, "nb").notebook
    assert graded.cells[0].source == ("Because the mask keeps the winning ticket. "
                                      "### BEGIN HIDDEN-TESTS")
    unanswered = prepare(nbformat.writes(new_notebook(cells=[])), source, release,
                         "nb").notebook
    assert unanswered.cells[0].source == "Why?\nYOUR ANSWER HERE"
