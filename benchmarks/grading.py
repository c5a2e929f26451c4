"""Grading throughput: plain nbgrader against this project's grader, on one class.

Baseline, measured in the same run: plain nbgrader (one ``NbGraderAPI.autograde`` per
student, serially, in one course, no sandbox). Then ``Course.grade`` with ``--jobs 1``
(each notebook in its own scratch course and sandbox: the cost of isolation) and with
``--jobs N`` (workers in parallel). Also the wrapper's own work (collect, export,
summary) against the grading time, and the scores of every run, which must agree.

    python benchmarks/grading.py [--students 3] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


def plain_nbgrader(incoming: Path, root: Path) -> tuple[float, dict]:
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    course = root / "plain"
    course.mkdir()
    config = nbgrader_config(course)
    config.CourseDirectory.release_directory = str(course / "release")
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    api.generate_assignment(ASSIGNMENT, force=True)
    for student in sorted(p.name for p in incoming.iterdir()):
        shutil.copytree(incoming / student, course / "submitted" / student / ASSIGNMENT)
    start = time.perf_counter()
    with quiet_nbgrader():
        for student in sorted(p.name for p in incoming.iterdir()):
            api.autograde(ASSIGNMENT, student, force=True, create=True)
    seconds = time.perf_counter() - start
    with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gb:
        scores = {(s.student_id, nb.name): nb.score
                  for s in gb.assignment_submissions(ASSIGNMENT) for nb in s.notebooks}
    return seconds, scores


def ours(incoming: Path, root: Path, jobs: int) -> tuple[float, float, dict]:
    course = Course(root / f"ours-{jobs}")
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
    return graded - collected, (collected - start) + (done - graded), scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    with tempfile.TemporaryDirectory(prefix="week14-bench-") as tmp:
        root = Path(tmp)
        incoming = make_class(root, args.students)
        runs = len(list(incoming.glob("*/*.ipynb")))
        plain, plain_scores = plain_nbgrader(incoming, root)
        serial, serial_extra, serial_scores = ours(incoming, root, 1)
        parallel, parallel_extra, parallel_scores = ours(incoming, root, args.jobs)
    agree = plain_scores == serial_scores == parallel_scores
    print(f"{args.students} students x {runs // args.students} notebooks = {runs} runs")
    print(f"plain nbgrader, serial        {plain:7.1f} s  {60 * runs / plain:5.1f} notebooks/min"
          "  (baseline)")
    print(f"ours, --jobs 1 (isolated)     {serial:7.1f} s  {60 * runs / serial:5.1f} notebooks/min"
          f"  isolation cost x{serial / plain:.2f}")
    print(f"ours, --jobs {args.jobs}                {parallel:7.1f} s  "
          f"{60 * runs / parallel:5.1f} notebooks/min  speed-up x{plain / parallel:.2f}")
    print(f"wrapper's own work (collect, export, summary): {parallel_extra:.2f} s = "
          f"{100 * parallel_extra / parallel:.1f} % of grading")
    print(f"scores identical in all three runs: {agree}")


if __name__ == "__main__":
    main()
