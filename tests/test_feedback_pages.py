"""Feedback pages: no false alarm for a student's own lines, and a fallback page that says why and gives results."""
import nbformat

from grading.feedback import leaks, missing_page, submitted_lines
from grading.repair import Repair
from grading.report import Report

PAGE = "<pre>import tensorflow as tf\nresult = answer()</pre><pre>check_close(secret_value(), 42)</pre>"
SECRETS = {"import tensorflow as tf", "check_close(secret_value(), 42)"}


def test_a_line_the_student_wrote_is_not_a_leak_but_a_hidden_line_is():
    assert leaks(PAGE, SECRETS) == sorted(SECRETS)
    assert leaks(PAGE, SECRETS, own_lines={"import tensorflow as tf"}) == ["check_close(secret_value(), 42)"]


def test_submitted_lines_reads_every_notebook_of_the_submission(tmp_path):
    folder = tmp_path / "submitted" / "ada" / "02-baseline"
    folder.mkdir(parents=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("  import tensorflow as tf\nx = 1")])
    nbformat.write(notebook, folder / "02-baseline.ipynb")
    (folder / "broken.ipynb").write_text("not a notebook")
    assert submitted_lines(tmp_path, "ada", "02-baseline") == {"import tensorflow as tf", "x = 1"}


def test_the_fallback_page_says_why_and_lists_every_test():
    report = Report("ada", "02-baseline", problems=["A cell took too long."],
                    repairs=[Repair("notebook_metadata", "", "The notebook's saved widget information was incomplete.")])
    page = missing_page(report, 3, 10, reason="nbgrader could not draw your notebook as a page.",
                        results=[("test_forward", 3, 5), ("test_backward", 0, 5)])
    for text in ("Why this page is short", "nbgrader could not draw", "Score: 3 / 10", "test_forward", "3 / 5",
                 "test_backward", "0 / 5", "A cell took too long.", "widget information"):
        assert text in page, text
