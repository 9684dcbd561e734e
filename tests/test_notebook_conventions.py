"""Conventions every source notebook follows, so that grading behaves as intended."""
import re

import pytest

from course import ASSIGNMENTS, ROOT, notebook_path, read_notebook

from grading.feedback import BEGIN, hidden_regions


def graded_test_cells(assignment):
    notebook = read_notebook(notebook_path(ROOT, "solutions", assignment))
    return [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_end_without_a_value(assignment):
    """nbgrader reads a number left as a test cell's value as partial credit: test cells must end in a statement."""
    with_value = [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in graded_test_cells(assignment)
        if any(output.output_type == "execute_result" for output in cell.get("outputs", []))
    ]
    assert not with_value, f"test cells that leave a value: {with_value}"


def has_hidden_tests(cell):
    """Whether a test cell opens a hidden-test region (nbgrader's own marker, read by grading's one parser)."""
    return any(place == BEGIN for _, place in hidden_regions(cell.source))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_exercise_has_public_and_hidden_tests_worth_points(assignment):
    cells = graded_test_cells(assignment)
    hidden = [cell for cell in cells if has_hidden_tests(cell)]
    public = [cell for cell in cells if not has_hidden_tests(cell)]
    assert len(public) >= 2 and len(hidden) >= 2, "each notebook needs at least two autograded exercises"
    assert all(cell.metadata["nbgrader"]["points"] > 0 for cell in cells)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_stored_outputs_have_no_errors_or_stderr(assignment):
    notebook = read_notebook(notebook_path(ROOT, "solutions", assignment))
    problems = [
        (index, output.get("ename") or output.get("name"))
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.output_type == "error" or (output.output_type == "stream" and output.name == "stderr")
    ]
    assert not problems, f"cells with errors or stderr output (index, kind): {problems}"


UNSEEDED_RANDOM = re.compile(r"default_rng\(\s*\)|np\.random\.(?:rand|randn|randint|normal|uniform|choice|permutation|shuffle)\(")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graded_tests_draw_their_random_values_from_a_seeded_generator(assignment):
    """A re-grade must give the same score, so a test cell's random shapes and values come from a seeded
    generator (np.random.default_rng(seed)), never from an unseeded one or NumPy's global state."""
    unseeded = [cell.metadata["nbgrader"]["grade_id"] for cell in graded_test_cells(assignment)
                if UNSEEDED_RANDOM.search(cell.source)]
    assert not unseeded, f"test cells with unseeded random values: {unseeded}"
