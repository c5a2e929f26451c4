"""The instructor's command line: ``python -m autograder COMMAND``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autograder.config import REPO


def _release(args: argparse.Namespace) -> int:
    from autograder.release import release

    released = release(check=not args.no_check)
    for path in released:
        print(f"released {path.relative_to(REPO)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="regenerate notebooks/ from solutions/")
    rel.add_argument("--no-check", action="store_true",
                     help="skip executing the sources with nbgrader's validator")
    rel.set_defaults(run=_release)
    args = parser.parse_args(argv)
    # nbgrader runs helper programs (alembic, jupyter) by name: use this environment's.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    try:
        return args.run(args)
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
