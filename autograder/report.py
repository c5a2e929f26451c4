"""Grades out of the gradebook: CSV exports, the terminal summary, a histogram."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from autograder.config import ASSIGNMENT


class Score(NamedTuple):
    """Points of a test cell, a notebook or a total: scored, out of the most possible."""

    score: float
    max_score: float


@dataclass
class ClassScores:
    """Every student's score per notebook and per test cell, read from the gradebook."""

    notebooks: list[str]
    # (student, notebook) -> its score, after its late penalty; (student, notebook, test)
    notebook_scores: dict[tuple[str, str], Score] = field(default_factory=dict)
    test_scores: dict[tuple[str, str, str], Score] = field(default_factory=dict)
    penalties: dict[tuple[str, str], float] = field(default_factory=dict)  # late, > 0 only
    needs_manual: set[tuple[str, str]] = field(default_factory=set)  # not yet hand-graded

    def penalty(self, student: str) -> float:
        """Points the student lost for lateness, over all notebooks."""
        return sum(p for (s, _), p in self.penalties.items() if s == student)

    def to_grade_by_hand(self, student: str) -> list[str]:
        """The student's notebooks with a written answer not graded yet."""
        return [nb for nb in self.notebooks if (student, nb) in self.needs_manual]

    @property
    def students(self) -> list[str]:
        return sorted({s for s, _ in self.notebook_scores})

    def total(self, student: str) -> Score:
        """The student's points over all notebooks (after late penalties)."""
        rows = [self.notebook_scores[(student, nb)] for nb in self.notebooks
                if (student, nb) in self.notebook_scores]
        return Score(sum(r.score for r in rows), sum(r.max_score for r in rows))

    def pass_rates(self) -> dict[tuple[str, str], float]:
        """Fraction of students with full marks on each (notebook, test)."""
        counts: dict[tuple[str, str], list[int]] = {}
        for (_, nb, test), (score, top) in self.test_scores.items():
            passed, seen = counts.setdefault((nb, test), [0, 0])
            counts[(nb, test)] = [passed + (score >= top), seen + 1]
        return {key: passed / seen for key, (passed, seen) in sorted(counts.items())}


def read_scores(gradebook, notebooks: list[str]) -> ClassScores:
    """Scores of every submission of the assignment in an open nbgrader Gradebook."""
    scores = ClassScores(notebooks)
    for submission in gradebook.assignment_submissions(ASSIGNMENT):
        student = submission.student_id
        for nb in submission.notebooks:
            penalty = float(nb.late_submission_penalty or 0.0)
            scores.notebook_scores[(student, nb.name)] = Score(float(nb.score) - penalty,
                                                               float(nb.max_score))
            if penalty > 0:
                scores.penalties[(student, nb.name)] = penalty
            if nb.needs_manual_grade:
                scores.needs_manual.add((student, nb.name))
            for grade in nb.grades:
                scores.test_scores[(student, nb.name, grade.name)] = Score(
                    float(grade.score), float(grade.max_score))
    return scores


def fmt_points(x: float) -> str:
    """Points as people write them: 7, 6.5, 1.33 (two decimals at most)."""
    return f"{round(x, 2):g}"


def write_scores_csv(scores: ClassScores, flags: dict[str, list[str]], path: Path) -> Path:
    """One row per student: each notebook's score (after any late penalty), the total,
    the maximum, the late penalty, the notebooks still to grade by hand, and flags."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["student", *scores.notebooks, "total", "max", "late_penalty",
                      "needs_manual_grading", "flags"])
        for student in scores.students:
            row = [fmt_points(scores.notebook_scores.get((student, nb), Score(0.0, 0.0)).score)
                   for nb in scores.notebooks]
            total, top = scores.total(student)
            out.writerow([student, *row, fmt_points(total), fmt_points(top),
                          fmt_points(scores.penalty(student)),
                          " ".join(scores.to_grade_by_hand(student)),
                          "; ".join(flags.get(student, []))])
    return path


def summary_lines(scores: ClassScores, flags: dict[str, list[str]]) -> list[str]:
    """The terminal summary: a score table, flags, and per-test pass rates."""
    short = [nb.split("_")[0] for nb in scores.notebooks]
    width = max([7, *(len(s) for s in scores.students)])
    head = f"{'student':<{width}}  " + "  ".join(f"{s:>7}" for s in short) + "    total  flags"
    lines = [head, "-" * len(head)]
    for student in scores.students:
        cells = []
        for nb in scores.notebooks:
            got = scores.notebook_scores.get((student, nb))
            shown = f"{fmt_points(got.score)}/{fmt_points(got.max_score)}" if got else "-"
            cells.append(f"{shown:>7}")
        total, top = scores.total(student)
        marks = [f"{len(flags[student])} flag(s)"] if flags.get(student) else []
        if scores.penalty(student):
            marks.append(f"late -{fmt_points(scores.penalty(student))}")
        if scores.to_grade_by_hand(student):
            marks.append("needs manual grading")
        mark = ", ".join(marks)
        lines.append(f"{student:<{width}}  " + "  ".join(cells)
                     + f"  {fmt_points(total) + '/' + fmt_points(top):>7}  {mark}")
    flagged = [(s, f) for s in scores.students for f in flags.get(s, [])]
    if flagged:
        lines += ["", "Flags (look at these):"]
        lines += [f"  {s}: {f}" for s, f in flagged]
    rates = scores.pass_rates()
    if rates:
        lines += ["", "Pass rate per test (students with full marks):"]
        lines += [f"  {nb}/{test:<34} {rate:6.0%}" for (nb, test), rate in rates.items()]
    return lines


def mistake_lines(mistakes: dict[tuple[str, str], dict[str, int]]) -> list[str]:
    """What the class got wrong, per test: how many students made each catalogued
    mistake (week14.misconceptions), and how many failed for another reason."""
    if not mistakes:
        return []
    lines = ["", "Mistakes per test (students; \"other\": failed for an uncatalogued "
             "reason):"]
    for (nb, test), row in mistakes.items():
        lines.append(f"  {nb}/{test}: " + ", ".join(f"{key} {n}" for key, n in row.items()))
    return lines


def write_mistakes_csv(mistakes: dict[tuple[str, str], dict[str, int]], path: Path) -> Path:
    """One row per (test, mistake): how many students failed the test with it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["notebook", "test", "mistake", "students"])
        for (nb, test), row in mistakes.items():
            out.writerows([nb, test, key, n] for key, n in row.items())
    return path


def histogram(scores: ClassScores, path: Path) -> Path:
    """A PNG histogram of the students' totals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = [scores.total(s).score for s in scores.students]
    top = max((scores.total(s).max_score for s in scores.students), default=1.0)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(totals, bins=min(20, max(5, len(totals))), range=(0, top), color="#3b75af",
            edgecolor="white")
    ax.set(xlabel=f"total score (out of {fmt_points(top)})", ylabel="students",
           title=f"{ASSIGNMENT}: totals of {len(totals)} student(s)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
