"""The notebooks as nbgrader sees them: sources, the student release, autograding.

One session-scoped course autogrades three example students (see
``autograder.examples``): ``perfect`` must get full marks, ``untouched`` zero on
every test cell, and ``partly`` (first answer of each notebook wrong) must lose
exactly the points of the test cells that grade that answer. The tests at the end run
a notebook's test cells in this process with a student's answer, as JupyterLab's
self-check does, to read the messages that answer gets.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import itertools
import linecache
import pkgutil
import re
import sys
import textwrap
import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode

import week14
from autograder.config import ASSIGNMENT, RELEASE_DIR, SOURCE_DIR
from autograder.release import release, source_notebooks, structural_problems, validate

SOURCES = source_notebooks()
NAMES = [p.name for p in SOURCES]
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def cells(path: Path) -> list[NotebookNode]:
    return nbformat.read(path, as_version=4).cells


def nbgrader_meta(cell: NotebookNode) -> dict:
    return cell.metadata.get("nbgrader", {})


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


def _builders() -> dict[str, tuple[str, ...]]:
    """The library's seeded case builders (declared with week14.cases.builds), by name."""
    modules = [importlib.import_module(f"week14.{info.name}")
               for info in pkgutil.iter_modules(week14.__path__) if info.name != "lab"]
    found = {name: value.labels for module in modules for name, value in vars(module).items()
             if callable(value) and isinstance(getattr(value, "labels", None), tuple)}
    assert "elementwise_cases" in found, "week14.cases.elementwise_cases declares no labels"
    return found


BUILDERS = _builders()


def case_labels(source: str) -> tuple[set[str], set[str], list[str]]:
    """(visible labels, hidden labels, labels that are not written out) of a test cell:
    the first argument of each grading.case(...), each label=... of a check, and the
    labels a seeded builder declares (week14.cases.builds)."""
    visible, hidden, unwritten = set(), set(), []
    regions = [(m.start(), m.end()) for m in re.finditer(
        r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", source, re.DOTALL)]
    offsets = [0, *itertools.accumulate(len(line) + 1 for line in source.splitlines())]
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        at = offsets[node.lineno - 1]
        inside = any(start <= at < end for start, end in regions)
        called = getattr(node.func, "attr", getattr(node.func, "id", None))
        if called in BUILDERS:  # a seeded builder: its labels are declared in the library
            (hidden if inside else visible).update(BUILDERS[called])
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr == "case" and node.args:
            found = node.args[0]
        else:
            found = next((k.value for k in node.keywords if k.arg == "label"), None)
        if found is None:
            continue
        if not (isinstance(found, ast.Constant) and isinstance(found.value, str)):
            unwritten.append(ast.unparse(node)[:60])
            continue
        (hidden if inside else visible).add(found.value)
    return visible, hidden, unwritten


@pytest.mark.parametrize("name", NAMES)
def test_every_hidden_label_has_a_visible_case(name):
    """A hidden case's label (what it exercises: "integer input", "a non-square
    kernel") is also the label of a visible case with other numbers, so the visible
    tests meet every situation the hidden ones grade. Labels are written out (a
    literal string) so that this can be read from the source."""
    for cell in cells(SOURCE_DIR / ASSIGNMENT / name):
        if not nbgrader_meta(cell).get("grade") or cell["cell_type"] != "code":
            continue
        visible, hidden, unwritten = case_labels(text(cell))
        gid = nbgrader_meta(cell)["grade_id"]
        assert not unwritten, f"{gid}: labels that are not literal strings: {unwritten}"
        assert hidden <= visible, f"{gid}: hidden labels with no visible case: " \
            f"{sorted(hidden - visible)}"


@pytest.mark.parametrize("name", NAMES)
def test_run_all_goes_past_unfinished_exercises(name):
    """Answer and test cells are tagged raises-exception: in a fresh student notebook
    they raise, and JupyterLab's Run All must still reach the explorers below them."""
    untagged = [nbgrader_meta(c)["grade_id"] for c in cells(SOURCE_DIR / ASSIGNMENT / name)
                if (nbgrader_meta(c).get("grade") or nbgrader_meta(c).get("solution"))
                and c["cell_type"] == "code"
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
        stub = ("raise NotImplementedError()" if cell["cell_type"] == "code"
                else "YOUR ANSWER HERE")  # a written answer: no model answer, no rubric
        assert stub in text(cell) and "Rubric" not in text(cell), (
            f"answer cell {nbgrader_meta(cell)['grade_id']} of {name} is not the stub")


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


# ------------------------------------------------- test cells run in this process
# As in JupyterLab's self-check: the notebook's imports (its first code cell), then its
# answer, read-only and test cells in order, with some answers replaced by a student's.

_SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION[ \t]*\n?",
                       re.MULTILINE | re.DOTALL)
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", re.DOTALL)
EDITED = ["03_gradient_descent.ipynb", "05_backpropagation.ipynb", "09_pooling.ipynb",
          "10_cnn.ipynb"]


def run_test_cells(name: str, answers: dict[str, str] | None = None, *,
                   hidden: bool = False) -> dict[str, tuple[BaseException | None, str, str]]:
    """{test cell's grade_id: (the exception it raised or None, its stdout, its stderr)}
    for notebook ``name`` of solutions/ run here, answer cells replaced by ``answers``
    (grade_id -> code) and without the hidden tests unless ``hidden``. A cell passes
    when it raised nothing and wrote nothing to stderr, as nbgrader scores it."""
    answers = answers or {}
    namespace: dict = {"__name__": "__main__"}
    results = {}
    code_cells = [c for c in cells(SOURCE_DIR / ASSIGNMENT / name) if c["cell_type"] == "code"]
    for index, cell in enumerate(code_cells):
        meta = nbgrader_meta(cell)
        if index > 0 and not meta:
            continue  # a teaching cell
        source = text(cell)
        if meta.get("solution"):
            source = answers.get(meta["grade_id"], _SOLUTION.sub(r"\1", source))
        if not hidden:
            source = _HIDDEN.sub("", source)
        filename = f"<ipykernel_{name}_{index}>"  # the student's line shows in messages
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        out, err, raised = io.StringIO(), io.StringIO(), None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                warnings.catch_warnings():
            warnings.simplefilter("default")  # printed to stderr, as in a kernel
            warnings.showwarning = _to_stderr
            try:
                exec(compile(source, filename, "exec"), namespace)  # noqa: S102
            except Exception as error:  # noqa: BLE001 - the cell's outcome
                raised = error
        if meta.get("grade"):
            results[meta["grade_id"]] = (raised, out.getvalue(), err.getvalue())
        elif raised is not None:
            raise AssertionError(f"cell {index} of {name} raised {raised!r}")
    return results


def _to_stderr(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def passed(result: tuple[BaseException | None, str, str]) -> bool:
    return result[0] is None and result[2] == ""


@pytest.mark.parametrize("name", EDITED)
def test_every_test_cell_says_what_passed(name):
    """A test cell that passes prints one line saying what passed."""
    for gid, result in run_test_cells(name, hidden=True).items():
        assert passed(result), f"{gid}: {result}"
        assert "pass" in result[1] or "match" in result[1] or "agrees" in result[1] \
            or "reached" in result[1], f"{gid} prints {result[1]!r}"


RESTORING = '''\
def centred_difference_gradient(f, x, h=1e-5):
    """Nudge x[i] up, down, and back up again: x ends about 1e-16 from where it was."""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x[i] += h
        f_plus = f(x)
        x[i] -= 2 * h
        f_minus = f(x)
        x[i] += h
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
'''


def test_restoring_x_after_nudging_it_gets_full_marks():
    results = run_test_cells("05_backpropagation.ipynb",
                             {"nb05_centred_difference_gradient": RESTORING}, hidden=True)
    assert passed(results["nb05_test_centred_difference_gradient"]), results


BACKWARD = '''\
def dense_sigmoid_backward(x, W, b, dy):
    y = activations.sigmoid(x @ W + b)
    dz = dy * y * (1.0 - y)
    dW = {dW}
    db = dz.sum(axis=0)
    dx = {dx}
    return dW, db, dx
'''


@pytest.mark.parametrize(("dW", "dx", "wrong", "says"), [
    ("x.T @ dz", "dz @ W", "dx", "this is dz·W: dx = dz·Wᵀ, with the transpose"),
    ("x @ dz", "dz @ W.T", "dW", "raised ValueError"),
])
def test_a_crash_in_one_gradient_costs_only_its_points(dW, dx, wrong, says):
    answer = BACKWARD.format(dW=dW, dx=dx)
    for hidden in (False, True):
        results = run_test_cells("05_backpropagation.ipynb",
                                 {"nb05_dense_sigmoid_backward": answer}, hidden=hidden)
        for gradient in ("dW", "db", "dx"):
            result = results[f"nb05_test_dense_sigmoid_{gradient}"]
            if gradient == wrong:
                assert not passed(result) and says in str(result[0]), result
                assert str(result[0]).startswith(f"{gradient} of dense_sigmoid_backward")
            else:
                assert passed(result), (gradient, result)
                assert f"in the line that computes {wrong}" in result[1], result


def test_average_pooling_of_integers_names_the_dtype_fix():
    answer = '''\
def avg_pool(x, size, stride=None):
    if stride is None:
        stride = size
    n, c, h, w = x.shape
    out = np.zeros((n, c, (h - size) // stride + 1, (w - size) // stride + 1), dtype=x.dtype)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            top, left = i * stride, j * stride
            out[:, :, i, j] = x[:, :, top:top + size, left:left + size].mean(axis=(2, 3))
    return out
'''
    raised, _, _ = run_test_cells("09_pooling.ipynb", {"nb09_avg_pool": answer})[
        "nb09_test_avg_pool"]
    message = str(raised)
    assert "the average of integers is not an integer" in message, message
    assert "np.zeros(shape) (float64 by default)" in message, message


CNN = '''\
def build_cnn(rng):
    gen = np.random.default_rng(rng)
    return Sequential([Conv2D(1, 16, 3, padding=1, rng=gen, dtype=np.float32), ReLU(),
                       MaxPool2D(2), Flatten(), Dense(256, 10, rng=gen, dtype=np.float32)])


def train_cnn(model, X, y):
    Trainer({model}, "cross_entropy", SGD({lr}, momentum=0.9), batch_size=32, seed=0,
            progress=False).fit(X, y, epochs={epochs})
'''


@pytest.mark.parametrize(("model", "lr", "epochs", "says"), [
    ("model", 10.0, 3, "training diverged"),
    ("model", 1e20, 1, "training diverged, its weights became NaN or infinite"),
    ("build_cnn(0)", 0.1, 1, "it must train the model it is given, in place"),
    ("model", 1e-4, 1, "try more epochs"),
])
def test_a_cnn_that_fails_to_train_is_told_why(model, lr, epochs, says):
    raised, _, _ = run_test_cells("10_cnn.ipynb", {
        "nb10_cnn": CNN.format(model=model, lr=lr, epochs=epochs)})["nb10_test_cnn"]
    assert isinstance(raised, Exception) and says in str(raised), raised
    assert ("lower the learning rate" in str(raised)) == says.startswith("training diverged")
