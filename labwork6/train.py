"""Train a registry model from scratch on a dataset and write everything to a run folder.

A run folder (``runs/<profile>/<dataset>-<model>-seed<seed>/``) holds ``config.json``,
``history.csv``, the best model ``model.keras``, ``normalization.json``,
``predictions.csv``, ``metrics.json``, ``confusion_matrix.csv``,
``classification_report.csv`` and ``timing.json``. An interrupted run resumes from its
last finished epoch (``backup/``). The test split is used once, after the best epoch has
been chosen on the validation split.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from labwork6 import __version__
from labwork6.data import load_dataset
from labwork6.metrics import (
    labels_from_probabilities,
)
from labwork6.models import count_parameters, get_model, layer_table, model_family
from labwork6.preprocessing import Standardizer, augmentation_for, make_pipeline
from labwork6.profiles import get_profile, resolve_precision
from labwork6.runs import RUN_FILES, load_json, plain, run_dir_for, write_evaluation, write_json

#: AdamW with a short linear warm-up and a cosine decay to zero, label smoothing, small
#: batches (many steps on small data): what trained both families from scratch here.
_ADAMW_COSINE = {
    "optimizer": "adamw",
    "learning_rate": 1e-3,
    "weight_decay": 1e-4,
    "warmup_fraction": 0.05,
    "label_smoothing": 0.1,
    "batch_size": 32,
    "image_size": None,  # None: the native size, raised to min_image_size when smaller
}

#: Default training recipe per model family: what reliably trains each network from
#: scratch on small data (README, "Training recipe", says why).
RECIPES: dict[str, dict] = {
    "vgg": {**_ADAMW_COSINE, "epochs": 20, "min_image_size": 32,  # five 2x2 poolings
            "model_options": {"head": "paper"}},
    # Two stride-2 stages leave 4x4 maps at 16x16, as 32x32 CIFAR images leave 8x8.
    "resnet": {**_ADAMW_COSINE, "epochs": 15, "min_image_size": 16, "model_options": {}},
}
OPTIMIZERS = ("adamw", "adam", "sgd")
MAX_CACHED_BYTES = 2 * 1024**3
DISTRIBUTIONS = (None, "mirrored", "multiworker")


class TrainingFailed(RuntimeError):
    """Training stopped without a usable model (e.g. the loss became NaN)."""


def resolve_config(model: str, dataset: str | None = None, *, profile: str | None = None, seed: int = 0,
                   **overrides) -> dict:
    """The full configuration of a run: recipe of the model family, then profile, then overrides.

    ``overrides`` may set any recipe key (``epochs``, ``batch_size``, ``learning_rate``,
    ``optimizer``, ``weight_decay``, ``warmup_fraction``, ``label_smoothing``,
    ``image_size``, ``model_options``) and ``width``, ``precision``, ``channels``,
    ``augment``, ``deterministic``, ``distribute``, ``patience``, ``subsample``; a value
    of None keeps the default.
    """
    family = model_family(model)
    settings = get_profile(profile)
    config = {"model": model, "dataset": str(dataset or settings["dataset"]), "profile": settings["name"],
              "seed": int(seed), **RECIPES[family]}
    config["model_options"] = dict(config["model_options"])
    config.update({"width": settings["width"], "precision": settings["precision"],
                   "subsample": settings["subsample"], "channels": None, "augment": True,
                   "deterministic": False, "distribute": None, "patience": None})
    for key in ("epochs", "batch_size"):
        if settings.get(key):
            config[key] = settings[key]
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(f"Unknown training options {sorted(unknown)}. Valid: {sorted(config)}")
    config.update({key: value for key, value in overrides.items() if value is not None})
    _check_config(config)
    return config


def _check_config(config: dict) -> None:
    positive = {"epochs": int, "batch_size": int, "image_size": int}
    for key, kind in positive.items():
        value = config[key]
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool) or value < 1):
            raise ValueError(f"`{key}` must be a positive integer. Received: {key}={value!r}")
    if not config["learning_rate"] > 0:
        raise ValueError(f"`learning_rate` must be > 0. Received: learning_rate={config['learning_rate']!r}")
    if config["optimizer"] not in OPTIMIZERS:
        raise ValueError(f"`optimizer` must be one of {OPTIMIZERS}. Received: optimizer={config['optimizer']!r}")
    if config["distribute"] not in DISTRIBUTIONS:
        raise ValueError(f"`distribute` must be one of {DISTRIBUTIONS}. Received: distribute={config['distribute']!r}")
    if not 0 <= config["warmup_fraction"] < 1:
        raise ValueError(f"`warmup_fraction` must be in [0, 1). Received: {config['warmup_fraction']!r}")
    resolve_precision(config["precision"])  # validates the name


def environment() -> dict:
    """Library versions and hardware, recorded in every run's config."""
    import sklearn

    return {
        "versions": {"labwork6": __version__, "python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__},
        "hardware": {"machine": platform.machine(), "processor": _cpu_name(), "cpu_count": os.cpu_count(),
                     "gpus": [d.name for d in tf.config.list_physical_devices("GPU")]},
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


@contextmanager
def precision_policy(name: str):
    """Use a Keras dtype policy inside the block, restoring the previous one after."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def distribution_strategy(name: str | None):
    """None (one device), ``mirrored`` (all local GPUs, or all logical CPU devices) or
    ``multiworker`` (several machines described by the ``TF_CONFIG`` variable)."""
    if name is None:
        return None
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or \
                  [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice()
                                              if not tf.config.list_logical_devices("GPU") else None)
    return tf.distribute.MultiWorkerMirroredStrategy()


def make_optimizer(config: dict, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The recipe's optimizer with a linear warm-up then cosine decay to zero, per step."""
    total = steps_per_epoch * config["epochs"]
    warmup = int(config["warmup_fraction"] * total)
    peak = config["learning_rate"]
    if warmup:
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0, max(1, total - warmup), warmup_target=peak, warmup_steps=warmup)
    else:
        schedule = keras.optimizers.schedules.CosineDecay(peak, max(1, total))
    if config["optimizer"] == "sgd":
        return keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=config["weight_decay"])
    if config["optimizer"] == "adam":
        return keras.optimizers.Adam(schedule)
    return keras.optimizers.AdamW(schedule, weight_decay=config["weight_decay"])


class SelectionScore(keras.callbacks.Callback):
    """Adds ``val_selection``: validation accuracy, ties broken by lower validation loss.

    With a few hundred validation images many epochs tie on accuracy; the loss term
    (scaled below one image's worth of accuracy) picks the better-calibrated one.
    """

    def __init__(self, num_val: int):
        super().__init__()
        self.one_image = 1.0 / max(1, num_val)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "val_accuracy" in logs:
            loss = logs["val_loss"] if math.isfinite(logs["val_loss"]) else float("inf")
            # loss / (1 + loss) is increasing and < 1, so the penalty stays below one image.
            penalty = 1.0 if math.isinf(loss) else loss / (1.0 + loss)
            logs["val_selection"] = logs["val_accuracy"] - 0.5 * self.one_image * penalty


class EpochLog(keras.callbacks.Callback):
    """Adds the learning rate and the epoch's wall-clock seconds to the logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            logs["epoch_seconds"] = time.perf_counter() - self._start


class NaNGuard(keras.callbacks.TerminateOnNaN):
    """``TerminateOnNaN`` that remembers it fired, so the run is marked failed."""

    fired = False

    def on_batch_end(self, batch, logs=None):
        super().on_batch_end(batch, logs)
        if self.model.stop_training and logs and not np.isfinite(logs.get("loss", 0.0)):
            self.fired = True


def _comparable(config: dict) -> dict:
    skip = {"status", "epochs_run", "versions", "hardware", "parameters", "multiply_adds", "class_names",
            "num_classes", "input_shape", "error", "resolved_precision", "steps_per_epoch", "counts"}
    return {key: value for key, value in plain(config).items()
            if key not in skip}


def train(model: str, dataset: str | None = None, *, profile: str | None = None, seed: int = 0,
          run_dir=None, runs=None, overwrite: bool = False, verbose: int | str = "auto",
          callbacks=(), **overrides) -> Path:
    """Train ``model`` (a registry name) from scratch and write its run folder; return the folder.

    Args:
        model: a name from :data:`labwork6.models.MODEL_NAMES`.
        dataset: a :func:`labwork6.data.load_dataset` source (default: the profile's).
        profile: ``smoke``, ``default`` or ``full`` (default: ``$LABWORK6_PROFILE``).
        seed: fixes the splits, the initialisation and the shuffling.
        run_dir: the run folder (default ``<runs>/<profile>/<dataset>-<model>-seed<seed>``).
        overwrite: retrain even when a completed run with the same configuration exists
            (otherwise that run is kept and returned).
        callbacks: extra Keras callbacks.
        **overrides: see :func:`resolve_config`.
    """
    config = resolve_config(model, dataset, profile=profile, seed=seed, **overrides)
    run_dir = Path(run_dir) if run_dir else run_dir_for(model, config["dataset"], seed, config["profile"], runs)
    previous = load_json(run_dir / "config.json")
    if previous and previous.get("status") == "completed" and not overwrite:
        if _comparable(previous) == _comparable(config) and all((run_dir / f).exists() for f in RUN_FILES):
            print(f"[labwork6] {run_dir} is already trained with this configuration; reusing it "
                  "(pass overwrite=True / --overwrite to train again).")
            return run_dir
    resuming = bool(previous) and previous.get("status") == "running" and (run_dir / "backup").exists() \
        and _comparable(previous) == _comparable(config)
    if not resuming:
        # A fresh run: nothing of an earlier one (backup, re-evaluations) may outlive it.
        for name in (*RUN_FILES, "backup", "evaluation"):
            path = run_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)

    precision = resolve_precision(config["precision"])
    keras.utils.set_random_seed(seed)
    if config["deterministic"]:
        tf.config.experimental.enable_op_determinism()

    data = run_dataset(config)
    binary = data.num_classes == 2
    standardizer = Standardizer.fit(data.train.images, image_size=model_image_size(config, data.image_shape),
                                    channels=config["channels"])
    standardizer.save(run_dir / "normalization.json")
    y_train, y_val, y_test = data.train.labels, data.val.labels, data.test.labels
    input_shape = tuple(int(d) for d in standardizer.output_shape)
    # Standardized float32 copies are cached in memory unless they would be large
    # (e.g. CIFAR at 224x224); then the pipeline standardizes on the fly.
    in_memory = len(y_train) * int(np.prod(input_shape)) * 4 <= MAX_CACHED_BYTES

    strategy = distribution_strategy(config["distribute"])
    steps_per_epoch = math.ceil(len(y_train) / config["batch_size"])
    with precision_policy(precision), (strategy.scope() if strategy else nullcontext()):
        network = get_model(model, input_shape=input_shape, num_classes=data.num_classes,
                            width=config["width"], classifier_activation="sigmoid" if binary else "softmax",
                            **config["model_options"])
        if binary:
            loss = keras.losses.BinaryCrossentropy(label_smoothing=config["label_smoothing"])
            metric = keras.metrics.BinaryAccuracy(name="accuracy")
        else:
            loss = keras.losses.CategoricalCrossentropy(label_smoothing=config["label_smoothing"])
            metric = keras.metrics.CategoricalAccuracy(name="accuracy")
        network.compile(optimizer=make_optimizer(config, steps_per_epoch), loss=loss, metrics=[metric])

    def targets(labels):
        return labels.reshape(-1, 1).astype("float32") if binary else \
            keras.utils.to_categorical(labels, data.num_classes).astype("float32")

    def pipeline(split, labels, training, augmentation=None):
        return make_pipeline(split.images, targets(labels), batch_size=config["batch_size"], training=training,
                             seed=seed, augmentation=augmentation, standardizer=standardizer, cache=in_memory)

    augmentation = augmentation_for(data.name, input_shape, seed) if config["augment"] else None
    train_pipeline = pipeline(data.train, y_train, True, augmentation)
    val_pipeline = pipeline(data.val, y_val, False)

    config.update(
        status="running", resolved_precision=precision, input_shape=list(input_shape),
        num_classes=data.num_classes, class_names=list(data.class_names), steps_per_epoch=steps_per_epoch,
        counts={split: int(len(getattr(data, split).labels)) for split in ("train", "val", "test")},
        parameters=count_parameters(network), multiply_adds=int(layer_table(network).iloc[-1]["multiply_adds"]),
        **environment(),
    )
    write_json(run_dir / "config.json", config)

    history_path = run_dir / "history.csv"
    best_so_far = None
    if resuming and history_path.exists():
        done = pd.read_csv(history_path)
        if "val_selection" in done and len(done):
            best_so_far = float(done["val_selection"].max())
    nan_guard = NaNGuard()
    all_callbacks = [
        EpochLog(),
        SelectionScore(len(y_val)),
        nan_guard,
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
        keras.callbacks.ModelCheckpoint(str(run_dir / "model.keras"), monitor="val_selection", mode="max",
                                        save_best_only=True, initial_value_threshold=best_so_far),
        keras.callbacks.CSVLogger(str(history_path), append=resuming),
        *callbacks,
    ]
    if config["patience"]:
        all_callbacks.append(keras.callbacks.EarlyStopping(monitor="val_selection", mode="max",
                                                           patience=config["patience"], restore_best_weights=True))
    with precision_policy(precision):
        network.fit(train_pipeline, validation_data=val_pipeline, epochs=config["epochs"],
                    callbacks=all_callbacks, verbose=verbose, shuffle=False)  # the pipeline shuffles
    history = pd.read_csv(history_path)
    if len(history) and history["epoch"].iloc[0] == 0:  # Keras counts from 0; the report from 1
        history["epoch"] += 1
        history.to_csv(history_path, index=False)
    config["epochs_run"] = len(history)
    if nan_guard.fired or not (run_dir / "model.keras").exists():
        config.update(status="failed", error="the training loss became NaN (TerminateOnNaN); lower the "
                      "learning rate or use float32 precision")
        write_json(run_dir / "config.json", config)
        raise TrainingFailed(f"Training of {model} failed: {config['error']}. Run folder: {run_dir}")

    # Model selection is over: load the best epoch and touch the test split once.
    best = keras.models.load_model(run_dir / "model.keras")
    best_epoch = int(history.loc[history["val_selection"].idxmax(), "epoch"])
    probabilities = best.predict(pipeline(data.test, y_test, False), verbose=0)
    predictions = labels_from_probabilities(probabilities)
    write_evaluation(run_dir, y_test, predictions, probabilities, data.class_names, best_epoch=best_epoch)
    write_json(run_dir / "timing.json", timing(best, standardizer.transform(data.test.images[:256]), history))
    config["status"] = "completed"
    write_json(run_dir / "config.json", config)
    return run_dir


def run_dataset(config: dict):
    """The dataset of a run, split (and, in the smoke profile, subsampled) exactly as it was trained."""
    data = load_dataset(config["dataset"], seed=config["seed"])
    if config.get("subsample"):
        data = data.subsample(config["subsample"], seed=config["seed"])
    return data


def model_image_size(config: dict, image_shape) -> int | None:
    """The size images are resized to: ``image_size`` if set, else the native size, raised to
    the family's ``min_image_size`` when smaller (digits' 8x8 -> 32x32 for VGG)."""
    if config.get("image_size"):
        return config["image_size"]
    minimum = config.get("min_image_size") or 1
    return minimum if min(image_shape[:2]) < minimum else None


def timing(model: keras.Model, images: np.ndarray, history: pd.DataFrame, repeats: int = 20) -> dict:
    """Training time from the history, inference latency (batch 1) and throughput (batch 256)."""
    single = images[:1]
    model.predict_on_batch(single)  # build the inference function first
    latencies = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(single)
        latencies.append(time.perf_counter() - start)
    batch = np.concatenate([images] * math.ceil(256 / len(images)))[:256]
    model.predict_on_batch(batch)
    start, count = time.perf_counter(), 0
    while count < 3 or time.perf_counter() - start < 1.0:
        model.predict_on_batch(batch)
        count += 1
    throughput = count * len(batch) / (time.perf_counter() - start)
    seconds = history["epoch_seconds"] if "epoch_seconds" in history else pd.Series(dtype=float)
    return {
        "train_seconds": float(seconds.sum()),
        "epochs_run": int(len(history)),
        "seconds_per_epoch": float(seconds.mean()) if len(seconds) else float("nan"),
        "inference_latency_ms": float(np.median(latencies) * 1000.0),
        "inference_throughput": float(throughput),
        "throughput_batch_size": int(len(batch)),
    }
