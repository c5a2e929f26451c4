"""The code's shape: modules keep to their own private names, stay readable in size, and
notebook test cells stay a few lines (the grading logic lives in the library)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import is_grade, is_solution

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("week14", "autograder")
SOURCES = sorted(p for folder in (*PACKAGES, "tests", "benchmarks")
                 for p in (ROOT / folder).rglob("*.py"))
MAX_MODULE_LINES = 500
MAX_TEST_CELL_LINES = 15
MAX_LINE = 100  # as ruff's line-length for the library


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str) -> list[str]:
    """Where ``source`` uses another project module's underscore names: ``from m import
    _x``, or ``m._x`` for a project module ``m`` it imported. Importing a public name from
    a private module (``from week14._validation import check_int``) is the intended way to
    share code inside the package, and is allowed."""
    tree = ast.parse(source)
    modules: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.asname or alias.name.split(".")[0] for alias in node.names
                        if alias.name.split(".")[0] in PACKAGES}
        elif isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").split(".")[0] in PACKAGES):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                modules.add(alias.asname or alias.name)
    found += [f"line {node.lineno}: {node.value.id}.{node.attr}" for node in ast.walk(tree)
              if isinstance(node, ast.Attribute) and _private(node.attr)
              and isinstance(node.value, ast.Name) and node.value.id in modules]
    return found


def test_the_private_name_check_sees_both_forms():
    source = ("from week14 import functional\nfrom week14.schedules import _improves\n"
              "import autograder.course as course\nfrom week14._validation import check_int\n"
              "functional._conv2d_forward(1)\ncourse._record()\nself._x = functional.conv2d\n")
    assert private_uses(source) == ["line 2: from week14.schedules import _improves",
                                    "line 5: functional._conv2d_forward",
                                    "line 6: course._record"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_uses_another_modules_private_names(path):
    assert private_uses(path.read_text()) == [], (
        f"{path.relative_to(ROOT)} reaches into another module's private names: make the "
        "name public (in a private module if it is internal) or add a method")


def test_library_modules_stay_readable():
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / "week14").rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}, f"split these modules (over {MAX_MODULE_LINES} lines): {long}"


def test_every_test_cell_is_a_few_short_lines():
    long, wide = {}, {}
    for path in sorted((ROOT / "solutions").rglob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if not (is_grade(cell) and not is_solution(cell) and cell.cell_type == "code"):
                continue
            gid, lines = cell.metadata.nbgrader["grade_id"], cell.source.splitlines()
            if len(lines) > MAX_TEST_CELL_LINES:
                long[gid] = len(lines)
            if max(map(len, lines), default=0) > MAX_LINE:
                wide[gid] = max(map(len, lines))
    assert long == {}, (f"test cells over {MAX_TEST_CELL_LINES} lines (move the checking "
                        f"logic into week14.grading or a library check): {long}")
    assert wide == {}, f"test cells with lines over {MAX_LINE} characters: {wide}"
