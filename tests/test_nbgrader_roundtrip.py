"""The instructor's road: release an assignment, autograde three submissions, read the gradebook.

- the complete solution scores every autograded point;
- the untouched student notebook scores zero;
- a submission with one wrong answer loses exactly that exercise's points.
"""
from concurrent.futures import ThreadPoolExecutor

import pytest

from course import ASSIGNMENTS, copy_course, max_total, nbgrader, scores, submit, total
from submissions import WRONG_ANSWERS, completed, released


def grade_three_students(course, assignment):
    """Release `assignment` in `course`, autograde the three students, return {student: cell scores}."""
    nbgrader(course, "generate_assignment", assignment, "--force")
    submit(course, "complete", assignment, completed(assignment, root=course))
    submit(course, "untouched", assignment, released(assignment, root=course))
    if assignment in WRONG_ANSWERS:
        submit(course, "wrong", assignment, completed(assignment, WRONG_ANSWERS[assignment]["answers"], root=course))
    nbgrader(course, "autograde", assignment, "--force")
    return scores(course, assignment)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{assignment: {student: cell scores}}; assignments are graded two at a time, each in its own course copy
    (nbgrader's SQLite gradebook takes one writer)."""
    courses = {assignment: copy_course(tmp_path_factory.mktemp(assignment) / "course") for assignment in ASSIGNMENTS}
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda assignment: grade_three_students(courses[assignment], assignment), ASSIGNMENTS)
        return dict(zip(ASSIGNMENTS, results))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_complete_solution_scores_full_marks(graded, assignment):
    cells = graded[assignment]["complete"]
    lost = {name: score for name, score in cells.items() if score[0] != score[1]}
    assert max_total(cells) > 0, "the assignment has no autograded points"
    assert not lost, f"the complete solution lost points in {lost}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_notebook_scores_zero(graded, assignment):
    cells = graded[assignment]["untouched"]
    assert total(cells) == 0, f"an untouched notebook earned points: {cells}"


@pytest.mark.parametrize("assignment", sorted(WRONG_ANSWERS))
def test_wrong_answer_loses_exactly_its_exercise(graded, assignment):
    cells = graded[assignment]["wrong"]
    failed = {name for name, (score, maximum) in cells.items() if score != maximum}
    assert failed == WRONG_ANSWERS[assignment]["fails"]
    assert 0 < total(cells) < max_total(cells)
