"""Decay-schedule explorer: learning-rate schedules, and what they do to real training.

Slides: "Learning Rate", "Impact of different learning rates", "Adjusting learning
rates". Choose a schedule (constant, step decay, exponential decay or
ReduceLROnPlateau) and its parameters; four panels show, per epoch, the learning rate,
the training and validation loss and the validation accuracy of a small network trained
with it, and the plateau rule's counters. A grey run repeats the training at the same
constant starting rate, so the effect of the decay itself is visible: a rate that is
too high bounces or diverges, one that is too low crawls, and a decay can start fast
and then settle. "Pin run" keeps a run on the plots (up to :data:`MAX_PINNED`), so step
decay can be laid over exponential decay, staircase on over staircase off, or patience
2 over patience 10.

The numbers come from :mod:`week14.schedule_runs` (the data, the schedules, the
training runs, the plateau rule's trace, the rate drops and the runs' labels), which
the tests call without a browser. This module only draws them:

* :func:`pin_run`: the rule for pinning runs;
* :class:`ScheduleFigure` and :func:`schedule_figure`: the four-panel figure;
* :class:`ScheduleExplorer`: the controls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np

from week14.data import Split
from week14.schedule_runs import (
    SCHEDULE_KINDS,
    PlateauTrace,
    ScheduleRun,
    digits_problem,
    lr_drops,
    make_schedule,
    train_with_schedule,
)
from week14.training import History
from week14.widgets._base import Explorer

__all__ = [
    "MAX_MARKED_DROPS",
    "MAX_PINNED",
    "pin_run",
    "ScheduleFigure",
    "schedule_figure",
    "ScheduleExplorer",
]

MAX_MARKED_DROPS = 10
""":class:`ScheduleFigure` marks the epochs where the rate dropped if there are at most
this many (a smooth decay drops every epoch, and lines everywhere would mark nothing)."""

MAX_PINNED = 3
"""Runs that can be pinned at once. With the run being explored and the grey
constant-rate run that makes five runs, ten loss curves: about as many as one panel
can keep apart. Pinning a fourth is refused (see :func:`pin_run`)."""

PINNED_COLORS = ("C0", "C2", "C4")
"""Colours of the pinned runs, oldest first (blue, green, purple); the explored run is
red (``C3``) and the constant-rate run grey."""


def pin_run(
    pinned: Sequence[ScheduleRun], run: ScheduleRun, limit: int = MAX_PINNED
) -> tuple[tuple[ScheduleRun, ...], str]:
    """Add ``run`` to the ``pinned`` runs; return the new pinned runs and a message.

    Pinned runs keep their order (oldest first) and so their colours. A run is refused,
    with a message saying why, when ``limit`` runs are pinned already (nothing pinned
    is silently dropped: "Clear pinned" starts again) or when the same run (same label,
    same numbers) is pinned already.
    """
    pinned = tuple(pinned)
    if any(p.label == run.label and p.history.history == run.history.history for p in pinned):
        return pinned, f"Already pinned: {run.label}."
    if len(pinned) >= limit:
        return pinned, (f"Not pinned: {limit} runs are pinned already, the most the plots "
                        "keep apart. Press “Clear pinned” to start a new comparison.")
    pinned = (*pinned, run)
    return pinned, (f"Pinned {len(pinned)} of {limit}: {run.label}. Change a setting to "
                    "draw another run over it.")


class _RunLines:
    """The lines of one run in the first three panels: rate, training loss, validation
    loss, validation accuracy; all empty while the run is not shown."""

    def __init__(self, figure: ScheduleFigure, color: str, width: float) -> None:
        self.rate = figure.rate_ax.step([], [], where="post", color=color, lw=width,
                                        markersize=7)[0]
        self.loss = figure.loss_ax.plot([], [], color=color, lw=0.75 * width)[0]
        self.val = figure.loss_ax.plot([], [], color=color, lw=0.75 * width, ls="--")[0]
        self.acc = figure.acc_ax.plot([], [], color=color, lw=0.75 * width)[0]

    def show(self, history: History | None, plateau: PlateauTrace | None = None) -> None:
        """Draw ``history`` (None: nothing); mark the reductions of a plateau run."""
        data = history.history if history is not None else {}
        epochs = np.arange(len(data.get("lr", [])))
        for line, name in ((self.rate, "lr"), (self.loss, "loss"), (self.val, "val_loss"),
                           (self.acc, "val_accuracy")):
            values = data.get(name, [])
            line.set_data(epochs[:len(values)], values)
        # ▼ where a reduction's new rate starts (one at the last epoch has no next epoch)
        marked = [] if plateau is None else np.flatnonzero(plateau.reduced[:-1]) + 1
        self.rate.set_marker("None" if plateau is None else "v")
        self.rate.set_markevery([int(epoch) for epoch in marked])


class ScheduleFigure:
    """Four panels, updated in place (slides: Learning Rate, Impact of different
    learning rates, Adjusting learning rates), x = epoch in all of them:

    * top left, learning rate per epoch (log scale);
    * top right, training loss (solid) and validation loss (dashed), cross-entropy on a
      log scale (a diverging loss would flatten everything else); for a plateau run also
      the best validation loss so far (dotted), the value the rule compares against;
    * bottom left, validation accuracy (share of validation digits classified right);
    * bottom right, for a ReduceLROnPlateau run, its counters after every epoch
      (:func:`plateau_trace`): ``wait`` climbing towards ``patience`` (dashed line),
      ``cooldown`` left, and ▼ at each reduction (the end of an epoch where ``wait``
      reached ``patience``; the lower rate starts in the next epoch).

    The run shown is red; ``baseline``, e.g. the same run at a constant rate, is grey;
    up to :data:`MAX_PINNED` pinned runs (:class:`ScheduleRun`) are blue, green and
    purple. A legend above the panels names each run by its schedule and parameters
    (:func:`schedule_label`). Dotted vertical lines mark the epochs where the red run's
    rate dropped (:func:`lr_drops`), unless there are more than
    :data:`MAX_MARKED_DROPS` of them, as for a smooth exponential decay; ▼ on a rate
    curve marks each reduction of a plateau run.

    The lines are made once and :meth:`update` only changes their data, which halves the
    cost of a redraw compared with a new figure (most of it is laying out axes, ticks and
    text). The figure is a plain ``matplotlib.figure.Figure``, not registered with
    pyplot, so the notebook never shows it by itself; render it with
    :func:`week14.widgets.figure_png` (or let Jupyter display ``.fig``).

    Attributes:
        fig: the Figure; rate_ax, loss_ax, acc_ax, plateau_ax: its four Axes.
        drop_marks: the LineCollections of dotted lines (rate, loss and accuracy panels).
    """

    def __init__(self) -> None:
        from matplotlib import ticker
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(9, 5.8))
        self.fig.subplots_adjust(left=0.08, right=0.98, bottom=0.08, wspace=0.2, hspace=0.3)
        (self.rate_ax, self.loss_ax), (self.acc_ax, self.plateau_ax) = self.fig.subplots(
            2, 2, sharex=True)
        # Drawn in this order, so the red run is on top of the pinned ones and the grey.
        self._baseline = _RunLines(self, "0.6", 1.5)
        self._pinned = [_RunLines(self, color, 1.5) for color in PINNED_COLORS]
        self._current = _RunLines(self, "C3", 2.0)
        self._best = self.loss_ax.step([], [], where="post", color="k", lw=1, ls=":")[0]
        self._wait = self.plateau_ax.step([], [], where="post", color="C3", lw=1.5,
                                          label="wait")[0]
        self._cooldown = self.plateau_ax.step([], [], where="post", color="C3", lw=1.2,
                                              ls=":", label="cooldown left")[0]
        self._patience = self.plateau_ax.plot([], [], color="0.4", lw=1, ls="--",
                                              label="patience",  # x from 0 to 1: full width
                                              transform=self.plateau_ax.get_yaxis_transform())[0]
        self._reduced = self.plateau_ax.plot([], [], "v", color="k", markersize=7,
                                             label="reduced")[0]
        self._plateau_note = self.plateau_ax.text(
            0.5, 0.5,
            "ReduceLROnPlateau's counters (wait, cooldown)\nappear here for a plateau run",
            transform=self.plateau_ax.transAxes, ha="center", va="center", color="0.4")
        self._plateau_legend = self.plateau_ax.legend(fontsize=8, ncol=4, loc="lower center",
                               bbox_to_anchor=(0.5, 1.0), frameon=False,
                               handlelength=1.5, columnspacing=1.0)
        self.plateau_ax.set_title("ReduceLROnPlateau after each epoch", fontsize=10, pad=18,
                                  y=1.0)
        self.plateau_ax.set_ylabel("epochs counted")
        self.plateau_ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        self.drop_marks = []
        for ax in (self.rate_ax, self.loss_ax, self.acc_ax):
            # x in epochs, y from the bottom (0) to the top (1) of the axes
            marks = LineCollection([], colors="C3", linewidths=0.8, linestyles=":",
                                   transform=ax.get_xaxis_transform())
            ax.add_collection(marks, autolim=False)
            self.drop_marks.append(marks)
        for ax in (self.rate_ax, self.loss_ax):
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:g}"))
            ax.yaxis.set_minor_locator(ticker.NullLocator())  # each tick is costly to draw
        for ax in (self.acc_ax, self.plateau_ax):
            ax.set_xlabel("epoch")
        self.rate_ax.set_ylabel("learning rate")
        self.loss_ax.set_ylabel("cross-entropy loss")
        self.acc_ax.set(ylabel="validation accuracy", ylim=(0.0, 1.0))
        self.acc_ax.yaxis.set_major_formatter(ticker.PercentFormatter(1.0, decimals=0))
        self._legend: Any = None

    def update(
        self,
        history: History,
        baseline: History | None = None,
        title: str = "",
        *,
        label: str = "schedule",
        plateau: PlateauTrace | None = None,
        pinned: Sequence[ScheduleRun] = (),
    ) -> None:
        """Show ``history`` in red, ``baseline`` in grey and the ``pinned`` runs; none of
        them is changed.

        Args:
            history: the run to show, with "loss", "val_loss" and "lr" per epoch (and
                "val_accuracy", as from :func:`train_with_schedule`, for the accuracy
                panel).
            baseline: the same run at a constant rate, drawn grey and labelled
                ``ConstantLR(<its first rate>)``.
            title: title of the rate panel (default "learning rate per epoch (▼ plateau
                reduction)").
            label: legend label of ``history``, e.g. :func:`schedule_label`.
            plateau: :func:`plateau_trace` of ``history`` for a ReduceLROnPlateau run:
                fills the counters panel and the best-so-far line.
            pinned: at most :data:`MAX_PINNED` earlier runs to overlay.
        """
        if len(pinned) > MAX_PINNED:
            raise ValueError(f"ScheduleFigure shows at most {MAX_PINNED} pinned runs, "
                             f"got {len(pinned)}")
        self._current.show(history, plateau)
        self._baseline.show(baseline)
        for index, lines in enumerate(self._pinned):
            if index < len(pinned):
                lines.show(pinned[index].history, pinned[index].plateau)
            else:
                lines.show(None)
        self._show_plateau(plateau)
        drops = lr_drops(history["lr"])
        marks = [[(epoch, 0.0), (epoch, 1.0)] for epoch in drops]
        for collection in self.drop_marks:
            collection.set_segments(marks if len(drops) <= MAX_MARKED_DROPS else [])
        # y given: matplotlib then skips measuring the tick labels to place the title.
        self.rate_ax.set_title(title or "learning rate per epoch (▼ plateau reduction)",
                               fontsize=10, y=1.0)
        self.loss_ax.set_title("training (solid) and validation (dashed) loss"
                               + (",\nbest validation loss so far (dotted)" if plateau else ""),
                               fontsize=10, y=1.0)
        runs = [history, *(run.history for run in pinned)]
        longest = max(len(run) for run in (runs if baseline is None else [*runs, baseline]))
        self.rate_ax.set_xlim(-0.5, max(longest - 1, 1) + 0.5)  # shared by all four panels
        self._autoscale_log_axes()
        self._update_legend(label, baseline, pinned)

    def _show_plateau(self, plateau: PlateauTrace | None) -> None:
        """The counters panel and the best-so-far line for the red run."""
        self._plateau_note.set_visible(plateau is None)
        self._plateau_legend.set_visible(plateau is not None)
        if plateau is None:
            for line in (self._best, self._wait, self._cooldown, self._patience,
                         self._reduced):
                line.set_data([], [])
            self.plateau_ax.set_ylim(0, 1)
            return
        epochs = np.arange(len(plateau.wait))
        patience = plateau.patience
        self._best.set_data(epochs, plateau.best)
        self._wait.set_data(epochs, plateau.wait)
        self._cooldown.set_data(epochs, plateau.cooldown)
        self._patience.set_data([0.0, 1.0], [patience] * 2)
        reduced = np.flatnonzero(plateau.reduced)
        self._reduced.set_data(reduced, np.full(len(reduced), patience))
        top = max(patience, int(plateau.cooldown.max(initial=0)), int(plateau.wait.max(initial=0)))
        self.plateau_ax.set_ylim(-0.4, top + 0.6)

    def _autoscale_log_axes(self) -> None:
        from matplotlib import ticker

        for ax in (self.rate_ax, self.loss_ax):
            ax.relim()
            ax.autoscale_view(scalex=False)
            low, high = ax.get_ylim()
            # Under ~1.5 decades also label 2 and 5 × 10^k. Labels are plain numbers (0.5,
            # 1e-05): a 10^k label is typeset as mathtext, which costs ~20 ms a redraw.
            subs = (1.0, 2.0, 5.0) if high / low < 30 else (1.0,)
            ax.yaxis.set_major_locator(ticker.LogLocator(subs=subs))

    def _update_legend(self, label: str, baseline: History | None,
                       pinned: Sequence[ScheduleRun]) -> None:
        """One entry per run, above the panels, where no curve can hide under it: the
        run shown first, then the grey one, then "pin 1: ...", oldest first."""
        handles = [self._current.rate]
        labels = [label]
        if baseline is not None:
            handles.append(self._baseline.rate)
            labels.append(f"ConstantLR({baseline['lr'][0]:g})")
        for index, run in enumerate(pinned):
            handles.append(self._pinned[index].rate)
            labels.append(f"pin {index + 1}: {run.label}")
        if self._legend is not None:
            self._legend.remove()
        self._legend = self.fig.legend(handles, labels, loc="upper left", ncol=2,
                                       bbox_to_anchor=(0.06, 0.995), fontsize=8,
                                       frameon=False, handlelength=2.5)
        # The panels start under the legend's rows (about 0.17 inch each) and a title.
        rows = (len(labels) + 1) // 2
        self.fig.subplots_adjust(top=0.925 - 0.029 * rows)


def schedule_figure(history: History, baseline: History | None = None, title: str = "",
                    **options: Any) -> Any:
    """A new :class:`ScheduleFigure` showing ``history`` (and ``baseline``; ``options``
    are :meth:`ScheduleFigure.update`'s ``label``, ``plateau`` and ``pinned``); returns
    its matplotlib Figure, which Jupyter displays when it ends a cell."""
    figure = ScheduleFigure()
    figure.update(history, baseline, title, **options)
    return figure.fig


class ScheduleExplorer(Explorer):
    """Pick a schedule and its settings; see its learning rate and the training it gives,
    and pin runs to compare them.

    Each run (:func:`train_with_schedule`) is kept per setting that matters for its kind,
    so going back to a setting, or moving a control the chosen schedule ignores, only
    redraws; and the one :class:`ScheduleFigure` (attribute ``figure``) is updated in
    place. Controls a schedule does not use are greyed out.

    "Pin run" keeps the run shown (attribute ``shown``, a :class:`ScheduleRun`) on the
    plots, labelled with its schedule and parameters, up to :data:`MAX_PINNED` runs;
    a fourth is refused with a message under the buttons (:func:`pin_run`), and "Clear
    pinned" removes them all.

    The defaults start from a rate that is too high (2: the constant grey run jumps to
    a loss far above guessing's 2.3), so that every decay has something to rescue, and
    the plateau settings are the lecture's (patience 10, min_delta 1e-4, cooldown 0,
    min_lr 1e-6): the validation loss then fails to beat its first epoch for 10 epochs
    and the rate is reduced within the default 30 epochs.

    Args:
        problem: train and validation data, a :class:`week14.data.Split`; default
            ``week14.schedule_runs.digits_problem()`` (loaded once, here).
        seed: seed of every run's initial weights and batches.
    """

    LEARNING_RATES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
    """The initial rates on offer: round values, roughly 2× apart, crawl to divergence."""

    MAX_RUNS = 256
    """Runs kept for reuse (a few kB each); beyond that the oldest is forgotten."""

    def __init__(self, problem: Split | None = None, *, seed: int = 0) -> None:
        self.problem = digits_problem() if problem is None else problem
        self.seed = seed
        self._runs: dict[tuple[Any, ...], History] = {}
        self.figure = ScheduleFigure()
        self.pinned: tuple[ScheduleRun, ...] = ()
        self.shown: ScheduleRun | None = None
        style = {"description_width": "initial"}
        released = {"continuous_update": False, "style": style}
        controls = {
            "kind": widgets.Dropdown(options=list(SCHEDULE_KINDS), value="step",
                                     description="schedule", style=style),
            "lr": widgets.SelectionSlider(options=self.LEARNING_RATES, value=2.0,
                                          description="initial lr", **released),
            "factor": widgets.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05,
                                          description="factor", **released),
            "every": widgets.IntSlider(value=5, min=1, max=20, description="every (epochs)",
                                       **released),
            "staircase": widgets.Checkbox(value=False, description="staircase", style=style),
            "patience": widgets.IntSlider(value=10, min=0, max=15, description="patience",
                                          **released),
            "cooldown": widgets.IntSlider(value=0, min=0, max=5, description="cooldown",
                                          **released),
            "min_delta": widgets.SelectionSlider(options=[0.0, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1],
                                                 value=1e-4, description="min_delta",
                                                 **released),
            "min_lr": widgets.SelectionSlider(options=[1e-6, 1e-3, 1e-2, 0.1, 0.3],
                                              value=1e-6, description="min_lr", **released),
            "epochs": widgets.IntSlider(value=30, min=5, max=60, step=5, description="epochs",
                                        **released),
        }
        self.pin_button = widgets.Button(description="Pin run", icon="thumb-tack",
                                         tooltip=f"keep this run on the plots (up to "
                                                 f"{MAX_PINNED})")
        self.clear_button = widgets.Button(description="Clear pinned", icon="times",
                                           disabled=True)
        self.message = widgets.Label(f"Pin a run to compare it with the next ones "
                                     f"(up to {MAX_PINNED}).")
        self.pin_button.on_click(lambda _: self.pin())
        self.clear_button.on_click(lambda _: self.clear_pinned())
        super().__init__(controls, title="Learning-rate schedules on the digits (SGD, 64-32-10)")
        buttons = widgets.HBox([self.pin_button, self.clear_button, self.message])
        self.panel.children = (*self.panel.children[:-1], buttons, self.output)

    def run(self, kind: str, epochs: int, settings: dict[str, Any]) -> History:
        """The History of ``kind`` with ``settings`` (trained on first use, then kept,
        up to :attr:`MAX_RUNS` runs).

        ``settings`` holds :func:`make_schedule`'s values by name (``lr``, ``factor``,
        ...); only those ``kind`` uses (see :data:`SCHEDULE_KINDS`) make the key, so a
        change to an ignored setting reuses the run.
        """
        used = {name: settings[name] for name in SCHEDULE_KINDS[kind]}
        key = (kind, epochs, *used.items())
        if key not in self._runs:
            if len(self._runs) >= self.MAX_RUNS:
                del self._runs[next(iter(self._runs))]  # dicts keep insertion order
            self._runs[key] = train_with_schedule(make_schedule(kind, **used), epochs,
                                                  self.seed, problem=self.problem)
        return self._runs[key]

    def pin(self) -> None:
        """The "Pin run" button: keep the run shown on the plots (see :func:`pin_run`)."""
        self.pinned, self.message.value = pin_run(self.pinned, self.shown)
        self.clear_button.disabled = not self.pinned
        self.update()

    def clear_pinned(self) -> None:
        """The "Clear pinned" button: remove every pinned run from the plots."""
        self.message.value = f"Cleared {len(self.pinned)} pinned run(s)."
        self.pinned = ()
        self.clear_button.disabled = True
        self.update()

    def render(
        self,
        kind: str,
        lr: float,
        factor: float,
        every: int,
        staircase: bool,
        patience: int,
        cooldown: int,
        min_delta: float,
        min_lr: float,
        epochs: int,
    ) -> None:
        """Draw the run of these settings (trained if new), the grey run at the same
        constant rate and the pinned runs; controls the schedule ignores are greyed out."""
        settings = {"lr": lr, "factor": factor, "every": every, "staircase": staircase,
                    "patience": patience, "cooldown": cooldown, "min_delta": min_delta,
                    "min_lr": min_lr}
        used = SCHEDULE_KINDS[kind]
        for name, control in self.controls.items():
            control.disabled = name not in (*used, "kind", "epochs")
        schedule = make_schedule(kind, **{name: settings[name] for name in used})
        self.shown = ScheduleRun.of(schedule, self.run(kind, epochs, settings))
        baseline = None if kind == "constant" else self.run("constant", epochs, settings)
        self.figure.update(self.shown.history, baseline, label=self.shown.label,
                           plateau=self.shown.plateau, pinned=self.pinned)
        self.show_figure(self.figure.fig, keep=True)
