"""Shared fixtures: one course graded once per test session (grading is the slow part)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from autograder.__main__ import main
from autograder.examples import write_examples

#: The PostgreSQL server of the tests that share a gradebook: `make postgres`
#: (tests/start_postgres.sh), or WEEK14_TEST_PG (its role needs CREATEDB).
PG = os.environ.get("WEEK14_TEST_PG",
                    "postgresql+psycopg://week14:week14@127.0.0.1:5432/postgres")


#: Test tiers, by module (`pytest -m`; tests/browser/ is the `browser` tier). `make test`
#: runs every tier; `make test-fast` leaves out these three, for quick rounds while coding.
TIERS = {
    # grades notebooks with the real autograder: bubblewrap, cgroups, kernels per student
    "sandbox": {"test_answer_styles.py", "test_autograder.py", "test_cgroup.py",
                "test_deploy.py", "test_hostile.py", "test_misconceptions.py",
                "test_notebooks.py", "test_sandbox.py", "test_scale.py", "test_stop.py",
                "test_workflow.py"},
    # fresh virtual environments, JupyterLab servers, long training runs
    "slow": {"test_bundle.py", "test_launcher.py", "test_stalls.py"},
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.fspath)
        if "browser" in path.parts:
            item.add_marker(pytest.mark.browser)
        for tier, modules in TIERS.items():
            if path.name in modules:
                item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """A course where the four example students (perfect, untouched, partly, broken)
    were collected, graded, given feedback and exported through the command line."""
    from autograder.course import Course

    root = tmp_path_factory.mktemp("graded")
    examples = root / "examples"
    write_examples(examples)
    course = root / "course"
    for command in (["collect", str(examples)], ["grade"], ["feedback"], ["export"]):
        assert main([*command, "--course", str(course), "--quiet"]) == 0, command
    yield Course(course)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def figures(monkeypatch):
    """Capture the figures explorers show (instead of displaying them)."""
    import matplotlib.pyplot as plt

    from week14.widgets._base import Explorer

    shown: list = []
    monkeypatch.setattr(Explorer, "show_figure", staticmethod(shown.append))
    yield shown
    for fig in shown:
        plt.close(fig)


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy

    server = sqlalchemy.create_engine(PG, isolation_level="AUTOCOMMIT")
    name = f"week14_test_{uuid.uuid4().hex[:12]}"
    try:
        with server.connect() as connection:
            connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    except sqlalchemy.exc.OperationalError as err:
        pytest.fail(f"no PostgreSQL at {PG} ({err.orig}): run `make postgres` "
                    "(tests/start_postgres.sh) or set WEEK14_TEST_PG")
    yield str(sqlalchemy.engine.make_url(PG).set(database=name)
              .render_as_string(hide_password=False))
    with server.connect() as connection:
        connection.execute(sqlalchemy.text(f"DROP DATABASE {name} WITH (FORCE)"))
    server.dispose()
