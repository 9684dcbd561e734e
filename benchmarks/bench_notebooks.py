"""Time each notebook as a learner and as nbgrader meet it: executed top to bottom, and autograded complete.

For every assignment given (default: all), in a disposable copy of the course (tests/course.py):
- `jupyter nbconvert --execute` of the source notebook, as a learner running it top to bottom;
- `nbgrader autograde` of a complete submission (every answer cell filled with the solution), which executes
  the notebook with NBGRADER_EXECUTION=autograde (lighter demonstrations) and grades it.
Each row gives the wall time, the CPU time of the processes it started (user + system: on an idle 2-core
machine the wall time is at least half of it) and the load average before and after, because the course's
machines are shared: the budgets are 90 s to execute and 45 s to autograde on 2 idle cores.

Usage: PYTHONPATH=tests .venv/bin/python benchmarks/bench_notebooks.py [ASSIGNMENT ...]
"""
import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course import ASSIGNMENTS, copy_course, nbgrader, notebook_path, submit
from submissions import completed

BIN = Path(sys.executable).parent
BUDGETS = {"execute": 90, "autograde": 45}


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(run):
    """(wall seconds, CPU seconds of the child processes, load before, load after) of calling `run()`."""
    load_before, cpu_before, start = os.getloadavg()[0], children_cpu_seconds(), time.perf_counter()
    run()
    return time.perf_counter() - start, children_cpu_seconds() - cpu_before, load_before, os.getloadavg()[0]


def execute(course, assignment):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    source = notebook_path(course, "solutions", assignment)
    subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=900",
                    str(source), "--output", str(source.with_name("executed.ipynb"))],
                   env=env, check=True, capture_output=True)


def autograde(course, assignment):
    nbgrader(course, "generate_assignment", assignment, "--force")
    submit(course, "complete", assignment, completed(assignment, root=course))
    return lambda: nbgrader(course, "autograde", assignment, "--student=complete", "--force")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Not argparse's `choices`: with nargs="*" it checks the empty list (and a list default) as one value.
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help=f"default: all of {ASSIGNMENTS}")
    arguments = parser.parse_args()
    unknown = sorted(set(arguments.assignments) - set(ASSIGNMENTS))
    if unknown:
        parser.error(f"unknown assignments {unknown}; choose from {ASSIGNMENTS}")
    arguments.assignments = arguments.assignments or ASSIGNMENTS
    print(f"date: {time.strftime('%Y-%m-%dT%H:%M')}, machine: {platform.processor() or platform.machine()}, "
          f"nproc={os.cpu_count()}")
    print("| notebook | step | wall (s) | CPU of children (s) | load before / after | budget on 2 idle cores (s) |")
    print("|---|---|---:|---:|---|---:|")
    with tempfile.TemporaryDirectory() as folder:
        course = copy_course(Path(folder) / "course")
        for assignment in arguments.assignments:
            steps = {"execute": lambda: execute(course, assignment), "autograde": autograde(course, assignment)}
            for step, run in steps.items():
                wall, cpu, before, after = timed(run)
                print(f"| {assignment} | {step} | {wall:.1f} | {cpu:.1f} | {before:.1f} / {after:.1f} | {BUDGETS[step]} |",
                      flush=True)


if __name__ == "__main__":
    main()
