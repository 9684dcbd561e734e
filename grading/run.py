"""Run nbgrader on one submission in its sandbox, until it is graded or gives up; report what happened.

`grade_submission` is one submission from its folder to its Report: choose and repair the notebook
(grading/submission.py), build its sandbox (grading/sandbox.py), run `nbgrader autograde` there under the
limits (per cell --timeout seconds, --memory-gb of data memory per process, --budget seconds in all), and put
what happened into the Report in words (grading/report.py).

A cell that kills the Python kernel (os._exit, a crash in compiled code) would lose the whole notebook: the
kernel's start-up file (grading/kernel_startup.py) records which cell runs; that cell (for a test or read-only
cell, the answer cell before it) is commented out and the submission graded again (at most MAX_SKIPPED_CELLS
times). exit() and quit() are neutralised by the same start-up file.
"""
import os
import subprocess
import time

import nbformat
from nbgrader import utils as nbgrader_utils

from grading.course import BIN, autograded_folder, nbgrader_env, sqlite_url, submitted_folder
from grading.release import provide_helpers
from grading.report import TOO_MANY_PROCESSES, cell_label, grading_failure, problems_in, read_only
from grading.sandbox import (MAX_PROCESSES, SANDBOX_SOURCE, UNISOLATED_WARNING, build_sandbox, create_process_limit,
                             isolate_kernel, isolation_problem, kill_sandbox_processes, memory_limited,
                             progress_file, refused_processes, remove_process_limit, scratch)
from grading.submission import read_submission

MAX_SKIPPED_CELLS = 3  # cells that killed the kernel, skipped before grading gives up on a submission


def run_autograde(top, student, assignment, *, timeout, memory_gb, budget, kernel_options=()):
    """Run `nbgrader autograde` for the one submission of sandbox `top`; return (status, log).

    `kernel_options`: nbgrader options that select the isolated kernel (`isolate_kernel`), or none.
    """
    box = top / "course"
    command = [str(BIN / "nbgrader"), "autograde", assignment, f"--student={student}", "--force",
               f"--CourseDirectory.root={box}", f"--CourseDirectory.db_url={sqlite_url(top / 'gradebook.db')}",
               f"--CourseDirectory.source_directory={SANDBOX_SOURCE}", f"--Execute.timeout={timeout}", *kernel_options]
    jupyter_path = os.pathsep.join(filter(None, [str(top / "jupyter"), os.environ.get("JUPYTER_PATH")]))
    env = nbgrader_env(PYTHONPATH=str(top / "lib"), GRADING_SANDBOX=top.name, IPYTHONDIR=str(scratch(top) / "ipython"),
                       GRADING_PROGRESS=str(progress_file(top)), JUPYTER_PATH=jupyter_path,
                       # the kernel's connection file (nbclient writes it with tempfile) and its ipc sockets:
                       # in the one folder of the sandbox that both nbgrader and the isolated kernel see
                       JUPYTER_RUNTIME_DIR=str(top / "runtime"), TMPDIR=str(top / "runtime"))
    process = subprocess.Popen(memory_limited(command, memory_gb), cwd=box, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        log, _ = process.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        kill_sandbox_processes(top.name)
        log, _ = process.communicate()
        return "over budget", log
    finally:
        kill_sandbox_processes(top.name)  # a kernel must never outlive its grading
    return ("ok" if process.returncode == 0 else "failed"), log


def kernel_killer(top, notebook, log):
    """The index of the cell that was running when the kernel died, or None if the kernel did not die or the
    cell is unknown. nbgrader runs read-only and test cells as released (test cells with their hidden tests
    added), so those are recognised by their first line."""
    progress = progress_file(top)
    if "DeadKernelError" not in log or not progress.exists():
        return None
    source = progress.read_text(encoding="utf-8")
    first_line = source.strip().splitlines()[0] if source.strip() else ""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        if cell.source == source or (read_only(cell) and cell.source.strip()
                                     and cell.source.strip().splitlines()[0] == first_line):
            return index
    return None


def answer_before(notebook, index):
    """The index of the last answer (solution) cell before cell `index`, or None."""
    return next((i for i in range(index - 1, -1, -1) if nbgrader_utils.is_solution(notebook.cells[i])
                 and notebook.cells[i].cell_type == "code"), None)


def cell_to_skip(notebook, killer):
    """(index of the cell to skip or None, a sentence for the student) after cell `killer` killed the kernel.

    A read-only or test cell cannot be skipped (nbgrader restores it), so the answer it runs, the answer cell
    before it, is.
    """
    label = cell_label(notebook.cells[killer], killer)
    crash = "(e.g. os._exit() or a crash inside a compiled library)"
    if not read_only(notebook.cells[killer]):
        return killer, f"{label} stopped the Python kernel {crash}, so it was skipped and your notebook was graded again without it."
    answer = answer_before(notebook, killer)
    if answer is None:
        return None, f"The Python kernel died while running {label}: the code it runs crashed Python itself {crash}."
    return answer, (f"The Python kernel died while running {label}: your answer in "
                    f"{cell_label(notebook.cells[answer], answer)} crashed Python itself {crash}. That answer was skipped "
                    "and your notebook was graded again without it.")


def skip_cell(cell):
    """Comment out a cell that killed the kernel, saying why."""
    cell.source = ("# [grading] This cell stopped the Python kernel, so it was skipped. It was:\n"
                   + "\n".join(f"# {line}" for line in cell.source.splitlines()))


def grade_submission(course, student, assignment, *, timeout, memory_gb, budget, isolate=True,
                     helpers=provide_helpers, hide=()):
    """Repair, grade in a sandbox and report one submission; return (sandbox or None, Report).

    `isolate=False` runs the plain kernel even where bubblewrap works (the report then carries the warning).
    `helpers(course, assignment, lib)` puts the assignment's bn_course into lib and says which (a Dask worker
    receives them from the instructor's machine); `hide`: more folders the kernel must not see.
    """
    notebook, report = read_submission(course, student, assignment)
    report.timeout, report.memory_gb = timeout, memory_gb
    if notebook is None:
        return None, report
    start = time.perf_counter()
    top = build_sandbox(course, student, assignment, notebook)
    report.helpers = helpers(course, assignment, top / "lib")
    process_limit = None
    problem = isolation_problem() if isolate else "turned off with --no-sandbox"
    if problem is None:
        process_limit = create_process_limit(top.name)
        kernel_options = isolate_kernel(course, top, student, assignment, process_limit, hide)
        report.sandbox = f"bubblewrap, at most {MAX_PROCESSES} processes" if process_limit else \
            "bubblewrap, WITHOUT a process limit (no writable cgroup pids controller)"
    else:
        kernel_options = []
        report.sandbox = UNISOLATED_WARNING.format(reason=problem)
    try:
        status, log = grade_until_done(top, notebook, report, student, assignment, start=start, timeout=timeout,
                                       memory_gb=memory_gb, budget=budget, kernel_options=kernel_options)
        if process_limit is not None and refused_processes(process_limit):
            report.problems.append(TOO_MANY_PROCESSES)
    finally:
        remove_process_limit(process_limit)
    report.status, report.seconds = status, round(time.perf_counter() - start, 1)
    graded = autograded_folder(top / "course", student, assignment) / f"{assignment}.ipynb"
    if graded.exists():
        report.problems += problems_in(nbformat.read(graded, as_version=4), timeout=timeout, memory_gb=memory_gb)
    if status != "ok":
        report.problems.insert(0, grading_failure(status, log, budget))
        report.log = log[-5000:]
    return top, report


def grade_until_done(top, notebook, report, student, assignment, *, start, budget, **limits):
    """Run nbgrader on the sandbox, again without each cell that killed the kernel; return (status, log)."""
    def run():
        return run_autograde(top, student, assignment, budget=max(1, budget - (time.perf_counter() - start)),
                             **limits)

    status, log = run()
    for _ in range(MAX_SKIPPED_CELLS):
        killer = kernel_killer(top, notebook, log) if status == "failed" else None
        if killer is None:
            break
        skipped, sentence = cell_to_skip(notebook, killer)
        report.problems.append(sentence)
        if skipped is None:
            break
        skip_cell(notebook.cells[skipped])
        nbformat.write(notebook, submitted_folder(top / "course", student, assignment) / f"{assignment}.ipynb")
        progress_file(top).unlink()
        status, log = run()
    return status, log
