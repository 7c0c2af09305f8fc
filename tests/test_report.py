"""The report's generated tables, numbers and verdicts equal what the run folders hold.

A fixture writes fake run folders (2 models x 2 seeds) in the documented format without
training: each run's predictions get known wrong images, and its metrics, confusion matrix and
robustness files follow from them, so every interval, p-value and verdict can be worked out
here. ``write_report_inputs`` turns them into the report's inputs once per module (fitting
the SVC baseline runs next to them), and the tests read the numbers back from the files.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from labwork6 import baseline, comparison, latex, report, report_data, report_numbers, robustness
from labwork6.comparison import SVC_LABEL, load_runs
from labwork6.data import load_dataset
from labwork6.metrics import classification_metrics, confusion_matrix_frame
from labwork6.models import count_parameters, get_model, layer_table
from labwork6.models import facts as model_facts
from labwork6.recipes import RUN_FORMAT
from labwork6.report_numbers import design
from labwork6.robustness import CORRUPTIONS, SEVERITIES, TABLE_COLUMNS
from labwork6.stats import accuracy_interval

PROFILE = "smoke"
CLASS_NAMES = [str(i) for i in range(10)]
SUBSAMPLE = 60
WIDTH = 0.125
#: model -> seed -> the test images (positions) it gets wrong, and its train seconds and best epoch.
WRONG = {
    "vgg19": {0: range(0, 6), 1: range(0, 2)},
    "resnet19": {0: range(3, 15), 1: range(10, 30)},
}
SECONDS = {"vgg19": (100.0, 120.0), "resnet19": (300.0, 340.0)}
BEST_EPOCH = {"vgg19": (3, 2), "resnet19": (3, 1)}
#: Under corruption, a model also gets wrong the first ``extra * severity`` images it got right.
EXTRA_WRONG = {"vgg19": 1, "resnet19": 2}
#: Inference: VGG answers one image later but more images per second (the inversion the prose explains).
SPEED = {"vgg19": (4.0, 1000.0), "resnet19": (2.0, 800.0)}
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
    "vgg16": {"parameters": {"trainable": 138_357_544, "non_trainable": 0, "total": 138_357_544},
              "multiply_adds": 15_470_264_320, "conv": 13, "projection": 0, "dense": 3, "pool": 5,
              "weight_layers": 16},
    "resnet50": {"parameters": {"trainable": 25_557_032, "non_trainable": 53_120, "total": 25_610_152},
                 "multiply_adds": 3_858_726_912, "conv": 49, "projection": 4, "dense": 1, "pool": 1,
                 "weight_layers": 50},
}


def test_labels(seed: int) -> np.ndarray:
    """The test labels of the real subsampled split of ``seed``."""
    return load_dataset("digits", seed=seed).subsample(SUBSAMPLE, seed=seed).test.labels


test_labels.__test__ = False  # a helper, not a test


def predictions_of(model: str, seed: int, labels: np.ndarray, severity: int = 0) -> np.ndarray:
    """The fake run's predicted labels: wrong (label + 1) on its wrong images, more under corruption."""
    wrong = np.zeros(len(labels), bool)
    wrong[list(WRONG[model][seed])] = True
    wrong[np.flatnonzero(~wrong)[: EXTRA_WRONG[model] * severity]] = True
    return np.where(wrong, (labels + 1) % 10, labels)


def write_fake_run(root: Path, model: str, seed: int) -> Path:
    """One completed run folder in the format of labwork6.train (no training)."""
    run_dir = root / PROFILE / f"digits-{model}-seed{seed}"
    run_dir.mkdir(parents=True)
    input_shape = INPUT_SHAPES[model]
    options = {"head": "compact"} if model.startswith("vgg") else {}
    network = get_model(model, input_shape=input_shape, num_classes=10, width=WIDTH, **options)
    config = {
        "model": model, "dataset": "digits", "profile": PROFILE, "seed": seed, "run_format": RUN_FORMAT,
        "optimizer": "adamw",
        "learning_rate": 0.001, "weight_decay": 0.0001, "warmup_fraction": 0.05, "label_smoothing": 0.1,
        "batch_size": 32, "epochs": 3, "steps_per_epoch": 2, "image_size": None, "min_image_size": input_shape[0],
        "model_options": options, "width": WIDTH, "precision": "float32", "subsample": SUBSAMPLE, "channels": None,
        "augment": True, "status": "completed", "resolved_precision": "float32", "input_shape": list(input_shape),
        "raw_input_shape": list(RAW_SHAPE), "num_classes": 10, "class_names": CLASS_NAMES,
        "counts": {"train": 60, "val": 60, "test": 60},
        "normalization": {"mean": [CHANNEL_MEAN], "std": [CHANNEL_STD], "num_images": 60,
                          "fitted_on": "train split only"},
        "parameters": count_parameters(network), "multiply_adds": int(layer_table(network).iloc[-1]["multiply_adds"]),
        "versions": {"labwork6": "0.1.0", "python": "3.11", "tensorflow": "2.21.0", "keras": "3.15.1",
                     "scikit-learn": "1.9.1"},
        "hardware": {"machine": "x86_64", "processor": "Test CPU", "cpu_count": 2, "gpus": []}, "epochs_run": 3,
    }
    (run_dir / "config.json").write_text(json.dumps(config))
    labels = test_labels(seed)
    predicted = predictions_of(model, seed, labels)
    metrics = classification_metrics(labels, predicted, CLASS_NAMES) | {"best_epoch": BEST_EPOCH[model][seed]}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    seconds = SECONDS[model][seed]
    latency, throughput = SPEED[model]
    timing = {"train_seconds": seconds, "epochs_run": 3, "seconds_per_epoch": seconds / 3,
              "inference_latency_ms": latency, "inference_throughput": throughput}
    (run_dir / "timing.json").write_text(json.dumps(timing))
    pd.DataFrame({"epoch": [1, 2, 3], "loss": [8.0, 1.0, 0.5], "accuracy": [0.3, 0.6, 0.8],
                  "val_loss": [8.3, 1.2, 0.7], "val_accuracy": [0.25, 0.55, 0.8], "learning_rate": [1e-3, 5e-4, 1e-5],
                  "epoch_seconds": [seconds / 2, seconds / 4 - 1, seconds / 4 + 1]}).to_csv(
        run_dir / "history.csv", index=False)
    pd.DataFrame({"index": np.arange(len(labels)), "label": labels, "prediction": predicted}).to_csv(
        run_dir / "predictions.csv", index=False)
    confusion_matrix_frame(labels, predicted, CLASS_NAMES).to_csv(run_dir / "confusion_matrix.csv")
    rows, long = [], []
    for corruption, severity in [("none", 0), *[(c, s) for c in CORRUPTIONS for s in SEVERITIES]]:
        damaged = predictions_of(model, seed, labels, severity)
        correct = int((damaged == labels).sum())
        rows.append((corruption, severity, correct, len(labels), correct / len(labels),
                     *accuracy_interval(correct, len(labels))))
        long.append(pd.DataFrame({"corruption": corruption, "severity": severity, "index": np.arange(len(labels)),
                                  "prediction": damaged}))
    pd.DataFrame(rows, columns=list(TABLE_COLUMNS)).to_csv(run_dir / "robustness.csv", index=False)
    pd.concat(long).to_csv(run_dir / robustness.ROBUSTNESS_PREDICTIONS, index=False)
    return run_dir


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Fake runs, then the report inputs written from them (once for the module)."""
    root = tmp_path_factory.mktemp("report")
    for model in WRONG:
        for seed in WRONG[model]:
            write_fake_run(root / "runs", model, seed)
    patch = pytest.MonkeyPatch()
    patch.setattr(model_facts, "reference_counts", lambda name: FAKE_REFERENCE[name])
    try:
        written = report.write_report_inputs(root / "runs", PROFILE, root / "report" / "generated",
                                             root / "report" / "figures")
    finally:
        patch.undo()
    return root, written


def _tex_row(path: Path, first_cell: str) -> list[str]:
    for line in path.read_text().splitlines():
        cells = [cell.strip() for cell in line.rstrip("\\ ").split("&")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in {path}")


def _macros(path: Path) -> dict[str, str]:
    return dict(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}", path.read_text()))


def _accuracy(model: str, seed: int) -> float:
    return 1 - len(WRONG[model][seed]) / SUBSAMPLE


def test_writes_every_input(generated):
    root, written = generated
    out = root / "report" / "generated"
    for stem, _ in report.TABLES:  # both families, the baseline and robustness files: every table is written
        for suffix in ("tex", "csv", "md"):
            assert out / f"{stem}.{suffix}" in written, f"{stem}.{suffix} not written"
    assert (out / "numbers.tex").exists()
    figures = root / "report" / "figures"
    for name in ("training_curves.png", "training_curves.pdf", "confusion_vgg19.png", "confusion_resnet19.png",
                 "robustness.png", "robustness.pdf", "errors.png"):
        assert (figures / name).stat().st_size > 1000, name
    for stem in ("comparison_metrics", "architecture", "per_class", "paired", "robustness"):
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
        accuracies = [_accuracy(model, seed) for seed in (0, 1)]
        assert table.at[label, "accuracy_mean"] == pytest.approx(np.mean(accuracies))
        assert table.at[label, "accuracy_std"] == pytest.approx(np.std(accuracies, ddof=1))
        f1 = [classification_metrics(test_labels(seed), predictions_of(model, seed, test_labels(seed)),
                                     CLASS_NAMES)["f1"] for seed in (0, 1)]
        assert table.at[label, "f1_mean"] == pytest.approx(np.mean(f1))
        # 60 test images: one image is 1.7 points, so no decimals; several seeds: mean ± std, then each seed
        row = _tex_row(out / "comparison_metrics.tex", label)
        assert row[2] == f"{100 * np.mean(accuracies):.0f} $\\pm$ {100 * np.std(accuracies, ddof=1):.0f}"
        assert row[-1] == ", ".join(f"{100 * value:.0f}" for value in accuracies)
        cost = pd.read_csv(out / "comparison_cost.csv", index_col=0)
        assert cost.at[label, "train_seconds_mean"] == pytest.approx(np.mean(SECONDS[model]))
        # per-epoch seconds pool the epochs after the first of every run
        epochs = [value for seconds in SECONDS[model] for value in (seconds / 4 - 1, seconds / 4 + 1)]
        assert cost.at[label, "epoch_seconds_mean"] == pytest.approx(np.mean(epochs))
        assert cost.at[label, "epoch_seconds_std"] == pytest.approx(np.std(epochs, ddof=1))
        assert cost.at[label, "steps_mean"] == 6
        config = json.loads((root / "runs" / PROFILE / f"digits-{model}-seed0" / "config.json").read_text())
        assert f"{config['parameters']['total']:,}" in _tex_row(out / "comparison_cost.tex", label)


def test_every_run_has_its_intervals(generated):
    root, _ = generated
    out = root / "report" / "generated"
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs["model"]) == {"vgg19", "resnet19", "svc"}
    for _, run in runs[runs["model"] != "svc"].iterrows():
        correct = SUBSAMPLE - len(WRONG[run["model"]][run["seed"]])
        assert run["correct"] == correct and run["test_images"] == SUBSAMPLE
        assert (run["accuracy_low"], run["accuracy_high"]) == pytest.approx(accuracy_interval(correct, SUBSAMPLE))
        for key in ("precision", "recall", "f1"):
            assert run[f"{key}_low"] <= run[key] <= run[f"{key}_high"]
            assert run[f"{key}_high"] - run[f"{key}_low"] > 0.01  # a real interval, not a point
        assert run["best_epoch"] == BEST_EPOCH[run["model"]][run["seed"]]
    low, high = accuracy_interval(54, SUBSAMPLE)
    cells = [line for line in (out / "runs.tex").read_text().splitlines() if "54/60" in line]
    assert cells and f"90 [{100 * low:.0f}, {100 * high:.0f}]" in cells[0]


def test_paired_tests_and_the_conservative_verdict(generated):
    root, _ = generated
    out = root / "report" / "generated"
    paired = pd.read_csv(out / "paired.csv")
    pair = paired[(paired["model_a"] == "vgg19") & (paired["model_b"] == "resnet19")].set_index("seed")
    for seed in (0, 1):
        vgg, resnet = set(WRONG["vgg19"][seed]), set(WRONG["resnet19"][seed])
        a_only, b_only = len(resnet - vgg), len(vgg - resnet)
        assert (pair.at[seed, "a_only"], pair.at[seed, "b_only"]) == (a_only, b_only)
        assert pair.at[seed, "both_wrong"] == len(vgg & resnet)
        assert pair.at[seed, "p_value"] == pytest.approx(binomtest(a_only, a_only + b_only).pvalue)
        assert pair.at[seed, "difference"] == pytest.approx(_accuracy("vgg19", seed) - _accuracy("resnet19", seed))
    # seed 0: 9 against 3 discordant images (p = 0.15); seed 1: 20 against 2 (p < 0.001)
    assert pair.at[0, "p_value"] > 0.05 > pair.at[1, "p_value"]
    macros = _macros(out / "numbers.tex")
    assert macros["VerdictVggRes"] == ("VGG19 and ResNet19 cannot be told apart on 60 test images (the difference "
                                       "is significant in 1 of the 2 seeds)")
    assert "\\DecidedVggResfalse" in (out / "numbers.tex").read_text()
    assert macros["TestsVggRes"] == (f"McNemar's exact p = {pair.at[0, 'p_value']:.2g} and "
                                     f"{pair.at[1, 'p_value']:.2g} for seeds 0 and 1")
    assert {("vgg19", "svc"), ("resnet19", "svc")} <= set(zip(paired["model_a"], paired["model_b"], strict=True))
    assert _tex_row(out / "paired.tex", "VGG19 vs ResNet19")[2:4] == ["9", "3"]


def test_pair_verdict_rule():
    def rows(*seeds):  # (a_only, b_only, p) per seed
        return pd.DataFrame([{"name_a": "A", "name_b": "B", "n": 270, "seed": seed, "a_only": a, "b_only": b,
                              "p_value": p, "verdict": f"one-seed verdict {seed}"}
                             for seed, (a, b, p) in enumerate(seeds)])

    both = comparison.pair_verdict(rows((9, 1, 0.02), (12, 2, 0.01)))
    assert both["verdict"] == "A is more accurate than B (significant in each of the 2 seeds)"
    assert both["better"] == "A" and both["significant_seeds"] == 2
    opposite = comparison.pair_verdict(rows((9, 1, 0.02), (1, 12, 0.003)))
    assert opposite["better"] is None and "significant in 2 of the 2 seeds" in opposite["verdict"]
    assert comparison.pair_verdict(rows((1, 9, 0.02)))["verdict"] == "one-seed verdict 0"


def test_robustness_tables_and_paired_robustness(generated):
    root, _ = generated
    out = root / "report" / "generated"
    pooled = pd.read_csv(out / "robustness.csv")
    row = pooled[(pooled["model"] == "ResNet19") & (pooled["corruption"] == "blur") & (pooled["severity"] == 2)]
    right = sum(SUBSAMPLE - len(WRONG["resnet19"][seed]) - 2 * 2 for seed in (0, 1))
    assert int(row["correct"].iloc[0]) == right and int(row["total"].iloc[0]) == 2 * SUBSAMPLE
    assert _tex_row(out / "robustness.tex", "clean")[0] == "clean"
    macros = _macros(out / "numbers.tex")
    mean = {model: [np.mean([_accuracy(model, seed) - EXTRA_WRONG[model] * severity / SUBSAMPLE
                             for severity in SEVERITIES]) for seed in (0, 1)] for model in WRONG}
    assert macros["VggCorruption"] == (f"{100 * np.mean(mean['vgg19']):.0f} $\\pm$ "
                                       f"{100 * np.std(mean['vgg19'], ddof=1):.0f}\\% (seeds: "
                                       f"{100 * mean['vgg19'][0]:.0f} and {100 * mean['vgg19'][1]:.0f}\\%)")
    robust = comparison.paired_robustness(load_runs(root / "runs", PROFILE))
    for seed in (0, 1):
        difference = robust[robust["seed"] == seed]["difference"].iloc[0]
        assert difference == pytest.approx(mean["vgg19"][seed] - mean["resnet19"][seed])
    # VGG19 keeps 0.15 and 0.35 more of the corrupted images right: the intervals exclude 0 in both seeds
    assert macros["RobustVerdictVggRes"] == ("VGG19 is more robust than ResNet19 (the 95\\% interval of the "
                                             "difference excludes 0 in 2 of the 2 seeds)")
    assert "\\HaveAnyRobustPairtrue" in (out / "numbers.tex").read_text()


def test_svc_baseline_runs_are_run_folders(generated):
    root, _ = generated
    out = root / "report" / "generated"
    folders = [root / "runs" / PROFILE / f"digits-svc-seed{seed}" for seed in (0, 1)]
    for seed, folder in enumerate(folders):
        for name in baseline.BASELINE_FILES:
            assert (folder / name).exists(), name
        config = json.loads((folder / "config.json").read_text())
        assert config["model"] == "svc" and config["status"] == "completed" and config["seed"] == seed
        assert config["subsample"] == SUBSAMPLE and config["raw_input_shape"] == list(RAW_SHAPE)
        assert config["fit_images"] == 120  # train + validation of the subsampled split
        ours = pd.read_csv(folder / "predictions.csv")
        assert (ours["label"] == test_labels(seed)).all()  # the same test images as the network runs
        # robustness: the clean row is the test accuracy; every row matches the stored predictions
        table, long = pd.read_csv(folder / "robustness.csv"), pd.read_csv(folder / robustness.ROBUSTNESS_PREDICTIONS)
        assert table["correct"].iloc[0] == (ours["label"] == ours["prediction"]).sum()
        assert len(table) == 1 + len(CORRUPTIONS) * len(SEVERITIES) and len(long) == len(table) * SUBSAMPLE
        merged = long.merge(ours[["index", "label"]], on="index")
        right = (merged["label"] == merged["prediction"]).groupby([merged["corruption"], merged["severity"]]).sum()
        for corruption, severity, correct in table[["corruption", "severity", "correct"]].itertuples(index=False):
            assert right[(corruption, severity)] == correct
    assert _tex_row(out / "comparison_metrics.tex", SVC_LABEL)[1] == "2"
    # the network runs of a profile leave the baseline out; the report reads it with load_run
    assert "svc" not in {run["config"]["model"] for run in load_runs(root / "runs", PROFILE)}


def test_svc_baseline_is_reused_and_an_older_one_refitted(generated, tmp_path):
    root, _ = generated
    runs = load_runs(root / "runs", PROFILE)
    folder = root / "runs" / PROFILE / "digits-svc-seed0"
    before = (folder / "timing.json").read_text()
    assert baseline.ensure_baselines(runs)[0] == folder
    assert (folder / "timing.json").read_text() == before  # not fitted again
    older = tmp_path / "digits-svc-seed0"
    shutil.copytree(folder, older)
    (older / robustness.ROBUSTNESS_PREDICTIONS).unlink()  # a folder from before the robustness files
    config = json.loads((older / "config.json").read_text())
    (older / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "corruptions"}))
    baseline.fit_baseline("digits", 0, SUBSAMPLE, PROFILE, older, max_train=50)
    config = json.loads((older / "config.json").read_text())
    assert config["max_train"] == 50 and config["fit_images"] == 50 and "corruptions" in config
    assert (older / robustness.ROBUSTNESS_PREDICTIONS).exists()
    with pytest.raises(ValueError, match="max_train=1"):
        baseline.fit_baseline("digits", 0, SUBSAMPLE, PROFILE, older, max_train=1)


def test_per_class_runs_and_data_tables(generated):
    root, _ = generated
    out = root / "report" / "generated"
    classes = pd.read_csv(out / "per_class.csv").set_index(["model", "class"])
    per_seed = [classification_metrics(test_labels(seed), predictions_of("vgg19", seed, test_labels(seed)),
                                       CLASS_NAMES)["per_class"]["3"]["f1"] for seed in (0, 1)]
    assert classes.loc[("vgg19", 3), "f1_mean"] == pytest.approx(np.mean(per_seed))
    data = pd.read_csv(out / "data.csv", index_col=0)
    assert list(data["Images"]) == [60, 60, 60] and data.at["Test", "Per class"] == "6–6"


def test_numbers_macros(generated):
    root, _ = generated
    numbers = (root / "report" / "generated" / "numbers.tex").read_text()
    macros = _macros(root / "report" / "generated" / "numbers.tex")
    assert macros["ReportProfile"] == PROFILE and macros["NumSeeds"] == "2" and "\\SeveralSeedstrue" in numbers
    assert macros["SeedsText"] == "the 2 seeds 0 and 1" and macros["Alpha"] == "0.05" and macros["Level"] == "95"
    accuracies = [_accuracy("vgg19", seed) for seed in (0, 1)]
    assert macros["VggAccuracyPM"] == f"{100 * np.mean(accuracies):.0f} $\\pm$ {100 * np.std(accuracies, ddof=1):.0f}"
    assert macros["VggAccuracyText"].endswith(f"(seeds: {100 * accuracies[0]:.0f} and {100 * accuracies[1]:.0f}\\%)")
    assert macros["VggArchWeightLayers"] == "19" and macros["ResArchWeightLayers"] == "19"
    assert macros["ArchFormulaChecks"] == "all 16"
    assert macros["RefVggParameters"] == "143,667,240" and macros["RefResMultiplyAddsG"] == "3.86"
    assert macros["RefVggSixteenParameters"] == "138,357,544" and macros["RefVggSixteenMultiplyAddsG"] == "15.47"
    assert macros["BlowupWeights"] == "12,288,000"
    assert macros["SvcFitImages"] == "120" and macros["SvcFeatures"] == "64"
    assert macros["VggConfusionFigure"] == "figures/confusion_vgg19.png"  # a path, not escaped
    assert macros["VggGradcamFigure"] == "n/a"  # notebook 04 has not drawn it
    assert macros["VggGradcamLayer"] == "block5\\_conv4" and macros["VggGradcamMap"] == "2$\\times$2"
    assert macros["ResGradcamLayer"] == "conv4\\_block2\\_out" and macros["ResGradcamMap"] == "4$\\times$4"
    assert "\\VggGradcamReadfalse" in numbers and "\\FiltersAlikefalse" in numbers  # no model.keras: not measured
    assert "\\SmokeProfiletrue" in numbers and "\\MatchedTrainingtrue" in numbers
    assert macros["BudgetText"].startswith("both networks were trained with batches of 32 images for 3 epochs of 2")
    assert "log scale" in macros["CurveText"] and "epoch 3 of 3" in macros["CurveText"]
    assert macros["ReportAuthor"] == design.AUTHOR_PLACEHOLDER.replace("_", "\\_") and "\\AuthorSetfalse" in numbers


def test_errors_speed_and_epoch_times(generated):
    root, _ = generated
    macros = _macros(root / "report" / "generated" / "numbers.tex")
    vgg, resnet = set(WRONG["vgg19"][0]), set(WRONG["resnet19"][0])
    assert macros["VggErrorCount"] == str(len(vgg)) and macros["ResErrorCount"] == str(len(resnet))
    assert macros["SharedErrorCount"] == str(len(vgg & resnet)) and macros["SharedSameLabel"] == "3"
    labels = test_labels(0)
    assert macros["SharedErrorText"].startswith(
        f"The two networks share 3 errors, 3 of them with the same wrong class and 0 also wrong for the SVC: "
        f"image 3 (true {labels[3]}, read as {(labels[3] + 1) % 10} by both)")
    assert macros["SharedPerSeed"] == "3 and 0 errors (seeds 0 and 1)"  # seed 1: images 0-1 against 10-29
    speed = macros["SpeedText"]
    assert speed.startswith("The two measures rank the networks in opposite orders: ResNet19 classifies one image "
                            "sooner, VGG19 more images per second in batches.")
    # epochs after the first: VGG19 24, 26, 29, 31 s; ResNet19 74, 76, 84, 86 s: far apart for their spread
    assert macros["EpochTimeText"] == (
        f"VGG19 took 27.50 $\\pm$ {np.std([24, 26, 29, 31], ddof=1):.2f} s per epoch and ResNet19 80.00 $\\pm$ "
        f"{np.std([74, 76, 84, 86], ddof=1):.2f} s (mean $\\pm$ standard deviation over 4 and 4 epochs, leaving out "
        "each run's first, which also builds the graph): ResNet19's epochs took 2.9 times as long as VGG19's")


def test_budget_wording_when_the_budgets_differ(generated):
    root, _ = generated
    runs = load_runs(root / "runs", PROFILE)
    for run in runs:
        if run["config"]["model"] == "resnet19":
            run["config"] = run["config"] | {"epochs": 2}
    numbers = design.budget_numbers(report_data.ReportData(PROFILE, runs))
    assert not numbers["MatchedTraining"] and numbers["SameBatchSize"] and not numbers["SameEpochs"]
    assert numbers["BudgetText"] == ("the training budgets differ: VGG19 was trained for 3 epochs of 2 steps with "
                                     "batches of 32 (6 steps); ResNet19 was trained for 2 epochs of 2 steps with "
                                     "batches of 32 (4 steps)")


def test_one_seed_report_gives_intervals(generated, tmp_path):
    root, _ = generated
    for model in WRONG:
        shutil.copytree(root / "runs" / PROFILE / f"digits-{model}-seed0",
                        tmp_path / "runs" / PROFILE / f"digits-{model}-seed0")
    patch = pytest.MonkeyPatch()
    patch.setattr(model_facts, "reference_counts", lambda name: FAKE_REFERENCE[name])
    try:
        report.write_report_inputs(tmp_path / "runs", PROFILE, tmp_path / "generated", tmp_path / "figures",
                                   baseline=False)
    finally:
        patch.undo()
    numbers = (tmp_path / "generated" / "numbers.tex").read_text()
    macros = _macros(tmp_path / "generated" / "numbers.tex")
    low, high = accuracy_interval(54, SUBSAMPLE)
    assert "\\SeveralSeedsfalse" in numbers and macros["SeedsText"] == "seed 0"
    assert macros["VggAccuracyText"] == f"90\\% (95\\% interval {100 * low:.0f}–{100 * high:.0f}\\%; 54 of 60 images)"
    assert macros["VggAccuracyPM"] == f"90 [{100 * low:.0f}, {100 * high:.0f}]"
    assert _tex_row(tmp_path / "generated" / "comparison_metrics.tex", "VGG19")[2] == macros["VggAccuracyPM"]
    # one seed: the verdict is the test's own; 9 against 3 discordant images is not significant
    assert macros["VerdictVggRes"] == "VGG19 and ResNet19 cannot be told apart on 60 test images"
    assert macros["TestsVggRes"].startswith("VGG19 alone was right on 9 and ResNet19 alone on 3 of the 60 test images")
    assert macros["RobustVerdictVggRes"].endswith(")") and "95\\% interval" in macros["RobustVerdictVggRes"]


def test_report_without_resnet_or_baseline(generated, tmp_path):
    root, _ = generated
    shutil.copytree(root / "runs" / PROFILE / "digits-vgg19-seed0", tmp_path / "runs" / PROFILE / "digits-vgg19-seed0")
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "paired.tex").write_text("stale")  # from an earlier report: must go
    patch = pytest.MonkeyPatch()
    patch.setattr(model_facts, "reference_counts", lambda name: FAKE_REFERENCE[name])
    try:
        written = report.write_report_inputs(tmp_path / "runs", PROFILE, tmp_path / "generated",
                                             tmp_path / "figures", baseline=False)
    finally:
        patch.undo()
    assert tmp_path / "generated" / "resnet_stages.tex" not in written
    assert not (tmp_path / "generated" / "paired.tex").exists()
    assert not (tmp_path / "runs" / PROFILE / "digits-svc-seed0").exists()
    numbers = (tmp_path / "generated" / "numbers.tex").read_text()
    macros = _macros(tmp_path / "generated" / "numbers.tex")
    for flag in ("HaveResnetfalse", "HaveBaselinefalse", "HaveAnyPairfalse", "HaveVggResfalse",
                 "HaveErrorAnalysisfalse"):
        assert f"\\{flag}" in numbers, flag
    for name in ("ResAccuracyPM", "VerdictVggRes", "SvcAccuracyPM", "ResMultiplyAddsAtVggInputM", "SpeedText"):
        assert macros[name] == "n/a", name
    assert macros["ResArchWeightLayers"] == "19"
    if _tex_available():
        shutil.copy(Path(__file__).resolve().parent.parent / "report" / latex.REPORT_NAME, tmp_path)
        assert latex.build_pdf(tmp_path).stat().st_size > 10_000


def test_report_author_is_read_from_pyproject(tmp_path):
    assert report.report_author(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.labwork6]\ncolab-branch = "main"\n'
                                             'author = "Ada Lovelace"\n\n[tool.other]\nauthor = "not this"\n')
    (tmp_path / "report" / "generated").mkdir(parents=True)
    assert report.report_author(tmp_path / "report" / "generated") == "Ada Lovelace"
    (tmp_path / "pyproject.toml").write_text('[tool.labwork6]\nauthor = ""\n')
    assert report.report_author(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text('[tool.labwork6]\nauthor = "Ada" # a comment\nauthor-note = "x"\n')
    assert report.report_author(tmp_path) == "Ada"
    (tmp_path / "pyproject.toml").write_text('[tool.labwork6]\nauthor = "Ada\n')
    with pytest.raises(ValueError, match="not valid TOML"):
        report.report_author(tmp_path)


def test_gradcam_reading_and_recomputed_robustness(generated, tmp_path):
    """A run with a saved (untrained) model: its corrupted predictions are recomputed from
    model.keras and must give the counts of its robustness.csv; Grad-CAM is measured."""
    from labwork6.recipes import resolve_config, run_dataset
    from labwork6.robustness import robustness_table
    from labwork6.train import build_model

    root, _ = generated
    run_dir = tmp_path / PROFILE / "digits-vgg19-seed0"
    shutil.copytree(root / "runs" / PROFILE / "digits-vgg19-seed0", run_dir)
    (run_dir / robustness.ROBUSTNESS_PREDICTIONS).unlink()
    config = resolve_config("vgg19", profile=PROFILE, seed=0, width=WIDTH, model_options={"head": "compact"})
    data = run_dataset(config)
    model = build_model(config, data)
    model.save(run_dir / "model.keras")
    predicted = model.predict(data.test.images, verbose=0).argmax(axis=1)
    pd.DataFrame({"index": np.arange(len(predicted)), "label": data.test.labels, "prediction": predicted}).to_csv(
        run_dir / "predictions.csv", index=False)
    table = robustness_table(lambda images: model.predict(images, batch_size=256, verbose=0).argmax(axis=1),
                             data.test.images, data.test.labels, severities=(1, 5), seed=0)
    table.to_csv(run_dir / "robustness.csv", index=False)
    run = comparison.load_runs(tmp_path, PROFILE)[0]
    long = comparison.corrupted_predictions(run)
    assert len(long) == len(table) * len(predicted)
    right = (long["prediction"].to_numpy() == data.test.labels[long["index"].to_numpy()])
    assert right.reshape(len(table), -1).sum(axis=1).tolist() == table["correct"].tolist()
    reading = report_data.gradcam_reading(run)
    assert reading["layer"] == "block5_conv4" and reading["map"] == "2×2"
    if "bright_share" in reading:  # an untrained model may give empty maps everywhere
        assert 0 <= reading["bright_share"] <= 1 and 0 < reading["bright_area"] < 1


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


def _tex_available() -> bool:
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


@pytest.mark.skipif(not _tex_available(), reason="TeX is not installed (make tex)")
def test_report_compiles(generated):
    root, _ = generated
    report_dir = root / "report"
    shutil.copy(Path(__file__).resolve().parent.parent / "report" / latex.REPORT_NAME, report_dir)
    pdf = latex.build_pdf(report_dir)
    assert pdf.stat().st_size > 10_000
    log = (report_dir / latex.REPORT_NAME.replace(".tex", ".log")).read_text(errors="replace")
    too_wide = [float(width) for width in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide", log)]
    assert all(width < 10 for width in too_wide), f"something overflows the page: {too_wide}"
    assert "There were undefined references" not in log
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "Table" in text and "??" not in text  # every reference resolved
        assert "No benchmark results" not in text and "Performance benchmarks are not included" in text
        for words in ("cannot be told apart", "more robust than", "McNemar", "Error analysis"):
            assert words in text
