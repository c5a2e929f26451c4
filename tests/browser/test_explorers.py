"""Every student notebook in a real JupyterLab: run all its cells, then move a control
of every explorer and see its picture or numbers change (issue 9).

Screenshots of each explorer, before and after the move, are saved under
``artifacts/browser/<notebook>/``.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from lab_page import check_explorer, explore_cells, notebook_cells, open_notebook, run_all_cells
from lab_paths import NOTEBOOK_DIR

from autograder.release import source_notebooks

NOTEBOOKS = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))


def test_every_source_notebook_is_released_and_tested():
    """The notebooks tested below are exactly the release of solutions/week14."""
    sources = {p.name for p in source_notebooks()}
    assert set(NOTEBOOKS) == sources, (
        f"{NOTEBOOK_DIR} holds {sorted(NOTEBOOKS)} but solutions/ has {sorted(sources)}: "
        "run `make release`")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_explorer_renders_and_responds(name, lab, page, artifacts):
    cells = notebook_cells(NOTEBOOK_DIR / name)
    stem = Path(name).stem
    screenshots = artifacts / stem
    screenshots.mkdir()
    times = [time.perf_counter()]
    open_notebook(page, lab.lab_url(f"week14/{name}", workspace=stem), len(cells))
    times.append(time.perf_counter())
    run_all_cells(page, cells)
    times.append(time.perf_counter())
    checks = [check_explorer(page, i, screenshots) for i in explore_cells(cells)]
    times.append(time.perf_counter())
    load, execute, exercise = (b - a for a, b in itertools.pairwise(times))
    print(f"\n{name}: load {load:.0f} s, run all {execute:.0f} s, explorers {exercise:.0f} s")
    print("\n".join(map(str, checks)) or "no explorer")
    broken = [str(c) for c in checks if not c.ok]
    assert not broken, f"{name}: broken explorers:\n" + "\n".join(broken)
