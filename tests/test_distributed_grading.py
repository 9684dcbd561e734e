"""Grading on Dask (grading/distributed_grading.py): every submission merged exactly once, failures reported.

`make test` runs fake grading functions on a LocalCluster of 2 in-process workers (and one of 1 worker process
that loses it mid-batch), and the real merge on gradebooks built with nbgrader's API (seconds). The `full` tests grade real submissions on a LocalCluster of 2
worker processes: the same scores as JOBS=1, and nothing lost when a worker process dies mid-batch.
"""
import contextlib
import faulthandler
import functools
import logging
import os
import shutil
import signal
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import cloudpickle
import pytest
from distributed import Client, LocalCluster
from distributed.scheduler import KilledWorker
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from grading import distributed_grading
from grading.distributed_grading import (Graded, MergeLedger, NoWorkers, Parcel, Release, SandboxRefused, Stalled,
                                         assignment_gradebook, failed, grade_batch, grade_course, grade_parcel,
                                         merge_graded)
from grading.report import Report, read_report

ASSIGNMENT = "02-baseline"
STUDENTS = ("ann", "bob", "cat")
# Worker processes unpickle this module's grading functions without importing it (tests/ need not be on their path).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 in-process workers of one thread each: Dask's scheduling and retries, started in a second."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0") as cluster, \
            Client(cluster) as client:
        yield client


def parcel(student, token="batch-1"):
    """A fake submission; each test's batch has a token of its own (Dask keys tasks by it: a key already
    computed in this cluster would give its old result)."""
    return Parcel(student, ASSIGNMENT, token, {f"{ASSIGNMENT}.ipynb": b"{}"}, {}, (), False)


RELEASES = {ASSIGNMENT: Release(ASSIGNMENT, {}, {}, "no helpers")}


def attempt(folder, student):
    """Count one run of `student`'s task in `folder` (files, so that runs in any process count); return the count."""
    runs = sorted(Path(folder).glob(f"{student}-*"))
    (Path(folder) / f"{student}-{len(runs) + 1}").touch()
    return len(runs) + 1


def grade_fails_once_for_bob(folder, parcel, release):
    """A fake grading: bob's first run raises (Dask runs the task again), everyone scores their name's length."""
    if attempt(folder, parcel.student) == 1 and parcel.student == "bob":
        raise OSError("the worker's disk was full for a moment")
    return Graded(parcel.student, parcel.assignment, parcel.token,
                  Report(parcel.student, parcel.assignment, status="ok", seconds=len(parcel.student)))


def grade_always_fails_for_bob(folder, parcel, release):
    attempt(folder, parcel.student)
    if parcel.student == "bob":
        raise OSError("No space left on device")
    return Graded(parcel.student, parcel.assignment, parcel.token, Report(parcel.student, parcel.assignment, status="ok"))


def test_each_submission_is_merged_exactly_once_even_when_dask_runs_its_task_again(client, tmp_path):
    merged = []
    ledger = grade_batch(client, [parcel("ann", tmp_path.name), parcel("bob", tmp_path.name),
                                  parcel("cat", tmp_path.name), parcel("ann", tmp_path.name)],
                         RELEASES, merged.append, grade=functools.partial(grade_fails_once_for_bob, tmp_path))
    assert sorted(result.student for result in merged) == sorted(STUDENTS), "a submission merged twice or never"
    assert all(result.report.status == "ok" for result in merged)
    assert attempt(tmp_path, "bob") == 3, "bob's task did not fail once and run again"
    assert ledger.merged == {(student, ASSIGNMENT): tmp_path.name for student in STUDENTS}
    assert ledger.ignored == [("ann", ASSIGNMENT, tmp_path.name)], "ann's second delivery was not seen and ignored"


def test_a_result_delivered_again_is_not_merged_again_but_a_new_batch_is():
    merged = []
    ledger = MergeLedger(merged.append)
    first = Graded("ann", ASSIGNMENT, "batch-1", Report("ann", ASSIGNMENT, status="ok"))
    assert ledger.deliver(first) is True
    assert ledger.deliver(Graded("ann", ASSIGNMENT, "batch-1", Report("ann", ASSIGNMENT, status="ok", seconds=99))) is False
    assert ledger.deliver(Graded("ann", ASSIGNMENT, "batch-2", Report("ann", ASSIGNMENT, status="ok"))) is True
    assert [result.token for result in merged] == ["batch-1", "batch-2"]
    assert ledger.ignored == [("ann", ASSIGNMENT, "batch-1")]


def test_a_failing_task_is_reported_for_its_submission_in_plain_words_and_the_batch_goes_on(client, tmp_path):
    merged = []
    grade_batch(client, [parcel(student, tmp_path.name) for student in STUDENTS], RELEASES, merged.append,
                grade=functools.partial(grade_always_fails_for_bob, tmp_path))
    reports = {result.student: result.report for result in merged}
    assert sorted(reports) == sorted(STUDENTS)
    assert reports["ann"].status == reports["cat"].status == "ok"
    assert reports["bob"].status == "error"
    assert reports["bob"].problems == [
        "Your notebook could not be graded automatically (the grading machine failed: OSError: No space left on "
        "device); your instructor will look at it."]
    assert attempt(tmp_path, "bob") == 1 + distributed_grading.RETRIES + 1, "the failing task was not retried"


def test_a_killed_worker_is_reported_in_plain_words():
    error = KilledWorker("grade 02-baseline bob batch-1", SimpleNamespace(address="tcp://10.0.0.7:40000"), 3)
    report = failed(parcel("bob"), error).report
    assert report.problems == [
        "Your notebook could not be graded automatically: the grading machine's process died each of the 4 times "
        "it was graded (a crash, or the machine ran out of memory); your instructor will look at it."]
    assert report.status == "error" and "tcp://10.0.0.7:40000" in report.log


@contextlib.contextmanager
def one_worker_process():
    """(cluster, client) of a LocalCluster of one worker process with two threads: a task that never returns dies
    with the process when the cluster closes (an in-process worker's thread would sleep on)."""
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield cluster, client


def grade_ann_bob_never(parcel, release):
    """A fake grading: ann is graded at once, bob's task is still running when the cluster loses its worker."""
    if parcel.student == "bob":
        time.sleep(600)
    return Graded(parcel.student, parcel.assignment, parcel.token, Report(parcel.student, parcel.assignment, status="ok"))


def test_a_batch_whose_cluster_loses_every_worker_stops_and_says_so(tmp_path):
    """One worker process; as soon as ann's result is merged, the cluster is scaled to no worker while bob's task
    runs: the batch stops after worker_wait seconds, says so, and does not merge bob (nothing of his changes)."""
    merged = []
    with one_worker_process() as (cluster, client):
        def merge_then_lose_the_workers(graded):
            merged.append(graded)
            cluster.scale(0)

        with pytest.raises(NoWorkers) as stopped:
            grade_batch(client, [parcel("ann", tmp_path.name), parcel("bob", tmp_path.name)], RELEASES,
                        merge_then_lose_the_workers, grade=grade_ann_bob_never, worker_wait=2)
    assert [graded.student for graded in merged] == ["ann"]
    assert stopped.value.unfinished == [("bob", ASSIGNMENT)]
    assert str(stopped.value).startswith("no Dask worker available for 2 s: 1 submission(s) were not graded (their "
                                         "earlier results and feedback are untouched)")


def test_a_cluster_that_never_has_a_worker_grades_nothing_and_says_so(tmp_path):
    with LocalCluster(n_workers=0, processes=False, dashboard_address="127.0.0.1:0") as cluster, \
            Client(cluster) as client:
        with pytest.raises(NoWorkers, match=r"no Dask worker available for 1 s: 2 submission\(s\) were not graded"):
            grade_course(tmp_path, [("ann", ASSIGNMENT), ("bob", ASSIGNMENT)], limits={}, client=client, worker_wait=1)
    assert list(tmp_path.iterdir()) == [], "the course was touched"


def test_a_batch_whose_workers_return_nothing_for_too_long_stops_and_says_so(tmp_path):
    """bob's grading never returns while its worker stays connected (what the budget kill makes impossible for a
    grading, so something below it is stuck): after `stall` seconds without a task finishing or starting, the
    batch stops, having merged ann, and leaves bob untouched."""
    merged = []
    with one_worker_process() as (_, client):
        with pytest.raises(Stalled) as stopped:
            grade_batch(client, [parcel("ann", tmp_path.name), parcel("bob", tmp_path.name)], RELEASES, merged.append,
                        grade=grade_ann_bob_never, stall=3)
    assert [graded.student for graded in merged] == ["ann"]
    assert stopped.value.unfinished == [("bob", ASSIGNMENT)]
    assert str(stopped.value).startswith("no Dask worker finished or started a grading for 3 s, longer than a "
                                         "grading's budget allows: 1 submission(s) were not graded")


def test_a_batch_whose_tasks_keep_finishing_is_never_declared_stuck(client, tmp_path):
    """Each grading takes 1.5 s and the stall limit is 2 s: four gradings on two threads take 3 s, but a result
    arrives every 1.5 s, so the batch finishes."""
    merged = []
    grade_batch(client, [parcel(student, tmp_path.name) for student in ("ann", "bob", "cat", "dan")], RELEASES,
                merged.append, grade=grade_slowly, stall=2)
    assert sorted(graded.student for graded in merged) == ["ann", "bob", "cat", "dan"]


def grade_slowly(parcel, release):
    time.sleep(1.5)
    return Graded(parcel.student, parcel.assignment, parcel.token, Report(parcel.student, parcel.assignment, status="ok"))


def test_the_stall_limit_is_the_budget_plus_a_margin(client, monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(distributed_grading, "grade_batch", lambda *args, **kwargs: seen.update(kwargs))
    monkeypatch.setattr(distributed_grading, "pack_submission", lambda *args, **kwargs: None)
    monkeypatch.setattr(distributed_grading, "pack_release", lambda *args, **kwargs: None)
    grade_course(tmp_path, [("ann", ASSIGNMENT)], limits={"budget": 1800}, client=client)
    assert seen["stall"] == 1800 + distributed_grading.STALL_MARGIN


def test_a_batch_stopped_for_want_of_workers_ends_with_a_failing_status_that_says_why(monkeypatch, capsys):
    from grading import autograde

    def no_workers(*args, **kwargs):
        raise NoWorkers(300, [("bob", ASSIGNMENT)])

    monkeypatch.setattr(autograde, "autograde", no_workers)
    with pytest.raises(SystemExit) as stopped:
        autograde.main(["--worker-wait", "300"])
    assert str(stopped.value.code).startswith("Grading stopped: no Dask worker available for 300 s")
    assert (f"NOT GRADED {ASSIGNMENT} bob: no Dask worker available for 300 s, so it was not graded; its earlier "
            "results and feedback are untouched") in capsys.readouterr().err


# --- the real merge, on gradebooks built with nbgrader's API ----------------------------------------------------

CELLS = {"test_public": 1.0, "test_hidden": 2.0}
OTHER_ASSIGNMENT = "03-bn-after"


@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory):
    """A gradebook with two assignments of two graded cells each, created once (nbgrader runs alembic for that)."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with Gradebook(f"sqlite:///{path}") as book:
        for assignment in (ASSIGNMENT, OTHER_ASSIGNMENT):
            book.add_assignment(assignment)
            book.add_notebook(assignment, assignment)
            for cell, points in CELLS.items():
                book.add_grade_cell(cell, assignment, assignment, max_score=points, cell_type="code")
    return path


def gradebook(empty, path, scores=None):
    """A copy of gradebook `empty` with a submission of ASSIGNMENT for each {student: {cell: score}}."""
    shutil.copy2(empty, path)
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{path}") as book:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own autoflush warnings (see grading/merge.py)
        for student, cells in (scores or {}).items():
            book.add_student(student, first_name="Private", last_name="Name")
            book.add_submission(ASSIGNMENT, student)
            for cell, score in cells.items():
                book.find_grade(cell, ASSIGNMENT, ASSIGNMENT, student).auto_score = score
        book.db.commit()
    return path


def course_scores(course, student):
    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}") as book:
        return {cell: book.find_grade(cell, ASSIGNMENT, ASSIGNMENT, student).score for cell in CELLS}


def test_a_graded_submission_is_merged_into_the_course_once_per_task_token(empty_gradebook, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    gradebook(empty_gradebook, course / "gradebook.db")
    fragment = gradebook(empty_gradebook, tmp_path / "fragment.db",
                         scores={"ann": {"test_public": 1.0, "test_hidden": 0.0}})
    graded_copy = course / "autograded" / "ann" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    ledger = MergeLedger(lambda graded: merge_graded(course, graded))

    def delivered(token):
        return ledger.deliver(Graded("ann", ASSIGNMENT, token, Report("ann", ASSIGNMENT, status="ok"),
                                     fragment.read_bytes(), {f"{ASSIGNMENT}.ipynb": b'{"graded": 1}'}))

    assert delivered("batch-1")
    assert course_scores(course, "ann") == {"test_public": 1.0, "test_hidden": 0.0}
    assert graded_copy.read_bytes() == b'{"graded": 1}'
    assert read_report(course, "ann", ASSIGNMENT).task == "batch-1"
    graded_copy.unlink()
    assert not delivered("batch-1"), "the same task's result was merged twice"
    assert not graded_copy.exists()
    assert delivered("batch-2") and graded_copy.exists(), "the next batch's result was not merged"


def test_workers_get_the_assignments_definition_without_any_student(empty_gradebook, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    gradebook(empty_gradebook, course / "gradebook.db", scores={"student-4711": {"test_public": 1.0, "test_hidden": 2.0}})
    assignment_gradebook(course, ASSIGNMENT, tmp_path / "release.db")
    with Gradebook(f"sqlite:///{tmp_path / 'release.db'}") as book:
        assert book.students == []
        assert [assignment.name for assignment in book.assignments] == [ASSIGNMENT]
        assert sorted(cell.name for cell in book.find_notebook(ASSIGNMENT, ASSIGNMENT).grade_cells) == sorted(CELLS)
    assert b"student-4711" not in (tmp_path / "release.db").read_bytes(), "a removed student is still in the file"
    assert course_scores(course, "student-4711") == {"test_public": 1.0, "test_hidden": 2.0}, "the course changed"


# --- the sandbox on workers ------------------------------------------------------------------------------------------

def no_bubblewrap():
    return "bubblewrap (bwrap) is not installed"


def test_a_worker_without_a_sandbox_refuses_to_grade_unless_allowed(monkeypatch, client, tmp_path):
    monkeypatch.setattr(distributed_grading, "isolation_problem", no_bubblewrap)
    refused = Parcel("ann", ASSIGNMENT, "batch-1", {}, {"isolate": True}, (), True)
    with pytest.raises(SandboxRefused, match="has no working sandbox .bubblewrap .bwrap. is not installed.; "
                                             "install bubblewrap there, or pass --allow-unsandboxed"):
        grade_parcel(refused, RELEASES[ASSIGNMENT])
    with pytest.raises(SandboxRefused, match="no working sandbox"):  # the whole batch, before anything is graded
        grade_course(tmp_path, [("ann", ASSIGNMENT)], limits={"isolate": True}, client=client, require_sandbox=True,
                     grade=functools.partial(grade_always_fails_for_bob, tmp_path))
    assert not list(tmp_path.glob("ann-*")), "a submission was graded by a worker without a sandbox"


def test_no_sandbox_on_a_cluster_needs_allow_unsandboxed(capsys):
    from grading.autograde import main

    with pytest.raises(SystemExit):
        main(["--scheduler", "tcp://127.0.0.1:1", "--no-sandbox"])
    assert "--no-sandbox on a cluster's workers also needs --allow-unsandboxed" in capsys.readouterr().err


# --- real submissions on 2 worker processes (full lane) ---------------------------------------------------------------

def real_batch(released_course, folder):
    """A course with a complete, a wrong, an untouched and an empty submission of 02-baseline."""
    from course import fresh_course, submit
    from submissions import WRONG_ANSWERS, completed, released

    course = fresh_course(released_course, folder)
    submit(course, "complete", ASSIGNMENT, completed(ASSIGNMENT, root=course))
    submit(course, "wrong", ASSIGNMENT, completed(ASSIGNMENT, WRONG_ANSWERS[ASSIGNMENT]["answers"], root=course))
    submit(course, "untouched", ASSIGNMENT, released(ASSIGNMENT, root=course))
    (course / "submitted" / "empty" / ASSIGNMENT).mkdir(parents=True)
    return course


@pytest.fixture(scope="module")
def jobs_1_scores(released_course, tmp_path_factory):
    from course import scores

    from grading.autograde import autograde

    course = real_batch(released_course, tmp_path_factory.mktemp("jobs1") / "course")
    autograde(course, [ASSIGNMENT], jobs=1)
    return scores(course, ASSIGNMENT)


@pytest.mark.full
def test_jobs_1_scores_are_the_expected_ones(jobs_1_scores):
    from submissions import WRONG_ANSWERS

    lost = {student: {cell for cell, (score, points) in cells.items() if score < points}
            for student, cells in jobs_1_scores.items()}
    assert lost["complete"] == set()
    assert lost["wrong"] == WRONG_ANSWERS[ASSIGNMENT]["fails"]
    assert lost["untouched"] == lost["empty"] == set(jobs_1_scores["complete"])
    assert {score for score, _ in jobs_1_scores["untouched"].values()} == {0.0}


@pytest.mark.full
def test_two_worker_processes_give_the_scores_of_jobs_1(jobs_1_scores, released_course, tmp_path):
    from course import scores

    from grading.autograde import autograde

    course = real_batch(released_course, tmp_path / "course")
    reports = autograde(course, [ASSIGNMENT], jobs=2)
    assert scores(course, ASSIGNMENT) == jobs_1_scores
    assert len({report.task for report in reports}) == len(reports) == 4


def kill_my_worker_once(marker, parcel, release):
    """Grade for real, except that the first task to start kills its own worker process (the nanny starts a new
    one and the scheduler gives the task to a live worker)."""
    try:
        os.open(marker, os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return grade_parcel(parcel, release)
    os._exit(1)


KILL_TEST_LIMIT = 1800  # seconds: 4 submissions on 2 workers take under 10 minutes even at load 25


def stuck(signum, frame):
    faulthandler.dump_traceback(all_threads=True)  # where it waits: the Dask client's, the cluster's threads
    raise TimeoutError(f"the batch did not finish within {KILL_TEST_LIMIT} s after a worker was killed")


@pytest.mark.full
def test_a_worker_killed_mid_batch_loses_nothing(jobs_1_scores, released_course, tmp_path):
    from course import scores

    course = real_batch(released_course, tmp_path / "course")
    marker = tmp_path / "killed-a-worker"
    limits = {"timeout": 300, "memory_gb": 6, "budget": 1800, "isolate": True}
    previous = signal.signal(signal.SIGALRM, stuck)  # a batch that waits for ever fails instead
    signal.alarm(KILL_TEST_LIMIT)
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
            ledger = grade_course(course, [(student, ASSIGNMENT) for student in sorted(jobs_1_scores)], limits=limits,
                                  client=client, grade=functools.partial(kill_my_worker_once, str(marker)))
    finally:
        signal.alarm(0)  # never left armed for the tests after this one
        signal.signal(signal.SIGALRM, previous)
    assert marker.exists(), "no worker was killed"
    assert sorted(student for student, _ in ledger.merged) == sorted(jobs_1_scores)
    assert scores(course, ASSIGNMENT) == jobs_1_scores
    assert all(read_report(course, student, ASSIGNMENT).status != "error" for student in jobs_1_scores)
