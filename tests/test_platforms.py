"""Every laptop: the lock (constraints.txt) installs on each supported platform, checked with pip itself.

pip evaluates environment markers for the machine it runs on, even with `--platform`, so each platform's
pins are selected here from the lock with that platform's marker values (`packaging.markers`), then pip
resolves them against the registry with that platform's wheel tags, binary wheels only, in dry-run mode:
a missing wheel or an inconsistent pin fails the test. Full lane: it needs the package registry.
"""
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

from course import ROOT

pytestmark = pytest.mark.full

# The lock is for CPython 3.11.5 or later 3.11 (soupsieve 4.1.3, one of nbconvert's pins, needs 3.11.5).
PYTHON_VERSION = "3.11.9"
PYTHON = {"python_version": "3.11", "python_full_version": PYTHON_VERSION, "implementation_name": "cpython",
          "platform_python_implementation": "CPython"}


def manylinux(machine):
    """The manylinux tags a glibc 2.35 machine (Ubuntu 22.04, Debian 12 has 2.36) accepts, newest first."""
    return [f"manylinux_2_{minor}_{machine}" for minor in range(35, 16, -1)] + [f"manylinux2014_{machine}"]


def macos_arm64():
    """The tags of macOS 14 on Apple silicon: native arm64 wheels and the universal2 ones."""
    native = [f"macosx_{major}_0_{arch}" for major in (14, 13, 12, 11) for arch in ("arm64", "universal2")]
    return native + [f"macosx_10_{minor}_universal2" for minor in range(16, 8, -1)]


PLATFORMS = {
    "linux-x86_64": (dict(PYTHON, sys_platform="linux", platform_system="Linux", os_name="posix",
                          platform_machine="x86_64"), manylinux("x86_64")),
    "linux-aarch64": (dict(PYTHON, sys_platform="linux", platform_system="Linux", os_name="posix",
                           platform_machine="aarch64"), manylinux("aarch64")),
    "macos-arm64": (dict(PYTHON, sys_platform="darwin", platform_system="Darwin", os_name="posix",
                         platform_machine="arm64"), macos_arm64()),
    "windows-x86_64": (dict(PYTHON, sys_platform="win32", platform_system="Windows", os_name="nt",
                            platform_machine="AMD64"), ["win_amd64"]),
}


def locked_requirements(path):
    """The requirements of a pip requirements file (comments and options skipped), as packaging Requirements."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def pins_for(environment, path):
    """`name==version` for each requirement of `path` whose marker holds in `environment` (markers dropped)."""
    return [f"{requirement.name}{requirement.specifier}" for requirement in locked_requirements(path)
            if requirement.marker is None or requirement.marker.evaluate(environment)]


def pip_dry_run(tmp_path, tags, *arguments):
    platforms = [option for tag in tags for option in ("--platform", tag)]
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--disable-pip-version-check",
               "--ignore-installed", "--target", str(tmp_path / "target"), "--only-binary=:all:",
               "--python-version", PYTHON_VERSION, "--implementation", "cp", "--abi", "cp311", *platforms, *arguments]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    # The machine's pip configuration may name local indexes that do not exist: pip's warnings about them
    # would bury the error.
    result.stderr = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("WARNING: Location"))
    return result


def test_every_platform_has_tensorflow_from_the_lock():
    tensorflow = {name: [pin for pin in pins_for(environment, ROOT / "requirements.txt") if pin.startswith("tensorflow")]
                  for name, (environment, _) in PLATFORMS.items()}
    assert all(len(pins) == 1 for pins in tensorflow.values()), tensorflow


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_lock_installs_on_platform(platform, tmp_path):
    environment, tags = PLATFORMS[platform]
    pins = tmp_path / "pins.txt"
    pins.write_text("\n".join(pins_for(environment, ROOT / "constraints.txt")) + "\n")
    top_level = tmp_path / "requirements.txt"
    top_level.write_text("\n".join(pins_for(environment, ROOT / "requirements.txt")) + "\n")
    # Every locked package of this platform has a wheel for it...
    wheels = pip_dry_run(tmp_path, tags, "--no-deps", "-r", str(pins))
    assert wheels.returncode == 0, f"{platform}: a locked package has no wheel for {tags[:2]}...:\n{wheels.stderr}"
    # ... and the top-level requirements resolve within the lock (markers of dependencies are evaluated by
    # pip for this machine, so this step checks versions, the previous one the platform's own packages).
    resolved = pip_dry_run(tmp_path, tags, "-r", str(top_level), "-c", str(pins))
    assert resolved.returncode == 0, f"{platform}: the requirements do not resolve within the lock:\n{resolved.stderr}"
