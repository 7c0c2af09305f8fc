"""The classical baseline: an RBF support vector machine on raw pixels, as ordinary run folders.

For each (dataset, seed, subsample) of the network runs, :func:`fit_baseline` fits
``sklearn.svm.SVC(kernel="rbf")`` on exactly the same split, on the training and validation
images together (it has no epoch to select, so the validation images are extra training data),
and writes ``runs/<profile>/<dataset>-svc-seed<seed>/`` with the files of any run
(:mod:`labwork6.runs`): ``config.json`` (``model: "svc"``), ``predictions.csv``,
``metrics.json``, ``confusion_matrix.csv``, ``classification_report.csv``, ``timing.json``
(``train_seconds``: the fit), ``robustness.csv`` (the test images under the corruptions of
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

from labwork6.robustness import ROBUSTNESS_FILE, ROBUSTNESS_PREDICTIONS, SEVERITY_PARAMETERS, evaluate_robustness
from labwork6.runs import load_json, load_run, run_lock, write_evaluation, write_json

MODEL_NAME = "svc"
#: The baseline is fitted on at most this many images (an RBF SVC is quadratic in the
#: training set; CIFAR-10's 42,500 training and validation images would take hours).
SVC_MAX_TRAIN = 10_000
FEATURES = "raw pixels scaled to [0, 1]"
#: Each test image's prediction under each corruption (columns corruption, severity, index, prediction).
BASELINE_FILES = ("config.json", "predictions.csv", "metrics.json", "confusion_matrix.csv",
                  "classification_report.csv", "timing.json", ROBUSTNESS_FILE, ROBUSTNESS_PREDICTIONS)
#: What must be equal for a baseline folder to be reused.
_SAME_CONFIGURATION = ("model", "dataset", "seed", "subsample", "profile", "kernel", "features", "max_train",
                       "corruptions")


def pixel_features(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, H, W, C) -> float32 (N, H*W*C) in [0, 1]: the SVC's features."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def baseline_dir(profile_dir, dataset: str, seed: int) -> Path:
    """``<profile_dir>/<dataset>-svc-seed<seed>``, next to the network runs of the profile."""
    dataset_label = Path(str(dataset).rstrip("/")).name or str(dataset)
    return Path(profile_dir) / f"{dataset_label}-{MODEL_NAME}-seed{int(seed)}"


def _reusable(run_dir: Path, config: dict) -> bool:
    previous = load_json(run_dir / "config.json")
    if not previous or previous.get("status") != "completed":
        return False
    if not all((run_dir / name).exists() for name in BASELINE_FILES):
        return False
    return all(previous.get(key) == config[key] for key in _SAME_CONFIGURATION)


def fit_baseline(dataset: str, seed: int, subsample: int | None, profile: str, run_dir, *,
                 max_train: int = SVC_MAX_TRAIN, overwrite: bool = False) -> Path:
    """Fit the RBF SVC on the split of (``dataset``, ``seed``, ``subsample``) and write its run
    folder ``run_dir``; return the folder.

    The split is the one the networks of that seed were trained on
    (:func:`labwork6.data.load_dataset` then ``subsample``). The SVC is fitted on training +
    validation images (a stratified ``max_train`` of them when there are more), pixels
    scaled to [0, 1] at the dataset's own size, with scikit-learn's defaults; it is tested
    once on the test split. The SVC gives no probabilities: the ``prob_<class>`` columns of
    ``predictions.csv`` are its one-hot predictions. A completed folder with the same
    configuration is returned as it is unless ``overwrite``. The folder is locked while it is
    read and written (:func:`labwork6.runs.run_lock`).
    """
    with run_lock(run_dir):
        return _fit_baseline(dataset, seed, subsample, profile, run_dir, max_train=max_train, overwrite=overwrite)


def _fit_baseline(dataset: str, seed: int, subsample: int | None, profile: str, run_dir, *,
                  max_train: int = SVC_MAX_TRAIN, overwrite: bool = False) -> Path:
    """The body of :func:`fit_baseline`, run under the folder's lock."""
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    from labwork6.data import load_dataset

    if isinstance(max_train, bool) or not isinstance(max_train, (int, np.integer)) or max_train < 2:
        raise ValueError(f"max_train must be an int of at least 2 images. Received: max_train={max_train!r}")
    run_dir = Path(run_dir)
    config = {"model": MODEL_NAME, "status": "running", "dataset": str(dataset), "seed": int(seed),
              "subsample": int(subsample) if subsample else None, "profile": str(profile), "kernel": "rbf",
              "features": FEATURES, "max_train": int(max_train),
              "corruptions": {name: list(values) for name, values in SEVERITY_PARAMETERS.items()}}
    if not overwrite and _reusable(run_dir, config):
        return run_dir
    data = load_dataset(dataset, seed=int(seed))
    if subsample:
        data = data.subsample(int(subsample), seed=int(seed))
    features = np.concatenate([pixel_features(data.train.images), pixel_features(data.val.images)])
    labels = np.concatenate([data.train.labels, data.val.labels])
    if len(labels) > max_train:
        features, _, labels, _ = train_test_split(features, labels, train_size=int(max_train), stratify=labels,
                                                  random_state=int(seed))
    class_counts = data.counts()
    from labwork6.machine import environment

    config.update(
        class_names=list(data.class_names), num_classes=data.num_classes,
        counts={split: int(len(part)) for split, part in data.splits.items()},
        class_counts={split: {name: int(n) for name, n in class_counts[split].items()} for split in data.splits},
        raw_input_shape=list(data.image_shape), source=str(data.source or dataset), fit_images=int(len(labels)),
        **environment(),
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", config)
    start = time.perf_counter()
    classifier = SVC(kernel="rbf").fit(features, labels)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predictions = classifier.predict(pixel_features(data.test.images))
    predict_seconds = time.perf_counter() - start
    one_hot = np.eye(data.num_classes)[predictions]
    write_evaluation(run_dir, data.test.labels, predictions, one_hot, data.class_names,
                     support_vectors=int(classifier.support_vectors_.shape[0]))
    write_json(run_dir / "timing.json", {"train_seconds": fit_seconds, "test_predict_seconds": predict_seconds,
                                         "fit_images": int(len(labels))})
    # Classified from their pixels, under the corruptions of the network runs of this seed.
    evaluate_robustness(run_dir, lambda batch: classifier.predict(pixel_features(batch)), data.test.images,
                        data.test.labels, int(seed))
    config["status"] = "completed"
    write_json(run_dir / "config.json", config)
    return run_dir


def ensure_baselines(runs: Iterable[dict], *, max_train: int = SVC_MAX_TRAIN, overwrite: bool = False) -> list[Path]:
    """The baseline run folder of every (dataset, seed) of ``runs`` (:func:`labwork6.runs.load_run`
    dicts of network runs), fitted where missing (:func:`fit_baseline`), in seed order.

    Each baseline goes next to the first run (by model name) of its seed and uses that
    run's dataset, subsample and profile. A warning is printed when its test labels differ
    from a run's ``predictions.csv`` (the baseline would then not be on the same images).
    """
    runs = list(runs)
    firsts: dict[tuple, dict] = {}
    for run in sorted(runs, key=lambda run: (run["config"]["model"], run["config"]["seed"])):
        config = run["config"]
        firsts.setdefault((Path(run["run_dir"]).parent, str(config["dataset"]), int(config["seed"])), run)
    folders = []
    for (profile_dir, dataset, seed), run in sorted(firsts.items(), key=lambda item: item[0][2]):
        config = run["config"]
        folder = fit_baseline(dataset, seed, config.get("subsample"), config.get("profile", profile_dir.name),
                              baseline_dir(profile_dir, dataset, seed), max_train=max_train, overwrite=overwrite)
        _warn_if_other_split(folder, [other for other in runs if int(other["config"]["seed"]) == seed
                                      and str(other["config"]["dataset"]) == dataset])
        folders.append(folder)
    return folders


def _warn_if_other_split(folder: Path, runs: Iterable[dict]) -> None:
    labels = pd.read_csv(folder / "predictions.csv")["label"].to_numpy()
    for run in runs:
        predictions = Path(run["run_dir"]) / "predictions.csv"
        if not predictions.exists():
            continue
        theirs = pd.read_csv(predictions)["label"].to_numpy()
        if len(theirs) != len(labels) or np.any(theirs != labels):
            print(f"[labwork6] warning: the SVC's test split in {folder} differs from the one in {predictions}; "
                  "the baseline is not on the same images.")


def load_baselines(runs: Iterable[dict], **options) -> list[dict]:
    """:func:`ensure_baselines`, then each baseline folder read with :func:`labwork6.runs.load_run`."""
    return [load_run(folder) for folder in ensure_baselines(list(runs), **options)]
