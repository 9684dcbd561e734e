"""Autograde every submission under submitted/ with real `nbgrader autograde`, one sandbox per submission.

    python -m grading.autograde [--course DIR] [--jobs N] [--timeout S] [--memory-gb G] [ASSIGNMENT ...]

For each submitted/<student>/<assignment>/:

1. the notebook is read and repaired against the release (grading/repair.py); other files the student sent
   are ignored (an extra `bn_course/checks.py` would otherwise replace the course's checks);
2. it is graded by `nbgrader autograde` in a fresh temporary course that holds only the configuration, this
   one submission, the assignment's gradebook without any student and the helpers package the assignment was released with
   (grading/release.py): solutions/, source_with_tests/
   and the course's gradebook are not reachable by relative path from the kernel, nor through the path of
   `bn_course`. Each process of it (nbgrader and its kernel) may map at most --memory-gb of data memory, each cell
   runs at most --timeout seconds, and the whole submission at most --budget seconds;
   A cell that kills the Python kernel (os._exit, a crash in compiled code) would lose the whole notebook:
   the kernel's start-up file (grading/kernel_startup.py) records which cell runs; that cell (for a test or
   read-only cell, the answer cell before it) is commented out and the submission graded again (at most
   MAX_SKIPPED_CELLS times). exit() and quit() are neutralised by the same start-up file;
3. what happened is written to autograded/.reports/<student>/<assignment>.json in words for the student
   (repairs, time-outs, input(), memory, syntax errors, failed tests), for `grading.feedback`;
4. the sandbox's gradebook is merged into the course's gradebook.db (automatic scores only: manual grades
   already given are kept), its autograded/ folder replaces the course's, and the sandbox is deleted.

Submissions are independent: each is one Dask task (grading/distributed_grading.py), on a LocalCluster of
--jobs worker processes (`make autograde JOBS=N`) or on the workers of a running cluster (--scheduler,
`make autograde SCHEDULER=tcp://host:8786`). nbgrader's SQLite gradebook takes one writer, which is why each
sandbox has its own and the merge (steps 3-4) happens in this process, once per submission.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import psutil
from nbgrader import utils as nbgrader_utils
from nbgrader.api import MissingEntry
from traitlets.config.loader import PyFileConfigLoader

from grading import kernel_startup
from grading.course import (BIN, assignments, nbgrader_env, read_report, release_notebook, submissions,
                            write_report)
from grading.merge import merge_submission, record_missing
from grading.release import provide_helpers
from grading.repair import as_dicts, repair_notebook
from grading.sandbox import (KERNEL_NAME, MAX_PROCESSES, UNISOLATED_WARNING, create_process_limit, isolation_problem,
                             refused_processes, remove_process_limit, write_kernelspec)

DEFAULT_MEMORY_GB = 6  # of data (heap) per process; a TensorFlow kernel training these models uses under 1 GB
DEFAULT_BUDGET = 1800  # seconds for one whole submission, even if every cell hangs until its own time-out
# Written by `nbgrader submit` beside the notebook, not by the student: nbgrader autograde reads the submission
# time from timestamp.txt (late penalties), `nbgrader release_feedback` needs both beside the feedback page.
KEPT_FILES = ("timestamp.txt", "submission_secret.txt")
EDITOR_FOLDERS = {".ipynb_checkpoints", "__pycache__", "__MACOSX"}  # left by Jupyter, Python, macOS's zip
ZIP_MEMBER_LIMIT = 64 * 2**20  # bytes, uncompressed: a notebook, not a data archive (or a zip bomb)
MAX_SKIPPED_CELLS = 3  # cells that killed the kernel, skipped before grading gives up on a submission


def configured_timeout(course):
    """The per-cell time-out of the course's nbgrader_config.py (Execute.timeout)."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return int(config.Execute.timeout) if "timeout" in config.Execute else 30


# --- 1. read and repair ---------------------------------------------------------------------------------------

def read_submission(course, student, assignment):
    """Return (repaired notebook or None, report) for one submission folder."""
    folder = Path(course) / "submitted" / student / assignment
    expected = f"{assignment}.ipynb"
    received = sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                      if path.is_file() and not set(path.relative_to(folder).parts) & EDITOR_FOLDERS
                      and str(path.relative_to(folder)) not in KEPT_FILES)
    graded_name, found_at = located_notebook(folder, received, expected)
    extra = [name for name in received if name != graded_name]
    report = {"student": student, "assignment": assignment, "repairs": [], "problems": [], "missing": False}
    if extra:
        report["problems"].append(f"Your submission also contained {', '.join(extra)}; only {graded_name or expected} "
                                  "is graded, so the other files were ignored.")
    if graded_name is None:
        report["missing"] = True
        report["problems"].insert(0, f"We did not find {expected} in your submission, so this assignment scored 0. "
                                  f"Files we received: {', '.join(received) or 'none'}.")
        return None, report
    if found_at:
        report["problems"].insert(0, f"We found your notebook at {found_at}, not as {expected} at the top of your "
                                  f"submission; it was graded as {expected}. Next time hand in the .ipynb file itself.")
    elif graded_name != expected:
        report["problems"].insert(0, f"Your notebook was named {graded_name}, not {expected}; it was graded as "
                                  f"{expected}. Keep the original name next time.")
    try:
        notebook = nbformat.reads(notebook_text(folder, found_at or graded_name), as_version=4)
        release = nbformat.read(release_notebook(course, assignment), as_version=4)
        notebook, repairs = repair_notebook(notebook, release)
    except Exception as error:  # any unreadable file: the student must hear why, the batch goes on
        report["missing"] = True
        report["problems"].insert(0, f"{graded_name} could not be read as a notebook ({type(error).__name__}: "
                                  f"{str(error)[:200]}), so this assignment scored 0.")
        return None, report
    report["repairs"] = as_dicts(repairs)
    return notebook, report


def located_notebook(folder, received, expected):
    """(name graded, where it was found or None) of the notebook to grade among `received` (paths under `folder`).

    In order: `expected` at the top; else the one notebook at the top under another name (a browser or Jupyter
    renamed it: "02-baseline (1).ipynb"); else the one notebook in a subfolder (an LMS download that keeps the
    student's folder); else the one notebook inside the one .zip, found at "x.zip:inner.ipynb". Several
    candidates at the first level that has any: which one the student meant is not ours to guess, (None, None).
    """
    if expected in received:
        return expected, None
    top = [name for name in received if name.endswith(".ipynb") and len(Path(name).parts) == 1]
    if top:
        return (top[0], None) if len(top) == 1 else (None, None)
    nested = [name for name in received if name.endswith(".ipynb")]
    if nested:
        return (nested[0], nested[0]) if len(nested) == 1 else (None, None)
    archives = [name for name in received if name.lower().endswith(".zip")]
    if len(archives) != 1:
        return None, None
    try:
        with zipfile.ZipFile(Path(folder) / archives[0]) as archive:
            inside = [info.filename for info in archive.infolist() if info.filename.endswith(".ipynb")
                      and not set(Path(info.filename).parts) & EDITOR_FOLDERS]
    except zipfile.BadZipFile:
        return None, None
    if len(inside) != 1:
        return None, None
    return archives[0], f"{archives[0]}:{inside[0]}"


def notebook_text(folder, location):
    """The text of the notebook at `location` (a path under `folder`, or "x.zip:inner.ipynb" as located_notebook
    writes it). Raises ValueError for a zip member larger than ZIP_MEMBER_LIMIT; nothing is extracted to disk."""
    archive_name, _, member = location.partition(":") if ".zip:" in location.lower() else (location, "", "")
    if not member:
        return (Path(folder) / location).read_text(encoding="utf-8")
    with zipfile.ZipFile(Path(folder) / archive_name) as archive:
        if archive.getinfo(member).file_size > ZIP_MEMBER_LIMIT:
            raise ValueError(f"{member} inside {archive_name} is larger than {ZIP_MEMBER_LIMIT // 2**20} MB")
        return archive.read(member).decode("utf-8")


def copy_kept_files(source, destination):
    """Copy the KEPT_FILES that folder `source` holds into folder `destination`."""
    for name in KEPT_FILES:
        if (Path(source) / name).is_file():
            shutil.copy2(Path(source) / name, Path(destination) / name)


# --- 2. grade in a sandbox ------------------------------------------------------------------------------------

def build_sandbox(course, student, assignment, notebook):
    """A temporary course for one submission; return its top folder (the course is <top>/course)."""
    course = Path(course)
    top = Path(tempfile.mkdtemp(prefix="grading-"))
    box = top / "course"
    (box / "source" / assignment).mkdir(parents=True)
    shutil.copy2(course / "nbgrader_config.py", box / "nbgrader_config.py")
    for path in release_notebook(course, assignment).parent.iterdir():  # data files of the release, no notebooks
        if path.is_file() and path.suffix != ".ipynb":
            shutil.copy2(path, box / "source" / assignment / path.name)
    folder = box / "submitted" / student / assignment
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / f"{assignment}.ipynb")
    copy_kept_files(course / "submitted" / student / assignment, folder)
    shutil.copy2(course / "gradebook.db", top / "gradebook.db")
    startup = scratch(top) / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    shutil.copy2(kernel_startup.__file__, startup / "00-grading.py")
    (top / "runtime").mkdir()
    return top


def scratch(top):
    """The kernel's writable folder besides the notebook's own: its IPython profile and the progress file."""
    return top / "scratch"


def progress_file(top):
    return scratch(top) / "progress.txt"


def isolate_kernel(course, top, student, assignment, process_limit, hide=()):
    """Write the sandbox's bwrap kernelspec (grading/sandbox.py); return nbgrader's options to use it.

    `hide`: more folders the kernel must not see (the instructor's course, when grading a copy of it)."""
    write_kernelspec(top / "jupyter", hide=[course, top, *hide], lib=top / "lib", runtime=top / "runtime",
                     scratch=scratch(top), working_dir=top / "course" / "autograded" / student / assignment,
                     process_limit=process_limit)
    # ipc sockets are files named after `ip`; by default a path relative to each side's working folder
    return [f"--Execute.kernel_name={KERNEL_NAME}", "--KernelManager.transport=ipc",
            f"--KernelManager.ip={top / 'runtime' / 'kernel'}"]


def memory_limited(command, memory_gb):
    """`command` run under a data-size limit (RLIMIT_DATA), inherited by the kernels nbgrader starts.

    RLIMIT_DATA counts the heap and private anonymous memory (what NumPy arrays use) but not the code and the
    address space TensorFlow reserves, so a cell asking for too much gets a MemoryError at once, long before
    the machine runs out and the OOM killer picks a process.
    """
    limit = int(memory_gb * 2**30)
    setup = ("import os, resource, sys; resource.setrlimit(resource.RLIMIT_DATA, (%d, %d)); "
             "os.execv(sys.argv[1], sys.argv[1:])" % (limit, limit))
    return [sys.executable, "-c", setup, *command]


def kill_sandbox_processes(marker):
    """Kill every process started for one sandbox (nbgrader and its kernel), found by an environment marker
    (a kernel that left nbgrader's process tree keeps its environment)."""
    for process in psutil.process_iter():
        try:
            if process.environ().get("GRADING_SANDBOX") == marker:
                process.kill()
        except (psutil.Error, OSError):  # gone meanwhile, or another user's process
            continue


def run_autograde(top, student, assignment, *, timeout, memory_gb, budget, kernel_options=()):
    """Run `nbgrader autograde` for the one submission of sandbox `top`; return (status, log).

    `kernel_options`: nbgrader options that select the isolated kernel (`isolate_kernel`), or none.
    """
    box = top / "course"
    command = [str(BIN / "nbgrader"), "autograde", assignment, f"--student={student}", "--force",
               f"--CourseDirectory.root={box}", f"--CourseDirectory.db_url=sqlite:///{top / 'gradebook.db'}",
               "--CourseDirectory.source_directory=source", f"--Execute.timeout={timeout}", *kernel_options]
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


# --- 3. what happened, in words ---------------------------------------------------------------------------------

def _label(cell, index):
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    if grade_id:
        return f"cell `{grade_id}`"
    first_line = next((line for line in cell.source.splitlines() if line.strip()), "")[:60]
    return f"cell {index + 1} (`{first_line}`)"


def describe_error(output, label, *, timeout, memory_gb):
    """One sentence on an error output, or None when the error is an ordinary one (shown in the notebook)."""
    name, value = output.get("ename", ""), output.get("evalue", "")
    if name == "CellTimeoutError":
        return f"{label} timed out after {timeout} s and was stopped; the cells after it still ran."
    if name == "StdinNotImplementedError":
        return (f"Your notebook asked for keyboard input (input()) in {label}, which is not available during "
                "grading; that cell stopped there. Remove input() calls before you submit.")
    if name == "MemoryError":
        return (f"{label} tried to use more memory than grading allows ({memory_gb} GB) and was stopped "
                "(MemoryError).")
    if name in ("SyntaxError", "IndentationError", "TabError"):
        return f"{label} has a syntax error ({name}: {value}), so none of its code ran."
    return blocked_by_sandbox(name, value, label)


SANDBOX_ERRORS = (  # (exception name, words in its message, sentence): what the sandbox (grading/sandbox.py) stops
    ("", "Read-only file system", "tried to change files outside your notebook's folder, which grading does not "
                                  "allow; nothing was changed."),
    ("gaierror", "", "tried to use the network, which is not available during grading."),
    ("", "Network is unreachable", "tried to use the network, which is not available during grading."),
    ("BlockingIOError", "Resource temporarily unavailable",
     "tried to start more processes than grading allows and was stopped."),
    ("FileNotFoundError", "'/", "tried to open a file by its full path, which does not exist during grading: only "
                                "your notebook's own folder is available."),
)


def blocked_by_sandbox(name, value, label):
    """A sentence when error `name: value` is the sandbox refusing something, else None."""
    for error_name, words, sentence in SANDBOX_ERRORS:
        if (not error_name or name == error_name) and words in value:
            return f"{label} {sentence}"
    return None


TOO_MANY_PROCESSES = (f"Your notebook tried to start more processes than grading allows (at most {MAX_PROCESSES} at "
                      "once, e.g. os.fork() in a loop); the extra ones were refused, and the cell was stopped when it "
                      "reached its time limit.")
PIP_COMMAND = re.compile(r"^\s*[%!]\s*(?:python -m )?pip\b", flags=re.MULTILINE)
PIP_SENTENCE = ("uses pip (%pip or !pip) to install or remove packages: grading runs your notebook with the "
                "course's own packages, so do not rely on installing any.")


def _timed_out(cell):
    return any(output.get("ename") == "CellTimeoutError" for output in cell.get("outputs", []))


def problems_in(notebook, *, timeout, memory_gb):
    """Sentences about time-outs, input(), memory, syntax errors, truncated output and failed tests."""
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        label = _label(cell, index)
        is_test = nbgrader_utils.is_grade(cell)
        if PIP_COMMAND.search(cell.source) and not _read_only(cell):  # the release's own Colab set-up uses %pip
            problems.append(f"{label} {PIP_SENTENCE}")
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and "... Output truncated ..." in output.get("text", ""):
                problems.append(f"{label} printed too much output; only the beginning was kept.")
            if output.output_type == "stream" and kernel_startup.EXIT_IGNORED in output.get("text", ""):
                problems.append(f"{label} calls exit() or quit(), which stops the Python kernel: grading would have "
                                "lost the rest of your notebook. It was ignored here; remove it before you submit.")
            if output.output_type != "error":
                continue
            sentence = describe_error(output, label, timeout=timeout, memory_gb=memory_gb)
            if output.get("ename") == "KeyboardInterrupt" and _timed_out(cell):
                continue  # the interrupt that ended a timed-out cell: the time-out is reported once
            if sentence:
                problems.append(sentence)
            elif is_test:
                reason = (output.get("evalue") or "").strip().splitlines()
                problems.append(f"Test {label[5:]} failed: {output.get('ename')}" + (f": {reason[0]}" if reason else ""))
            else:
                problems.append(f"{label} raised {output.get('ename')}: {str(output.get('evalue'))[:200]}")
    return problems


def grading_failure(status, log, budget):
    if status == "over budget":
        return f"Grading your notebook took longer than {budget} s in total and was stopped; it scored what it had."
    causes = re.findall(r"^\s*((?:\w+\.)*\w+(?:Error|Exception)\b.*)$", log, flags=re.MULTILINE) or [log[-200:]]
    return f"Your notebook could not be graded automatically ({causes[-1].strip()[:200]}); your instructor will look at it."


# --- the whole submission, then the batch -----------------------------------------------------------------------

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
        if cell.source == source or (_read_only(cell) and cell.source.strip()
                                     and cell.source.strip().splitlines()[0] == first_line):
            return index
    return None


def _read_only(cell):
    """A test or locked cell: nbgrader runs the release's version of it, whatever the student wrote."""
    return nbgrader_utils.is_grade(cell) or nbgrader_utils.is_locked(cell)


def answer_before(notebook, index):
    """The index of the last answer (solution) cell before cell `index`, or None."""
    return next((i for i in range(index - 1, -1, -1) if nbgrader_utils.is_solution(notebook.cells[i])
                 and notebook.cells[i].cell_type == "code"), None)


def cell_to_skip(notebook, killer):
    """(index of the cell to skip or None, a sentence for the student) after cell `killer` killed the kernel.

    A read-only or test cell cannot be skipped (nbgrader restores it), so the answer it runs, the answer cell
    before it, is.
    """
    label = _label(notebook.cells[killer], killer)
    crash = "(e.g. os._exit() or a crash inside a compiled library)"
    if not _read_only(notebook.cells[killer]):
        return killer, f"{label} stopped the Python kernel {crash}, so it was skipped and your notebook was graded again without it."
    answer = answer_before(notebook, killer)
    if answer is None:
        return None, f"The Python kernel died while running {label}: the code it runs crashed Python itself {crash}."
    return answer, (f"The Python kernel died while running {label}: your answer in "
                    f"{_label(notebook.cells[answer], answer)} crashed Python itself {crash}. That answer was skipped "
                    "and your notebook was graded again without it.")


def skip_cell(cell):
    """Comment out a cell that killed the kernel, saying why."""
    cell.source = ("# [grading] This cell stopped the Python kernel, so it was skipped. It was:\n"
                   + "\n".join(f"# {line}" for line in cell.source.splitlines()))


def grade_submission(course, student, assignment, *, timeout, memory_gb, budget, isolate=True,
                     helpers=provide_helpers, hide=()):
    """Repair, grade in a sandbox and report one submission; return (sandbox or None, report).

    `isolate=False` runs the plain kernel even where bubblewrap works (the report then carries the warning).
    `helpers(course, assignment, lib)` puts the assignment's bn_course into lib and says which (a Dask worker
    receives them from the instructor's machine); `hide`: more folders the kernel must not see.
    """
    notebook, report = read_submission(course, student, assignment)
    report.update(timeout=timeout, memory_gb=memory_gb)
    if notebook is None:
        return None, report
    start = time.perf_counter()
    top = build_sandbox(course, student, assignment, notebook)
    report["helpers"] = helpers(course, assignment, top / "lib")
    process_limit = None
    problem = isolation_problem() if isolate else "turned off with --no-sandbox"
    if problem is None:
        process_limit = create_process_limit(top.name)
        kernel_options = isolate_kernel(course, top, student, assignment, process_limit, hide)
        report["sandbox"] = f"bubblewrap, at most {MAX_PROCESSES} processes" if process_limit else \
            "bubblewrap, WITHOUT a process limit (no writable cgroup pids controller)"
    else:
        kernel_options = []
        report["sandbox"] = UNISOLATED_WARNING.format(reason=problem)
    try:
        status, log = grade_until_done(top, notebook, report, student, assignment, start=start, timeout=timeout,
                                       memory_gb=memory_gb, budget=budget, kernel_options=kernel_options)
        if process_limit is not None and refused_processes(process_limit):
            report["problems"].append(TOO_MANY_PROCESSES)
    finally:
        remove_process_limit(process_limit)
    report.update(status=status, seconds=round(time.perf_counter() - start, 1))
    graded = top / "course" / "autograded" / student / assignment / f"{assignment}.ipynb"
    if graded.exists():
        report["problems"] += problems_in(nbformat.read(graded, as_version=4), timeout=timeout, memory_gb=memory_gb)
    if status != "ok":
        report["problems"].insert(0, grading_failure(status, log, budget))
        report["log"] = log[-5000:]
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
        report["problems"].append(sentence)
        if skipped is None:
            break
        skip_cell(notebook.cells[skipped])
        nbformat.write(notebook, top / "course" / "submitted" / student / assignment / f"{assignment}.ipynb")
        progress_file(top).unlink()
        status, log = run()
    return status, log


NOTHING_RECORDED = ("Grading stopped before any result of your notebook was recorded, so this assignment scored 0 "
                    "for now; your instructor will look at it.")


def collect(course, student, assignment, top, report):
    """Merge one graded sandbox into the course (gradebook, autograded/ folder, report); remove the sandbox."""
    course = Path(course)
    target_url = f"sqlite:///{course / 'gradebook.db'}"
    if top is None:
        record_missing(target_url, assignment, student)
    else:
        try:
            merge_submission(f"sqlite:///{top / 'gradebook.db'}", target_url, assignment, student)
        except MissingEntry:  # nbgrader was stopped before it recorded the submission (e.g. killed at start-up)
            record_missing(target_url, assignment, student)
            report["problems"].append(NOTHING_RECORDED)
        destination = course / "autograded" / student / assignment
        shutil.rmtree(destination, ignore_errors=True)
        graded = top / "course" / "autograded" / student / assignment
        if graded.exists():
            shutil.copytree(graded, destination)
            # the kernel could change its folder: the exchange's files come from the collected submission
            copy_kept_files(course / "submitted" / student / assignment, destination)
        shutil.rmtree(top, ignore_errors=True)
    write_report(course, student, assignment, report)


def autograde(course, assignment_ids=None, *, jobs=1, timeout=None, memory_gb=DEFAULT_MEMORY_GB, budget=DEFAULT_BUDGET,
              isolate=True, scheduler=None, allow_unsandboxed=False):
    """Grade every submission of the given (default: all released) assignments; return the reports.

    Each submission is one Dask task (grading/distributed_grading.py): on a LocalCluster of `jobs` worker
    processes, or on the workers of the running cluster at `scheduler` (tcp://host:8786, tls://...), which refuse
    to grade without a working sandbox unless `allow_unsandboxed`. `isolate`: run kernels in bubblewrap where it
    works (grading/sandbox.py). Never raises for one submission: a failed task is reported for it.
    """
    from grading.distributed_grading import grade_course  # Dask takes a second to import: only when grading

    course = Path(course).resolve()
    timeout = timeout or configured_timeout(course)
    work = [(student, assignment) for assignment in (assignment_ids or assignments(course))
            for student in submissions(course, assignment)]
    if work:
        grade_course(course, work, limits=dict(timeout=timeout, memory_gb=memory_gb, budget=budget, isolate=isolate),
                     scheduler=scheduler, jobs=jobs, require_sandbox=scheduler is not None and not allow_unsandboxed)
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
    args = parser.parse_args(argv)
    if args.scheduler and args.no_sandbox and not args.allow_unsandboxed:
        parser.error("--no-sandbox on a cluster's workers also needs --allow-unsandboxed")
    from grading.distributed_grading import SandboxRefused

    start = time.perf_counter()
    try:
        reports = autograde(args.course, args.assignments, jobs=args.jobs, timeout=args.timeout,
                            memory_gb=args.memory_gb, budget=args.budget, isolate=not args.no_sandbox,
                            scheduler=args.scheduler, allow_unsandboxed=args.allow_unsandboxed)
    except SandboxRefused as refusal:
        sys.exit(f"Nothing was graded: {refusal}")
    for report in reports:
        if report.get("sandbox", "").startswith("WARNING"):
            print(f"{report['assignment']} {report['student']}: {report['sandbox']}", file=sys.stderr)
        status = "missing" if report["missing"] else report["status"]
        print(f"{report['assignment']:16} {report['student']:24} {status:12} {report.get('seconds', 0):7.1f} s  "
              f"{len(report['repairs'])} repair(s), {len(report['problems'])} problem(s)")
    where = f"the workers of {args.scheduler}" if args.scheduler else f"{args.jobs} job(s)"
    print(f"{len(reports)} submission(s) graded in {time.perf_counter() - start:.1f} s with {where}")
    failed = [report for report in reports if report.get("status") == "error"]
    for report in failed:
        print(f"NOT GRADED {report['assignment']} {report['student']}: {report['problems'][0]}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} submission(s) could not be graded and score 0 for now (their files are untouched in "
              "submitted/): run `make autograde` again for them.", file=sys.stderr)


if __name__ == "__main__":
    main()
