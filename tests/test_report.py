"""The report's generated tables, numbers and verdicts equal what the run folders hold.

A fixture writes fake run folders (2 models x 2 seeds x 2 folds of the smoke profile's
cross-validation) in the documented format without training: each repetition's pooled
predictions get known wrong images (by position among its 120 images, sorted by id), and every
fold's metrics, confusion matrix and robustness files follow from them, so every interval,
p-value and verdict can be worked out here. ``write_report_inputs`` turns them into the report's
inputs once per module (fitting the SVC baseline runs next to them, per fold), and the tests
read the numbers back from the files.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
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
from labwork6.recipes import resolve_config, robustness_split
from labwork6.report_numbers import design
from labwork6.robustness import CORRUPTIONS, TABLE_COLUMNS
from labwork6.run_config import BaselineConfig, read_config, write_config
from labwork6.stats import accuracy_interval

PROFILE = "smoke"
CLASS_NAMES = [str(i) for i in range(10)]
SUBSAMPLE = 120  # images of each repetition (the smoke profile's), tested once over its 2 folds
FOLDS = 2
FOLD_IMAGES = SUBSAMPLE // FOLDS
SEVERITIES = (1, 3, 5)  # the smoke profile's robustness severities
SCORED = 30  # the smoke profile's robustness images per fold
WIDTH = 0.125
#: model -> seed -> the pooled test images (positions among the 120, sorted by id) it gets wrong.
WRONG = {
    "vgg19": {0: range(0, 6), 1: range(0, 2)},
    "resnet19": {0: range(3, 15), 1: range(10, 30)},
}
#: model -> (train seconds of each fold of seed 0, then of seed 1).
SECONDS = {"vgg19": (100.0, 110.0, 120.0, 130.0), "resnet19": (300.0, 310.0, 340.0, 350.0)}
BEST_EPOCH = {"vgg19": (3, 2), "resnet19": (3, 1)}
#: Under corruption, a model also gets wrong the first ``extra * severity`` scored images it got right.
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


@functools.cache
def fold_data(seed: int, fold: int):
    """The real split of one fold of the smoke profile's cross-validation (read once per fold)."""
    return load_dataset("digits", seed=seed, folds=FOLDS, fold=fold, max_images=SUBSAMPLE)


def pooled_ids(seed: int) -> np.ndarray:
    """The ids of a repetition's images, sorted: position i in WRONG is image pooled_ids(seed)[i]."""
    return np.sort(np.concatenate([fold_data(seed, fold).test.ids for fold in range(FOLDS)]))


def pooled_labels(seed: int) -> np.ndarray:
    """The labels of a repetition's images, in pooled_ids order."""
    labels = {}
    for fold in range(FOLDS):
        test = fold_data(seed, fold).test
        labels.update(zip(test.ids.tolist(), test.labels.tolist(), strict=True))
    return np.array([labels[image] for image in pooled_ids(seed).tolist()])


def wrong_ids(model: str, seed: int) -> set:
    return set(pooled_ids(seed)[list(WRONG[model][seed])].tolist())


def predictions_of(model: str, seed: int, ids, labels, severity: int = 0) -> np.ndarray:
    """The fake run's predicted labels of images ``ids``: wrong (label + 1) on its wrong images, and
    under corruption also on the first ``extra * severity`` of the others."""
    wrong = np.isin(ids, list(wrong_ids(model, seed)))
    wrong[np.flatnonzero(~wrong)[: EXTRA_WRONG[model] * severity]] = True
    return np.where(wrong, (np.asarray(labels) + 1) % 10, labels)


def test_labels(seed: int) -> np.ndarray:
    """The labels of a repetition's pooled test images, sorted by id."""
    return pooled_labels(seed)


test_labels.__test__ = False  # a helper, not a test


def write_fake_run(root: Path, model: str, seed: int, fold: int) -> Path:
    """One completed run folder (one fold) in the format of labwork6.train (no training)."""
    run_dir = root / PROFILE / f"digits-{model}-seed{seed}-fold{fold}of{FOLDS}"
    run_dir.mkdir(parents=True)
    input_shape = INPUT_SHAPES[model]
    options = {"head": "compact"} if model.startswith("vgg") else {}
    network = get_model(model, input_shape=input_shape, num_classes=10, width=WIDTH, **options)
    data = fold_data(seed, fold)
    config = resolve_config(model, profile=PROFILE, seed=seed, fold=fold, width=WIDTH, model_options=options,
                            epochs=3).replace(
        steps_per_epoch=2, min_image_size=input_shape[0], status="completed", resolved_precision="float32",
        input_shape=input_shape, raw_input_shape=RAW_SHAPE, num_classes=10, class_names=CLASS_NAMES,
        counts={split: len(part) for split, part in data.splits.items()},
        normalization={"mean": [CHANNEL_MEAN], "std": [CHANNEL_STD], "num_images": 51, "fitted_on": "train split only"},
        parameters=count_parameters(network), multiply_adds=int(layer_table(network).iloc[-1]["multiply_adds"]),
        versions={"labwork6": "0.1.0", "python": "3.11", "tensorflow": "2.21.0", "keras": "3.15.1",
                  "scikit-learn": "1.9.1"},
        hardware={"machine": "x86_64", "processor": "Test CPU", "cpu_count": 2, "gpus": []}, epochs_run=3)
    write_config(run_dir, config)
    labels, ids = data.test.labels, data.test.ids
    predicted = predictions_of(model, seed, ids, labels)
    metrics = classification_metrics(labels, predicted, CLASS_NAMES) | {"best_epoch": BEST_EPOCH[model][seed]}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    seconds = SECONDS[model][2 * seed + fold]
    latency, throughput = SPEED[model]
    timing = {"train_seconds": seconds, "epochs_run": 3, "seconds_per_epoch": seconds / 3,
              "inference_latency_ms": latency, "inference_throughput": throughput}
    (run_dir / "timing.json").write_text(json.dumps(timing))
    pd.DataFrame({"epoch": [1, 2, 3], "loss": [8.0, 1.0, 0.5], "accuracy": [0.3, 0.6, 0.8],
                  "val_loss": [8.3, 1.2, 0.7], "val_accuracy": [0.25, 0.55, 0.8], "learning_rate": [1e-3, 5e-4, 1e-5],
                  "epoch_seconds": [seconds / 2, seconds / 4 - 1, seconds / 4 + 1]}).to_csv(
        run_dir / "history.csv", index=False)
    pd.DataFrame({"index": np.arange(len(labels)), "image": ids, "label": labels, "prediction": predicted}).to_csv(
        run_dir / "predictions.csv", index=False)
    confusion_matrix_frame(labels, predicted, CLASS_NAMES).to_csv(run_dir / "confusion_matrix.csv")
    scored = robustness_split(config, data)
    rows, long = [], []
    for corruption, severity in [("none", 0), *[(c, s) for c in CORRUPTIONS for s in SEVERITIES]]:
        damaged = predictions_of(model, seed, scored.ids, scored.labels, severity)
        correct = int((damaged == scored.labels).sum())
        rows.append((corruption, severity, correct, len(scored), correct / len(scored),
                     *accuracy_interval(correct, len(scored))))
        long.append(pd.DataFrame({"corruption": corruption, "severity": severity, "index": np.arange(len(scored)),
                                  "image": scored.ids, "label": scored.labels, "prediction": damaged}))
    pd.DataFrame(rows, columns=list(TABLE_COLUMNS)).to_csv(run_dir / "robustness.csv", index=False)
    pd.concat(long).to_csv(run_dir / robustness.ROBUSTNESS_PREDICTIONS, index=False)
    return run_dir


#: What ``make study`` would have written (labwork6.study): model -> (without, with) the remedy.
STUDY_CLEAN = {"vgg19": (171 / 180, 170 / 180), "resnet19": (173 / 180, 173 / 180)}  # of 180 validation images
STUDY_CONTRAST = {"vgg19": (0.40, 0.90), "resnet19": (0.30, 0.85)}


def write_fake_study(folder: Path) -> None:
    folder.mkdir(parents=True)
    rows = [{"model": model, "seed": seed, "fold": 0, "contrast_augmentation": factor, "val_images": 180,
             "clean": STUDY_CLEAN[model][arm], "contrast": STUDY_CONTRAST[model][arm],
             "mean_corruption": 0.7 + arm / 10}
            for model in WRONG for seed in (100, 101) for arm, factor in enumerate((0.0, 0.9))]
    pd.DataFrame(rows).to_csv(folder / "remedy_selection.csv", index=False)
    rows = [{"model": model, "seed": 0, "contrast_augmentation": factor, "test_images": 1797, "correct": 1780,
             "accuracy": 1780 / 1797, "accuracy_low": 0.98, "accuracy_high": 0.995, "mean_corruption": 0.7 + arm / 10,
             "robustness_images": 300} for model in WRONG for arm, factor in enumerate((0.0, 0.9))]
    pd.DataFrame(rows).to_csv(folder / "remedy_ablation.csv", index=False)
    rows = [{"model": model, "seed": 0, "train_fraction": fraction, "train_images": 1018 * fraction,
             "test_images": 1797, "correct": int(1797 * (0.8 + fraction / 6)), "accuracy": 0.8 + fraction / 6,
             "accuracy_low": 0.78, "accuracy_high": 0.99, "mean_corruption": 0.6, "robustness_images": 300}
            for model in WRONG for fraction in (0.1, 0.25, 0.5, 1.0)]
    pd.DataFrame(rows).to_csv(folder / "learning_curve.csv", index=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Fake runs, then the report inputs written from them (once for the module)."""
    root = tmp_path_factory.mktemp("report")
    for model in WRONG:
        for seed in WRONG[model]:
            for fold in range(FOLDS):
                write_fake_run(root / "runs", model, seed, fold)
    write_fake_study(root / "runs" / "study")
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


def _tex_available() -> bool:
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


def _accuracy(model: str, seed: int) -> float:
    """A repetition's pooled accuracy (its 120 images)."""
    return 1 - len(WRONG[model][seed]) / SUBSAMPLE


def test_writes_every_input(generated):
    root, written = generated
    out = root / "report" / "generated"
    for stem, _ in report.TABLES:  # both families, the baseline, robustness and study files: every table is written
        for suffix in ("tex", "csv", "md"):
            assert out / f"{stem}.{suffix}" in written, f"{stem}.{suffix} not written"
    assert (out / "numbers.tex").exists()
    figures = root / "report" / "figures"
    for stem in ("training_curves", "confusion_vgg19", "confusion_resnet19", "robustness", "errors",
                 "contrast_diagnosis"):  # vector PDFs for the report, PNGs for a README or a notebook
        for suffix in (".png", ".pdf"):
            assert (figures / f"{stem}{suffix}").stat().st_size > 1000, stem + suffix
    # without a model.keras (the fake runs have none) there are no filters or feature maps to draw
    assert not list(figures.glob("filter_change_*")) and not list(figures.glob("block_maps_*"))
    for stem in ("comparison_metrics", "vgg_layers", "resnet_blocks", "per_class", "paired", "robustness",
                 "corruption_types"):
        text = (out / f"{stem}.tex").read_text()
        assert "\\toprule" in text and "\\midrule" in text and "\\bottomrule" in text  # booktabs
    assert "block1\\_conv1" in (out / "vgg_layers.tex").read_text()  # names escaped
    assert "conv3\\_block1\\_0\\_conv" in (out / "resnet_layers.tex").read_text()  # the projection, layer by layer
    markdown = (out / "comparison_cost.md").read_text().splitlines()
    assert markdown[0] == "| Per model | VGG19 | ResNet19 | RBF SVC (pixels) |"  # one column per model
    assert markdown[2].startswith("| Size: Input | 32×32×1 | 16×16×1 | 8×8×1 |")


def test_every_image_is_tested_once_per_model(generated):
    root, _ = generated
    for model in (*WRONG, "svc"):
        for seed in (0, 1):
            frames = [pd.read_csv(root / "runs" / PROFILE / f"digits-{model}-seed{seed}-fold{fold}of{FOLDS}"
                                  / "predictions.csv") for fold in range(FOLDS)]
            ids = np.concatenate([frame["image"].to_numpy() for frame in frames])
            assert len(ids) == SUBSAMPLE and np.array_equal(np.sort(ids), pooled_ids(seed)), (model, seed)


def test_metrics_table_equals_run_folders(generated):
    root, _ = generated
    out = root / "report" / "generated"
    table = pd.read_csv(out / "comparison_metrics.csv", index_col=0)  # the unrounded comparison
    for model, label in (("vgg19", "VGG19"), ("resnet19", "ResNet19")):
        assert table.at[label, "n"] == 2 and table.at[label, "runs"] == 4 and table.at[label, "folds"] == FOLDS
        assert table.at[label, "test_images"] == SUBSAMPLE  # each repetition tests every image once
        accuracies = [_accuracy(model, seed) for seed in (0, 1)]
        assert table.at[label, "accuracy_mean"] == pytest.approx(np.mean(accuracies))
        assert table.at[label, "accuracy_std"] == pytest.approx(np.std(accuracies, ddof=1))
        f1 = [classification_metrics(test_labels(seed), predictions_of(model, seed, pooled_ids(seed),
                                                                       test_labels(seed)), CLASS_NAMES)["f1"]
              for seed in (0, 1)]
        assert table.at[label, "f1_mean"] == pytest.approx(np.mean(f1))
        # 120 pooled images: one image is 0.83 points, so one decimal; several seeds: mean ± std, then each seed
        row = _tex_row(out / "comparison_metrics.tex", label)  # every model tests the same 120: in the caption
        assert row[1] == f"{100 * np.mean(accuracies):.1f} $\\pm$ {100 * np.std(accuracies, ddof=1):.1f}"
        assert row[-1] == ", ".join(f"{100 * value:.1f}" for value in accuracies)
        cost = pd.read_csv(out / "comparison_cost.csv", index_col=0)
        assert cost.at[label, "train_seconds_mean"] == pytest.approx(np.mean(SECONDS[model]))
        # per-epoch seconds pool the epochs after the first of every run
        epochs = [value for seconds in SECONDS[model] for value in (seconds / 4 - 1, seconds / 4 + 1)]
        assert cost.at[label, "epoch_seconds_mean"] == pytest.approx(np.mean(epochs))
        assert cost.at[label, "epoch_seconds_std"] == pytest.approx(np.std(epochs, ddof=1))
        assert cost.at[label, "steps_mean"] == 6
        config = read_config(root / "runs" / PROFILE / f"digits-{model}-seed0-fold0of2")
        column = ["VGG19", "ResNet19"].index(label) + 1
        assert _tex_row(out / "comparison_cost.tex", "Size: Parameters")[column] == f"{config.parameters['total']:,}"


def test_every_run_has_its_intervals(generated):
    root, _ = generated
    out = root / "report" / "generated"
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs["model"]) == {"vgg19", "resnet19", "svc"} and len(runs) == 3 * 2 * FOLDS
    for _, run in runs[runs["model"] != "svc"].iterrows():
        tested = set(fold_data(run["seed"], int(run["fold"])).test.ids.tolist())
        correct = FOLD_IMAGES - len(wrong_ids(run["model"], run["seed"]) & tested)
        assert run["correct"] == correct and run["test_images"] == FOLD_IMAGES
        assert (run["accuracy_low"], run["accuracy_high"]) == pytest.approx(accuracy_interval(correct, FOLD_IMAGES))
        for key in ("precision", "recall", "f1"):
            assert run[f"{key}_low"] <= run[key] <= run[f"{key}_high"]
            assert run[f"{key}_high"] - run[f"{key}_low"] > 0.01  # a real interval, not a point
        assert run["best_epoch"] == BEST_EPOCH[run["model"]][run["seed"]]
    first = runs[(runs["model"] == "vgg19") & (runs["seed"] == 0) & (runs["fold"].astype(str) == "0")].iloc[0]
    low, high = accuracy_interval(int(first["correct"]), FOLD_IMAGES)
    cells = [line for line in (out / "runs.tex").read_text().splitlines() if line.startswith("VGG19 & 0 & 0 &")]
    assert cells and f"{first['correct']}/60" in cells[0] and f"[{100 * low:.0f}, {100 * high:.0f}]" in cells[0]


def test_paired_tests_pool_the_folds_and_the_verdict_carries_its_evidence(generated):
    from labwork6.stats import minimum_detectable_difference, smallest_p_value

    root, _ = generated
    out = root / "report" / "generated"
    paired = pd.read_csv(out / "paired_folds.csv")  # per fold, then pooled (the body's table: pooled only)
    assert set(pd.read_csv(out / "paired.csv")["fold"].astype(str)) == {"pooled"}
    pair = paired[(paired["model_a"] == "vgg19") & (paired["model_b"] == "resnet19")]
    pooled = pair[pair["fold"].astype(str) == "pooled"].set_index("seed")
    detectable = {}
    for seed in (0, 1):
        vgg, resnet = wrong_ids("vgg19", seed), wrong_ids("resnet19", seed)
        a_only, b_only = len(resnet - vgg), len(vgg - resnet)
        assert (pooled.at[seed, "a_only"], pooled.at[seed, "b_only"]) == (a_only, b_only)
        assert pooled.at[seed, "n"] == SUBSAMPLE and pooled.at[seed, "both_wrong"] == len(vgg & resnet)
        assert pooled.at[seed, "p_value"] == pytest.approx(binomtest(a_only, a_only + b_only).pvalue)
        assert pooled.at[seed, "difference"] == pytest.approx(_accuracy("vgg19", seed) - _accuracy("resnet19", seed))
        assert pooled.at[seed, "smallest_p_value"] == pytest.approx(smallest_p_value(a_only + b_only))
        detectable[seed] = minimum_detectable_difference(SUBSAMPLE, a_only + b_only)
        assert pooled.at[seed, "minimum_detectable_difference"] == pytest.approx(detectable[seed])
        assert pooled.at[seed, "difference_low"] < pooled.at[seed, "difference"] < pooled.at[seed, "difference_high"]
        # the fold rows split the pooled counts
        folds = pair[(pair["seed"] == seed) & (pair["fold"].astype(str) != "pooled")]
        assert sorted(folds["fold"].astype(int)) == [0, 1] and folds["n"].sum() == SUBSAMPLE
        assert folds["a_only"].sum() == a_only and folds["b_only"].sum() == b_only
    # seed 0: 9 against 3 discordant images (p = 0.15); seed 1: 20 against 2 (p < 0.001)
    assert pooled.at[0, "p_value"] > 0.05 > pooled.at[1, "p_value"]
    macros = _macros(out / "numbers.tex")
    low, high = sorted(detectable.values())
    assert macros["VerdictVggRes"] == (
        "VGG19 and ResNet19 cannot be told apart on 120 test images (McNemar's exact test significant in 1 of the 2 "
        f"repetitions, 12 and 22 discordant images; the test could detect differences of {100 * low:.1f} to "
        f"{100 * high:.1f} points with 80\\% power)")
    assert "\\DecidedVggResfalse" in (out / "numbers.tex").read_text()
    assert {("vgg19", "svc"), ("resnet19", "svc")} <= set(zip(paired["model_a"], paired["model_b"], strict=True))
    row = [cells for line in (out / "paired.tex").read_text().splitlines()
           if (cells := [cell.strip() for cell in line.rstrip("\\ ").split("&")])[:2] == ["VGG19 vs ResNet19", "0"]][0]
    assert row[2:5] == ["120", "9", "3"]


def test_pair_verdict_rule():
    def rows(*seeds):  # (a_only, b_only, p) per seed
        return pd.DataFrame([{"name_a": "A", "name_b": "B", "n": 270, "seed": seed, "fold": "pooled", "a_only": a,
                              "b_only": b, "discordant": a + b, "p_value": p, "smallest_p_value": 2 * 0.5 ** (a + b),
                              "minimum_detectable_difference": 0.02, "power": 0.8}
                             for seed, (a, b, p) in enumerate(seeds)])

    both = comparison.pair_verdict(rows((9, 1, 0.02), (12, 2, 0.01)))
    assert both["verdict"].startswith("A is more accurate than B (McNemar's exact test significant in each of the 2 "
                                      "repetitions")
    assert both["better"] == "A" and both["significant_seeds"] == 2
    opposite = comparison.pair_verdict(rows((9, 1, 0.02), (1, 12, 0.003)))
    assert opposite["better"] is None and "significant in 2 of the 2 repetitions" in opposite["verdict"]
    one = comparison.pair_verdict(rows((1, 9, 0.02)))
    assert one["better"] == "B" and one["verdict"] == (
        "B is more accurate than A on the 270 test images (McNemar's exact p = 0.02, 10 discordant images (1 against "
        "9; the smallest p 10 can reach is 0.002); with 80% power the test detects a difference of 2.0 points or more)")
    undecided = comparison.pair_verdict(rows((3, 1, 0.62)))["verdict"]
    assert undecided.startswith("A and B cannot be told apart on the 270 test images (McNemar's exact p = 0.62, 4")


def test_robustness_tables_and_paired_robustness(generated):
    root, _ = generated
    out = root / "report" / "generated"
    pooled = pd.read_csv(out / "robustness.csv")
    row = pooled[(pooled["model"] == "ResNet19") & (pooled["corruption"] == "blur") & (pooled["severity"] == 3)]
    scored = {fold: robustness_split(resolve_config("resnet19", profile=PROFILE, seed=0, fold=fold),
                                     fold_data(0, fold)) for fold in range(FOLDS)}
    right = sum(SCORED - len(wrong_ids("resnet19", 0) & set(part.ids.tolist())) - 2 * 3 for part in scored.values())
    assert int(row["correct"].iloc[0]) == right and int(row["total"].iloc[0]) == FOLDS * SCORED
    assert set(pooled["severity"]) == {0, *SEVERITIES}
    assert _tex_row(out / "robustness.tex", "clean")[0] == "clean"
    # per corruption type: the mean over the severities, ranked; the unweighted mean over the types among them
    types = pd.read_csv(out / "corruption_types.csv")
    vgg_blur = types[(types["model"] == "vgg19") & (types["corruption"] == "blur")].iloc[0]
    wrong = [len(wrong_ids("vgg19", 0) & set(part.ids.tolist())) for part in scored.values()]
    clean_right = FOLDS * SCORED - sum(wrong)
    expected = np.mean([(clean_right - FOLDS * EXTRA_WRONG["vgg19"] * s) / (FOLDS * SCORED) for s in SEVERITIES])
    assert vgg_blur["accuracy"] == pytest.approx(expected) and vgg_blur["images"] == FOLDS * SCORED
    assert vgg_blur["low"] < vgg_blur["accuracy"] < vgg_blur["high"]
    blur = types[types["corruption"] == "blur"].set_index("model")
    assert blur.at["vgg19", "rank"] < blur.at["resnet19", "rank"]  # VGG loses fewer images per severity
    assert "mean" in set(types["corruption"]) and "clean" in set(types["corruption"])
    macros = _macros(out / "numbers.tex")
    robust = comparison.paired_robustness(load_runs(root / "runs", PROFILE))
    assert set(robust["corruption"]) == {*CORRUPTIONS, "mean"}
    for seed in (0, 1):
        mean = robust[(robust["seed"] == seed) & (robust["corruption"] == "mean")].iloc[0]
        assert mean["n"] == FOLDS * SCORED and mean["difference"] > 0 and mean["significant"]
    assert macros["RobustVerdictVggRes"].startswith(
        "VGG19 is more robust than ResNet19 on average (the 95\\% interval of the difference excludes 0 in 2 of the 2 "
        "seeds); by type, VGG19 is ahead under")
    assert "\\HaveAnyRobustPairtrue" in (out / "numbers.tex").read_text()
    assert "VGG19 ranks first under" in macros["RankingText"]
    assert macros["RobustnessImages"] == "60" and macros["SeverityList"] == "1, 3 and 5"


def test_contrast_diagnosis_and_writer_limitation(generated):
    root, _ = generated
    macros = _macros(root / "report" / "generated" / "numbers.tex")
    assert "\\HaveContrastDiagnosistrue" in (root / "report" / "generated" / "numbers.tex").read_text()
    # a black pixel normalised with the fake runs' statistics: (0 - 0.3) / 0.32
    assert f"a black background pixel, 0 in every raw training image, is at {-CHANNEL_MEAN / CHANNEL_STD:.2f}" \
        in macros["ContrastText"]
    shift = re.search(r"on average, ([-0-9.]+) training standard deviations higher", macros["ContrastText"])
    assert float(shift.group(1)) > 0.3  # the background turns grey under contrast
    assert macros["NumWriters"] == "13" and "written by 13 people" in macros["WriterText"]
    assert "different 13 to the test set" in macros["WriterQuote"]


def test_study_numbers_and_tables(generated):
    root, _ = generated
    out = root / "report" / "generated"
    macros = _macros(out / "numbers.tex")
    assert "\\HaveStudytrue" in (out / "numbers.tex").read_text()
    assert "VGG19 40.0\\% → 90.0\\%" in macros["RemedySelectionText"]
    assert "development seeds 100 and 101" in macros["RemedySelectionText"]
    assert "\\RemedyKepttrue" in (out / "numbers.tex").read_text()  # the default recipe has it
    assert macros["Augmentation"].endswith("random contrast (each image's distance from its mean scaled by a factor "
                                           "drawn in [0.1, 1.9], Keras' RandomContrast)")
    # VGG19: 342 of 360 right without it (Wilson [92.2, 96.8]), 340 of 360 (94.4%) with it: within
    assert macros["RemedyRuleText"].startswith("VGG19: clean validation accuracy 94.4\\% with it, within the 95\\% "
                                               "interval 92.2–96.8\\% of 95.0\\% without it (360 validation images)")
    assert len(pd.read_csv(out / "learning_curve.csv")) == 8 and "LearningCurveText" in macros


def test_svc_baseline_runs_are_run_folders(generated):
    root, _ = generated
    out = root / "report" / "generated"
    for seed in (0, 1):
        for fold in range(FOLDS):
            folder = root / "runs" / PROFILE / f"digits-svc-seed{seed}-fold{fold}of{FOLDS}"
            for name in baseline.BASELINE_FILES:
                assert (folder / name).exists(), name
            config = read_config(folder)
            assert isinstance(config, BaselineConfig)
            assert config.model == "svc" and config.status == "completed" and config.seed == seed
            assert (config.folds, config.fold) == (FOLDS, fold)
            assert config.subsample == SUBSAMPLE and config.raw_input_shape == RAW_SHAPE
            assert config.fit_images == SUBSAMPLE - FOLD_IMAGES  # train + validation: the other fold
            ours = pd.read_csv(folder / "predictions.csv")
            assert (ours["image"].to_numpy() == fold_data(seed, fold).test.ids).all()  # the networks' test images
            # robustness: the networks' scored images; every row matches the stored predictions
            table = pd.read_csv(folder / "robustness.csv")
            long = pd.read_csv(folder / robustness.ROBUSTNESS_PREDICTIONS)
            network = pd.read_csv(root / "runs" / PROFILE / f"digits-vgg19-seed{seed}-fold{fold}of{FOLDS}"
                                  / robustness.ROBUSTNESS_PREDICTIONS)
            assert set(long["image"]) == set(network["image"]) and len(set(long["image"])) == SCORED
            assert len(table) == 1 + len(CORRUPTIONS) * len(SEVERITIES) and len(long) == len(table) * SCORED
            right = (long["label"] == long["prediction"]).groupby([long["corruption"], long["severity"]]).sum()
            for corruption, severity, correct in table[["corruption", "severity", "correct"]].itertuples(index=False):
                assert right[(corruption, severity)] == correct
    assert pd.read_csv(out / "comparison_metrics.csv", index_col=0).at[SVC_LABEL, "runs"] == 4
    # the network runs of a profile leave the baseline out; the report reads it with load_run
    assert "svc" not in {run["config"].model for run in load_runs(root / "runs", PROFILE)}


def test_svc_baseline_is_reused_and_an_older_one_refitted(generated, tmp_path):
    root, _ = generated
    runs = load_runs(root / "runs", PROFILE)
    folder = root / "runs" / PROFILE / "digits-svc-seed0-fold0of2"
    before = (folder / "timing.json").read_text()
    assert baseline.ensure_baselines(runs)[0] == folder
    assert (folder / "timing.json").read_text() == before  # not fitted again
    older = tmp_path / "digits-svc-seed0-fold0of2"
    shutil.copytree(folder, older)
    (older / robustness.ROBUSTNESS_PREDICTIONS).unlink()  # a folder from before the robustness files
    config = json.loads((older / "config.json").read_text())
    (older / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "corruptions"}))
    options = {"folds": FOLDS, "fold": 0, "robustness_images": SCORED, "robustness_severities": SEVERITIES}
    baseline.fit_baseline("digits", 0, SUBSAMPLE, PROFILE, older, max_train=50, **options)
    config = read_config(older)
    assert config.max_train == 50 and config.fit_images == 50 and config.corruptions
    assert (older / robustness.ROBUSTNESS_PREDICTIONS).exists()
    with pytest.raises(ValueError, match="max_train=1"):
        baseline.fit_baseline("digits", 0, SUBSAMPLE, PROFILE, older, max_train=1, **options)


def test_per_class_runs_and_data_tables(generated):
    root, _ = generated
    out = root / "report" / "generated"
    classes = pd.read_csv(out / "per_class.csv").set_index(["model", "class"])
    per_seed = [classification_metrics(test_labels(seed), predictions_of("vgg19", seed, pooled_ids(seed),
                                                                         test_labels(seed)),
                                       CLASS_NAMES)["per_class"]["3"]["f1"] for seed in (0, 1)]
    assert classes.loc[("vgg19", 3), "f1_mean"] == pytest.approx(np.mean(per_seed))
    assert classes.loc[("vgg19", 3), "support"] == 12  # a repetition's images of class 3: every fold's
    data = pd.read_csv(out / "data.csv", index_col=0)
    assert list(data["Images"]) == [51, 9, 60] and data.at["Test", "Per class"] == "6–6"


def test_numbers_macros(generated):
    root, _ = generated
    numbers = (root / "report" / "generated" / "numbers.tex").read_text()
    macros = _macros(root / "report" / "generated" / "numbers.tex")
    assert macros["ReportProfile"] == PROFILE and macros["NumSeeds"] == "2" and "\\SeveralSeedstrue" in numbers
    assert macros["Alpha"] == "0.05" and macros["Level"] == "95"
    assert "\\CrossValidationtrue" in numbers and macros["NumTest"] == "120" and macros["OneTestImage"] == "0.83"
    assert macros["EvaluationText"].startswith("2-fold stratified cross-validation: each of the 120 images is tested "
                                               "exactly once, by the network trained on the other fold")
    accuracies = [_accuracy("vgg19", seed) for seed in (0, 1)]
    assert _tex_row(root / "report" / "generated" / "comparison_metrics.tex", "VGG19")[1] == (
        f"{100 * np.mean(accuracies):.1f} $\\pm$ {100 * np.std(accuracies, ddof=1):.1f}")
    assert macros["VggAccuracyText"].endswith(f"(seeds: {100 * accuracies[0]:.1f} and {100 * accuracies[1]:.1f}\\%)")
    assert macros["VggArchWeightLayers"] == "19" and macros["ResArchWeightLayers"] == "19"
    assert macros["RefVggParameters"] == "143,667,240" and macros["RefResMultiplyAddsG"] == "3.86"
    assert macros["RefVggSixteenParameters"] == "138,357,544" and macros["RefVggSixteenMultiplyAddsG"] == "15.47"
    assert macros["SvcFeatures"] == "64"
    assert macros["VggConfusionFigure"] == "figures/confusion_vgg19.pdf"  # a path, not escaped
    assert macros["VggFilterChangeFigure"] == "n/a" and macros["VggBlockMapsFigure"] == "n/a"  # no model.keras
    assert "\\VggFiltersReadfalse" in numbers and macros["VggFilterChange"] == "n/a"
    assert "\\SmokeProfiletrue" in numbers and "\\MatchedTrainingtrue" in numbers
    assert macros["BudgetText"].startswith("both networks were trained with batches of 32 images for 3 epochs of 2")
    # the digits' 17 grey levels, read from scikit-learn, not "8-bit integers"
    assert macros["PixelText"].startswith("The images hold 17 grey levels, 0 to 16") and "255/16" in macros["PixelText"]
    assert macros["ReportAuthor"] == "Student name" and "\\AuthorSetfalse" in numbers  # neutral, not a warning


def test_convergence_is_counted_from_the_histories(generated):
    root, _ = generated
    numbers = (root / "report" / "generated" / "numbers.tex").read_text()
    macros = _macros(root / "report" / "generated" / "numbers.tex")
    # BEST_EPOCH: each network keeps epoch 3 of 3 in both folds of seed 0 only; the last epoch's validation
    # accuracy (0.8) beats the earlier ones (0.55) by 0.25 of 9 validation images: more than one image, every run
    kept = {model: sum(BEST_EPOCH[model][seed] == 3 for seed in (0, 1) for _ in range(FOLDS)) for model in WRONG}
    assert macros["ConvergenceText"].startswith(
        f"VGG19 kept its last epoch's weights in {kept['vgg19']} of 4 runs, and in 4 of them its best validation "
        "accuracy of the last 1 epoch beat every earlier epoch by at least one validation image; ResNet19 kept its "
        f"last epoch's weights in {kept['resnet19']} of 4 runs")
    assert macros["ConvergenceText"].endswith("training had not converged: validation accuracy was still rising when "
                                              "the planned 3 epochs ended, so more epochs might change the accuracies")
    assert "\\TrainingSettledfalse" in numbers and "\\TrainingNotConvergedtrue" in numbers
    # the figure's loss axis, by the plot's own rule: 8.3 / 0.5 > 3, so logarithmic
    assert macros["CurvesLossAxis"] == "logarithmic"
    assert macros["CurvesRuns"] == "VGG19 seed 0 fold 0 and ResNet19 seed 0 fold 0"


def test_block_tables_share_their_columns_and_add_up(generated):
    from labwork6.report_numbers.blocks import BLOCK_COLUMNS

    root, _ = generated
    out = root / "report" / "generated"
    macros = _macros(out / "numbers.tex")
    for model, stem in (("vgg19", "vgg_blocks"), ("resnet19", "resnet_blocks")):
        table = pd.read_csv(out / f"{stem}.csv", index_col=0)
        assert tuple(table.columns) == BLOCK_COLUMNS  # the same columns for both networks
        network = get_model(model, input_shape=INPUT_SHAPES[model], num_classes=10, width=WIDTH,
                            **({"head": "compact"} if model == "vgg19" else {}))
        layers = layer_table(network).set_index("name")
        assert table.at["total", "Parameters"] == count_parameters(network)["total"]
        assert table.at["total", "Multiply-adds"] == layers.at["total", "multiply_adds"]
        blocks = table.drop(index="total")
        assert (blocks["K(F·F·D+1)"] + blocks["Batch norm"] == blocks["Parameters"]).all()
        assert blocks["Parameters"].sum() == table.at["total", "Parameters"]
    vgg = pd.read_csv(out / "vgg_blocks.csv", index_col=0)
    assert list(vgg.index[:5]) == [f"block{b}" for b in range(1, 6)] and vgg.at["block3", "Output"] == "4×4×32"
    assert vgg.at["block1", "K(F·F·D+1)"] == 8 * (9 * 1 + 1) + 8 * (9 * 8 + 1)  # two convs, with bias
    resnet = pd.read_csv(out / "resnet_blocks.csv", index_col=0)
    assert resnet.at["stem", "K(F·F·D+1)"] == 16 * 9 * 1  # no bias: K·F·F·D
    assert "projection 1×1" in resnet.at["conv3_block1", "Layers"] and "projection" not in resnet.at[
        "conv3_block2", "Layers"]
    assert "\\VggBlocksAgreetrue" in (out / "numbers.tex").read_text()
    # at 32x32 VGG's last block runs 3x3 kernels on 2x2 maps: 5 of the 9 taps on padding everywhere
    assert macros["VggLastBlockMap"] == "2$\\times$2" and macros["VggPaddingShare"] == "56"
    network = get_model("vgg19", input_shape=(32, 32, 1), num_classes=10, width=WIDTH, head="compact")
    adds = layer_table(network).set_index("name")["multiply_adds"]
    block5 = sum(adds[f"block5_conv{index}"] for index in range(1, 5))
    assert macros["VggPaddingAddsShare"] == f"{100 * 5 / 9 * block5 / adds['total']:.0f}"
    assert macros["ResLastBlockMap"] == "4$\\times$4" and macros["ResPaddingShare"] == f"{100 * (1 - 100 / 144):.0f}"


def test_padding_share_filter_change_and_ranking():
    import keras

    from labwork6.report_numbers.analysis import filter_change, ranked_text
    from labwork6.report_numbers.blocks import padding_share

    def conv(side, kernel=3, stride=1, padding="same"):
        inputs = keras.Input((side, side, 1))
        layer = keras.layers.Conv2D(1, kernel, strides=stride, padding=padding)
        layer(inputs)
        return layer

    assert padding_share(conv(2)) == pytest.approx(5 / 9)
    assert padding_share(conv(4)) == pytest.approx(1 - (2 * 2 + 3 * 2) ** 2 / (16 * 9))  # rows: 2, 3, 3, 2 taps
    assert padding_share(conv(8, padding="valid")) == 0
    assert padding_share(conv(1)) == pytest.approx(8 / 9)
    rng = np.random.default_rng(0)
    initial = rng.normal(size=(3, 3, 1, 8))
    same = filter_change(initial, 2 * initial)  # only the size changed
    assert same["change"] == pytest.approx(1.0) and same["scale"] == pytest.approx(2.0)
    assert same["correlation"] == pytest.approx(1.0)
    other = filter_change(initial, rng.normal(size=(3, 3, 1, 8)))
    assert abs(other["correlation"]) < 0.5 and other["change"] > 1
    with pytest.raises(ValueError, match="one shape"):
        filter_change(initial, initial[..., :4])
    assert ranked_text("A", 4.0, 0.1, "B", 2.0, 0.1, "latency", higher_first=False) == "B is first by latency"
    assert ranked_text("A", 4.0, 0.6, "B", 2.0, 0.5, "latency", higher_first=False) == (
        "the spreads overlap, so neither is ranked first by latency")  # 2 <= 2 * (0.6 + 0.5)
    assert ranked_text("A", 900, 10, "B", 800, 10, "throughput", higher_first=True) == "A is first by throughput"


def test_errors_speed_and_epoch_times(generated):
    root, _ = generated
    macros = _macros(root / "report" / "generated" / "numbers.tex")
    vgg, resnet = wrong_ids("vgg19", 0), wrong_ids("resnet19", 0)
    assert macros["VggErrorCount"] == str(len(vgg)) and macros["ResErrorCount"] == str(len(resnet))
    assert macros["ErrorTestImages"] == "120"  # the pooled images of seed 0, each once
    assert len(vgg & resnet) == 3  # the shared errors of SharedErrorText below
    first = pooled_ids(0)[3]  # the first shared error, named by its row of load_digits
    label = test_labels(0)[3]
    assert macros["SharedErrorText"].startswith(
        "The two networks share 3 errors, 3 of them with the same wrong class and ")
    assert f"image {first} (true {label}, read as {(label + 1) % 10} by both)" in macros["SharedErrorText"]
    assert macros["SharedPerSeed"] == "3 and 0 errors (seeds 0 and 1)"  # seed 1: images 0-1 against 10-29
    # every run measured the same: no spread, and the rule ranks only what the spreads keep apart
    assert macros["SpeedText"] == ("one image took VGG19 4.0 $\\pm$ 0.0 ms and ResNet19 2.0 $\\pm$ 0.0 ms (ResNet19 is "
                                   "first by latency); in batches of 256 the networks classified VGG19 1000 $\\pm$ 0 "
                                   "images/s and ResNet19 800 $\\pm$ 0 images/s (VGG19 is first by throughput)")
    # per class, as counts over both seeds: one image more or less is visible
    labels = np.concatenate([test_labels(seed) for seed in (0, 1)])
    wrong = np.concatenate([np.isin(pooled_ids(seed), list(wrong_ids("vgg19", seed))) for seed in (0, 1)])
    errors = np.bincount(labels[wrong], minlength=10)
    worst = np.flatnonzero(errors == errors.max())
    totals = np.bincount(labels, minlength=10)
    expected = [f"{index} ({errors[index]} of {totals[index]} images)" for index in worst]
    assert macros["VggClassErrors"] in (f"the most misread class is {expected[0]}",
                                        "the most misread classes are " + ", ".join(expected[:-1]) + " and "
                                        + expected[-1]) if len(worst) <= 3 else macros["VggClassErrors"].startswith(
        f"{len(worst)} classes tie")
    true, read = np.unravel_index(np.argmax(np.bincount(labels[wrong] * 10 + (labels[wrong] + 1) % 10,
                                                        minlength=100)), (10, 10))
    count = int(((labels[wrong] == true)).sum())
    assert macros["VggTopConfusion"] == f"{true} read as {read} ({count} time{'s' if count != 1 else ''})"
    vgg_epochs = [value for seconds in SECONDS["vgg19"] for value in (seconds / 4 - 1, seconds / 4 + 1)]
    res_epochs = [value for seconds in SECONDS["resnet19"] for value in (seconds / 4 - 1, seconds / 4 + 1)]
    assert macros["EpochTimeText"] == (
        f"VGG19 took {np.mean(vgg_epochs):.2f} $\\pm$ {np.std(vgg_epochs, ddof=1):.2f} s per epoch and ResNet19 "
        f"{np.mean(res_epochs):.2f} $\\pm$ {np.std(res_epochs, ddof=1):.2f} s (mean $\\pm$ standard deviation over 8 "
        "and 8 epochs, leaving out each run's first, which also builds the graph): ResNet19's epochs took "
        f"{np.mean(res_epochs) / np.mean(vgg_epochs):.1f} times as long as VGG19's")


def test_budget_wording_when_the_budgets_differ(generated):
    root, _ = generated
    runs = load_runs(root / "runs", PROFILE)
    for run in runs:
        if run["config"].model == "resnet19":
            run["config"] = run["config"].replace(epochs=2)
    numbers = design.budget_numbers(report_data.ReportData(PROFILE, runs))
    assert not numbers["MatchedTraining"] and numbers["SameBatchSize"] and not numbers["SameEpochs"]
    assert numbers["BudgetText"] == ("the training budgets differ: VGG19 was trained for 3 epochs of 2 steps with "
                                     "batches of 32 (6 steps); ResNet19 was trained for 2 epochs of 2 steps with "
                                     "batches of 32 (4 steps)")


def test_one_seed_report_gives_intervals(generated, tmp_path):
    root, _ = generated
    for model in WRONG:
        for fold in range(FOLDS):
            name = f"digits-{model}-seed0-fold{fold}of{FOLDS}"
            shutil.copytree(root / "runs" / PROFILE / name, tmp_path / "runs" / PROFILE / name)
    patch = pytest.MonkeyPatch()
    patch.setattr(model_facts, "reference_counts", lambda name: FAKE_REFERENCE[name])
    try:
        report.write_report_inputs(tmp_path / "runs", PROFILE, tmp_path / "generated", tmp_path / "figures",
                                   baseline=False)
    finally:
        patch.undo()
    numbers = (tmp_path / "generated" / "numbers.tex").read_text()
    macros = _macros(tmp_path / "generated" / "numbers.tex")
    low, high = accuracy_interval(114, SUBSAMPLE)
    assert "\\SeveralSeedsfalse" in numbers
    assert macros["VggAccuracyText"] == (f"95.0\\% (95\\% interval {100 * low:.1f}–{100 * high:.1f}\\%; 114 of 120 "
                                         "images)")
    row = _tex_row(tmp_path / "generated" / "comparison_metrics.tex", "VGG19")
    assert row[1] == f"95.0 [{100 * low:.1f}, {100 * high:.1f}]"
    assert row[-1] == ", ".join(  # beside it, each fold's accuracy
        f"{100 * (1 - len(wrong_ids('vgg19', 0) & set(fold_data(0, fold).test.ids.tolist())) / FOLD_IMAGES):.0f}"
        for fold in range(FOLDS))
    # one repetition: the verdict is the pooled test's, with its evidence; 9 against 3 is not significant
    assert macros["VerdictVggRes"].startswith("VGG19 and ResNet19 cannot be told apart on the 120 test images "
                                              "(McNemar's exact p = 0.15, 12 discordant images (9 against 3; the "
                                              "smallest p 12 can reach is 0.00049); with 80\\% power the test detects "
                                              "a difference of ")
    assert macros["RobustVerdictVggRes"].startswith("VGG19 is more robust than ResNet19 on average (mean over the "
                                                    "corruption types: difference ")


def _vgg_only_report(generated, tmp_path) -> list[Path]:
    """The report inputs of the VGG's seed-0 runs alone (no ResNet, no baseline) in ``tmp_path``."""
    root, _ = generated
    for fold in range(FOLDS):
        name = f"digits-vgg19-seed0-fold{fold}of{FOLDS}"
        shutil.copytree(root / "runs" / PROFILE / name, tmp_path / "runs" / PROFILE / name)
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "paired.tex").write_text("stale")  # from an earlier report: must go
    patch = pytest.MonkeyPatch()
    patch.setattr(model_facts, "reference_counts", lambda name: FAKE_REFERENCE[name])
    try:
        return report.write_report_inputs(tmp_path / "runs", PROFILE, tmp_path / "generated", tmp_path / "figures",
                                          baseline=False)
    finally:
        patch.undo()


def test_report_without_resnet_or_baseline(generated, tmp_path):
    written = _vgg_only_report(generated, tmp_path)
    assert tmp_path / "generated" / "resnet_blocks.tex" not in written
    assert not (tmp_path / "generated" / "paired.tex").exists()
    assert not (tmp_path / "runs" / PROFILE / "digits-svc-seed0-fold0of2").exists()
    numbers = (tmp_path / "generated" / "numbers.tex").read_text()
    macros = _macros(tmp_path / "generated" / "numbers.tex")
    for flag in ("HaveResnetfalse", "HaveBaselinefalse", "HaveAnyPairfalse", "HaveVggResfalse",
                 "HaveErrorAnalysisfalse"):
        assert f"\\{flag}" in numbers, flag
    for name in ("ResAccuracyText", "VerdictVggRes", "SvcAccuracyText", "ResMultiplyAddsAtVggInputM", "SpeedText"):
        assert macros[name] == "n/a", name
    assert macros["ResArchWeightLayers"] == "19"


@pytest.mark.slow
@pytest.mark.skipif(not _tex_available(), reason="TeX is not installed (make tex)")
def test_report_without_resnet_or_baseline_builds(generated, tmp_path):
    _vgg_only_report(generated, tmp_path)
    shutil.copy(Path(__file__).resolve().parent.parent / "report" / latex.REPORT_NAME, tmp_path)
    assert latex.build_pdf(tmp_path).stat().st_size > 10_000
    layout = latex.report_layout(tmp_path)
    assert not layout["undefined_references"] and all(width < 10 for width in layout["overfull"])


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


def test_report_layout_reads_the_log_and_aux(tmp_path):
    stem = latex.REPORT_NAME.replace(".tex", "")
    long_warning = ("Package Report.6.CNN Warning: Figure file missing: first-layer filters of VGG19-BN on input line 4"
                    "21.")
    wrapped = "\n".join(long_warning[i:i + 79] for i in range(0, len(long_warning), 79))  # as TeX writes its log
    (tmp_path / f"{stem}.log").write_text(
        "Overfull \\hbox (12.5pt too wide) in paragraph at lines 3--4\n"
        "Overfull \\hbox (2.0pt too wide) in alignment at lines 1--6\n"
        f"{wrapped}\n"
        "Package Report.6.CNN Warning: A table 520.5pt wide shrunk to the line on input line 9.\n"
        "Output written on Report.6.CNN.pdf (14 pages, 123456 bytes).\n")
    (tmp_path / f"{stem}.aux").write_text("\\newlabel{body-end}{{9}{11}{Limits}{section*.23}{}}\n")
    layout = latex.report_layout(tmp_path)
    assert layout == {"pages": 14, "body_pages": 11, "overfull": [12.5, 2.0],
                      "missing_figures": ["first-layer filters of VGG19-BN"], "shrunk_figures": [],
                      "shrunk_tables": [520.5], "undefined_references": False}
    assert report.layout_problems(tmp_path) == [
        "the body takes 11 pages, not 8-10", "a box sticks out 12.5 pt",
        "figure missing: first-layer filters of VGG19-BN", "a table 520.5 pt wide shrunk to the line"]
    assert report.layout_problems(tmp_path, (8, 11), allow_missing=("filters",)) == [
        "a box sticks out 12.5 pt", "a table 520.5 pt wide shrunk to the line"]
    with pytest.raises(FileNotFoundError, match="build the report first"):
        latex.report_layout(tmp_path / "nothing")


def test_build_pdf_without_tex(tmp_path, monkeypatch):
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "numbers.tex").write_text("")
    (tmp_path / latex.REPORT_NAME).write_text("")
    monkeypatch.setattr(latex.shutil, "which", lambda name: None)
    with pytest.raises(latex.TexNotFoundError, match="make tex"):
        latex.build_pdf(tmp_path)


#: Body pages of the report built from the fake runs: two seeds, and no model.keras, so the filter figures
#: are one-line notes (the smoke pipeline's report is checked against report.BODY_PAGES in test_pipeline).
FAKE_BODY_PAGES = (8, 10)


@pytest.mark.slow
@pytest.mark.skipif(not _tex_available(), reason="TeX is not installed (make tex)")
def test_report_compiles_with_its_body_in_range(generated):
    root, _ = generated
    report_dir = root / "report"
    shutil.copy(Path(__file__).resolve().parent.parent / "report" / latex.REPORT_NAME, report_dir)
    pdf = latex.build_pdf(report_dir)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
    layout = latex.report_layout(report_dir)
    assert layout["pages"] > layout["body_pages"]  # the appendix follows the body
    # the only figures missing are the ones a run without model.keras cannot give
    assert len(layout["missing_figures"]) == 4
    assert report.layout_problems(report_dir, FAKE_BODY_PAGES, allow_missing=("filters of", "feature maps of")) == []
    macros = _macros(report_dir / "generated" / "numbers.tex")
    for name, value in macros.items():
        if name.endswith("Figure") and value != "n/a":
            assert (report_dir / value).exists(), (name, value)


def test_one_epoch_is_too_few_to_judge_convergence():
    from labwork6.report_numbers.results import convergence

    history = pd.DataFrame({"epoch": [1], "val_accuracy": [0.5]})
    config = resolve_config("vgg19", profile=PROFILE).replace(counts={"val": 10})
    run = {"history": history, "metrics": {"best_epoch": 1}, "config": config}
    assert convergence(run) == {"epochs": 1, "kept_last": True, "last_epochs": 1, "rising": None, "last_gain": None}
    # eight epochs: the last two against the six before; 0.9 after 0.85 is half an image of 10: not rising
    history = pd.DataFrame({"epoch": range(1, 9), "val_accuracy": [0.5, 0.7, 0.8, 0.85, 0.85, 0.8, 0.9, 0.88]})
    found = convergence({"history": history, "metrics": {"best_epoch": 7}, "config": config})
    assert found["last_epochs"] == 2 and not found["kept_last"] and found["last_gain"] == pytest.approx(0.5)
    assert found["rising"] is False
    assert convergence({"history": None, "metrics": {}, "config": config}) is None


def test_every_generated_number_is_quoted_by_the_report(generated):
    """numbers.tex defines only what the report prints (in its prose or in a generated table): a
    number no page shows is one no reader, and no test of the report, would see go wrong."""
    root, _ = generated
    out = root / "report" / "generated"
    macros = _macros(out / "numbers.tex")
    quoting = (Path(__file__).parents[1] / "report" / latex.REPORT_NAME).read_text() + "".join(
        re.sub(r"\\newcommand\{\\[A-Za-z]+\}", "", path.read_text()) for path in sorted(out.glob("*.tex")))
    printed = {name for name in macros if re.search(rf"\\{name}(?![A-Za-z])", quoting)}
    # Each model's numbers are made by one loop over the models: one of them printed is enough.
    families = {re.sub(r"^(Vgg|Res|Svc)(?=[A-Z])", "", name) for name in printed}
    unused = sorted(name for name in macros if re.sub(r"^(Vgg|Res|Svc)(?=[A-Z])", "", name) not in families)
    assert not unused, f"{len(unused)} of {len(macros)} generated numbers are never printed: {unused}"
