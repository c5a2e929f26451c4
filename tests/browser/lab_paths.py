"""Where the browser tests find the notebooks, the fixtures and the lab configuration,
and where they leave screenshots."""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
#: The student notebooks under test: the release, or ``$BROWSER_TEST_NOTEBOOKS`` (a
#: folder of notebooks) to try a private release while developing.
NOTEBOOK_DIR = Path(os.environ.get("BROWSER_TEST_NOTEBOOKS", REPO / "notebooks" / "week14"))
FIXTURES = HERE / "fixtures"
STUDENT_CONFIG = REPO / "lab" / "student"
INSTRUCTOR_CONFIG = REPO / "lab" / "instructor"
ARTIFACTS = REPO / "artifacts" / "browser"
