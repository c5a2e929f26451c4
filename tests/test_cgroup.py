"""Control groups for a sandbox's process tree (autograder/cgroup.py).

On this machine (root, cgroup v1) the limits are real: a tree of processes is stopped
as a whole. cgroup v2 is checked against a model of its files (a folder laid out as
/sys/fs/cgroup is), which shows what the grader writes, not what the kernel does.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import cgroup
from autograder.cgroup import ControlGroup, TreeLimits


@pytest.fixture
def group():
    made = ControlGroup.create(cgroup.group_name("week14-test"),
                               TreeLimits(memory=256 * 2**20, tasks=16))
    yield made
    made.remove()


def run_in(group: ControlGroup, code: str) -> subprocess.CompletedProcess:
    return subprocess.run(group.command([sys.executable, "-c", code]), capture_output=True,
                          text=True, timeout=60)


def test_control_groups_are_available_here():
    """`make test` runs as root on a machine with cgroup v1: the limits hold here."""
    assert cgroup.available() is None


def test_memory_is_limited_for_all_the_processes_together(group):
    """Three processes of 128 MiB each: each is under the limit, together they are not."""
    done = run_in(group, "import os, time\nfor _ in range(2):\n    if os.fork() == 0:\n"
                         "        break\nblock = bytearray(128 * 2**20)\ntime.sleep(2)\n"
                         "print('survived')")
    assert group.out_of_memory_kills() >= 1
    assert done.stdout.count("survived") < 3


def test_processes_are_limited_for_the_tree(group):
    done = run_in(group, "import os, time\nmade = 0\ntry:\n    for _ in range(100):\n"
                         "        if os.fork() == 0:\n            time.sleep(3)\n"
                         "            os._exit(0)\n        made += 1\nexcept OSError:\n"
                         "    pass\nprint(made)")
    assert 0 < int(done.stdout.split()[-1]) < 16


def started_in(group: ControlGroup, cmd: list[str]) -> subprocess.Popen:
    """``cmd`` started in ``group``, once it is there."""
    process = subprocess.Popen(group.command(cmd))
    deadline = time.monotonic() + 10
    while not group.pids():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    return process


def test_remove_kills_what_is_left_and_deletes_the_group(group):
    process = started_in(group, ["sleep", "600"])
    group.remove()
    assert process.wait(timeout=10) == -9
    assert not any(folder.exists() for folder in group.folders.values())


def test_remove_run_removes_every_group_of_a_run():
    run = cgroup.group_name("week14-test-run")
    groups = [ControlGroup.create(cgroup.group_name(run), TreeLimits(2**28, 8))
              for _ in range(2)]
    other = ControlGroup.create(cgroup.group_name("week14-test-other"), TreeLimits(2**28, 8))
    try:
        sleeper = started_in(groups[0], ["sleep", "600"])
        assert cgroup.remove_run(run) == 2
        assert sleeper.wait(timeout=10) == -9
        assert not any(f.exists() for g in groups for f in g.folders.values())
        assert all(f.exists() for f in other.folders.values())
    finally:
        other.remove()


def fake_v2(root: Path, controllers: str = "cpuset cpu io memory pids") -> Path:
    """A folder laid out as a cgroup v2 hierarchy in which this process is in /."""
    (root / "cgroup.controllers").write_text(controllers + "\n")
    (root / "cgroup.subtree_control").write_text("")
    return root


def test_v2_writes_the_limits_in_the_group_this_process_is_in(tmp_path, monkeypatch):
    real = Path.read_text

    def read_text(path: Path, *args, **kwargs) -> str:
        if str(path) == "/proc/self/cgroup":
            return "0::/\n"
        return real(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    root = fake_v2(tmp_path)
    made = ControlGroup.create("week14-x-1", TreeLimits(2**30, 64, cpus=1.5), root)
    folder = root / "week14-x-1"
    assert made.version == 2 and set(made.folders.values()) == {folder}
    assert (root / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (folder / "memory.max").read_text() == str(2**30)
    assert (folder / "pids.max").read_text() == "64"
    assert (folder / "cpu.max").read_text() == "150000 100000"
    assert made.command(["true"])[1] == f"W14_PROCS={folder / 'cgroup.procs'}"


def test_v2_without_a_controller_says_which(tmp_path, monkeypatch):
    real = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda path, *a, **k: "0::/\n" if str(
        path) == "/proc/self/cgroup" else real(path, *a, **k))
    root = fake_v2(tmp_path, "cpu io")
    with pytest.raises(OSError, match="no memory, pids controller"):
        ControlGroup.create("week14-x-2", TreeLimits(2**30, 64), root)
    assert "memory, pids" in cgroup.available(root)
    assert not (root / "week14-x-2").exists()


def test_no_control_groups_mounted_says_so(tmp_path):
    assert "no control groups are mounted" in cgroup.available(tmp_path)
