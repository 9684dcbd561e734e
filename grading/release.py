"""The helpers an assignment was released with, recorded at release and given to its grading kernels.

    python -m grading.release [--course DIR] ASSIGNMENT ...    (`make release` runs it after nbgrader)

Students work against the `bn_course` helpers of the day the assignment was released. If the helpers change
mid-term (a new check, a fixed message), grading an older assignment with the new ones could change its
scores. So `make release` records, per assignment, the helpers' version and the git tree of
`helpers/bn_course` at release in RECORD of the release folder (notebooks/.helpers-release.json, committed
with the release), and grading extracts that tree with `git archive` into each sandbox. Without a record or without git (a course copied without its history),
grading uses the current helpers and the report says so.
"""
import argparse
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from datetime import datetime, timezone
from pathlib import Path

from grading.course import step_root

RECORD = ".helpers-release.json"  # in the release folder (CourseDirectory.release_directory)
HELPERS = "helpers/bn_course"


def _git(course, *args):
    """stdout of `git *args` in `course` as bytes, or None when git or the repository is not there."""
    try:
        result = subprocess.run(["git", *args], cwd=course, capture_output=True)
    except FileNotFoundError:
        return None
    return result.stdout if result.returncode == 0 else None


def helpers_tree(course):
    """The git tree id of the committed helpers/bn_course, or None (no git, or not committed)."""
    tree = _git(course, "rev-parse", f"HEAD:{HELPERS}")
    return tree.decode().strip() if tree else None


def helpers_version(helpers_folder):
    text = (Path(helpers_folder) / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, flags=re.MULTILINE)
    return found.group(1) if found else "unknown"


def record_path(course):
    return step_root(course, "release_directory") / RECORD


def read_record(course):
    path = record_path(course)
    return json.loads(path.read_text()) if path.exists() else {}


def uncommitted_helpers(course):
    """True when helpers/bn_course differs from its last commit (students get the committed helpers)."""
    return bool(_git(course, "status", "--porcelain", "--", HELPERS))


def record_release(course, assignment):
    """Record the committed helpers (what students install) for `assignment`; return the entry.

    Raises RuntimeError when helpers/bn_course is not committed in a git repository.
    """
    course = Path(course)
    tree = helpers_tree(course)
    if tree is None:
        raise RuntimeError(f"{HELPERS} is not committed in a git repository at {course}")
    entry = {"version": helpers_version(course / HELPERS), "tree": tree,
             "released": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    record = {**read_record(course), assignment: entry}
    record_path(course).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return entry


def provide_helpers(course, assignment, lib):
    """Put the helpers `assignment` was released with into `lib`/bn_course; return a sentence saying which."""
    course, destination = Path(course), Path(lib) / "bn_course"
    entry = read_record(course).get(assignment)
    archive = _git(course, "archive", "--format=tar", entry["tree"]) if entry else None
    if archive:
        destination.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(destination, filter="data")
        return f"bn_course {entry['version']} as released on {entry['released'][:10]} (git tree {entry['tree'][:10]})"
    if (course / HELPERS).is_dir():
        shutil.copytree(course / HELPERS, destination, ignore=shutil.ignore_patterns("__pycache__"))
    why = "no release record" if entry is None else "the recorded helpers are not in this repository"
    return f"the current bn_course {helpers_version(course / HELPERS)} ({why})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="+")
    parser.add_argument("--course", default=".", help="the course directory (default: current directory)")
    args = parser.parse_args(argv)
    if uncommitted_helpers(args.course):
        print(f"WARNING: {HELPERS} has uncommitted changes; the record names the committed helpers, which is what "
              "students install. Commit the changes and run `make release` again.", file=sys.stderr)
    for assignment in args.assignments:
        try:
            entry = record_release(args.course, assignment)
        except RuntimeError as error:  # a course without git: grading will use the current helpers, and say so
            print(f"WARNING: {assignment}: {error}; nothing recorded", file=sys.stderr)
            continue
        print(f"{assignment}: released with bn_course {entry['version']} (git tree {entry['tree'][:10]})")


if __name__ == "__main__":
    main()
