"""Submissions graded per minute on Dask with 1 and 2 workers, the same submissions side by side in one run.

In a disposable copy of the course (tests/course.py), ASSIGNMENT is released and --submissions complete
submissions of it are made; each round grades them all with `grading.autograde` on a LocalCluster of 1 worker,
then again, in a fresh copy, on a LocalCluster of 2 workers, in two placements:

- "shared": the workers and everything they start (nbgrader, the kernels) may run on every core, as
  `make autograde JOBS=1` and `JOBS=2` do on an instructor's machine;
- "a core each": each worker process, and so everything it starts, is confined to a core of its own
  (sched_setaffinity on each of its threads), the shape of a cluster that gives every worker one core.

It records the wall time (cluster start included) and the load average before and after, and prints the rates
and their ratio (2 workers against 1) per placement. Why the placements differ: a Keras `model.fit` of the seed
model uses the second core of an idle machine for the hand-offs between Python and TensorFlow's threads even
though it needs less than one core of CPU, so one worker alone on 2 cores grades faster than a worker confined to
one core. The script measures that too (the seed model's fit, 100 epochs, alone on every core, alone on one core,
and two at once), in subprocesses, before the rounds. The class estimate (1,000 students x 8 assignments on N
workers) scales the 1-worker rate of "a core each" linearly. With --output it writes the tables as Markdown.

Linux only (sched_setaffinity). Usage:
    PYTHONPATH=tests .venv/bin/python benchmarks/bench_dask.py [--submissions 6] [--rounds 1] [--output FILE]
"""
import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from course import copy_course, nbgrader, submit
from submissions import completed

from grading.autograde import autograde
from grading.distributed_grading import dask_client

CLASS = (1000, 8)  # students, assignments
CLUSTER_WORKERS = (1, 2, 8, 32, 100)
PLACEMENTS = ("shared", "a core each")
# The seed model (tests/zoo.py's baseline 2-50-1, 100 epochs of batch 32 through the course's fit_model, as notebook
# 02 trains it): prints its fit's wall and CPU seconds.
FIT_PROBE = """
import time
import bn_course, zoo
from bn_course.training import fit_model
model, data = zoo.build("baseline", 0), zoo.dataset("baseline")
start, cpu = time.perf_counter(), time.process_time()
fit_model(model, data, random_state=0)
print(time.perf_counter() - start, time.process_time() - cpu)
"""


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def released_course(folder, assignment, submissions):
    course = copy_course(Path(folder) / "course")
    nbgrader(course, "generate_assignment", assignment, "--force")
    for index in range(submissions):
        submit(course, f"student{index + 1:02d}", assignment, completed(assignment, root=course))
    return course


def confine_to(core):
    """Confine this process (every thread it has; threads started later inherit it) to CPU `core`."""
    for thread in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(thread), {core})


def give_each_worker_a_core(client):
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    cores = sorted(os.sched_getaffinity(0))
    if len(workers) > len(cores):
        raise ValueError(f"{len(workers)} workers cannot have a core each on {len(cores)} cores")
    for core, worker in zip(cores, workers):
        client.run(confine_to, core, workers=[worker])


def grade(course, assignment, workers, placement, folder):
    """Grade every submission of a fresh copy of `course` on `workers` workers placed as `placement`; return a row."""
    copy = Path(folder) / f"course-{workers}-{time.monotonic_ns()}"
    shutil.copytree(course, copy)
    before, load_before, start = uptime(), os.getloadavg()[0], time.perf_counter()
    with dask_client(jobs=workers) as client:
        if placement == "a core each":
            give_each_worker_a_core(client)
        reports = autograde(copy, [assignment], client=client)
    seconds = time.perf_counter() - start
    statuses = sorted({str(report.status) for report in reports})
    shutil.rmtree(copy, ignore_errors=True)
    return {"placement": placement, "workers": workers, "seconds": seconds, "per_minute": 60 * len(reports) / seconds,
            "statuses": statuses, "load": (load_before, os.getloadavg()[0]), "uptime": (before, uptime())}


def fit_probe(core=None):
    """Start FIT_PROBE (confined to CPU `core` unless None); return the running process."""
    return subprocess.Popen([sys.executable, "-c", FIT_PROBE], stdout=subprocess.PIPE, text=True,
                            preexec_fn=None if core is None else lambda: os.sched_setaffinity(0, {core}),
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0"))


def fit_seconds(processes):
    """[(wall, CPU) seconds] of each FIT_PROBE process, once all have finished."""
    return [tuple(float(value) for value in process.communicate()[0].split()) for process in processes]


def fit_rows():
    """The seed model's fit alone on every core, alone on one core, and two at once on every core."""
    first = min(os.sched_getaffinity(0))
    return [("alone, every core", fit_seconds([fit_probe()])),
            ("alone, one core", fit_seconds([fit_probe(first)])),
            ("two at once, every core", fit_seconds([fit_probe(), fit_probe()]))]


def class_hours(per_minute_one_worker, workers):
    students, assignments = CLASS
    return students * assignments / (per_minute_one_worker * workers) / 60


def ratios(rows, placement):
    ones = [row["per_minute"] for row in rows if row["workers"] == 1 and row["placement"] == placement]
    twos = [row["per_minute"] for row in rows if row["workers"] == 2 and row["placement"] == placement]
    return [two / one for one, two in zip(ones, twos)]


def markdown(rows, fits, assignment, submissions):
    one_core = [row["per_minute"] for row in rows if row["workers"] == 1 and row["placement"] == "a core each"]
    one_rate = sum(one_core) / len(one_core)
    lines = [
        "# Grading on Dask: submissions per minute (benchmarks/bench_dask.py)",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}); the load average is in "
        f"each row. {submissions} complete submissions of {assignment}, graded by `grading.autograde` on a "
        "LocalCluster of 1 worker, then the same submissions on 2 workers (one round = one pair, side by side), with "
        "the workers sharing every core, then with a core each.",
        "",
        "| round | placement | workers | wall time | submissions per minute | status | load before → after |",
        "|---|---|---|---|---|---|---|",
    ]
    for index, row in enumerate(rows):
        lines.append(f"| {index // 4 + 1} | {row['placement']} | {row['workers']} | {row['seconds']:.1f} s | "
                     f"{row['per_minute']:.2f} | {', '.join(map(str, row['statuses']))} | "
                     f"{row['load'][0]:.1f} → {row['load'][1]:.1f} |")
    for placement in PLACEMENTS:
        lines += ["", f"**2 workers / 1 worker, {placement}: {', '.join(f'{r:.2f}' for r in ratios(rows, placement))} "
                  "x** (target >= 1.8 x)."]
    lines += [
        "",
        "Why the placements differ: the seed model's `model.fit` (100 epochs, as notebook 02 runs it), in "
        "subprocesses before the rounds:",
        "",
        "| fit of the seed model | wall time | CPU time |",
        "|---|---|---|",
        *[f"| {what} | {' / '.join(f'{wall:.1f} s' for wall, _ in runs)} | "
          f"{' / '.join(f'{cpu:.1f} s' for _, cpu in runs)} |" for what, runs in fits],
        "",
        f"A class of {CLASS[0]:,} students x {CLASS[1]} assignments ({CLASS[0] * CLASS[1]:,} submissions) at "
        f"{one_rate:.2f} submissions per minute per worker (the 1-worker rate with a core of its own, above), each "
        "worker on a core of its own:",
        "",
        "| workers | hours |",
        "|---|---|",
        *[f"| {workers} | {class_hours(one_rate, workers):.1f} |" for workers in CLUSTER_WORKERS],
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="02-baseline")
    parser.add_argument("--submissions", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=1, help="pairs of batches (1 worker, then 2)")
    parser.add_argument("--output", type=Path, help="write the Markdown table here (e.g. benchmarks/DASK.md)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as folder:
        fits = fit_rows()
        for what, runs in fits:
            print(f"fit of the seed model, {what}: " + ", ".join(f"{wall:.1f} s wall, {cpu:.1f} s CPU"
                                                                for wall, cpu in runs), flush=True)
        course = released_course(folder, args.assignment, args.submissions)
        rows = []
        for _ in range(args.rounds):
            for placement in PLACEMENTS:
                for workers in (1, 2):
                    rows.append(grade(course, args.assignment, workers, placement, folder))
                    print(f"{placement}, {workers} worker(s): {rows[-1]['seconds']:.1f} s, "
                          f"{rows[-1]['per_minute']:.2f} per minute, load {rows[-1]['load'][0]:.1f} -> "
                          f"{rows[-1]['load'][1]:.1f}", flush=True)
    table = markdown(rows, fits, args.assignment, args.submissions)
    print(table)
    if args.output:
        args.output.write_text(table)


if __name__ == "__main__":  # LocalCluster's worker processes import this file again: nothing may run then
    sys.exit(main())
