"""Grade submissions on Dask workers: a LocalCluster of JOBS processes, or the workers of a running cluster.

    make autograde JOBS=2                          # a LocalCluster: 2 worker processes, 1 thread each
    make autograde SCHEDULER=tcp://host:8786       # the workers of an existing Dask cluster (tls:// too)

One Dask task grades one submission. The instructor's machine (the client) packs what grading needs: per
submission a Parcel (the files of submitted/<student>/<assignment>/ but the exchange's secret), and once per
assignment a Release (the released notebook and its files, nbgrader_config.py, the helpers the assignment was
released with, and the assignment's definition from the gradebook, hidden tests included, with every student
removed: the course's gradebook never leaves). A worker lays these out as a small course in a temporary folder and grades it exactly
as a submission of the real course (grading.run.grade_submission: repair, sandbox, limits, report), then
returns a Graded: the report, the sandbox's gradebook (the fragment that holds this one submission) and the
graded folder. The client merges each Graded into the course (grading.merge.collect) under one lock,
exactly once per submission and task token, however often Dask ran the task. A task that fails (an exception
after its retries, or KilledWorker: every worker that ran it died) is reported for its submission in plain
words and scores 0, like any submission grading could not finish; the batch goes on, and the submission stays
in submitted/ for the next `make autograde`. A batch never waits for ever: it stops, merging what was graded and
leaving the rest untouched, when its cluster has no worker for --worker-wait seconds (NoWorkers), or when its
workers neither finish nor start a grading for longer than a grading's budget allows (Stalled).

Workers of an existing cluster refuse to grade where bubblewrap does not work (grading/sandbox.py) unless
`--allow-unsandboxed` is given; the LocalCluster, on the instructor's own machine, grades there as
`make autograde` always did, with the loud warning in every report.
"""
import logging
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from distributed import Client, LocalCluster, as_completed
from distributed.scheduler import KilledWorker
from nbgrader.api import Gradebook

from grading.course import autograded_folder, gradebook_file, release_folder, sqlite_url, submitted_folder
from grading.merge import collect
from grading.release import provide_helpers
from grading.report import Report
from grading.run import grade_submission
from grading.sandbox import isolation_problem

# The exchange's proof that feedback goes back to whoever submitted (nbgrader release_feedback): grading does not
# need it, and collect() restores it from submitted/ on this machine.
STAYS_HERE = {"submission_secret.txt"}
RETRIES = 1  # a task that raised runs once more (maybe on another worker) before its submission is reported
# Seconds a batch waits while its cluster has no worker (an existing cluster's first one; every worker lost
# mid-batch) before it stops: long enough for a nanny or a job queue to start a worker again.
WORKER_WAIT = 300
# Seconds beyond a submission's budget before a batch whose workers return nothing is declared stuck: the budget
# kill ends every grading in time, so only something below grading can be silent longer.
STALL_MARGIN = 300
POLL = 1  # seconds between looks at the cluster while no result is ready


@dataclass(frozen=True)
class Release:
    """What every task of one assignment needs, sent to the workers once: {relative path: bytes} files."""
    assignment: str
    course_files: dict  # nbgrader_config.py, the release folder's files, the gradebook (no student in it)
    helpers: dict  # the bn_course package the assignment was released with
    helpers_sentence: str  # which helpers those are, for the report


@dataclass(frozen=True)
class Parcel:
    """One submission to grade: its files and how to grade it."""
    student: str
    assignment: str
    token: str  # one per submission and batch: a re-run of the task carries the same token
    files: dict  # {path relative to submitted/<student>/<assignment>/: bytes}
    limits: dict  # grade_submission's timeout, memory_gb, budget, isolate
    hide: tuple  # the instructor's course folder, hidden from the kernel where the worker has it (LocalCluster)
    require_sandbox: bool  # refuse to grade where bubblewrap does not work


@dataclass(frozen=True)
class Graded:
    """What a task returns: the report, and unless nothing could be graded, the gradebook fragment and files."""
    student: str
    assignment: str
    token: str
    report: Report
    gradebook: bytes = None  # the sandbox's gradebook.db
    autograded: dict = None  # {path relative to autograded/<student>/<assignment>/: bytes}


class SandboxRefused(RuntimeError):
    """A worker without a working sandbox was asked to grade, and unsandboxed grading was not allowed."""


class BatchStopped(RuntimeError):
    """The batch stopped waiting for `seconds`: the submissions `unfinished` [(student, assignment)] were not
    graded, and nothing of theirs (gradebook, autograded/, report, feedback) was changed. REASON says why (with
    the seconds), ADVICE what the instructor can do."""
    REASON = ADVICE = ""

    def __init__(self, seconds, unfinished):
        self.seconds, self.unfinished = seconds, sorted(unfinished)
        reason = self.REASON.format(seconds=seconds)
        self.sentence = f"{reason}, so it was not graded; its earlier results and feedback are untouched"
        super().__init__(f"{reason}: {len(self.unfinished)} submission(s) were not graded (their earlier results and "
                         f"feedback are untouched); {self.ADVICE}")


class NoWorkers(BatchStopped):
    """The cluster had no worker for `seconds`."""
    REASON = "no Dask worker available for {seconds:g} s"
    ADVICE = "start workers, or a new cluster, and run `make autograde` again"


class Stalled(BatchStopped):
    """The cluster had workers, but for `seconds` no task finished, started or moved to another worker: longer
    than a grading may take (its budget), so something below grading (Dask, a worker's machine) is stuck."""
    REASON = "no Dask worker finished or started a grading for {seconds:g} s, longer than a grading's budget allows"
    ADVICE = "look at the workers' logs (or the Dask dashboard), then run `make autograde` again"


# --- files as bytes ------------------------------------------------------------------------------------------------

def read_files(folder):
    """{path relative to `folder`: bytes} of every regular file under `folder` (symbolic links are not followed:
    nothing outside the folder is sent)."""
    folder = Path(folder)
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and not path.is_symlink()}


def write_files(files, folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# --- the client packs ------------------------------------------------------------------------------------------------

def assignment_gradebook(course, assignment, destination):
    """Copy the course's gradebook to `destination` with every student and every other assignment removed, then
    compacted (SQLite keeps deleted rows in free pages until VACUUM): the definition of `assignment` only."""
    shutil.copy2(gradebook_file(course), destination)
    with Gradebook(sqlite_url(destination)) as gradebook:
        for student in gradebook.students:
            gradebook.remove_student(student.id)
        for other in gradebook.assignments:
            if other.name != assignment:
                gradebook.remove_assignment(other.name)
        gradebook.db.commit()
    database = sqlite3.connect(destination)
    database.execute("VACUUM")
    database.close()


def pack_release(course, assignment):
    """The Release of `assignment` in course `course`."""
    course = Path(course).resolve()
    with tempfile.TemporaryDirectory(prefix="grading-release-") as work:
        work = Path(work)
        assignment_gradebook(course, assignment, work / "gradebook.db")
        sentence = provide_helpers(course, assignment, work / "lib")
        released = release_folder(course, assignment)
        course_files = {"nbgrader_config.py": (course / "nbgrader_config.py").read_bytes(),
                        str(gradebook_file(course).relative_to(course)): (work / "gradebook.db").read_bytes(),
                        **{str(released.relative_to(course) / name): data for name, data in read_files(released).items()}}
        return Release(assignment, course_files, read_files(work / "lib" / "bn_course"), sentence)


def pack_submission(course, student, assignment, token, *, limits, require_sandbox):
    files = read_files(submitted_folder(course, student, assignment))
    return Parcel(student, assignment, token, {name: data for name, data in files.items() if name not in STAYS_HERE},
                  dict(limits), (str(Path(course).resolve()),), require_sandbox)


# --- a worker grades -------------------------------------------------------------------------------------------------

def grade_parcel(parcel, release):
    """Grade one Parcel on this worker, in a small course laid out from it and its Release; return a Graded.

    Raises SandboxRefused when the parcel requires the sandbox and bubblewrap does not work here.
    """
    problem = isolation_problem()
    if parcel.require_sandbox and parcel.limits.get("isolate", True) and problem is not None:
        raise SandboxRefused(f"the worker on {socket.gethostname()} has no working sandbox ({problem}); install "
                             "bubblewrap there, or pass --allow-unsandboxed to grade without isolation")
    work = Path(tempfile.mkdtemp(prefix="grading-parcel-"))
    try:
        course = work / "course"
        write_files(release.course_files, course)
        write_files(parcel.files, submitted_folder(course, parcel.student, parcel.assignment))

        def released_helpers(_course, _assignment, lib):
            write_files(release.helpers, Path(lib) / "bn_course")
            return release.helpers_sentence

        top, report = grade_submission(course, parcel.student, parcel.assignment, helpers=released_helpers,
                                       hide=parcel.hide, **parcel.limits)
        if top is None:
            return Graded(parcel.student, parcel.assignment, parcel.token, report)
        graded = autograded_folder(top / "course", parcel.student, parcel.assignment)
        try:
            return Graded(parcel.student, parcel.assignment, parcel.token, report, (top / "gradebook.db").read_bytes(),
                          read_files(graded) if graded.is_dir() else None)
        finally:
            shutil.rmtree(top, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- the client merges, exactly once ----------------------------------------------------------------------------------

def merge_graded(course, graded):
    """Merge a Graded into the course: gradebook, autograded/ folder and report (grading.merge.collect)."""
    graded.report.task = graded.token
    if graded.gradebook is None:
        collect(course, graded.student, graded.assignment, None, graded.report)
        return
    top = Path(tempfile.mkdtemp(prefix="grading-merge-"))  # the layout collect() reads; it removes the folder
    (top / "gradebook.db").write_bytes(graded.gradebook)
    (top / "course").mkdir()
    configuration = Path(course) / "nbgrader_config.py"
    if configuration.exists():  # the course's layout (without the file, nbgrader's defaults for both)
        shutil.copy2(configuration, top / "course" / "nbgrader_config.py")
    if graded.autograded is not None:
        write_files(graded.autograded, autograded_folder(top / "course", graded.student, graded.assignment))
    collect(course, graded.student, graded.assignment, top, graded.report)


class MergeLedger:
    """Merges each submission's result exactly once.

    Keyed by (student, assignment) and the task token: a second result with a token already merged for that
    submission (Dask ran the task again, or delivered it twice) is ignored. nbgrader's SQLite gradebook takes
    one writer, hence the lock.
    """

    def __init__(self, merge):
        self._merge = merge
        self._lock = threading.Lock()
        self.merged = {}  # {(student, assignment): token}
        self.ignored = []  # (student, assignment, token) of results that arrived again

    def deliver(self, result):
        """Merge `result` (a Graded) unless its submission was merged with its token; return whether it was."""
        key = (result.student, result.assignment)
        with self._lock:
            if self.merged.get(key) == result.token:
                self.ignored.append((*key, result.token))
                return False
            self._merge(result)
            self.merged[key] = result.token
            return True


def failure_sentence(error):
    """The report's sentence for a task that failed: what happened, in plain words."""
    if isinstance(error, KilledWorker):
        return (f"Your notebook could not be graded automatically: the grading machine's process died each of the "
                f"{error.allowed_failures + 1} times it was graded (a crash, or the machine ran out of memory); "
                "your instructor will look at it.")
    if isinstance(error, SandboxRefused):
        return (f"Your notebook was not graded: {error}. Your instructor will grade it again; nothing you "
                "submitted was lost.")
    return (f"Your notebook could not be graded automatically (the grading machine failed: "
            f"{type(error).__name__}: {str(error)[:200]}); your instructor will look at it.")


def failed(parcel, error):
    """A Graded that only reports why the task of `parcel` failed (the submission scores 0 until graded again)."""
    report = Report(parcel.student, parcel.assignment, status="error", problems=[failure_sentence(error)],
                    log=f"{type(error).__name__}: {error}")
    return Graded(parcel.student, parcel.assignment, parcel.token, report)


def unpacked(release):
    """The Release itself (a task, so that Dask can compute it again wherever it was lost)."""
    return release


def task_key(parcel):
    return f"grade {parcel.assignment} {parcel.student} {parcel.token}"


def grade_batch(client, parcels, releases, merge, *, grade=grade_parcel, retries=RETRIES, worker_wait=WORKER_WAIT,
                stall=None):
    """Grade every Parcel on `client`'s workers (one task each), merging each result as it arrives through one
    MergeLedger; return the ledger. `releases`: {assignment: Release}; `grade(parcel, release)` runs on a worker.

    Raises NoWorkers when the cluster had no worker for `worker_wait` seconds while tasks were left, and Stalled
    when for `stall` seconds (None: never) no task finished and no task started or moved on a worker: what was
    graded is merged, the tasks left are cancelled and their submissions not touched.
    """
    # Each Release is a task's result, not scattered data: a worker that dies holding it takes scattered data with it
    # for good, while a task's result is computed again from the graph, which keeps the Release.
    shared = {assignment: client.submit(unpacked, release, key=f"release {assignment} {uuid.uuid4().hex[:12]}")
              for assignment, release in releases.items()}
    submitted = [(client.submit(grade, parcel, shared[parcel.assignment], key=task_key(parcel), pure=False,
                                retries=retries), parcel) for parcel in parcels]
    parcel_of = {}
    for future, parcel in submitted:
        parcel_of.setdefault(id(future), parcel)
    ledger = MergeLedger(merge)
    delivered = set()  # ids of the futures whose result (or failure) went to the ledger

    def deliver(future):
        if id(future) in delivered:
            return
        delivered.add(id(future))
        parcel = parcel_of[id(future)]
        try:
            result = future.result()
        except Exception as error:  # noqa: BLE001 -- any failure of the task is this submission's report
            result = failed(parcel, error)
        ledger.deliver(result)

    def stop(stopped, seconds):
        left = [(future, parcel) for future, parcel in submitted if not future.done()]
        client.cancel([future for future, _ in left])
        for future, _ in submitted:
            if future.done() and not future.cancelled():  # finished while we looked
                deliver(future)
        raise stopped(seconds, {(parcel.student, parcel.assignment) for _, parcel in left
                                 if (parcel.student, parcel.assignment) not in ledger.merged})

    # as_completed watches the futures on their own client's loop (by default it takes the default client's)
    pending = as_completed([future for future, _ in submitted], loop=client.loop)
    alone_since = None  # when the cluster was first seen without any worker, or None while it has one
    progress, placement = time.monotonic(), None  # when a task last finished or started (or moved) on a worker
    while not pending.is_empty():
        ready = pending.next_batch(block=False)
        for future in ready:
            deliver(future)
        if ready:
            progress = time.monotonic()
            continue
        alone_since = None if has_workers(client) else alone_since or time.monotonic()
        if alone_since is not None and time.monotonic() - alone_since >= worker_wait:
            stop(NoWorkers, worker_wait)
        if stall is not None:
            now_placed = running_tasks(client)
            if now_placed != placement:
                progress, placement = time.monotonic(), now_placed
            elif time.monotonic() - progress >= stall:
                stop(Stalled, stall)
        time.sleep(POLL)
    return ledger


def running_tasks(client):
    """{worker address: the keys of the tasks it runs now} of `client`'s cluster."""
    return {worker: frozenset(keys) for worker, keys in client.processing().items()}


def has_workers(client):
    """Whether the cluster of `client` has a worker connected now."""
    return bool(client.scheduler_info(n_workers=1)["workers"])


# --- the cluster ---------------------------------------------------------------------------------------------------

@contextmanager
def dask_client(scheduler=None, jobs=1):
    """A Client of the cluster at `scheduler` (tcp:// or tls://; TLS certificates from Dask's configuration), or
    of a new LocalCluster of `jobs` worker processes with one thread each, on this machine only."""
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    # No memory limit: the worker only passes bytes along; nbgrader and its kernel, the processes that could grow,
    # have their own limit (RLIMIT_DATA), and a nanny restarting a worker mid-grading would lose its submission.
    # Everything listens on the loopback interface, the scheduler's web page on a free port.
    with LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", memory_limit=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


def unsandboxed_workers(client):
    """{worker address: why bubblewrap does not work there} for the workers connected now."""
    return {worker: problem for worker, problem in client.run(isolation_problem).items() if problem is not None}


def grade_course(course, work, *, limits, scheduler=None, jobs=1, require_sandbox=False, client=None,
                 grade=grade_parcel, worker_wait=WORKER_WAIT, stall=None):
    """Grade the submissions `work` [(student, assignment)] of `course` on Dask and merge them into it; return
    the MergeLedger.

    `client`: an open Client to use instead of the one `scheduler` and `jobs` describe. `require_sandbox`: raise
    SandboxRefused, before anything is graded, when a connected worker has no working sandbox (and make every
    task refuse on such a worker). Raises NoWorkers when the cluster had no worker for `worker_wait` seconds, and
    Stalled when its workers neither finished nor started a task for `stall` seconds (default: the budget in
    `limits` plus STALL_MARGIN; without a budget, never).
    """
    if stall is None and "budget" in limits:
        stall = limits["budget"] + STALL_MARGIN
    with (dask_client(scheduler, jobs) if client is None else nullcontext(client)) as client:
        try:
            client.wait_for_workers(1, timeout=worker_wait)  # an existing cluster's first worker
        except TimeoutError as error:
            raise NoWorkers(worker_wait, work) from error
        if require_sandbox and limits.get("isolate", True):
            missing = unsandboxed_workers(client)
            if missing:
                raise SandboxRefused("these Dask workers have no working sandbox, so they would run students' code "
                                     f"unisolated: {missing}. Install bubblewrap on them (`python -m grading.sandbox "
                                     "--check` tells whether it works), or pass --allow-unsandboxed.")
        batch = uuid.uuid4().hex[:12]
        parcels = [pack_submission(course, student, assignment, f"{batch}-{assignment}-{student}", limits=limits,
                                   require_sandbox=require_sandbox) for student, assignment in work]
        releases = {assignment: pack_release(course, assignment) for assignment in sorted({a for _, a in work})}
        return grade_batch(client, parcels, releases, lambda graded: merge_graded(course, graded), grade=grade,
                           worker_wait=worker_wait, stall=stall)
