"""The instructor's grading cycle: collect, grade, feedback, export, summary, bundle."""

from __future__ import annotations

import csv
import json
import re
import zipfile

import nbformat
import pytest
from nbgrader.utils import is_solution

from autograder.__main__ import main
from autograder.collect import collect, place, read_map
from autograder.config import ASSIGNMENT, SOURCE_DIR, course_dir
from autograder.examples import filled_answer, student_notebook

NOTEBOOKS = {p.stem for p in (SOURCE_DIR / ASSIGNMENT).glob("*.ipynb")}
FIRST = sorted(NOTEBOOKS)[0]


# -- collect -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"jsmith/{FIRST}.ipynb", ("jsmith", "folder", "", False)),
        (f"jsmith/week14/{FIRST}.ipynb", ("jsmith", "folder", "", False)),
        (f"jane_doe/{FIRST}.ipynb", ("jane_doe", "folder", "", False)),
        (f"o.neil-2/{FIRST}.ipynb", ("o.neil-2", "folder", "", False)),
        (f"jsmith_LATE_1234_5678_{FIRST}.ipynb", ("jsmith", "canvas", "1234", True)),
        (f"jsmith_1234_5678_{FIRST}-1.ipynb", ("jsmith", "canvas", "1234", False)),
        (f"jane_doe_LATE_77_88_{FIRST}.ipynb", ("jane_doe", "canvas", "77", True)),
        (f"student_1_12_34_{FIRST}.ipynb", ("student_1", "canvas", "12", False)),
        (f"jane_doe_{FIRST}.ipynb", ("jane_doe", "folder", "", False)),
        (f"Ada Lovelace_99_assignsubmission_file_/{FIRST} (2).ipynb",
         ("Ada-Lovelace", "moodle", "99", False)),
        (f"José O'Brien_7_assignsubmission_file_/{FIRST}.ipynb",
         ("Jose-OBrien", "moodle", "7", False)),
        (f"Zoë Núñez_8_assignsubmission_file_{FIRST}.ipynb", ("Zoe-Nunez", "moodle", "8", False)),
    ],
)
def test_lms_file_names_are_placed(path, expected):
    placed = place(path, NOTEBOOKS)
    assert (placed.student, placed.lms, placed.lms_id, placed.late) == expected
    assert placed.notebook == FIRST


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("jsmith/notes.txt", "not a notebook"),
        ("jsmith/homework.ipynb", "is not one of this assignment's notebooks"),
        (f"{FIRST}.ipynb", "no student"),
        (f"__MACOSX/jsmith/{FIRST}.ipynb", "hidden or system file"),
        (f"../../etc/x_{FIRST}.ipynb", "unsafe path"),
        (f"/etc/x_{FIRST}.ipynb", "unsafe path"),
        (f"x$y_{FIRST}.ipynb", "may only hold letters"),
        (f"x$y_{FIRST}.ipynb", "give the student's id in a --map file"),
    ],
)
def test_unplaceable_files_say_why(path, reason):
    assert reason in place(path, NOTEBOOKS)


def test_a_map_turns_lms_names_and_ids_into_the_courses_ids(tmp_path):
    table = tmp_path / "map.csv"
    table.write_text("lms,student\n1234,jsmith\nJosé O'Brien,jobrien\nx$y,xy\n")
    ids = read_map(table)
    assert place(f"smithjohn_1234_5678_{FIRST}.ipynb", NOTEBOOKS, ids).student == "jsmith"
    assert place(f"José O'Brien_7_assignsubmission_file_/{FIRST}.ipynb", NOTEBOOKS,
                 ids).student == "jobrien"
    assert place(f"x$y/{FIRST}.ipynb", NOTEBOOKS, ids).student == "xy"
    assert "the --map file has neither '99' nor 'doejane'" in place(
        f"doejane_99_1_{FIRST}.ipynb", NOTEBOOKS, ids)
    table.write_text("name,id\na,b\n")
    with pytest.raises(ValueError, match="needs the header `lms,student`"):
        read_map(table)
    table.write_text("lms,student\n1,a b\n")
    with pytest.raises(ValueError, match="line 2: the student id 'a b' may only hold"):
        read_map(table)
    with pytest.raises(ValueError, match="cannot read the --map file"):
        read_map(tmp_path / "missing.csv")


def test_awkward_ids_are_all_collected_with_their_times(tmp_path):
    """Ids with "_", "-", ".", two that share a prefix, accented and apostrophised full
    names: every student is collected under their own id, with the zip's time in
    nbgrader's timestamp.txt and Canvas's LATE mark kept."""
    body = student_notebook(f"{FIRST}.ipynb", "untouched").encode()
    archive = tmp_path / "download.zip"
    entries = {f"student_a_LATE_11_1_{FIRST}.ipynb": (2026, 12, 11, 9, 30, 0),
               f"student_b_12_2_{FIRST}.ipynb": (2026, 12, 9, 8, 0, 0),
               f"jane.doe-x_13_3_{FIRST}.ipynb": (2026, 12, 9, 8, 0, 0),
               f"student_14_4_{FIRST}.ipynb": (2026, 12, 9, 8, 0, 0)}
    with zipfile.ZipFile(archive, "w") as zf:
        for name, when in entries.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=when), body)
    submitted = tmp_path / "course" / "submitted"
    report = collect(archive, submitted, NOTEBOOKS)
    assert sorted(s for s, _ in report.taken) == ["jane.doe-x", "student", "student_a",
                                                  "student_b"]
    assert report.skipped == [] and report.late == ["student_a"]
    folder = submitted / "student_a" / ASSIGNMENT
    assert folder.joinpath("timestamp.txt").read_text() == "2026-12-11T09:30:00+00:00"
    assert folder.joinpath("late.txt").exists()
    assert not (submitted / "student_b" / ASSIGNMENT / "late.txt").exists()
    roster = json.loads((tmp_path / "course" / ".autograder" / "roster.json").read_text())
    assert roster["student_a"] == {"lms": "canvas", "lms_name": "student_a", "lms_id": "11"}


def test_two_lms_students_with_one_id_are_both_left_out(tmp_path):
    folder = tmp_path / "in"
    for name in (f"Ann Lee_1_assignsubmission_file_/{FIRST}.ipynb",
                 f"Ann Lee_2_assignsubmission_file_/{FIRST}.ipynb",
                 f"Bo Chen_3_assignsubmission_file_/{FIRST}.ipynb"):
        (folder / name).parent.mkdir(parents=True)
        (folder / name).write_text("{}")
    report = collect(folder, tmp_path / "submitted", NOTEBOOKS)
    assert report.taken == [("Bo-Chen", FIRST)]
    assert len(report.skipped) == 2
    assert all("both become 'Ann-Lee'" in why and "--map" in why for _, why in report.skipped)


def test_collect_from_lms_zip_reports_misnamed_files(tmp_path):
    body = student_notebook(f"{FIRST}.ipynb", "untouched").encode()
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"alice_111_222_{FIRST}.ipynb", body)
        zf.writestr(f"bob_LATE_333_444_{FIRST}-2.ipynb", body)
        zf.writestr("carol_555_666_my homework.ipynb", body)
        zf.writestr(f"../evil_{FIRST}.ipynb", body)
    submitted = tmp_path / "course" / "submitted"
    report = collect(archive, submitted, NOTEBOOKS)
    assert sorted(report.taken) == [("alice", FIRST), ("bob", FIRST)]
    assert sorted(name for name, _ in report.skipped) == [
        f"../evil_{FIRST}.ipynb", "carol_555_666_my homework.ipynb"]
    assert (submitted / "alice" / ASSIGNMENT / f"{FIRST}.ipynb").read_bytes() == body
    assert sorted(p.name for p in (tmp_path / "course").rglob("*.ipynb")) == [
        f"{FIRST}.ipynb", f"{FIRST}.ipynb"]
    again = collect(archive, submitted, NOTEBOOKS)
    assert again.taken == [] and len(again.unchanged) == 2
    assert any("could not place carol_555_666_my homework.ipynb" in line
               for line in again.lines())


def test_collect_refuses_duplicates_and_bad_sources(tmp_path):
    folder = tmp_path / "in"
    for name in (f"dan/{FIRST}.ipynb", f"dan/week14/{FIRST}.ipynb"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}")
    report = collect(folder, tmp_path / "submitted", NOTEBOOKS)
    assert report.taken == []
    assert all("second file" in why or "conflicting" in why for _, why in report.skipped)
    with pytest.raises(ValueError, match="does not exist"):
        collect(tmp_path / "nope", tmp_path / "submitted", NOTEBOOKS)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="neither a folder nor a zip"):
        collect(tmp_path / "file.txt", tmp_path / "submitted", NOTEBOOKS)


# -- instructor mistakes end with a message that names the fix -----------------------
def test_course_folder_may_not_be_published_material():
    with pytest.raises(ValueError, match="inside .*solutions"):
        course_dir(SOURCE_DIR / "course")


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["grade"], "run `python -m autograder collect PATH"),
        (["export"], "run `python -m autograder grade"),
        (["summary"], "run `python -m autograder grade"),
        (["feedback"], "run `python -m autograder grade"),
        (["collect", "/no/such/folder"], "does not exist"),
    ],
)
def test_commands_on_an_empty_course_explain_the_fix(tmp_path, capsys, command, message):
    assert main([*command, "--course", str(tmp_path / "course")]) == 2
    assert message in capsys.readouterr().err


def test_feedback_for_unknown_student(graded_course, capsys):
    assert main(["feedback", "--student", "nobody", "--course", str(graded_course.root)]) == 2
    assert "no graded submission for nobody; graded students: broken, partly, perfect" in (
        capsys.readouterr().err)


# -- the graded example class --------------------------------------------------------
def totals(course) -> dict[str, tuple[float, float]]:
    out = {}
    for student, notebooks in course.graded().items():
        scores = [s for result in notebooks.values() for s in result.scores.values()]
        out[student] = (sum(s[0] for s in scores), sum(s[1] for s in scores))
    return out


def test_example_class_scores(graded_course):
    got = totals(graded_course)
    top = got["perfect"][1]
    assert top > 0 and got["perfect"] == (top, top)
    assert got["untouched"] == (0.0, top)
    assert got["broken"] == (0.0, top)
    assert 0 < got["partly"][0] < top
    flags = graded_course.flags()
    assert len(flags["broken"]) == len(NOTEBOOKS)
    assert all("not a valid notebook" in f for f in flags["broken"])
    assert flags["perfect"] == flags["untouched"] == flags["partly"] == []


def test_grading_leaves_no_process_behind(tmp_path, monkeypatch):
    """Every zygote (the student's sandbox, the checker's) and kernel has ended when
    grade returns, even after a kernel that had to be killed."""
    import shutil
    import tempfile
    from pathlib import Path

    from autograder.config import Limits
    from autograder.course import Course

    scratch = Path(tempfile.mkdtemp(prefix="w14-", dir="/tmp"))  # short: Unix sockets
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    nb = nbformat.reads(student_notebook(f"{FIRST}.ipynb", "perfect"), as_version=4)
    cell = next(c for c in nb.cells if is_solution(c))
    cell.source = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                   "while True:\n    pass\n")
    (tmp_path / "in" / "sleeper").mkdir(parents=True)
    (tmp_path / "in" / "sleeper" / f"{FIRST}.ipynb").write_text(nbformat.writes(nb))
    course = Course(tmp_path / "course", limits=Limits(cell=3, notebook=12))
    collect(tmp_path / "in", course.root / "submitted", {FIRST})
    try:
        (result,) = course.grade([("sleeper", FIRST)], jobs=1)
        assert any("timed out" in flag for flag in result.flags)
        left = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(scratch) in text:
                left.append(text)
        assert left == []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_export_matches_the_gradebook(graded_course):
    table = (graded_course.root / "exports" / "week14_scores.csv").read_text()
    rows = list(csv.DictReader(table.splitlines()))
    # The autograded tests' totals, and the written answers (graded by hand, not yet)
    written = {"06_learning_rate": 2.0, "07_initialization_and_lottery_ticket": 2.0}
    got = {student: (score, top + sum(written.values()))
           for student, (score, top) in totals(graded_course).items()}
    assert {r["student"]: (float(r["total"]), float(r["max"])) for r in rows} == got
    assert "not a valid notebook" in next(r for r in rows if r["student"] == "broken")["flags"]
    by_student = {r["student"]: r["needs_manual_grading"].split() for r in rows}
    assert by_student["perfect"] == by_student["untouched"] == sorted(written)
    assert by_student["broken"] == []  # no notebook could be read: nothing to grade by hand
    nbgrader_csv = (graded_course.root / "exports" / "grades.csv").read_text()
    assert "perfect" in nbgrader_csv and "raw_score" in nbgrader_csv


def test_summary_table_flags_and_histogram(graded_course, capsys):
    assert main(["summary", "--course", str(graded_course.root)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^perfect .* (\d+)/\1 ", out, re.MULTILINE)
    assert "Flags (look at these):" in out and "broken: " in out
    assert "Pass rate per test" in out
    png = graded_course.root / "exports" / "histogram.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def hidden_lines() -> set[str]:
    """The distinctive lines (40 characters or more) of every hidden-test region of the
    source notebooks, except lines that also appear in visible parts of them."""
    hidden, visible = set(), []
    for path in (SOURCE_DIR / ASSIGNMENT).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            src = cell.source
            for region in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS",
                                     src, re.DOTALL):
                hidden |= {line.strip() for line in region.splitlines()
                           if len(line.strip()) >= 40}
            visible.append(re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", src,
                                  flags=re.DOTALL))
    everything_visible = "\n".join(visible)
    return {line for line in hidden if line not in everything_visible}


def test_no_hidden_test_text_in_feedback_exports_or_bundle(graded_course, tmp_path):
    lines = hidden_lines()
    assert lines, "the source notebooks should have hidden tests"
    assert main(["bundle", "--out", str(tmp_path / "b.zip"),
                 "--course", str(graded_course.root)]) == 0
    texts = {str(p): p.read_text(errors="replace")
             for p in graded_course.root.glob("feedback/**/*.html")}
    texts |= {str(p): p.read_text() for p in graded_course.root.glob("exports/*.csv")}
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        texts |= {n: zf.read(n).decode(errors="replace") for n in zf.namelist()}
    assert len([t for t in texts if t.endswith(".html")]) >= 3 * len(NOTEBOOKS)
    import html
    for name, text in texts.items():
        plain = html.unescape(text)
        leaked = [line for line in lines if line in plain]
        assert not leaked, f"{name} shows hidden-test lines: {leaked[:3]}"


def test_bundle_has_student_material_only(tmp_path):
    assert main(["bundle", "--out", str(tmp_path / "b.zip"),
                 "--course", str(tmp_path / "c")]) == 0
    names = zipfile.ZipFile(tmp_path / "b.zip").namelist()
    assert any(n.endswith("notebooks/week14/" + FIRST + ".ipynb") for n in names)
    assert any(n.endswith("week14/activations.py") for n in names)
    assert not [n for n in names if "solutions/" in n or "autograder" in n]


def test_regrading_only_changed_submissions(tmp_path):
    from autograder.course import Course

    course = Course(tmp_path / "course")
    assert course.pending() == []
    student = "late-edit"
    target = course.submission_dir(student)
    target.mkdir(parents=True)
    source = nbformat.read(SOURCE_DIR / ASSIGNMENT / f"{FIRST}.ipynb", as_version=4)
    released = nbformat.reads(student_notebook(f"{FIRST}.ipynb", "untouched"), as_version=4)
    (target / f"{FIRST}.ipynb").write_text(nbformat.writes(released))
    assert set(course.pending()) == {(student, nb) for nb in NOTEBOOKS}
    first = {r.notebook: r for r in course.grade()}
    assert sum(s[0] for s in first[FIRST].scores.values()) == 0
    assert all("not submitted" in " ".join(r.flags) for nb, r in first.items() if nb != FIRST)
    assert course.pending() == []
    # The student fills in every answer: only the changed notebook is graded again.
    answers = {c.metadata.nbgrader.grade_id: c.source for c in source.cells if is_solution(c)}
    for cell in released.cells:
        if is_solution(cell):
            cell.source = filled_answer(answers[cell.metadata.nbgrader.grade_id])
    (target / f"{FIRST}.ipynb").write_text(nbformat.writes(released))
    assert course.pending() == [(student, FIRST)]
    [second] = course.grade()
    assert second.scores and all(score == top for score, top in second.scores.values())
    assert second.flags == []


def test_a_grader_failure_is_that_notebooks_flag_and_is_graded_again(tmp_path):
    """The grader's own error on one notebook (here: its release file is missing) costs
    neither the student's other notebooks nor the class; that notebook stays pending,
    and grading again grades it."""
    from autograder.course import Course

    second = sorted(NOTEBOOKS)[1]
    course = Course(tmp_path / "course")
    (tmp_path / "in" / "ada").mkdir(parents=True)
    for name in (FIRST, second):
        (tmp_path / "in" / "ada" / f"{name}.ipynb").write_text(
            student_notebook(f"{name}.ipynb", "perfect"))
    collect(tmp_path / "in", course.root / "submitted", NOTEBOOKS)
    course.sync_assignment()
    release = course.release_dir / f"{FIRST}.ipynb"
    moved = release.rename(tmp_path / "moved.ipynb")
    results = {r.notebook: r for r in course.grade([("ada", FIRST), ("ada", second)])}
    assert any("the grader failed (FileNotFoundError" in f for f in results[FIRST].flags)
    assert all(score == top for score, top in results[second].scores.values())
    assert results[second].flags == []
    graded = {("ada", FIRST), ("ada", second)}
    assert [pair for pair in course.pending() if pair in graded] == [("ada", FIRST)]
    moved.rename(release)
    [again] = course.grade([("ada", FIRST)])
    assert again.flags == [] and all(s == top for s, top in again.scores.values())
    assert not graded & set(course.pending())


def test_a_timed_out_cell_does_not_slow_or_cost_the_cells_after_it(tmp_path):
    """After a cell hits its time limit, the next cells run at once (they once waited
    10 s each for output a leftover reader took) and score as usual."""
    from autograder.config import Limits
    from autograder.course import Course, test_points

    nb = nbformat.reads(student_notebook(f"{FIRST}.ipynb", "perfect"), as_version=4)
    answers = [c for c in nb.cells if is_solution(c)]
    answers[0].source = "while True:\n    pass\n"
    (tmp_path / "in" / "looper").mkdir(parents=True)
    (tmp_path / "in" / "looper" / f"{FIRST}.ipynb").write_text(nbformat.writes(nb))
    course = Course(tmp_path / "course", limits=Limits(cell=3, notebook=120))
    collect(tmp_path / "in", course.root / "submitted", {FIRST})
    (result,) = course.grade([("looper", FIRST)])
    assert len(answers) >= 3
    assert result.timings["execution"] < 3 + 8, result.timings
    full = sum(test_points(SOURCE_DIR / ASSIGNMENT / f"{FIRST}.ipynb").values())
    assert 0 < sum(score for score, _ in result.scores.values()) < full
