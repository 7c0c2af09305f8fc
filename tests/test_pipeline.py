"""The main job end to end in the smoke profile: notebooks 01-06 executed in order, then the PDF.

Also: notebook parameters have the same effect set through the environment, ``pipeline -p``
and ``papermill -p``.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from labwork6.cli import main
from labwork6.comparison import model_label
from labwork6.latex import percent_decimals
from labwork6.notebook_files import numbered_notebooks
from labwork6.pipeline import NotebookFailed, execute_notebook, parameter_value, run_pipeline

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _tracked(folder: str) -> list[Path]:
    names = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True).stdout.split()
    return [ROOT / name for name in names] or sorted((ROOT / folder).rglob("*"))


@pytest.fixture(scope="module")
def smoke_project(tmp_path_factory):
    """A copy of the committed notebooks and report sources, run through the whole pipeline."""
    root = tmp_path_factory.mktemp("project")
    for folder in ("notebooks", "report"):
        for source in _tracked(folder):
            if source.is_file():
                target = root / source.relative_to(ROOT)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    lines = []
    pdf = run_pipeline("smoke", root=root, log=lambda line, **_: lines.append(line))
    return root, pdf, lines


def test_notebooks_are_numbered_01_to_06():
    names = [p.name for p in numbered_notebooks(ROOT / "notebooks")]
    assert names == ["01_data_standardization.ipynb", "02_building_blocks.ipynb", "03_vgg19.ipynb", "04_resnet.ipynb",
                     "05_feature_maps.ipynb", "06_comparison.ipynb"]


def test_pipeline_executes_every_notebook_and_builds_the_pdf(smoke_project):
    root, pdf, lines = smoke_project
    assert pdf == root / "report" / "Report.6.CNN.pdf" and pdf.stat().st_size > 10_000
    assert pdf.read_bytes().startswith(b"%PDF")
    executed = sorted((root / "build" / "notebooks" / "smoke").glob("*.ipynb"))
    assert [p.name for p in executed] == [p.name for p in numbered_notebooks(root / "notebooks")]
    # One progress line when each step starts and one when it ends, with its duration.
    assert sum("done in" in line for line in lines) == len(executed)
    assert any("Main job (smoke) finished in" in line for line in lines)
    # One line per epoch of every run streamed from the kernels, with the time left.
    epochs = [line for line in lines if ": epoch 1/" in line and "left" in line]
    assert any("digits-vgg19_bn-seed0-fold1of2" in line for line in epochs)
    assert any("digits-resnet19-seed0-fold0of2" in line for line in epochs)
    # The clean notebooks were not touched.
    for notebook in (root / "notebooks").glob("*.ipynb"):
        assert '"outputs": []' in notebook.read_text() or '"execution_count": null' in notebook.read_text()


def _pooled_predictions(root: Path, model: str) -> pd.DataFrame:
    """Every fold's predictions.csv of a model's seed-0 runs, one row per test image, by image id."""
    folders = sorted((root / "runs" / "smoke").glob(f"digits-{model}-seed0-fold*"))
    assert folders, model
    return pd.concat([pd.read_csv(folder / "predictions.csv") for folder in folders]).set_index("image").sort_index()


def test_report_numbers_come_from_the_run_folders(smoke_project):
    """Named macros of numbers.tex against what the run folders hold, computed here from their files."""
    from scipy.stats import binomtest

    root, _, _ = smoke_project
    text = (root / "report" / "generated" / "numbers.tex").read_text()
    macros = dict(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}", text))
    vgg, resnet, svc = (_pooled_predictions(root, model) for model in ("vgg19_bn", "resnet19", "svc"))
    assert vgg.index.equals(resnet.index) and vgg.index.equals(svc.index)  # the same images, each once
    images = len(vgg)
    decimals = percent_decimals(images)
    assert macros["NumTest"] == f"{images:,}" and macros["ErrorTestImages"] == str(images)
    for name, frame in (("Vgg", vgg), ("Res", resnet), ("Svc", svc)):
        right = int((frame["prediction"] == frame["label"]).sum())
        interval = binomtest(right, images).proportion_ci(method="wilson")
        assert macros[f"{name}AccuracyText"] == (
            f"{100 * right / images:.{decimals}f}\\% (95\\% interval {100 * interval.low:.{decimals}f}–"
            f"{100 * interval.high:.{decimals}f}\\%; {right} of {images} images)"), name
        assert macros[f"{name}ErrorCount"] == str(images - right)
    vgg_right, res_right = vgg["prediction"] == vgg["label"], resnet["prediction"] == resnet["label"]
    only_vgg, only_res = int((vgg_right & ~res_right).sum()), int((res_right & ~vgg_right).sum())
    assert f"{only_vgg + only_res} discordant image" in macros["VerdictVggRes"]
    assert f"({only_vgg} against {only_res};" in macros["VerdictVggRes"]
    shared = int((~vgg_right & ~res_right).sum())
    assert macros["SharedErrorText"].startswith(f"The two networks share {shared} error" if shared else
                                                "The two networks share no error")
    config = json.loads(next((root / "runs" / "smoke").glob("digits-vgg19_bn-seed0-fold0of*/config.json")).read_text())
    assert f"{config['parameters']['total']:,}" in (root / "report" / "generated" / "comparison_cost.tex").read_text()
    # convergence: the runs whose kept epoch is their last one, read from metrics.json and history.csv
    for model in ("vgg19_bn", "resnet19"):
        folders = sorted((root / "runs" / "smoke").glob(f"digits-{model}-seed*-fold*"))
        kept = sum(json.loads((folder / "metrics.json").read_text())["best_epoch"]
                   == len(pd.read_csv(folder / "history.csv")) for folder in folders)
        assert f"{model_label(model)} kept its last epoch's weights in {kept} of {len(folders)} runs" \
            in macros["ConvergenceText"]
    assert "\\VggBlocksAgreetrue" in text and "\\ResBlocksAgreetrue" in text


def test_report_pdf_layout(smoke_project):
    """The smoke report: its body within report.BODY_PAGES (8-10 pages, as the default report's), nothing
    sticking out 10 pt or more, no table shrunk under 8.5 pt, every figure there, drawn no wider than the
    text (so its 8 pt stay 8 pt), no undefined reference."""
    from labwork6.report import layout_problems

    root, _, _ = smoke_project
    report_dir = root / "report"
    assert layout_problems(report_dir) == []
    text = (report_dir / "generated" / "numbers.tex").read_text()
    figures = re.findall(r"\\newcommand\{\\[A-Za-z]+Figure\}\{(.*)\}", text)
    assert len(figures) >= 10 and "n/a" not in figures  # the smoke runs give every figure
    for figure in figures:
        assert (report_dir / figure).exists(), figure


def test_every_image_of_the_smoke_set_has_one_test_prediction_per_model(smoke_project):
    import numpy as np
    import pandas as pd

    from labwork6.data import load_dataset
    from labwork6.profiles import get_profile

    root, _, _ = smoke_project
    profile = get_profile("smoke")
    folds, seed = profile["folds"], profile["seeds"][0]
    # the smoke set: the images the folds are drawn from (every split of fold 0 together)
    whole = load_dataset(profile["dataset"], seed=seed, folds=folds, fold=0, max_images=profile["subsample"])
    expected = np.sort(np.concatenate([part.ids for part in whole.splits.values()]))
    for model in (*profile["models"], "svc"):
        ids = np.concatenate([pd.read_csv(root / "runs" / "smoke" / f"digits-{model}-seed{seed}-fold{fold}of{folds}"
                                          / "predictions.csv")["image"].to_numpy() for fold in range(folds)])
        assert len(ids) == len(expected) and np.array_equal(np.sort(ids), expected), model


def test_a_failing_cell_names_the_notebook_and_the_cell(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# demo"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError('broken on purpose')"),
    ])
    path = tmp_path / "07_broken.ipynb"
    nbformat.write(notebook, path)
    with pytest.raises(NotebookFailed) as error:
        execute_notebook(path, tmp_path / "out" / path.name)
    message = str(error.value)
    assert "07_broken.ipynb" in message and "cell #2" in message and "broken on purpose" in message
    assert (tmp_path / "out" / path.name).exists()  # the executed copy shows the error


PARAMETERS_CELL = """\
import os

EPOCHS = int(os.environ.get("LABWORK6_EPOCHS", "1"))
DATASET = os.environ.get("LABWORK6_DATASET", "digits")
"""


@pytest.fixture
def parameterised_notebook(tmp_path):
    """A notebook like ours: a `parameters` cell with defaults from the environment, then a cell using them."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 09 · parameters"),
        nbformat.v4.new_code_cell(PARAMETERS_CELL, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('print(f"EPOCHS={EPOCHS!r} DATASET={DATASET!r}")'),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = tmp_path / "notebooks" / "09_parameters.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook, path)
    return path


def _printed(path) -> str:
    return "".join(output.get("text", "") for output in nbformat.read(path, as_version=4).cells[-1].outputs)


def test_a_parameter_has_the_same_effect_through_env_pipeline_and_papermill(parameterised_notebook, tmp_path,
                                                                            monkeypatch):
    out = tmp_path / "out"
    execute_notebook(parameterised_notebook, out / "default.ipynb")
    assert _printed(out / "default.ipynb") == "EPOCHS=1 DATASET='digits'\n"

    execute_notebook(parameterised_notebook, out / "env.ipynb",
                     env={"LABWORK6_EPOCHS": "3", "LABWORK6_DATASET": "faces"})
    papermill = subprocess.run([sys.executable, "-m", "papermill", str(parameterised_notebook),
                                str(out / "papermill.ipynb"), "-p", "EPOCHS", "3", "-p", "DATASET", "faces"],
                               capture_output=True, text=True, timeout=300)
    assert papermill.returncode == 0, papermill.stderr
    monkeypatch.chdir(tmp_path)  # the pipeline's project folder: notebooks/ here, executed copies in build/
    assert main(["pipeline", "--profile", "smoke", "--no-report", "--notebooks", str(parameterised_notebook),
                 "-p", "EPOCHS", "3", "-p", "DATASET", "faces"]) == 0
    pipeline = tmp_path / "build" / "notebooks" / "smoke" / parameterised_notebook.name

    expected = "EPOCHS=3 DATASET='faces'\n"
    assert _printed(out / "env.ipynb") == _printed(out / "papermill.ipynb") == _printed(pipeline) == expected
    # The same injected cell, in the same place: after the one tagged `parameters`.
    injected = [nbformat.read(path, as_version=4).cells[2] for path in (out / "papermill.ipynb", pipeline)]
    assert [cell.metadata.tags for cell in injected] == [["injected-parameters"]] * 2
    assert injected[0].source == injected[1].source


@pytest.mark.parametrize("text", ["3", "-2", "0.5", "1e-3", "True", "False", "None", "faces", "3,4", ""])
def test_parameter_values_are_read_as_papermill_reads_them(text):
    from papermill.cli import _resolve_type

    value = parameter_value(text)
    assert value == _resolve_type(text) and type(value) is type(_resolve_type(text))
