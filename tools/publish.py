"""Write the student edition of the course into DEST as its own git history, ready to push.

    python tools/publish.py DEST [--course DIR] [--assignments 01-theory 02-baseline ...]

The student edition holds the released notebooks (notebooks/, made by `make release`), the `bn_course`
helpers, a learner README (tools/student_readme.md, with the README's notebook table and results table),
the licence, the citation file, the environment files, the student JupyterLab configuration (jupyter/student)
and Binder's start script (tools/binder_start, as `start`: repo2docker runs it before JupyterLab). Its README's results table is the one the published
notebooks print (the source README shows the same, `make readme`). Never solutions/, hidden tests, grading/ or
tests/: only those paths are copied, and the history is the student edition's own (DEST is a new repository,
or an earlier student edition to which one commit is added), so no commit of it ever held an answer.
The commit gets the release tag of course.toml: the tag the notebooks' setup cells install the helpers from.

`--assignments` publishes some notebooks only: release a later notebook that contains an earlier exercise's
answer after that exercise's deadline.

Raises SystemExit with what to do when the course is not stamped with course.toml (run `make release`), when
DEST is inside the course, holds files without being a git repository, or already has the tag.
"""
import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from string import Template

import nbformat

from readme_results import merged_table, tagged_tables
from stamp import ROOT, SETUP_GRADE_ID, read_edition, stamp

TEMPLATE = Path(__file__).resolve().parent / "student_readme.md"
COPIED = ("LICENSE", "CITATION.cff", "requirements.txt", "constraints.txt")
STUDENT_JUPYTER = "jupyter/student"
BINDER_START = Path(__file__).resolve().parent / "binder_start"
IGNORED = shutil.ignore_patterns("*.egg-info", "__pycache__", ".ipynb_checkpoints", "build")
GITIGNORE = ".venv/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n"


def released_assignments(course):
    return sorted(path.name for path in (course / "notebooks").glob("[0-9]*") if path.is_dir())


def check_release_is_stamped(course, edition, assignments):
    """Raise SystemExit unless the sources and the released notebooks carry course.toml's address and tag."""
    unstamped = stamp(course, check=True)
    for assignment in assignments:
        notebook = nbformat.read(course / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
        setup = [cell.source for cell in notebook.cells
                 if cell.metadata.get("nbgrader", {}).get("grade_id") == SETUP_GRADE_ID]
        if setup != [edition.setup_source()] or not notebook.cells[0].source.startswith(edition.badge(assignment)):
            unstamped.append(course / "notebooks" / assignment)
    if unstamped:
        names = ", ".join(str(path.relative_to(course)) for path in unstamped)
        raise SystemExit(f"not stamped with course.toml ({edition.repository} at {edition.tag}): {names}. "
                         "Run `make release` (it stamps the sources, then regenerates notebooks/) and commit.")


def table_section(readme, assignments):
    """README's notebook table: its header and the rows of the notebooks in `assignments`."""
    lines = readme.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("| # |"))
    rows = [line for line in lines[header + 2:] if line.startswith("|")
            and any(f"](notebooks/{assignment}/" in line for assignment in assignments)]
    return "\n".join(lines[header:header + 2] + rows)


def results_section(course, assignments):
    """The results table the published notebooks print (the README's, tools/readme_results.py), or a note."""
    notebooks = [nbformat.read(course / "solutions" / name / f"{name}.ipynb", as_version=4) for name in assignments]
    if not any(tagged_tables(notebook) for notebook in notebooks):
        return "(The table comes with the notebooks that measure it.)"
    return merged_table(notebooks)


def learner_readme(course, edition, assignments):
    readme = (course / "README.md").read_text(encoding="utf-8")
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        tag=edition.tag, repository=edition.repository, name=edition.repository.rsplit("/", 1)[1],
        binder=edition.binder,
        notebooks=table_section(readme, assignments), results=results_section(course, assignments))


def student_environment(course):
    """environment.yml without the instructor's grading package, which the student edition does not hold."""
    lines = (course / "environment.yml").read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(line for line in lines if "./grading" not in line)


def prepared_destination(destination, course):
    """DEST emptied of everything but its .git (created when new). Raises SystemExit when DEST is unusable."""
    if destination == course or course in destination.parents:
        raise SystemExit(f"DEST {destination} is inside the course: its files would be committed to the source.")
    if destination.exists() and any(destination.iterdir()) and not (destination / ".git").is_dir():
        raise SystemExit(f"DEST {destination} holds files but is no git repository: give an empty folder, a new "
                         "path, or a clone of the student repository.")
    destination.mkdir(parents=True, exist_ok=True)
    if not (destination / ".git").is_dir():
        git(destination, "init", "--quiet", "--initial-branch=main")
    for path in destination.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return destination


def write_edition(course, destination, edition, assignments):
    for assignment in assignments:
        shutil.copytree(course / "notebooks" / assignment, destination / "notebooks" / assignment, ignore=IGNORED)
    shutil.copytree(course / "helpers", destination / "helpers", ignore=IGNORED)
    shutil.copytree(course / STUDENT_JUPYTER, destination / STUDENT_JUPYTER)
    shutil.copy2(BINDER_START, destination / "start")  # copy2 keeps it executable, as repo2docker needs
    for name in COPIED:
        shutil.copy2(course / name, destination / name)
    (destination / "environment.yml").write_text(student_environment(course), encoding="utf-8")
    (destination / "README.md").write_text(learner_readme(course, edition, assignments), encoding="utf-8")
    (destination / ".gitignore").write_text(GITIGNORE, encoding="utf-8")


def git(repository, *arguments):
    return subprocess.run(["git", *arguments], cwd=repository, check=True, capture_output=True, text=True).stdout


def commit_and_tag(destination, edition, assignments):
    if git(destination, "tag", "--list", edition.tag).strip():
        raise SystemExit(f"the student edition in {destination} already has the tag {edition.tag}: bump `tag` in "
                         "course.toml, run `make release`, then publish again.")
    git(destination, "add", "--all")
    git(destination, "commit", "--quiet", "--allow-empty", "-m",
        f"Release {edition.tag}: {', '.join(assignments)}")
    git(destination, "tag", edition.tag)


def publish(destination, course=ROOT, assignments=None):
    """Write and commit the student edition of `course` in `destination`; return the list of assignments."""
    course, destination = Path(course).resolve(), Path(destination).resolve()
    edition = read_edition(course)
    released = released_assignments(course)
    assignments = sorted(assignments or released)
    unknown = sorted(set(assignments) - set(released))
    if unknown:
        raise SystemExit(f"not released in notebooks/: {unknown}; released: {released}.")
    check_release_is_stamped(course, edition, assignments)
    prepared_destination(destination, course)
    write_edition(course, destination, edition, assignments)
    commit_and_tag(destination, edition, assignments)
    return assignments


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("destination", type=Path, help="a new or empty folder, or a clone of the student edition")
    parser.add_argument("--course", type=Path, default=ROOT, help="the course folder (default: this repository)")
    parser.add_argument("--assignments", nargs="+", help="publish these notebooks only (default: every released one)")
    args = parser.parse_args(argv)
    published = publish(args.destination, args.course, args.assignments)
    edition = read_edition(args.course)
    print(f"student edition {edition.tag} ({', '.join(published)}) committed and tagged in {args.destination}.\n"
          f"Push it: git -C {args.destination} push {edition.repository}.git main {edition.tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
