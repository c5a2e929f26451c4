"""What of a submission is graded, and what an answer may do.

Only the student's *answer cells* (nbgrader solution cells) are taken from a
submission. Everything else comes from the release the instructor handed out: the
teaching cells, the test cells (nbgrader then restores their hidden parts), the setup
cells; cells a student added are not run. So the student's code is exactly the
answer cells, and those are checked here, in the grader's own process, before
anything runs:

- an answer may import only harmless modules (:data:`ALLOWED_MODULES`);
- it may not reach for the interpreter's machinery (``eval``, ``exec``, ``open``,
  ``getattr``/``setattr``, ``globals``, ``get_ipython``, ``exit``, ...) nor any
  double-underscore attribute (``__globals__``, ``__class__``, ...);
- it may not assign to an attribute of anything but ``self`` (``np.testing.x = ...``,
  ``grading.check_function = ...``), declare ``global`` names, or rebind a name the
  notebook's own cells define (``np``, ``grading``, ...);
- a class in an answer may not define comparison or conversion methods
  (``__eq__``, ``__array__``, ``__float__``, ...): results are compared as numbers.

An answer that breaks a rule is replaced by the release's stub (it raises
``NotImplementedError``), so that exercise scores 0, every other answer is graded
as usual, and the attempt is flagged for the instructor.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field

ALLOWED_MODULES = frozenset({
    "numpy", "math", "cmath", "itertools", "functools", "collections", "dataclasses",
    "typing", "numbers", "statistics", "fractions", "decimal", "operator", "copy",
    "random", "week14",
})
FORBIDDEN_MODULES = frozenset({"week14.grading"})
FORBIDDEN_NAMES = frozenset({
    "__import__", "eval", "exec", "compile", "open", "globals", "locals", "vars",
    "getattr", "setattr", "delattr", "breakpoint", "input", "exit", "quit",
    "get_ipython", "__builtins__", "__builtin__", "In", "Out", "_ih", "_oh", "_dh",
    "display", "memoryview",
})
ALLOWED_DUNDERS = frozenset({
    "__init__", "__repr__", "__str__", "__call__", "__len__", "__iter__", "__getitem__",
    "__name__", "__doc__",
})


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _meta(cell: dict) -> dict:
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    nbg = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return nbg if isinstance(nbg, dict) else {}


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names a module binds at its top level (imports, assignments, defs, classes)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def _module_allowed(name: str) -> bool:
    if name in FORBIDDEN_MODULES or any(name.startswith(m + ".") for m in FORBIDDEN_MODULES):
        return False
    return name.split(".")[0] in ALLOWED_MODULES


def answer_problems(source: str, *, notebook_names: set[str],
                    own_names: set[str]) -> list[str]:
    """Rules an answer breaks (empty if none). ``notebook_names``: names the notebook's
    own cells define; ``own_names``: names the answer's stub defines (allowed)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # it fails when run, like any other mistake of the student's
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            problems += [f"imports {a.name}" for a in node.names if not _module_allowed(a.name)]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or not _module_allowed(module):
                problems.append(f"imports from {'.' * node.level}{module}")
            elif module == "week14":
                problems += [f"imports week14.{a.name}" for a in node.names
                             if not _module_allowed(f"week14.{a.name}")]
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            problems.append(f"uses {node.id}")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("__") and node.attr not in ALLOWED_DUNDERS:
                problems.append(f"uses the attribute {node.attr}")
            if isinstance(node.ctx, ast.Store | ast.Del) and not (
                    isinstance(node.value, ast.Name) and node.value.id == "self"):
                problems.append(f"changes {ast.unparse(node)}")
        elif isinstance(node, ast.Global):
            problems.append(f"declares global {', '.join(node.names)}")
        elif isinstance(node, ast.ClassDef):
            problems += [f"defines {item.name} in class {node.name}" for item in node.body
                         if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                         and item.name.startswith("__") and item.name not in ALLOWED_DUNDERS]
    rebound = sorted((_top_level_names(tree) - own_names) & notebook_names)
    problems += [f"rebinds {name}, which the notebook defines" for name in rebound]
    return list(dict.fromkeys(problems))


@dataclass
class Prepared:
    """The notebook to grade, built from the release and the student's answers."""

    notebook: dict | None
    flags: list[str] = field(default_factory=list)


def _notebook_names(release: dict) -> set[str]:
    """Names bound by the release's teaching and setup cells, and imported anywhere."""
    names: set[str] = set()
    for cell in release["cells"]:
        if cell.get("cell_type") != "code" or _meta(cell).get("solution"):
            continue
        try:
            tree = ast.parse(_source(cell))
        except SyntaxError:
            continue
        if _meta(cell).get("grade"):
            names |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
                      if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
        else:
            names |= _top_level_names(tree)
    return names


def prepare(submitted_text: str, release: dict, name: str) -> Prepared:
    """Build the notebook to grade from a submission's text and the release notebook.

    ``name`` is the notebook's name, used in flags. Returns ``notebook=None`` when the
    submission is not a readable notebook.
    """
    try:
        submitted = json.loads(submitted_text)
        cells = submitted["cells"]
        if not isinstance(cells, list):
            raise TypeError("cells is not a list")
    except (ValueError, KeyError, TypeError) as err:
        return Prepared(None, [f"{name}: not a valid notebook ({type(err).__name__}); "
                               "scored 0"])
    answers, tests = {}, {}
    for cell in cells:
        meta = _meta(cell)
        if meta.get("grade_id") is None or cell.get("cell_type") != "code":
            continue
        if meta.get("solution"):
            answers[str(meta["grade_id"])] = _source(cell)
        elif meta.get("grade"):
            tests[str(meta["grade_id"])] = _source(cell)

    flags: list[str] = []
    notebook_names = _notebook_names(release)
    graded = json.loads(json.dumps(release))
    deleted, edited = [], []
    for cell in graded["cells"]:
        meta = _meta(cell)
        gid = meta.get("grade_id")
        if meta.get("solution") and gid in answers:
            stub = _source(cell)
            try:
                own = _top_level_names(ast.parse(stub))
            except SyntaxError:
                own = set()
            problems = answer_problems(answers[gid], notebook_names=notebook_names,
                                       own_names=own)
            if problems:
                flags.append(f"{name}: answer {gid} was not run, it {'; '.join(problems)} "
                             "(not allowed in answers); scored 0")
            else:
                cell["source"] = answers[gid]
        elif meta.get("grade") and not meta.get("solution"):
            if gid not in tests:
                deleted.append(gid)
            elif tests[gid].strip() != _source(cell).strip():
                edited.append(gid)
    if deleted:
        flags.append(f"{name}: test cell(s) deleted and restored: {', '.join(deleted)}")
    if edited:
        flags.append(f"{name}: test cell(s) edited and restored: {', '.join(edited)}")
    return Prepared(graded, flags)
