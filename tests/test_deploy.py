"""The cluster recipes in deploy/: read as their scheduler reads them, and run as it runs
them (every array task, with the variables it sets) against one PostgreSQL gradebook.

Each task grades its shard (`grade --shard auto`); together they grade every student
exactly once, and a task run again grades nothing.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import yaml

from autograder.config import ASSIGNMENT, REPO
from autograder.course import Course
from autograder.examples import student_notebook

DEPLOY = REPO / "deploy"
HANDED_IN = "01_feedforward"  # fast; the other notebooks count as not submitted
STUDENTS = [f"s_{i}" for i in range(5)]


def a_class(course) -> None:
    for student in STUDENTS:
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{HANDED_IN}.ipynb").write_text(student_notebook(f"{HANDED_IN}.ipynb",
                                                                    "perfect"))


def run_tasks(commands: list[tuple[list[str], dict]]) -> list[str]:
    """Start every task at once, as the scheduler does; their outputs."""
    tasks = [subprocess.Popen(command, env={**os.environ, **env}, cwd=REPO, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for command, env in commands]
    outputs = [task.communicate(timeout=900)[0] for task in tasks]
    assert [task.returncode for task in tasks] == [0] * len(tasks), outputs
    return outputs


def graded_once(course, pg_url, outputs) -> None:
    graded = Course(course, db_url=pg_url).graded()
    assert sorted(graded) == STUDENTS
    counts = [int(m[1]) for out in outputs
              for m in [re.search(r"of (\d+) student\(s\)", out)] if m]
    assert sum(counts) == len(STUDENTS), outputs  # each student by exactly one task


def test_the_kubernetes_indexed_job_grades_every_student_once(tmp_path, pg_url):
    job = yaml.safe_load((DEPLOY / "grade-job.yaml").read_text())
    spec = job["spec"]
    assert job["kind"] == "Job" and spec["completionMode"] == "Indexed"
    container = spec["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert int(env["SHARD_COUNT"]) == spec["completions"] == spec["parallelism"]
    command = container["command"]
    assert command[:3] == [".venv/bin/python", "-m", "autograder"]
    assert command[command.index("--shard") + 1] == "auto"
    assert "WEEK14_DB_URL" in env  # from the Secret
    course = tmp_path / "course"
    a_class(course)
    mounted = {m["mountPath"] for m in container["volumeMounts"]}
    assert command[command.index("--course") + 1] in mounted
    here = [sys.executable, *command[1:]]
    here[here.index("--course") + 1] = str(course)
    here[here.index("--jobs") + 1] = "1"
    outputs = run_tasks([(here, {"JOB_COMPLETION_INDEX": str(i),
                                 "SHARD_COUNT": env["SHARD_COUNT"], "WEEK14_DB_URL": pg_url})
                         for i in range(spec["completions"])])
    graded_once(course, pg_url, outputs)
    again = run_tasks([(here, {"JOB_COMPLETION_INDEX": "0", "SHARD_COUNT": env["SHARD_COUNT"],
                               "WEEK14_DB_URL": pg_url})])
    assert "is already graded" in again[0]


def test_the_slurm_array_grades_every_student_once(tmp_path, pg_url):
    script = (DEPLOY / "grade.slurm").read_text()
    options = dict(re.findall(r"^#SBATCH --([\w-]+)=(\S+)", script, re.MULTILINE))
    first, last = (int(n) for n in options["array"].split("-"))
    assert "--shard auto" in " ".join(shlex.split(script.split("exec ", 1)[1]))
    course = tmp_path / "course"
    a_class(course)
    outputs = run_tasks([(["bash", str(DEPLOY / "grade.slurm")], {
        "SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_MIN": str(first),
        "SLURM_ARRAY_TASK_MAX": str(last), "SLURM_ARRAY_TASK_COUNT": str(last - first + 1),
        "SLURM_CPUS_PER_TASK": "1", "SLURM_SUBMIT_DIR": str(REPO),
        "WEEK14_COURSE": str(course), "WEEK14_DB_URL": pg_url})
        for task in range(first, last + 1)])
    graded_once(course, pg_url, outputs)
