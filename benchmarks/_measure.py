"""Timing primitives of the benchmarks: matmul rate, training and inference throughput, workers.

Nothing here decides what to measure (``run.py`` does); these functions only time things
the same way for every model, so that two measurements differ in the model and nothing else.
"""

from __future__ import annotations

import gc
import json
import math
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from labwork6.machine import precision_policy
from labwork6.models import layer_table
from labwork6.profiles import get_profile
from labwork6.recipes import resolve_config
from labwork6.train import compile_model

#: The dtype of the matrix multiply that bounds each precision policy's convolutions.
MATMUL_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


def has_gpu() -> bool:
    return bool(tf.config.list_physical_devices("GPU"))


def available_precisions() -> list[str]:
    """float32 and mixed_bfloat16 everywhere; mixed_float16 only where a GPU runs it natively."""
    return ["float32", "mixed_bfloat16", *(["mixed_float16"] if has_gpu() else [])]


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _sync(tensor) -> None:
    # Reading one element waits for the op (GPU kernels are queued asynchronously).
    np.asarray(tf.reshape(tensor, [-1])[:1])


def matmul_rates(dtype: str, size: int, repetitions: int, min_seconds: float) -> list[float]:
    """GFLOP/s of a ``size`` x ``size`` matrix multiply in ``dtype``, one value per repetition.

    Each repetition repeats the multiply for at least ``min_seconds``; 2 * size**3 FLOPs each.
    """
    a = tf.cast(tf.random.stateless_normal((size, size), seed=(0, 1)), dtype)
    b = tf.cast(tf.random.stateless_normal((size, size), seed=(0, 2)), dtype)
    matmul = tf.function(tf.linalg.matmul)
    _sync(matmul(a, b))  # trace and warm up
    start = time.perf_counter()
    _sync(matmul(a, b))
    count = max(1, math.ceil(min_seconds / max(time.perf_counter() - start, 1e-6)))
    rates = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for _ in range(count):
            product = matmul(a, b)
        _sync(product)
        rates.append(count * 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return rates


def multiply_adds(model: keras.Model) -> int:
    """Forward multiply-adds per image of the convolutions and dense layers (layer_table's total)."""
    return int(layer_table(model).iloc[-1]["multiply_adds"])


def training_flops(model: keras.Model) -> float:
    """FLOPs per training image: forward + two backward products (input and weight gradients),
    each 2 FLOPs per multiply-add. Ignores batch norm, pooling and the optimizer (small), and
    slightly over-counts the first layer, which needs no input gradient."""
    return 3 * 2 * multiply_adds(model)


def synthetic_batch(batch_size: int, input_shape, num_classes: int, seed: int = 0):
    """Random already-normalised images (what a network gets from the preprocessing in front of
    it) and one-hot float32 targets."""
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((batch_size, *input_shape), dtype=np.float32)
    labels = rng.integers(0, num_classes, batch_size)
    return images, keras.utils.to_categorical(labels, num_classes).astype("float32")


def in_memory_dataset(images, targets) -> tf.data.Dataset:
    """One batch that is already a tensor, repeated: no input work at all per step."""
    return tf.data.Dataset.from_tensors((tf.constant(images), tf.constant(targets))).repeat()


def profile_models() -> tuple[str, ...]:
    """The models the default profile trains (its VGG first)."""
    return tuple(get_profile("default")["models"])


def compile_for_training(model: keras.Model, config=None, steps_per_epoch: int = 100) -> keras.Model:
    """Compile as training does (:func:`labwork6.train.compile_model`) with ``config``'s recipe
    (a :class:`labwork6.run_config.RunConfig`); by default the default profile's VGG19-BN run, whose
    optimizer, loss and schedule the ResNet recipe shares."""
    return compile_model(model, config or resolve_config("vgg19_bn", profile="default"),
                         binary=model.output_shape[-1] == 1,
                         steps_per_epoch=steps_per_epoch)


class Trainer:
    """A compiled model under a precision policy, timed with ``model.fit``, the way training runs.

    ``build`` is a no-argument callable returning an uncompiled model; it runs under the
    policy so every layer gets it. ``compile_with`` compiles it (default :func:`compile_for_training`).
    """

    def __init__(self, build, precision: str, compile_with=compile_for_training):
        self.precision = precision
        with precision_policy(precision):
            self.model = compile_with(build())

    def run(self, steps: int, data, batch_size: int) -> float:
        """Seconds of one ``fit`` call (one epoch of ``steps`` steps) on ``data``: a
        ``tf.data.Dataset`` of batches, or an ``(images, targets)`` tuple of arrays, which
        Keras batches itself (its array input path)."""
        with precision_policy(self.precision):
            start = time.perf_counter()
            if isinstance(data, tuple):
                self.model.fit(*data, batch_size=batch_size, epochs=1, steps_per_epoch=steps, shuffle=True,
                               verbose=0)
            else:
                self.model.fit(data, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
            return time.perf_counter() - start


@dataclass
class Case:
    """One thing to time: a trainer, its input, the batch size of that input and steps per repetition."""

    trainer: Trainer
    data: object
    batch_size: int
    steps: int

    def images_per_second(self, steps: int | None = None) -> float:
        steps = self.steps if steps is None else steps
        return steps * self.batch_size / self.trainer.run(steps, self.data, self.batch_size)


def alternate(cases: dict[str, Case], repetitions: int, warmup_steps: int, progress=None) -> dict[str, list]:
    """Training images/s of every case, repetition by repetition, in alternating order.

    After ``warmup_steps`` for each (tracing, first allocations), repetition ``r`` runs every
    case once, forwards on even ``r`` and backwards on odd ``r`` (ABBA), so a slow drift of
    the machine's load falls evenly on all of them.
    """
    for label, case in cases.items():
        seconds = case.trainer.run(warmup_steps, case.data, case.batch_size)
        if progress:
            progress(f"warm-up {label}: {warmup_steps} steps in {seconds:.1f} s")
    results = {label: [] for label in cases}
    for repetition in range(repetitions):
        order = list(cases) if repetition % 2 == 0 else list(reversed(cases))
        for label in order:
            results[label].append(cases[label].images_per_second())
            if progress:
                progress(f"{label} repetition {repetition + 1}/{repetitions}: {results[label][-1]:.2f} images/s")
    return results


def inference_timing(model: keras.Model, input_shape, *, large_batch: int, latency_calls: int,
                     repetitions: int, min_seconds: float) -> dict[str, list[float]]:
    """Batch-1 latencies (ms, one per call) and large-batch throughputs (images/s, one per
    repetition of at least ``min_seconds``), both with ``predict_on_batch`` as train.py times."""
    single, _ = synthetic_batch(1, input_shape, 2)
    for _ in range(3):
        model.predict_on_batch(single)
    latencies = []
    for _ in range(latency_calls):
        start = time.perf_counter()
        model.predict_on_batch(single)
        latencies.append((time.perf_counter() - start) * 1000.0)
    batch, _ = synthetic_batch(large_batch, input_shape, 2)
    model.predict_on_batch(batch)
    throughputs = []
    for _ in range(repetitions):
        start, count = time.perf_counter(), 0
        while count < 1 or time.perf_counter() - start < min_seconds:
            model.predict_on_batch(batch)
            count += 1
        throughputs.append(count * large_batch / (time.perf_counter() - start))
    return {"latency_ms": latencies, "images_per_second": throughputs}


def release() -> None:
    """Drop Keras' global state and collect garbage between measurements."""
    keras.backend.clear_session()
    gc.collect()


def peak_rss_mb() -> float:
    """This process' peak resident set size in MiB.

    On Linux this is ``VmHWM`` of ``/proc/self/status``, the high-water mark of this
    program's own memory. Not ``getrusage(...).ru_maxrss``: Linux carries that value across
    ``exec``, so a child started by a large parent (subprocess uses vfork) reports the
    parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def current_rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / (1024.0 * 1024.0)


def worker(spec: dict) -> dict:
    """Run one short training in this (fresh) process and report speed and memory.

    ``spec``: model, model_options, input_shape, num_classes, batch_size, precision,
    warmup_steps, repetitions, steps, and optionally intra_op / inter_op thread counts
    (0 = TensorFlow's default), which must be set before TensorFlow runs any op. With a
    ``task`` (``step_profile``, ``run_phases``, ``first_step_anatomy``) it runs that function
    of ``_profile`` / ``_run_phases`` on ``spec`` instead and returns its report.
    """
    from labwork6.models import get_model

    tf.config.threading.set_intra_op_parallelism_threads(int(spec.get("intra_op", 0)))
    tf.config.threading.set_inter_op_parallelism_threads(int(spec.get("inter_op", 0)))
    if spec.get("task"):  # the step_breakdown and run_phases sections' children
        from _profile import step_profile
        from _run_phases import first_step_anatomy, run_phases

        tasks = {"step_profile": step_profile, "run_phases": run_phases, "first_step_anatomy": first_step_anatomy}
        return tasks[spec["task"]](spec)
    keras.utils.set_random_seed(0)
    input_shape = tuple(spec["input_shape"])

    def build():
        return get_model(spec["model"], input_shape=input_shape, num_classes=spec["num_classes"],
                         **spec.get("model_options", {}))

    images, targets = synthetic_batch(spec["batch_size"], input_shape, spec["num_classes"])
    case = Case(Trainer(build, spec["precision"]), in_memory_dataset(images, targets), spec["batch_size"],
                spec["steps"])
    rss_built = current_rss_mb()
    case.trainer.run(spec["warmup_steps"], case.data, case.batch_size)
    speeds = [case.images_per_second() for _ in range(spec["repetitions"])]
    return {"images_per_second": speeds, "rss_before_training_mb": rss_built, "peak_rss_mb": peak_rss_mb(),
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}


def run_worker_output(script: Path, spec: dict, env: dict | None = None,
                      timeout: float | None = None) -> tuple[dict, str]:
    """Run :func:`worker` in a child process (``script --worker JSON``, ``env`` added to this
    process's environment): its JSON report and its whole stdout."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"), **(env or {})}
    completed = subprocess.run([sys.executable, str(script), "--worker", json.dumps(spec)],
                               capture_output=True, text=True, env=environment, timeout=timeout)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark worker failed (exit {completed.returncode}) for {spec}:\n"
                           f"{completed.stderr[-3000:]}")
    return json.loads(lines[-1]), completed.stdout


def run_worker(script: Path, spec: dict, timeout: float | None = None) -> dict:
    """Run :func:`worker` in a child process (``script --worker JSON``) and return its report."""
    return run_worker_output(script, spec, timeout=timeout)[0]
