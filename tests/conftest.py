import os

# The tests import their shared modules (course, submissions, battery_cases) by name: pytest.ini puts tests/
# on sys.path (`pythonpath`); `grading` and `bn_course` are installed in the venv by `make install`.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import pytest  # noqa: E402

from course import ASSIGNMENTS, copy_course, nbgrader  # noqa: E402


@pytest.fixture(scope="session")
def released_course(tmp_path_factory):
    """A temporary copy of the course in which every assignment was released afresh by nbgrader."""
    course = copy_course(tmp_path_factory.mktemp("released") / "course")
    for assignment in ASSIGNMENTS:
        nbgrader(course, "generate_assignment", assignment, "--force")
    return course
