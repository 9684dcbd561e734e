"""What the grading sandbox (grading/sandbox.py) costs per submission, measured side by side (not a test).

    python benchmarks/bench_sandbox.py [--pairs 8] [--submissions 0] [--assignment 01-theory]

1. Kernel pairs: a kernel is started, runs `import numpy`, and is shut down, through nbclient, once with the
   plain kernelspec over TCP and once with the sandbox's kernelspec over ipc (bubblewrap, cgroup, kernelspec
   written each time, as grading does per submission). The two alternate, so load from other jobs hits both.
   What differs between a sandboxed and a plain grading is exactly this start-up; the notebook's cells run
   the same code in both.
2. Submission pairs (--submissions N): the complete solution of --assignment graded by `grading.autograde`
   with and without the sandbox, alternating, N times each (minutes each under load: noisy, but end to end).

Prints the medians, their difference and ratio, and `uptime` before and after (timings on a shared machine).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the tests' course and submission builders

from grading import sandbox  # noqa: E402

PROBE = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy")])


def run_kernel(isolated):
    """Seconds to start a kernel, run PROBE and shut the kernel down."""
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as top:
        top = Path(top)
        folders = {name: top / name for name in ("work", "scratch", "lib", "runtime", "jupyter")}
        for folder in folders.values():
            folder.mkdir()
        os.environ["IPYTHONDIR"] = str(folders["scratch"] / "ipython")  # a fresh profile both ways, as in grading
        start = time.perf_counter()
        manager, limit = {"kernel_name": "python3"}, None
        if isolated:
            limit = sandbox.create_process_limit(top.name)
            sandbox.write_kernelspec(folders["jupyter"], hide=[top], working_dir=folders["work"],
                                     scratch=folders["scratch"], lib=folders["lib"], runtime=folders["runtime"],
                                     process_limit=limit)
            # what grading passes to nbgrader as --KernelManager.* options
            manager = {"kernel_name": sandbox.KERNEL_NAME, "transport": "ipc", "ip": str(folders["runtime"] / "kernel"),
                       "connection_file": str(folders["runtime"] / "kernel.json")}
            os.environ["JUPYTER_PATH"] = str(folders["jupyter"])
        try:
            client = NotebookClient(nbformat.from_dict(PROBE), km=AsyncKernelManager(**manager), timeout=120,
                                    resources={"metadata": {"path": str(folders["work"])}})
            client.execute()
            # nbclient does not wait for the kernel's processes to exit; grading removes the cgroup only after
            # nbgrader (which does wait) has exited, so waiting for them here is not part of the cost
            return time.perf_counter() - start
        finally:
            os.environ.pop("JUPYTER_PATH", None)
            sandbox.remove_process_limit(limit)


def grade_once(isolated, assignment, released):
    from course import fresh_course, submit
    from grading.autograde import autograde
    from submissions import completed

    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as top:
        course = fresh_course(released, Path(top) / "course")
        submit(course, "complete", assignment, completed(assignment, root=course))
        start = time.perf_counter()
        (report,) = autograde(course, [assignment], isolate=isolated)
        assert report.status == "ok", report
        return time.perf_counter() - start


def released_course(assignment, folder):
    from course import copy_course, nbgrader

    course = copy_course(Path(folder) / "released")
    nbgrader(course, "generate_assignment", assignment, "--force")
    return course


def summary(label, plain, isolated):
    p, i = statistics.median(plain), statistics.median(isolated)
    differences = sorted(b - a for a, b in zip(plain, isolated))
    print(f"{label}: plain median {p:.2f} s, sandboxed median {i:.2f} s; paired difference median "
          f"{statistics.median(differences):+.2f} s (range {differences[0]:+.2f} .. {differences[-1]:+.2f}), "
          f"ratio {i / p:.3f}; n = {len(plain)} pairs")


def measure_pairs(count, run):
    plain, isolated = [], []
    for index in range(count):
        for flag in ((False, True) if index % 2 == 0 else (True, False)):  # alternate which goes first
            (isolated if flag else plain).append(run(flag))
    return plain, isolated


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8, help="kernel start-ups, each way")
    parser.add_argument("--submissions", type=int, default=0, help="whole gradings, each way")
    parser.add_argument("--assignment", default="01-theory")
    args = parser.parse_args()
    problem = sandbox.isolation_problem()
    if problem:
        sys.exit(f"no sandbox on this machine: {problem}")
    print("uptime before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"bubblewrap {subprocess.run(['bwrap', '--version'], capture_output=True, text=True).stdout.strip()}, "
          f"process limit: {sandbox.pids_cgroup_root() or 'none'}, {os.cpu_count()} cores")
    summary("kernel start + import numpy + shutdown", *measure_pairs(args.pairs, run_kernel))
    if args.submissions:
        with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as folder:
            released = released_course(args.assignment, folder)
            summary(f"grading the complete {args.assignment}",
                    *measure_pairs(args.submissions, lambda flag: grade_once(flag, args.assignment, released)))
    print("uptime after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
