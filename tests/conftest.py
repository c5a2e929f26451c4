"""Shared fixtures: one course graded once per test session (grading is the slow part)."""

from __future__ import annotations

import shutil

import pytest

from autograder.__main__ import main
from autograder.examples import write_examples


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """A course where the four example students (perfect, untouched, partly, broken)
    were collected, graded, given feedback and exported through the command line."""
    from autograder.course import Course

    root = tmp_path_factory.mktemp("graded")
    examples = root / "examples"
    write_examples(examples)
    course = root / "course"
    for command in (["collect", str(examples)], ["grade"], ["feedback"], ["export"]):
        assert main([*command, "--course", str(course), "--quiet"]) == 0, command
    yield Course(course)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def figures(monkeypatch):
    """Capture the figures explorers show (instead of displaying them)."""
    import matplotlib.pyplot as plt

    from week14.widgets._base import Explorer

    shown: list = []
    monkeypatch.setattr(Explorer, "show_figure", staticmethod(shown.append))
    yield shown
    for fig in shown:
        plt.close(fig)
