"""The Python floor of pyproject.toml matches what the pins of requirements.txt need, and the tools follow it."""

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
#: Pinned packages whose own Requires-Python the floor must satisfy (numpy to keras need 3.11).
FLOOR_SETTERS = ("numpy", "scipy", "pandas", "matplotlib", "scikit-learn", "keras", "tensorflow")


def floor() -> Version:
    """The lowest Python that ``requires-python`` allows (it must be a plain ``>=X.Y``)."""
    match = re.fullmatch(r">=\s*(\d+\.\d+)", PYPROJECT["project"]["requires-python"].strip())
    assert match, f"requires-python should read '>=X.Y'. Received: {PYPROJECT['project']['requires-python']!r}"
    return Version(match[1])


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if match := re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip()):
            found[match[1].lower()] = match[2]
    return found


def test_the_floor_is_3_11_and_ruff_targets_it():
    assert floor() >= Version("3.11")
    assert PYPROJECT["tool"]["ruff"]["target-version"] == f"py{floor().major}{floor().minor}"


@pytest.mark.parametrize("package", FLOOR_SETTERS)
def test_each_pin_runs_on_the_floor(package):
    pinned = pins()[package]
    installed = importlib.metadata.version(package)
    if installed != pinned:
        pytest.skip(f"{package} {installed} is installed, not the pinned {pinned}: its metadata says nothing of it")
    needs = SpecifierSet(importlib.metadata.metadata(package)["Requires-Python"] or "")
    assert needs.contains(str(floor())), f"{package}=={pinned} needs Python {needs}; requires-python allows {floor()}"


def test_the_requirements_header_names_a_python_the_floor_allows():
    header = re.search(r"resolved for\s+#?\s*Linux and Python (\d+\.\d+)", (ROOT / "requirements.txt").read_text())
    assert header and Version(header[1]) >= floor()


def test_make_requirements_installs_a_pinned_uv():
    makefile = (ROOT / "Makefile").read_text()
    installs = re.findall(r"pip install[^\n]*\buv\b\S*", makefile)
    assert installs and all(re.search(r"\buv==\d+(\.\d+)+", line) for line in installs), installs
