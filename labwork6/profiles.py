"""Run profiles shared by the CLI, the notebooks and the pipeline.

A profile says how big a run is: ``smoke`` (CI: a tiny subset, narrow networks, one
epoch), ``default`` (the main job: digits, the real architectures at full width, a CPU
friendly number of epochs) or ``full`` (CIFAR-10, for a GPU or Colab). It is chosen by
``--profile`` or the environment variable ``LABWORK6_PROFILE``.
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
        "seeds": (0, 1),  # two, so that every path of the several-seed comparison runs
        "width": 0.125,
        "epochs": 1,
        "subsample": 60,  # images per split at most, stratified
        "precision": "float32",
        "description": "CI: the whole pipeline on a tiny subset with narrow networks, in minutes",
    },
    "default": {
        "dataset": "digits",
        "models": ("vgg19_bn", "resnet19"),
        "seeds": (0, 1, 2),  # a spread, and a paired test per seed
        "width": 1.0,
        "epochs": None,  # the recipe's
        "subsample": None,
        "precision": "auto",
        "description": "main job: digits, full-width VGG19 and ResNet19, three seeds, CPU-friendly epochs",
    },
    "full": {
        "dataset": "cifar10",
        "models": ("vgg19_bn", "resnet19"),
        "seeds": (0,),
        "width": 1.0,
        "epochs": 60,
        "batch_size": 128,
        "subsample": None,
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
