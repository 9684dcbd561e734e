"""Merge one graded sandbox into the course: its gradebook's automatic results, its graded folder, its Report.

`collect` is the one way a graded submission enters the course (with JOBS=1, N or on Dask workers alike). Of the
gradebook, only what `nbgrader autograde` writes is copied (automatic scores and comments, whether a manual grade is
needed, the timestamp and late penalty): manual scores, manual comments and extra credit that the instructor
already gave in the course's gradebook are kept.
"""
import shutil
import warnings

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from grading.course import autograded_folder, copy_kept_files, gradebook_url, sqlite_url, submitted_folder
from grading.report import NOTHING_RECORDED, write_report


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


def collect(course, student, assignment, top, report):
    """Merge one graded sandbox into the course (gradebook, autograded/ folder, report); remove the sandbox."""
    target_url = gradebook_url(course)
    if top is None:
        record_missing(target_url, assignment, student)
    else:
        try:
            merge_submission(sqlite_url(top / 'gradebook.db'), target_url, assignment, student)
        except MissingEntry:  # nbgrader was stopped before it recorded the submission (e.g. killed at start-up)
            record_missing(target_url, assignment, student)
            report.problems.append(NOTHING_RECORDED)
        destination = autograded_folder(course, student, assignment)
        shutil.rmtree(destination, ignore_errors=True)
        graded = autograded_folder(top / "course", student, assignment)
        if graded.exists():
            shutil.copytree(graded, destination)
            # the kernel could change its folder: the exchange's files come from the collected submission
            copy_kept_files(submitted_folder(course, student, assignment), destination)
        shutil.rmtree(top, ignore_errors=True)
    write_report(course, report)
