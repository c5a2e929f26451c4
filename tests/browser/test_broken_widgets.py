"""The checks of test_explorers.py catch broken explorers (fixtures/broken_widgets.ipynb):
one that ignores its control, one that raises, and one whose widget model the front
end cannot find; and pass the healthy one."""

from __future__ import annotations

from lab_page import check_explorer, explore_cells, notebook_cells, open_notebook, run_all_cells
from lab_paths import FIXTURES


def test_the_explorer_check_reports_each_broken_explorer(lab, page, artifacts):
    cells = notebook_cells(FIXTURES / "broken_widgets.ipynb")
    open_notebook(page, lab.lab_url("fixtures/broken_widgets.ipynb", workspace="broken"),
                  len(cells))
    run_all_cells(page, cells)
    screenshots = artifacts / "broken_widgets"
    screenshots.mkdir()
    counter, stuck, raising, missing = (check_explorer(page, i, screenshots)
                                        for i in explore_cells(cells))
    print("\n".join(map(str, (counter, stuck, raising, missing))))

    assert counter.ok, counter
    assert stuck.problem == "no control changed the output", stuck
    assert stuck.moves and not any(m.changed for m in stuck.moves), stuck
    assert raising.problem is not None and "ValueError" in raising.problem, raising
    assert "cannot draw n = 2" in raising.problem, raising
    assert missing.problem is not None and missing.problem.startswith("no widget panel"), missing
    assert "model not found" in missing.problem, missing
