"""HTML feedback for every graded submission, without the code of hidden tests.

    python -m grading.feedback [--course DIR] [ASSIGNMENT ...]

Runs real `nbgrader generate_feedback`; nbgrader_config.py adds two preprocessors to it (so that formgrader's
"generate feedback" button gets them too):

- `HideHiddenTests` replaces the code between `### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS` of every
  test cell with a one-line note, and reduces the cell's output to which check failed and its message
  (`ename: evalue`): a traceback would quote the hidden lines, printed output could show expected values;
- `GradingNotes` puts the grading report of `grading.autograde` on top: what was repaired and what went
  wrong (time-outs, input(), memory, syntax errors, failed tests).

A submission whose page nbgrader could not render, or without a gradable notebook, gets a short HTML page
instead: why, the score, the per-test results and the grading notes. Finally every feedback file is checked
for lines of hidden test code that neither the released notebook nor the student's own submission holds; a
file that shows one is deleted and reported.

For nbgrader's exchange (`nbgrader release_feedback`, then the student's `nbgrader fetch_feedback`), each page
gets the submission's timestamp.txt and submission_secret.txt beside it, and a renamed notebook's page a copy
under the name the student submitted (fetch_feedback looks a page up by that name).
"""
import argparse
import html
import re
import shutil
import sys
from pathlib import Path

import nbformat

from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Unicode

from grading.course import (PACKAGE_PARENT, assignments, copy_kept_files, feedback_folder, gradebook_url, nbgrader_env,
                            release_notebook, run_nbgrader, submissions, submitted_folder)
from grading.report import read_report

# The markers nbgrader itself looks for when it clears hidden tests from the release
BEGIN, END = ClearHiddenTests.begin_test_delimeter.default_value, ClearHiddenTests.end_test_delimeter.default_value
HIDDEN_NOTE = "# (The code of the hidden tests is not shown.)"


def hidden_regions(source):
    """Each line of cell source `source` with its place: BEGIN or END for a marker line (`### BEGIN HIDDEN TESTS`,
    `### END HIDDEN TESTS`), True inside a hidden test region, False outside. The one parser of hidden regions:
    the feedback page, the leak checks and the tests all read them through it."""
    hidden = False
    for line in (source or "").splitlines():
        if BEGIN in line:
            hidden = True
            yield line, BEGIN
        elif END in line:
            hidden = False
            yield line, END
        else:
            yield line, hidden


def without_hidden_tests(source):
    """`source` with each hidden test region replaced by HIDDEN_NOTE."""
    return "\n".join(HIDDEN_NOTE if place == BEGIN else line for line, place in hidden_regions(source)
                     if place is False or place == BEGIN)


def outcome_only(outputs):
    """The outputs of a hidden test reduced to its verdict: failed checks keep their name and message only."""
    errors = [output for output in outputs if output.get("output_type") == "error"]
    if not errors:
        return [NotebookNode(output_type="stream", name="stdout", text="The hidden tests passed.\n")]
    return [NotebookNode(output_type="error", ename=error.ename, evalue=error.evalue,
                         traceback=[f"{error.ename}: {error.evalue}"]) for error in errors]


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden test code, tracebacks and printed output from test cells (feedback only)."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and BEGIN in cell.source:
            cell.source = without_hidden_tests(cell.source)
            cell.outputs = outcome_only(cell.outputs)
        return cell, resources


class GradingNotes(NbGraderPreprocessor):
    """Put the grading report (repairs and problems) in a markdown cell at the top of the feedback."""

    course = Unicode("", help="the course directory, where autograded/.reports/ is").tag(config=True)

    def preprocess(self, nb, resources):
        report = read_report(self.course, resources["nbgrader"]["student"], resources["nbgrader"]["assignment"])
        if report:
            nb.cells.insert(0, new_markdown_cell(notes_markdown(report)))
        return nb, resources


def notes_markdown(report):
    lines = ["## Notes from grading", ""]
    repairs = [repair.message for repair in report.repairs]
    if repairs:
        lines += ["**What we repaired before grading:**", ""] + [f"- {message}" for message in repairs] + [""]
    if report.problems:
        lines += ["**What happened while grading:**", ""] + [f"- {problem}" for problem in report.problems]
    if not repairs and not report.problems:
        lines.append("Your notebook ran from top to bottom without problems.")
    return "\n".join(lines)


def missing_page(report, score, max_score, *, reason, results=()):
    """A plain HTML page for a submission whose feedback nbgrader could not render: why, the score, the
    per-test results (name, points, max points) and the grading notes."""
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{points:g} / {maximum:g}</td></tr>" for name, points, maximum in results)
    table = f"<h2>Results per test</h2><table><tr><th>test</th><th>points</th></tr>{rows}</table>" if rows else ""
    items = "".join(f"<li>{html.escape(note)}</li>" for note in
                    [repair.message for repair in report.repairs if repair.message] + report.problems)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(report.assignment)}</title></head><body>"
            f"<h1>{html.escape(report.assignment)} — feedback for {html.escape(report.student)}</h1>"
            f"<p><strong>Why this page is short:</strong> {html.escape(reason)}</p>"
            f"<p>Score: {score:g} / {max_score:g}</p>{table}<h2>Notes from grading</h2><ul>{items}</ul></body></html>")


def hidden_test_lines(sources, *, min_length=12):
    """The lines (stripped) between `### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS` in the cell sources
    `sources`, of at least `min_length` characters (shorter ones, like `assert ok`, say nothing). The one parser
    of hidden regions for the leak checks, grading's and the tests'."""
    return {line.strip() for source in sources for line, place in hidden_regions(source)
            if place is True and len(line.strip()) >= min_length}


def hidden_lines(course, assignment):
    """The lines of hidden test code of `assignment`, from the gradebook."""
    with Gradebook(gradebook_url(course)) as gradebook:
        return hidden_test_lines(cell.source for notebook in gradebook.find_assignment(assignment).notebooks
                                 for cell in notebook.source_cells)


def unreleased_lines(source_cells, released_text, *, min_length=12):
    """The lines (stripped) of the source notebooks' cells `source_cells` (sources) that `released_text`, the
    text of the released student notebooks, does not contain: solutions, written answers, hidden tests, mark
    schemes. Lines shorter than `min_length` say nothing. What the site and the student edition must not show."""
    return {line.strip() for source in source_cells for line in (source or "").splitlines()
            if len(line.strip()) >= min_length and line.strip() not in released_text}


def visible_text(page):
    """The text a reader sees in an HTML page: tags removed, entities decoded, blanks collapsed."""
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    return re.sub(r"[ \t]+", " ", text)


def leaks(page, secret_lines, public_text="", own_lines=frozenset()):
    """The hidden lines that appear in `page`, except those also in the released notebook (`public_text`) and
    those the student wrote in their own submission (`own_lines`, stripped): showing a student their own line
    reveals nothing, even when a hidden test has the same line (e.g. `import tensorflow as tf`)."""
    text = visible_text(page)
    return sorted(line for line in secret_lines
                  if re.sub(r"[ \t]+", " ", line) in text and line not in public_text and line not in own_lines)


def submitted_notebooks(course, student, assignment):
    """The paths of the notebooks the student handed in for `assignment` (top level of the submission)."""
    return sorted(submitted_folder(course, student, assignment).glob("*.ipynb"))


def submitted_lines(course, student, assignment):
    """Every line (stripped) of the notebooks the student handed in for `assignment`."""
    lines = set()
    for path in submitted_notebooks(course, student, assignment):
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception:  # an unreadable file holds no line the student could be shown back
            continue
        lines.update(line.strip() for cell in notebook.cells for line in cell.get("source", "").splitlines())
    return lines


def feedback(course, assignment_ids=None):
    """Generate feedback for every submission; return {(student, assignment): path of the feedback file}."""
    course = Path(course).resolve()
    written = {}
    for assignment in assignment_ids or assignments(course):
        if not submissions(course, assignment):
            continue
        # The configuration names the preprocessors; PYTHONPATH finds `grading` for a course directory elsewhere.
        result = run_nbgrader(course, "generate_feedback", assignment, "--force",
                              env=nbgrader_env(PYTHONPATH=str(PACKAGE_PARENT)))
        if result.returncode != 0:
            print(result.stdout, result.stderr, file=sys.stderr)
        reason = ("nbgrader could not draw your notebook as a page; the results below are complete."
                  if result.returncode != 0 else "there was no notebook to draw; see the notes below.")
        for student in submissions(course, assignment):
            written[student, assignment] = write_missing_page(course, student, assignment, reason=reason)
        for path in check_no_leaks(course, assignment, written):
            print(f"DELETED {path}: it showed hidden test code", file=sys.stderr)
        for student in submissions(course, assignment):
            ready_for_the_exchange(course, student, assignment)
    return written


def ready_for_the_exchange(course, student, assignment):
    """Make a submission's feedback page releasable by `nbgrader release_feedback`; return the copies written.

    A submission collected from nbgrader's exchange holds submission_secret.txt (and timestamp.txt), which
    release_feedback reads beside the page; it releases each page under a hash of the secret and the page's name,
    and the student's fetch_feedback looks for the names of the notebooks the student submitted. So a renamed
    notebook (graded as the assignment's, grading.submission.read_submission) gets a copy of its page under the
    name it was submitted with. A submission from an LMS download (no secret) is left as it is.
    """
    submitted = submitted_folder(course, student, assignment)
    folder = feedback_folder(course, student, assignment)
    page = folder / f"{assignment}.html"
    if not page.exists() or not (submitted / "submission_secret.txt").is_file():
        return []
    copy_kept_files(submitted, folder)  # a short page (missing notebook, unrenderable one) has none yet
    copies = [folder / f"{notebook.stem}.html" for notebook in submitted_notebooks(course, student, assignment)
              if notebook.stem != assignment]
    for copy in copies:
        shutil.copy2(page, copy)
    return copies


def write_missing_page(course, student, assignment, *, reason):
    path = feedback_folder(course, student, assignment) / f"{assignment}.html"
    report = read_report(course, student, assignment)
    if not path.exists() and report:
        with Gradebook(gradebook_url(course)) as gradebook:
            submission = gradebook.find_submission(assignment, student)
            score, max_score = submission.score, submission.max_score
            results = [(grade.name, grade.score, grade.max_score) for notebook in submission.notebooks
                       for grade in notebook.grades]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(missing_page(report, score, max_score, reason=reason, results=results), encoding="utf-8")
    return path


def check_no_leaks(course, assignment, written):
    """Delete every feedback file of `assignment` that shows hidden test code; return the deleted paths."""
    secrets = hidden_lines(course, assignment)
    release = nbformat.read(release_notebook(course, assignment), as_version=4)
    public_text = "\n".join(cell.source for cell in release.cells)
    deleted = []
    for (student, name), path in written.items():
        if name == assignment and path.exists() and leaks(path.read_text(encoding="utf-8"), secrets, public_text,
                                                          submitted_lines(course, student, assignment)):
            path.unlink()
            deleted.append(path)
    return deleted


def main(argv=None):
    parser = argparse.ArgumentParser(description="Generate HTML feedback without hidden test code.")
    parser.add_argument("assignments", nargs="*", help="assignment names (default: every released one)")
    parser.add_argument("--course", default=".", help="the course directory (default: current directory)")
    args = parser.parse_args(argv)
    for (student, assignment), path in sorted(feedback(args.course, args.assignments).items()):
        print(f"{assignment:16} {student:24} {path if path.exists() else 'no feedback'}")


if __name__ == "__main__":
    main()
