"""Shared helpers for the tests: a disposable copy of the course, and nbgrader runs inside it.

Tests never run nbgrader in the repository itself: `nbgrader generate_assignment` writes gradebook.db and
source_with_tests/ into the course root, and grading writes submitted/, autograded/ and feedback/.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

import grading.feedback as grading_feedback
from grading.feedback import visible_text

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Every assignment of solutions/ that has its source notebook (a folder still being written without it is not one).
ASSIGNMENTS = sorted(path.name for path in (ROOT / "solutions").iterdir()
                     if path.name[0].isdigit() and (path / f"{path.name}.ipynb").is_file())
COPIED = ("nbgrader_config.py", "solutions", "notebooks", "helpers")


def notebook_path(root, folder, assignment):
    """The path of `assignment`'s notebook under `folder` (solutions, notebooks, ...) of course `root`."""
    return Path(root) / folder / assignment / f"{assignment}.ipynb"


def copy_course(destination):
    """Copy what nbgrader needs (config, solutions, released notebooks) into `destination`; return it."""
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    return destination


def fresh_course(released_course, destination):
    """The released course without anyone's submissions: config, release, helpers and the gradebook."""
    destination = Path(destination)
    destination.mkdir(parents=True)
    for name in ("nbgrader_config.py", "gradebook.db"):
        shutil.copy2(Path(released_course) / name, destination / name)
    for name in ("notebooks", "helpers"):
        shutil.copytree(Path(released_course) / name, destination / name, ignore=shutil.ignore_patterns("*.egg-info"))
    return destination


def nbgrader(course, *args, timeout=1800):
    """Run an nbgrader command in `course`; return the CompletedProcess (raises with the log on failure)."""
    # nbgrader runs `alembic` and the kernel by name: the venv must come first on PATH.
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    env = dict(os.environ, PATH=path, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    result = subprocess.run(
        [str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def submit(course, student, assignment, notebook):
    """Place `notebook` (a NotebookNode) as `student`'s submission of `assignment`."""
    path = notebook_path(Path(course) / "submitted", student, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def read_notebook(path):
    return nbformat.read(path, as_version=4)


def scores(course, assignment):
    """{student: {grade_id: (score, max_score)}} for the autograded cells of `assignment`, from the gradebook."""
    from nbgrader.api import Gradebook

    result = {}
    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}") as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            cells = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.cell.cell_type == "code":
                        cells[grade.name] = (grade.score, grade.max_score)
            result[submission.student_id] = cells
    return result


def total(cell_scores):
    return sum(score for score, _ in cell_scores.values())


def max_total(cell_scores):
    return sum(maximum for _, maximum in cell_scores.values())


def max_points(course, assignment):
    """{grade_id: max score} of the autograded (code) test cells of `assignment`, from the course's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}") as gradebook:
        return {cell.name: cell.max_score for notebook in gradebook.find_assignment(assignment).notebooks
                for cell in notebook.grade_cells if cell.cell_type == "code"}


def hidden_test_lines(assignment):
    """The lines of hidden test code of `assignment`, read from its source notebook (not from a gradebook)."""
    source = read_notebook(notebook_path(ROOT, "solutions", assignment))
    return grading_feedback.hidden_test_lines(cell.source for cell in source.cells)


def feedback_page(course, student, assignment):
    """The HTML of `student`'s feedback page for `assignment` (it must exist)."""
    path = notebook_path(Path(course) / "feedback", student, assignment).with_suffix(".html")
    assert path.exists(), f"no feedback file for {student}'s {assignment}"
    return path.read_text(encoding="utf-8")


def feedback_text(course, student, assignment):
    """What a reader sees in `student`'s feedback page for `assignment` (blanks collapsed)."""
    return re.sub(r"\s+", " ", visible_text(feedback_page(course, student, assignment)))


def leaked_lines(course, student, assignment, *, own_lines=True):
    """The lines of hidden test code that `student`'s feedback page for `assignment` shows, by the project's leak
    scanner (`grading.feedback.leaks`): lines of the release never count, nor (with `own_lines`) lines the
    student wrote in their own submission."""
    release = read_notebook(notebook_path(course, "notebooks", assignment))
    own = grading_feedback.submitted_lines(course, student, assignment) if own_lines else frozenset()
    secrets = hidden_test_lines(assignment)
    assert secrets, f"{assignment} has no hidden test lines to look for"
    return grading_feedback.leaks(feedback_page(course, student, assignment), secrets,
                                  "\n".join(cell.source for cell in release.cells), own)
