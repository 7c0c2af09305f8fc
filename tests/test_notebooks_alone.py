"""Each numbered notebook is one sitting and runs without the notebooks before it (a fresh clone
with no runs/, or for 05 only the runs 06 trained alone), the way a user or Colab opens it.

The fast tests read the committed notebooks: their size, the slides' formulas typeset, no code
cell shared between notebooks, `fit` shown, training without progress bars. The slow one runs
plain ``jupyter nbconvert --to notebook --execute`` in the smoke profile, with the user's
environment rather than the quiet one the tests set: the notebook's own setup cell must keep
TensorFlow's C++ log out of its outputs.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labwork6.colab import SETUP_HEADING

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: One sitting, as a d2l.ai section: at most about 40 cells and 1,500 words of prose.
MAX_CELLS, MAX_WORDS = 40, 1500
#: The slides' formulas, typeset in `$$ ... $$`, and the notebook that uses each.
FORMULAS = {
    "02_building_blocks.ipynb": [
        r"\frac{H - F + 2P}{S} + 1", r"\frac{W - F + 2P}{S} + 1", r"K \, (F \cdot F \cdot D + 1)",
        r"\sigma(z)_i = \frac{e^{z_i}}{\sum_{j=1}^{K} e^{z_j}}", r"\sigma(z) = \frac{1}{1 + e^{-z}}",
        r"y_i \log \hat y_i + (1 - y_i) \log (1 - \hat y_i)",
        r"-\log \left( \frac{e^{s_p}}{\sum_{j=1}^{C} e^{s_j}} \right)", r"\max(0, z)"],
    "03_vgg19.ipynb": [r"\text{precision} = \frac{TP}{TP + FP}", r"\text{recall} = \frac{TP}{TP + FN}"],
    "04_resnet.ipynb": [r"y = \mathcal{F}(x) + x"],
    "06_comparison.ipynb": [r"\text{precision}_k = \frac{TP_k}{TP_k + FP_k}", r"\text{recall}_k", r"F_{1,k}"],
}


def _notebook(name):
    return nbformat.read(ROOT / "notebooks" / name, as_version=4)


def _cells(name, kind):
    return [cell.source for cell in _notebook(name).cells if cell.cell_type == kind]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_notebook_is_one_sitting(name):
    cells = _notebook(name).cells
    words = sum(len(source.split()) for source in _cells(name, "markdown"))
    assert len(cells) <= MAX_CELLS and words <= MAX_WORDS, (len(cells), words)


def test_the_slides_formulas_are_typeset():
    for name, formulas in FORMULAS.items():
        display = " ".join(re.findall(r"\$\$(.*?)\$\$", "\n".join(_cells(name, "markdown")), re.DOTALL))
        for formula in formulas:
            assert formula in display, (name, formula)
    for name in NOTEBOOKS:  # no formula left as plain text
        prose = "\n".join(_cells(name, "markdown"))
        assert "e^{z" not in re.sub(r"\$\$.*?\$\$|\$[^$]*\$", "", prose, flags=re.DOTALL), name


def test_no_two_notebooks_share_a_code_cell_of_more_than_three_lines():
    seen = {}
    for name in NOTEBOOKS:
        for source in _cells(name, "code"):
            if source.startswith(SETUP_HEADING) or len(source.strip().splitlines()) <= 3:
                continue  # the setup cell is colab.py's, the same in every notebook by design
            assert source not in seen, f"{name} repeats a cell of {seen.get(source)}:\n{source}"
            seen[source] = name


def test_fit_is_shown_and_training_prints_lines_not_progress_bars():
    code = "\n".join(_cells("03_vgg19.ipynb", "code"))
    assert "inspect.getsource" in code and all(name in code for name in ("compile_model", "fit_model"))
    prose = "\n".join(_cells("03_vgg19.ipynb", "markdown"))
    assert "make_pipeline" in prose and all(callback in prose for callback in ("BestModel", "BackupEachEpoch"))
    for name in NOTEBOOKS:
        for source in _cells(name, "code"):
            for call in re.findall(r"\btrain\((?:[^()]|\([^()]*\))*\)", source, re.DOTALL):
                assert re.search(r"verbose=[02]", call), (name, call)


def _output_text(notebook) -> str:
    """Everything a reader sees below the cells: streams, plain-text results, errors."""
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.append(output.get("data", {}).get("text/plain", ""))
            texts.extend(output.get("traceback", []))
    return "\n".join(texts)


#: 03 and 04 are left out: each trains its own network from nothing and reads no other notebook's runs,
#: so the pipeline's run of them (tests/test_pipeline.py, where no run of that network exists yet) is
#: already this test; running them again cost ~115 s of CI. 06 and 05 read both networks' runs: 06
#: runs alone in a fresh clone and trains every missing run (`train_missing`); 05 then runs in that
#: clone, on the runs 06 trained and nothing else of 01-04 (its own alone case calls the same
#: `train_missing`, so training the same four runs again would test nothing new, for ~75 s of CI).
ALONE = ["01_data_standardization.ipynb", "02_building_blocks.ipynb", "06_comparison.ipynb", "05_feature_maps.ipynb"]


def test_the_alone_list_names_notebooks():
    assert set(ALONE) <= set(NOTEBOOKS) and {name[:2] for name in NOTEBOOKS} - {name[:2] for name in ALONE} == {
        "03", "04"}


def _clone(folder: Path) -> Path:
    clone = folder / "labwork6"
    if not clone.exists():
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        assert not (clone / "runs").exists()
    return clone


@pytest.fixture(scope="module")
def comparison_clone(tmp_path_factory):
    """The clone 06 runs alone in, and 05 after it."""
    return _clone(tmp_path_factory.mktemp("alone"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ALONE)
def test_notebook_runs_without_the_notebooks_before_it(name, tmp_path, request, tensorflow_log_lines):
    clone = request.getfixturevalue("comparison_clone") if name[:2] in ("05", "06") else _clone(tmp_path)
    if name.startswith("06"):
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
