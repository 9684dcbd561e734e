"""Unit tests of the instructor tools in grading/ that need no nbgrader run (seconds, no kernel)."""
import copy
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from course import ROOT, ASSIGNMENTS, notebook_path, read_notebook
from grading.repair import grading_metadata, repair_notebook
from submissions import completed, released, solution_cells

ASSIGNMENT = "02-baseline"


def grade_id_of(cell):
    """The cell's grade id, or None for a cell the release does not grade or lock (e.g. a plain markdown cell)."""
    return (grading_metadata(cell) or {}).get("grade_id")


def grade_ids(notebook):
    return [grading_metadata(cell)["grade_id"] for cell in notebook.cells if grading_metadata(cell)]


def cell(notebook, grade_id):
    (found,) = [c for c in notebook.cells if (grading_metadata(c) or {}).get("grade_id") == grade_id]
    return found


@pytest.fixture
def release():
    return released(ASSIGNMENT)


@pytest.fixture
def answer():
    return completed(ASSIGNMENT)


def kinds(repairs):
    return sorted({repair.kind for repair in repairs})


def test_an_intact_submission_is_left_alone(release, answer):
    repaired, repairs = repair_notebook(answer, release)
    assert repairs == []
    assert [c.source for c in repaired.cells] == [c.source for c in answer.cells]
    assert grade_ids(repaired) == grade_ids(release)


def test_stripped_metadata_is_restored_by_id_content_and_position(release, answer):
    stripped = copy.deepcopy(answer)
    for c in stripped.cells:
        c.metadata = nbformat.NotebookNode()
    repaired, repairs = repair_notebook(stripped, release)
    assert grade_ids(repaired) == grade_ids(release)
    assert len(repaired.cells) == len(answer.cells)
    assert kinds(repairs) == ["metadata"]
    assert "Your answers were not changed" in repairs[0].message
    for grade_id, source in solution_cells(ASSIGNMENT).items():
        assert cell(repaired, grade_id).source == source


def test_colab_like_notebook_without_ids_or_metadata_is_matched_by_content(release, answer):
    colab = copy.deepcopy(answer)
    colab.nbformat_minor = 0
    colab.metadata = nbformat.NotebookNode(colab={"provenance": []}, kernelspec={"name": "python3", "display_name": "Python 3"})
    for index, c in enumerate(colab.cells):
        c.pop("id", None)
        c.metadata = nbformat.NotebookNode(id=f"colab{index}", colab={"base_uri": "https://localhost:8080/"})
    colab.cells.insert(3, nbformat.v4.new_code_cell("print('my own scratch cell')"))
    repaired, _ = repair_notebook(colab, release)
    nbformat.validate(repaired)
    assert grade_ids(repaired) == grade_ids(release)
    assert cell(repaired, "build_baseline_model").source == solution_cells(ASSIGNMENT)["build_baseline_model"]
    assert "my own scratch cell" in repaired.cells[3].source and not grading_metadata(repaired.cells[3])


def test_duplicated_grade_id_keeps_one_cell_and_says_so(release, answer):
    duplicated = copy.deepcopy(answer)
    index = next(i for i, c in enumerate(duplicated.cells) if grading_metadata(c) and grading_metadata(c)["grade_id"] == "predict_labels")
    stub = copy.deepcopy(cell(release, "predict_labels"))
    duplicated.cells.insert(index, stub)  # an empty copy above the worked answer
    repaired, repairs = repair_notebook(duplicated, release)
    assert grade_ids(repaired) == grade_ids(release)
    assert cell(repaired, "predict_labels").source == solution_cells(ASSIGNMENT)["predict_labels"]
    assert kinds(repairs) == ["duplicate"]
    assert "appeared 2 times" in repairs[0].message


def test_changed_cell_type_is_changed_back(release, answer):
    retyped = copy.deepcopy(answer)
    answer_cell = cell(retyped, "build_baseline_model")
    answer_cell.cell_type = "markdown"
    answer_cell.pop("outputs"), answer_cell.pop("execution_count")
    repaired, repairs = repair_notebook(retyped, release)
    assert cell(repaired, "build_baseline_model").cell_type == "code"
    assert "changed from markdown to code" in repairs[0].message
    nbformat.validate(repaired)


def test_deleted_cells_are_put_back_in_place(release, answer):
    deleted = copy.deepcopy(answer)
    deleted.cells = [c for c in deleted.cells if grade_id_of(c) not in {"test_predict_labels_hidden", "code-02"}]
    repaired, repairs = repair_notebook(deleted, release)
    assert grade_ids(repaired) == grade_ids(release)
    messages = " ".join(r.message for r in repairs)
    assert "The test cell `test_predict_labels_hidden` was missing" in messages
    assert "The cell `code-02` of the assignment was missing" in messages


def test_deleted_answer_cell_is_put_back_empty(release, answer):
    deleted = copy.deepcopy(answer)
    deleted.cells = [c for c in deleted.cells if grade_id_of(c) != "predict_labels"]
    repaired, repairs = repair_notebook(deleted, release)
    assert cell(repaired, "predict_labels").source == cell(release, "predict_labels").source
    assert "was put back empty" in repairs[0].message


def test_edited_test_cell_is_reported(release, answer):
    edited = copy.deepcopy(answer)
    cell(edited, "test_build_baseline_model_public").source = "print('all good')"
    _, repairs = repair_notebook(edited, release)
    assert [r.kind for r in repairs] == ["edited"]


def test_rewritten_points_and_flags_are_restored(release, answer):
    tampered = copy.deepcopy(answer)
    meta = grading_metadata(cell(tampered, "test_predict_labels_hidden"))
    meta.update(points=100, grade=False, locked=False)
    repaired, repairs = repair_notebook(tampered, release)
    assert grading_metadata(cell(repaired, "test_predict_labels_hidden")) == grading_metadata(cell(release, "test_predict_labels_hidden"))
    assert kinds(repairs) == ["metadata"]


@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if notebook_path(ROOT, "notebooks", a).exists()])
def test_every_release_survives_stripping(assignment):
    release = read_notebook(notebook_path(ROOT, "notebooks", assignment))
    stripped = copy.deepcopy(completed(assignment))
    for c in stripped.cells:
        c.metadata = nbformat.NotebookNode()
        c.pop("id", None)
    repaired, _ = repair_notebook(stripped, release)
    assert grade_ids(repaired) == grade_ids(release)


# --- packaging: `grading` is installed, and its commands run from the repository root ----------------------------

def test_grading_is_the_installed_package_wherever_python_starts(tmp_path):
    """`make install` installs grading/ editable: nbgrader imports grading.feedback's preprocessors (named in
    nbgrader_config.py) from any directory, e.g. a sandbox or formgrader started elsewhere."""
    code = "import grading.autograde, grading.feedback; print(grading.__file__)"
    found = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(ROOT / "grading" / "__init__.py")


def test_python_m_grading_autograde_runs_from_the_repository_root():
    result = subprocess.run([sys.executable, "-m", "grading.autograde", "-h"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--jobs" in result.stdout and "--memory-gb" in result.stdout


# --- helpers ship no solution -------------------------------------------------------------------------------------

def all_solution_names():
    return {name for assignment in ASSIGNMENTS for name in solution_cells(assignment)}


def test_the_helpers_package_ships_no_solution_or_hidden_test():
    import bn_course

    package = __import__("pathlib").Path(bn_course.__file__).parent
    files = sorted(package.rglob("*.py"))
    assert files
    markers = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "source_with_tests",
               "gradebook", "solutions/")
    definitions = [f"def {name}(" for name in all_solution_names()]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not [marker for marker in markers if marker in text], path
        assert not [d for d in definitions if d in text], f"{path} defines a function that students must write"


# --- autograde: limits and reports --------------------------------------------------------------------------------

from grading.feedback import (HideHiddenTests, hidden_test_lines, leaks, notes_markdown,  # noqa: E402
                              without_hidden_tests)
from grading.report import Report, problems_in  # noqa: E402
from grading.sandbox import memory_limited  # noqa: E402
from grading.submission import read_submission  # noqa: E402

OVERCOMMIT = "import numpy as np\nblocks = [np.empty(2**27) for _ in range(40)]\nprint('allocated 40 GiB')"


def test_the_memory_limit_not_luck_stops_a_huge_allocation():
    import subprocess

    free = subprocess.run([sys.executable, "-c", OVERCOMMIT], capture_output=True, text=True)
    limited = subprocess.run(memory_limited([sys.executable, "-c", OVERCOMMIT], 2), capture_output=True, text=True)
    assert "allocated 40 GiB" in free.stdout, "without the limit the machine lets this allocation through"
    assert "MemoryError" in limited.stderr


def graded_cell(source, outputs, grade_id=None, grade=False):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.NotebookNode(o) for o in outputs]
    if grade_id:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "grade": grade}
    return cell


def error(ename, evalue=""):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def test_problems_are_described_in_plain_words():
    notebook = nbformat.v4.new_notebook(cells=[
        graded_cell("while True: pass", [error("KeyboardInterrupt"), error("CellTimeoutError")]),
        graded_cell("input()", [error("StdinNotImplementedError", "raw_input was called")]),
        graded_cell("x = np.ones(10**12)", [error("MemoryError")]),
        graded_cell("def f(:", [error("SyntaxError", "invalid syntax")], grade_id="f"),
        graded_cell("check()", [error("CheckFailed", "f(x): has the wrong shape.\n  expected: (4,)")], "test_f", True),
        graded_cell("print(0)", [{"output_type": "stream", "name": "stdout", "text": "0\n... Output truncated ..."}]),
    ])
    problems = problems_in(notebook, timeout=20, memory_gb=6)
    assert problems == [
        "cell 1 (`while True: pass`) timed out after 20 s and was stopped; the cells after it still ran.",
        "Your notebook asked for keyboard input (input()) in cell 2 (`input()`), which is not available during "
        "grading; that cell stopped there. Remove input() calls before you submit.",
        "cell 3 (`x = np.ones(10**12)`) tried to use more memory than grading allows (6 GB) and was stopped "
        "(MemoryError).",
        "cell `f` has a syntax error (SyntaxError: invalid syntax), so none of its code ran.",
        "Test `test_f` failed: CheckFailed: f(x): has the wrong shape.",
        "cell 6 (`print(0)`) printed too much output; only the beginning was kept.",
    ]


def course_like_this_one(folder):
    """`folder` as a course with this course's configuration and released notebooks."""
    shutil.copy2(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    (folder / "notebooks").symlink_to(ROOT / "notebooks")


def test_missing_notebook_and_extra_files_are_reported(tmp_path):
    folder = tmp_path / "submitted" / "ann" / ASSIGNMENT
    (folder / "bn_course").mkdir(parents=True)
    (folder / "bn_course" / "checks.py").write_text("")
    (folder / "Copy of 02-baseline.ipynb").write_text("{}")
    (folder / "02-baseline-Copy1.ipynb").write_text("{}")
    notebook, report = read_submission(tmp_path, "ann", ASSIGNMENT)
    assert notebook is None and report.missing
    assert report.problems[0].startswith("We did not find 02-baseline.ipynb in your submission")
    assert "bn_course/checks.py" in report.problems[1] and "were ignored" in report.problems[1]


def test_a_single_renamed_notebook_is_graded(tmp_path):
    folder = tmp_path / "submitted" / "cat" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(completed(ASSIGNMENT), folder / f"{ASSIGNMENT} (1).ipynb")
    (folder / "notes.txt").write_text("my notes")
    course_like_this_one(tmp_path)
    notebook, report = read_submission(tmp_path, "cat", ASSIGNMENT)
    assert notebook is not None and not report.missing
    assert report.problems[0] == (f"Your notebook was named {ASSIGNMENT} (1).ipynb, not {ASSIGNMENT}.ipynb; it was "
                                     f"graded as {ASSIGNMENT}.ipynb. Keep the original name next time.")
    assert "notes.txt" in report.problems[1]


def test_a_notebook_in_an_lms_folder_or_zip_is_graded_and_a_zip_of_two_is_not(tmp_path):
    import io
    import zipfile

    course_like_this_one(tmp_path)
    text = nbformat.writes(completed(ASSIGNMENT))
    nested = tmp_path / "submitted" / "dee" / ASSIGNMENT / "Dee Doe_42_assignsubmission_file_"
    nested.mkdir(parents=True)
    (nested / f"{ASSIGNMENT}.ipynb").write_text(text)

    def zip_of(*names):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name in names:
                archive.writestr(name, text)
            archive.writestr("__MACOSX/._x.ipynb", "not a notebook")
        return buffer.getvalue()

    for student, names in (("eve", [f"{ASSIGNMENT}.ipynb"]), ("fay", ["a.ipynb", "b.ipynb"])):
        folder = tmp_path / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / "work.zip").write_bytes(zip_of(*names))
    notebook, report = read_submission(tmp_path, "dee", ASSIGNMENT)
    assert notebook is not None and f"at Dee Doe_42_assignsubmission_file_/{ASSIGNMENT}.ipynb" in report.problems[0]
    notebook, report = read_submission(tmp_path, "eve", ASSIGNMENT)
    assert notebook is not None and f"at work.zip:{ASSIGNMENT}.ipynb" in report.problems[0]
    assert len(report.problems) == 1  # the zip itself is not "also contained"
    notebook, report = read_submission(tmp_path, "fay", ASSIGNMENT)
    assert notebook is None and report.missing and "work.zip" in report.problems[0]


def test_unreadable_notebook_is_reported(tmp_path):
    folder = tmp_path / "submitted" / "bob" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [')
    notebook, report = read_submission(tmp_path, "bob", ASSIGNMENT)
    assert notebook is None and "could not be read as a notebook" in report.problems[0]


# --- feedback: hidden tests stay hidden ---------------------------------------------------------------------------

def hidden_test_cell():
    source = read_notebook(notebook_path(ROOT, "solutions", ASSIGNMENT))
    return next(c for c in source.cells if "BEGIN HIDDEN TESTS" in c.source)


def test_hidden_test_code_and_traceback_are_removed_but_the_verdict_stays():
    cell = copy.deepcopy(hidden_test_cell())
    cell.outputs = [nbformat.NotebookNode(output_type="stream", name="stdout", text="expected [0 1 0]\n"),
                    nbformat.NotebookNode(output_type="error", ename="CheckFailed", evalue="f: wrong values",
                                          traceback=["Cell In[7], line 5", "----> 5 " + cell.source.splitlines()[3]])]
    hidden = hidden_test_lines([cell.source], min_length=13)
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    shown = cell.source + str(cell.outputs)
    assert hidden and not [line for line in hidden if line in shown]
    assert "(The code of the hidden tests is not shown.)" in cell.source
    assert [(o.ename, o.evalue, o.traceback) for o in cell.outputs] == [("CheckFailed", "f: wrong values", ["CheckFailed: f: wrong values"])]


def test_without_hidden_tests_keeps_the_public_part():
    assert without_hidden_tests("# intro\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nafter()") == \
        "# intro\n# (The code of the hidden tests is not shown.)\nafter()"


def test_leak_check_sees_through_html_markup():
    page = '<span class="n">secret_check</span><span class="p">(</span><span class="mi">42</span><span class="p">)</span>'
    assert leaks(page, {"secret_check(42)"}) == ["secret_check(42)"]
    assert leaks(page, {"secret_check(42)"}, public_text="secret_check(42)") == []


def test_notes_say_when_nothing_went_wrong():
    assert "without problems" in notes_markdown(Report("ann", ASSIGNMENT))


# --- the sandbox's refusals, in words ---------------------------------------------------------------------------

def test_what_the_sandbox_refuses_is_said_in_plain_words():
    notebook = nbformat.v4.new_notebook(cells=[
        graded_cell("open('/course/gradebook.db')", [error("FileNotFoundError", "[Errno 2] No such file or directory: '/course/gradebook.db'")]),
        graded_cell("open(sys.prefix + '/x', 'w')", [error("OSError", "[Errno 30] Read-only file system: '/venv/x'")]),
        graded_cell("socket.create_connection(('1.1.1.1', 53))", [error("OSError", "[Errno 101] Network is unreachable")]),
        graded_cell("urlopen('https://pypi.org')", [error("gaierror", "[Errno -3] Temporary failure in name resolution")]),
        graded_cell("os.fork()", [error("BlockingIOError", "[Errno 11] Resource temporarily unavailable")]),
        graded_cell("%pip uninstall -y tqdm", []),
    ])
    problems = problems_in(notebook, timeout=20, memory_gb=6)
    assert [problem.split(") ", 1)[1] for problem in problems] == [
        "tried to open a file by its full path, which does not exist during grading: only your notebook's own folder "
        "is available.",
        "tried to change files outside your notebook's folder, which grading does not allow; nothing was changed.",
        "tried to use the network, which is not available during grading.",
        "tried to use the network, which is not available during grading.",
        "tried to start more processes than grading allows and was stopped.",
        "uses pip (%pip or !pip) to install or remove packages: grading runs your notebook with the course's own "
        "packages, so do not rely on installing any.",
    ]


def test_the_releases_own_pip_line_is_not_blamed_on_the_student():
    setup = graded_cell("if 'google.colab' in sys.modules:\n    %pip install bn-course", [], grade_id="setup")
    setup.metadata["nbgrader"]["locked"] = True
    assert problems_in(nbformat.v4.new_notebook(cells=[setup]), timeout=20, memory_gb=6) == []


def test_without_bwrap_isolation_is_reported_missing(monkeypatch):
    from grading import sandbox

    sandbox.isolation_problem.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    try:
        assert sandbox.isolation_problem() == "bubblewrap (bwrap) is not installed"
        warning = sandbox.UNISOLATED_WARNING.format(reason=sandbox.isolation_problem())
        assert warning.startswith("WARNING: this submission was graded WITHOUT isolation (bubblewrap (bwrap) is not")
    finally:
        sandbox.isolation_problem.cache_clear()


# --- the helpers an assignment was released with ---------------------------------------------------------------

def git(folder, *args):
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


def helpers_course(tmp_path, version):
    course = tmp_path / "course"
    (course / "helpers" / "bn_course").mkdir(parents=True)
    (course / "notebooks").mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")  # the release folder is notebooks/
    (course / "helpers" / "bn_course" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    git(course, "init", "-q")
    git(course, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "start")
    return course


def commit_helpers(course, version):
    (course / "helpers" / "bn_course" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    git(course, "add", "helpers")
    git(course, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", version)


def test_grading_uses_the_helpers_of_the_release_not_the_current_ones(tmp_path):
    from grading.release import provide_helpers, record_release

    course = helpers_course(tmp_path, "1.0")
    commit_helpers(course, "1.0")
    assert record_release(course, "02-baseline")["version"] == "1.0"
    commit_helpers(course, "2.0")  # the helpers change mid-term
    sentence = provide_helpers(course, "02-baseline", tmp_path / "lib")
    assert (tmp_path / "lib" / "bn_course" / "__init__.py").read_text() == '__version__ = "1.0"\n'
    assert sentence.startswith("bn_course 1.0 as released on")


def test_without_a_release_record_grading_uses_the_current_helpers_and_says_so(tmp_path):
    from grading.release import provide_helpers, record_release

    course = helpers_course(tmp_path, "2.0")
    commit_helpers(course, "2.0")
    record_release(course, "01-theory")
    sentence = provide_helpers(course, "02-baseline", tmp_path / "lib")
    assert (tmp_path / "lib" / "bn_course" / "__init__.py").read_text() == '__version__ = "2.0"\n'
    assert sentence == "the current bn_course 2.0 (no release record)"


def test_every_process_of_a_sandbox_is_killed_by_its_marker():
    import time

    from grading.sandbox import kill_sandbox_processes

    marked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                              env=dict(os.environ, GRADING_SANDBOX="grading-test-marker"))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             env=dict(os.environ, GRADING_SANDBOX="grading-another-sandbox"))
    try:
        time.sleep(0.5)
        kill_sandbox_processes("grading-test-marker")
        assert marked.wait(timeout=10) == -9
        assert other.poll() is None, "a process of another sandbox was killed"
    finally:
        other.kill(), marked.kill()


def test_a_sandbox_stopped_before_nbgrader_recorded_anything_scores_0_and_says_why(tmp_path):
    from nbgrader.api import Gradebook

    from grading.merge import collect
    from grading.report import NOTHING_RECORDED

    course, top = tmp_path / "course", tmp_path / "sandbox"
    for folder in (course, top):
        folder.mkdir()
        with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
            gradebook.add_assignment(ASSIGNMENT)
    report = Report("ann", ASSIGNMENT)
    collect(course, "ann", ASSIGNMENT, top, report)
    assert report.problems == [NOTHING_RECORDED]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert gradebook.find_submission(ASSIGNMENT, "ann").score == 0
    assert not top.exists(), "the sandbox was not removed"


def test_a_kernel_killed_in_a_test_cell_skips_the_answer_before_it():
    from grading.run import cell_to_skip

    answer = graded_cell("def f():\n    os._exit(1)", [], grade_id="f")
    answer.metadata["nbgrader"].update(solution=True, locked=False)
    test = graded_cell("f()", [], grade_id="test_f", grade=True)
    own = graded_cell("os._exit(1)", [])
    notebook = nbformat.v4.new_notebook(cells=[answer, own, test])
    assert cell_to_skip(notebook, 2)[0] == 0, "the test cell is restored by nbgrader: its answer is skipped"
    assert cell_to_skip(notebook, 1)[0] == 1, "a cell of the student's own is skipped itself"


# --- the course's layout and the report file ----------------------------------------------------------------------

def test_the_layout_is_read_from_nbgrader_configuration(tmp_path):
    from grading.course import assignments, release_notebook, submissions, submitted_folder

    (tmp_path / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.release_directory = "handouts"\n'
                                                 'c.CourseDirectory.submitted_directory = "handed_in"\n')
    (tmp_path / "handouts" / ASSIGNMENT).mkdir(parents=True)
    (tmp_path / "handouts" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text("{}")
    (tmp_path / "handed_in" / "ann" / ASSIGNMENT).mkdir(parents=True)
    assert release_notebook(tmp_path, ASSIGNMENT) == tmp_path / "handouts" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert assignments(tmp_path) == [ASSIGNMENT]
    assert submitted_folder(tmp_path, "ann", ASSIGNMENT) == tmp_path / "handed_in" / "ann" / ASSIGNMENT
    assert submissions(tmp_path, ASSIGNMENT) == ["ann"]


def test_a_report_file_of_the_loose_dict_format_still_reads(tmp_path):
    """Report files written before the Report dataclass (a JSON object; a missing notebook's had no status)."""
    from grading.repair import Repair
    from grading.report import read_report, report_path, write_report

    old = {"student": "ann", "assignment": ASSIGNMENT, "missing": False, "problems": ["cell 1 timed out"],
           "repairs": [{"kind": "metadata", "cell": "f", "message": "restored"}], "status": "ok", "seconds": 21.4,
           "timeout": 300, "memory_gb": 6, "helpers": "bn_course 1.0", "sandbox": "bubblewrap", "task": "b-1"}
    path = report_path(tmp_path, "ann", ASSIGNMENT)
    path.parent.mkdir(parents=True)
    path.write_text(__import__("json").dumps(old))
    report = read_report(tmp_path, "ann", ASSIGNMENT)
    assert report.repairs == [Repair("metadata", "f", "restored")] and report.seconds == 21.4 and report.log is None
    write_report(tmp_path, report)
    assert read_report(tmp_path, "ann", ASSIGNMENT) == report
    assert {key: value for key, value in __import__("json").loads(path.read_text()).items() if value is not None} == old
    path.write_text('{"student": "bob", "assignment": "02-baseline", "repairs": [], "problems": [], "missing": true}')
    assert read_report(tmp_path, "ann", ASSIGNMENT).status is None


def test_hidden_regions_are_parsed_once_for_the_page_and_the_leak_check():
    from grading.feedback import BEGIN, END, hidden_regions

    source = "public()\n### BEGIN HIDDEN TESTS\nsecret_check(model)\n### END HIDDEN TESTS\nafter()"
    assert [place for _, place in hidden_regions(source)] == [False, BEGIN, True, END, False]
    assert hidden_test_lines([source], min_length=5) == {"secret_check(model)"}
