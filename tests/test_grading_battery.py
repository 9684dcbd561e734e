"""The grading battery: every case of battery_cases.py that the selected tests name, graded in ONE batch.

One `grading.autograde` call (as `make autograde JOBS=2`, CELL_TIMEOUT per cell) grades every submission of a
temporary course, then `grading.feedback` writes every page; the session-scoped fixture `battery` shares that
batch with every test here. Each case is then checked for its score per test cell, the sentences its feedback
must show, a feedback page without hidden test code (grading.feedback's leak scanner); the batch for: every
submission graded, `pip freeze` of the grading environment unchanged.

Which cases the batch holds follows from the tests pytest selected (the `case` parameter of each): a case not
marked `smoke` is in the `full` lane. So `make test` grades the smoke batch (the complete solution of every
assignment, a wrong answer and a Colab file of two cheap ones, one isolation case, a correct answer sharing a
line with a hidden test) and `make test-full` the whole battery, each once. The whole battery also writes its
table to benchmarks/BATTERY.md.
"""
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import time

import nbformat
import pytest

from battery_cases import (CELL_TIMEOUT, JOBS, KINDS, MEMORY_GB, Case, all_cases, expected_scores, notebook_file,
                           unrunnable, write_submission)
from course import (ASSIGNMENTS, ROOT, feedback_text, fresh_course, hidden_test_lines, leaked_lines, max_points,
                    notebook_path, scores, total)
from grading.autograde import autograde
from grading.course import run_nbgrader
from grading.feedback import feedback
from grading.report import read_report
from submissions import WRONG_ANSWERS, completed, released, solution_cells

CASES = all_cases()
TABLE = ROOT / "benchmarks" / "BATTERY.md"

# A correct answer may hold a line that a hidden test also holds (issue 12 met `import tensorflow as tf` in 04,
# since released in its imports cell): here an import of the checks that 04's hidden tests use.
SHARED_LINE_ASSIGNMENT = "04-bn-before"


def shared_line(assignment):
    """The first import line of `assignment`'s hidden tests that its release does not hold."""
    release = "\n".join(cell.source for cell in released(assignment).cells)
    lines = sorted(line for line in hidden_test_lines(assignment) if line.startswith(("import ", "from "))
                   and line not in release)
    assert lines, f"the shared-line case needs an import line that only {assignment}'s hidden tests hold"
    return lines[0]


SHARED_LINE = shared_line(SHARED_LINE_ASSIGNMENT)


def shares_a_hidden_line(course):
    """The complete solution whose first answer has SHARED_LINE, a line of a hidden test, on top."""
    name, source = next((name, source) for name, source in solution_cells(SHARED_LINE_ASSIGNMENT).items()
                        if not name.startswith("written"))
    return notebook_file(SHARED_LINE_ASSIGNMENT,
                         completed(SHARED_LINE_ASSIGNMENT, {name: f"{SHARED_LINE}\n{source}"}, root=course))


SHARES_LINES = Case("shares_lines", SHARED_LINE_ASSIGNMENT, shares_a_hidden_line, smoke=True, quiet=True)
CASES.append(SHARES_LINES)
DETERMINISM = tuple(case for case in CASES if case.assignment == "02-baseline"
                    and case.student in ("correct", "metadata_stripped", "wrong_answer"))


def cases(select=lambda case: True, *, scored=False):
    """pytest parameters of the cases `select` accepts. A case not marked smoke is in the `full` lane; with
    `scored`, one that today's grading cannot grade must fail (xfail, strict): the day it passes, say so."""
    def marks(case):
        unsupported = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"not graded today: "
                                         f"{case.unsupported} (grading.submission.read_submission), so it scores 0")]
        return ([] if case.smoke else [pytest.mark.full]) + (unsupported if scored and case.unsupported else [])
    return [pytest.param(case, id=case.id, marks=marks(case)) for case in CASES if select(case)]


def selected_cases(items):
    """The cases named by the selected tests' `case` (one) or `cases` (several) parameters (other test files
    have parameters of those names too: only a battery Case counts)."""
    named = {}
    for item in items:
        params = getattr(item, "callspec", None) and item.callspec.params
        for case in ([params["case"]] if params and "case" in params else []) + list((params or {}).get("cases", ())):
            if isinstance(case, Case):
                named[case.id] = case
    return [case for case in CASES if case.id in named] or [case for case in CASES if case.smoke]


def pip_freeze():
    return subprocess.run([sys.executable, "-m", "pip", "freeze", "--all"], capture_output=True, text=True,
                          check=True).stdout


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


class Battery:
    """One graded batch: the course, its cases, their reports and scores, and how the batch went."""

    def __init__(self, course, graded, skipped):
        self.course, self.cases, self.skipped = course, graded, skipped
        self.reports, self.scores, self.maxima = {}, {}, {}  # {case id: report}, {case id: {cell: (score, max)}}
        self.seconds, self.environment, self.load = None, None, None  # the batch's time, pip freeze, uptime

    def case(self, case):
        """Skip (visibly, with the reason) a case this machine could not grade safely."""
        if case.id in self.skipped:
            pytest.skip(f"{case.id} not graded here: {self.skipped[case.id]}")
        return self.reports[case.id], self.scores[case.id]


@pytest.fixture(scope="session")
def battery(request, released_course, tmp_path_factory):
    wanted = selected_cases(request.session.items)
    skipped = unrunnable(wanted)
    graded = [case for case in wanted if case.id not in skipped]
    course = fresh_course(released_course, tmp_path_factory.mktemp("battery") / "course")
    for case in graded:
        write_submission(course, case)
    assignments = sorted({case.assignment for case in graded})
    batch = Battery(course, graded, skipped)
    before, load_before = pip_freeze(), uptime()
    start = time.perf_counter()
    autograde(course, assignments, jobs=JOBS, timeout=CELL_TIMEOUT, memory_gb=MEMORY_GB)
    batch.seconds = time.perf_counter() - start
    feedback(course, assignments)
    batch.environment, batch.load = (before, pip_freeze()), (load_before, uptime())
    read_results(batch)
    table = battery_table(batch)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{table}")
    if {case.id for case in CASES} == {case.id for case in wanted}:
        TABLE.write_text(table)
    return batch


def read_results(batch):
    """Fill in `batch`'s reports, scores and maxima from its course: autograded/.reports and the gradebook."""
    for assignment in sorted({case.assignment for case in batch.cases}):
        graded = scores(batch.course, assignment)
        batch.maxima[assignment] = max_points(batch.course, assignment)
        for case in batch.cases:
            if case.assignment == assignment:
                batch.reports[case.id] = read_report(batch.course, case.student, assignment)
                batch.scores[case.id] = graded.get(case.student)


def expectation(case, maxima):
    expected = sum(expected_scores(case, maxima).values())
    return f"<= {expected:g}" if case.at_least else f"{expected:g}"


def first_note(report):
    notes = report.problems + [repair.message for repair in report.repairs if repair.message]
    note = notes[0] if notes else "no problems"
    note = re.sub(r"\s+", " ", note.replace("|", "/"))
    return note if len(note) <= 110 else note[:107] + "..."


def battery_table(batch):
    """Markdown: one row per graded case (assignment x submission -> score / max, expected, seconds, first note)."""
    lines = [
        "# The grading battery", "",
        f"Written by tests/test_grading_battery.py on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} "
        f"UTC, {platform.node()}, {os.cpu_count()} cores: {len(batch.cases)} submissions graded in one "
        f"`grading.autograde` batch with JOBS={JOBS} and a {CELL_TIMEOUT}-s cell time-out, in "
        f"{batch.seconds:.0f} s, then `grading.feedback`.", "",
        f"- uptime before: `{batch.load[0]}`", f"- uptime after: `{batch.load[1]}`",
        "- not graded on this machine: " + (", ".join(f"{name} ({why})" for name, why in batch.skipped.items())
                                              or "none"), "",
        "`seconds` is the submission's own grading time (sandbox, nbgrader and its kernel), measured while another "
        "submission was graded beside it; `expected` is what the tests require.", "",
        "| assignment | submission | score / max | expected | seconds | first note for the student |",
        "|---|---|---|---|---|---|",
    ]
    for case in batch.cases:
        report, cells = batch.reports.get(case.id), batch.scores.get(case.id) or {}
        maxima = batch.maxima[case.assignment]
        score = f"{total(cells):g} / {sum(maxima.values()):g}" if cells else "not in the gradebook"
        seconds = f"{report.seconds:.1f}" if report and report.seconds is not None else "-"
        note = first_note(report) if report else "no report"
        lines.append(f"| {case.assignment} | {case.student} | {score} | {expectation(case, maxima)} | {seconds} | "
                     f"{note} |")
    return "\n".join(lines) + "\n"


def phrase_shown(phrase, text):
    return re.sub(r"\s+", " ", phrase.replace("`", "")) in text  # markdown code spans show without backticks


# --- the batch ------------------------------------------------------------------------------------------------------

def test_the_battery_covers_every_assignment_with_every_kind():
    """A new assignment of solutions/ joins by existing; its wrong answer comes from submissions.WRONG_ANSWERS."""
    assert sorted(WRONG_ANSWERS) == ASSIGNMENTS, "every assignment needs its entry in tests/submissions.py"
    kinds = {(case.assignment, case.student) for case in CASES}
    assert all((assignment, kind) in kinds for assignment in ASSIGNMENTS for kind in KINDS)


def test_the_whole_batch_was_graded(battery):
    missing = [case.id for case in battery.cases if not battery.reports.get(case.id) or not battery.scores.get(case.id)]
    assert not missing, f"not graded, or missing from the gradebook: {missing}"
    errors = {case.id: battery.reports[case.id].problems[:1] for case in battery.cases
              if battery.reports[case.id].status == "error"}
    assert not errors, f"grading itself failed on: {errors}"


def test_the_grading_environment_is_unchanged(battery):
    before, after = battery.environment
    assert before == after, "a submission changed the packages of the grading environment"


# --- every case ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", cases(lambda case: not case.at_least, scored=True))
def test_case_scores_as_expected_per_test_cell(battery, case):
    """Real-world files like the correct one; a wrong answer loses exactly its test cells; untouched scores 0."""
    _, cells = battery.case(case)
    got = {cell: score for cell, (score, _) in cells.items()}
    assert got == expected_scores(case, battery.maxima[case.assignment])


@pytest.mark.parametrize("case", cases(lambda case: case.at_least))
def test_a_syntax_error_loses_its_exercise_and_the_rest_is_graded(battery, case):
    """The broken answer's tests score 0 (later exercises that use it may too), and every cell after it ran."""
    _, cells = battery.case(case)
    failed = {cell for cell, (score, maximum) in cells.items() if score != maximum}
    assert case.lost <= failed and failed, cells
    graded = nbformat.read(notebook_path(battery.course / "autograded", case.student, case.assignment), as_version=4)
    broken = next(i for i, cell in enumerate(graded.cells) if cell.metadata.get("nbgrader", {}).get("grade_id")
                  == case.broken_cell)
    not_run = [i for i, cell in enumerate(graded.cells) if i > broken and cell.cell_type == "code"
               and cell.source.strip() and cell.execution_count is None]
    assert not not_run, f"cells {not_run} after the syntax error did not run"


@pytest.mark.parametrize("case", cases(lambda case: bool(case.phrases)))
def test_case_feedback_says_what_happened_in_plain_words(battery, case):
    report, _ = battery.case(case)
    text = feedback_text(battery.course, case.student, case.assignment)
    missing = [phrase for phrase in case.phrases if not phrase_shown(phrase, text)]
    assert not missing, f"{missing} not in the feedback of {case.id}; the report said: {report.problems}"


@pytest.mark.parametrize("case", cases())
def test_every_feedback_page_exists_without_hidden_test_code(battery, case):
    battery.case(case)
    shown = leaked_lines(battery.course, case.student, case.assignment)
    assert not shown, f"the feedback of {case.id} shows hidden test code: {shown[:3]}"


@pytest.mark.parametrize("case", cases(lambda case: case.student in KINDS or case.quiet))
def test_a_graded_notebook_gets_its_real_page_not_the_fallback(battery, case):
    """nbconvert draws the page of every kind of file (Colab's widget metadata once made it fail)."""
    report, _ = battery.case(case)
    text = feedback_text(battery.course, case.student, case.assignment)
    assert not report.missing and "Notes from grading" in text
    assert "Why this page is short" not in text, text[:500]


@pytest.mark.parametrize("case", cases(lambda case: case.quiet))
def test_a_correct_file_from_any_editor_has_nothing_to_report(battery, case):
    report, _ = battery.case(case)
    assert report.status == "ok" and report.repairs == [] and report.problems == [], report


# --- particular cases ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", cases(lambda case: case.student == "wrong_answer"))
def test_feedback_made_by_plain_nbgrader_hides_hidden_tests_too(battery, case, tmp_path):
    """formgrader's "generate feedback" button runs `nbgrader generate_feedback` with the course's configuration
    only: that configuration must bring the preprocessors that hide hidden tests and add the grading notes.
    Nothing puts the repository on PYTHONPATH here: nbgrader imports `grading` as installed by `make install`."""
    report, _ = battery.case(case)
    copy = tmp_path / "course"
    shutil.copytree(battery.course, copy, ignore=shutil.ignore_patterns("feedback"))
    result = run_nbgrader(copy, "generate_feedback", case.assignment, f"--student={case.student}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not leaked_lines(copy, case.student, case.assignment)
    text = feedback_text(copy, case.student, case.assignment)
    assert "Notes from grading" in text
    assert all(phrase_shown(phrase, text) for phrase in case.phrases), case.phrases
    assert report.problems and all(phrase_shown(problem, text) for problem in report.problems)


@pytest.mark.parametrize("case", [SHARES_LINES], ids=[SHARES_LINES.id])
def test_a_correct_answer_sharing_a_line_with_a_hidden_test_keeps_its_feedback(battery, case):
    """The leak check once deleted this page and told the instructor that hidden tests had leaked."""
    _, cells = battery.case(case)
    assert total(cells) == sum(battery.maxima[case.assignment].values()), cells
    assert leaked_lines(battery.course, case.student, case.assignment, own_lines=False) == [SHARED_LINE]
    assert leaked_lines(battery.course, case.student, case.assignment) == []


@pytest.mark.parametrize("case", cases(lambda case: case.student == "reads_solution"))
def test_the_kernel_could_not_reach_the_solution(battery, case):
    battery.case(case)
    graded = nbformat.read(notebook_path(battery.course / "autograded", case.student, case.assignment), as_version=4)
    errors = [output for cell in graded.cells for output in cell.get("outputs", []) if output.output_type == "error"]
    assert errors and all(error.ename in ("FileNotFoundError", "NameError") for error in errors)


@pytest.mark.full
@pytest.mark.parametrize("cases", [DETERMINISM], ids=["02-baseline"])
def test_scores_are_identical_over_three_gradings_and_any_number_of_jobs(battery, cases, released_course, tmp_path):
    """The battery (JOBS=2) is the first grading of these submissions; two more follow, JOBS=1 and 2."""
    results = [{case.student: battery.case(case)[1] for case in cases}]
    for jobs in (1, 2):
        course = fresh_course(released_course, tmp_path / f"jobs{jobs}")
        for case in cases:
            write_submission(course, case)
        autograde(course, ["02-baseline"], jobs=jobs, timeout=CELL_TIMEOUT, memory_gb=MEMORY_GB)
        graded = scores(course, "02-baseline")
        results.append({case.student: graded.get(case.student) for case in cases})
    assert results[0] == results[1] == results[2]
