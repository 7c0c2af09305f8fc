"""Run profiles shared by the CLI, the notebooks and the pipeline, and the machine's fastest precision.

A profile says how big a run is: ``smoke`` (CI: a tiny subset, narrow networks, one
epoch), ``default`` (the main job: digits, the real architectures at full width, a CPU
friendly number of epochs) or ``full`` (CIFAR-10, for a GPU or Colab). It is chosen by
``--profile`` or the environment variable ``LABWORK6_PROFILE``.
"""

from __future__ import annotations

import copy
import os
import platform
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


def cpu_info() -> dict:
    """The CPU's model name and feature flags, from ``/proc/cpuinfo`` (empty off Linux)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    fields = {}
    for line in lines:
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return {"name": fields.get("model name") or platform.processor(), "flags": fields.get("flags", "").split()}


def cpu_supports_bfloat16() -> bool:
    """True when the CPU has native bfloat16 arithmetic (AMX-BF16 or AVX512-BF16) that oneDNN uses."""
    flags = cpu_info()["flags"]
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(precision: str = "auto") -> str:
    """Turn ``auto`` into the fastest policy that keeps accuracy on this machine.

    ``mixed_float16`` on a GPU, ``mixed_bfloat16`` on a CPU with native bfloat16
    arithmetic, ``float32`` elsewhere (emulated bfloat16 is slower than float32).
    """
    valid = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
    if precision not in valid:
        raise ValueError(f"Unknown precision. Valid: {', '.join(valid)}. Received: precision={precision!r}")
    if precision != "auto":
        return precision
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_supports_bfloat16() else "float32"
