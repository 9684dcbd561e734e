"""The rendered course (tools/build_site.py): a page per notebook, figures with alt text, no answer shown."""
import re

import pytest

import build_site
from course import ASSIGNMENTS, ROOT, notebook_path, read_notebook
from grading.feedback import leaks, unreleased_lines, visible_text


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    build_site.build(out)
    return out


def released_text(assignment):
    """The sources of the released notebook, and its text as a rendered page shows it (markdown marks gone)."""
    released = read_notebook(notebook_path(ROOT, "notebooks", assignment))
    sources = "\n".join(cell.source for cell in released.cells)
    return sources + "\n" + visible_text(build_site.render(released))


def secret_lines(assignment, min_length=12):
    """Lines of the source notebook that its released student version does not contain: solutions, written
    answers, hidden tests, mark schemes."""
    source = read_notebook(notebook_path(ROOT, "solutions", assignment))
    return unreleased_lines([cell.source for cell in source.cells], released_text(assignment), min_length=min_length)


def shown_secrets(page, assignment):
    """The secret lines `page` shows (`grading.feedback.leaks`, the project's one scanner)."""
    return leaks(page, secret_lines(assignment), public_text=released_text(assignment))


def test_the_index_links_every_notebook(site):
    index = (site / "index.html").read_text()
    assert re.findall(r'<a href="([^"]+)"', index) == [f"{assignment}.html" for assignment in ASSIGNMENTS]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_page_shows_figures_with_alt_text_and_no_answer(site, assignment):
    page = (site / f"{assignment}.html").read_text()
    images = re.findall(r"<img\b[^>]*>", page)
    assert any("data:image/png" in image for image in images), "the demonstrations' figures are missing"
    assert all(re.search(r'\balt="[^"]+"', image) for image in images), "a figure has no alt text"
    assert not shown_secrets(page, assignment), "the page shows solution or hidden-test lines"


def test_the_scan_finds_answers_in_a_page_rendered_from_the_source():
    assignment = ASSIGNMENTS[0]
    page = build_site.render(read_notebook(notebook_path(ROOT, "solutions", assignment)))
    assert shown_secrets(page, assignment)
