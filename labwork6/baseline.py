"""The classical baseline: an RBF support vector machine on raw pixels, as ordinary run folders.

For each (dataset, seed, fold, subsample) of the network runs, :func:`fit_baseline` fits
``sklearn.svm.SVC(kernel="rbf")`` on exactly the same split (the same fold of the same
cross-validation), on the training and validation images together (it has no epoch to select, so
the validation images are extra training data), and writes
``runs/<profile>/<dataset>-svc-seed<seed>[-fold<F>of<K>]/`` with the files of any run
(:mod:`labwork6.runs`): ``config.json`` (``model: "svc"``), ``predictions.csv``,
``metrics.json``, ``confusion_matrix.csv``, ``classification_report.csv``, ``timing.json``
(``train_seconds``: the fit), ``robustness.csv`` (the test images the network runs of that fold
score, :func:`labwork6.recipes.robustness_split`, under the corruptions of
:mod:`labwork6.robustness`, seeded by the seed, as every network run of that seed sees them)
and ``robustness_predictions.csv`` (each image's predicted label under each corruption, for
the paired robustness tests). A folder with the same configuration and every file is reused;
an older folder without the robustness files is fitted again. :func:`ensure_baselines` does it
for a list of network runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from labwork6.recipes import robustness_split, run_dataset
from labwork6.robustness import (
    ROBUSTNESS_FILE,
    ROBUSTNESS_PREDICTIONS,
    SEVERITIES,
    SEVERITY_PARAMETERS,
    evaluate_robustness,
)
from labwork6.run_config import COMPLETED, SVC_MAX_TRAIN, TRAINING, BaselineConfig, read_config, write_config
from labwork6.runs import load_run, run_lock, run_name, write_evaluation, write_json

MODEL_NAME = BaselineConfig.model
FEATURES = "raw pixels scaled to [0, 1]"
#: Each test image's prediction under each corruption (columns corruption, severity, index, prediction).
BASELINE_FILES = ("config.json", "predictions.csv", "metrics.json", "confusion_matrix.csv",
                  "classification_report.csv", "timing.json", ROBUSTNESS_FILE, ROBUSTNESS_PREDICTIONS)


def pixel_features(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, H, W, C) -> float32 (N, H*W*C) in [0, 1]: the SVC's features."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def baseline_dir(profile_dir, dataset: str, seed: int, folds: int | None = None, fold: int | None = None) -> Path:
    """``<profile_dir>/<dataset>-svc-seed<seed>`` (with ``-fold<F>of<K>`` for a fold of a
    cross-validation), next to the network runs of the profile."""
    return Path(profile_dir) / run_name(BaselineConfig(dataset=dataset, profile=Path(profile_dir).name, seed=seed,
                                                       folds=folds, fold=fold))


def _reusable(run_dir: Path, config: BaselineConfig) -> bool:
    try:
        previous = read_config(run_dir)
    except ValueError:  # a folder of an older labwork6 (RunFormatError) is fitted again
        return False
    if previous is None or previous.status != COMPLETED:
        return False
    if not all((run_dir / name).exists() for name in BASELINE_FILES):
        return False
    return previous.settings() == config.settings()


def fit_baseline(dataset: str, seed: int, subsample: int | None, profile: str, run_dir, *, folds: int | None = None,
                 fold: int | None = None, robustness_images: int | None = None,
                 robustness_severities=SEVERITIES, max_train: int = SVC_MAX_TRAIN, overwrite: bool = False) -> Path:
    """Fit the RBF SVC on the split of (``dataset``, ``seed``, ``folds``, ``fold``, ``subsample``)
    and write its run folder ``run_dir``; return the folder.

    The split is the one the networks of that seed and fold were trained on
    (:func:`labwork6.recipes.run_dataset`). The SVC is fitted on training + validation images (a
    stratified ``max_train`` of them when there are more), pixels scaled to [0, 1] at the dataset's
    own size, with scikit-learn's defaults; it is tested once on the test split, and on the same
    ``robustness_images`` of it as the networks, at ``robustness_severities``. The SVC gives no
    probabilities: the ``prob_<class>`` columns of ``predictions.csv`` are its one-hot predictions.
    A completed folder with the same configuration is returned as it is unless ``overwrite``. The
    folder is locked while it is read and written (:func:`labwork6.runs.run_lock`).
    """
    with run_lock(run_dir):
        return _fit_baseline(dataset, seed, subsample, profile, run_dir, folds=folds, fold=fold,
                             robustness_images=robustness_images, robustness_severities=robustness_severities,
                             max_train=max_train, overwrite=overwrite)


def _fit_baseline(dataset: str, seed: int, subsample: int | None, profile: str, run_dir, *, folds, fold,
                  robustness_images, robustness_severities, max_train: int, overwrite: bool) -> Path:
    """The body of :func:`fit_baseline`, run under the folder's lock."""
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    if isinstance(max_train, bool) or not isinstance(max_train, (int, np.integer)) or max_train < 2:
        raise ValueError(f"max_train must be an int of at least 2 images. Received: max_train={max_train!r}")
    run_dir = Path(run_dir)
    config = BaselineConfig(
        status=TRAINING, dataset=str(dataset), seed=int(seed), subsample=int(subsample) if subsample else None,
        profile=str(profile), kernel="rbf", features=FEATURES, max_train=int(max_train),
        corruptions={name: list(values) for name, values in SEVERITY_PARAMETERS.items()},
        folds=int(folds) if folds else None, fold=int(fold) if folds else None,
        robustness_images=int(robustness_images) if robustness_images else None,
        robustness_severities=tuple(int(s) for s in robustness_severities))
    if not overwrite and _reusable(run_dir, config):
        return run_dir
    data = run_dataset(config)
    features = np.concatenate([pixel_features(data.train.images), pixel_features(data.val.images)])
    labels = np.concatenate([data.train.labels, data.val.labels])
    if len(labels) > max_train:
        features, _, labels, _ = train_test_split(features, labels, train_size=int(max_train), stratify=labels,
                                                  random_state=int(seed))
    class_counts = data.counts()
    from labwork6.machine import environment

    config = config.replace(
        class_names=data.class_names, num_classes=data.num_classes,
        counts={split: int(len(part)) for split, part in data.splits.items()},
        class_counts={split: {name: int(n) for name, n in class_counts[split].items()} for split in data.splits},
        raw_input_shape=data.image_shape, source=str(data.source or dataset), fit_images=int(len(labels)),
        **environment(),
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    write_config(run_dir, config)
    start = time.perf_counter()
    classifier = SVC(kernel="rbf").fit(features, labels)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predictions = classifier.predict(pixel_features(data.test.images))
    predict_seconds = time.perf_counter() - start
    one_hot = np.eye(data.num_classes)[predictions]
    write_evaluation(run_dir, data.test.labels, predictions, one_hot, data.class_names, image_ids=data.test.ids,
                     support_vectors=int(classifier.support_vectors_.shape[0]))
    write_json(run_dir / "timing.json", {"train_seconds": fit_seconds, "test_predict_seconds": predict_seconds,
                                         "fit_images": int(len(labels))})
    # Classified from their pixels, the images and corruptions of the network runs of this seed and fold.
    scored = robustness_split(config, data)
    evaluate_robustness(run_dir, lambda batch: classifier.predict(pixel_features(batch)), scored.images,
                        scored.labels, int(seed), ids=scored.ids, severities=config.robustness_severities)
    write_config(run_dir, config.replace(status=COMPLETED))
    return run_dir


def ensure_baselines(runs: Iterable[dict], *, max_train: int = SVC_MAX_TRAIN, overwrite: bool = False) -> list[Path]:
    """The baseline run folder of every (dataset, seed, fold) of ``runs`` (:func:`labwork6.runs.load_run`
    dicts of network runs), fitted where missing (:func:`fit_baseline`), in seed and fold order.

    Each baseline goes next to the first run (by model name) of its seed and fold and uses that
    run's dataset, subsample, profile and robustness settings. A warning is printed when its test
    images differ from a run's ``predictions.csv`` (the baseline would then not be on the same images).
    """
    runs = list(runs)
    firsts: dict[tuple, dict] = {}
    for run in sorted(runs, key=lambda run: (run["config"].model, run["config"].seed)):
        config = run["config"]
        key = (Path(run["run_dir"]).parent, str(config.dataset), int(config.seed), config.folds or None,
               config.fold if config.folds else None)
        firsts.setdefault(key, run)
    folders = []
    for (profile_dir, dataset, seed, folds, fold), run in sorted(firsts.items(),
                                                                 key=lambda item: (item[0][2], item[0][4] or 0)):
        config = run["config"]
        folder = fit_baseline(dataset, seed, config.subsample, config.profile,
                              baseline_dir(profile_dir, dataset, seed, folds, fold), folds=folds, fold=fold,
                              robustness_images=config.robustness_images,
                              robustness_severities=config.robustness_severities or SEVERITIES,
                              max_train=max_train, overwrite=overwrite)
        _warn_if_other_split(folder, [other for other in runs if int(other["config"].seed) == seed
                                      and str(other["config"].dataset) == dataset
                                      and other["config"].fold == config.fold])
        folders.append(folder)
    return folders


def _warn_if_other_split(folder: Path, runs: Iterable[dict]) -> None:
    ours = pd.read_csv(folder / "predictions.csv")
    for run in runs:
        predictions = Path(run["run_dir"]) / "predictions.csv"
        if not predictions.exists():
            continue
        theirs = pd.read_csv(predictions)
        column = "image" if "image" in theirs and "image" in ours else "label"
        if len(theirs) != len(ours) or np.any(theirs[column].to_numpy() != ours[column].to_numpy()):
            print(f"[labwork6] warning: the SVC's test split in {folder} differs from the one in {predictions}; "
                  "the baseline is not on the same images.")


def load_baselines(runs: Iterable[dict], **options) -> list[dict]:
    """:func:`ensure_baselines`, then each baseline folder read with :func:`labwork6.runs.load_run`."""
    return [load_run(folder) for folder in ensure_baselines(list(runs), **options)]
