"""The instructor's road: release an assignment, autograde three submissions, read the gradebook.

- the complete solution scores every autograded point;
- the untouched student notebook scores zero;
- a submission with one wrong answer loses exactly that exercise's points.
"""
import pytest

from course import ASSIGNMENTS, max_total, nbgrader, scores, submit, total
from submissions import WRONG_ANSWERS, completed, released


@pytest.fixture(scope="module")
def graded(released_course):
    """Grade every assignment once for the three students; return {assignment: {student: cell scores}}."""
    course = released_course
    results = {}
    for assignment in ASSIGNMENTS:
        submit(course, "complete", assignment, completed(assignment, root=course))
        submit(course, "untouched", assignment, released(assignment, root=course))
        if assignment in WRONG_ANSWERS:
            submit(course, "wrong", assignment, completed(assignment, WRONG_ANSWERS[assignment]["answers"], root=course))
        nbgrader(course, "autograde", assignment, "--force")
        results[assignment] = scores(course, assignment)
    return results


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
