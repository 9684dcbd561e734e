"""A failed check shows the learner its message first and alone, and the cell still counts as failed."""
import nbformat
from nbclient import NotebookClient


def run_cells(*sources):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    NotebookClient(notebook, kernel_name="python3", allow_errors=True, timeout=120).execute()
    return notebook.cells


def test_a_failed_check_shows_its_message_first_and_no_helper_source():
    (cell,) = run_cells("from bn_course.checks import check_array\ncheck_array([[1.0, 2.0]], 'x', shape=(2,))")
    (error,) = [output for output in cell.outputs if output.output_type == "error"]
    assert error.ename == "CheckFailed"
    assert error.traceback[0] == "CheckFailed: x: has the wrong shape."
    assert "expected: (2,)" in "\n".join(error.traceback)
    assert not any("checks.py" in line or "def " in line for line in error.traceback), error.traceback


def test_other_errors_keep_their_full_traceback():
    (cell,) = run_cells("def broken():\n    return 1 / 0\nbroken()")
    (error,) = [output for output in cell.outputs if output.output_type == "error"]
    assert error.ename == "ZeroDivisionError" and len(error.traceback) > 1
