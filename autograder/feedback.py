"""Feedback that helps without giving the hidden tests away.

nbgrader's ``ClearHiddenTests`` removes the hidden tests' *source* from feedback, but
not what those tests printed. :class:`HideHiddenTestOutput` runs before it: for a test
cell that holds hidden tests it keeps only the error's name and message (our checks
word hidden failures without inputs or expected values: ``week14.grading``'s
``hidden=True``) and drops everything else the cell printed.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor

HIDDEN_MARKER = "BEGIN HIDDEN TESTS"


def hidden_message(ename: str, evalue: str) -> str:
    """What feedback shows of an error in a test cell with hidden tests: our checks'
    messages (``CheckFailed``, worded without hidden values); of the student's own
    exception only ``LABEL raised TYPE``; of anything else only that it happened. A
    message that comes from the student's process could carry a hidden input."""
    if ename == "CheckFailed":
        return evalue
    if ename == "StudentError":
        return evalue.split(":", 1)[0] + " on a hidden case"
    return "on a hidden case (details of hidden tests are not shown)"


class HideHiddenTestOutput(NbGraderPreprocessor):
    """Reduce a hidden-test cell's outputs to its error's name and a message that
    cannot show hidden inputs (:func:`hidden_message`)."""

    max_message = 1000

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int):
        if cell.cell_type == "code" and HIDDEN_MARKER in cell.source:
            errors = [out for out in cell.get("outputs", []) if out.output_type == "error"]
            cell.outputs = []
            for err in errors[-1:]:
                message = hidden_message(err.ename, err.evalue or "")[: self.max_message]
                cell.outputs.append(new_output("error", ename=err.ename, evalue=message,
                                               traceback=[f"{err.ename}: {message}"]))
        return cell, resources
