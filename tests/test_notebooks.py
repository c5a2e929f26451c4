"""The notebooks as nbgrader sees them: sources, the student release, autograding.

One session-scoped course autogrades three example students (see
``autograder.examples``): ``perfect`` must get full marks, ``untouched`` zero on
every test cell, and ``partly`` (first answer of each notebook wrong) must lose
exactly the points of the test cells that grade that answer.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from pathlib import Path

import pytest

from autograder.config import ASSIGNMENT, RELEASE_DIR, SOURCE_DIR
from autograder.release import release, source_notebooks, structural_problems, validate

SOURCES = source_notebooks()
NAMES = [p.name for p in SOURCES]
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def nbgrader_meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def first_answer_tests(path: Path) -> set[str]:
    """grade_ids of the test cells between the first answer cell and the next one."""
    ids, inside = set(), False
    for cell in cells(path):
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            if inside:
                break
            inside = True
        elif inside and meta.get("grade"):
            ids.add(meta["grade_id"])
    return ids


@pytest.mark.parametrize("name", NAMES)
def test_source_is_committed_clean(name):
    assert structural_problems(SOURCE_DIR / ASSIGNMENT / name) == []


def hidden_check_calls(source: str) -> list[ast.Call]:
    """The grading.check_* calls inside a cell's hidden-test regions."""
    calls = []
    for region in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", source,
                             re.DOTALL):
        for node in ast.walk(ast.parse(textwrap.dedent(region))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr.startswith("check_")):
                calls.append(node)
    return calls


@pytest.mark.parametrize("name", NAMES)
def test_hidden_tests_hide_their_values(name):
    """Hidden checks pass hidden=True, so failure messages show no inputs or answers."""
    calls = [call for cell in cells(SOURCE_DIR / ASSIGNMENT / name)
             for call in hidden_check_calls(text(cell))]
    assert calls, f"{name} has no hidden checks"
    loud = [ast.unparse(c)[:80] for c in calls
            if not any(k.arg == "hidden" and getattr(k.value, "value", None) is True
                       for k in c.keywords)]
    assert not loud, f"hidden checks without hidden=True in {name}: {loud}"


@pytest.mark.parametrize("name", NAMES)
def test_run_all_goes_past_unfinished_exercises(name):
    """Answer and test cells are tagged raises-exception: in a fresh student notebook
    they raise, and JupyterLab's Run All must still reach the explorers below them."""
    untagged = [nbgrader_meta(c)["grade_id"] for c in cells(SOURCE_DIR / ASSIGNMENT / name)
                if (nbgrader_meta(c).get("grade") or nbgrader_meta(c).get("solution"))
                and "raises-exception" not in c["metadata"].get("tags", [])]
    assert not untagged, f"cells without the raises-exception tag in {name}: {untagged}"


@pytest.mark.parametrize("name", NAMES)
def test_source_passes_nbgraders_validator(name):
    assert validate(SOURCE_DIR / ASSIGNMENT / name) == []


def test_release_is_what_make_release_produces(tmp_path):
    released = release(check=False, release_dir=tmp_path)
    committed = sorted((RELEASE_DIR / ASSIGNMENT).glob("*.ipynb"))
    assert [p.name for p in released] == [p.name for p in committed], (
        "notebooks/ and solutions/ list different notebooks: run `make release`")
    for new, old in zip(released, committed, strict=True):
        assert new.read_text() == old.read_text(), f"{old} is stale: run `make release`"


@pytest.mark.parametrize("name", NAMES)
def test_release_has_no_solutions_or_hidden_tests(name):
    released = RELEASE_DIR / ASSIGNMENT / name
    body = released.read_text()
    for marker in MARKERS:
        assert marker not in body, f"{released} contains {marker!r}"
    answers = [c for c in cells(released) if nbgrader_meta(c).get("solution")]
    assert answers, f"{released} has no graded exercise"
    for cell in answers:
        assert "raise NotImplementedError()" in text(cell), (
            f"answer cell {nbgrader_meta(cell)['grade_id']} of {name} does not raise "
            "NotImplementedError")


@pytest.fixture(scope="session")
def graded(graded_course) -> dict:
    """Scores per (student, notebook): {test grade_id: [score, max]}."""
    return {(student, notebook): result.scores
            for student, notebooks in graded_course.graded().items()
            for notebook, result in notebooks.items()}


@pytest.mark.parametrize("name", NAMES)
def test_solutions_get_full_marks(graded, name):
    tests = graded[("perfect", Path(name).stem)]
    lost = {t: s for t, s in tests.items() if s[0] != s[1]}
    assert tests and not lost, f"the instructor's solutions lose points in {name}: {lost}"


@pytest.mark.parametrize("name", NAMES)
def test_untouched_release_scores_zero(graded, name):
    tests = graded[("untouched", Path(name).stem)]
    scored = {t: s for t, s in tests.items() if s[0] != 0}
    assert not scored, f"an untouched {name} earns points: {scored}"


@pytest.mark.parametrize("name", NAMES)
def test_one_wrong_answer_loses_exactly_its_points(graded, graded_course, name):
    tests = graded[("partly", Path(name).stem)]
    failed = {t for t, (score, top) in tests.items() if score != top}
    expected = first_answer_tests(SOURCE_DIR / ASSIGNMENT / name)
    assert failed == expected
    feedback = (graded_course.feedback_dir("partly") / name).with_suffix(".html").read_text()
    assert "did you forget to" in feedback, f"feedback for {name} does not name the problem"
