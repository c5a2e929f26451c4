"""What of a submission is graded, and which cells run in which process.

Only the student's *answer cells* (nbgrader solution cells: code, and the written
answers graded by hand) are taken from a submission. Everything else comes from the
instructor's source notebook (whose written answers hold the model answer and the
rubric, which never reach a graded notebook or feedback): the teaching
cells, the helpers, and the test cells with their hidden tests. Cells a student added,
and changes to other cells, are not run (edited or deleted test cells are flagged).

Grading runs two kernels (:mod:`autograder.execute`): the student's, in the sandbox,
runs the answer cells and the teaching cells they need; the checker, trusted, runs the
test cells and the teaching cells *they* need, with the answers' names bound to
:class:`week14.remote.Remote` proxies. "Need" is read from the code: a teaching cell
runs in a kernel when it binds a name that a later cell running there uses
(:func:`needed_cells`). Explorers, plots and demos that no answer or test reads run
nowhere.

Answers are not judged by their text: the only rules that stop an answer from running
are a size limit and what would break nbgrader's own tools (the hidden-test markers).
The rest is advice for the instructor, recorded as flags: syntax errors, answers too
deeply nested for the grader to read, imports of modules beyond NumPy, math and the
standard library's tools for writing code (:data:`EXPECTED_MODULES`).
"""

from __future__ import annotations

import ast
import copy
import json
import symtable
from dataclasses import dataclass, field

from nbformat import NotebookNode
from nbgrader.utils import is_grade, is_solution

#: Longest answer cell that is run, in characters (the longest solution is ~900).
MAX_ANSWER = 20_000
#: Modules an answer may be expected to import (NumPy, math and the standard library's
#: tools for writing code); others (os, sys, importlib, ctypes, gc, pickle, ...) are
#: flagged for the instructor, never refused.
EXPECTED_MODULES = frozenset({
    "numpy", "math", "cmath", "week14", "__future__", "abc", "collections", "copy",
    "dataclasses", "decimal", "enum", "fractions", "functools", "itertools", "numbers",
    "operator", "statistics", "typing",
})
#: nbgrader's hidden-test markers; in an answer they would make its feedback fail.
_MARKER = "HIDDEN TESTS"


def is_test(cell: NotebookNode) -> bool:
    """A test cell: a graded code cell that is not an answer."""
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def _is_answer(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and is_solution(cell)


def _is_written(cell: NotebookNode) -> bool:
    """A written answer: a markdown solution cell, graded by hand."""
    return cell.cell_type == "markdown" and is_solution(cell)


def grade_id(cell: dict) -> str | None:
    """The cell's nbgrader grade id, or None. Reads any JSON: a submission's cells are
    the student's, of whatever shape (nbgrader.utils expects nbformat's)."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    gid = nbg.get("grade_id") if isinstance(nbg, dict) else None
    return str(gid) if gid is not None else None


def _text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(str(s) for s in src) if isinstance(src, list) else str(src)


def parse(source: str) -> ast.Module | None:
    """The code's syntax tree, or None when it cannot be read (a syntax error, or
    nesting too deep for the parser)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def bound_names(tree: ast.Module | None) -> set[str]:
    """Names a cell binds at its top level (imports, assignments, defs, classes)."""
    names: set[str] = set()
    for node in tree.body if tree else []:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        else:
            names |= {n.id for n in ast.walk(node)
                      if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


def used_names(source: str) -> set[str]:
    """The global names a cell reads: at its top level, and inside its functions and
    classes those that are not their own (they read the notebook's globals)."""
    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    found: set[str] = set()
    scopes = [table]
    while scopes:
        scope = scopes.pop()
        found |= {s.get_name() for s in scope.get_symbols() if s.is_referenced()
                  and (scope.get_type() == "module" or s.is_global())}
        scopes += scope.get_children()
    return found


def needed_cells(sources: list[str], targets: set[int], skip: set[int]) -> set[int]:
    """The ``targets`` and every other cell (not in ``skip``) that binds a name a later
    chosen cell uses: the cells to run so that the targets find their names."""
    chosen, needed = set(), set()
    for index in reversed(range(len(sources))):
        if index in targets or (index not in skip
                                and bound_names(parse(sources[index])) & needed):
            chosen.add(index)
            needed |= used_names(sources[index])
    return chosen


@dataclass
class Prepared:
    """The notebook to grade and where each of its cells runs."""

    notebook: NotebookNode | None
    flags: list[str] = field(default_factory=list)
    student_cells: set[int] = field(default_factory=set)
    checker_cells: set[int] = field(default_factory=set)
    #: answer cell index -> the names its exercise defines (bound in the checker)
    answer_names: dict[int, list[str]] = field(default_factory=dict)


def _answers(submitted_text: str) -> tuple[dict[str, str], dict[str, str]]:
    """(answer sources, test sources) by grade id; ValueError if not a notebook. Read
    as plain JSON, not with nbformat: a submission may be any JSON at all."""
    try:
        cells = json.loads(submitted_text)["cells"]
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        raise ValueError(type(err).__name__) from None
    if not isinstance(cells, list):
        raise ValueError("cells is not a list")
    answers, tests = {}, {}
    for cell in cells:
        gid = grade_id(cell)
        if gid is None or not isinstance(cell, dict) or cell.get("cell_type") not in (
                "code", "markdown"):
            continue
        nbg = cell["metadata"]["nbgrader"]
        if nbg.get("solution"):
            answers[gid] = _text(cell)
        elif nbg.get("grade"):
            tests[gid] = _text(cell)
    return answers, tests


def _advice(gid: str, tree: ast.Module | None) -> list[str]:
    if tree is None:
        return [f"answer {gid} could not be read as Python (a syntax error, or nesting too "
                "deep); it was run as it is"]
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add("." * node.level + (node.module or "").split(".")[0])
    unexpected = sorted(modules - EXPECTED_MODULES)
    if unexpected:
        return [f"answer {gid} imports {', '.join(unexpected)} (NumPy and math are "
                "expected); graded as usual"]
    return []


def prepare(submitted_text: str, source: NotebookNode, release: NotebookNode,
            name: str) -> Prepared:
    """Build the notebook to grade: ``source`` (the instructor's notebook, hidden tests
    included) with its answer cells replaced by the submission's (the ``release``'s
    stub where the submission has none), and plan where each cell runs."""
    try:
        answers, tests = _answers(submitted_text)
    except ValueError as err:
        return Prepared(None, [f"{name}: not a valid notebook ({err}); scored 0"])
    stubs = {grade_id(c): c.source for c in release.cells if _is_answer(c) or _is_written(c)}
    released_tests = {grade_id(c): c.source for c in release.cells if is_test(c)}
    graded = copy.deepcopy(source)
    flags: list[str] = []
    sources: list[str] = []
    answer_cells, test_cells, prepared = set(), set(), Prepared(graded)
    for index, cell in enumerate(graded.cells):
        if _is_written(cell):  # the student's text, never the source's model answer
            cell.source = answers.get(grade_id(cell), stubs.get(grade_id(cell), ""))[
                :MAX_ANSWER].replace(_MARKER, "HIDDEN-TESTS")
        if cell.cell_type != "code":
            sources.append("")
            continue
        cell.outputs, cell.execution_count = [], None
        gid = grade_id(cell)
        if _is_answer(cell):
            answer_cells.add(index)
            prepared.answer_names[index] = sorted(bound_names(parse(cell.source)))
            answer = answers.get(gid, stubs.get(gid, ""))
            if len(answer) > MAX_ANSWER:
                flags.append(f"{name}: answer {gid} is {len(answer):,} characters, over the "
                             f"{MAX_ANSWER:,} allowed; it was not run (scored 0)")
                answer = stubs.get(gid, "")
            answer = answer.replace(_MARKER, "HIDDEN-TESTS")
            cell.source = answer
            if gid in answers:
                flags += [f"{name}: {advice}" for advice in _advice(gid, parse(answer))]
            sources.append(answer)
            continue
        if is_test(cell):
            test_cells.add(index)
            if gid not in tests:
                flags.append(f"{name}: test cell {gid} was deleted; the original was run")
            elif tests[gid].strip() != released_tests.get(gid, "").strip():
                flags.append(f"{name}: test cell {gid} was edited; the original was run")
        sources.append(cell.source)
    prepared.flags = flags
    prepared.student_cells = needed_cells(sources, answer_cells, test_cells)
    prepared.checker_cells = needed_cells(sources, test_cells, answer_cells)
    return prepared
