"""The package's layering, as pyproject.toml's import-linter contract states it, holds and is enforced."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    # PYTHONPATH: the copy's package, not the editable install of this checkout.
    return subprocess.run([str(LINT_IMPORTS), "--config", str(project / "pyproject.toml"), "--no-cache"],
                          cwd=project, capture_output=True, text=True, timeout=120,
                          env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(project)})


def test_the_layers_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "labwork6", tmp_path / "labwork6", ignore=shutil.ignore_patterns("__pycache__"))
    metrics = tmp_path / "labwork6" / "metrics.py"
    metrics.write_text(metrics.read_text() + "\n\ndef _late():\n    from labwork6 import train  # noqa: F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "labwork6.metrics -> labwork6.train" in result.stdout
