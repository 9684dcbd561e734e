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
ASSIGNMENTS = sorted(path.name for path in (ROOT / "solutions").iterdir() if path.is_dir() and path.name[0].isdigit())
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


def hidden_test_lines(assignment):
    """Lines of hidden test code not shown in the release, read from the source notebook (not the gradebook)."""
    source = read_notebook(notebook_path(ROOT, "solutions", assignment))
    release = read_notebook(notebook_path(ROOT, "notebooks", assignment))
    public = "\n".join(cell.source for cell in release.cells)
    return {re.sub(r"\s+", " ", line) for line in grading_feedback.hidden_test_lines(cell.source for cell in source.cells)
            if line not in public}


def feedback_text(course, student, assignment):
    """What a reader sees in `student`'s feedback page for `assignment` (blanks collapsed)."""
    path = notebook_path(Path(course) / "feedback", student, assignment).with_suffix(".html")
    assert path.exists(), f"no feedback file for {student}"
    return re.sub(r"\s+", " ", visible_text(path.read_text(encoding="utf-8")))


def shown_hidden_lines(text, assignment):
    """The lines of `assignment`'s hidden test code that appear in the feedback text `text`."""
    secrets = hidden_test_lines(assignment)
    assert secrets, f"{assignment} has no hidden test lines to look for"
    return sorted(line for line in secrets if line in text)
