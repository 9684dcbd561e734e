"""The student edition (tools/publish.py, `make publish DEST=dir`): built from a stamped and released copy of
the course, it holds the student files only, and no file of any of its commits shows an answer, by the
project's one leak scanner (`grading.feedback.leaks`)."""
import html
import json
import os
import shutil
import subprocess
import sys

import jsonschema
import nbformat
import pytest
import yaml

from course import ASSIGNMENTS, ROOT, nbgrader, notebook_path, read_notebook
from course_files import copy_course_files, run_tool
from grading.feedback import hidden_test_lines, leaks, unreleased_lines

EDITION_FILES = {".git", ".gitignore", "README.md", "LICENSE", "CITATION.cff", "requirements.txt",
                 "constraints.txt", "environment.yml", "notebooks", "helpers", "jupyter", "start"}
CFF_SCHEMA = ROOT / "tools" / "schemas" / "citation-file-format-1.2.0.json"
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Course test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
                "GIT_COMMITTER_NAME": "Course test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}


def publish(*arguments):
    return run_tool("publish", *arguments, env=dict(os.environ, **GIT_IDENTITY))


@pytest.fixture(scope="module")
def released_copy(tmp_path_factory):
    """A copy of the course stamped with its course.toml and released by nbgrader, as `make publish` needs."""
    course = copy_course_files(tmp_path_factory.mktemp("source") / "course")
    stamped = run_tool("stamp", "--course", course)
    assert stamped.returncode == 0, stamped.stderr
    for assignment in ASSIGNMENTS:
        nbgrader(course, "generate_assignment", assignment, "--force")
    return course


@pytest.fixture(scope="module")
def edition(released_copy, tmp_path_factory):
    destination = tmp_path_factory.mktemp("student") / "edition"
    result = publish(destination, "--course", released_copy)
    assert result.returncode == 0, result.stderr
    return destination


def git(repository, *arguments):
    return subprocess.run(["git", *arguments], cwd=repository, check=True, capture_output=True, text=True).stdout


def readable_text(name, content):
    """What a file shows a reader: a notebook's cell sources and text outputs, any other file as it is."""
    if not name.endswith(".ipynb"):
        return content
    notebook = json.loads(content)
    parts = []
    for cell in notebook["cells"]:
        parts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            parts += ["".join(output.get("text", ""))] + ["".join(value) for value in output.get("data", {}).values()
                                                           if isinstance(value, (str, list))]
    return "\n".join(parts)


def every_committed_file(repository):
    """(commit, path, text) for every text file of every commit of `repository`."""
    for commit in git(repository, "rev-list", "--all").split():
        for name in git(repository, "ls-tree", "-r", "--name-only", commit).splitlines():
            blob = subprocess.run(["git", "show", f"{commit}:{name}"], cwd=repository, capture_output=True).stdout
            try:
                yield commit, name, blob.decode("utf-8")
            except UnicodeDecodeError:  # a binary file shows no code line
                continue


def secrets_and_public(course):
    """What a student must not see, and what they may: the lines of the source notebooks that their released
    versions do not hold (solutions, written answers, hidden tests, mark schemes; 12 characters or more), and
    the text of the release and of the helpers. The helpers are published on purpose (the notebooks import
    them) and share plain lines such as `layer.set_weights(weights)` with answers and hidden tests."""
    release = "\n".join(cell.source for assignment in ASSIGNMENTS
                         for cell in read_notebook(notebook_path(course, "notebooks", assignment)).cells)
    sources = [cell.source for assignment in ASSIGNMENTS
               for cell in read_notebook(notebook_path(course, "solutions", assignment)).cells]
    secrets = unreleased_lines(sources, release)
    helpers = "\n".join(path.read_text() for path in sorted((course / "helpers").rglob("*.py")))
    return secrets, hidden_test_lines(sources), release + "\n" + helpers


def shown_answers(repository, course):
    """'commit:path: line' for each secret line a file of any commit of `repository` shows."""
    secrets, _, public = secrets_and_public(course)
    return [f"{commit[:8]}:{name}: {line}" for commit, name, text in every_committed_file(repository)
            # escaped: the scanner reads HTML and drops what looks like a tag (a < b > c in code)
            for line in leaks(html.escape(readable_text(name, text)), secrets, public_text=public)]


def test_the_edition_holds_the_student_files_only(edition):
    assert {path.name for path in edition.iterdir()} == EDITION_FILES
    assert sorted(path.name for path in (edition / "notebooks").iterdir()) == ASSIGNMENTS
    assert not list(edition.rglob("*.egg-info")) and not list(edition.rglob("gradebook.db"))
    assert "./grading" not in (edition / "environment.yml").read_text()


def test_no_commit_of_the_edition_shows_an_answer_or_a_hidden_test(edition, released_copy):
    secrets, hidden, _ = secrets_and_public(released_copy)
    assert secrets and hidden, "the scan has nothing to look for"
    assert not shown_answers(edition, released_copy)


def test_the_scan_finds_an_answer_committed_to_the_edition(edition, released_copy, tmp_path):
    leaky = tmp_path / "leaky"
    shutil.copytree(edition, leaky)
    shutil.copy2(notebook_path(released_copy, "solutions", ASSIGNMENTS[1]), leaky / "notebooks" / "answers.ipynb")
    git(leaky, "add", "notebooks/answers.ipynb")
    subprocess.run(["git", "commit", "--quiet", "-m", "oops"], cwd=leaky, check=True, env=dict(os.environ, **GIT_IDENTITY))
    git(leaky, "rm", "--quiet", "notebooks/answers.ipynb")  # removed again: still in the history
    subprocess.run(["git", "commit", "--quiet", "-m", "undo"], cwd=leaky, check=True, env=dict(os.environ, **GIT_IDENTITY))
    assert any(":notebooks/answers.ipynb:" in found for found in shown_answers(leaky, released_copy))


def test_the_edition_is_one_tagged_commit_whose_readme_teaches_colab_and_local_work(edition):
    tag = subprocess.run([sys.executable, "-c", "import tomllib; print(tomllib.load(open('course.toml', 'rb'))"
                          "['student_edition']['tag'])"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert git(edition, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(edition, "tag", "--points-at", "HEAD").split() == [tag]
    readme = (edition / "README.md").read_text()
    for needed in ("Save a copy in Drive", "Download .ipynb", "constraints.txt", "PowerShell", "conda env create",
                   "colab.research.google.com/github/", "| # |", "mybinder.org/v2/gh/", "JUPYTER_CONFIG_PATH"):
        assert needed in readme, f"the learner README lacks {needed!r}"
    assert "$" not in readme.replace("$x", "").replace("$env:", ""), "a template placeholder was left in the README"


def test_the_setup_cells_requirement_installs_from_the_editions_tag(edition):
    """pip resolves the setup cell's requirement against the edition itself (its folder instead of GitHub)."""
    notebook = nbformat.read(next((edition / "notebooks").glob("*/*.ipynb")), as_version=4)
    (setup,) = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup"]
    name, url = setup.source.split('HELPERS = "', 1)[1].split('"', 1)[0].split(" @ ")
    repository = url.removeprefix("git+").split("@", 1)[0]
    # pip refuses `name @ git+file://...` (a file URL with a revision), so the local URL goes alone.
    local = url.replace(repository, edition.as_uri())
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-build-isolation",
                             "--quiet", "--disable-pip-version-check", "--report", "-", local],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (installed,) = json.loads(result.stdout)["install"]
    assert installed["metadata"]["name"] == name
    assert installed["download_info"]["vcs_info"]["commit_id"] == git(edition, "rev-parse", "HEAD").strip()


def test_a_second_publish_with_the_same_tag_is_refused(edition, released_copy):
    result = publish(edition, "--course", released_copy)
    assert result.returncode != 0 and "already has the tag" in result.stderr


def test_a_course_not_stamped_with_course_toml_is_refused(released_copy, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(released_copy, course)
    config = course / "course.toml"
    config.write_text(config.read_text().replace('tag = "', 'tag = "next-'))
    result = publish(tmp_path / "edition", "--course", course)
    assert result.returncode != 0 and "make release" in result.stderr and not (tmp_path / "edition").exists()


def test_release_order_publishes_the_chosen_notebooks_only(released_copy, tmp_path):
    first = ASSIGNMENTS[0]
    result = publish(tmp_path / "edition", "--course", released_copy, "--assignments", first)
    assert result.returncode == 0, result.stderr
    assert [path.name for path in (tmp_path / "edition" / "notebooks").iterdir()] == [first]
    assert all(f"notebooks/{other}/" not in (tmp_path / "edition" / "README.md").read_text()
               for other in ASSIGNMENTS[1:])


def test_citation_cff_follows_the_citation_file_format_schema():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    jsonschema.validate(citation, json.loads(CFF_SCHEMA.read_text()))
    broken = dict(citation, authors="nobody")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(CFF_SCHEMA.read_text()))


def test_license_covers_code_and_content():
    text = (ROOT / "LICENSE").read_text()
    assert "MIT License" in text and "Attribution 4.0 International" in text
