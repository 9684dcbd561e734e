"""One address, pinned: course.toml holds the student repository's address and tag, tools/stamp.py puts them
into every badge and setup cell, and the address typed anywhere else fails a test.

The stamping is tested on a temporary copy of the course: stamped with another address, no file of the copy
may still hold the real one, except course.toml itself (notebooks/ is left out: nbgrader regenerates it from
solutions/, and tests/test_sync.py proves the committed one is what it generates).
"""
import shutil
import subprocess
import sys
import tomllib

import nbformat
import pytest

from course import ROOT
from course_files import copy_course_files, course_files, run_tool

SENTINEL = ("https://github.com/stamp-test-owner/stamp-test-course", "v0.0.0-test")


def real_address():
    settings = tomllib.loads((ROOT / "course.toml").read_text())["student_edition"]
    return settings["repository"]


def typed_addresses(root, address):
    """'file:line: text' for each line of a course file in `root` that holds `address`'s OWNER/NAME."""
    needle = address.removeprefix("https://github.com/").lower()
    found = []
    for name in course_files(root):
        if name == "course.toml" or name.startswith("notebooks/"):
            continue
        try:
            text = (root / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:  # a binary file (a database, an image) holds no typed address
            continue
        found += [f"{name}:{number}: {line.strip()[:100]}" for number, line in enumerate(text.splitlines(), 1)
                  if needle in line.lower()]
    return found


def write_edition(course, repository, tag):
    (course / "course.toml").write_text(f'[student_edition]\nrepository = "{repository}"\ntag = "{tag}"\n')


def stamp(course, *arguments):
    return run_tool("stamp", "--course", course, *arguments)


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory):
    """Every course file (committed or new, not ignored) copied into a temporary git repository."""
    return copy_course_files(tmp_path_factory.mktemp("stamped") / "course")


@pytest.fixture(scope="module")
def sentinel_course(course_copy):
    """The copy stamped with the sentinel address and tag."""
    write_edition(course_copy, *SENTINEL)
    result = stamp(course_copy)
    assert result.returncode == 0, result.stderr
    return course_copy


def test_the_address_is_typed_only_in_course_toml(sentinel_course):
    leftovers = typed_addresses(sentinel_course, real_address())
    assert not leftovers, ("the student repository's address is typed outside course.toml (stamping with another "
                           "address left it there); let tools/stamp.py write it instead:\n" + "\n".join(leftovers))


def test_an_address_typed_by_hand_is_found(sentinel_course, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(sentinel_course, course)
    (course / "CONTRIBUTING.md").write_text(f"Fork {real_address()}.git and ...\n")
    assert typed_addresses(course, real_address()) == [f"CONTRIBUTING.md:1: Fork {real_address()}.git and ..."]


def test_every_badge_and_setup_cell_carries_the_address_and_tag(sentinel_course):
    repository, tag = SENTINEL
    colab = f"https://colab.research.google.com/github/stamp-test-owner/stamp-test-course/blob/{tag}/"
    for path in sorted((sentinel_course / "solutions").glob("[0-9]*/*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        assert notebook.cells[0].source.startswith(f'<a href="{colab}notebooks/{path.stem}/{path.stem}.ipynb"')
        (setup,) = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup"]
        assert f'"bn-course @ git+{repository}@{tag}#subdirectory=helpers"' in setup.source
    readme = (sentinel_course / "README.md").read_text()
    assert readme.count(colab) >= 5 and "colab.research.google.com/github/batchnorm" not in readme


def test_stamping_twice_changes_nothing(sentinel_course):
    before = {name: (sentinel_course / name).read_bytes() for name in course_files(sentinel_course)}
    assert stamp(sentinel_course, "--check").returncode == 0
    result = stamp(sentinel_course)
    assert result.returncode == 0 and result.stdout == ""
    assert {name: (sentinel_course / name).read_bytes() for name in course_files(sentinel_course)} == before


def test_a_malformed_address_is_refused_with_the_expected_form(tmp_path):
    write_edition(tmp_path, "github.com/owner", "v1")
    result = stamp(tmp_path)
    assert result.returncode != 0 and "https://github.com/OWNER/NAME" in result.stderr


def test_the_setup_cell_stops_with_advice_when_the_install_fails(sentinel_course, tmp_path):
    """The stamped setup cell, run as in Colab (google.colab imported) with an address pip cannot install."""
    notebook = nbformat.read(next((sentinel_course / "solutions").glob("[0-9]*/*.ipynb")), as_version=4)
    (setup,) = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup"]
    unreachable = setup.source.replace(SENTINEL[0], (tmp_path / "no-such-repository").as_uri())
    fake_colab = "import sys, types; sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
    result = subprocess.run([sys.executable, "-c", fake_colab + unreachable], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0
    assert "RuntimeError: The course helpers (bn_course) could not be installed" in result.stderr
    assert "Restart session and run this cell again" in result.stderr


def test_the_repository_is_stamped_with_course_toml():
    result = stamp(ROOT, "--check")
    assert result.returncode == 0, (
        "badges or setup cells differ from course.toml: run `make release` (it stamps, then regenerates "
        f"notebooks/), re-execute with `make solutions-outputs`, and commit:\n{result.stdout}{result.stderr}")
