"""Run an exercise's graded test cells against an answer, in-process, to see which of them fail.

Cheaper than a round trip through nbgrader (tests/test_grading_battery.py does that for one wrong answer per
assignment): the source notebook's imports cell, every answer cell (the solution, or the answer given instead)
and then each test cell run with `exec` in one namespace, and a test cell that raises is one that nbgrader
scores 0. Hidden tests run too: their markers are comments.
"""
import contextlib
import io
import re

from course import ROOT, notebook_path, read_notebook

# How a hidden test names the wrong answers it must catch, one comment line each: "# - name: what it does".
NAMED = re.compile(r"^# - (?P<name>[^:\n]+)", re.MULTILINE)


def named_wrong_answers(source):
    """The names of the wrong answers a hidden test cell's comment lines name ("# - name: what it does")."""
    return {match["name"].strip() for match in NAMED.finditer(source)}


def naming_mismatches(cells, wrong_answers):
    """{exercise: (named in its hidden test but not tested, tested but not named)} for each exercise of
    `wrong_answers` ({exercise: {name: answer}}) whose hidden test cell in `cells` names other wrong answers."""
    mismatches = {}
    for exercise, answers in wrong_answers.items():
        named = named_wrong_answers(cells[f"test_{exercise}_hidden"])
        if named != set(answers):
            mismatches[exercise] = (sorted(named - set(answers)), sorted(set(answers) - named))
    return mismatches


def exercise_failures(assignment, exercise, answer=None, *, setup=("code-02",)):
    """Which of `exercise`'s two test cells (test_<exercise>_public, test_<exercise>_hidden) raise when its answer
    cell (grade id `exercise`) holds `answer` (None: the solution)."""
    return failing_tests(assignment, (f"test_{exercise}_public", f"test_{exercise}_hidden"),
                         None if answer is None else {exercise: answer}, setup=setup)


def source_cells(assignment):
    """{grade_id: source} of every cell of `assignment`'s source notebook that has a grade id, in order."""
    notebook = read_notebook(notebook_path(ROOT, "solutions", assignment))
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source
            for cell in notebook.cells if "grade_id" in cell.metadata.get("nbgrader", {})}


def failing_tests(assignment, tests, answers=None, *, setup=("code-02",)):
    """The grade ids among `tests` whose cells raise when `answers` ({grade_id: source}) replace the solutions.

    - tests: grade ids of test cells, run in the given order after the setup cells and every answer cell.
    - setup: grade ids of the cells that import what the answers and tests use (no IPython magics).
    Answer cells are the notebook's code cells whose grade id is a key of `answers` or that hold a solution
    region; all of them run, so one answer may use a name another defines.
    """
    cells = source_cells(assignment)
    answers = answers or {}
    unknown = set(answers) - set(cells)
    if unknown:
        raise ValueError(f"no cells with the grade ids {sorted(unknown)} in {assignment}")
    namespace = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for grade_id in setup:
            exec(cells[grade_id], namespace)
        for grade_id, source in cells.items():
            if grade_id in answers or ("### BEGIN SOLUTION" in source and not grade_id.startswith("written")):
                exec(answers.get(grade_id, source), namespace)
        failed = set()
        for grade_id in tests:
            try:
                exec(cells[grade_id], namespace)
            except Exception:  # noqa: BLE001 -- any error is a failed test cell for nbgrader
                failed.add(grade_id)
    return failed
