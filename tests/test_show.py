"""labwork6.show: what notebooks 03, 04 and 06 print, on small hand-made run folders and frames."""

import json

import numpy as np
import pandas as pd
import pytest

from labwork6.comparison import MEAN_ROW
from labwork6.recipes import resolve_config
from labwork6.run_config import read_config, write_config
from labwork6.show import fold_table, metrics_table, pooled_sentence, recipe_used, robustness_sentences, run_sentence

#: Two folds of five images: ids 0..9; fold 0 gets images 1 and 3 wrong, fold 1 image 8.
FOLDS = {0: [4, 1, 7, 3, 0], 1: [9, 2, 8, 6, 5]}
WRONG = {1, 3, 8}


def write_run(root, fold, folds=2):
    """A completed run folder of vgg19_bn, seed 0: config, metrics, timing and predictions."""
    ids = FOLDS[fold]
    run_dir = root / f"digits-vgg19_bn-seed0-fold{fold}of{folds}"
    run_dir.mkdir(parents=True)
    labels = np.array([image % 2 for image in ids])
    predictions = np.where(np.isin(ids, list(WRONG)), 1 - labels, labels)
    config = resolve_config("vgg19_bn", "digits", profile="smoke", folds=folds, fold=fold, width=0.125, epochs=1,
                            learning_rate=0.0123).replace(
        num_classes=2, class_names=["even", "odd"], counts={"train": 12, "val": 3, "test": len(ids)},
        raw_input_shape=[8, 8, 1], input_shape=[32, 32, 1], parameters={"total": 1234567}, multiply_adds=7654321,
        resolved_precision="float32", status="completed",
        hardware={"gpus": [], "cpu_count": 2, "processor": "Test CPU"})
    write_config(run_dir, config)
    accuracy = float(np.mean(labels == predictions))
    metrics = {"accuracy": accuracy, "precision": 0.5, "recall": 0.25, "f1": 1 / 3, "num_test": len(ids),
               "best_epoch": 1}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    timing = {"train_seconds": 12.6, "epochs_run": 1, "seconds_per_epoch": 12.6}
    (run_dir / "timing.json").write_text(json.dumps(timing))
    pd.DataFrame({"index": range(len(ids)), "image": ids, "label": labels, "prediction": predictions}).to_csv(
        run_dir / "predictions.csv", index=False)
    return run_dir


@pytest.fixture
def found(tmp_path):
    return {("vgg19_bn", 0, fold): write_run(tmp_path, fold) for fold in FOLDS}


def test_whole_counts_are_integers_in_the_tables(found):
    table = fold_table(found)
    assert list(table.index) == [(0, 0), (0, 1)]
    for column in ("test images", "best epoch", "training seconds"):
        assert table[column].dtype.kind == "i", column
    assert table["training seconds"].tolist() == [13, 13]  # 12.6 s, rounded to whole seconds
    assert "5.0" not in table.to_string() and "13.0" not in table.to_string()
    run = {"config": read_config(found[("vgg19_bn", 0, 0)]),
           "metrics": json.loads((found[("vgg19_bn", 0, 0)] / "metrics.json").read_text())}
    table = metrics_table(run)
    assert table["f1"].iloc[0] == 0.3333 and table["test images"].dtype.kind == table["best epoch"].dtype.kind == "i"


def test_the_pooled_sentence_counts_every_image_once(found):
    sentence = pooled_sentence(found)
    assert "Pooled over the 2 folds, each of the 10 images tested once: 7 right, accuracy 70%" in sentence
    assert "one image is 10 points" in sentence
    assert pooled_sentence({key: path for key, path in found.items() if key[2] == 0}) is None  # one fold: no pooling


def test_the_run_sentence_names_data_size_time_and_machine(found):
    from labwork6.runs import load_run

    sentence = run_sentence(load_run(found[("vgg19_bn", 0, 1)]))
    for part in ("vgg19_bn on digits (seed 0, fold 1 of 2)", "12 training, 3 validation and 5 test images",
                 "(8, 8, 1) resized to (32, 32, 1)", "1,234,567 parameters", "1 epoch in 13 s",
                 "2 CPU cores (Test CPU)", "precision float32"):
        assert part in sentence, part


def test_the_recipe_shown_is_what_the_run_recorded(found):
    from labwork6.runs import load_run

    used = recipe_used(load_run(found[("vgg19_bn", 0, 0)])["config"])
    # 0.0123: what this run recorded, not today's recipe (5e-4)
    assert used["learning_rate"] == "0.0123" and used["epochs"] == "1" and used["width"] == "0.125"
    assert used["weight_decay"] == "0.0001" and used["precision"] == "float32"


def _paired(rows):
    return pd.DataFrame([{"model_a": "vgg19_bn", "model_b": "svc", "seed": 0, "n": 300, **row} for row in rows])


def test_robustness_sentences_say_who_is_ahead_where_with_the_interval():
    paired = _paired([
        {"corruption": "contrast", "difference": -0.20, "low": -0.26, "high": -0.14, "significant": True},
        {"corruption": "blur", "difference": 0.01, "low": -0.03, "high": 0.05, "significant": False},
        {"corruption": "salt_and_pepper", "difference": 0.08, "low": 0.02, "high": 0.13, "significant": True},
        {"corruption": MEAN_ROW, "difference": -0.04, "low": -0.07, "high": -0.01, "significant": True},
    ])
    [sentence] = robustness_sentences(paired)
    assert sentence.startswith("VGG19-BN minus the RBF SVC (seed 0, 300 images")
    assert "on the mean over the corruption types -4.0 points, 95% interval -7.0 to -1.0, so the RBF SVC is more " \
           "robust on average" in sentence
    assert "the RBF SVC under contrast (-20.0 points" in sentence
    assert "VGG19-BN under salt and pepper (+8.0 points" in sentence
    assert "cannot be told apart under blur (the interval includes 0)" in sentence
    assert "VGG19-BN under blur" not in sentence and "SVC under blur" not in sentence


def test_robustness_sentences_without_a_difference_say_so():
    paired = _paired([{"corruption": MEAN_ROW, "difference": 0.0, "low": -0.02, "high": 0.02, "significant": False}])
    [sentence] = robustness_sentences(paired)
    assert "they cannot be told apart on average" in sentence and "more robust" not in sentence
    assert robustness_sentences(paired.iloc[0:0]) == []
