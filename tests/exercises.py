"""Run an exercise's test cells in-process after a given answer: which of them fail?

nbgrader scores a test cell 0 when it raises, so a wrong answer "loses points" exactly when one of its
exercise's test cells raises an AssertionError (the checks' CheckFailed is one). Used by tests/test_exercises_*.py.
"""
import numpy as np

import bn_course  # noqa: F401  (quiets TensorFlow before it loads)
import keras
from course import ROOT, notebook_path, read_notebook


def graded_cells(assignment):
    """{grade_id: source} of every cell with a grade id in the source notebook of `assignment`."""
    notebook = read_notebook(notebook_path(ROOT, "solutions", assignment))
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in notebook.cells
            if "grade_id" in cell.metadata.get("nbgrader", {})}


def failing_tests(cells, answer, test_ids):
    """The ids among `test_ids` whose cell raises an AssertionError after `answer` (source code) is run.

    Each test cell runs in a fresh namespace holding keras, np and what `answer` defines, as in the notebook.
    """
    failed = set()
    for test_id in test_ids:
        namespace = {"keras": keras, "np": np}
        exec(answer, namespace)
        try:
            exec(cells[test_id], namespace)
        except AssertionError:
            failed.add(test_id)
    return failed
