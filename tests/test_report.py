"""The report's generated tables and numbers equal those in the run folders.

A fixture writes fake run folders (2 models x 2 seeds, known metrics and timings) in the
documented format, without training; ``write_report_inputs`` turns them into the report's
inputs once per module (fitting the SVC baseline runs next to them), and the tests read the
numbers back from the generated files.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labwork6 import baseline, latex, report, report_numbers
from labwork6.comparison import SVC_LABEL, load_runs
from labwork6.data import load_dataset
from labwork6.models import count_parameters, get_model, layer_table
from labwork6.models import facts as model_facts

PROFILE = "smoke"
CLASS_NAMES = [str(i) for i in range(10)]
SUBSAMPLE = 60
WIDTH = 0.125
#: model -> seed -> (accuracy, precision, recall, f1, train_seconds, best_epoch)
KNOWN = {
    "vgg19": {0: (0.90, 0.91, 0.89, 0.895, 100.0, 3), 1: (0.80, 0.81, 0.79, 0.795, 120.0, 2)},
    "resnet19": {0: (0.95, 0.96, 0.94, 0.945, 300.0, 3), 1: (0.85, 0.86, 0.84, 0.845, 340.0, 1)},
}
#: Each family's input as labwork6.train chooses it for 8x8 digits (min_image_size: VGG 32, ResNet 16).
INPUT_SHAPES = {"vgg19": (32, 32, 1), "resnet19": (16, 16, 1)}
RAW_SHAPE = (8, 8, 1)
#: The normalisation statistics the fake runs record.
CHANNEL_MEAN, CHANNEL_STD = 0.3, 0.32
#: What reference_counts returns in the tests (building VGG19 at 224x224 takes seconds).
FAKE_REFERENCE = {
    "vgg19": {"parameters": {"trainable": 143_667_240, "non_trainable": 0, "total": 143_667_240},
              "multiply_adds": 19_632_062_464, "conv": 16, "projection": 0, "dense": 3, "pool": 5,
              "weight_layers": 19},
    "resnet50": {"parameters": {"trainable": 25_557_032, "non_trainable": 53_120, "total": 25_610_152},
                 "multiply_adds": 4_089_184_256, "conv": 49, "projection": 4, "dense": 1, "pool": 1,
                 "weight_layers": 50},
}


def _per_class(seed_offset: float) -> dict:
    return {name: {"precision": round(0.5 + 0.05 * i + seed_offset, 4), "recall": round(0.6 + 0.03 * i, 4),
                   "f1": round(0.55 + 0.04 * i + seed_offset, 4), "support": 6}
            for i, name in enumerate(CLASS_NAMES)}


def write_fake_run(root: Path, model: str, seed: int) -> Path:
    """One completed run folder in the format of labwork6.train (no training)."""
    accuracy, precision, recall, f1, seconds, best = KNOWN[model][seed]
    run_dir = root / PROFILE / f"digits-{model}-seed{seed}"
    run_dir.mkdir(parents=True)
    input_shape = INPUT_SHAPES[model]
    network = get_model(model, input_shape=input_shape, num_classes=10, width=WIDTH,
                        **({"head": "compact"} if model.startswith("vgg") else {}))
    config = {
        "model": model, "dataset": "digits", "profile": PROFILE, "seed": seed, "optimizer": "adamw",
        "learning_rate": 0.001, "weight_decay": 0.0001, "warmup_fraction": 0.05, "label_smoothing": 0.1,
        "batch_size": 32, "epochs": 3, "image_size": None, "min_image_size": input_shape[0],
        "model_options": {"head": "compact"} if model.startswith("vgg") else {}, "width": WIDTH,
        "precision": "float32", "subsample": SUBSAMPLE, "channels": None, "augment": True, "status": "completed",
        "resolved_precision": "float32", "input_shape": list(input_shape), "raw_input_shape": list(RAW_SHAPE),
        "num_classes": 10, "class_names": CLASS_NAMES, "counts": {"train": 60, "val": 60, "test": 60},
        "normalization": {"mean": [CHANNEL_MEAN], "std": [CHANNEL_STD], "num_images": 60,
                          "fitted_on": "train split only"},
        "parameters": count_parameters(network),
        "multiply_adds": int(layer_table(network).iloc[-1]["multiply_adds"]),
        "versions": {"labwork6": "0.1.0", "python": "3.11", "tensorflow": "2.21.0", "keras": "3.15.1",
                     "scikit-learn": "1.9.1"},
        "hardware": {"machine": "x86_64", "processor": "Test CPU", "cpu_count": 2, "gpus": []},
        "epochs_run": 3,
    }
    (run_dir / "config.json").write_text(json.dumps(config))
    metrics = {"accuracy": accuracy, "precision": precision, "recall": recall, "f1": f1,
               "weighted": {"precision": precision, "recall": recall, "f1": f1},
               "per_class": _per_class(0.01 * seed), "num_test": 60, "best_epoch": best}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    timing = {"train_seconds": seconds, "epochs_run": 3, "seconds_per_epoch": seconds / 3,
              "inference_latency_ms": 2.0 + seed, "inference_throughput": 1000.0 * (seed + 1)}
    (run_dir / "timing.json").write_text(json.dumps(timing))
    pd.DataFrame({"epoch": [1, 2, 3], "loss": [2.0, 1.0, 0.5], "accuracy": [0.3, 0.6, 0.8],
                  "val_loss": [2.1, 1.2, 0.7], "val_accuracy": [0.25, 0.55, accuracy],
                  "learning_rate": [1e-3, 5e-4, 1e-5]}).to_csv(run_dir / "history.csv", index=False)
    # The test labels of the real split, so that the SVC baseline is checked on the same images.
    labels = load_dataset("digits", seed=seed).subsample(SUBSAMPLE, seed=seed).test.labels
    pd.DataFrame({"index": np.arange(len(labels)), "label": labels, "prediction": labels}).to_csv(
        run_dir / "predictions.csv", index=False)
    matrix = pd.DataFrame(np.diag([6] * 10), index=pd.Index(CLASS_NAMES, name="true"),
                          columns=pd.Index(CLASS_NAMES, name="predicted"))
    matrix.to_csv(run_dir / "confusion_matrix.csv")
    return run_dir


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Fake runs, then the report inputs written from them (once for the module)."""
    root = tmp_path_factory.mktemp("report")
    for model in KNOWN:
        for seed in KNOWN[model]:
            write_fake_run(root / "runs", model, seed)
    patch = pytest.MonkeyPatch()
    patch.setattr(model_facts, "reference_counts", lambda name: FAKE_REFERENCE[name])
    try:
        written = report.write_report_inputs(root / "runs", PROFILE, root / "report" / "generated",
                                             root / "report" / "figures")
    finally:
        patch.undo()
    return root, written


def _stats(model: str, index: int) -> tuple[float, float]:
    values = [KNOWN[model][seed][index] for seed in KNOWN[model]]
    return float(np.mean(values)), float(np.std(values, ddof=1))


def _tex_row(path: Path, first_cell: str) -> list[str]:
    for line in path.read_text().splitlines():
        cells = [cell.strip() for cell in line.rstrip("\\ ").split("&")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in {path}")


def _macros(path: Path) -> dict[str, str]:
    return dict(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}", path.read_text()))


def test_writes_every_input(generated):
    root, written = generated
    out = root / "report" / "generated"
    assert {stem for stem, _ in report.TABLES} >= {"comparison_cost", "comparison_metrics", "architecture"}
    for stem, _ in report.TABLES:  # both families have runs: every table is written
        for suffix in ("tex", "csv", "md"):
            assert out / f"{stem}.{suffix}" in written, f"{stem}.{suffix} not written"
    assert (out / "numbers.tex").exists()
    figures = root / "report" / "figures"
    for name in ("training_curves.png", "training_curves.pdf", "confusion_vgg19.png", "confusion_resnet19.png"):
        assert (figures / name).stat().st_size > 1000
    for stem in ("comparison_metrics", "architecture", "per_class"):
        text = (out / f"{stem}.tex").read_text()
        assert "\\toprule" in text and "\\midrule" in text and "\\bottomrule" in text  # booktabs
    assert "block1\\_conv1" in (out / "architecture.tex").read_text()  # names escaped
    markdown = (out / "comparison_cost.md").read_text().splitlines()
    assert markdown[0].startswith("| Model | Size Input | Size Parameters |")  # two header rows joined
    assert markdown[2].startswith("| VGG19 | 32×32×1 | ")


def test_metrics_table_equals_run_folders(generated):
    root, _ = generated
    out = root / "report" / "generated"
    table = pd.read_csv(out / "comparison_metrics.csv", index_col=0)  # the unrounded comparison
    for model, label in (("vgg19", "VGG19"), ("resnet19", "ResNet19")):
        assert table.at[label, "n"] == 2
        for index, key in enumerate(("accuracy", "precision", "recall", "f1")):
            mean, std = _stats(model, index)
            assert table.at[label, f"{key}_mean"] == pytest.approx(mean)
            assert table.at[label, f"{key}_std"] == pytest.approx(std)
        row = _tex_row(out / "comparison_metrics.tex", label)
        for index in range(4):
            mean, std = _stats(model, index)
            assert row[2 + index] == f"{100 * mean:.2f} $\\pm$ {100 * std:.2f}"
        mean, std = _stats(model, 4)
        assert table.at[label, "train_seconds_mean"] == pytest.approx(mean)
        cost = _tex_row(out / "comparison_cost.tex", label)
        assert f"{mean:.1f} $\\pm$ {std:.1f}" in cost
        config = json.loads((root / "runs" / PROFILE / f"digits-{model}-seed0" / "config.json").read_text())
        assert f"{config['parameters']['total']:,}" in cost


def test_svc_baseline_runs_are_run_folders(generated):
    root, _ = generated
    out = root / "report" / "generated"
    folders = [root / "runs" / PROFILE / f"digits-svc-seed{seed}" for seed in (0, 1)]
    accuracies = []
    for seed, folder in enumerate(folders):
        for name in baseline.BASELINE_FILES:
            assert (folder / name).exists(), name
        config = json.loads((folder / "config.json").read_text())
        assert config["model"] == "svc" and config["status"] == "completed" and config["seed"] == seed
        assert config["subsample"] == SUBSAMPLE and config["raw_input_shape"] == list(RAW_SHAPE)
        assert config["fit_images"] == 120  # train + validation of the subsampled split
        # the same test images as the network runs of that seed
        theirs = pd.read_csv(root / "runs" / PROFILE / f"digits-vgg19-seed{seed}" / "predictions.csv")
        ours = pd.read_csv(folder / "predictions.csv")
        assert (ours["label"] == theirs["label"]).all()
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["accuracy"] == pytest.approx((ours["label"] == ours["prediction"]).mean())
        accuracies.append(metrics["accuracy"])
    row = _tex_row(out / "comparison_metrics.tex", SVC_LABEL)
    assert row[2] == f"{100 * np.mean(accuracies):.2f} $\\pm$ {100 * np.std(accuracies, ddof=1):.2f}"
    assert 50 < 100 * np.mean(accuracies) <= 100
    # the network runs of a profile leave the baseline out; the report reads it with load_run
    assert "svc" not in {run["config"]["model"] for run in load_runs(root / "runs", PROFILE)}


def test_svc_baseline_is_reused_unless_its_configuration_changes(generated):
    root, _ = generated
    runs = load_runs(root / "runs", PROFILE)
    folder = root / "runs" / PROFILE / "digits-svc-seed0"
    before = (folder / "timing.json").read_text()
    assert baseline.ensure_baselines(runs)[0] == folder
    assert (folder / "timing.json").read_text() == before  # not fitted again
    other = root / "other" / "digits-svc-seed0"
    shutil.copytree(folder, other)
    baseline.fit_baseline("digits", 0, SUBSAMPLE, PROFILE, other, max_train=50)
    config = json.loads((other / "config.json").read_text())
    assert config["max_train"] == 50 and config["fit_images"] == 50  # fitted again on a stratified 50
    with pytest.raises(ValueError, match="max_train=1"):
        baseline.fit_baseline("digits", 0, SUBSAMPLE, PROFILE, other, max_train=1)


def test_per_class_and_runs_tables(generated):
    root, _ = generated
    out = root / "report" / "generated"
    row = _tex_row(out / "per_class.tex", "3")
    precisions = [0.5 + 0.05 * 3 + 0.01 * seed for seed in (0, 1)]
    expected = f"{100 * np.mean(precisions):.1f} $\\pm$ {100 * np.std(precisions, ddof=1):.1f}"
    assert row[1] == "6" and row[2] == expected and row[5] == expected  # support, VGG19, ResNet19
    runs = pd.read_csv(out / "runs.csv")
    for _, run in runs.iterrows():
        assert run["accuracy"] == pytest.approx(KNOWN[run["model"]][run["seed"]][0])
        assert run["best_epoch"] == KNOWN[run["model"]][run["seed"]][5]
    data = pd.read_csv(out / "data.csv", index_col=0)
    assert list(data["Images"]) == [60, 60, 60] and data.at["Test", "Per class"] == "6–6"


def test_numbers_macros(generated):
    root, _ = generated
    macros = _macros(root / "report" / "generated" / "numbers.tex")
    mean, std = _stats("vgg19", 0)
    assert macros["VggAccuracy"] == f"{100 * mean:.2f}"
    assert macros["VggAccuracyPM"] == f"{100 * mean:.2f} $\\pm$ {100 * std:.2f}"
    assert macros["ResFscore"] == f"{100 * _stats('resnet19', 3)[0]:.2f}"
    assert macros["ReportProfile"] == PROFILE
    assert macros["MoreAccurate"] == "ResNet19" and macros["AccuracyGap"] == "5.00"
    assert macros["AccuracyVerdict"].startswith("ResNet19 is the more accurate, by 5.00 percentage points")
    assert macros["VggArchWeightLayers"] == "19" and macros["ResArchWeightLayers"] == "19"
    assert macros["ArchFormulaChecks"] == "all 16"
    assert macros["RefVggParameters"] == "143,667,240" and macros["RefResMultiplyAddsG"] == "4.09"
    assert macros["BlowupWeights"] == "12,288,000"
    assert macros["EpochTimeVerdict"] == f"ResNet19 took {320 / 110:.1f} times as long as VGG19"  # s per epoch
    assert macros["VggVersusBaseline"] in ("beats", "matches", "does not beat")
    assert macros["SvcFitImages"] == "120" and macros["SvcFeatures"] == "64"
    assert macros["VggConfusionFigure"] == "figures/confusion_vgg19.png"  # a path, not escaped
    assert macros["VggGradcamFigure"] == "n/a"  # notebook 04 has not drawn it
    assert "\\SmokeProfiletrue" in (root / "report" / "generated" / "numbers.tex").read_text()


def test_standardization_is_read_from_the_config(generated):
    root, _ = generated
    macros = _macros(root / "report" / "generated" / "numbers.tex")
    assert macros["RawShape"] == "8$\\times$8$\\times$1"
    assert macros["PixelMax"] == "255" and macros["StandardizerImages"] == "60"
    assert macros["ChannelMeans"] == f"{CHANNEL_MEAN:.4f}" and macros["ChannelStds"] == f"{CHANNEL_STD:.4f}"


def test_input_shapes_and_model_facts(generated):
    root, _ = generated
    out = root / "report" / "generated"
    macros = _macros(out / "numbers.tex")
    numbers = (out / "numbers.tex").read_text()
    assert macros["VggInputShape"] == macros["InputShape"] == "32$\\times$32$\\times$1"
    assert macros["ResInputShape"] == "16$\\times$16$\\times$1"
    assert macros["VggMinImageSize"] == "32" and macros["ResMinImageSize"] == "16"
    assert macros["VggMinMap"] == "1$\\times$1" and macros["ResMinMap"] == "4$\\times$4"
    assert macros["ResDownsampling"] == "4"
    assert macros["VggKernel"] == "3$\\times$3" and macros["VggPoolSize"] == "2$\\times$2"
    for flag in ("SameInputShapefalse", "ResCostAtVggInputtrue", "VggBatchNormfalse", "VggPaperHeadfalse",
                 "VggUpscaledtrue", "ResUpscaledtrue"):
        assert f"\\{flag}" in numbers, flag
    # ResNet19 at the VGG's 32x32 input costs four times its 16x16 cost (no stem pooling)
    config = json.loads((root / "runs" / PROFILE / "digits-resnet19-seed0" / "config.json").read_text())
    at_32 = get_model("resnet19", input_shape=(32, 32, 1), num_classes=10, width=WIDTH)
    assert macros["ResMultiplyAddsAtVggInputM"] == f"{layer_table(at_32).iloc[-1]['multiply_adds'] / 1e6:.1f}"
    assert config["multiply_adds"] < layer_table(at_32).iloc[-1]["multiply_adds"]
    cost = pd.read_csv(out / "comparison_cost.csv", index_col=0)
    assert cost.at["VGG19", "input_shape"] == "32×32×1" and cost.at["ResNet19", "input_shape"] == "16×16×1"
    assert cost.at[SVC_LABEL, "input_shape"] == "8×8×1"
    assert "16$\\times$16$\\times$1" in _tex_row(out / "comparison_cost.tex", "ResNet19")


def test_vgg_and_resnet_facts():
    vgg = model_facts.vgg_facts(get_model("vgg19_bn", input_shape=(32, 32, 1), num_classes=10, width=WIDTH))
    assert vgg["batch_norm"] and vgg["bn_momentum"] == pytest.approx(0.9)
    assert vgg["bn_parameters"] == 4 * (2 * 8 + 2 * 16 + 4 * 32 + 4 * 64 + 4 * 64)  # gamma, beta, mean, variance
    assert vgg["head_units"] == 512 and vgg["flatten_length"] == 64 and vgg["dropout_rate"] == 0.5
    assert vgg["last_map"] == "1×1" and vgg["downsampling"] == 32 and 0 < vgg["dense_share"] < 1
    assert vgg["kernel"] == "3×3" and vgg["pool_size"] == "2×2" and vgg["pool_stride"] == 2
    plain = get_model("vgg19", input_shape=(32, 32, 1), num_classes=10, width=WIDTH)
    assert not model_facts.vgg_facts(plain)["batch_norm"]
    resnet = model_facts.resnet_facts(get_model("resnet19", input_shape=(16, 16, 1), num_classes=10, width=WIDTH))
    assert resnet == {"last_map": "4×4", "downsampling": 4}


def test_architecture_and_slide_tables(generated):
    root, _ = generated
    out = root / "report" / "generated"
    config = json.loads((root / "runs" / PROFILE / "digits-vgg19-seed0" / "config.json").read_text())
    total = _tex_row(out / "architecture.tex", "total")
    assert total[-2] == f"{config['parameters']['total']:,}"
    assert total[-1] == f"{config['multiply_adds']:,}"
    conv = _tex_row(out / "architecture.tex", "block2\\_conv1")  # 8 -> 16 kernels of 3x3x8
    assert conv[3:7] == ["3", "1", "1", "16"] and conv[8] == conv[9] == f"{16 * (3 * 3 * 8 + 1):,}"
    slide = pd.read_csv(out / "vgg_vs_resnet50.csv", index_col=0, header=[0, 1])
    assert slide.loc["Parameters", ("Corrected", "VGG19")] == "143,667,240"
    assert slide.loc["Parameters", ("Slide (as printed)", "VGG19")] == "25M"
    assert slide.loc["Multiply-adds (G)", ("Corrected", "ResNet50")] == "4.09"


def test_report_without_resnet_or_baseline(generated, tmp_path):
    root, _ = generated
    shutil.copytree(root / "runs" / PROFILE / "digits-vgg19-seed0", tmp_path / "runs" / PROFILE / "digits-vgg19-seed0")
    patch = pytest.MonkeyPatch()
    patch.setattr(model_facts, "reference_counts", lambda name: FAKE_REFERENCE[name])
    try:
        written = report.write_report_inputs(tmp_path / "runs", PROFILE, tmp_path / "generated",
                                             tmp_path / "figures", baseline=False)
    finally:
        patch.undo()
    assert tmp_path / "generated" / "resnet_stages.tex" not in written
    assert not (tmp_path / "runs" / PROFILE / "digits-svc-seed0").exists()
    numbers = (tmp_path / "generated" / "numbers.tex").read_text()
    macros = _macros(tmp_path / "generated" / "numbers.tex")
    assert "\\HaveResnetfalse" in numbers and "\\HaveBaselinefalse" in numbers
    for name in ("ResAccuracyPM", "AccuracyVerdict", "SvcAccuracyPM", "ResMultiplyAddsAtVggInputM"):
        assert macros[name] == "n/a", name
    assert macros["ResVersusBaseline"] == "cannot be compared with" and macros["ResArchWeightLayers"] == "19"


def test_table_to_latex_and_markdown():
    frame = pd.DataFrame({"a_b": ["x & y", "50 ± 1"], "c": [None, "p|q"]}, index=pd.Index(["r_1", "r%2"], name="name"))
    text = latex.table_to_latex(frame)
    assert "a\\_b" in text and "r\\_1" in text and "r\\%2" in text and "x \\& y" in text
    assert "50 $\\pm$ 1" in text and "\\toprule" in text and "–" in text and "\\begin{tabular}" in text
    floating = latex.table_to_latex(frame, caption="Caption", label="tab:x", index=False)
    assert "\\begin{table}[htbp]" in floating and "\\caption{Caption}" in floating and "r\\_1" not in floating
    assert "\\begin{longtable}" in latex.table_to_latex(frame, longtable=True, caption="C", label="tab:y")
    lines = latex.markdown_table(frame).splitlines()
    assert lines[0] == "| name | a_b | c |"
    assert lines[2] == "| r_1 | x & y | – |" and lines[3] == "| r%2 | 50 ± 1 | p\\|q |"


def test_numbers_to_tex():
    text = latex.numbers_to_tex({"Flag": True, "Off": False, "Missing": None, "Nan": float("nan"),
                                 "Figure": Path("figures/confusion_vgg19_bn.png"), "Text": "a_b 5% 2±1 3×3",
                                 "Number": 0.0001, "Option": "--model"}, header="Generated.")
    lines = text.splitlines()
    assert lines[0] == "% Generated."
    assert "\\newif\\ifFlag\\Flagtrue" in lines and "\\newif\\ifOff\\Offfalse" in lines
    assert "\\newcommand{\\Missing}{n/a}" in lines and "\\newcommand{\\Nan}{n/a}" in lines
    assert "\\newcommand{\\Figure}{figures/confusion_vgg19_bn.png}" in lines
    assert "\\newcommand{\\Text}{a\\_b 5\\% 2$\\pm$1 3$\\times$3}" in lines
    assert "\\newcommand{\\Number}{0.0001}" in lines and "\\newcommand{\\Option}{-{}-model}" in lines
    with pytest.raises(ValueError, match="Vgg2"):
        latex.numbers_to_tex({"Vgg2": 1})


def test_a_number_given_twice_is_refused(monkeypatch):
    monkeypatch.setattr(report_numbers, "SECTIONS", (lambda data: {"A": 1}, lambda data: {"A": 2, "B": 3}))
    with pytest.raises(ValueError, match=r"\['A'\]"):
        report_numbers.report_numbers(None)


def test_no_runs_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="labwork6 train"):
        load_runs(tmp_path, "default")


def test_build_pdf_without_tex(tmp_path, monkeypatch):
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "numbers.tex").write_text("")
    (tmp_path / latex.REPORT_NAME).write_text("")
    monkeypatch.setattr(latex.shutil, "which", lambda name: None)
    with pytest.raises(latex.TexNotFoundError, match="make tex"):
        latex.build_pdf(tmp_path)


@pytest.mark.skipif(shutil.which("latexmk") is None or shutil.which("pdflatex") is None,
                    reason="TeX is not installed (make tex)")
def test_report_compiles(generated):
    root, _ = generated
    report_dir = root / "report"
    shutil.copy(Path(__file__).resolve().parent.parent / "report" / latex.REPORT_NAME, report_dir)
    pdf = latex.build_pdf(report_dir)
    assert pdf.stat().st_size > 10_000
    log = (report_dir / latex.REPORT_NAME.replace(".tex", ".log")).read_text(errors="replace")
    too_wide = [float(width) for width in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide", log)]
    assert all(width < 10 for width in too_wide), f"something overflows the page: {too_wide}"
