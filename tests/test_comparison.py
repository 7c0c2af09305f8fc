"""Pooling a repetition's folds: each image once, checked; the paired table on the pooled images."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from labwork6 import comparison, stats
from labwork6.recipes import resolve_config
from labwork6.run_config import write_config

#: 3 folds of 4 images each: the ids 0..11, shuffled over the folds as a cross-validation would.
FOLD_IDS = {0: [7, 2, 10, 4], 1: [0, 11, 5, 8], 2: [3, 9, 1, 6]}
LABELS = {image: image % 3 for image in range(12)}
#: The images each model gets wrong (by id).
WRONG = {"vgg19_bn": {2, 5, 9}, "resnet19": {2, 4, 11, 1, 6}}


def write_run(root, model, seed, fold, ids=None, folds=3):
    """A minimal run folder: config.json and predictions.csv (wrong = label + 1)."""
    ids = FOLD_IDS[fold] if ids is None else ids
    run_dir = root / f"digits-{model}-seed{seed}-fold{fold}of{folds}"
    run_dir.mkdir(parents=True)
    config = resolve_config(model, "digits", profile="default", seed=seed, folds=folds or 0,
                            fold=fold if folds else None).replace(
        num_classes=3, class_names=["0", "1", "2"], counts={"test": len(ids)}, status="completed")
    write_config(run_dir, config)
    labels = np.array([LABELS[image] for image in ids])
    predictions = np.where(np.isin(ids, list(WRONG[model])), (labels + 1) % 3, labels)
    pd.DataFrame({"index": np.arange(len(ids)), "image": ids, "label": labels, "prediction": predictions}).to_csv(
        run_dir / "predictions.csv", index=False)
    return {"run_dir": run_dir, "config": config}


@pytest.fixture
def runs(tmp_path):
    return [write_run(tmp_path, model, 0, fold) for model in WRONG for fold in range(3)]


def test_pooled_runs_hold_every_image_once(runs):
    pooled = comparison.pooled_runs([run for run in runs if run["config"].model == "vgg19_bn"])
    assert pooled["image"].tolist() == list(range(12))
    assert pooled["fold"].tolist() == [next(f for f, ids in FOLD_IDS.items() if image in ids) for image in range(12)]
    assert (pooled["label"] == [LABELS[i] for i in range(12)]).all()
    assert set(pooled[pooled["label"] != pooled["prediction"]]["image"]) == WRONG["vgg19_bn"]


def test_paired_table_on_the_pooled_images(runs):
    paired = comparison.paired_comparisons(runs)
    assert list(paired["fold"].astype(str)) == ["0", "1", "2", "pooled"]
    pooled = paired[paired["fold"].astype(str) == "pooled"].iloc[0]
    a_only = len(WRONG["resnet19"] - WRONG["vgg19_bn"])  # VGG right, ResNet wrong: 4, 11, 1, 6
    b_only = len(WRONG["vgg19_bn"] - WRONG["resnet19"])  # 5, 9
    assert (pooled["model_a"], pooled["model_b"], pooled["n"]) == ("vgg19_bn", "resnet19", 12)
    assert (pooled["a_only"], pooled["b_only"], pooled["both_wrong"]) == (a_only, b_only, 1)
    assert pooled["p_value"] == pytest.approx(binomtest(a_only, a_only + b_only).pvalue)
    assert pooled["smallest_p_value"] == pytest.approx(stats.smallest_p_value(a_only + b_only))
    assert pooled["minimum_detectable_difference"] == pytest.approx(
        stats.minimum_detectable_difference(12, a_only + b_only))
    assert pooled["difference"] == pytest.approx((a_only - b_only) / 12)
    low, high = stats.newcombe_interval(12 - a_only - b_only - 1, a_only, b_only, 1)
    assert (pooled["difference_low"], pooled["difference_high"]) == pytest.approx((low, high))
    fold0 = paired[paired["fold"].astype(str) == "0"].iloc[0]  # fold 0 holds 7, 2, 10, 4: only 4 is discordant
    assert (fold0["n"], fold0["a_only"], fold0["b_only"], fold0["both_wrong"]) == (4, 1, 0, 1)
    verdict = comparison.pair_verdict(paired)
    assert verdict["better"] is None and verdict["verdict"].startswith(
        f"VGG19-BN and ResNet19 cannot be told apart on the 12 test images (McNemar's exact p = "
        f"{pooled['p_value']:.2g}, 6 discordant images (4 against 2; the smallest p 6 can reach is 0.031); ")


def test_a_repeated_image_is_an_error(tmp_path):
    group = [write_run(tmp_path, "vgg19_bn", 0, 0), write_run(tmp_path, "vgg19_bn", 0, 1, ids=[0, 11, 5, 7]),
             write_run(tmp_path, "vgg19_bn", 0, 2)]
    with pytest.raises(ValueError, match=r"Image 7 has 2 test predictions \(folds \[0, 1\]\)"):
        comparison.pooled_runs(group)


def test_a_missing_fold_or_image_is_an_error(tmp_path, capsys):
    group = [write_run(tmp_path, "vgg19_bn", 0, fold) for fold in (0, 2)]
    with pytest.raises(ValueError, match=r"folds \[0, 2\]; a repetition needs each of the folds \[0, 1, 2\]"):
        comparison.pooled_runs(group)
    assert comparison.repetitions(group) == {}  # an incomplete seed is left out, and says so
    assert "missing [1]" in capsys.readouterr().out
    short = write_run(tmp_path, "vgg19_bn", 0, 1)
    frame = pd.read_csv(short["run_dir"] / "predictions.csv")
    frame.iloc[:3].to_csv(short["run_dir"] / "predictions.csv", index=False)  # a truncated file
    with pytest.raises(ValueError, match="3 predictions but the run tested 4 images"):
        comparison.pooled_runs([group[0], short, group[1]])


def test_runs_of_another_seed_do_not_pool(tmp_path):
    group = [write_run(tmp_path, "vgg19_bn", 0, 0), write_run(tmp_path, "vgg19_bn", 1, 1),
             write_run(tmp_path, "vgg19_bn", 0, 2)]
    with pytest.raises(ValueError, match="does not belong"):
        comparison.pooled_runs(group)


def test_a_holdout_run_without_image_ids_pools_by_position(tmp_path):
    run = write_run(tmp_path, "vgg19_bn", 0, 0, folds=None)
    frame = pd.read_csv(run["run_dir"] / "predictions.csv").drop(columns="image")
    frame.to_csv(run["run_dir"] / "predictions.csv", index=False)
    pooled = comparison.pooled_runs([run])
    assert pooled["image"].tolist() == [0, 1, 2, 3] and set(pooled["fold"]) == {0}
