"""The instructor's other roads around the battery (tests/test_grading_battery.py grades every assignment, once):

- promises (in `make test`): a manual grade survives a re-grade; a submission over its time budget is
  stopped, reported, and the batch goes on;
- plain `nbgrader autograde` (`full` lane), as formgrader's "autograde" button runs it without the sandboxes of
  `grading.autograde`: the complete solution, the untouched release and the wrong answer of one assignment
  score what the battery requires of them. The battery grades the same notebooks with the same nbgrader inside
  the sandboxes, so one assignment checks the button's road.
"""
import nbformat
import pytest

from battery_cases import expected_scores, kind_cases, write_submission
from course import ASSIGNMENTS, copy_course, fresh_course, max_points, nbgrader, scores, submit, total
from grading.autograde import autograde
from submissions import WRONG_ANSWERS, completed, released

PLAIN_ROAD = "04-bn-before"  # the cheapest to grade (benchmarks/NOTEBOOKS.md)


@pytest.mark.full
def test_plain_nbgrader_autograde_scores_what_the_battery_requires(tmp_path):
    course = copy_course(tmp_path / "course")
    nbgrader(course, "generate_assignment", PLAIN_ROAD, "--force")
    three = [case for case in kind_cases(PLAIN_ROAD) if case.student in ("correct", "untouched", "wrong_answer")]
    for case in three:
        write_submission(course, case)
    nbgrader(course, "autograde", PLAIN_ROAD, "--force")
    graded, maxima = scores(course, PLAIN_ROAD), max_points(course, PLAIN_ROAD)
    for case in three:
        assert {cell: score for cell, (score, _) in graded[case.student].items()} == expected_scores(case, maxima), case


# --- promises: a manual grade survives a re-grade; the per-submission budget --------------------------------------

LIGHTEST = ASSIGNMENTS[0]  # any assignment with a wrong answer does


def test_a_manual_grade_survives_a_regrade(released_course, tmp_path):
    """The instructor overrides a failed test cell by hand (formgrader), then grading runs again: the manual
    score and comment stay, the automatic score is written anew."""
    from nbgrader.api import Gradebook

    course = fresh_course(released_course, tmp_path / "course")
    submit(course, "wrong", LIGHTEST, completed(LIGHTEST, WRONG_ANSWERS[LIGHTEST]["answers"], root=course))
    autograde(course, [LIGHTEST])
    failed = sorted(WRONG_ANSWERS[LIGHTEST]["fails"])[0]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade(failed, LIGHTEST, LIGHTEST, "wrong")
        assert grade.auto_score == 0 and grade.max_score > 0
        grade.manual_score = grade.max_score
        comment = gradebook.find_submission_notebook(LIGHTEST, LIGHTEST, "wrong").comments[0]
        comment.manual_comment = "Accepted: your convention is documented in the question."
        gradebook.db.commit()
        comment_name = comment.name
    autograde(course, [LIGHTEST])
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade(failed, LIGHTEST, LIGHTEST, "wrong")
        assert (grade.auto_score, grade.manual_score, grade.score) == (0, grade.max_score, grade.max_score)
        comment = gradebook.find_comment(comment_name, LIGHTEST, LIGHTEST, "wrong")
        assert comment.manual_comment == "Accepted: your convention is documented in the question."


def test_a_submission_over_its_budget_is_stopped_reported_and_the_batch_goes_on(released_course, tmp_path):
    course = fresh_course(released_course, tmp_path / "course")
    endless = completed(LIGHTEST, root=course)
    endless.cells.insert(0, nbformat.v4.new_code_cell("while True:\n    pass"))
    submit(course, "endless", LIGHTEST, endless)
    submit(course, "missing", LIGHTEST, released(LIGHTEST, root=course))
    (course / "submitted" / "missing" / LIGHTEST / f"{LIGHTEST}.ipynb").unlink()
    reports = {report.student: report for report in autograde(course, [LIGHTEST], timeout=600, budget=30)}
    assert reports["endless"].status == "over budget"
    assert reports["endless"].problems[0] == ("Grading your notebook took longer than 30 s in total and was "
                                                 "stopped; it scored what it had.")
    assert reports["missing"].missing, "the batch went on after the stopped submission"
    assert total(scores(course, LIGHTEST)["endless"]) == 0
