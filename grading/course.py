"""Paths of the course directory and how to run nbgrader in it (shared by the grading commands)."""
import json
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
PACKAGE_PARENT = Path(__file__).resolve().parents[1]  # the directory holding `grading`, for nbgrader's imports
REPORTS = ".reports"  # under autograded/: one JSON per submission; a dot directory, so nbgrader never sees it


def release_notebook(course, assignment):
    return Path(course) / "notebooks" / assignment / f"{assignment}.ipynb"


def assignments(course):
    """The released assignments, in order."""
    return sorted(path.name for path in (Path(course) / "notebooks").iterdir() if release_notebook(course, path.name).exists())


def submissions(course, assignment):
    """The students who handed in something (a folder under submitted/<student>/) for `assignment`."""
    submitted = Path(course) / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(path.name for path in submitted.iterdir() if (path / assignment).is_dir() and not path.name.startswith("."))


def report_path(course, student, assignment):
    return Path(course) / "autograded" / REPORTS / student / f"{assignment}.json"


def read_report(course, student, assignment):
    path = report_path(course, student, assignment)
    return json.loads(path.read_text()) if path.exists() else None


def write_report(course, student, assignment, report):
    path = report_path(course, student, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, sort_keys=True))


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
