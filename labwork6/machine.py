"""The machine a run trains on: its CPU, the fastest precision it supports, and the library
versions and hardware recorded in every run's ``config.json``."""

from __future__ import annotations

import os
import platform
from contextlib import contextmanager
from pathlib import Path

import keras
import numpy as np


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


#: The CPU features that decide how fast training runs here (oneDNN's kernels), in the order
#: oneDNN prefers them: matrix tiles with bfloat16 (AMX), bfloat16 vector dot products, AVX-512, AVX2.
ISA_FLAGS = ("amx_bf16", "amx_tile", "avx512_bf16", "avx512_vnni", "avx512f", "avx2")


def cpu_isa(flags=None) -> dict:
    """Which of :data:`ISA_FLAGS` the CPU has (``{flag: bool}``) and a one-line summary, e.g.
    ``"AVX-512, no AVX512-BF16, no AMX"``: what a timing on this machine can be compared with."""
    flags = set(cpu_info()["flags"] if flags is None else flags)
    found = {flag: flag in flags for flag in ISA_FLAGS}
    widest = "AVX-512" if found["avx512f"] else "AVX2" if found["avx2"] else "no AVX2"
    summary = ", ".join([widest, ("" if found["avx512_bf16"] else "no ") + "AVX512-BF16",
                         ("" if found["amx_bf16"] else "no ") + "AMX-BF16"])
    return {**found, "summary": summary}


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


@contextmanager
def precision_policy(name: str):
    """Use a Keras dtype policy inside the block, restoring the previous one after."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def environment() -> dict:
    """Library versions and hardware, recorded in every run's config."""
    import sklearn
    import tensorflow as tf

    from labwork6 import __version__

    return {
        "versions": {"labwork6": __version__, "python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__},
        "hardware": {"machine": platform.machine(), "processor": cpu_info()["name"], "cpu_count": os.cpu_count(),
                     "isa": cpu_isa()["summary"], "gpus": [d.name for d in tf.config.list_physical_devices("GPU")]},
    }
