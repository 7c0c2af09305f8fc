"""Each numbered notebook runs alone in a fresh clone with no runs/, the way a user or CI runs it.

Plain ``jupyter nbconvert --to notebook --execute`` in the smoke profile, one notebook per
clone, with the user's environment rather than the quiet one the tests set: the notebook's own
setup cell must keep TensorFlow's C++ log out of its outputs.
"""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _output_text(notebook) -> str:
    """Everything a reader sees below the cells: streams, plain-text results, errors."""
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.append(output.get("data", {}).get("text/plain", ""))
            texts.extend(output.get("traceback", []))
    return "\n".join(texts)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_alone_in_a_fresh_clone(name, tmp_path, tensorflow_log_lines):
    clone = tmp_path / "labwork6"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    assert not (clone / "runs").exists()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TF_CPP", "GRPC_", "LABWORK6_", "MPLBACKEND"))}
    # The clone's package, not this checkout's editable install.
    env.update(LABWORK6_PROFILE="smoke", PYTHONPATH=str(clone))
    executed = tmp_path / "executed"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
         f"notebooks/{name}", "--output-dir", str(executed), "--ExecutePreprocessor.timeout=1800"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=2400)
    assert result.returncode == 0, result.stderr[-4000:]
    text = _output_text(nbformat.read(executed / name, as_version=4))
    assert [line for line in tensorflow_log_lines if line in text] == [], text[:4000]
