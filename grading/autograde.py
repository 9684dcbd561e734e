"""Autograde every submission under submitted/ with real `nbgrader autograde`, one sandbox per submission.

    python -m grading.autograde [--course DIR] [--jobs N] [--timeout S] [--memory-gb G] [ASSIGNMENT ...]

The batch command. For each submitted/<student>/<assignment>/, grading takes one module per step:

1. grading/submission.py chooses the notebook to grade and repairs it against the release (grading/repair.py);
   other files the student sent are ignored;
2. grading/sandbox.py builds a fresh temporary course that holds only the configuration, this one submission,
   the assignment's gradebook without any student and the helpers package the assignment was released with
   (grading/release.py): solutions/, source_with_tests/ and the course's gradebook are not reachable from the
   kernel, which runs in bubblewrap where it works;
3. grading/run.py runs `nbgrader autograde` there: each process (nbgrader and its kernel) may map at most
   --memory-gb of data memory, each cell runs at most --timeout seconds, the whole submission at most --budget
   seconds; a cell that kills the kernel is skipped and the notebook graded again;
4. grading/report.py says what happened in words for the student (repairs, time-outs, input(), memory, syntax
   errors, failed tests): a Report, written to autograded/.reports/<student>/<assignment>.json for
   `grading.feedback`;
5. grading/merge.py merges the sandbox's gradebook into the course's (automatic scores only: manual grades
   already given are kept), its autograded/ folder replaces the course's, and the sandbox is deleted.

Submissions are independent: each is one Dask task (grading/distributed_grading.py), on a LocalCluster of
--jobs worker processes (`make autograde JOBS=N`) or on the workers of a running cluster (--scheduler,
`make autograde SCHEDULER=tcp://host:8786`). nbgrader's SQLite gradebook takes one writer, which is why each
sandbox has its own and the merge (steps 4-5) happens in this process, once per submission.
"""
import argparse
import sys
import time
from pathlib import Path

from grading.course import assignments, configured_timeout, submissions
from grading.report import read_report

DEFAULT_MEMORY_GB = 6  # of data (heap) per process; a TensorFlow kernel training these models uses under 1 GB
DEFAULT_BUDGET = 1800  # seconds for one whole submission, even if every cell hangs until its own time-out


def autograde(course, assignment_ids=None, *, jobs=1, timeout=None, memory_gb=DEFAULT_MEMORY_GB, budget=DEFAULT_BUDGET,
              isolate=True, scheduler=None, allow_unsandboxed=False, worker_wait=None, client=None):
    """Grade every submission of the given (default: all released) assignments; return their Reports.

    Each submission is one Dask task (grading/distributed_grading.py): on a LocalCluster of `jobs` worker
    processes, or on the workers of the running cluster at `scheduler` (tcp://host:8786, tls://...), which refuse
    to grade without a working sandbox unless `allow_unsandboxed`. `isolate`: run kernels in bubblewrap where it
    works (grading/sandbox.py). Never raises for one submission: a failed task is reported for it. Raises
    NoWorkers when the cluster had no worker for `worker_wait` seconds (default WORKER_WAIT), and Stalled when
    its workers neither finished nor started a grading for `budget` + STALL_MARGIN seconds, after merging what
    was graded; the submissions left are untouched. `client`: an open Dask Client to grade on instead of the
    cluster `jobs` and `scheduler` describe (a benchmark that places its workers itself).
    """
    from grading.distributed_grading import WORKER_WAIT, grade_course  # Dask takes a second to import: only when grading

    course = Path(course).resolve()
    timeout = timeout or configured_timeout(course)
    work = [(student, assignment) for assignment in (assignment_ids or assignments(course))
            for student in submissions(course, assignment)]
    if work:
        grade_course(course, work, limits=dict(timeout=timeout, memory_gb=memory_gb, budget=budget, isolate=isolate),
                     scheduler=scheduler, jobs=jobs, require_sandbox=scheduler is not None and not allow_unsandboxed,
                     worker_wait=WORKER_WAIT if worker_wait is None else worker_wait, client=client)
    return [read_report(course, student, assignment) for student, assignment in work]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Autograde submitted/ with nbgrader, in sandboxes.")
    parser.add_argument("assignments", nargs="*", help="assignment names (default: every released one)")
    parser.add_argument("--course", default=".", help="the course directory (default: current directory)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="submissions graded at the same time: the worker processes of a LocalCluster")
    parser.add_argument("--scheduler", help="grade on the workers of this Dask scheduler instead (tcp://host:8786, "
                        "tls://host:8786; TLS certificates from Dask's configuration); --jobs is then ignored")
    parser.add_argument("--allow-unsandboxed", action="store_true",
                        help="let --scheduler's workers grade where bubblewrap does not work (they refuse otherwise)")
    parser.add_argument("--timeout", type=int, help="seconds per cell (default: Execute.timeout of the config)")
    parser.add_argument("--memory-gb", type=float, default=DEFAULT_MEMORY_GB, help="memory limit per process")
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET, help="seconds per whole submission")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run kernels without bubblewrap (every report then carries a warning)")
    parser.add_argument("--worker-wait", type=float, help="seconds the batch waits while the cluster has no worker "
                        "before it stops, leaving the submissions not yet graded untouched (default: 300)")
    args = parser.parse_args(argv)
    if args.scheduler and args.no_sandbox and not args.allow_unsandboxed:
        parser.error("--no-sandbox on a cluster's workers also needs --allow-unsandboxed")
    from grading.distributed_grading import BatchStopped, SandboxRefused

    start = time.perf_counter()
    try:
        reports = autograde(args.course, args.assignments, jobs=args.jobs, timeout=args.timeout,
                            memory_gb=args.memory_gb, budget=args.budget, isolate=not args.no_sandbox,
                            scheduler=args.scheduler, allow_unsandboxed=args.allow_unsandboxed,
                            worker_wait=args.worker_wait)
    except SandboxRefused as refusal:
        sys.exit(f"Nothing was graded: {refusal}")
    except BatchStopped as stopped:
        for student, assignment in stopped.unfinished:
            print(f"NOT GRADED {assignment} {student}: {stopped.sentence}", file=sys.stderr)
        sys.exit(f"Grading stopped: {stopped}")
    for report in reports:
        if (report.sandbox or "").startswith("WARNING"):
            print(f"{report.assignment} {report.student}: {report.sandbox}", file=sys.stderr)
        status = "missing" if report.missing else report.status
        print(f"{report.assignment:16} {report.student:24} {status:12} {report.seconds or 0:7.1f} s  "
              f"{len(report.repairs)} repair(s), {len(report.problems)} problem(s)")
    where = f"the workers of {args.scheduler}" if args.scheduler else f"{args.jobs} job(s)"
    print(f"{len(reports)} submission(s) graded in {time.perf_counter() - start:.1f} s with {where}")
    failed = [report for report in reports if report.status == "error"]
    for report in failed:
        print(f"NOT GRADED {report.assignment} {report.student}: {report.problems[0]}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} submission(s) could not be graded and score 0 for now (their files are untouched in "
              "submitted/): run `make autograde` again for them.", file=sys.stderr)


if __name__ == "__main__":
    main()
