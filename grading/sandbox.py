"""The sandbox of one submission: a small temporary course of its own, and its kernel isolated in bubblewrap.

`build_sandbox` lays out the course that nbgrader grades the one submission in: the configuration, the release's
data files, this one (repaired) notebook, the assignment's gradebook and the kernel's start-up file
(grading/kernel_startup.py); `memory_limited` and `kill_sandbox_processes` bound what its processes may use and
outlive. Its kernel is ipykernel inside bubblewrap (`bwrap`), started by nbgrader through a kernelspec.

What a grading kernel sees, when bubblewrap works on this machine:

- the system and the Python environment read-only (`%pip install` / `%pip uninstall` cannot change them);
- no network (its own empty network namespace);
- no course directory, gradebook, solutions, temporary folder or home directory: those are replaced by empty
  in-memory folders, and only what this one submission needs is mounted back: the notebook's working folder
  and a scratch folder (writable), the helpers copy (read-only), and the folder of the kernel's connection file;
- at most MAX_PROCESSES processes and threads (a cgroup `pids.max`: root ignores RLIMIT_NPROC, even in a user
  namespace), so a fork bomb stops itself instead of the machine.

Mechanics (measured with nbgrader 0.9.6): nbgrader ignores `Execute.kernel_manager_class`, so the sandbox is a
kernelspec whose argv wraps ipykernel in bwrap, selected by `--Execute.kernel_name`; the kernel's TCP sockets
would be cut off by the empty network namespace, so nbgrader talks to it over Unix sockets (the `ipc`
transport) in the shared connection-file folder; the kernelspec asks for interrupts as messages, which reach
ipykernel through that socket whatever the process tree between the two.

Where bwrap is missing or does not work (macOS, AppArmor-restricted Ubuntu), `isolation_problem()` says why
and grading runs the plain kernel, with that warning in every report.

    python -m grading.sandbox --check      # prints whether kernels are isolated here, and how
"""
import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import matplotlib
import nbformat
import psutil

from grading import kernel_startup
from grading.course import (autograded_folder, copy_kept_files, gradebook_file, release_folder,
                            submitted_folder)

KERNEL_NAME = "grading-sandbox"
SANDBOX_SOURCE = "source"  # the sandbox's source folder (--CourseDirectory.source_directory): the release's data files
# Processes and threads of one kernel. A TensorFlow kernel of this course uses 27 on 2 cores (measured with
# pids.current; TensorFlow's thread pools grow with the cores); a fork bomb keeps this many busy until its
# cell's time-out, so the limit is kept low.
MAX_PROCESSES = 64 + 4 * (os.cpu_count() or 1)
# Folders hidden from every kernel (replaced by empty tmpfs): where courses, sandboxes and people's files live.
HIDDEN_FOLDERS = ("/tmp", "/var/tmp", "/home", "/root", "/mnt", "/media", "/srv", "/run")
CGROUP_PIDS_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))  # cgroup v1 controller, then v2
UNISOLATED_WARNING = ("WARNING: this submission was graded WITHOUT isolation ({reason}): its kernel could read the "
                      "course directory and the gradebook, use the network and change the Python environment. "
                      "Install bubblewrap (apt-get install bubblewrap) and run `python -m grading.sandbox --check`.")


def bwrap():
    """The path of the bwrap program, or None."""
    return shutil.which("bwrap")


@functools.cache
def isolation_problem():
    """None when bwrap can start an isolated process here, else a short reason (for the loud warning)."""
    if bwrap() is None:
        return "bubblewrap (bwrap) is not installed"
    probe = subprocess.run([bwrap(), *namespace_options(), "--ro-bind", "/", "/", "--", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bwrap is installed but cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return None


def namespace_options():
    """New user, pid, network, IPC, UTS and cgroup namespaces; the kernel dies with nbgrader.

    No --new-session: nbgrader runs without a controlling terminal (its own session), so there is no terminal
    to inject into, and staying in jupyter_client's process group lets a kill of that group reach the kernel.
    """
    return ["--unshare-all", "--die-with-parent"]


# --- the process limit (cgroup pids.max) ------------------------------------------------------------------------

@functools.cache
def pids_cgroup_root():
    """A cgroup folder with the pids controller in which this process may create child groups, or None."""
    for root in CGROUP_PIDS_ROOTS:
        probe = root / f"grading-probe-{os.getpid()}-{threading.get_ident()}"  # grading threads may probe at once
        try:
            probe.mkdir()
        except OSError:  # no such controller, or not ours to change (not root, a container's read-only cgroupfs)
            continue
        limited = (probe / "pids.max").exists()  # cgroup v2 only has it where "pids" is in subtree_control
        probe.rmdir()
        if limited:
            return root
    return None


def _read(path):
    try:
        return path.read_text()
    except OSError:
        return ""


def create_process_limit(name, limit=MAX_PROCESSES):
    """A new cgroup `name` whose pids.max is `limit`, read back to verify it; its folder, or None if impossible."""
    root = pids_cgroup_root()
    if root is None:
        return None
    group = root / name
    group.mkdir(exist_ok=True)
    (group / "pids.max").write_text(str(limit))
    if _read(group / "pids.max").strip() != str(limit):
        remove_process_limit(group)
        return None
    return group


def refused_processes(group):
    """How many times cgroup `group` refused a new process or thread because of its limit (pids.events)."""
    events = dict(line.split() for line in _read(Path(group) / "pids.events").splitlines() if len(line.split()) == 2)
    return int(events.get("max", 0))


def remove_process_limit(group):
    """Kill whatever still runs in cgroup `group` (a fork bomb's leftovers) and remove the group."""
    if group is None or not group.exists():
        return
    for _ in range(10):  # a fork bomb may add processes while the first ones are killed
        pids = [int(pid) for pid in _read(group / "cgroup.procs").split()]
        if not pids:
            break
        for process in _existing(pids):
            process.kill()
        psutil.wait_procs(_existing(pids), timeout=2)
    try:
        group.rmdir()
    except OSError:
        pass  # still busy: the kernel's processes are gone from the grading, the empty group is harmless


def _existing(pids):
    processes = []
    for pid in pids:
        try:
            processes.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            continue
    return processes


def entering(group, command):
    """`command` run after moving itself into cgroup `group` (and so everything it starts).

    A shell, not Python: it writes its own pid, then becomes `command` (same process), in a millisecond.
    """
    return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(group), *command]


# --- the kernelspec ------------------------------------------------------------------------------------------------

def bwrap_command(*, hide, working_dir, scratch, lib, runtime, kernel):
    """bwrap's argv around `kernel`: the system read-only; HIDDEN_FOLDERS, the temporary folder, the home folder
    and the folders `hide` (the course) empty; then the Python environment, `lib` (read-only) and the working
    folders (writable) mounted back."""
    hidden = {*HIDDEN_FOLDERS, tempfile.gettempdir(), str(Path.home()), *map(str, hide), *environment_neighbours()}
    visible_read_only = {sys.prefix, sys.base_prefix, str(lib)}
    command = [bwrap(), *namespace_options(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for folder in sorted(hidden):
        if Path(folder).is_dir():
            command += ["--tmpfs", folder]
    for folder in sorted(visible_read_only):
        command += ["--ro-bind", folder, folder]
    for folder in (scratch, runtime, working_dir):
        command += ["--bind", str(folder), str(folder)]
    for folder in sorted(hidden):  # last: mount points for the folders above had to be created in them first
        if Path(folder).is_dir():
            command += ["--remount-ro", folder]  # an in-memory folder the kernel could fill is no scratch space
    return [*command, "--chdir", str(working_dir), "--", *kernel]


def environment_neighbours():
    """The folder that holds the Python environment and the one that holds `grading`: usually the course
    repository itself (.venv/ inside it, grading/ installed editable from it), hidden unless it is `/`."""
    package_parent = Path(__file__).resolve().parents[1]
    return {str(folder) for folder in (Path(sys.prefix).parent, package_parent) if folder != Path("/")}


def write_kernelspec(jupyter_dir, *, hide, working_dir, scratch, lib, runtime, process_limit):
    """Write the KERNEL_NAME kernelspec under `jupyter_dir`/kernels (a JUPYTER_PATH entry); return its argv.

    `hide`: folders to hide besides HIDDEN_FOLDERS (the course and the sandbox, wherever they lie);
    `process_limit`: a cgroup from `create_process_limit`, or None for no limit.
    """
    # In its own pid namespace the kernel's parent is bwrap's pid 1, which ipykernel's parent poller takes for
    # "nbgrader has exited": the poller is turned off; --die-with-parent does its job.
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--IPKernelApp.parent_handle=0"]
    argv = bwrap_command(hide=hide, working_dir=working_dir, scratch=scratch, lib=lib, runtime=runtime, kernel=kernel)
    if process_limit is not None:
        argv = entering(process_limit, argv)
    # Libraries that keep caches in the home or temporary folder (Matplotlib, Keras) find the scratch folder;
    # Matplotlib finds the grader's font list there instead of rebuilding it for every submission.
    matplotlib_dir = Path(scratch) / "matplotlib"
    matplotlib_dir.mkdir(exist_ok=True)
    for font_list in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
        shutil.copy2(font_list, matplotlib_dir / font_list.name)
    scratch_env = {"HOME": str(scratch), "TMPDIR": str(scratch), "MPLCONFIGDIR": str(matplotlib_dir)}
    spec = {"argv": argv, "env": scratch_env, "display_name": "Python 3 (grading sandbox)", "language": "python",
            "interrupt_mode": "message"}
    folder = Path(jupyter_dir) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return argv


# --- one submission's sandbox: a small course of its own --------------------------------------------------------

def build_sandbox(course, student, assignment, notebook):
    """A temporary course for one submission; return its top folder (the course is <top>/course)."""
    course = Path(course)
    top = Path(tempfile.mkdtemp(prefix="grading-"))
    box = top / "course"
    (box / SANDBOX_SOURCE / assignment).mkdir(parents=True)
    shutil.copy2(course / "nbgrader_config.py", box / "nbgrader_config.py")
    for path in release_folder(course, assignment).iterdir():  # data files of the release, no notebooks
        if path.is_file() and path.suffix != ".ipynb":
            shutil.copy2(path, box / SANDBOX_SOURCE / assignment / path.name)
    folder = submitted_folder(box, student, assignment)
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / f"{assignment}.ipynb")
    copy_kept_files(submitted_folder(course, student, assignment), folder)
    shutil.copy2(gradebook_file(course), top / "gradebook.db")
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
    """Write the sandbox's bwrap kernelspec (write_kernelspec); return nbgrader's options to use it.

    `hide`: more folders the kernel must not see (the instructor's course, when grading a copy of it)."""
    write_kernelspec(top / "jupyter", hide=[course, top, *hide], lib=top / "lib", runtime=top / "runtime",
                     scratch=scratch(top), working_dir=autograded_folder(top / "course", student, assignment),
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


def main(argv=None):
    parser = argparse.ArgumentParser(description="Say whether grading kernels are isolated here, and how.")
    parser.add_argument("--check", action="store_true", help="(the default) check bubblewrap and the process limit")
    parser.parse_args(argv)
    problem = isolation_problem()
    print(f"bubblewrap: {bwrap() or 'not installed'}; isolation: {'works' if problem is None else problem}")
    print(f"process limit (cgroup pids.max): {pids_cgroup_root() or 'not available'}")
    sys.exit(0 if problem is None else 1)


if __name__ == "__main__":
    main()
