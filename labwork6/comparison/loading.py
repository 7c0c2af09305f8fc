"""Reading the runs of a profile: their models, seeds and labels, and one run's test results.

:func:`load_runs` reads the completed network runs of a profile (``runs/<profile>/...``, see
:mod:`labwork6.runs`), :func:`group_runs` and :func:`runs_by_seed` arrange them (with the SVC
baseline runs of :mod:`labwork6.baseline`), and :func:`run_intervals` gives one run's test
metrics with their 95% intervals (:mod:`labwork6.stats`).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from labwork6.baseline import MODEL_NAME as BASELINE_MODEL
from labwork6.metrics import macro_metric, macro_scores
from labwork6.models import model_family
from labwork6.profiles import PROFILES, get_profile
from labwork6.profiles import runs_root as resolve_runs_root
from labwork6.runs import find_runs, load_run
from labwork6.stats import accuracy_interval, bootstrap_interval

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
        if run["config"].get("model") == BASELINE_MODEL:
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
    datasets = Counter(run["config"]["dataset"] for run in runs)
    if dataset is None:
        wanted = get_profile(profile)["dataset"] if profile in PROFILES else None
        dataset = wanted if wanted in datasets else datasets.most_common(1)[0][0]
    kept = [run for run in runs if run["config"]["dataset"] == dataset]
    if not kept:
        raise FileNotFoundError(f"No completed runs on dataset {dataset!r} under '{root / profile}'. "
                                f"Datasets with runs: {sorted(datasets)}.")
    if len(datasets) > 1:
        others = sorted(set(datasets) - {dataset})
        print(f"[labwork6] the report uses the {len(kept)} runs on {dataset!r}; runs on {others} are left out.")
    return sorted(kept, key=lambda run: (run["config"]["model"], run["config"]["seed"]))


def group_runs(runs: Iterable[dict]) -> dict[str, list[dict]]:
    """Network runs grouped by model name (VGG models first, then ResNets), each list by seed."""
    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(run["config"]["model"], []).append(run)
    order = sorted(groups, key=lambda name: (model_family(name) != "vgg", name))
    return {name: sorted(groups[name], key=lambda run: run["config"]["seed"]) for name in order}


def primary_models(runs: Iterable[dict]) -> dict[str, str | None]:
    """The two models the report compares: ``{"vgg": ..., "resnet": ...}``.

    Of each family, the runs' profile's model (``vgg19_bn``, ``resnet19``) when it has
    runs, else VGG19 or ResNet19, else the first model (None when a family has no run).
    """
    runs = list(runs)
    names = list(group_runs(runs))
    profile = runs[0]["config"].get("profile") if runs else None
    profile_models = get_profile(profile)["models"] if profile in PROFILES else ()
    chosen = {}
    for family, fallback in (("vgg", "vgg19"), ("resnet", "resnet19")):
        candidates = [name for name in names if model_family(name) == family]
        preferred = [name for name in profile_models if model_family(name) == family] + [fallback]
        chosen[family] = next((name for name in preferred if name in candidates),
                              candidates[0] if candidates else None)
    return chosen


def runs_by_seed(runs: Iterable[dict], baseline: Iterable[dict] = ()) -> dict[str, dict[int, dict]]:
    """``{model name: {seed: run}}`` of the network runs and the baseline's (``svc``)."""
    found: dict[str, dict[int, dict]] = {}
    for run in [*runs, *baseline]:
        found.setdefault(run["config"]["model"], {})[int(run["config"]["seed"])] = run
    return found


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


@functools.lru_cache(maxsize=256)
def _intervals(path: str, modified: int, seed: int, num_classes: int) -> tuple[tuple[str, float], ...]:
    y_true, y_pred = test_predictions({"run_dir": path})
    correct, total = int(np.sum(y_true == y_pred)), len(y_true)
    low, high = accuracy_interval(correct, total, level=1 - ALPHA)
    values = {"test_images": total, "correct": correct, "accuracy": correct / total, "accuracy_low": low,
              "accuracy_high": high}
    for key, value in macro_scores(y_true, y_pred, num_classes).items():
        low, high = bootstrap_interval(y_true, y_pred, macro_metric(key, num_classes), n_resamples=N_RESAMPLES,
                                       level=1 - ALPHA, seed=seed)
        values.update({key: value, f"{key}_low": low, f"{key}_high": high})
    return tuple(values.items())


def run_intervals(run: dict) -> dict:
    """A run's test results with 95% intervals, from its ``predictions.csv``: ``test_images``,
    ``correct``, ``accuracy`` with Wilson's ``accuracy_low``/``accuracy_high``, and the macro
    ``precision``, ``recall``, ``f1`` with percentile bootstrap intervals over the test images
    (:data:`N_RESAMPLES` resamples, seeded by the run's seed)."""
    path = Path(run["run_dir"]) / "predictions.csv"
    if not path.exists():
        raise FileNotFoundError(f"No predictions.csv in {run['run_dir']}: the run has no test results to "
                                "compare. Train it again with --overwrite.")
    config = run["config"]
    return dict(_intervals(str(Path(run["run_dir"])), path.stat().st_mtime_ns, int(config["seed"]),
                           int(config["num_classes"])))


def epoch_seconds(run: dict) -> np.ndarray:
    """Seconds of each epoch of a network run (``history.csv``) but the first, which also
    builds the graph (all of them for a one-epoch run); empty without a history."""
    history = run.get("history")
    if history is None or "epoch_seconds" not in history:
        return np.array([])
    seconds = history["epoch_seconds"].to_numpy(float)
    return seconds[1:] if len(seconds) > 1 else seconds
