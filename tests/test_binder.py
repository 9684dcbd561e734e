"""Binder: what mybinder.org would build from the student edition, read from repo2docker itself.

repo2docker (the tool behind mybinder.org) writes, with `--no-build --debug`, the Dockerfile it would build,
without Docker. `make test-binder` installs it into its own venv (tests/binder-requirements.txt) and runs these
tests with REPO2DOCKER pointing at it; `make test` and the pytest part of `make test-full` leave them out
(marker `binder`). The checks: the conda build pack with Python 3.11, the repository copied *before*
`environment.yml` is installed (its pip section refers to constraints.txt and ./helpers, files of the
repository: repo2docker must not install it from the file alone), and the start script that opens the student
JupyterLab.
"""
import os
import re
import subprocess

import pytest
import yaml

from test_publish import edition, publish, released_copy  # noqa: F401 (fixtures)

pytestmark = pytest.mark.binder


@pytest.fixture(scope="module")
def dockerfile(edition):  # noqa: F811 (the fixture imported above)
    repo2docker = os.environ.get("REPO2DOCKER")
    if not repo2docker:
        pytest.fail("REPO2DOCKER is not set: run these tests with `make test-binder`, which installs repo2docker")
    result = subprocess.run([repo2docker, "--no-build", "--debug", str(edition)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def test_binder_builds_the_conda_environment_with_python_3_11(dockerfile):
    assert "Building conda environment for python=3.11" in dockerfile, dockerfile[:2000]


def test_the_repository_is_copied_before_environment_yml_is_installed(dockerfile, edition):  # noqa: F811
    copied = dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    installed = dockerfile.index('env update -p ${NB_PYTHON_PREFIX} --file "environment.yml"')
    assert copied < installed, "environment.yml would be installed before the files it refers to are copied"
    pip = next(item["pip"] for item in yaml.safe_load((edition / "environment.yml").read_text())["dependencies"]
               if isinstance(item, dict))
    local = [re.split(r"\s+", line, maxsplit=1)[1] for line in pip if line.startswith(("-c ", "-e "))]
    assert local and all((edition / path).exists() for path in local), local


def test_the_start_script_opens_the_student_jupyterlab(dockerfile, edition):  # noqa: F811
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/start"' in dockerfile
    shown = subprocess.run([str(edition / "start"), "sh", "-c", "echo $JUPYTER_CONFIG_PATH"], capture_output=True,
                           text=True, check=True, env=dict(os.environ, REPO_DIR=str(edition))).stdout.split(":")[0]
    assert shown.strip() == f"{edition}/jupyter/student"
    page_config = (edition / "jupyter" / "student" / "labconfig" / "page_config.json").read_text()
    assert '"@jupyter/nbgrader:formgrader": true' in page_config
