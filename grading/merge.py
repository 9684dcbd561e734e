"""Copy automatic grading results from a sandbox's gradebook into the course's gradebook.

Only what `nbgrader autograde` writes is copied (automatic scores and comments, whether a manual grade is
needed, the timestamp and late penalty): manual scores, manual comments and extra credit that the instructor
already gave in the course's gradebook are kept.
"""
import warnings

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning



def _quiet(function):
    """nbgrader's own update_or_create_submission triggers harmless autoflush warnings from SQLAlchemy."""
    def quiet(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            return function(*args)
    return quiet


@_quiet
def merge_submission(source_url, target_url, assignment, student):
    with Gradebook(source_url) as source, Gradebook(target_url) as target:
        submitted = source.find_submission(assignment, student)
        target.update_or_create_student(student)
        merged = target.update_or_create_submission(assignment, student, timestamp=submitted.timestamp)
        for notebook in submitted.notebooks:
            target_notebook = target.find_submission_notebook(notebook.name, assignment, student)
            target_notebook.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                target_grade = target.find_grade(grade.name, notebook.name, assignment, student)
                target_grade.auto_score = grade.auto_score
                target_grade.needs_manual_grade = grade.needs_manual_grade
            for comment in notebook.comments:
                target.find_comment(comment.name, notebook.name, assignment, student).auto_comment = comment.auto_comment
        target.db.commit()
        return merged.id


@_quiet
def record_missing(target_url, assignment, student):
    """A submission without its notebook: every grade of it is 0, with nothing left to grade by hand."""
    with Gradebook(target_url) as target:
        target.update_or_create_student(student)
        submitted = target.update_or_create_submission(assignment, student)
        for notebook in submitted.notebooks:
            for grade in notebook.grades:
                grade.auto_score, grade.needs_manual_grade = 0, False
        target.db.commit()
