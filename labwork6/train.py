"""Train a registry model from scratch on a dataset and write everything to a run folder.

:func:`train` is a short sequence of named steps: resolve the configuration, prepare the run
folder (reuse, resume or start afresh), load the data, :func:`build_model` (preprocessing and
augmentation as Keras layers in front of the network), :func:`compile_model`, fit with
best-on-validation selection, then use the test split once. An interrupted run resumes from
its last finished epoch (``backup/``) and ends as an uninterrupted one would: the batch order
and the random draws of epoch ``e`` depend only on the seed and ``e``.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from contextlib import nullcontext
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from labwork6.callbacks import BestModel, EpochLog, EpochSeeds, NaNGuard, SelectionScore
from labwork6.distribute import build_for_multiworker, cluster_task, distribution_strategy
from labwork6.machine import environment, precision_policy, resolve_precision
from labwork6.metrics import labels_from_probabilities
from labwork6.models import count_parameters, layer_table
from labwork6.preprocessing import build_preprocessing, make_pipeline
from labwork6.profiles import get_profile
from labwork6.progress import EpochProgress
from labwork6.quiet import ExpectedRetracing
from labwork6.recipes import (
    RECIPES,
    build_augmentation,
    build_network,
    make_optimizer,
    model_image_size,
    normalized_range,
    resolve_config,
    robustness_split,
    run_dataset,
    run_folder,
)
from labwork6.robustness import evaluate_robustness
from labwork6.runs import (
    RUN_FILES,
    load_json,
    one_based_history,
    plain,
    run_lock,
    write_evaluation,
    write_json,
)
from labwork6.speed import timing

__all__ = ["RECIPES", "TrainingFailed", "build_model", "compile_model", "resolve_config", "train", "train_missing"]


class TrainingFailed(RuntimeError):
    """Training stopped without a usable model (e.g. the loss became NaN)."""


def build_model(config: dict, data) -> keras.Model:
    """The run's model, untrained: raw images -> preprocessing (adapted on ``data.train`` only)
    -> augmentation (training only, if ``config["augment"]``) -> the network of ``config["model"]``."""
    preprocessing = build_preprocessing(data.train.images, image_size=model_image_size(config, data.image_shape),
                                        channels=config["channels"])
    input_shape = tuple(int(d) for d in preprocessing.outputs[0].shape[1:])
    augmentation = build_augmentation(config, data.name, input_shape, normalized_range(preprocessing))
    return build_network(config, input_shape, data.num_classes, preprocessing=preprocessing, augmentation=augmentation)


def compile_model(network: keras.Model, config: dict, *, binary: bool, steps_per_epoch: int) -> keras.Model:
    """Compile ``network`` with the recipe: cross-entropy with label smoothing (binary for one
    sigmoid unit, categorical for softmax), the recipe's optimizer with warm-up and cosine
    decay over ``config["epochs"] * steps_per_epoch`` steps, and accuracy."""
    if binary:
        loss = keras.losses.BinaryCrossentropy(label_smoothing=config["label_smoothing"])
        accuracy = keras.metrics.BinaryAccuracy(name="accuracy")
    else:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=config["label_smoothing"])
        accuracy = keras.metrics.CategoricalAccuracy(name="accuracy")
    network.compile(optimizer=make_optimizer(config, steps_per_epoch), loss=loss, metrics=[accuracy])
    return network


def normalization_statistics(network: keras.Model, num_images: int) -> dict:
    """The per-channel mean and std the model's ``normalization`` layer was adapted to (on the
    training split, after scaling to [0, 1] and resizing), for the run's config and the report."""
    layer = network.get_layer("preprocessing").get_layer("normalization")
    mean = np.ravel(keras.ops.convert_to_numpy(layer.mean)).astype(float)
    std = np.sqrt(np.ravel(keras.ops.convert_to_numpy(layer.variance)).astype(float))
    return {"mean": mean.tolist(), "std": std.tolist(), "num_images": int(num_images), "fitted_on": "train split only"}


def targets(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """What the loss compares with: a column of 0/1 for two classes, else one-hot rows."""
    if num_classes == 2:
        return labels.reshape(-1, 1).astype("float32")
    return keras.utils.to_categorical(labels, num_classes).astype("float32")


_NOT_COMPARED = {"status", "epochs_run", "versions", "hardware", "parameters", "multiply_adds", "class_names",
                 "num_classes", "input_shape", "raw_input_shape", "error", "resolved_precision", "steps_per_epoch",
                 "counts", "num_replicas_in_sync", "normalization"}


def _comparable(config: dict) -> dict:
    return {key: value for key, value in plain(config).items() if key not in _NOT_COMPARED}


def _finished_epochs(run_dir: Path) -> int:
    """Epochs finished according to the backup that ``BackupAndRestore`` resumes from."""
    metadata = load_json(run_dir / "backup" / "training_metadata.json") or {}
    return int(metadata.get("epoch", 0))


def _prepare_run_dir(run_dir: Path, config: dict, previous: dict | None) -> int:
    """Empty ``run_dir`` for a fresh run, or keep a resumable one; return the first epoch to train."""
    resuming = bool(previous) and previous.get("status") == "running" and (run_dir / "backup").exists() \
        and _comparable(previous) == _comparable(config)
    first_epoch = _finished_epochs(run_dir) if resuming else 0
    if not resuming:
        # A fresh run: nothing of an earlier one (backup, re-evaluations) may outlive it.
        for name in (*RUN_FILES, "normalization.json", "backup", "evaluation"):
            path = run_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    history_path = run_dir / "history.csv"
    if first_epoch and history_path.exists():
        # Rows of an epoch that was logged but not backed up are trained again.
        history = pd.read_csv(history_path)
        history[history["epoch"] < first_epoch].to_csv(history_path, index=False)
    run_dir.mkdir(parents=True, exist_ok=True)
    return first_epoch


def _callbacks(run_dir: Path, num_val: int, patience: int | None, first_epoch: int, extra=()) -> list:
    """The run's callbacks, in the order they see each epoch's end: logs first, the backup last,
    so an epoch is backed up only once its history row and checkpoint are written."""
    history_path = run_dir / "history.csv"
    best_so_far = None
    if first_epoch and history_path.exists():
        done = pd.read_csv(history_path)
        if "val_selection" in done and len(done):
            best_so_far = float(done["val_selection"].max())
    found = [
        EpochSeeds(), EpochLog(), SelectionScore(num_val), NaNGuard(),
        BestModel(run_dir / "model.keras", monitor="val_selection", initial_value_threshold=best_so_far),
        keras.callbacks.CSVLogger(str(history_path), append=first_epoch > 0),
    ]
    if patience:
        found.append(keras.callbacks.EarlyStopping(monitor="val_selection", mode="max", patience=patience,
                                                   restore_best_weights=True))
    return [*found, *extra, keras.callbacks.BackupAndRestore(str(run_dir / "backup"))]


def train(model: str, dataset: str | None = None, *, profile: str | None = None, seed: int = 0,
          run_dir=None, runs=None, overwrite: bool = False, verbose: int | str = "auto",
          callbacks=(), **overrides) -> Path:
    """Train ``model`` (a registry name) from scratch and write its run folder; return the folder.

    Args:
        model: a name from :data:`labwork6.models.MODEL_NAMES`.
        dataset: a :func:`labwork6.data.load_dataset` source (default: the profile's).
        profile: ``smoke``, ``default`` or ``full`` (default: ``$LABWORK6_PROFILE``).
        seed: fixes the splits, the initialisation, the batch order and the random draws.
        run_dir: the run folder (default ``<runs>/<profile>/<dataset>-<model>-seed<seed>``, with
            ``-fold<F>of<K>`` for a fold of a cross-validation: :func:`labwork6.recipes.run_folder`).
            With ``distribute="multiworker"`` only the chief writes it; other workers write a
            temporary folder, which they return.
        overwrite: retrain even when a completed run with the same configuration exists
            (otherwise that run is kept and returned).
        callbacks: extra Keras callbacks.
        **overrides: see :func:`labwork6.recipes.resolve_config`.
    """
    config = resolve_config(model, dataset, profile=profile, seed=seed, **overrides)
    task = cluster_task() if config["distribute"] == "multiworker" else None
    # Before any TensorFlow op: collective ops (multi-worker) must be configured at start-up.
    strategy = distribution_strategy(config["distribute"])
    run_dir = Path(run_dir) if run_dir else run_folder(config, runs)
    if task and not task.is_chief:
        # Only the chief writes the run folder; the others write to a temporary one.
        run_dir = Path(tempfile.mkdtemp(prefix=f"labwork6-{task.task_type}{task.index}-"))
    previous = load_json(run_dir / "config.json")
    if (previous and previous.get("status") == "completed" and not overwrite
            and _comparable(previous) == _comparable(config) and all((run_dir / f).exists() for f in RUN_FILES)):
        print(f"[labwork6] {run_dir} is already trained with this configuration; reusing it "
              "(pass overwrite=True / --overwrite to train again).")
        return run_dir
    with run_lock(run_dir):
        _train_into(run_dir, config, previous, strategy, verbose, callbacks)
    return run_dir


def _train_into(run_dir: Path, config: dict, previous: dict | None, strategy, verbose, callbacks) -> None:
    """The steps of :func:`train` once the run folder is this process's."""
    first_epoch = _prepare_run_dir(run_dir, config, previous)
    seed = config["seed"]
    precision = resolve_precision(config["precision"])
    keras.utils.set_random_seed(seed)
    if config["deterministic"]:
        tf.config.experimental.enable_op_determinism()
    data = run_dataset(config)
    steps_per_epoch = math.ceil(len(data.train.labels) / config["batch_size"])
    with precision_policy(precision), (strategy.scope() if strategy else nullcontext()):
        network = build_model(config, data)
        compile_model(network, config, binary=data.num_classes == 2, steps_per_epoch=steps_per_epoch)

    config.update(
        status="running", resolved_precision=precision, steps_per_epoch=steps_per_epoch,
        input_shape=[int(d) for d in network.get_layer("preprocessing").outputs[0].shape[1:]],
        raw_input_shape=[int(d) for d in data.image_shape], num_classes=data.num_classes,
        class_names=list(data.class_names), counts={split: int(len(getattr(data, split).labels))
                                                    for split in ("train", "val", "test")},
        normalization=normalization_statistics(network, len(data.train.labels)),
        parameters=count_parameters(network), multiply_adds=int(layer_table(network).iloc[-1]["multiply_adds"]),
        num_replicas_in_sync=int(strategy.num_replicas_in_sync) if strategy else 1, **environment(),
    )
    write_json(run_dir / "config.json", config)

    progress = EpochProgress(run_dir.name, config["model"], seed, config["epochs"])
    run_callbacks = _callbacks(run_dir, len(data.val.labels), config["patience"], first_epoch, (progress, *callbacks))
    nan_guard = next(c for c in run_callbacks if isinstance(c, NaNGuard))
    if first_epoch < config["epochs"]:
        # Every worker builds the same stream; DATA sharding hands each its part of every batch.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        train_pipeline = make_pipeline(data.train.images, targets(data.train.labels, data.num_classes),
                                       batch_size=config["batch_size"], training=True, seed=seed,
                                       epochs=config["epochs"], first_epoch=first_epoch).with_options(options)
        val_pipeline = make_pipeline(data.val.images, targets(data.val.labels, data.num_classes),
                                     batch_size=config["batch_size"], training=False).with_options(options)
        with precision_policy(precision):
            if config["distribute"] == "multiworker":
                build_for_multiworker(network, strategy, next(iter(val_pipeline)))
            network.fit(train_pipeline, validation_data=val_pipeline, epochs=config["epochs"],
                        steps_per_epoch=steps_per_epoch, callbacks=run_callbacks, verbose=verbose,
                        shuffle=False)  # the pipeline orders each epoch
    history = one_based_history(run_dir / "history.csv")
    config["epochs_run"] = len(history)
    if nan_guard.fired or not (run_dir / "model.keras").exists():
        config.update(status="failed", error="the training loss became NaN (TerminateOnNaN); lower the "
                      "learning rate or use float32 precision")
        write_json(run_dir / "config.json", config)
        raise TrainingFailed(f"Training of {config['model']} failed: {config['error']}. Run folder: {run_dir}")
    test_once(run_dir, data, history, seed=seed, config=config)
    config["status"] = "completed"
    write_json(run_dir / "config.json", config)


def train_missing(models, dataset: str | None = None, *, profile: str | None = None, seeds=None, runs=None,
                  **overrides) -> dict[tuple[str, int, int | None], Path]:
    """The run folders of ``models`` x ``seeds`` (default: the profile's seeds) x every fold of the
    profile's cross-validation (one holdout run where there are no folds), training only those
    that have no completed run yet; a completed run is kept whatever settings trained it (e.g.
    ``--epochs`` on the command line). Returns ``{(model, seed, fold): run folder}`` (fold None
    for a holdout run)."""
    settings = get_profile(profile)
    found = {}
    for model in models:
        for seed in settings["seeds"] if seeds is None else seeds:
            folds = resolve_config(model, dataset, profile=profile, seed=seed, **overrides)["folds"]
            for fold in range(folds) if folds else [None]:
                config = resolve_config(model, dataset, profile=profile, seed=seed, **{**overrides, "fold": fold})
                run_dir = run_folder(config, runs)
                if (load_json(run_dir / "config.json") or {}).get("status") != "completed":
                    where = f"seed {seed}" + (f" fold {fold} of {folds}" if folds else "")
                    print(f"[labwork6] no completed run of {model} {where} in {run_dir}: training it with the "
                          f"{config['profile']} profile's settings.", flush=True)
                    train(model, dataset, profile=profile, seed=seed, runs=runs, verbose=0,
                          **{**overrides, "fold": fold})
                found[(model, seed, fold)] = run_dir
    return found


def test_once(run_dir: Path, data, history: pd.DataFrame, seed: int = 0, config: dict | None = None) -> dict:
    """Model selection is over: load the best epoch's model and use the test split, once.

    Writes the evaluation files (``predictions.csv`` names each test image by its id in the
    source), ``robustness.csv`` and ``robustness_predictions.csv`` (the test images of
    :func:`labwork6.recipes.robustness_split` under corruptions at the config's
    ``robustness_severities``, seeded by ``seed`` so every model of a seed sees the same damage)
    and ``timing.json``; returns the metrics."""
    retracing = ExpectedRetracing()
    tf.get_logger().addFilter(retracing)
    try:
        return _test_once(run_dir, data, history, seed, config or {"seed": seed})
    finally:
        tf.get_logger().removeFilter(retracing)


def _test_once(run_dir: Path, data, history: pd.DataFrame, seed: int, config: dict) -> dict:
    best = keras.models.load_model(run_dir / "model.keras")
    best_epoch = int(history.loc[history["val_selection"].idxmax(), "epoch"])
    probabilities = best.predict(data.test.images, batch_size=256, verbose=0)
    predictions = labels_from_probabilities(probabilities)
    metrics = write_evaluation(run_dir, data.test.labels, predictions, probabilities, data.class_names,
                               image_ids=data.test.ids, best_epoch=best_epoch)

    def predict(images):
        return labels_from_probabilities(best.predict(images, batch_size=256, verbose=0))

    scored = robustness_split(config, data)
    evaluate_robustness(run_dir, predict, scored.images, scored.labels, seed=seed, ids=scored.ids,
                        **({"severities": config["robustness_severities"]}
                           if config.get("robustness_severities") else {}))
    write_json(run_dir / "timing.json", timing(best, data.test.images[:256], history))
    return metrics


