"""Submissions graded per minute on Dask with 1 and 2 workers, the same submissions side by side in one run.

In a disposable copy of the course (tests/course.py), ASSIGNMENT is released and --submissions complete
submissions of it are made; each round grades them all with `grading.autograde` on a LocalCluster of 1 worker,
then again, in a fresh copy, on a LocalCluster of 2 workers (`make autograde JOBS=1` and `JOBS=2`), recording
the wall time and the load average before and after. It prints the rates, their ratio (2 workers against 1)
and what the rate of one worker gives for a class of 1,000 students x 8 assignments on N workers (one core each,
scaled linearly: a worker per core, as on a cluster's nodes; 2 workers here share 2 cores with everything else
on the machine). With --output it writes that table as Markdown (benchmarks/DASK.md).

Usage: PYTHONPATH=tests .venv/bin/python benchmarks/bench_dask.py [--submissions 6] [--rounds 1] [--output FILE]
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

CLASS = (1000, 8)  # students, assignments
CLUSTER_WORKERS = (1, 2, 8, 32, 100)


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def released_course(folder, assignment, submissions):
    course = copy_course(Path(folder) / "course")
    nbgrader(course, "generate_assignment", assignment, "--force")
    for index in range(submissions):
        submit(course, f"student{index + 1:02d}", assignment, completed(assignment, root=course))
    return course


def grade(course, assignment, workers, folder):
    """Grade every submission of a fresh copy of `course` on `workers` workers; return a row of measurements."""
    copy = Path(folder) / f"course-{workers}-{time.monotonic_ns()}"
    shutil.copytree(course, copy)
    before, load_before, start = uptime(), os.getloadavg()[0], time.perf_counter()
    reports = autograde(copy, [assignment], jobs=workers)
    seconds = time.perf_counter() - start
    statuses = sorted({str(report.status) for report in reports})
    shutil.rmtree(copy, ignore_errors=True)
    return {"workers": workers, "seconds": seconds, "per_minute": 60 * len(reports) / seconds, "statuses": statuses,
            "load": (load_before, os.getloadavg()[0]), "uptime": (before, uptime())}


def class_hours(per_minute_one_worker, workers):
    students, assignments = CLASS
    return students * assignments / (per_minute_one_worker * workers) / 60


def markdown(rows, assignment, submissions):
    ones = [row["per_minute"] for row in rows if row["workers"] == 1]
    twos = [row["per_minute"] for row in rows if row["workers"] == 2]
    ratios = [two / one for one, two in zip(ones, twos)]
    one_rate = sum(ones) / len(ones)
    lines = [
        "# Grading on Dask: submissions per minute (benchmarks/bench_dask.py)",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}), shared with other "
        "developers' jobs: the load average is in each row. "
        f"{submissions} complete submissions of {assignment}, graded by `grading.autograde` on a LocalCluster of 1 "
        "worker, then the same submissions on 2 workers (one round = one pair, side by side).",
        "",
        "| round | workers | wall time | submissions per minute | status | load before → after | uptime before |",
        "|---|---|---|---|---|---|---|",
    ]
    for index, row in enumerate(rows):
        lines.append(f"| {index // 2 + 1} | {row['workers']} | {row['seconds']:.1f} s | {row['per_minute']:.2f} | "
                     f"{', '.join(map(str, row['statuses']))} | {row['load'][0]:.1f} → {row['load'][1]:.1f} | "
                     f"`{row['uptime'][0]}` |")
    lines += [
        "",
        f"**2 workers / 1 worker: {', '.join(f'{ratio:.2f}' for ratio in ratios)} x** (target >= 1.8 x).",
        "",
        f"A class of {CLASS[0]:,} students x {CLASS[1]} assignments ({CLASS[0] * CLASS[1]:,} submissions) at "
        f"{one_rate:.2f} submissions per minute per worker (the 1-worker rate above, under that load), each worker "
        "on a core of its own:",
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
        course = released_course(folder, args.assignment, args.submissions)
        rows = []
        for _ in range(args.rounds):
            for workers in (1, 2):
                rows.append(grade(course, args.assignment, workers, folder))
                print(f"{workers} worker(s): {rows[-1]['seconds']:.1f} s, {rows[-1]['per_minute']:.2f} per minute, "
                      f"load {rows[-1]['load'][0]:.1f} -> {rows[-1]['load'][1]:.1f}", flush=True)
    table = markdown(rows, args.assignment, args.submissions)
    print(table)
    if args.output:
        args.output.write_text(table)


if __name__ == "__main__":  # LocalCluster's worker processes import this file again: nothing may run then
    sys.exit(main())
