"""The catalogue of students' mistakes (week14/misconceptions.py), graded as a class.

Each catalogued mistake is one student: the instructor's solution of its notebook with
the mistake's answer put after the answer cell's own code (so it replaces that one
function). The class, with two students making the same mistake and an honest one, is
graded once, in one batch. Then, for every mistake:

1. the mistake loses exactly its exercise's points, and nothing else;
2. the failure names it: the catalogue's sentence and key, in the graded notebook and
   in the student's feedback, and the visible tests already catch it (so the student
   sees it while working, not only in feedback);
3. no feedback page holds a hidden input, expected value or hidden test line;
4. the class summary's mistake table counts the students exactly.
"""

from __future__ import annotations

import html
import json
import re
import shutil

import nbformat
import pytest

from autograder import course as course_module
from autograder.collect import collect
from autograder.config import ASSIGNMENT, RELEASE_DIR, SOURCE_DIR
from autograder.course import Course
from autograder.examples import student_notebook
from autograder.notebook import bound_names, parse
from autograder.report import Score, mistake_lines, write_mistakes_csv
from week14 import misconceptions
from week14.grading import MISTAKE_TAG

MISTAKES = {m.key: (reference, m) for reference, ms in misconceptions.CATALOGUE.items()
            for m in ms}
SOURCES = sorted((SOURCE_DIR / ASSIGNMENT).glob("*.ipynb"))
#: The same mistake made by a second student, for the counts.
TWICE = "sigmoid-derivative-from-input"


def answer_cell(function: str) -> tuple[str, dict]:
    """(notebook, answer cell) of the source notebook whose answer defines ``function``."""
    for path in SOURCES:
        for cell in nbformat.read(path, as_version=4).cells:
            nbg = cell.metadata.get("nbgrader", {})
            if nbg.get("solution") and function in bound_names(parse(cell.source)):
                return path.stem, nbg["grade_id"]
    raise AssertionError(f"no answer cell defines {function}")


def exercise_tests(notebook: str, answer: str) -> set[str]:
    """The graded test cells of the exercise whose answer cell is ``answer``: those
    between it and the next answer cell."""
    tests, inside = set(), False
    for cell in nbformat.read(SOURCE_DIR / ASSIGNMENT / f"{notebook}.ipynb", 4).cells:
        nbg = cell.metadata.get("nbgrader", {})
        if nbg.get("solution") and cell.cell_type == "code":
            inside = nbg["grade_id"] == answer
        elif inside and nbg.get("grade"):
            tests.add(nbg["grade_id"])
    return tests


def submission(mistake: misconceptions.Mistake) -> tuple[str, str]:
    """(notebook, the solution with ``mistake`` appended to its answer cell)."""
    notebook, gid = answer_cell(mistake.name)
    nb = json.loads(student_notebook(f"{notebook}.ipynb", "perfect"))
    cell = next(c for c in nb["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == gid)
    cell["source"] = "".join(cell["source"]) + "\n\n" + mistake.answer
    return notebook, json.dumps(nb)


def test_the_catalogue_is_well_formed():
    """At least 40 mistakes with unique keys; each is keyed by an existing week14
    reference and is the answer of a notebook's exercise (a function it asks for)."""
    assert len(MISTAKES) == sum(len(ms) for ms in misconceptions.CATALOGUE.values()) >= 40
    for reference_key, ms in misconceptions.CATALOGUE.items():
        module, _, name = reference_key.rpartition(".")
        reference = getattr(__import__(module, fromlist=[name]), name)
        assert misconceptions.key_of(reference) == reference_key
        for mistake in ms:
            assert answer_cell(mistake.name)
            assert mistake.wrong is not None


def test_every_graded_exercise_has_a_catalogued_mistake():
    named = {m.name for _, m in MISTAKES.values()}
    exercises = {}
    for path in SOURCES:
        for cell in nbformat.read(path, as_version=4).cells:
            nbg = cell.metadata.get("nbgrader", {})
            if nbg.get("solution") and cell.cell_type == "code":
                exercises[nbg["grade_id"]] = bound_names(parse(cell.source))
    assert len(exercises) >= 30
    assert {gid for gid, names in exercises.items() if not names & named} == set()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("mistakes")
    incoming = root / "incoming"
    todo = []

    def submit(student: str, notebook: str, text: str) -> None:
        (incoming / student).mkdir(parents=True)
        (incoming / student / f"{notebook}.ipynb").write_text(text)
        todo.append((student, notebook))

    for key, (_, mistake) in MISTAKES.items():
        submit(key, *submission(mistake))
    submit(f"{TWICE}-again", *submission(MISTAKES[TWICE][1]))
    for notebook in sorted({nb for _, nb in todo}):
        submit(f"honest-{notebook[:2]}", notebook,
               student_notebook(f"{notebook}.ipynb", "perfect"))
    course = Course(root / "course")
    collect(incoming, course.root / "submitted", {p.stem for p in SOURCES})
    results = {(r.student, r.notebook): r for r in course.grade(todo, jobs=2)}
    feedback = {s: course.generate_feedback(s) for s, _ in todo}
    yield {"course": course, "results": results, "feedback": feedback}
    shutil.rmtree(root, ignore_errors=True)


def failed_cell(course: Course, student: str, notebook: str, gid: str) -> dict:
    nb = nbformat.read(course.autograded_dir(student) / f"{notebook}.ipynb", as_version=4)
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_a_mistake_loses_its_exercise_and_is_named(graded, key):
    _, mistake = MISTAKES[key]
    notebook, answer = answer_cell(mistake.name)
    result = graded["results"][(key, notebook)]
    points = course_module.test_points(SOURCE_DIR / ASSIGNMENT / f"{notebook}.ipynb")
    exercise = exercise_tests(notebook, answer)
    lost = {test for test, (score, top) in result.scores.items() if score < top}
    assert lost and lost <= exercise, (exercise, result.scores)
    assert result.scores == {t: (0.0 if t in lost else top, top) for t, top in points.items()}
    assert result.mistakes == dict.fromkeys(lost, key)
    test = min(lost)
    errors = [o for o in failed_cell(graded["course"], key, notebook, test).outputs
              if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "CheckFailed"
    message = errors[0].evalue
    assert mistake.says in message and MISTAKE_TAG.format(key) in message
    assert "hidden case" not in message, (
        f"only the hidden tests catch {key}: a student sees it only in feedback\n{message}")
    page = (graded["course"].feedback_dir(key) / f"{notebook}.html").read_text()
    assert mistake.says in html.unescape(re.sub(r"<[^>]+>", "", page))


def test_every_student_gets_feedback(graded):
    failed = {s: r.get("error") for s, r in graded["feedback"].items() if not r["success"]}
    assert failed == {}


def test_no_hidden_value_reaches_feedback(graded):
    """No hidden test's line is in the feedback of the catalogue's students (their
    messages are the catalogue's sentences, which hold no values)."""
    hidden_lines = set()
    for path in SOURCES:
        release = nbformat.read(RELEASE_DIR / ASSIGNMENT / path.name, as_version=4)
        visible = "\n".join(cell.source for cell in release.cells)
        for cell in nbformat.read(path, as_version=4).cells:
            _, _, hidden = cell.source.partition("### BEGIN HIDDEN TESTS")
            hidden = hidden.partition("### END HIDDEN TESTS")[0]
            hidden_lines |= {line.strip() for line in hidden.splitlines()
                             if len(line.strip()) >= 24 and line.strip() not in visible}
    course = graded["course"]
    for student in graded["feedback"]:
        for page in course.feedback_dir(student).glob("*.html"):
            text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
            leaked = [line for line in hidden_lines if line in text]
            assert not leaked, (student, leaked[:3])
    assert hidden_lines


def test_the_summary_counts_each_mistake_exactly(graded, tmp_path):
    course = graded["course"]
    counts = course.mistakes()
    by_key: dict[str, int] = {}
    for row in counts.values():
        for key, n in row.items():
            by_key[key] = by_key.get(key, 0) + n
    students = {key: len(graded["results"][(key, nb)].mistakes)
                for (key, nb) in graded["results"] if key in MISTAKES}
    assert by_key == {**students, TWICE: 2 * students[TWICE]}
    lines = "\n".join(mistake_lines(counts))
    assert f"{TWICE} 2" in lines
    table = write_mistakes_csv(counts, tmp_path / "mistakes.csv").read_text().splitlines()
    assert table[0] == "notebook,test,mistake,students"
    assert len(table) == 1 + sum(len(row) for row in counts.values())


def test_a_key_in_a_students_own_message_counts_as_other():
    """The summary counts only the catalogue's keys: a student cannot file their
    failure under a mistake by raising an exception whose text names one."""
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from autograder.autograde import mistakes

    cells = [new_code_cell(metadata={"nbgrader": {"grade_id": gid}}, outputs=[new_output(
        "error", ename="CheckFailed", evalue=text, traceback=[])])
        for gid, text in (("spoofed", "f raised ValueError: [mistake: made-up]"),
                          ("named", f"f is wrong\nf: ... {MISTAKE_TAG.format(TWICE)}"))]
    scores = {"spoofed": Score(0.0, 2.0), "named": Score(0.0, 2.0)}
    assert mistakes(new_notebook(cells=cells), scores) == {"spoofed": "other", "named": TWICE}
