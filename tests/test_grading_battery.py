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
import time

import nbformat
import pytest

from battery_cases import ASSIGNMENT, CASES, CELL_TIMEOUT, FULL, MEMORY_GB, build_submission
from course import feedback_text, fresh_course, scores, shown_hidden_lines
from grading.autograde import autograde
from grading.feedback import feedback

pytestmark = pytest.mark.full


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
    text = feedback_text(course, case, ASSIGNMENT)
    for phrase in CASES[case][2]:
        phrase = re.sub(r"\s+", " ", phrase.replace("`", ""))  # markdown code spans show without backticks
        assert phrase in text, f"{phrase!r} not in the feedback of {case}: {reports[case]['problems']}"


def test_the_correct_submission_has_nothing_to_report(battery):
    _, reports, graded = battery
    assert reports["correct"]["repairs"] == [] and reports["correct"]["problems"] == []
    assert {cell: score for cell, (score, _) in graded["correct"].items()} == FULL


def test_no_feedback_file_shows_hidden_test_code(battery):
    course, _, _ = battery
    assert len(sorted((course / "feedback").rglob("*.html"))) == len(CASES)
    for case in CASES:
        shown = shown_hidden_lines(feedback_text(course, case, ASSIGNMENT), ASSIGNMENT)
        assert not shown, f"the feedback of {case} shows hidden test code: {shown[:3]}"


def test_feedback_of_a_failed_hidden_test_says_which_and_why(battery):
    course, _, _ = battery
    text = feedback_text(course, "hard_coded", ASSIGNMENT)
    assert "Grade cell: test_predict_labels_hidden" in text
    assert "CheckFailed: predict_labels at the boundary" in text
    assert "The code of the hidden tests is not shown" in text


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
