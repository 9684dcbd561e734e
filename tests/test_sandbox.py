"""The grading kernel's sandbox (grading/sandbox.py), checked on plain processes in seconds, without nbgrader.

Each test starts a Python process with the sandbox's own bwrap command and checks what it can and cannot
reach. Where bubblewrap is missing or cannot create namespaces (macOS, AppArmor-restricted Ubuntu, a container
without user namespaces) the tests are skipped with the reason, and grading warns in every report instead
(test_grading_tools.py checks that warning). The fork-bomb test runs only after the process limit itself was
verified on this machine.
"""
import subprocess
import sys
import textwrap

import pytest

from course import ROOT
from grading import sandbox

pytestmark = pytest.mark.skipif(sandbox.isolation_problem() is not None,
                                reason=f"no sandbox here: {sandbox.isolation_problem()}")


@pytest.fixture
def folders(tmp_path):
    named = {name: tmp_path / name for name in ("work", "scratch", "lib", "runtime", "course")}
    for folder in named.values():
        folder.mkdir()
    (named["course"] / "gradebook.db").write_text("hidden tests")
    return named


def run_sandboxed(folders, code, process_limit=None):
    """Run `code` in the sandbox a grading kernel gets; return the CompletedProcess."""
    command = sandbox.bwrap_command(hide=[folders["course"]], working_dir=folders["work"], scratch=folders["scratch"],
                                    lib=folders["lib"], runtime=folders["runtime"],
                                    kernel=[sys.executable, "-c", textwrap.dedent(code)])
    if process_limit is not None:
        command = sandbox.entering(process_limit, command)
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_kernel_sees_its_folders_and_the_python_environment(folders):
    result = run_sandboxed(folders, f"""
        import os, numpy
        open("answer.txt", "w").write("mine")
        open({str(folders["scratch"] / "cache")!r}, "w").write("scratch")
        print(os.getcwd())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(folders["work"])
    assert (folders["work"] / "answer.txt").read_text() == "mine"


@pytest.mark.parametrize("path", ["course/gradebook.db", "REPO/solutions", "REPO/gradebook.db", "REPO/helpers"])
def test_the_course_and_the_gradebook_are_out_of_sight(folders, path):
    path = path.replace("course/", f"{folders['course']}/").replace("REPO", str(ROOT))
    result = run_sandboxed(folders, f"import os; print(os.path.exists({path!r}))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False", f"{path} is visible from the sandbox"


def test_the_python_environment_is_read_only(folders):
    result = run_sandboxed(folders, f"open({sys.prefix + '/student-was-here'!r}, 'w')")
    assert "Read-only file system" in result.stderr


def test_the_temporary_and_home_folders_are_empty_and_read_only(folders):
    result = run_sandboxed(folders, """
        import os, tempfile
        print(os.listdir(os.path.expanduser("~")))
        open("/tmp/x", "w")
    """)
    assert "Read-only file system" in result.stderr


def test_there_is_no_network(folders):
    result = run_sandboxed(folders, "import socket; socket.create_connection(('1.1.1.1', 53), timeout=5)")
    assert "Network is unreachable" in result.stderr


FORK_UNTIL_REFUSED = """
    import os, time
    started = 0
    try:
        while True:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            started += 1
    except BlockingIOError:
        print(started)
"""


@pytest.fixture
def process_limit():
    group = sandbox.create_process_limit(f"grading-test-{id(object())}", limit=16)
    if group is None:
        pytest.skip("no writable cgroup pids controller here: grading runs kernels without a process limit")
    yield group
    sandbox.remove_process_limit(group)


def test_the_process_limit_is_verified_then_stops_a_fork_bomb(folders, process_limit):
    assert (process_limit / "pids.max").read_text().strip() == "16"
    result = run_sandboxed(folders, FORK_UNTIL_REFUSED, process_limit)
    assert result.returncode == 0, result.stderr
    assert 0 < int(result.stdout) < 16
    sandbox.remove_process_limit(process_limit)
    assert not process_limit.exists(), "the fork bomb's leftovers were not all killed"
