"""Run profiles shared by the CLI, the notebooks and the pipeline.

A profile says how big a run is: ``smoke`` (CI: a tiny subset, narrow networks, one
epoch), ``default`` (the main job: digits, the real architectures at full width, a CPU
friendly number of epochs) or ``full`` (CIFAR-10, for a GPU or Colab). It is chosen by
``--profile`` or the environment variable ``LABWORK6_PROFILE``.

``folds``: the default and smoke profiles evaluate by stratified k-fold cross-validation
(:mod:`labwork6.data.folds`): each seed is one repetition of k trainings per model, whose test
folds hold every image once; more repetitions are other seeds (``make seeds SEEDS="1 2"``,
``make study``). ``full`` keeps CIFAR-10's own test split (holdout: ``folds`` None).

``robustness_images`` and ``robustness_severities``: how much of each run's test split the
robustness pass scores (:func:`labwork6.robustness.robustness_subset`). Its cost is
``robustness_images * (1 + corruptions * severities)`` predictions per run: at the default's
100 images, 7 corruptions and severities (1, 3, 5), 2,200 images, under 10 s at the ~250
images/s that VGG19-BN and ResNet19 predict on 2 CPU cores; all 5 severities would be 3,600
(about 15 s per run, 90 s over the main job's six runs), so the odd severities are kept: they
still span the range, and 300 images per seed (one subset per fold) give the per-corruption
intervals.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

PROFILE_ENV = "LABWORK6_PROFILE"
RUNS_ENV = "LABWORK6_RUNS"

PROFILES: dict[str, dict] = {
    "smoke": {
        "dataset": "digits",
        "models": ("vgg19_bn", "resnet19"),
        "seeds": (0,),
        "folds": 2,  # 2 x 2 network runs: every path of the pooled comparison, in minutes
        "width": 0.125,
        "epochs": 1,
        "subsample": 120,  # images of the whole set at most, stratified, drawn before folding
        "robustness_images": 30,
        "robustness_severities": (1, 3, 5),
        "precision": "float32",
        "description": "CI: the whole pipeline on a tiny subset with narrow networks, in minutes",
    },
    "default": {
        "dataset": "digits",
        "models": ("vgg19_bn", "resnet19"),
        "seeds": (0,),  # one repetition of the cross-validation; more: other seeds, pooled per seed
        "folds": 3,  # 3 trainings per network, every one of the 1,797 images tested once
        "width": 1.0,
        "epochs": None,  # the recipe's
        "subsample": None,
        "robustness_images": 100,  # per fold: 300 per seed (see the module docstring for the budget)
        "robustness_severities": (1, 3, 5),
        "precision": "auto",
        "description": "main job: digits, full-width VGG19 and ResNet19, 3-fold cross-validation, CPU-friendly "
                       "epochs",
    },
    "full": {
        "dataset": "cifar10",
        "models": ("vgg19_bn", "resnet19"),
        "seeds": (0,),
        "folds": None,  # CIFAR-10's own test split
        "width": 1.0,
        "epochs": 60,
        "batch_size": 128,
        "subsample": None,
        "robustness_images": 1000,
        "robustness_severities": (1, 2, 3, 4, 5),
        "precision": "auto",
        "description": "CIFAR-10 with augmentation, for a GPU or Colab",
    },
}


def profile_name(name: str | None = None) -> str:
    """The profile to use: ``name``, else ``$LABWORK6_PROFILE``, else ``default``."""
    name = name or os.environ.get(PROFILE_ENV) or "default"
    if name not in PROFILES:
        raise ValueError(f"Unknown profile. Valid profiles: {', '.join(PROFILES)}. Received: profile={name!r}")
    return name


def get_profile(name: str | None = None) -> dict:
    """The settings of a profile (a copy, with its ``name``); see :data:`PROFILES`."""
    name = profile_name(name)
    return {"name": name, **copy.deepcopy(PROFILES[name])}


def runs_root(root: str | os.PathLike | None = None) -> Path:
    """Where run folders go: ``root``, else ``$LABWORK6_RUNS``, else ``./runs``."""
    return Path(root or os.environ.get(RUNS_ENV) or "runs")
