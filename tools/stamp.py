"""Stamp the student edition's address and release tag (course.toml) into the badges and setup cells.

    python tools/stamp.py [--course DIR] [--check]

course.toml is the one place the student repository's address and the release tag are written. This rewrites,
from the templates below, in every source notebook solutions/NN-name/NN-name.ipynb:
- the Colab badge, the first line of the first (markdown) cell, inserted when missing;
- the setup cell (grade id `setup`): in Colab it installs the helpers pinned to the release tag and stops in
  that cell, saying what to do, when the install fails; everywhere it turns TF32 off (bn_course.runtime);
and, in README.md, every Colab and Binder badge link. Stamping twice changes nothing. `--check` writes nothing and exits
with status 1, naming the files that are not stamped with the current address and tag. `make release` stamps
before nbgrader regenerates notebooks/ from the sources.
"""
import argparse
import re
import string
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "course.toml"
SETUP_GRADE_ID = "setup"
COLAB_GITHUB = "https://colab.research.google.com/github"
# Any Colab link to a notebook on GitHub: owner, name and ref are what stamping replaces.
COLAB_LINK = re.compile(re.escape(COLAB_GITHUB) + r"/[^/\s\"')]+/[^/\s\"')]+/blob/[^/\s\"')]+/")
# Any Binder link to a GitHub repository (mybinder.org's form /v2/gh/OWNER/NAME/REF): the same three parts.
BINDER_GITHUB = "https://mybinder.org/v2/gh"
BINDER_LINK = re.compile(re.escape(BINDER_GITHUB) + r"/[^/\s\"')]+/[^/\s\"')]+/[^/?\s\"')]+")
GITHUB_REPOSITORY = re.compile(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")

BADGE = string.Template(
    '<a href="${colab}notebooks/${assignment}/${assignment}.ipynb" target="_parent">'
    '<img src="https://colab.research.google.com/assets/colab-badge.svg" alt="Open In Colab"/></a>'
)
SETUP_CELL = string.Template('''\
# Setup. In Google Colab this installs the course helpers of release ${tag} (about 20 s); on your own machine
# they are already installed.
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's C++ log lines out of the notebook
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
if "google.colab" in sys.modules:
    HELPERS = "bn-course @ git+${repository}@${tag}#subdirectory=helpers"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", HELPERS], capture_output=True, text=True)
    if install.returncode != 0:
        print(install.stdout[-2000:], install.stderr[-2000:])
        raise RuntimeError(
            "The course helpers (bn_course) could not be installed, so this notebook cannot run. Check that the "
            "runtime is connected, then choose Runtime > Restart session and run this cell again. If it fails "
            "again, send your instructor the lines printed above."
        )

from bn_course.runtime import use_exact_float32

use_exact_float32()  # full float32 matrix products on a GPU too (no TF32), so the checks' tolerances hold''')


@dataclass(frozen=True)
class Edition:
    """The student edition: its GitHub repository (https://github.com/OWNER/NAME) and release tag."""

    repository: str
    tag: str

    @property
    def colab(self):
        """The Colab address of the release's files, ending with '/': append a path such as notebooks/..."""
        owner_and_name = self.repository.removeprefix("https://github.com/")
        return f"{COLAB_GITHUB}/{owner_and_name}/blob/{self.tag}/"

    @property
    def binder(self):
        """The Binder address of the release (mybinder.org builds it with repo2docker from environment.yml);
        append ?urlpath=lab/tree/notebooks to open JupyterLab on the notebooks."""
        owner_and_name = self.repository.removeprefix("https://github.com/")
        return f"{BINDER_GITHUB}/{owner_and_name}/{self.tag}"

    def badge(self, assignment):
        return BADGE.substitute(colab=self.colab, assignment=assignment)

    def setup_source(self):
        return SETUP_CELL.substitute(repository=self.repository, tag=self.tag)


def read_edition(course=ROOT):
    """The Edition of course.toml in `course`. Raises ValueError naming the setting and the expected form."""
    path = Path(course) / CONFIG
    settings = tomllib.loads(path.read_text(encoding="utf-8")).get("student_edition", {})
    repository, tag = settings.get("repository", ""), settings.get("tag", "")
    if not GITHUB_REPOSITORY.fullmatch(repository):
        raise ValueError(f"{path}: [student_edition] repository must be a GitHub repository written as "
                         f"https://github.com/OWNER/NAME (Colab opens notebooks from GitHub); got {repository!r}.")
    if not TAG.fullmatch(tag):
        raise ValueError(f"{path}: [student_edition] tag must be a git tag such as v1.2.0; got {tag!r}.")
    return Edition(repository, tag)


def source_notebooks(course):
    """The source notebooks solutions/NN-name/NN-name.ipynb of `course`, in course order."""
    return [folder / f"{folder.name}.ipynb" for folder in sorted((Path(course) / "solutions").glob("[0-9]*"))
            if (folder / f"{folder.name}.ipynb").exists()]


def stamp_notebook(notebook, assignment, edition):
    """Put `edition`'s badge and setup cell into `notebook` (a NotebookNode, changed in place).

    Raises ValueError when the notebook does not start with a markdown cell or has no setup cell.
    """
    first = notebook.cells[0] if notebook.cells else None
    if first is None or first.cell_type != "markdown":
        raise ValueError(f"{assignment}: the first cell must be the markdown cell that carries the Colab badge.")
    lines = first.source.split("\n")
    body = lines[1:] if COLAB_LINK.search(lines[0]) else ["", *lines]
    first.source = "\n".join([edition.badge(assignment), *body])
    setup = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == SETUP_GRADE_ID]
    if len(setup) != 1:
        raise ValueError(f"{assignment}: expected one setup cell (nbgrader grade id {SETUP_GRADE_ID!r}); "
                         f"found {len(setup)}.")
    setup[0].source = edition.setup_source()


def stamped_readme(text, edition):
    """README text with every Colab and Binder badge link pointing at `edition`."""
    return BINDER_LINK.sub(edition.binder, COLAB_LINK.sub(edition.colab, text))


def stamp(course=ROOT, *, check=False):
    """Stamp `course` with its course.toml; return the paths that changed (with `check`: that would change)."""
    course = Path(course).resolve()
    edition = read_edition(course)
    changed = []
    for path in source_notebooks(course):
        notebook = nbformat.read(path, as_version=4)
        before = [cell.source for cell in notebook.cells]
        stamp_notebook(notebook, path.stem, edition)
        if [cell.source for cell in notebook.cells] != before:
            changed.append(path)
            if not check:
                nbformat.write(notebook, path)
    readme = course / "README.md"
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
        if stamped_readme(text, edition) != text:
            changed.append(readme)
            if not check:
                readme.write_text(stamped_readme(text, edition), encoding="utf-8")
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", type=Path, default=ROOT, help="the course folder (default: this repository)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is not stamped")
    args = parser.parse_args(argv)
    changed = stamp(args.course, check=args.check)
    for path in changed:
        print(f"{'not stamped' if args.check else 'stamped'}: {path.relative_to(args.course.resolve())}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
