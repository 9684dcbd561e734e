"""The instructor's road: release every assignment, autograde three submissions of each, read the gradebook.

- the complete solution scores every autograded point;
- the untouched student notebook scores zero;
- a submission with one wrong answer loses exactly that exercise's points.

Two roads lead there, each checked by the same tests:

- `merged` (in `make test`): the instructor's commands. `grading.autograde` (what `make autograde JOBS=2` runs)
  grades all fifteen submissions in one batch, two at a time, each in its own sandbox, and merges them into the
  course's gradebook; `grading.feedback` then writes their feedback, which must not show hidden test code, and
  plain `nbgrader generate_feedback` (formgrader's button) must hide it too.
- promises (in `make test`): a manual grade survives a re-grade; a submission over its time budget is
  stopped, reported, and the batch goes on.
- `nbgrader` (`full` lane only): plain `nbgrader autograde`, one run per assignment in its own course copy, as
  formgrader's "autograde" button does. The same notebooks are graded by the same nbgrader inside the sandboxes
  of the merged road, which is why this one only runs in `make test-full`.
"""
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

from course import (ASSIGNMENTS, copy_course, feedback_text, fresh_course, hidden_test_lines, max_total, nbgrader,
                    scores, shown_hidden_lines, submit, total)
from grading.autograde import autograde
from grading.course import run_nbgrader
from grading.feedback import feedback
from submissions import WRONG_ANSWERS, completed, released, solution_cells


def submit_three_students(course, assignment):
    """The complete solution, the untouched release and (if the assignment has one) a wrong answer."""
    submit(course, "complete", assignment, completed(assignment, root=course))
    submit(course, "untouched", assignment, released(assignment, root=course))
    if assignment in WRONG_ANSWERS:
        submit(course, "wrong", assignment, completed(assignment, WRONG_ANSWERS[assignment]["answers"], root=course))


# A correct answer may hold a line that a hidden test also holds: 04's answer starting with this import.
SHARES_LINES, SHARED_LINE_ASSIGNMENT, SHARED_LINE = "shares_lines", "04-bn-before", "import tensorflow as tf"


def shares_a_hidden_line():
    """The first answer of the shared-line assignment, with SHARED_LINE (a hidden test's line too) on top."""
    grade_id, source = next((grade_id, source) for grade_id, source in solution_cells(SHARED_LINE_ASSIGNMENT).items()
                            if not grade_id.startswith("written"))
    assert SHARED_LINE in hidden_test_lines(SHARED_LINE_ASSIGNMENT), "the case needs a line the hidden tests hold"
    return {grade_id: f"{SHARED_LINE}\n{source}"}


def grade_three_students(course, assignment):
    """Release `assignment` in `course`, autograde the three students with nbgrader, return {student: cell scores}."""
    nbgrader(course, "generate_assignment", assignment, "--force")
    submit_three_students(course, assignment)
    nbgrader(course, "autograde", assignment, "--force")
    return scores(course, assignment)


@pytest.fixture(scope="module")
def merged_batch(released_course, tmp_path_factory):
    """(course, {(student, assignment): report}, {assignment: {student: cell scores}}): every submission of every
    assignment graded in one `grading.autograde` batch (JOBS=2), then `grading.feedback`."""
    course = fresh_course(released_course, tmp_path_factory.mktemp("merged") / "course")
    for assignment in ASSIGNMENTS:
        submit_three_students(course, assignment)
    submit(course, SHARES_LINES, SHARED_LINE_ASSIGNMENT, completed(SHARED_LINE_ASSIGNMENT, shares_a_hidden_line(), root=course))
    reports = autograde(course, ASSIGNMENTS, jobs=2)
    feedback(course, ASSIGNMENTS)
    graded = {assignment: scores(course, assignment) for assignment in ASSIGNMENTS}
    return course, {(report["student"], report["assignment"]): report for report in reports}, graded


def graded_by_nbgrader(tmp_path_factory):
    """{assignment: {student: cell scores}}; assignments are graded two at a time, each in its own course copy
    (nbgrader's SQLite gradebook takes one writer)."""
    courses = {assignment: copy_course(tmp_path_factory.mktemp(assignment) / "course") for assignment in ASSIGNMENTS}
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda assignment: grade_three_students(courses[assignment], assignment), ASSIGNMENTS)
        return dict(zip(ASSIGNMENTS, results))


@pytest.fixture(scope="module", params=["merged", pytest.param("nbgrader", marks=pytest.mark.full)])
def graded(request, tmp_path_factory):
    """{assignment: {student: cell scores}}, by the road named by the parameter."""
    if request.param == "merged":
        return request.getfixturevalue("merged_batch")[2]
    return graded_by_nbgrader(tmp_path_factory)


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


# --- the merged road only: reports and feedback ----------------------------------------------------------------

def test_every_assignment_has_a_wrong_answer_in_make_test():
    assert sorted(WRONG_ANSWERS) == ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_submission_was_graded_and_the_complete_one_has_nothing_to_report(merged_batch, assignment):
    _, reports, _ = merged_batch
    students = sorted(student for student, name in reports if name == assignment and student != SHARES_LINES)
    assert students == ["complete", "untouched", "wrong"]
    assert all(reports[student, assignment]["status"] == "ok" for student in students), reports
    complete = reports["complete", assignment]
    assert complete["repairs"] == [] and complete["problems"] == [], complete


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_feedback_shows_hidden_test_code(merged_batch, assignment):
    course, _, _ = merged_batch
    for student in ("complete", "untouched", "wrong"):
        text = feedback_text(course, student, assignment)
        assert "Notes from grading" in text
        shown = shown_hidden_lines(text, assignment)
        assert not shown, f"the feedback of {student} shows hidden test code: {shown[:3]}"


@pytest.mark.parametrize("assignment", sorted(WRONG_ANSWERS))
def test_feedback_made_by_plain_nbgrader_hides_hidden_tests_too(merged_batch, assignment, tmp_path):
    """formgrader's "generate feedback" button runs `nbgrader generate_feedback` with the course's configuration
    only: that configuration must bring the preprocessors that hide hidden tests and add the grading notes.
    Nothing puts the repository on PYTHONPATH here: nbgrader imports `grading` as installed by `make install`."""
    course, reports, _ = merged_batch
    copy = tmp_path / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns("feedback"))
    result = run_nbgrader(copy, "generate_feedback", assignment, "--student=wrong")
    assert result.returncode == 0, result.stdout + result.stderr
    text = feedback_text(copy, "wrong", assignment)
    assert not shown_hidden_lines(text, assignment)
    assert "Notes from grading" in text
    failed_hidden = [f"Grade cell: {cell}" for cell in WRONG_ANSWERS[assignment]["fails"] if cell.endswith("_hidden")]
    assert failed_hidden and all(line in text for line in failed_hidden)
    problems = [re.sub(r"\s+", " ", problem.replace("`", "")) for problem in reports["wrong", assignment]["problems"]]
    assert problems and all(problem in text for problem in problems), problems


def test_a_correct_answer_sharing_a_line_with_a_hidden_test_keeps_its_feedback(merged_batch):
    """The leak check once deleted this page and told the instructor that hidden tests had leaked."""
    course, reports, graded = merged_batch
    cells = graded[SHARED_LINE_ASSIGNMENT][SHARES_LINES]
    assert total(cells) == max_total(cells), cells
    text = feedback_text(course, SHARES_LINES, SHARED_LINE_ASSIGNMENT)
    assert SHARED_LINE in text
    assert shown_hidden_lines(text, SHARED_LINE_ASSIGNMENT) == [SHARED_LINE], "only the student's own line is shown"


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
    reports = {report["student"]: report for report in autograde(course, [LIGHTEST], timeout=600, budget=30)}
    assert reports["endless"]["status"] == "over budget"
    assert reports["endless"]["problems"][0] == ("Grading your notebook took longer than 30 s in total and was "
                                                 "stopped; it scored what it had.")
    assert reports["missing"]["missing"], "the batch went on after the stopped submission"
    assert total(scores(course, LIGHTEST)["endless"]) == 0
