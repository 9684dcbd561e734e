"""The course directory's layout, read from nbgrader's own configuration, and how to run nbgrader in it.

Every path of a course (release, submitted/, autograded/, feedback/, the gradebook) comes from nbgrader's
`CourseDirectory` as the course's nbgrader_config.py configures it (`release_directory = "notebooks"` here),
with its root set to the folder given: a copy of the course, or a worker's small course, lays itself out
wherever it is. KEPT_FILES are the files nbgrader's exchange writes beside a submitted notebook, which
every copy of the submission (sandbox, graded folder, feedback) keeps.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

BIN = Path(sys.executable).parent
PACKAGE_PARENT = Path(__file__).resolve().parents[1]  # the directory holding `grading`, for nbgrader's imports
SQLITE = "sqlite:///"
# Written by `nbgrader submit` beside the notebook, not by the student: nbgrader autograde reads the submission
# time from timestamp.txt (late penalties), `nbgrader release_feedback` needs both beside the feedback page.
KEPT_FILES = ("timestamp.txt", "submission_secret.txt")


_CONFIGURATIONS = {}  # {text of an nbgrader_config.py: its Config}


def configuration(course):
    """The traitlets Config of `course`'s nbgrader_config.py (empty without the file, as for nbgrader).

    Loaded once per text and process: the sandboxes' copies of the course's file are not executed again (the
    file runs code, e.g. this course's appends to sys.path)."""
    path = Path(course) / "nbgrader_config.py"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if text not in _CONFIGURATIONS:
        _CONFIGURATIONS[text] = PyFileConfigLoader(path.name, path=str(path.parent)).load_config() if text else Config()
    return _CONFIGURATIONS[text]


def layout(course):
    """nbgrader's CourseDirectory of `course`: its configuration, with `course` itself as the root."""
    return CourseDirectory(config=configuration(course), root=str(Path(course).resolve()))


def folder(course, step, student, assignment):
    """The folder of `student`'s `assignment` at nbgrader step `step` ("submitted_directory",
    "autograded_directory", "feedback_directory"), as nbgrader's format_path builds it."""
    directories = layout(course)
    return Path(directories.format_path(getattr(directories, step), student, assignment))


def submitted_folder(course, student, assignment):
    return folder(course, "submitted_directory", student, assignment)


def autograded_folder(course, student, assignment):
    return folder(course, "autograded_directory", student, assignment)


def feedback_folder(course, student, assignment):
    return folder(course, "feedback_directory", student, assignment)


def release_folder(course, assignment):
    """The released assignment's folder (nbgrader's own release path: no student, `.` in its place)."""
    return Path(os.path.normpath(folder(course, "release_directory", ".", assignment)))


def release_notebook(course, assignment):
    return release_folder(course, assignment) / f"{assignment}.ipynb"


def step_root(course, step):
    """The folder holding every student's folders of nbgrader step `step` (e.g. submitted/)."""
    directories = layout(course)
    return Path(directories.root) / getattr(directories, step)


def gradebook_url(course):
    return layout(course).db_url


def sqlite_url(path):
    """The SQLAlchemy URL of the SQLite gradebook file `path` (what nbgrader's db_url and Gradebook take)."""
    return f"{SQLITE}{path}"


def gradebook_file(course):
    """The path of the course's SQLite gradebook (grading copies the file into each sandbox)."""
    url = gradebook_url(course)
    if not url.startswith(SQLITE):
        raise ValueError(f"grading copies the gradebook file, so it needs a SQLite gradebook ({SQLITE}...), not {url}")
    return Path(url[len(SQLITE):])


def configured_timeout(course):
    """The per-cell time-out of the course's nbgrader_config.py (Execute.timeout)."""
    config = configuration(course)
    return int(config.Execute.timeout) if "timeout" in config.Execute else 30


def assignments(course):
    """The released assignments, in order."""
    return sorted(path.name for path in step_root(course, "release_directory").iterdir()
                  if release_notebook(course, path.name).exists())


def submissions(course, assignment):
    """The students who handed in something (a folder under submitted/<student>/) for `assignment`."""
    submitted = step_root(course, "submitted_directory")
    if not submitted.is_dir():
        return []
    return sorted(path.name for path in submitted.iterdir()
                  if submitted_folder(course, path.name, assignment).is_dir() and not path.name.startswith("."))


def copy_kept_files(source, destination):
    """Copy the KEPT_FILES that folder `source` holds into folder `destination`."""
    for name in KEPT_FILES:
        if (Path(source) / name).is_file():
            shutil.copy2(Path(source) / name, Path(destination) / name)


def nbgrader_env(**extra):
    """nbgrader calls `alembic` and starts kernels by name: the environment's bin/ must come first on PATH."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", TF_CPP_MIN_LOG_LEVEL="3",
               TF_ENABLE_ONEDNN_OPTS="0")
    env.update(extra)
    return env


def run_nbgrader(cwd, *args, env=None, **kwargs):
    """Run `nbgrader *args` in `cwd`; return the CompletedProcess (output captured, never raises on failure)."""
    return subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env or nbgrader_env(), capture_output=True,
                          text=True, **kwargs)
