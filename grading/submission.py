"""Choose the notebook to grade in a submission folder, read it and repair it against the release.

What a student hands in is a folder (submitted/<student>/<assignment>/, from an LMS download or nbgrader's
exchange): the notebook may be renamed, nested in the student's own folder or inside a .zip, beside other
files. `read_submission` finds the one notebook to grade (`located_notebook`), reads it without extracting
anything (`notebook_text`), repairs its grading metadata (grading/repair.py) and starts the submission's
Report with what it found. Only the notebook is graded: other files the student sent are ignored (an extra
`bn_course/checks.py` would otherwise replace the course's checks).
"""
import zipfile
from pathlib import Path

import nbformat

from grading.course import KEPT_FILES, release_notebook, submitted_folder
from grading.repair import repair_notebook
from grading.report import Report

EDITOR_FOLDERS = {".ipynb_checkpoints", "__pycache__", "__MACOSX"}  # left by Jupyter, Python, macOS's zip
ZIP_MEMBER_LIMIT = 64 * 2**20  # bytes, uncompressed: a notebook, not a data archive (or a zip bomb)


def read_submission(course, student, assignment):
    """Return (repaired notebook or None, Report) for one submission folder."""
    folder = submitted_folder(course, student, assignment)
    expected = f"{assignment}.ipynb"
    received = sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                      if path.is_file() and not set(path.relative_to(folder).parts) & EDITOR_FOLDERS
                      and str(path.relative_to(folder)) not in KEPT_FILES)
    graded_name, found_at = located_notebook(folder, received, expected)
    extra = [name for name in received if name != graded_name]
    report = Report(student, assignment)
    if extra:
        report.problems.append(f"Your submission also contained {', '.join(extra)}; only {graded_name or expected} "
                                  "is graded, so the other files were ignored.")
    if graded_name is None:
        report.missing = True
        report.problems.insert(0, f"We did not find {expected} in your submission, so this assignment scored 0. "
                                  f"Files we received: {', '.join(received) or 'none'}.")
        return None, report
    if found_at:
        report.problems.insert(0, f"We found your notebook at {found_at}, not as {expected} at the top of your "
                                  f"submission; it was graded as {expected}. Next time hand in the .ipynb file itself.")
    elif graded_name != expected:
        report.problems.insert(0, f"Your notebook was named {graded_name}, not {expected}; it was graded as "
                                  f"{expected}. Keep the original name next time.")
    try:
        notebook = nbformat.reads(notebook_text(folder, found_at or graded_name), as_version=4)
        release = nbformat.read(release_notebook(course, assignment), as_version=4)
        notebook, repairs = repair_notebook(notebook, release)
    except Exception as error:  # any unreadable file: the student must hear why, the batch goes on
        report.missing = True
        report.problems.insert(0, f"{graded_name} could not be read as a notebook ({type(error).__name__}: "
                                  f"{str(error)[:200]}), so this assignment scored 0.")
        return None, report
    report.repairs = repairs
    return notebook, report


def located_notebook(folder, received, expected):
    """(name graded, where it was found or None) of the notebook to grade among `received` (paths under `folder`).

    In order: `expected` at the top; else the one notebook at the top under another name (a browser or Jupyter
    renamed it: "02-baseline (1).ipynb"); else the one notebook in a subfolder (an LMS download that keeps the
    student's folder); else the one notebook inside the one .zip, found at "x.zip:inner.ipynb". Several
    candidates at the first level that has any: which one the student meant is not ours to guess, (None, None).
    """
    if expected in received:
        return expected, None
    top = [name for name in received if name.endswith(".ipynb") and len(Path(name).parts) == 1]
    if top:
        return (top[0], None) if len(top) == 1 else (None, None)
    nested = [name for name in received if name.endswith(".ipynb")]
    if nested:
        return (nested[0], nested[0]) if len(nested) == 1 else (None, None)
    archives = [name for name in received if name.lower().endswith(".zip")]
    if len(archives) != 1:
        return None, None
    try:
        with zipfile.ZipFile(Path(folder) / archives[0]) as archive:
            inside = [info.filename for info in archive.infolist() if info.filename.endswith(".ipynb")
                      and not set(Path(info.filename).parts) & EDITOR_FOLDERS]
    except zipfile.BadZipFile:
        return None, None
    if len(inside) != 1:
        return None, None
    return archives[0], f"{archives[0]}:{inside[0]}"


def notebook_text(folder, location):
    """The text of the notebook at `location` (a path under `folder`, or "x.zip:inner.ipynb" as located_notebook
    writes it). Raises ValueError for a zip member larger than ZIP_MEMBER_LIMIT; nothing is extracted to disk."""
    archive_name, _, member = location.partition(":") if ".zip:" in location.lower() else (location, "", "")
    if not member:
        return (Path(folder) / location).read_text(encoding="utf-8")
    with zipfile.ZipFile(Path(folder) / archive_name) as archive:
        if archive.getinfo(member).file_size > ZIP_MEMBER_LIMIT:
            raise ValueError(f"{member} inside {archive_name} is larger than {ZIP_MEMBER_LIMIT // 2**20} MB")
        return archive.read(member).decode("utf-8")
