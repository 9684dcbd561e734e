"""Two JupyterLabs: `make lab` serves the student one on notebooks/ (no Formgrader, Create Assignment or Courses;
the Assignments panel stays), `make lab-instructor` the full one on the course directory. Each is started by its
make target, asked over HTTP what it serves, and stopped."""
import json
import re

from course import ASSIGNMENTS
from lab_server import get, running_lab

INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list"}
STUDENT_PLUGINS = {"@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment"}


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
    with running_lab(tmp_path, target="lab") as (base, token):
        assert listed_folders(base, token) == ASSIGNMENTS
        status, notebook = get(f"{base}/api/contents/{ASSIGNMENTS[0]}/{ASSIGNMENTS[0]}.ipynb", token)
        assert status == 200 and json.loads(notebook)["content"]["cells"]
        disabled = disabled_plugins(base, token)
        assert INSTRUCTOR_PLUGINS <= disabled and not STUDENT_PLUGINS & disabled, disabled
        assert get(f"{base}/formgrader", token)[0] == 404, "the formgrader server extension is on"
        # The Assignments panel's server side answers (400: it wants a course and an action).
        assert get(f"{base}/assignments", token)[0] != 404, "the assignment list server extension is off"


def test_make_lab_instructor_has_every_nbgrader_panel(tmp_path):
    with running_lab(tmp_path, target="lab-instructor") as (base, token):
        assert {"solutions", "notebooks"} <= set(listed_folders(base, token))
        assert not (INSTRUCTOR_PLUGINS | STUDENT_PLUGINS) & disabled_plugins(base, token)
        assert get(f"{base}/formgrader", token)[0] == 200, "formgrader does not answer"
