"""The JupyterHub road: nbgrader's exchange, a shared folder (no JupyterHub is needed to drive it).

The `full` lane drives the whole road with nbgrader's own commands in a temporary exchange and a copy of the
course: `nbgrader release_assignment`; three students, each with a home of their own, `fetch_assignment` and
`submit`; `nbgrader collect`; the course's own sandboxed `python -m grading.autograde` and
`python -m grading.feedback` (what `make autograde` and `make feedback` run); `nbgrader release_feedback`; each
student's `fetch_feedback`. One student hands in the assignment's notebook, one renamed it
(`01-theory-Copy1.ipynb`, Jupyter's name for a duplicate) and one deleted it: each is told in plain words, the
batch goes on, nothing is lost, and the first two receive their feedback page. The student JupyterLab's
Assignments panel (`make lab`) lists the exchange's assignment.

`make test` checks, without a kernel, what the road needs from grading: the two files `nbgrader submit` writes
beside the notebook (timestamp.txt, submission_secret.txt) are not reported as the student's, reach the grading
sandbox and autograded/ (even when the notebook deleted them) and, after feedback, lie beside the page that
`nbgrader release_feedback` releases; a renamed notebook's page is also written under the name the student's
`fetch_feedback` looks for.
"""
import json
import shutil
import subprocess
import sys
import time

import nbformat
import pytest
from nbgrader.utils import notebook_hash
from traitlets.config.loader import PyFileConfigLoader

from course import (ASSIGNMENTS, ROOT, copy_course, feedback_text, fresh_course, leaked_lines, max_total, nbgrader,
                    scores, total)
from grading.course import KEPT_FILES, nbgrader_env, run_nbgrader
from grading.merge import collect
from grading.report import read_report
from grading.sandbox import build_sandbox
from grading.submission import read_submission
from grading.feedback import ready_for_the_exchange
from grading.sandbox import isolation_problem
from lab_server import get, running_lab
from submissions import completed

COURSE_ID = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config().CourseDirectory.course_id
ASSIGNMENT = ASSIGNMENTS[0]
RENAMED = f"{ASSIGNMENT}-Copy1.ipynb"  # what Jupyter's "Duplicate" names a copy; the student then deleted the original
SUBMIT_FILES = {"timestamp.txt": "2026-11-30 09:49:23.408080 UTC", "submission_secret.txt": "5e" * 64}


# --- make test: the exchange's files, without a kernel ----------------------------------------------------------

def submitted_as_nbgrader_submit_does(course, student, files):
    """Put `files` ({name: notebook or text}) and the two files `nbgrader submit` adds in submitted/<student>/."""
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    for name, content in {**files, **SUBMIT_FILES}.items():
        if isinstance(content, str):
            (folder / name).write_text(content)
        else:
            nbformat.write(content, folder / name)
    return folder


def kept(folder):
    return {name: (folder / name).read_text() for name in KEPT_FILES if (folder / name).exists()}


def test_the_files_nbgrader_submit_adds_are_not_reported_and_are_carried_through_grading(released_course, tmp_path):
    course = fresh_course(released_course, tmp_path / "course")
    submitted_as_nbgrader_submit_does(course, "ada", {f"{ASSIGNMENT}.ipynb": completed(ASSIGNMENT, root=course)})
    submitted_as_nbgrader_submit_does(course, "cy", {"notes.txt": "my notes"})

    notebook, report = read_submission(course, "ada", ASSIGNMENT)
    assert notebook is not None and report.problems == [], report
    top = build_sandbox(course, "ada", ASSIGNMENT, notebook)
    try:
        assert kept(top / "course" / "submitted" / "ada" / ASSIGNMENT) == SUBMIT_FILES
        # The kernel's folder, autograded/ of the sandbox, is writable: say the notebook deleted both files there.
        graded = top / "course" / "autograded" / "ada" / ASSIGNMENT
        graded.mkdir(parents=True)
        nbformat.write(notebook, graded / f"{ASSIGNMENT}.ipynb")
        collect(course, "ada", ASSIGNMENT, top, report)  # (nbgrader did not run: nothing to merge, scored 0)
        assert not top.exists()
    finally:
        shutil.rmtree(top, ignore_errors=True)
    assert kept(course / "autograded" / "ada" / ASSIGNMENT) == SUBMIT_FILES

    notebook, report = read_submission(course, "cy", ASSIGNMENT)
    assert notebook is None and report.missing
    assert report.problems == [
        f"We did not find {ASSIGNMENT}.ipynb in your submission, so this assignment scored 0. Files we received: "
        "notes.txt.",
        f"Your submission also contained notes.txt; only {ASSIGNMENT}.ipynb is graded, so the other files were "
        "ignored."]


def written_feedback(course, student, text="<html>feedback</html>"):
    folder = course / "feedback" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.html").write_text(text)
    return folder


def test_a_page_is_made_releasable_and_a_renamed_notebook_gets_it_under_its_own_name(tmp_path):
    course = copy_course(tmp_path / "course")
    submitted_as_nbgrader_submit_does(course, "ben", {RENAMED: completed(ASSIGNMENT, root=course)})
    folder = written_feedback(course, "ben")

    copies = ready_for_the_exchange(course, "ben", ASSIGNMENT)
    assert copies == [folder / RENAMED.replace(".ipynb", ".html")]
    assert copies[0].read_text() == "<html>feedback</html>"
    assert kept(folder) == SUBMIT_FILES


def test_a_submission_from_an_lms_download_is_left_as_it_is(tmp_path):
    course = copy_course(tmp_path / "course")
    folder = course / "submitted" / "dan" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(completed(ASSIGNMENT, root=course), folder / RENAMED)
    feedback = written_feedback(course, "dan")
    assert ready_for_the_exchange(course, "dan", ASSIGNMENT) == []
    assert sorted(path.name for path in feedback.iterdir()) == [f"{ASSIGNMENT}.html"]


# --- make test-full: the whole road ---------------------------------------------------------------------------

STUDENTS = ("ada", "ben", "cy")  # the assignment's notebook as released, renamed, deleted


def instructor(course, exchange, *args):
    """An instructor's nbgrader command in the course directory (its nbgrader_config.py) on the exchange."""
    return nbgrader(course, *args, f"--Exchange.root={exchange}")


def student(home, exchange, name, *args):
    """Student `name`'s nbgrader command, in their own home and Jupyter folders (the exchange's cache, where
    submit keeps a copy of each submission for fetch_feedback, is under JUPYTER_DATA_DIR). On a JupyterHub the
    user name is the student id; here every student is the same system user, so it is given."""
    env = nbgrader_env(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
                       JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"))
    result = run_nbgrader(home, *args, f"--course={COURSE_ID}", f"--Exchange.root={exchange}", f"--student={name}",
                          env=env, timeout=600)
    assert result.returncode == 0, f"{name}: nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def course_tool(course, module, *args):
    """`python -m grading.<module>` on `course`, as `make autograde` / `make feedback` run it."""
    result = subprocess.run([sys.executable, "-m", f"grading.{module}", "--course", str(course), *args], cwd=ROOT,
                            env=nbgrader_env(), capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, f"grading.{module} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def road(released_course, tmp_path_factory):
    """Every step of the road, timed: {"course", "exchange", "homes", "steps": {step: seconds}, "outputs"}."""
    work = tmp_path_factory.mktemp("exchange")
    course, exchange = fresh_course(released_course, work / "course"), work / "exchange"
    exchange.mkdir()
    homes = {name: work / "home" / name for name in STUDENTS}
    steps, outputs = {}, {}

    def step(name, run):
        start = time.perf_counter()
        outputs[name] = run()
        steps[name] = round(time.perf_counter() - start, 1)

    step("release_assignment", lambda: instructor(course, exchange, "release_assignment", ASSIGNMENT))
    for name, home in homes.items():
        home.mkdir(parents=True)
        step(f"fetch_assignment {name}", lambda: student(home, exchange, name, "fetch_assignment", ASSIGNMENT))
    folders = {name: home / ASSIGNMENT for name, home in homes.items()}
    nbformat.write(completed(ASSIGNMENT, root=course), folders["ada"] / f"{ASSIGNMENT}.ipynb")
    (folders["ben"] / f"{ASSIGNMENT}.ipynb").unlink()
    nbformat.write(completed(ASSIGNMENT, root=course), folders["ben"] / RENAMED)
    (folders["cy"] / f"{ASSIGNMENT}.ipynb").unlink()
    (folders["cy"] / "notes.txt").write_text("my notes")
    for name, home in homes.items():
        step(f"submit {name}", lambda: student(home, exchange, name, "submit", ASSIGNMENT))
    # Here every student is the same system user: nbgrader's check that a submission's owner is its student
    # would only warn about each one.
    step("collect", lambda: instructor(course, exchange, "collect", ASSIGNMENT, "--CollectApp.check_owner=False"))
    step("autograde", lambda: course_tool(course, "autograde", ASSIGNMENT))
    step("feedback", lambda: course_tool(course, "feedback", ASSIGNMENT))
    step("release_feedback", lambda: instructor(course, exchange, "release_feedback", ASSIGNMENT))
    for name, home in homes.items():
        step(f"fetch_feedback {name}", lambda: student(home, exchange, name, "fetch_feedback", ASSIGNMENT))
    print("\nthe exchange road, seconds per step:", steps)
    return {"course": course, "exchange": exchange, "homes": homes, "steps": steps, "outputs": outputs}


def cached_submission(road, name):
    """The copy of `name`'s submission that `nbgrader submit` kept in the student's cache."""
    (folder,) = (road["homes"][name] / ".local" / "share" / "jupyter" / "nbgrader_cache" / COURSE_ID).glob(
        f"{name}+{ASSIGNMENT}+*")
    return folder


def received_pages(road, name):
    """{page name: HTML} of the feedback `fetch_feedback` put in `name`'s assignment folder."""
    feedback = road["homes"][name] / ASSIGNMENT / "feedback"
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(feedback.glob("*/*.html"))}


@pytest.mark.full
def test_the_submit_warnings_name_the_missing_notebook(road):
    for name in ("ben", "cy"):
        assert f"{ASSIGNMENT}.ipynb: MISSING" in road["outputs"][f"submit {name}"].stderr


@pytest.mark.full
def test_collect_brings_each_submission_with_its_timestamp_and_secret(road):
    for name in STUDENTS:
        submitted = road["course"] / "submitted" / name / ASSIGNMENT
        cache = cached_submission(road, name)
        assert {path.name: path.read_bytes() for path in submitted.iterdir()} == \
            {path.name: path.read_bytes() for path in cache.iterdir()}, f"{name}'s submission changed on the way"
        assert set(KEPT_FILES) <= {path.name for path in submitted.iterdir()}


@pytest.mark.full
def test_autograde_reports_each_case_in_plain_words_and_keeps_the_exchange_files(road):
    course, output = road["course"], road["outputs"]["autograde"].stdout
    lines = {line.split()[1]: line.split()[2] for line in output.splitlines() if line.startswith(ASSIGNMENT)}
    assert lines == {"ada": "ok", "ben": "ok", "cy": "missing"}, output
    graded = scores(course, ASSIGNMENT)
    assert total(graded["ada"]) == total(graded["ben"]) == max_total(graded["ada"]) > 0, graded
    assert total(graded["cy"]) == 0
    reports = {name: read_report(course, name, ASSIGNMENT) for name in STUDENTS}
    assert reports["ada"].problems == []
    if isolation_problem() is None:
        assert all(reports[name].sandbox.startswith("bubblewrap") for name in ("ada", "ben")), reports
    assert reports["ben"].problems == [f"Your notebook was named {RENAMED}, not {ASSIGNMENT}.ipynb; it was graded "
                                          f"as {ASSIGNMENT}.ipynb. Keep the original name next time."]
    assert reports["cy"].problems[0] == (f"We did not find {ASSIGNMENT}.ipynb in your submission, so this "
                                            "assignment scored 0. Files we received: notes.txt.")
    for name in ("ada", "ben"):
        autograded = course / "autograded" / name / ASSIGNMENT
        submitted = course / "submitted" / name / ASSIGNMENT
        assert kept(autograded) == kept(submitted) and set(kept(submitted)) == set(KEPT_FILES)


@pytest.mark.full
def test_each_student_receives_the_feedback_on_what_they_submitted(road):
    ada, ben = received_pages(road, "ada"), received_pages(road, "ben")
    assert list(ada) == [f"{ASSIGNMENT}.html"] and list(ben) == [RENAMED.replace(".ipynb", ".html")]
    for name, pages in (("ada", ada), ("ben", ben)):
        course_page = feedback_text(road["course"], name, ASSIGNMENT)
        (received,) = pages.values()
        assert received == (road["course"] / "feedback" / name / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(
            encoding="utf-8"), f"{name} received another page than the course's"
        assert "Notes from grading" in course_page and not leaked_lines(road["course"], name, ASSIGNMENT)
    assert f"Your notebook was named {RENAMED}" in feedback_text(road["course"], "ben", ASSIGNMENT)


@pytest.mark.full
def test_a_missing_notebook_does_not_stop_the_release_and_nothing_is_lost(road):
    """nbgrader's fetch_feedback looks a page up by the submitted notebooks' names: a submission without any
    notebook cannot receive one through the exchange. Its short page is still released (under the assignment's
    name), which needs the submission's timestamp and secret beside it, and the student's folder is untouched."""
    course, exchange = road["course"], road["exchange"]
    page = course / "feedback" / "cy" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert "We did not find" in feedback_text(course, "cy", ASSIGNMENT)
    secret = (course / "submitted" / "cy" / ASSIGNMENT / "submission_secret.txt").read_text()
    released = exchange / COURSE_ID / "feedback" / f"{notebook_hash(secret=secret, notebook_id=ASSIGNMENT)}.html"
    assert released.read_bytes() == page.read_bytes()
    assert received_pages(road, "cy") == {}
    assert (course / "submitted" / "cy" / ASSIGNMENT / "notes.txt").read_text() == "my notes"
    assert (road["homes"]["cy"] / ASSIGNMENT / "notes.txt").read_text() == "my notes"


@pytest.mark.full
def test_the_student_jupyterlab_s_assignments_panel_lists_the_exchange(road, tmp_path):
    """`make lab` keeps nbgrader's Assignments panel (tests/test_lab.py); here its server side answers from the
    exchange, configured as a hub configures its users (an nbgrader configuration in the Jupyter config folder)."""
    config = {"Exchange": {"root": str(road["exchange"]), "cache": str(tmp_path / "cache")},
              "CourseDirectory": {"course_id": COURSE_ID}}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "nbgrader_config.json").write_text(json.dumps(config))
    with running_lab(tmp_path, target="lab") as (base, token):
        courses = get(f"{base}/courses", token, timeout=120)
        listing = get(f"{base}/assignments?course_id={COURSE_ID}", token, timeout=120)
    assert courses[0] == 200 and json.loads(courses[1]) == {"success": True, "value": [COURSE_ID]}, courses
    assert listing[0] == 200 and json.loads(listing[1])["success"], listing
    assert ASSIGNMENT in {item["assignment_id"] for item in json.loads(listing[1])["value"]}, listing
