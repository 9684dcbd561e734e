"""notebooks/ is generated from solutions/ by nbgrader: regenerating it reproduces the committed files."""
import json

import pytest

from course import ASSIGNMENTS, ROOT, notebook_path


def test_every_solution_has_a_released_notebook_and_back():
    released = sorted(path.name for path in (ROOT / "notebooks").iterdir() if path.is_dir())
    assert released == ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_student_notebook_is_what_nbgrader_generates(released_course, assignment):
    committed = json.loads(notebook_path(ROOT, "notebooks", assignment).read_text())
    regenerated = json.loads(notebook_path(released_course, "notebooks", assignment).read_text())
    assert committed == regenerated, (
        f"notebooks/{assignment} is out of date: run `make release` and commit the result"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_notebook_has_no_solutions_or_hidden_tests(assignment):
    text = notebook_path(ROOT, "notebooks", assignment).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"{marker} leaked into notebooks/{assignment}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_notebook_starts_with_the_colab_setup_cell(assignment):
    notebook = json.loads(notebook_path(ROOT, "notebooks", assignment).read_text())
    first_code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    source = "".join(first_code["source"])
    assert "google.colab" in source and "subdirectory=helpers" in source
    badge = "".join(notebook["cells"][0]["source"])
    assert f"notebooks/{assignment}/{assignment}.ipynb" in badge and "colab.research.google.com" in badge


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_notebook_does_not_say_what_the_hidden_tests_look_for(assignment):
    """The wrong answers a hidden test targets, and the project's tests that prove it, belong inside the hidden
    region: in the student notebook they would tell what to get right for the hidden points only."""
    text = notebook_path(ROOT, "notebooks", assignment).read_text()
    for marker in ("Wrong answers", "tests/test_exercises_"):
        assert marker not in text, f"notebooks/{assignment} shows {marker!r}: move it inside ### BEGIN HIDDEN TESTS"
