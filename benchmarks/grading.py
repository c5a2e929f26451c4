"""Grading throughput: plain nbgrader against this project's grader, on one class.

A synthetic class of N students cycles through three kinds of submission (every answer
right; the first answer of each notebook wrong; nothing answered), ten notebooks each.

Baseline, measured in the same run: plain nbgrader (one ``NbGraderAPI.autograde`` per
student, serially, in one course, no sandbox) on the first ``--baseline`` students.
Then ``Course.grade`` with ``--jobs N`` on the whole class (each notebook in two
kernels, the student's in a sandbox and a trusted checker's, N students at a time in
worker processes) and, with ``--serial``, with ``--jobs 1`` (the cost of isolation).
Throughput is compared in notebooks per minute; the scores of the students graded by
both must agree. Both sides start with the assignment already registered
(``generate_assignment`` / ``sync_assignment``).

Then where the time goes, per notebook (mean seconds of one student's notebook, see
``autograder.autograde.PHASES``): building the notebook to run, starting the sandbox
and the checker's zygote (once per student), forking the two kernels, running the
student's cells, running the tests in the checker, scoring, writing the class
gradebook; and the wrapper's own work (collect, export, summary) against the grading
time.

    python benchmarks/grading.py [--students 100] [--baseline 9] [--jobs 2] [--serial]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.autograde import PHASES, NotebookResult  # noqa: E402
from autograder.collect import collect  # noqa: E402
from autograder.config import ASSIGNMENT, nbgrader_config, quiet_nbgrader  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.examples import write_examples  # noqa: E402
from autograder.report import read_scores, summary_lines, write_scores_csv  # noqa: E402

KINDS = ("perfect", "partly", "untouched")


def make_class(root: Path, students: int) -> Path:
    """``students`` submissions cycling through perfect / partly / untouched."""
    examples = write_examples(root / "examples", KINDS)
    incoming = root / "incoming"
    for i in range(students):
        shutil.copytree(examples[i % len(KINDS)], incoming / f"s{i:03d}-{KINDS[i % 3]}")
    return incoming


def plain_nbgrader(incoming: Path, root: Path, students: list[str]) -> tuple[float, dict]:
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    course = root / "plain"
    course.mkdir()
    config = nbgrader_config(course)
    config.CourseDirectory.release_directory = str(course / "release")
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    api.generate_assignment(ASSIGNMENT, force=True)
    for student in students:
        shutil.copytree(incoming / student, course / "submitted" / student / ASSIGNMENT)
    start = time.perf_counter()
    with quiet_nbgrader():
        for student in students:
            api.autograde(ASSIGNMENT, student, force=True, create=True)
    seconds = time.perf_counter() - start
    with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gb:
        scores = {(s.student_id, nb.name): nb.score
                  for s in gb.assignment_submissions(ASSIGNMENT) for nb in s.notebooks}
    return seconds, scores


def ours(incoming: Path, root: Path, jobs: int
         ) -> tuple[float, float, dict, list[NotebookResult]]:
    """Grading seconds, the wrapper's own seconds, scores and the results."""
    course = Course(root / f"ours-{jobs}")
    course.sync_assignment()
    start = time.perf_counter()
    collect(incoming, course.root / "submitted", set(course.notebook_names()))
    collected = time.perf_counter()
    results = course.grade(jobs=jobs)
    graded = time.perf_counter()
    with course.gradebook() as gb:
        table = read_scores(gb, course.notebook_names())
    write_scores_csv(table, course.flags(), course.root / "exports" / "scores.csv")
    summary_lines(table, course.flags())
    done = time.perf_counter()
    scores = {(r.student, r.notebook): sum(s for s, _ in r.scores.values()) for r in results}
    return graded - collected, (collected - start) + (done - graded), scores, results


def breakdown(results: list[NotebookResult]) -> list[str]:
    """Mean seconds per phase for each notebook, and each phase's share of the total."""
    notebooks = sorted({r.notebook for r in results})
    width = max(len(nb) for nb in notebooks)
    lines = [f"{'notebook':<{width}}  " + "  ".join(f"{p:>12}" for p in PHASES) + "         sum"]
    for nb in notebooks + ["all notebooks"]:
        mine = [r for r in results if nb in (r.notebook, "all notebooks")]
        means = [statistics.fmean(r.timings.get(p, 0.0) for r in mine) for p in PHASES]
        lines.append(f"{nb:<{width}}  " + "  ".join(f"{m:12.3f}" for m in means)
                     + f"  {sum(means):10.3f}")
    totals = [sum(r.timings.get(p, 0.0) for r in results) for p in PHASES]
    lines.append(f"{'share':<{width}}  " + "  ".join(f"{100 * t / sum(totals):11.1f}%"
                                                     for t in totals))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=3)
    parser.add_argument("--baseline", type=int, default=9,
                        help="students graded by plain nbgrader (at most --students)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--serial", action="store_true", help="also time --jobs 1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="week14-bench-") as tmp:
        root = Path(tmp)
        incoming = make_class(root, args.students)
        students = sorted(p.name for p in incoming.iterdir())
        per_student = len(list((incoming / students[0]).glob("*.ipynb")))
        sample = students[:min(args.baseline, args.students)]
        plain, plain_scores = plain_nbgrader(incoming, root, sample)
        runs = {args.jobs: ours(incoming, root, args.jobs)}
        if args.serial and args.jobs != 1:
            runs[1] = ours(incoming, root, 1)

    def rate(seconds: float, students: int) -> float:
        return 60 * students * per_student / seconds

    base = rate(plain, len(sample))
    print(f"class: {args.students} students x {per_student} notebooks; plain nbgrader on "
          f"the first {len(sample)}")
    print(f"plain nbgrader, serial  {plain:8.1f} s  {base:6.1f} notebooks/min  (baseline)")
    for jobs, (seconds, _, _, _) in sorted(runs.items(), reverse=True):
        print(f"ours, --jobs {jobs}          {seconds:8.1f} s  "
              f"{rate(seconds, args.students):6.1f} notebooks/min  "
              f"x{rate(seconds, args.students) / base:.2f} the baseline's throughput")
    agree = all(scores[key] == value for _, _, scores, _ in runs.values()
                for key, value in plain_scores.items())
    same = len({tuple(sorted(scores.items())) for _, _, scores, _ in runs.values()}) == 1
    print(f"scores identical to plain nbgrader: {agree}; between our runs: {same}")
    seconds, extra, _, results = runs[args.jobs]
    print(f"wrapper's own work (collect, export, summary): {extra:.2f} s = "
          f"{100 * extra / seconds:.1f} % of grading")
    print(f"\nwhere the time goes, --jobs {args.jobs} (mean seconds per student's notebook):")
    print("\n".join(breakdown(results)))


if __name__ == "__main__":
    main()
