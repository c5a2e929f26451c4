"""Late work: a due date, a policy and per-student extensions, applied through nbgrader.

The policy lives in the course folder's ``course.toml`` (all keys optional; without a
``due`` nothing is late)::

    [late]
    due = 2026-12-10T23:59:00Z      # the assignment's due date (TOML date-time)
    grace_minutes = 15              # this late still counts as on time
    percent_per_day = 10            # per started day late, of the notebook's score
    cap_percent = 50                # a late penalty takes at most this much
    # zero = true                   # instead: late work scores 0

    [late.extensions]               # a student's own due date
    jane_doe = 2026-12-12T23:59:00Z

``grade`` writes the due date into the gradebook's assignment, each student's
extension and submission time (collect's ``timestamp.txt``) into their submission, and
asks :class:`CoursePolicy`, an nbgrader ``LateSubmissionPlugin``, for each notebook's
penalty; nbgrader stores it as ``late_submission_penalty``, so the gradebook, its CSV
export, our export and summary, and the feedback page ("Late submission penalty") all
show it. A notebook the LMS marked late (Canvas's ``LATE``) whose file time is on time
counts as one second late (the smallest penalty), unless the student has an extension
in ``course.toml``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin

CONFIG_FILE = "course.toml"
DAY = 86400.0


@dataclass(frozen=True)
class LatePolicy:
    """When the assignment is due and what lateness costs."""

    due: datetime | None = None
    grace: timedelta = timedelta(0)
    percent_per_day: float = 0.0
    cap_percent: float = 100.0
    zero: bool = False
    extensions: dict[str, datetime] = field(default_factory=dict)

    def due_for(self, student: str) -> datetime | None:
        """The student's due date: their extension's, else the assignment's."""
        return self.extensions.get(student, self.due)

    def penalty(self, score: float, seconds_late: float) -> float:
        """Points taken from a notebook scoring ``score`` handed in ``seconds_late``
        after its due date: nothing within the grace period; else ``score`` when the
        policy is zero, or ``percent_per_day`` per started day, at most ``cap_percent``
        of ``score``."""
        if seconds_late <= self.grace.total_seconds() or score <= 0:
            return 0.0
        if self.zero:
            return float(score)
        days = math.ceil(seconds_late / DAY)
        return float(score) * min(self.percent_per_day * days, self.cap_percent) / 100.0

    def describe(self) -> str:
        """The policy in one line, for the summary."""
        if self.due is None:
            return "no due date (course.toml [late] due): nothing is late"
        cost = ("late work scores 0" if self.zero else
                f"{self.percent_per_day:g} % per started day late, at most "
                f"{self.cap_percent:g} %")
        grace = f", {self.grace.total_seconds() / 60:g} min grace" if self.grace else ""
        return f"due {self.due.isoformat()}{grace}: {cost}"


def _when(value: object, where: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    raise ValueError(f"{where} must be a TOML date-time such as 2026-12-10T23:59:00Z, "
                     f"got {value!r}")


def _number(table: dict, key: str, default: float, low: float, high: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{CONFIG_FILE} [late] {key} must be a number from {low:g} to "
                         f"{high:g}, got {value!r}")
    return float(value)


def read_policy(course_root: Path) -> LatePolicy:
    """The late policy of ``course_root/course.toml`` (no file: nothing is late). Bad
    values raise ValueError naming the key and what it takes."""
    path = course_root / CONFIG_FILE
    if not path.exists():
        return LatePolicy()
    try:
        late = tomllib.loads(path.read_text()).get("late", {})
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path} is not valid TOML: {err}") from None
    unknown = set(late) - {"due", "grace_minutes", "percent_per_day", "cap_percent", "zero",
                           "extensions"}
    if unknown:
        raise ValueError(f"{path} [late] has unknown keys {sorted(unknown)}: use due, "
                         "grace_minutes, percent_per_day, cap_percent, zero, extensions")
    zero = late.get("zero", False)
    if not isinstance(zero, bool):
        raise ValueError(f"{CONFIG_FILE} [late] zero must be true or false, got {zero!r}")
    return LatePolicy(
        due=_when(late["due"], f"{CONFIG_FILE} [late] due") if "due" in late else None,
        grace=timedelta(minutes=_number(late, "grace_minutes", 0, 0, 7 * 24 * 60)),
        percent_per_day=_number(late, "percent_per_day", 0, 0, 100),
        cap_percent=_number(late, "cap_percent", 100, 0, 100),
        zero=zero,
        extensions={student: _when(when, f"{CONFIG_FILE} [late.extensions] {student}")
                    for student, when in late.get("extensions", {}).items()})


def submitted_at(folder: Path, policy: LatePolicy, student: str) -> datetime | None:
    """When the student's submission in ``folder`` was handed in (collect's
    ``timestamp.txt``). Where the LMS marked it late but its time is not, one second
    after the due date, unless the student has an extension here (the LMS measured
    against its own due date)."""
    stamp = folder / "timestamp.txt"
    when = datetime.fromisoformat(stamp.read_text().strip()) if stamp.exists() else None
    due = policy.due
    if ((folder / "late.txt").exists() and due is not None and student not in policy.extensions
            and (when is None or when <= due)):
        return due + timedelta(seconds=1)
    return when


class CoursePolicy(LateSubmissionPlugin):
    """nbgrader's late-submission plugin for this course: :meth:`LatePolicy.penalty`."""

    def __init__(self, policy: LatePolicy, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.policy = policy

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float | None:
        return self.policy.penalty(score, total_seconds_late)
