"""`make lab` started for a test: the README's command on a free loopback port, with a token, stopped after."""
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from course import ROOT


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
def running_lab(workdir, *, target="lab", settings=None, startup_timeout=240):
    """Run `make <target>` (`lab`: the student JupyterLab on notebooks/; `lab-instructor`: the full one) until the
    block ends; yield (base URL, token).

    - workdir: a temporary folder for JupyterLab's runtime, config and user settings.
    - settings: {"@jupyterlab/<extension>:<plugin>": {setting: value}} written as JupyterLab user settings
      (e.g. autosave off, so that a test never writes into notebooks/).
    Raises AssertionError if JupyterLab exits or does not answer within `startup_timeout` seconds.
    """
    port, token = free_loopback_port(), secrets.token_hex(16)
    settings_dir = workdir / "user-settings"
    for plugin, values in (settings or {}).items():
        extension, name = plugin.split(":")
        path = settings_dir / extension / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    # The README's command itself; --allow-root is the Makefile's business (these machines run as root).
    command = ["make", "--no-print-directory", target, f"PORT={port}",
               f"LAB_ARGS=--no-browser --ip=127.0.0.1 --IdentityProvider.token={token}"]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(workdir), JUPYTER_CONFIG_DIR=str(workdir / "config"),
               JUPYTERLAB_SETTINGS_DIR=str(settings_dir))
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        status = None
        while status != 200:
            assert server.poll() is None, f"JupyterLab exited:\n{server.stderr.read()}"
            assert time.monotonic() < deadline, f"JupyterLab did not answer within {startup_timeout} s"
            try:
                status, _ = get(f"{base}/api/status", token, timeout=2)
            except OSError:
                time.sleep(0.5)
        yield base, token
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
