"""Two JupyterLabs: `make lab` serves the student one on notebooks/ (no Formgrader, Create Assignment or Courses;
the Assignments panel stays), `make lab-instructor` the full one on the course directory. Each is started by its
make target, asked over HTTP what it serves, and stopped."""
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from course import ASSIGNMENTS, ROOT

INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list"}
STUDENT_PLUGINS = {"@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment"}


def free_loopback_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url, token, timeout=5):
    """(HTTP status, body) of a GET with the server's token; an HTTP error status is returned, not raised."""
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextlib.contextmanager
def running_lab(target, tmp_path):
    """Start `make TARGET` (the README's command itself) on a free port; yield its base URL and token."""
    port, token = free_loopback_port(), secrets.token_hex(16)
    # --allow-root is the Makefile's business (these machines run as root).
    command = ["make", "--no-print-directory", target, f"PORT={port}",
               f"LAB_ARGS=--no-browser --ip=127.0.0.1 --IdentityProvider.token={token}"]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, status = time.monotonic() + 90, None
        while status != 200 and time.monotonic() < deadline:
            assert server.poll() is None, f"JupyterLab exited:\n{server.stderr.read()}"
            try:
                status, _ = get(f"{base}/api/status", token, timeout=2)
            except OSError:
                time.sleep(0.5)
        assert status == 200, "JupyterLab did not answer within 90 s"
        yield base, token
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def disabled_plugins(base, token):
    """The lab extensions the /lab page tells the browser to leave off (its page config)."""
    status, page = get(f"{base}/lab", token)
    assert status == 200 and b"JupyterLab" in page
    config = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
    return set(json.loads(config.group(1))["disabledExtensions"])


def listed_folders(base, token, path=""):
    status, listing = get(f"{base}/api/contents/{path}", token)
    assert status == 200
    return sorted(item["name"] for item in json.loads(listing)["content"] if item["type"] == "directory")


def test_make_lab_is_the_student_jupyterlab(tmp_path):
    with running_lab("lab", tmp_path) as (base, token):
        assert listed_folders(base, token) == ASSIGNMENTS
        status, notebook = get(f"{base}/api/contents/{ASSIGNMENTS[0]}/{ASSIGNMENTS[0]}.ipynb", token)
        assert status == 200 and json.loads(notebook)["content"]["cells"]
        disabled = disabled_plugins(base, token)
        assert INSTRUCTOR_PLUGINS <= disabled and not STUDENT_PLUGINS & disabled, disabled
        assert get(f"{base}/formgrader", token)[0] == 404, "the formgrader server extension is on"
        # The Assignments panel's server side answers (400: it wants a course and an action).
        assert get(f"{base}/assignments", token)[0] != 404, "the assignment list server extension is off"


def test_make_lab_instructor_has_every_nbgrader_panel(tmp_path):
    with running_lab("lab-instructor", tmp_path) as (base, token):
        assert {"solutions", "notebooks"} <= set(listed_folders(base, token))
        assert not (INSTRUCTOR_PLUGINS | STUDENT_PLUGINS) & disabled_plugins(base, token)
        assert get(f"{base}/formgrader", token)[0] == 200, "formgrader does not answer"
