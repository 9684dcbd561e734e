"""The course's own files (committed or new, not git-ignored) and a disposable copy of them, for the tests of
the tools that rewrite or publish the course (tools/stamp.py, tools/publish.py)."""
import shutil
import subprocess
import sys
from pathlib import Path

from course import ROOT


def course_files(root):
    """Paths (relative, as str) of the files git tracks or would track in `root`: committed and new ones."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=root,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    return [name for name in listed if name and (Path(root) / name).is_file()]


def copy_course_files(destination):
    """Copy every course file of the repository into `destination`, a new git repository; return it."""
    destination = Path(destination)
    for name in course_files(ROOT):
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination / name)
    subprocess.run(["git", "init", "--quiet"], cwd=destination, check=True)
    return destination


def run_tool(name, *arguments, **options):
    """Run tools/<name>.py with the venv's Python; return the CompletedProcess (never raises on failure)."""
    return subprocess.run([sys.executable, str(ROOT / "tools" / f"{name}.py"), *map(str, arguments)],
                          capture_output=True, text=True, **options)
