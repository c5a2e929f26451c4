"""Limits on a student's whole process tree: one Linux control group per sandbox.

A per-process limit (``prlimit``) does not cap a tree: a kernel and three forked
children may each take the whole memory limit, and a fork loop is not stopped at all.
A control group is counted by the Linux kernel over every process in it, children and
grandchildren included, and files in the sandbox's tmpfs folders count as the memory of
the process that wrote them:

- ``memory``: bytes of memory of all the processes together (past it the kernel's
  out-of-memory killer ends one of them, normally the kernel that allocated most);
- ``pids``: processes and threads together (``fork`` fails past it);
- ``cpu``: CPU time per second of wall-clock time (a quota of one core), so a busy
  child left behind cannot take a second core from the other students' grading.

Linux offers two interfaces. **cgroup v2** is one hierarchy at ``/sys/fs/cgroup``
(``cgroup.controllers`` there): the grader makes ``week14-RUN-…`` groups under the
group it runs in, which must be the hierarchy's root or a group it may write whose
controllers it can enable (run as root, or under a delegated subtree such as
``systemd-run --scope -p Delegate=yes``). **cgroup v1** has one hierarchy per controller
(``/sys/fs/cgroup/memory`` ...): the grader makes a group under its own in each,
which needs write access (root). Where neither works, :func:`available` says why and
only the per-process limits apply (see :mod:`autograder.sandbox`).

This machine (Linux 6.18, Debian 12, as root) has cgroup v1 for memory, pids and cpu,
and a v2 hierarchy with no controllers: v1 is used. The v2 code is exercised here only
against a model of its files (tests/test_limits.py), not against the kernel.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

#: Where the control-group hierarchies are mounted.
ROOT = Path("/sys/fs/cgroup")
#: What a group limits (the controllers it needs, in both versions).
CONTROLLERS = ("memory", "pids", "cpu")
#: The CPU quota's period, microseconds (the kernel's default).
PERIOD_US = 100_000


@dataclass(frozen=True)
class TreeLimits:
    """Limits for all the processes of one student's sandbox together."""

    memory: int  # bytes, tmpfs files written by the processes included
    tasks: int  # processes and threads
    cpus: float = 1.0  # cores' worth of CPU time per second


def _own_group(controller: str | None, root: Path) -> Path:
    """The group this process is in, for ``controller`` (v1) or in v2 (None), from
    ``/proc/self/cgroup`` (lines ``ID:CONTROLLERS:PATH``)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if (controller is None and names == "") or controller in names.split(","):
            return root / (controller or "") / path.lstrip("/")
    raise OSError(f"this process is in no {controller or 'v2'} control group")


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:  # one write() per value, as the kernel expects
        fh.write(value)


class ControlGroup:
    """One sandbox's control group: a folder per controller (v1) or one folder (v2).

    Made by :meth:`create`; :meth:`command` starts a command line inside it;
    :meth:`remove` kills whatever is left in it and deletes it."""

    def __init__(self, folders: dict[str, Path], version: int):
        self.folders = folders  # controller -> its folder (v2: the same folder for all)
        self.version = version

    @classmethod
    def create(cls, name: str, limits: TreeLimits, root: Path = ROOT) -> ControlGroup:
        """Make the group ``name`` with ``limits`` under this process's own groups.
        Raises OSError where the machine does not let this process do it."""
        group = cls({}, 2 if (root / "cgroup.controllers").exists() else 1)
        try:
            group._make(name, root)
            group._set_limits(limits)
        except OSError:
            group.remove()
            raise
        return group

    def _make(self, name: str, root: Path) -> None:
        if self.version == 1:
            if not (root / "memory" / "tasks").exists():
                raise OSError(f"no control groups are mounted at {root}")
            for controller in CONTROLLERS:
                folder = _own_group(controller, root) / name
                folder.mkdir()
                self.folders[controller] = folder
            return
        parent = _own_group(None, root)
        missing = [c for c in CONTROLLERS
                   if c not in (parent / "cgroup.controllers").read_text().split()]
        if missing:
            raise OSError(f"cgroup v2 offers no {', '.join(missing)} controller in {parent}")
        if any(c not in (parent / "cgroup.subtree_control").read_text().split()
               for c in CONTROLLERS):
            _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in CONTROLLERS))
        (parent / name).mkdir()
        self.folders = dict.fromkeys(CONTROLLERS, parent / name)

    def _set_limits(self, limits: TreeLimits) -> None:
        memory, pids, cpu = (self.folders[c] for c in CONTROLLERS)
        quota = round(limits.cpus * PERIOD_US)
        if self.version == 2:
            _write(memory / "memory.max", str(limits.memory))
            if (memory / "memory.swap.max").exists():
                _write(memory / "memory.swap.max", "0")
            _write(pids / "pids.max", str(limits.tasks))
            _write(cpu / "cpu.max", f"{quota} {PERIOD_US}")
            return
        _write(memory / "memory.limit_in_bytes", str(limits.memory))
        if (memory / "memory.memsw.limit_in_bytes").exists():  # no swapping past it
            _write(memory / "memory.memsw.limit_in_bytes", str(limits.memory))
        _write(pids / "pids.max", str(limits.tasks))
        _write(cpu / "cpu.cfs_period_us", str(PERIOD_US))
        _write(cpu / "cpu.cfs_quota_us", str(quota))

    def _procs_files(self) -> list[Path]:
        return sorted({folder / "cgroup.procs" for folder in self.folders.values()})

    def command(self, cmd: list[str]) -> list[str]:
        """``cmd`` started inside this group: a shell that moves itself in, then
        becomes ``cmd`` (so every process it starts is in the group from its first
        instruction)."""
        join = 'for f in $W14_PROCS; do echo $$ > "$f" || exit 125; done; exec "$@"'
        files = " ".join(str(path) for path in self._procs_files())
        return ["env", f"W14_PROCS={files}", "sh", "-c", join, "sh", *cmd]

    def pids(self) -> set[int]:
        """Processes in the group now."""
        found: set[int] = set()
        for path in self._procs_files():
            with contextlib.suppress(OSError):
                found |= {int(pid) for pid in path.read_text().split()}
        return found

    def kill(self) -> None:
        """Kill every process in the group (again until none is left: a process may
        fork while it is being killed)."""
        for folder in set(self.folders.values()) if self.version == 2 else ():
            with contextlib.suppress(OSError):
                _write(folder / "cgroup.kill", "1")  # Linux 5.14 and later
        for _ in range(100):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        """Kill what is left and delete the group's folders."""
        self.kill()
        for folder in sorted(set(self.folders.values())):
            for _ in range(100):  # a killed process leaves its group a moment later
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)

    def out_of_memory_kills(self) -> int:
        """How many processes the kernel killed for the group's memory limit so far."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            lines = (self.folders["memory"] / name).read_text().splitlines()
        except (OSError, KeyError):
            return 0
        return sum(int(line.split()[1]) for line in lines if line.startswith("oom_kill "))


def group_name(run: str) -> str:
    """A new group's name for one sandbox of grading run ``run``."""
    return f"{run}-{secrets.token_hex(4)}"


def remove_run(run: str, root: Path = ROOT) -> int:
    """Kill and delete every group of the grading run ``run`` (its name's prefix, see
    :func:`group_name`) under this process's own groups: after an interrupted run,
    nothing of it is left. The number of groups removed."""
    groups: dict[str, dict[str, Path]] = {}
    version = 2 if (root / "cgroup.controllers").exists() else 1
    for controller in CONTROLLERS:
        try:
            parent = _own_group(None if version == 2 else controller, root)
        except OSError:
            continue
        for folder in parent.glob(f"{run}-*"):
            groups.setdefault(folder.name, {})[controller] = folder
    for folders in groups.values():
        ControlGroup(folders, version).remove()
    return len(groups)


def available(root: Path = ROOT) -> str | None:
    """None when this process can make control groups with every controller; else
    why not, in a sentence."""
    try:
        group = ControlGroup.create(group_name("week14-probe"), TreeLimits(2**30, 64), root)
    except OSError as err:
        return f"control groups are not available ({err})"
    group.remove()
    return None
