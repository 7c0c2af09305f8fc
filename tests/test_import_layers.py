"""The package's layering, as pyproject.toml's import-linter contracts state it, holds and is enforced."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONTRACTS = 5


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    # PYTHONPATH: the copy's package, not the editable install of this checkout.
    return subprocess.run([str(LINT_IMPORTS), str(project / "pyproject.toml"), "--no-cache"],
                          cwd=project, capture_output=True, text=True, timeout=120,
                          env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(project)})


def test_the_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{CONTRACTS} kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module, added, broken", [
    # an upward import: the layers
    ("metrics.py", "from labwork6 import train", ["labwork6.metrics -> labwork6.train"]),
    # a circle inside a subpackage that no layers contract orders: facts imports summary
    ("models/summary.py", "from labwork6.models import facts",
     ["no import circles between the modules of any package BROKEN", "- .summary -> .facts"]),
    # a circle inside labwork6.data (the one splitting had): its layers and the no-circle contract
    ("data/core.py", "from labwork6.data import splits",
     ["no import circles between the modules of any package BROKEN", "labwork6.data.core -> labwork6.data.splits"]),
    # data code does not plot
    ("data/images.py", "import matplotlib", ["data code does not plot BROKEN", "labwork6.data.images -> matplotlib"]),
])
def test_a_broken_rule_breaks_a_contract(tmp_path, module, added, broken):
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "labwork6", tmp_path / "labwork6", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "labwork6" / module
    path.write_text(path.read_text() + f"\n\ndef _late():\n    {added}  # noqa: F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout
    for text in broken:
        assert text in result.stdout, text
