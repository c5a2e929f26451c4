"""The instructor's command line: ``python -m autograder COMMAND [--course DIR]``.

The grading cycle:  release -> collect PATH -> grade -> feedback -> export / summary.
``demo`` runs the whole cycle on generated example submissions. Every command takes
``--course DIR``, the working folder for submissions, gradebook, feedback and
exports (default: ``$WEEK14_COURSE``, else ``course/`` in the repository).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path

from autograder.config import ASSIGNMENT, DB_URL_ENV, REPO


def _course(args: argparse.Namespace):
    from autograder.course import Course

    return Course(args.course, db_url=args.db_url or os.environ.get(DB_URL_ENV))


def _need_submissions(course) -> list[str]:
    students = course.students()
    if not students:
        raise ValueError(f"no submissions in {course.root / 'submitted'}: run "
                         f"`python -m autograder collect PATH --course {course.root}` first")
    return students


def _need_grades(course) -> None:
    if not course.graded():
        raise ValueError(f"nothing has been graded in {course.root}: run "
                         f"`python -m autograder grade --course {course.root}` first")


def cmd_release(args: argparse.Namespace) -> int:
    from autograder.release import release

    for path in release(check=not args.no_check):
        print(f"released {path.relative_to(REPO)}")
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from autograder.collect import collect, read_map

    course = _course(args)
    ids = read_map(Path(args.map)) if args.map else None
    report = collect(Path(args.path), course.root / "submitted", set(course.notebook_names()),
                     ids)
    print("\n".join(report.lines()))
    return 0


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def cmd_grade(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from autograder.course import Shard
    from autograder.sandbox import isolation

    course = _course(args)
    _need_submissions(course)
    shard = Shard.parse(args.shard) if args.shard else None
    todo = course.pending(force=args.force, shard=shard, students=args.student,
                          notebooks=args.notebook)
    if not todo:
        which = f"in shard {shard} " if shard else ""
        print(f"every submission {which}is already graded (use --force to grade again)")
        return 0
    print(f"isolation: {isolation().describe(course.limits)}")
    finished = []
    # SIGTERM (a scheduler's, `kill`) stops grading as Ctrl-C does: nothing is left
    # running, and what was graded is kept (Course.grade).
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        with tqdm(total=len(todo), desc="grading", unit="notebook",
                  disable=args.quiet) as bar:
            def done(result) -> None:
                finished.append(result)
                bar.set_postfix_str(f"{result.student}/{result.notebook}")
                bar.update()

            results = course.grade(todo, jobs=args.jobs, on_result=done,
                                   allow_unsandboxed=args.allow_unsandboxed)
    except KeyboardInterrupt:
        print(f"grading stopped: {len(finished)} of {len(todo)} notebook(s) graded and "
              f"kept; run grade again to grade the other {len(todo) - len(finished)}",
              file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    students = {r.student for r in results}
    flagged = {r.student for r in results if r.flags}
    print(f"graded {len(results)} notebook(s) of {len(students)} student(s); "
          f"{len(flagged)} student(s) with flags (see `summary`)")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    course = _course(args)
    _need_grades(course)
    graded = sorted(course.graded())
    students = args.student or graded
    unknown = sorted(set(students) - set(graded))
    if unknown:
        raise ValueError(f"no graded submission for {', '.join(unknown)}; graded students: "
                         f"{', '.join(graded)}")
    written, failed = 0, []
    for student in students:
        if not any(course.autograded_dir(student).glob("*.ipynb")):
            print(f"no feedback for {student}: none of their notebooks could be run "
                  "(see the flags in `summary`)")
            continue
        if course.generate_feedback(student)["success"]:
            written += 1
        else:
            failed.append(student)
    print(f"feedback written to {course.root / 'feedback'} for {written} student(s)")
    if args.release:
        from autograder.lms import release_feedback

        for archive in release_feedback(course.root, students, course.feedback_dir):
            print(f"for the LMS's bulk upload: {archive}")
    if failed:
        print(f"no feedback for {len(failed)} student(s), {', '.join(failed)}: the reason "
              "is in `summary`; the others' feedback is written", file=sys.stderr)
    return 1 if failed else 0


def _scores(course):
    from autograder.report import read_scores

    _need_grades(course)
    with course.gradebook() as gb:
        return read_scores(gb, course.notebook_names())


def cmd_export(args: argparse.Namespace) -> int:
    from nbgrader.plugins.export import CsvExportPlugin

    from autograder.lms import write_lms_files
    from autograder.report import write_mistakes_csv, write_scores_csv

    course = _course(args)
    scores = _scores(course)
    exports = course.root / "exports"
    exports.mkdir(exist_ok=True)
    with course.gradebook() as gb:
        CsvExportPlugin(to=str(exports / "grades.csv")).export(gb)
    table = write_scores_csv(scores, course.flags(), exports / f"{ASSIGNMENT}_scores.csv")
    mistakes = write_mistakes_csv(course.mistakes(), exports / f"{ASSIGNMENT}_mistakes.csv")
    print(f"wrote {exports / 'grades.csv'} (nbgrader), {table} and {mistakes}")
    for line in write_lms_files(course.root, scores, exports):
        print(line)
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from autograder.late import read_policy
    from autograder.report import histogram, mistake_lines, summary_lines

    course = _course(args)
    scores = _scores(course)
    print(f"late work: {read_policy(course.root).describe()}")
    print("\n".join(summary_lines(scores, course.flags()) + mistake_lines(course.mistakes())))
    print("\nisolation (what held the graded code):")
    for what, count in course.isolation().items():
        print(f"  {count} notebook(s): {what}")
    png = histogram(scores, course.root / "exports" / "histogram.png")
    print(f"\nhistogram of totals: {png}")
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    from autograder.bundle import bundle

    course = _course(args)
    out = bundle(Path(args.out) if args.out else course.root / "exports" / "week14-student.zip")
    print(f"student bundle: {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from autograder.examples import write_examples
    from autograder.sandbox import isolation

    problem = isolation().sandbox
    if problem is not None:
        print("=" * 78 + f"\nTHIS DEMO GRADES WITHOUT A SANDBOX: {problem}.\nIts example "
              "submissions are harmless; do not grade real ones here until that is "
              "fixed.\n" + "=" * 78 + "\n")
    if args.course is None:
        args.course = tempfile.mkdtemp(prefix="week14-demo-")
    print(f"demo course: {args.course}\n")
    examples = Path(args.course) / "examples"
    write_examples(examples)
    steps = [(cmd_collect, {"path": str(examples), "map": None}),
             (cmd_grade, {"force": False, "jobs": os.cpu_count() or 1, "shard": None,
                          "student": None, "notebook": None, "allow_unsandboxed": True}),
             (cmd_feedback, {"student": None, "release": False}), (cmd_export, {}),
             (cmd_summary, {})]
    for step, extra in steps:
        print(f"== {step.__name__.removeprefix('cmd_')}")
        step(argparse.Namespace(**{**vars(args), **extra}))
        print()
    return 0


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course", metavar="DIR", default=None,
                        help="course folder (default: $WEEK14_COURSE or <repo>/course)")
    common.add_argument("--db-url", default=None,
                        help=f"gradebook as an SQLAlchemy URL (default: ${DB_URL_ENV}, "
                             "else DIR/gradebook.db)")
    common.add_argument("--quiet", action="store_true", help="no progress bar")
    top = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, run, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(run=run)
        return p

    add("release", cmd_release, "regenerate notebooks/ from solutions/ (checked first)"
        ).add_argument("--no-check", action="store_true",
                       help="skip executing the sources with nbgrader's validator")
    collect_ = add("collect", cmd_collect, "take submissions from a folder or an LMS zip")
    collect_.add_argument("path", help="folder (STUDENT/NOTEBOOK.ipynb) or LMS download zip")
    collect_.add_argument("--map", metavar="CSV",
                          help="CSV with columns lms,student: what the LMS calls each "
                               "student (Canvas user id or name, Moodle full name) -> id")
    grade = add("grade", cmd_grade, "autograde new or changed submissions")
    grade.add_argument("--force", action="store_true", help="grade every submission again")
    grade.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                       help="worker processes (default: the number of cores)")
    grade.add_argument("--shard", metavar="INDEX/COUNT",
                       help="grade only slice INDEX of COUNT of the students (e.g. 1/2 and "
                            "2/2 on two machines sharing a PostgreSQL gradebook, --db-url); "
                            "`auto` in a Slurm job array or a Kubernetes Indexed Job")
    grade.add_argument("--student", action="append",
                       help="only this student (repeatable); with --force, regrade them")
    grade.add_argument("--notebook", action="append",
                       help="only this notebook, e.g. 03_gradient_descent (repeatable)")
    grade.add_argument("--allow-unsandboxed", action="store_true",
                       help="grade even where the sandbox cannot be built (a submission "
                            "could then read and change the grader's files)")
    feedback = add("feedback", cmd_feedback, "write feedback HTML for graded students")
    feedback.add_argument("--student", action="append", help="only this student (repeatable)")
    feedback.add_argument("--release", action="store_true",
                          help="also zip one page per student, named for Canvas's and "
                               "Moodle's bulk feedback upload (DIR/exports/feedback-*.zip)")
    add("export", cmd_export, "write grades.csv (nbgrader) and a student x notebook CSV")
    add("summary", cmd_summary, "print the class summary and write a histogram PNG")
    add("bundle", cmd_bundle, "zip the student materials (no solutions, no autograder)"
        ).add_argument("--out", help="zip path (default: DIR/exports/week14-student.zip)")
    add("demo", cmd_demo, "the whole cycle on example submissions in a fresh course")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, RuntimeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
