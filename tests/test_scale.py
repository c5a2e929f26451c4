"""Grading a large course: shards, a shared PostgreSQL gradebook, the assignment synced
once. The PostgreSQL server comes from `make postgres` (tests/start_postgres.sh); set
WEEK14_TEST_PG to use another (its role needs CREATEDB)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autograder.config import ASSIGNMENT, REPO
from autograder.course import Course, Shard
from autograder.examples import student_notebook
from autograder.report import read_scores

#: Fast notebooks the example class hands in; the others count as not submitted.
HANDED_IN = ("01_feedforward", "09_pooling")
KINDS = ("perfect", "partly", "untouched")


@pytest.mark.parametrize("text", ["", "2", "1/", "a/b", "0/2", "3/2", "-1/2", "1/0"])
def test_bad_shards_say_the_expected_form(text):
    with pytest.raises(ValueError, match=r"INDEX/COUNT.*1/2"):
        Shard.parse(text)


def test_shards_split_a_class_stably_and_evenly():
    students = [f"student{i:03d}" for i in range(300)]
    for count in (1, 2, 3, 5):
        shards = [Shard.parse(f"{i}/{count}") for i in range(1, count + 1)]
        owners = [[s for s in shards if student in s] for student in students]
        assert all(len(o) == 1 for o in owners)  # every student in exactly one shard
        sizes = [sum(o[0] is s for o in owners) for s in shards]
        assert min(sizes) > 0.7 * len(students) / count, sizes
    # Membership depends on the name only, the same on every machine: another Python
    # process (with its own string-hash seed) puts every student in the same shard.
    code = ("import sys; from autograder.course import Shard; "
            "print(''.join('1' if s in Shard(1, 3) else '0' for s in sys.argv[1:]))")
    other = subprocess.run([sys.executable, "-c", code, *students], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert other == "".join("1" if s in Shard(1, 3) else "0" for s in students)


def make_class(submitted: Path, students: list[str]) -> None:
    """Each student hands in HANDED_IN only, as perfect / partly / untouched in turn."""
    for i, student in enumerate(students):
        folder = submitted / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for name in HANDED_IN:
            (folder / f"{name}.ipynb").write_text(
                student_notebook(f"{name}.ipynb", KINDS[i % len(KINDS)]))


def grade_command(course: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", "--course", str(course),
            "--quiet", *extra]


def test_two_shards_sharing_postgres_equal_one_machine(tmp_path, pg_url):
    students = [f"s{i}" for i in range(6)]
    assert {1, 2} <= {1 if s in Shard(1, 2) else 2 for s in students}  # both get work
    shared = tmp_path / "shared"  # one course folder, as on a shared file system
    single = tmp_path / "single"
    make_class(shared / "submitted", students)
    make_class(single / "submitted", students)

    shards = [subprocess.Popen(grade_command(shared, "--db-url", pg_url, "--shard",
                                             f"{i}/2", "--jobs", "1"),
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True) for i in (1, 2)]
    outputs = [p.communicate(timeout=600)[0] for p in shards]
    assert [p.returncode for p in shards] == [0, 0], outputs
    for i, output in enumerate(outputs, start=1):
        mine = sum(s in Shard(i, 2) for s in students)
        assert f"of {mine} student(s)" in output, output
    alone = subprocess.run(grade_command(single, "--jobs", "2"), cwd=REPO,
                           capture_output=True, text=True, timeout=600)
    assert alone.returncode == 0, alone.stdout + alone.stderr

    on_postgres, on_one_machine = Course(shared, db_url=pg_url), Course(single)
    with on_postgres.gradebook() as gb:
        sharded = read_scores(gb, on_postgres.notebook_names())
    with on_one_machine.gradebook() as gb:
        reference = read_scores(gb, on_one_machine.notebook_names())
    assert sharded.students == reference.students == students
    assert sharded.notebook_scores == reference.notebook_scores
    assert sharded.test_scores == reference.test_scores
    assert on_postgres.flags() == on_one_machine.flags()
    # The class is right, not only equal: perfect, partly and untouched students.
    top = reference.total("s0")[1]
    totals = [reference.total(s)[0] for s in students]
    handed = sum(reference.notebook_scores[("s0", nb)][1] for nb in HANDED_IN)
    assert totals[0] == totals[3] == handed < top
    assert 0 < totals[1] == totals[4] < handed and totals[2] == totals[5] == 0
    # Every shard is done: running it again grades nothing.
    again = subprocess.run(grade_command(shared, "--db-url", pg_url, "--shard", "2/2"),
                           cwd=REPO, capture_output=True, text=True, timeout=600)
    assert "every submission in shard 2/2 is already graded" in again.stdout


def test_the_assignment_is_synced_once(tmp_path):
    course = Course(tmp_path / "course")
    assert course.sync_assignment() is True
    assert course.sync_assignment() is False
    (course.root / "gradebook.db").unlink()  # a new gradebook must learn the assignment
    assert course.sync_assignment() is True
    assert course.sync_assignment(force=True) is True
