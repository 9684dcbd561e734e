"""One batch of bad submissions of 02-baseline, graded with the instructor's commands (grading/).

All cases of battery_cases.py plus the complete solution are graded together, two at a time
(`grading.autograde`, as `make autograde JOBS=2`), with a 60 s cell time-out (CELL_TIMEOUT); feedback is
generated once (`grading.feedback`). Each case is then checked for: the batch completed, its score per test
cell, and the sentences its feedback must show. The same feedback files are searched for hidden test code.
A small batch is graded two more times (JOBS=1 once, JOBS=2 once) to check that scores do not change.

The whole module is in the `full` lane (`make test-full`; the battery is the costliest fixture of the suite).
`make test` grades a correct, an untouched and a wrong submission of every assignment with the same commands
(test_nbgrader_roundtrip.py).
"""
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest

from battery_cases import ASSIGNMENT, CASES, CELL_TIMEOUT, FULL, MEMORY_GB, build_submission, runnable_cases
from course import feedback_text, fresh_course, scores, shown_hidden_lines
from grading.autograde import autograde
from grading.feedback import feedback

pytestmark = pytest.mark.full


class Battery(NamedTuple):
    course: Path
    reports: dict  # {case: report}
    graded: dict  # {case: {test cell: (score, max score)}}
    environment: tuple  # pip freeze before and after grading
    skipped: dict  # {case: why this machine could not grade it}


def pip_freeze():
    return subprocess.run([sys.executable, "-m", "pip", "freeze", "--all"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def battery(released_course, tmp_path_factory):
    course = fresh_course(released_course, tmp_path_factory.mktemp("battery") / "course")
    cases, skipped = runnable_cases()
    print(f"\nbattery: cases skipped on this machine: {skipped or 'none'}")
    for name in cases:
        build_submission(course, name)
    environment = pip_freeze()
    start = time.perf_counter()
    reports = autograde(course, [ASSIGNMENT], jobs=2, timeout=CELL_TIMEOUT, memory_gb=MEMORY_GB)
    print(f"\nbattery: {len(cases)} submissions graded in {time.perf_counter() - start:.1f} s with JOBS=2; per "
          f"submission: {json.dumps({r['student']: r.get('seconds') for r in reports})}")
    feedback(course, [ASSIGNMENT])
    graded = scores(course, ASSIGNMENT)
    return Battery(course, {report["student"]: report for report in reports}, {name: graded.get(name) for name in cases},
                   (environment, pip_freeze()), skipped)


def graded_case(battery, case):
    """Skip (visibly, with the reason) a case this machine could not grade safely."""
    if case in battery.skipped:
        pytest.skip(f"{case} not graded here: {battery.skipped[case]}")


def test_the_whole_batch_was_graded(battery):
    assert sorted(battery.reports) == sorted(set(CASES) - set(battery.skipped))
    assert all(battery.graded.values()), "a submission is missing from the gradebook"


def test_the_grading_environment_is_unchanged(battery):
    before, after = battery.environment
    assert before == after, "a submission changed the packages of the grading environment"


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_gets_its_expected_score_per_test_cell(battery, case):
    graded_case(battery, case)
    got = {cell: score for cell, (score, _) in battery.graded[case].items()}
    assert got == CASES[case][1]


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_feedback_names_the_problem(battery, case):
    graded_case(battery, case)
    course, reports = battery.course, battery.reports
    text = feedback_text(course, case, ASSIGNMENT)
    for phrase in CASES[case][2]:
        phrase = re.sub(r"\s+", " ", phrase.replace("`", ""))  # markdown code spans show without backticks
        assert phrase in text, f"{phrase!r} not in the feedback of {case}: {reports[case]['problems']}"


def test_the_correct_submission_has_nothing_to_report(battery):
    reports, graded = battery.reports, battery.graded
    assert reports["correct"]["repairs"] == [] and reports["correct"]["problems"] == []
    assert {cell: score for cell, (score, _) in graded["correct"].items()} == FULL


def test_no_feedback_file_shows_hidden_test_code(battery):
    course, reports = battery.course, battery.reports
    assert len(sorted((course / "feedback").rglob("*.html"))) == len(reports)
    for case in reports:
        shown = shown_hidden_lines(feedback_text(course, case, ASSIGNMENT), ASSIGNMENT)
        assert not shown, f"the feedback of {case} shows hidden test code: {shown[:3]}"


def test_feedback_of_a_failed_hidden_test_says_which_and_why(battery):
    course = battery.course
    text = feedback_text(course, "hard_coded", ASSIGNMENT)
    assert "Grade cell: test_predict_labels_hidden" in text
    assert "CheckFailed: predict_labels at the boundary" in text
    assert "The code of the hidden tests is not shown" in text


def test_the_kernel_could_not_reach_the_solution(battery):
    course = battery.course
    graded = nbformat.read(course / "autograded" / "reads_solution" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    errors = [output for cell in graded.cells for output in cell.get("outputs", []) if output.output_type == "error"]
    assert errors and all(error.ename in ("FileNotFoundError", "NameError") for error in errors)


DETERMINISM_CASES = ("correct", "hard_coded", "metadata_stripped")


def test_scores_are_identical_over_three_gradings_and_any_number_of_jobs(battery, released_course, tmp_path):
    """The battery (JOBS=2) is the first grading of these three submissions; two more follow, JOBS=1 and 2."""
    battery_scores = battery.graded
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
