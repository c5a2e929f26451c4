"""Hostile submissions graded in one batch with honest ones.

Every attack sits in notebook 04's first answer (``sigmoid``, 2 points) or its test
cells; the rest of each hostile notebook is the instructor's solution. So an attack
may earn at most the notebook's points minus the attacked exercise's ("its honest
parts"), must be flagged, and must leave the honest students' scores, the solutions,
the course folder and the rest of the machine untouched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from autograder.collect import collect
from autograder.config import ASSIGNMENT, SOURCE_DIR, Limits
from autograder.course import Course
from autograder.examples import student_notebook

NOTEBOOK = "04_activation_functions"
FULL = 10.0
FIRST_POINTS = 2.0  # nb04_test_sigmoid
CANARY = Path("/tmp/week14-hostile-canary")

HONEST_SIGMOID = "def sigmoid(x):\n    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, float)))\n"


def answer_attack(code: str, *, then_honest: bool = True):
    """A submission whose sigmoid answer is ``code`` (followed by an honest sigmoid)."""
    def build(nb: dict) -> dict:
        cell = next(c for c in nb["cells"] if grade_id(c) == "nb04_sigmoid")
        cell["source"] = code + ("\n" + HONEST_SIGMOID if then_honest else "")
        return nb
    return build


def grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def edit_test(nb: dict) -> dict:
    cell = next(c for c in nb["cells"] if grade_id(c) == "nb04_test_sigmoid")
    cell["source"] = "pass  # trust me"
    return nb


def delete_test(nb: dict) -> dict:
    nb["cells"] = [c for c in nb["cells"] if grade_id(c) != "nb04_test_sigmoid"]
    return nb


def extra_cell(nb: dict) -> dict:
    """A cell the student added that patches the checks before the tests run."""
    nb["cells"].insert(0, {"cell_type": "code", "metadata": {}, "outputs": [],
                           "execution_count": None,
                           "source": "from week14 import grading\n"
                                     "grading.check_function = lambda *a, **k: None"})
    return answer_attack("def sigmoid(x):\n    return 0 * x\n", then_honest=False)(nb)


# name -> (how the notebook is made, a word the flags must contain, max score)
ATTACKS = {
    "patch-numpy-testing": (answer_attack(
        "import numpy.testing as npt\nnpt.assert_allclose = lambda *a, **k: None"),
        "changes npt.assert_allclose", FULL - FIRST_POINTS),
    "patch-grading": (answer_attack(
        "from week14 import grading\ngrading.check_function = lambda *a, **k: None"),
        "imports week14.grading", FULL - FIRST_POINTS),
    "patch-builtins": (answer_attack("__builtins__.abs = lambda x: 0"),
                       "uses __builtins__", FULL - FIRST_POINTS),
    "lying-eq": (answer_attack(
        "class Yes:\n    def __eq__(self, other):\n        return True\n\n"
        "def sigmoid(x):\n    return Yes()\n", then_honest=False), "defines __eq__",
        FULL - FIRST_POINTS),
    "calls-reference": (answer_attack(
        "def sigmoid(x):\n    return activations.sigmoid(x)\n", then_honest=False),
        "calls the reference", FULL - FIRST_POINTS),
    "edited-test": (edit_test, "edited and restored", FULL),
    "deleted-test": (delete_test, "deleted and restored", FULL),
    "added-cell": (extra_cell, None, FULL - FIRST_POINTS),
    "sigint-proof-loop": (answer_attack(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
        "imports signal", FULL - FIRST_POINTS),
    "endless-loop": (answer_attack("while True:\n    pass"), "timed out", FULL - FIRST_POINTS),
    "os-exit": (answer_attack("import os\nos._exit(0)"), "imports os", FULL - FIRST_POINTS),
    "exit": (answer_attack("exit()"), "uses exit", FULL - FIRST_POINTS),
    "big-allocation": (answer_attack("waste = np.ones(2**28)  # 2 GiB"), "memory",
                       FULL - FIRST_POINTS),
    "delete-gradebook": (answer_attack(
        "import pathlib\nfor p in pathlib.Path('/').rglob('gradebook.db'):\n    p.unlink()"),
        "imports pathlib", FULL - FIRST_POINTS),
    "read-hidden-tests": (answer_attack(
        f"print(open({str(SOURCE_DIR / ASSIGNMENT / (NOTEBOOK + '.ipynb'))!r}).read())"),
        "uses open", FULL - FIRST_POINTS),
    "read-tests-from-history": (answer_attack(
        "def sigmoid(x):\n    print(get_ipython().user_ns['In'])\n    return x",
        then_honest=False),
        "uses get_ipython", FULL - FIRST_POINTS),
    "write-outside": (answer_attack(f"open({str(CANARY)!r}, 'w').write('pwned')"),
                      "uses open", FULL - FIRST_POINTS),
    "dunder-escape": (answer_attack(
        "g = (lambda: 0).__globals__\ng['grading'] = None"),
        "uses the attribute __globals__", FULL - FIRST_POINTS),
}


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path).encode() + path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    incoming = root / "incoming"
    perfect = json.loads(student_notebook(f"{NOTEBOOK}.ipynb", "perfect"))
    for student, (build, _, _) in ATTACKS.items():
        (incoming / student).mkdir(parents=True)
        nb = build(json.loads(json.dumps(perfect)))
        (incoming / student / f"{NOTEBOOK}.ipynb").write_text(json.dumps(nb))
    for kind in ("perfect", "partly"):
        (incoming / kind).mkdir()
        (incoming / kind / f"{NOTEBOOK}.ipynb").write_text(
            student_notebook(f"{NOTEBOOK}.ipynb", kind))
    (incoming / "invalid-json").mkdir()
    (incoming / "invalid-json" / f"{NOTEBOOK}.ipynb").write_text('{"cells": [')
    (incoming / "renamed").mkdir()
    (incoming / "renamed" / "activation functions.ipynb").write_text(json.dumps(perfect))

    course = Course(root / "course", limits=Limits(cell=10, notebook=120))
    report = collect(incoming, course.root / "submitted", {NOTEBOOK})
    canary = course.root / "canary.txt"
    canary.write_text("untouched")
    CANARY.unlink(missing_ok=True)
    solutions = tree_digest(SOURCE_DIR)
    todo = [(s, NOTEBOOK) for s in course.students()]
    first = {r.student: r for r in course.grade(todo, jobs=2)}
    second = {r.student: r for r in course.grade(todo, jobs=2)}
    yield {"course": course, "first": first, "second": second, "report": report,
           "solutions_before": solutions, "canary": canary}
    shutil.rmtree(root, ignore_errors=True)


def total(result) -> float:
    return sum(score for score, _ in result.scores.values())


def test_honest_students_keep_exactly_their_scores(hostile_class):
    first = hostile_class["first"]
    assert total(first["perfect"]) == FULL and first["perfect"].flags == []
    assert total(first["partly"]) == FULL - FIRST_POINTS and first["partly"].flags == []


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_attack_scores_at_most_its_honest_parts_and_is_flagged(hostile_class, student):
    _, flag, ceiling = ATTACKS[student]
    result = hostile_class["first"][student]
    assert total(result) <= ceiling, f"{student} scored {total(result)}: {result.scores}"
    if flag is not None:
        assert any(flag in f for f in result.flags), f"{student} flags: {result.flags}"


def test_cells_a_student_adds_are_not_run(hostile_class):
    """The added cell disabled the checks; it never ran, so the wrong answer fails."""
    result = hostile_class["first"]["added-cell"]
    assert result.scores["nb04_test_sigmoid"][0] == 0
    assert total(result) == FULL - FIRST_POINTS


def test_broken_and_misnamed_notebooks(hostile_class):
    first = hostile_class["first"]
    assert total(first["invalid-json"]) == 0
    assert any("not a valid notebook" in f for f in first["invalid-json"].flags)
    skipped = dict(hostile_class["report"].skipped)
    assert "renamed/activation functions.ipynb" in skipped
    assert "renamed" not in first  # nothing placed for them: the instructor is told why


def test_nothing_outside_the_grader_changed(hostile_class):
    course = hostile_class["course"]
    assert tree_digest(SOURCE_DIR) == hostile_class["solutions_before"]
    assert hostile_class["canary"].read_text() == "untouched"
    assert not CANARY.exists()
    with course.gradebook() as gb:
        students = {s.student_id for s in gb.assignment_submissions(ASSIGNMENT)}
    assert students == set(hostile_class["first"])


def test_grading_twice_gives_identical_scores(hostile_class):
    first, second = hostile_class["first"], hostile_class["second"]
    assert {s: r.scores for s, r in first.items()} == {s: r.scores for s, r in second.items()}
