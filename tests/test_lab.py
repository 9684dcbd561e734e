"""`make lab` serves the course: JupyterLab starts from the venv, lists the notebooks over HTTP, and stops."""
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request

from course import ASSIGNMENTS, ROOT


def free_loopback_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url, token, timeout=2):
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def test_jupyterlab_lists_the_course_notebooks(tmp_path):
    port, token = free_loopback_port(), secrets.token_hex(16)
    # The README's command itself; --allow-root is the Makefile's business (these machines run as root).
    command = ["make", "--no-print-directory", "lab", f"PORT={port}", f"LAB_ARGS=--no-browser --ip=127.0.0.1 --IdentityProvider.token={token}"]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline, listing = time.monotonic() + 90, None
        while listing is None and time.monotonic() < deadline:
            assert server.poll() is None, f"JupyterLab exited:\n{server.stderr.read()}"
            try:
                listing = get_json(f"http://127.0.0.1:{port}/api/contents", token)
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer within 90 s"
        folders = sorted(item["name"] for item in listing["content"] if item["type"] == "directory")
        assert folders == ASSIGNMENTS
        notebook = get_json(f"http://127.0.0.1:{port}/api/contents/{ASSIGNMENTS[0]}/{ASSIGNMENTS[0]}.ipynb", token)
        assert notebook["type"] == "notebook" and notebook["content"]["cells"]
        lab_page = urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=5)
        assert lab_page.status == 200 and b"JupyterLab" in lab_page.read()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert server.returncode is not None
