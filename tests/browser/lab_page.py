"""Driving a notebook in JupyterLab (Chromium, Playwright): run it, then check its widgets.

The checks are data-driven and know nothing about the individual explorers: a cell
whose source calls ``explore(`` must show a widget panel (``week14.widgets.Explorer``:
a VBox with a title, rows of controls and an ``Output``), and moving one of the
panel's controls must change what the ``Output`` shows (the plotted picture's
``img`` source or the text) without showing an error. See :func:`check_explorer`.

Selectors were measured on JupyterLab 4.6 with ipywidgets 8.1 (see
/work/shared/FACTS.md, "JupyterLab in a browser").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

CELLS = ".jp-Notebook .jp-Cell"
PROMPT = ".jp-InputPrompt"
KERNEL_IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
KERNEL_STATUS = "#jp-main-statusbar .jp-StatusBar-TextItem[title^='Change kernel']"
PANEL = ".jp-OutputArea-output .widget-vbox:has(> .widget-output)"
WIDGET_VIEW = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.widget-view+json']"
EXPLORE_CALL = re.compile(r"^[^#\n]*\bexplore\(", re.MULTILINE)

# Timeouts (milliseconds). Generous: the machine is shared and slow; they only cost
# time when something is broken.
LOAD_TIMEOUT = 240_000  # page, kernel start
RUN_TIMEOUT = 600_000  # one "run all" pass
RESPONSE_TIMEOUT = 120_000  # a widget's redraw after a control moved
SETTLE_MS = 3_000  # kernel idle this long after handling a move: the redraw is done
POLL_MS = 100  # how often a wait re-checks the page (not every frame: the CPU is shared)


def notebook_cells(path: Path) -> list[dict]:
    """The cells of an ``.ipynb`` file, each with its source as one string."""
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
    return cells


def explore_cells(cells: list[dict]) -> list[int]:
    """Indices of the code cells that call ``explore(`` (outside comments)."""
    return [i for i, cell in enumerate(cells)
            if cell["cell_type"] == "code" and EXPLORE_CALL.search(cell["source"])]


# --------------------------------------------------------------------------- running


def open_notebook(page: Page, url: str, n_cells: int) -> None:
    """Load ``url`` (a notebook in JupyterLab); wait for its cells and its kernel.

    The toolbar's execution indicator already says "idle" before the kernel exists;
    the status bar's kernel item ("Python 3 (ipykernel) | Idle") waits for it.
    """
    page.goto(url, timeout=LOAD_TIMEOUT)
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length === n",
        arg=[CELLS, n_cells], polling=POLL_MS, timeout=LOAD_TIMEOUT)
    page.wait_for_function(
        """selector => /^(?!No Kernel).+ [|] Idle$/.test(
               document.querySelector(selector)?.innerText.trim() ?? '')""",
        arg=KERNEL_STATUS, polling=POLL_MS, timeout=LOAD_TIMEOUT)


def _run_menu(page: Page, command: str) -> None:
    """Click Run > ``command`` (a JupyterLab command id) in the menu bar."""
    page.locator("li.lm-MenuBar-item", has_text=re.compile(r"^\s*Run\s*$")).click()
    page.locator(f"li.lm-Menu-item[data-command='{command}']").click()


def _wait_until_run_done(page: Page, first: int) -> None:
    """Wait until cell ``first`` (where the run started) has left ``[ ]``, no cell is
    queued or running (``[*]``) and the kernel is idle.

    JupyterLab marks every queued cell ``[*]`` as soon as a run is requested, and
    puts the cells it did not run back to ``[ ]`` when a cell fails.
    """
    page.wait_for_function(
        """([cells, prompt, idle, first]) => {
             const prompts = [...document.querySelectorAll(cells)]
               .map(c => c.querySelector(prompt)?.innerText.trim() ?? '');
             return prompts[first] !== '[ ]:' && !prompts.some(p => p.includes('*'))
               && document.querySelector(idle) !== null;
           }""",
        arg=[CELLS, PROMPT, KERNEL_IDLE, first], polling=POLL_MS, timeout=RUN_TIMEOUT)


def _prompts(page: Page) -> list[str]:
    """The execution prompt of every cell ('' for markdown), e.g. '[3]:', '[ ]:'."""
    return page.eval_on_selector_all(
        CELLS, f"cells => cells.map(c => c.querySelector({PROMPT!r})?.innerText.trim() ?? '')")


def run_all_cells(page: Page, cells: list[dict]) -> None:
    """Run > Run All Cells, as a student would, and check that every code cell ran.

    A fresh student notebook raises in every unfinished exercise; its answer and test
    cells are tagged ``raises-exception``, so JupyterLab's Run All goes on past them
    and reaches the explorers below. A cell left unrun means that no longer holds.
    """
    runnable = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and c["source"].strip()]
    if not runnable:
        return
    _run_menu(page, "runmenu:run-all")
    _wait_until_run_done(page, runnable[0])
    prompts = _prompts(page)
    unrun = [i for i in runnable if prompts[i] == "[ ]:"]
    assert not unrun, (f"Run All stopped before cells {unrun}: is an answer or test cell "
                       "above them missing the raises-exception tag?")


# --------------------------------------------------------------------------- widgets

# Runs in the page: what an explorer's Output shows, and the controls of a panel.
_JS_HELPERS = """() => { window.__browserTest ??= {
  output(panel) { return panel.querySelector(':scope > .widget-output'); },
  signature(panel) {
    const items = [...this.output(panel).querySelectorAll('.jp-OutputArea-output')];
    return JSON.stringify(items.map(o => {
      const img = o.querySelector('img');
      return img ? img.src : o.innerText;
    }));
  },
  errorText(panel) {
    return [...this.output(panel).querySelectorAll(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")]
      .map(o => o.innerText).join('\\n');
  },
  tagControls(panel) {
    // Mark each control outside the output with data-browser-test-control=<index>
    // (page order) and describe it as [kind, label, disabled].
    const out = this.output(panel);
    const kinds = [
      ['slider', '.widget-slider', el => el.querySelector('.noUi-target[disabled]')],
      ['dropdown', '.widget-dropdown', el => el.querySelector('select').disabled],
      ['toggle buttons', '.widget-toggle-buttons',
       el => [...el.querySelectorAll('button')].every(b => b.disabled)],
      ['checkbox', '.widget-checkbox', el => el.querySelector('input').disabled],
      ['text', '.widget-text', el => el.querySelector('input').disabled],
    ];
    const found = [];
    for (const [kind, selector, disabled] of kinds) {
      for (const el of panel.querySelectorAll(selector)) {
        if (out.contains(el)) continue;
        found.push({el, kind, disabled: Boolean(disabled(el)),
                    label: el.querySelector('.widget-label')?.innerText.trim() ?? ''});
      }
    }
    found.sort((a, b) =>
      a.el.compareDocumentPosition(b.el) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
    found.forEach((c, i) => c.el.setAttribute('data-browser-test-control', i));
    return found.map(c => [c.kind, c.label, c.disabled]);
  },
}; }
"""


@dataclass(frozen=True)
class Move:
    """One control moved and whether the explorer's output changed."""

    control: str  # e.g. "slider 'x1'"
    changed: bool


@dataclass
class ExplorerCheck:
    """What :func:`check_explorer` saw; ``problem`` is ``None`` for a working explorer."""

    cell: int
    title: str = ""
    moves: list[Move] = field(default_factory=list)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def __str__(self) -> str:
        moved = ", ".join(f"{m.control} ({'changed' if m.changed else 'no change'})"
                          for m in self.moves) or "nothing"
        verdict = "OK" if self.ok else f"BROKEN: {self.problem}"
        return f"cell {self.cell} {self.title!r}: moved {moved}: {verdict}"


def _move(page: Page, control: Locator, kind: str) -> None:
    """Change one control as a user would."""
    if kind == "slider":
        handle = control.locator(".noUi-handle")
        at_max = handle.evaluate(
            "h => Number(h.getAttribute('aria-valuenow')) >= "
            "Number(h.getAttribute('aria-valuemax'))")
        handle.focus()
        page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    elif kind == "dropdown":
        select = control.locator("select")
        index, count = select.evaluate("s => [s.selectedIndex, s.options.length]")
        select.select_option(index=(index + 1) % count)
    elif kind == "toggle buttons":
        control.locator("button:not(.mod-active):not([disabled])").first.click()
    elif kind == "checkbox":
        control.locator("input").click()
    elif kind == "text":
        box = control.locator("input")
        value = box.input_value()
        is_number = box.get_attribute("type") == "number"
        box.fill(str(float(value or 0) + 1) if is_number else value + "x")
        box.press("Enter")
    else:
        raise ValueError(f"unknown control kind {kind!r}")


def _wait_for_response(page: Page, panel: Locator) -> bool:
    """After a move: ``True`` once the output's signature differs from before the
    move; ``False`` once the kernel handled the move (it went busy or the output was
    redrawn) and stayed idle for ``SETTLE_MS`` with the output unchanged, or after
    ``RESPONSE_TIMEOUT``."""
    try:
        handle = page.wait_for_function(
            """([panel, idleSel, settle]) => {
                 const t = window.__browserTest, s = t.watch;
                 if (t.signature(panel) !== s.before) return 'changed';
                 const idle = document.querySelector(idleSel) !== null;
                 if (!(s.busy || s.redrawn) || !idle) { s.idleSince = null; return false; }
                 s.idleSince ??= Date.now();
                 return Date.now() - s.idleSince >= settle ? 'unchanged' : false;
               }""",
            arg=[panel.element_handle(), KERNEL_IDLE, SETTLE_MS], polling=POLL_MS,
            timeout=RESPONSE_TIMEOUT)
    except PlaywrightTimeout:
        return False
    return handle.json_value() == "changed"


def _watch(panel: Locator) -> None:
    """Remember the output's signature, and note from now on whether the kernel goes
    busy and whether the output is redrawn."""
    panel.evaluate(
        """panel => {
             const t = window.__browserTest;
             t.observer?.disconnect();
             const s = t.watch = {before: t.signature(panel), busy: false, redrawn: false,
                                  idleSince: null};
             t.observer = new MutationObserver(records => {
               for (const r of records) {
                 if (r.attributeName === 'data-status'
                     && r.target.getAttribute('data-status') === 'busy') s.busy = true;
                 if (r.type === 'childList' && t.output(panel).contains(r.target))
                   s.redrawn = true;
               }
             });
             t.observer.observe(document.body, {subtree: true, childList: true,
                                                attributes: true,
                                                attributeFilter: ['data-status']});
           }""")


def check_explorer(page: Page, cell_index: int, screenshots: Path | None = None
                   ) -> ExplorerCheck:
    """Check the explorer panel in the output of cell ``cell_index`` (the notebook ran).

    The panel must render, its output must show a picture or text and no error, and
    moving its controls one at a time (in page order, enabled ones only, until one
    works) must change the output without an error. With ``screenshots`` (a folder)
    the panel is saved before and after the move, as ``cellNN-<title>-before.png``
    and ``-after.png``.
    """
    page.evaluate(_JS_HELPERS)
    result = ExplorerCheck(cell_index)
    cell = page.locator(CELLS).nth(cell_index)
    panel = cell.locator(PANEL).first
    # Until the widget manager renders the view, or says why it cannot ("Error
    # displaying widget: model not found"); without a widget view (e.g. no widget
    # extension: the text repr only) there is nothing to wait for.
    page.wait_for_function(
        """([cell, panel, view]) => {
             if (cell.querySelector(panel)) return true;
             const views = [...cell.querySelectorAll(view)];
             return views.length === 0 || views.some(v => v.innerText.includes('Error'));
           }""",
        arg=[cell.element_handle(), PANEL, WIDGET_VIEW], timeout=RESPONSE_TIMEOUT)
    if panel.count() == 0:
        shown = cell.locator(".jp-OutputArea").inner_text().strip()
        result.problem = f"no widget panel in the cell's output; it shows: {shown[:300]!r}"
        return result
    result.title = panel.locator(".widget-html-content").first.inner_text().strip() \
        if panel.locator(".widget-html-content").count() else ""
    try:
        page.wait_for_function(
            "panel => window.__browserTest.signature(panel) !== '[]'",
            arg=panel.element_handle(), timeout=RESPONSE_TIMEOUT)
    except PlaywrightTimeout:
        result.problem = "the explorer's output stayed empty"
        return result
    if error := panel.evaluate("p => window.__browserTest.errorText(p)"):
        result.problem = f"the explorer's output shows an error: {error[-300:]!r}"
        return result
    name = f"cell{cell_index:02d}-{re.sub(r'[^a-z0-9]+', '-', result.title.lower()).strip('-')}"
    if screenshots is not None:
        panel.screenshot(path=screenshots / f"{name}-before.png")
    described = panel.evaluate("p => window.__browserTest.tagControls(p)")
    enabled = [(i, kind, label) for i, (kind, label, disabled) in enumerate(described)
               if not disabled]
    if not enabled:
        result.problem = f"no enabled control among {len(described)}"
        return result
    for i, kind, label in enabled:
        _watch(panel)
        _move(page, panel.locator(f"[data-browser-test-control='{i}']"), kind)
        changed = _wait_for_response(page, panel)
        result.moves.append(Move(f"{kind} {label!r}", changed))
        if changed:
            page.wait_for_selector(KERNEL_IDLE, timeout=RESPONSE_TIMEOUT)
            if error := panel.evaluate("p => window.__browserTest.errorText(p)"):
                result.problem = (f"moving the {kind} {label!r} made the output show an "
                                  f"error: {error[-300:]!r}")
            elif panel.evaluate("p => window.__browserTest.signature(p)") == "[]":
                result.problem = f"moving the {kind} {label!r} left the output empty"
            break
    else:
        result.problem = "no control changed the output"
    if screenshots is not None:
        panel.screenshot(path=screenshots / f"{name}-after.png")
    return result
