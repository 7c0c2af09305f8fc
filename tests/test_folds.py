"""k-fold cross-validation: every image tested exactly once, stratified, seeded; the config keys and run names."""

import numpy as np
import pytest
from PIL import Image

from labwork6.data import fold_assignment, has_own_test_split, load_dataset
from labwork6.recipes import resolve_config, robustness_split, run_dataset
from labwork6.runs import run_name

DIGITS = 1797


@pytest.fixture(scope="module")
def folds():
    return [load_dataset("digits", seed=0, folds=3, fold=fold) for fold in range(3)]


def test_the_test_folds_partition_every_digit_exactly_once(folds):
    ids = np.concatenate([data.test.ids for data in folds])
    assert len(ids) == DIGITS and np.array_equal(np.sort(ids), np.arange(DIGITS))
    assert [len(data.test) for data in folds] == [599, 599, 599]
    for data in folds:
        assert (data.folds, data.evaluation) == (3, "cross-validation")
        splits = {name: set(part.ids.tolist()) for name, part in data.splits.items()}
        assert not splits["val"] & splits["test"] and not splits["train"] & splits["test"]
        assert not splits["train"] & splits["val"]
        assert len(splits["train"]) + len(splits["val"]) + len(splits["test"]) == DIGITS  # nothing dropped
        assert len(splits["val"]) == int(np.ceil(0.15 * (DIGITS - len(data.test))))


def test_the_folds_are_stratified_per_class(folds):
    counts = np.array([np.bincount(data.test.labels, minlength=10) for data in folds])
    totals = np.bincount(np.concatenate([data.test.labels for data in folds]), minlength=10)
    assert (counts.max(axis=0) - counts.min(axis=0) <= 1).all()  # each class spread evenly
    assert (counts.sum(axis=0) == totals).all()
    validation = np.bincount(folds[0].val.labels, minlength=10)
    assert validation.min() >= 17 and validation.max() <= 19  # 15% of each class of the other folds


def test_the_split_is_a_pure_function_of_seed_and_fold(folds):
    again = load_dataset("digits", seed=0, folds=3, fold=1)
    for name in ("train", "val", "test"):
        assert np.array_equal(getattr(again, name).ids, getattr(folds[1], name).ids)
    other = load_dataset("digits", seed=1, folds=3, fold=1)
    assert not np.array_equal(other.test.ids, folds[1].test.ids)
    labels = load_dataset("digits").train.labels
    assert np.array_equal(fold_assignment(labels, 3, seed=5), fold_assignment(labels, 3, seed=5))
    assert not np.array_equal(fold_assignment(labels, 3, seed=5), fold_assignment(labels, 3, seed=6))


def test_images_are_the_rows_of_load_digits(folds):
    from sklearn.datasets import load_digits

    rows = load_digits()
    data = folds[2]
    assert np.array_equal(rows.target[data.test.ids], data.test.labels)
    expected = np.rint(rows.images[data.test.ids[:5]] * (255 / 16)).astype(np.uint8)
    assert np.array_equal(data.test.images[:5, ..., 0], expected)


def test_a_small_set_is_drawn_before_folding():
    parts = [load_dataset("digits", seed=0, folds=2, fold=fold, max_images=120) for fold in range(2)]
    ids = np.concatenate([data.test.ids for data in parts])
    assert len(ids) == 120 and len(np.unique(ids)) == 120
    assert set(ids) == set(np.concatenate([parts[0].train.ids, parts[0].val.ids, parts[0].test.ids]))
    assert (np.bincount(np.concatenate([data.test.labels for data in parts]), minlength=10) == 12).all()


@pytest.mark.parametrize(
    ("options", "fragment"),
    [({"folds": 1}, "folds=1"), ({"folds": 3, "fold": 3}, "fold=3"), ({"folds": 3, "fold": -1}, "fold=-1"),
     ({"folds": 2.5}, "folds=2.5"), ({"folds": 3, "max_images": 1}, "max_images=1")],
)
def test_bad_folds_name_the_value(options, fragment):
    with pytest.raises(ValueError, match=fragment):
        load_dataset("digits", **options)


def test_a_class_smaller_than_the_folds_is_refused(tmp_path):
    for name, count in (("cat", 6), ("dog", 2)):
        (tmp_path / name).mkdir()
        for index in range(count):
            image = np.full((8, 8), 40 * index + (name == "dog"), np.uint8)
            Image.fromarray(image).save(tmp_path / name / f"{index}.png")
    with pytest.raises(ValueError, match=r"at least 3 images.*\['dog'\]"):
        load_dataset(tmp_path, folds=3)


def write_folder(root, per_class=9):
    for label, name in enumerate(("cat", "dog")):
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            Image.fromarray(np.full((8, 8), 10 * index + label, np.uint8)).save(root / name / f"{index}.png")


def test_a_folder_without_test_is_cross_validated_by_file(tmp_path):
    write_folder(tmp_path)
    parts = [load_dataset(tmp_path, folds=3, fold=fold) for fold in range(3)]
    files = sorted(file for data in parts for file in data.test.ids)
    assert files == sorted(f"{name}/{index}.png" for name in ("cat", "dog") for index in range(9))
    assert not has_own_test_split(tmp_path)


def test_sources_with_their_own_test_split_keep_it(tmp_path):
    write_folder(tmp_path / "train")
    write_folder(tmp_path / "test", per_class=3)
    data = load_dataset(tmp_path, folds=3, fold=1)
    assert data.folds is None and data.evaluation == "holdout" and len(data.test) == 6
    assert any("folds=3 not used" in note for note in data.notes)
    assert has_own_test_split(tmp_path) and has_own_test_split("cifar10") and not has_own_test_split("digits")
    config = resolve_config("vgg19", "cifar10", profile="default", fold=2)
    assert (config.folds, config.fold, config.evaluation) == (None, None, "holdout")


def test_config_keys_and_run_names():
    config = resolve_config("resnet19", profile="default", seed=4)
    assert (config.folds, config.fold, config.evaluation) == (3, 0, "cross-validation")
    assert run_name(config) == "digits-resnet19-seed4-fold0of3"
    assert run_name(resolve_config("resnet19", profile="default", seed=4, fold=2)) == "digits-resnet19-seed4-fold2of3"
    holdout = resolve_config("resnet19", profile="default", folds=0)
    assert (holdout.folds, holdout.evaluation) == (None, "holdout")
    assert run_name(holdout) == "digits-resnet19-seed0"
    assert resolve_config("vgg19", profile="full").folds is None  # CIFAR-10 keeps its test split
    smoke = resolve_config("vgg19", profile="smoke")
    assert (smoke.folds, smoke.subsample, smoke.robustness_severities) == (2, 120, (1, 3, 5))


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [({"fold": 3}, "fold=3"), ({"folds": 1}, "folds=1"), ({"folds": 0, "fold": 1}, "fold=1"),
     ({"train_fraction": 1.5}, "train_fraction=1.5"), ({"contrast_augmentation": 1.0}, "contrast_augmentation=1.0"),
     ({"robustness_images": 0}, "robustness_images=0"), ({"robustness_severities": [0, 1]}, r"\[0, 1\]")],
)
def test_bad_evaluation_options_name_the_value(overrides, fragment):
    with pytest.raises(ValueError, match=fragment):
        resolve_config("vgg19", profile="default", **overrides)


def test_train_fraction_thins_only_the_training_split():
    full = run_dataset(resolve_config("vgg19", profile="smoke"))
    thinned = run_dataset(resolve_config("vgg19", profile="smoke", train_fraction=0.5))
    assert len(thinned.train) == int(np.ceil(0.5 * len(full.train)))
    assert set(thinned.train.ids.tolist()) < set(full.train.ids.tolist())
    assert np.array_equal(thinned.test.ids, full.test.ids) and np.array_equal(thinned.val.ids, full.val.ids)


def test_robustness_images_are_a_stratified_seeded_subset_of_each_fold():
    picked = []
    for fold in range(3):
        config = resolve_config("vgg19", profile="default", fold=fold)
        data = run_dataset(config)
        scored = robustness_split(config, data)
        assert len(scored) == 100 and set(scored.ids.tolist()) <= set(data.test.ids.tolist())
        assert np.bincount(scored.labels, minlength=10).min() >= 9  # every class, in proportion
        assert np.array_equal(robustness_split(config, data).ids, scored.ids)
        picked.append(scored.ids)
    everything = np.concatenate(picked)
    assert len(np.unique(everything)) == 300  # no image scored twice in a seed
