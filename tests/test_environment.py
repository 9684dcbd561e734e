"""The pins: requirements.txt, environment.yml and constraints.txt agree, and the venv has them."""
import re
from importlib import metadata

import pytest

from course import ROOT


def _pins(lines):
    pins = {}
    for line in lines:
        match = re.match(r"^\s*(?:-\s*)?([A-Za-z0-9_.\-]+)==([^\s#]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def requirement_pins():
    return _pins((ROOT / "requirements.txt").read_text().splitlines())


def test_every_requirement_is_pinned_exactly():
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    packages = [line for line in lines if line and not line.startswith("#")]
    loose = [line for line in packages if "==" not in line]
    assert not loose, f"unpinned requirements: {loose}"


def test_environment_yml_matches_requirements():
    conda = _pins((ROOT / "environment.yml").read_text().splitlines())
    assert conda == requirement_pins(), "environment.yml and requirements.txt pin different versions"


def test_constraints_agree_with_requirements():
    constraints = _pins((ROOT / "constraints.txt").read_text().splitlines())
    disagreements = {
        name: (version, constraints.get(name))
        for name, version in requirement_pins().items()
        if constraints.get(name) != version
    }
    assert not disagreements, f"constraints.txt disagrees with requirements.txt: {disagreements}"


@pytest.mark.parametrize("name, version", sorted(requirement_pins().items()))
def test_installed_version_is_the_pinned_one(name, version):
    assert metadata.version(name) == version
