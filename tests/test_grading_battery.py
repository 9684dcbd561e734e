"""One batch of bad submissions of 02-baseline, graded with the instructor's commands (grading/).

All cases of battery_cases.py plus the complete solution are graded together, two at a time
(`grading.autograde`, as `make autograde JOBS=2`), with a 20 s cell time-out; feedback is generated once
(`grading.feedback`). Each case is then checked for: the batch completed, its score per test cell, and the
sentences its feedback must show. The same feedback files are searched for hidden test code. A small batch is
graded three more times (JOBS=1 once, JOBS=2 twice) to check that scores do not change.
"""
import json
import re
import shutil
import time

import nbformat
import pytest

from battery_cases import ASSIGNMENT, CASES, CELL_TIMEOUT, FULL, MEMORY_GB, build_submission
from course import ROOT, notebook_path, read_notebook, scores
from grading.autograde import autograde
from grading.course import nbgrader_env, run_nbgrader
from grading.feedback import BEGIN, END, feedback, visible_text

def fresh_course(released_course, destination):
    """The released course without anyone's submissions: config, release, helpers and the gradebook."""
    destination.mkdir(parents=True)
    for name in ("nbgrader_config.py", "gradebook.db"):
        shutil.copy2(released_course / name, destination / name)
    for name in ("notebooks", "helpers"):
        shutil.copytree(released_course / name, destination / name, ignore=shutil.ignore_patterns("*.egg-info"))
    return destination


@pytest.fixture(scope="module")
def battery(released_course, tmp_path_factory):
    course = fresh_course(released_course, tmp_path_factory.mktemp("battery") / "course")
    for name in CASES:
        build_submission(course, name)
    start = time.perf_counter()
    reports = autograde(course, [ASSIGNMENT], jobs=2, timeout=CELL_TIMEOUT, memory_gb=MEMORY_GB)
    print(f"\nbattery: {len(CASES)} submissions graded in {time.perf_counter() - start:.1f} s with JOBS=2; per "
          f"submission: {json.dumps({r['student']: r.get('seconds') for r in reports})}")
    feedback(course, [ASSIGNMENT])
    graded = scores(course, ASSIGNMENT)
    return course, {report["student"]: report for report in reports}, {name: graded.get(name) for name in CASES}


def feedback_text(course, student):
    path = course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert path.exists(), f"no feedback file for {student}"
    return re.sub(r"\s+", " ", visible_text(path.read_text(encoding="utf-8")))


def test_the_whole_batch_was_graded(battery):
    _, reports, graded = battery
    assert sorted(reports) == sorted(CASES)
    assert all(graded[name] for name in CASES), "a submission is missing from the gradebook"


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_gets_its_expected_score_per_test_cell(battery, case):
    _, _, graded = battery
    got = {cell: score for cell, (score, _) in graded[case].items()}
    assert got == CASES[case][1]


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_feedback_names_the_problem(battery, case):
    course, reports, _ = battery
    text = feedback_text(course, case)
    for phrase in CASES[case][2]:
        phrase = re.sub(r"\s+", " ", phrase.replace("`", ""))  # markdown code spans show without backticks
        assert phrase in text, f"{phrase!r} not in the feedback of {case}: {reports[case]['problems']}"


def test_the_correct_submission_has_nothing_to_report(battery):
    _, reports, graded = battery
    assert reports["correct"]["repairs"] == [] and reports["correct"]["problems"] == []
    assert {cell: score for cell, (score, _) in graded["correct"].items()} == FULL


def hidden_test_lines(assignment):
    """Lines of hidden test code, read from the source notebook (independently of grading/)."""
    source = read_notebook(notebook_path(ROOT, "solutions", assignment))
    release = read_notebook(notebook_path(ROOT, "notebooks", assignment))
    public = "\n".join(cell.source for cell in release.cells)
    lines = set()
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if BEGIN in line or END in line:
                inside = BEGIN in line
            elif inside and len(line.strip()) >= 12 and line.strip() not in public:
                lines.add(re.sub(r"\s+", " ", line.strip()))
    return lines


def test_no_feedback_file_shows_hidden_test_code(battery):
    course, _, _ = battery
    secrets = hidden_test_lines(ASSIGNMENT)
    assert secrets, "the assignment has no hidden test lines to look for"
    files = sorted((course / "feedback").rglob("*.html"))
    assert len(files) == len(CASES)
    for path in files:
        text = re.sub(r"\s+", " ", visible_text(path.read_text(encoding="utf-8")))
        shown = [line for line in secrets if line in text]
        assert not shown, f"{path} shows hidden test code: {shown[:3]}"


def test_feedback_of_a_failed_hidden_test_says_which_and_why(battery):
    course, _, _ = battery
    text = feedback_text(course, "hard_coded")
    assert "Grade cell: test_predict_labels_hidden" in text
    assert "CheckFailed: predict_labels at the boundary" in text
    assert "The code of the hidden tests is not shown" in text


def test_feedback_made_by_plain_nbgrader_hides_hidden_tests_too(battery, tmp_path):
    """formgrader's "generate feedback" button runs `nbgrader generate_feedback` with the course's configuration
    only: that configuration must bring the preprocessors that hide hidden tests and add the grading notes."""
    course, _, _ = battery
    copy = tmp_path / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns("feedback"))
    # PYTHONPATH stands for the repository root, where the real course's configuration finds `grading`.
    result = run_nbgrader(copy, "generate_feedback", ASSIGNMENT, "--student=hard_coded",
                          env=nbgrader_env(PYTHONPATH=str(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr
    text = re.sub(r"\s+", " ", visible_text((copy / "feedback" / "hard_coded" / ASSIGNMENT / f"{ASSIGNMENT}.html")
                                             .read_text(encoding="utf-8")))
    assert not [line for line in hidden_test_lines(ASSIGNMENT) if line in text]
    assert "Notes from grading" in text and "CheckFailed: predict_labels at the boundary" in text


def test_the_kernel_could_not_reach_the_solution(battery):
    course, _, _ = battery
    graded = nbformat.read(course / "autograded" / "reads_solution" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    errors = [output for cell in graded.cells for output in cell.get("outputs", []) if output.output_type == "error"]
    assert errors and all(error.ename in ("FileNotFoundError", "NameError") for error in errors)


DETERMINISM_CASES = ("correct", "hard_coded", "metadata_stripped")


def test_scores_are_identical_over_three_gradings_and_any_number_of_jobs(battery, released_course, tmp_path):
    """The battery (JOBS=2) is the first grading of these three submissions; two more follow, JOBS=1 and 2."""
    _, _, battery_scores = battery
    results = [{name: battery_scores[name] for name in DETERMINISM_CASES}]
    for jobs in (1, 2):
        course = fresh_course(released_course, tmp_path / f"jobs{jobs}")
        for name in DETERMINISM_CASES:
            build_submission(course, name)
        start = time.perf_counter()
        autograde(course, [ASSIGNMENT], jobs=jobs, timeout=CELL_TIMEOUT, memory_gb=MEMORY_GB)
        print(f"\n{len(DETERMINISM_CASES)} submissions, JOBS={jobs}: {time.perf_counter() - start:.1f} s")
        graded = scores(course, ASSIGNMENT)
        results.append({name: graded.get(name) for name in DETERMINISM_CASES})
    assert results[0] == results[1] == results[2]
