"""The pins: requirements.txt, environment.yml and constraints.txt agree, and the venv has them."""
import re
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from course import ROOT

PIN = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-]+\s*==[^#]+)")


def requirements(lines):
    """The `name==version ; marker` lines of a requirements file or environment.yml, as Requirements."""
    return [Requirement(match.group(1).strip()) for line in lines if (match := PIN.match(line))]


def pins(lines):
    """{(canonical name, marker or ''): version} of the exact pins in `lines`."""
    found = {}
    for requirement in requirements(lines):
        (version,) = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        found[canonicalize_name(requirement.name), str(requirement.marker or "")] = version
    return found


def requirement_pins():
    return pins((ROOT / "requirements.txt").read_text().splitlines())


def test_every_requirement_is_pinned_exactly():
    lines = [line.split("#", 1)[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    loose = [line for line in lines if line and "==" not in line]
    assert not loose, f"unpinned requirements: {loose}"


def test_the_pin_parser_reads_markers():
    parsed = pins(['tensorflow==2.21.0 ; sys_platform != "linux"', "      - keras==3.15.1", "# numpy==1"])
    assert parsed == {("tensorflow", 'sys_platform != "linux"'): "2.21.0", ("keras", ""): "3.15.1"}


def test_environment_yml_matches_requirements():
    conda = pins((ROOT / "environment.yml").read_text().splitlines())
    assert conda == requirement_pins(), "environment.yml and requirements.txt pin different versions"


def test_constraints_agree_with_requirements():
    # uv writes markers in its own spelling: compare names and versions, one version per name.
    locked = {name: version for (name, _), version in pins((ROOT / "constraints.txt").read_text().splitlines()).items()}
    disagreements = {name: (version, locked.get(name)) for (name, _), version in requirement_pins().items()
                     if locked.get(name) != version}
    assert not disagreements, f"constraints.txt disagrees with requirements.txt (run `make lock`): {disagreements}"


def test_lock_covers_every_supported_platform():
    lock = (ROOT / "constraints.txt").read_text()
    locked = {canonicalize_name(requirement.name) for requirement in requirements(lock.splitlines())}
    assert {"tensorflow", "tensorflow-cpu", "colorama", "appnope"} <= locked, (
        "constraints.txt must be the universal lock (Windows needs colorama, macOS appnope): run `make lock`")


@pytest.mark.parametrize("name, marker, version", sorted((*key, version) for key, version in requirement_pins().items()))
def test_installed_version_is_the_pinned_one(name, marker, version):
    if marker and not Requirement(f"{name}=={version} ; {marker}").marker.evaluate():
        pytest.skip(f"{name} is for another platform ({marker})")
    assert metadata.version(name) == version
