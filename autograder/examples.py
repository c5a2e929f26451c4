"""Example submissions made from the source notebooks, for the demo and the tests.

Each is what a student would hand in: the released notebook with its answer cells
filled in. They are generated, never committed, so they always match the current
notebooks:

- ``perfect``: every answer is the instructor's solution;
- ``untouched``: the release as handed out (every answer still raises
  ``NotImplementedError``);
- ``partly``: like ``perfect`` but the first answer of every notebook returns
  ``None`` (a forgotten ``return``);
- ``broken``: every notebook truncated, as a failed upload leaves it (invalid JSON).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbgrader.utils import is_solution

from autograder.config import ASSIGNMENT, RELEASE_DIR, SOURCE_DIR

EXAMPLES = ("perfect", "untouched", "partly", "broken")
_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION[ \t]*\n?",
                     re.MULTILINE | re.DOTALL)


def filled_answer(source: str, *, wrong_first: bool = False) -> str:
    """The answer cell a student would write: the solution without its markers.

    With ``wrong_first``, the first solution region becomes ``return None`` inside a
    function (``pass`` at top level), the smallest runnable wrong answer.
    """
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        count += 1
        indent, body = match.group(1), match.group(2)
        if wrong_first and count == 1:
            return f"{indent}{'return None' if indent else 'pass'}\n"
        return body

    return _REGION.sub(replace, source)


def student_notebook(name: str, kind: str) -> str:
    """The JSON text of notebook ``name`` as submitted by example student ``kind``."""
    release = nbformat.read(RELEASE_DIR / ASSIGNMENT / name, as_version=4)
    if kind == "untouched":
        return nbformat.writes(release)
    if kind == "broken":
        text = nbformat.writes(release)
        return text[: len(text) // 2]
    if kind not in ("perfect", "partly"):
        raise ValueError(f"unknown example submission {kind!r}; choose one of {EXAMPLES}")
    source = nbformat.read(SOURCE_DIR / ASSIGNMENT / name, as_version=4)
    answers = {c.metadata.nbgrader.grade_id: c.source for c in source.cells if is_solution(c)}
    first = True
    for cell in release.cells:
        if is_solution(cell):
            cell.source = filled_answer(answers[cell.metadata.nbgrader.grade_id],
                                        wrong_first=kind == "partly" and first)
            first = False
    return nbformat.writes(release)


def write_examples(dest: Path, kinds: tuple[str, ...] = EXAMPLES) -> list[Path]:
    """Write ``dest/KIND/NOTEBOOK.ipynb`` for every example kind; returns the folders."""
    names = [p.name for p in sorted((RELEASE_DIR / ASSIGNMENT).glob("*.ipynb"))]
    folders = []
    for kind in kinds:
        folder = dest / kind
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            (folder / name).write_text(student_notebook(name, kind))
        folders.append(folder)
    return folders
