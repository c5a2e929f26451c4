"""The formgrader's nbgrader configuration: the course's own, from autograder/."""

load_subconfig("../../autograder/nbgrader_config.py")  # noqa: F821 - provided by traitlets
