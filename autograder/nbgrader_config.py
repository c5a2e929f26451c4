"""Configuration for plain ``nbgrader`` commands and the formgrader.

Use from anywhere with ``--NbGrader.config_file=<repo>/autograder/nbgrader_config``;
the course folder is ``$WEEK14_COURSE`` or ``<repo>/course``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.config import nbgrader_config  # noqa: E402

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file
c.merge(nbgrader_config())
