"""Reading the runs of a profile: their models, repetitions and labels, and their pooled test results.

:func:`load_runs` reads the completed network runs of a profile (``runs/<profile>/...``, see
:mod:`labwork6.runs`); :func:`group_runs` and :func:`repetitions` arrange them (with the SVC
baseline runs of :mod:`labwork6.baseline`). A *repetition* is one seed of a model: the k runs of a
k-fold cross-validation (each testing one fold), or one holdout run. :func:`pooled_runs` joins a
repetition's test predictions into one per image, checking that every image is tested exactly
once, and :func:`pooled_intervals` gives its metrics with 95% intervals; :func:`run_intervals`
gives one run's.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from labwork6.baseline import MODEL_NAME as BASELINE_MODEL
from labwork6.metrics import macro_metric
from labwork6.models import model_family
from labwork6.profiles import PROFILES, get_profile
from labwork6.profiles import runs_root as resolve_runs_root
from labwork6.runs import find_runs, load_run
from labwork6.stats import accuracy_interval, metric_interval

#: How each model is written in tables and prose.
MODEL_LABELS = {
    "vgg11": "VGG11", "vgg13": "VGG13", "vgg16": "VGG16", "vgg19": "VGG19", "vgg19_bn": "VGG19-BN",
    "resnet18": "ResNet18", "resnet19": "ResNet19", "resnet34": "ResNet34", "resnet50": "ResNet50",
    "plain34": "Plain34", BASELINE_MODEL: "RBF SVC (pixels)",
}
SVC_LABEL = MODEL_LABELS[BASELINE_MODEL]
#: Training and inference costs of a run that the comparison shows (the baseline has ``train_seconds`` only).
COST_KEYS = ("epochs_run", "steps", "train_seconds", "inference_latency_ms", "inference_throughput")
#: The test metrics and how tables title them.
METRICS = (("accuracy", "Accuracy"), ("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"))
#: The level of every test in the report; intervals are at 1 - ALPHA (95%).
ALPHA = 0.05
#: Bootstrap resamples of every bootstrap interval.
N_RESAMPLES = 2000


def model_label(name: str) -> str:
    """How a model (``vgg19_bn``) is written in the report (``VGG19-BN``)."""
    return MODEL_LABELS.get(name, name)


# --------------------------------------------------------------------------- runs


def load_runs(runs_root="runs", profile: str = "default", dataset: str | None = None) -> list[dict]:
    """Every completed network run of ``profile`` on one dataset, as :func:`labwork6.runs.load_run`
    dicts, sorted by model and seed (the SVC baseline runs are left out).

    Args:
        runs_root: the folder holding ``<profile>/<dataset>-<model>-seed<seed>/``
            (None: ``$LABWORK6_RUNS`` or ``runs``).
        profile: the profile whose runs are read.
        dataset: keep the runs of this dataset; None keeps the profile's dataset, or the
            dataset with the most runs when the profile's has none.

    Raises:
        FileNotFoundError: no completed run (naming the folder and the commands that
            create runs).
    """
    root = resolve_runs_root(runs_root)
    runs = []
    for folder in find_runs(root, profile):
        run = load_run(folder)
        if run["config"].model == BASELINE_MODEL:
            continue
        if run["metrics"] is None or run["timing"] is None:
            raise FileNotFoundError(f"Run {folder} is marked completed but metrics.json or timing.json is "
                                    "missing or unreadable; train it again with --overwrite.")
        runs.append(run)
    if not runs:
        raise FileNotFoundError(
            f"No completed runs under '{(root / profile).resolve()}'. Train them first: "
            f"`python -m labwork6 train --model vgg19_bn --profile {profile}` (and --model resnet19), "
            f"`make notebooks PROFILE={profile}`, or `make all PROFILE={profile}`."
        )
    datasets = Counter(run["config"].dataset for run in runs)
    if dataset is None:
        wanted = get_profile(profile)["dataset"] if profile in PROFILES else None
        dataset = wanted if wanted in datasets else datasets.most_common(1)[0][0]
    kept = [run for run in runs if run["config"].dataset == dataset]
    if not kept:
        raise FileNotFoundError(f"No completed runs on dataset {dataset!r} under '{root / profile}'. "
                                f"Datasets with runs: {sorted(datasets)}.")
    if len(datasets) > 1:
        others = sorted(set(datasets) - {dataset})
        print(f"[labwork6] the report uses the {len(kept)} runs on {dataset!r}; runs on {others} are left out.")
    # One evaluation design: the profile's number of folds when it has runs, else the most common one
    designs = Counter(run_folds(run) for run in kept)
    wanted = get_profile(profile).get("folds") if profile in PROFILES else None
    design = wanted if wanted in designs else designs.most_common(1)[0][0]
    if len(designs) > 1:
        left = sum(count for folds, count in designs.items() if folds != design)
        print(f"[labwork6] the report uses the runs of {_design_text(design)}; {left} run(s) of another design "
              "(another number of folds, or holdout runs of an older labwork6) are left out.")
    kept = [run for run in kept if run_folds(run) == design]
    return sorted(kept, key=run_order)


def run_folds(run: dict) -> int | None:
    """A run's number of cross-validation folds, None for a holdout run."""
    return run["config"].folds or None


def run_order(run: dict) -> tuple:
    """Sort key of runs: model, seed, fold."""
    config = run["config"]
    return config.model, int(config.seed), int(config.fold or 0)


def _design_text(folds: int | None) -> str:
    return f"{folds}-fold cross-validation" if folds else "holdout splits"


def group_runs(runs: Iterable[dict]) -> dict[str, list[dict]]:
    """Network runs grouped by model name (VGG models first, then ResNets), each list by seed and fold."""
    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(run["config"].model, []).append(run)
    order = sorted(groups, key=lambda name: (model_family(name) != "vgg", name))
    return {name: sorted(groups[name], key=run_order) for name in order}


def primary_models(runs: Iterable[dict]) -> dict[str, str | None]:
    """The two models the report compares: ``{"vgg": ..., "resnet": ...}``.

    Of each family, the runs' profile's model (``vgg19_bn``, ``resnet19``) when it has
    runs, else VGG19 or ResNet19, else the first model (None when a family has no run).
    """
    runs = list(runs)
    names = list(group_runs(runs))
    profile = runs[0]["config"].profile if runs else None
    profile_models = get_profile(profile)["models"] if profile in PROFILES else ()
    chosen = {}
    for family, fallback in (("vgg", "vgg19"), ("resnet", "resnet19")):
        candidates = [name for name in names if model_family(name) == family]
        preferred = [name for name in profile_models if model_family(name) == family] + [fallback]
        chosen[family] = next((name for name in preferred if name in candidates),
                              candidates[0] if candidates else None)
    return chosen


def repetitions(runs: Iterable[dict], baseline: Iterable[dict] = ()) -> dict[str, dict[int, list[dict]]]:
    """``{model name: {seed: [its runs, by fold]}}`` of the network runs and the baseline's (``svc``).

    A seed of a k-fold cross-validation is complete with its k folds; an incomplete one (a fold
    not trained yet) is left out with a printed note, since its pooled predictions would miss
    images. A holdout run is a repetition on its own."""
    found: dict[str, dict[int, list[dict]]] = {}
    for run in sorted([*runs, *baseline], key=run_order):
        found.setdefault(run["config"].model, {}).setdefault(int(run["config"].seed), []).append(run)
    for name, seeds in found.items():
        for seed, group in list(seeds.items()):
            folds = run_folds(group[0])
            present = sorted(int(run["config"].fold or 0) for run in group)
            if folds and present != list(range(folds)):
                missing = sorted(set(range(folds)) - set(present))
                print(f"[labwork6] {model_label(name)} seed {seed} has folds {present} of {folds} (missing "
                      f"{missing}): left out of the comparison until every fold is trained.")
                del seeds[seed]
    return {name: seeds for name, seeds in found.items() if seeds}


def runs_by_seed(runs: Iterable[dict], baseline: Iterable[dict] = ()) -> dict[str, dict[int, list[dict]]]:
    """The same as :func:`repetitions` (kept for the notebooks of earlier rounds)."""
    return repetitions(runs, baseline)


def short_label(name: str) -> str:
    """How a model is named where space is short ("SVC", "VGG19-BN")."""
    return "SVC" if name == BASELINE_MODEL else model_label(name)


def prose_label(name: str) -> str:
    """How a model is named inside a sentence ("the RBF SVC", "VGG19-BN")."""
    return "the RBF SVC" if name == BASELINE_MODEL else model_label(name)


# --------------------------------------------------------------------------- one run's test results


def test_predictions(run: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(true labels, predicted labels)`` of a run's test images (``predictions.csv``)."""
    frame = pd.read_csv(Path(run["run_dir"]) / "predictions.csv")
    return frame["label"].to_numpy(np.int64), frame["prediction"].to_numpy(np.int64)


def _run_predictions(run: dict, design: tuple) -> pd.DataFrame:
    """A run's ``predictions.csv`` as columns ``image``, ``fold``, ``label``, ``prediction``, checked
    against its config (``design``: the repetition's model, seed, dataset and folds)."""
    config, path = run["config"], Path(run["run_dir"]) / "predictions.csv"
    mine = (config.model, int(config.seed), str(config.dataset), run_folds(run))
    if mine != design:
        raise ValueError(f"{run['run_dir']} (model, seed, dataset, folds = {mine}) does not belong with the runs of "
                         f"{design}: a repetition pools the folds of one model and seed.")
    if not path.exists():
        raise FileNotFoundError(f"No predictions.csv in {run['run_dir']}: the run has no test results. Train it "
                                "again with --overwrite.")
    frame = pd.read_csv(path)
    if "image" not in frame:
        if design[3]:
            raise ValueError(f"{path} has no `image` column (written by an older labwork6): the folds cannot be "
                             "checked to test each image once. Train the run again with --overwrite.")
        frame["image"] = frame["index"]  # a holdout run: its test split's positions name its images
    expected = (config.counts or {}).get("test")
    if expected is not None and len(frame) != int(expected):
        raise ValueError(f"{path} holds {len(frame)} predictions but the run tested {expected} images (config.json): "
                         "images are missing. Train the run again with --overwrite.")
    frame["fold"] = int(config.fold or 0)
    return frame[["image", "fold", "label", "prediction"]]


def pooled_runs(group: Sequence[dict]) -> pd.DataFrame:
    """One repetition's test predictions, one row per image: columns ``image`` (its id in the
    source), ``fold`` (the fold that tested it; 0 for a holdout run), ``label`` and ``prediction``,
    sorted by image.

    Raises ``ValueError`` unless the runs are the folds 0..k-1 of one model, seed and dataset,
    each with as many predictions as test images, and no image is tested twice: then every
    image of the source is tested exactly once (the folds partition it).
    """
    group = list(group)
    if not group:
        raise ValueError("pooled_runs needs the runs of one repetition. Received: no run.")
    first = group[0]["config"]
    design = (first.model, int(first.seed), str(first.dataset), run_folds(group[0]))
    folds = sorted(int(run["config"].fold or 0) for run in group)
    expected = list(range(design[3])) if design[3] else [0]
    if folds != expected:
        raise ValueError(f"The runs of {model_label(design[0])} seed {design[1]} are folds {folds}; a repetition needs "
                         f"each of the folds {expected} once. Train the missing folds (`labwork6 train --folds "
                         f"{design[3]} --fold F`) or remove the extra run folders.")
    frame = pd.concat([_run_predictions(run, design) for run in group], ignore_index=True)
    repeated = frame[frame["image"].duplicated(keep=False)]
    if not repeated.empty:
        image = repeated["image"].iloc[0]
        image = image.item() if hasattr(image, "item") else image  # 7, not np.int64(7)
        where = sorted(int(f) for f in repeated[repeated["image"] == image]["fold"])
        raise ValueError(f"Image {image!r} has {len(where)} test predictions (folds {where}) in the runs of "
                         f"{model_label(design[0])} seed {design[1]}: every image must be tested exactly once. "
                         f"{len(repeated['image'].unique())} image(s) are tested more than once; were the folds made "
                         "with different seeds or data?")
    return frame.sort_values("image", kind="stable").reset_index(drop=True)


def pooled_intervals(group: Sequence[dict]) -> dict:
    """A repetition's test results on its pooled predictions (:func:`pooled_runs`), each image
    once: ``test_images``, ``correct``, ``accuracy`` with Wilson's ``accuracy_low``/``accuracy_high``,
    the macro ``precision``, ``recall``, ``f1`` with :func:`labwork6.stats.metric_interval` (a
    bootstrap over the images, never a point at 100%), and ``fold_accuracy`` (each fold's)."""
    frame = pooled_runs(group)
    config = group[0]["config"]
    key = tuple((str(run["run_dir"]), _stamp(run)) for run in group)
    return dict(_pooled(key, int(config.seed), int(config.num_classes)), fold_accuracy=[
        float(np.mean(part["label"] == part["prediction"])) for _, part in frame.groupby("fold")])


def _stamp(run: dict) -> int:
    path = Path(run["run_dir"]) / "predictions.csv"
    return path.stat().st_mtime_ns if path.exists() else 0


def _test_results(y_true: np.ndarray, y_pred: np.ndarray, seed: int, num_classes: int) -> dict:
    """Counts, accuracy with Wilson's interval, and each macro metric with
    :func:`labwork6.stats.metric_interval` (a bootstrap over the images from the confusion counts of
    :func:`labwork6.metrics.macro_metric`, Wilson's where every image is right or every one wrong)."""
    correct, total = int(np.sum(y_true == y_pred)), len(y_true)
    low, high = accuracy_interval(correct, total, level=1 - ALPHA)
    values = {"test_images": total, "correct": correct, "accuracy": correct / total, "accuracy_low": low,
              "accuracy_high": high}
    for name in ("precision", "recall", "f1"):
        interval = metric_interval(y_true, y_pred, macro_metric(name, num_classes), n_resamples=N_RESAMPLES,
                                   level=1 - ALPHA, seed=seed)
        values.update({name: interval["value"], f"{name}_low": interval["low"], f"{name}_high": interval["high"],
                       f"{name}_method": interval["method"]})
    return values


@functools.lru_cache(maxsize=64)
def _pooled(key: tuple, seed: int, num_classes: int) -> tuple[tuple[str, float], ...]:
    frame = pooled_runs([load_run(path) for path, _ in key])
    values = _test_results(frame["label"].to_numpy(np.int64), frame["prediction"].to_numpy(np.int64), seed,
                           num_classes)
    items = list(values.items())  # "folds" after the accuracy, where the tables have had it
    return (*items[:5], ("folds", int(frame["fold"].nunique())), *items[5:])


@functools.lru_cache(maxsize=256)
def _intervals(path: str, modified: int, seed: int, num_classes: int) -> tuple[tuple[str, float], ...]:
    y_true, y_pred = test_predictions({"run_dir": path})
    values = _test_results(y_true, y_pred, seed, num_classes)
    return tuple((key, value) for key, value in values.items() if not key.endswith("_method"))


def run_intervals(run: dict) -> dict:
    """A run's test results with 95% intervals, from its ``predictions.csv``: ``test_images``,
    ``correct``, ``accuracy`` with Wilson's ``accuracy_low``/``accuracy_high``, and the macro
    ``precision``, ``recall``, ``f1`` with percentile bootstrap intervals over the test images
    (:data:`N_RESAMPLES` resamples, seeded by the run's seed; Wilson's where every image is right
    or every one wrong, as :func:`labwork6.stats.metric_interval`)."""
    path = Path(run["run_dir"]) / "predictions.csv"
    if not path.exists():
        raise FileNotFoundError(f"No predictions.csv in {run['run_dir']}: the run has no test results to "
                                "compare. Train it again with --overwrite.")
    config = run["config"]
    return dict(_intervals(str(Path(run["run_dir"])), path.stat().st_mtime_ns, int(config.seed),
                           int(config.num_classes)))


def epoch_seconds(run: dict) -> np.ndarray:
    """Seconds of each epoch of a network run (``history.csv``) but the first, which also
    builds the graph (all of them for a one-epoch run); empty without a history."""
    history = run.get("history")
    if history is None or "epoch_seconds" not in history:
        return np.array([])
    seconds = history["epoch_seconds"].to_numpy(float)
    return seconds[1:] if len(seconds) > 1 else seconds
