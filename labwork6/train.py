"""Train a registry model from scratch on a dataset and write everything to a run folder.

:func:`train` is a short sequence of named steps: resolve the configuration, prepare the run
folder (reuse, resume or start afresh), load the data, :func:`build_model` (preprocessing and
augmentation as Keras layers in front of the network), :func:`compile_model`, fit with
best-on-validation selection, then use the test split once. ``config.json``'s status moves
``training`` -> ``trained`` -> ``completed``: a run interrupted while training resumes from its
last backed-up epoch (``backup/``, :mod:`labwork6.backup`) and ends as an uninterrupted one would
(the batch order and the random draws of epoch ``e`` depend only on the seed and ``e``); one
interrupted while scoring is scored again, never retrained. What a call may do with an existing
folder is :func:`labwork6.runs.plan_run`'s decision.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
from contextlib import ExitStack, nullcontext
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from labwork6.backup import Backup, BackupEachEpoch, TrainingState, restore_run_files
from labwork6.callbacks import BestModel, EpochLog, EpochSeeds, NaNGuard, ResumableEarlyStopping, SelectionScore
from labwork6.data import check_source
from labwork6.distribute import (
    PEER_ERRORS,
    WorkerLost,
    broadcast_variables,
    build_for_multiworker,
    chief_bytes,
    cluster_task,
    distribution_strategy,
    follow_chief,
    lost_worker_message,
)
from labwork6.durable import remove, remove_partials
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
from labwork6.run_config import RunConfig, read_config, write_config
from labwork6.runs import (
    COMPLETED,
    FAILED,
    TRAINED,
    TRAINING,
    RunFolderConflict,
    check_claimable,
    check_resumable,
    data_fingerprint,
    dataset_source,
    is_completed,
    plan_run,
    run_lock,
    start_fresh,
    write_evaluation,
    write_json,
)
from labwork6.speed import CountingPredictor, predict_in_full_batches, timing

__all__ = ["RECIPES", "TrainingFailed", "build_model", "compile_model", "fit_model", "resolve_config", "train",
           "train_missing"]


class TrainingFailed(RuntimeError):
    """Training stopped without a usable model (e.g. the loss became NaN)."""


def build_model(config: RunConfig, data) -> keras.Model:
    """The run's model, untrained: raw images -> preprocessing (adapted on ``data.train`` only)
    -> augmentation (training only, if ``config.augment``) -> the network of ``config.model``."""
    preprocessing = build_preprocessing(data.train.images, image_size=model_image_size(config, data.image_shape),
                                        channels=config.channels)
    input_shape = tuple(int(d) for d in preprocessing.outputs[0].shape[1:])
    augmentation = build_augmentation(config, data.name, input_shape, normalized_range(preprocessing))
    return build_network(config, input_shape, data.num_classes, preprocessing=preprocessing, augmentation=augmentation)


def compile_model(network: keras.Model, config: RunConfig, *, binary: bool, steps_per_epoch: int) -> keras.Model:
    """Compile ``network`` with the recipe: cross-entropy with label smoothing (binary for one
    sigmoid unit, categorical for softmax), the recipe's optimizer with warm-up and cosine
    decay over ``config.epochs * steps_per_epoch`` steps, and accuracy."""
    if binary:
        loss = keras.losses.BinaryCrossentropy(label_smoothing=config.label_smoothing)
        accuracy = keras.metrics.BinaryAccuracy(name="accuracy")
    else:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
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


def _callbacks(run_dir: Path, num_val: int, patience: int | None, state: TrainingState, backup: Backup,
               extra=(), write: bool = True) -> list:
    """The run's callbacks, in the order they see each epoch's end: logs, the best model and early
    stopping first, the backup last, so an epoch is backed up with its history row, its best
    model and early stopping's counters, or not at all."""
    best = BestModel(run_dir / "model.keras", monitor="val_selection", initial_value_threshold=state.best_score,
                     best_epoch=state.best_epoch)
    found = [EpochSeeds(), EpochLog(), SelectionScore(num_val), NaNGuard(), best]
    stopping = None
    if patience:
        stopping = ResumableEarlyStopping(monitor="val_selection", mode="max", patience=patience,
                                          state=state.early_stopping)
        found.append(stopping)
    return [*found, *extra, BackupEachEpoch(backup, run_dir, state, best, stopping, write=write)]


def train(model: str, dataset: str | None = None, *, profile: str | None = None, seed: int = 0,
          run_dir=None, runs=None, overwrite: bool = False, verbose: int | str = "auto",
          callbacks=(), **overrides) -> Path:
    """Train ``model`` (a registry name) from scratch and write its run folder; return the folder.

    A completed run with the same settings is returned as it is; an interrupted one resumes
    (from its last backed-up epoch, or at scoring when training had finished). A run folder
    with other settings, or a folder that is not a run folder, is refused with a
    :class:`labwork6.runs.RunFolderConflict` that names what differs; nothing is deleted
    there without ``overwrite``, and nothing in a folder that labwork6 did not create.

    Args:
        model: a name from :data:`labwork6.models.MODEL_NAMES`.
        dataset: a :func:`labwork6.data.load_dataset` source (default: the profile's).
        profile: ``smoke``, ``default`` or ``full`` (default: ``$LABWORK6_PROFILE``).
        seed: fixes the splits, the initialisation, the batch order and the random draws.
        run_dir: the run folder (default ``<runs>/<profile>/<dataset>-<model>-seed<seed>``, with
            ``-fold<F>of<K>`` for a fold of a cross-validation and a folder dataset named with a short
            hash of its path: :func:`labwork6.recipes.run_folder`). With ``distribute="multiworker"``
            only the chief writes it; other workers write a temporary folder, which they return.
        overwrite: train again from the start even when the folder holds a run (completed,
            interrupted or with other settings).
        callbacks: extra Keras callbacks.
        **overrides: see :func:`labwork6.recipes.resolve_config`.
    """
    config = resolve_config(model, dataset, profile=profile, seed=seed, **overrides)
    check_source(config.dataset)  # an unknown name or a missing folder gets no run folder
    config = config.replace(dataset_source=dataset_source(config.dataset))
    task = cluster_task() if config.distribute == "multiworker" else None
    # Before any TensorFlow op: collective ops (multi-worker) must be configured at start-up.
    strategy = distribution_strategy(config.distribute)
    run_dir = Path(run_dir) if run_dir else run_folder(config, runs)
    with ExitStack() as held:
        def decide() -> dict:  # on the chief alone with several workers: they all follow it
            if check_claimable(run_dir, config, overwrite=overwrite):
                return {"plan": "reuse", "previous": None}
            held.enter_context(run_lock(run_dir))
            previous = None if overwrite else _previous(run_dir)  # under the lock: no other writer now
            return {"plan": plan_run(run_dir, config, previous, overwrite=overwrite),
                    "previous": previous.to_json() if previous else None}

        decision = follow_chief(strategy, task, decide)
        previous = RunConfig.from_json(decision["previous"]) if decision["previous"] else None
        if decision["plan"] == "reuse":
            if task is None or task.is_chief:
                remove(run_dir / "backup")  # left by a kill between "completed" and its removal
            return _reused(run_dir)
        if task and not task.is_chief:
            if decision["plan"] == "score":  # training is over: the chief scores the test split alone
                print(f"[labwork6] {run_dir} is trained; the chief scores its test split.")
                return run_dir
            # Only the chief writes the run folder; the others write to a temporary one.
            run_dir = Path(tempfile.mkdtemp(prefix=f"labwork6-{task.task_type}{task.index}-"))
        try:
            _train_into(run_dir, config, decision["plan"], previous, strategy, task, verbose, callbacks)
        except PEER_ERRORS as error:
            if task is None:
                raise
            raise WorkerLost(lost_worker_message(error, task, run_dir)) from None
    return run_dir


def _previous(run_dir: Path) -> RunConfig | None:
    """The configuration in a run folder, or None; a run of another format, or the SVC
    baseline's, is a conflict."""
    try:
        previous = read_config(run_dir)
    except ValueError as error:  # RunFormatError included
        raise RunFolderConflict(f"{run_dir} holds a run this labwork6 cannot continue ({error}); pass --overwrite "
                                "(overwrite=True) to train it again, or choose another --run-dir "
                                "(run_dir=...).") from None
    if previous is not None and not isinstance(previous, RunConfig):
        raise RunFolderConflict(f"{run_dir} holds the {previous.model} baseline, not a network's run; choose another "
                                "--run-dir (run_dir=...).")
    return previous


def _reused(run_dir: Path) -> Path:
    print(f"[labwork6] {run_dir} is already trained with this configuration; reusing it "
          "(pass overwrite=True / --overwrite to train again).")
    return run_dir


def _train_into(run_dir: Path, config: RunConfig, plan: str, previous: RunConfig | None, strategy, task, verbose,
                callbacks) -> None:
    """The steps of :func:`train` once the run folder is this process's: ``plan`` is
    ``"fresh"``, ``"resume"`` (training, from the backup) or ``"score"`` (the test split only).
    A worker other than the chief trains (into its temporary folder) and stops there."""
    if plan == "fresh":
        start_fresh(run_dir)
    seed = config.seed
    precision = resolve_precision(config.precision)
    keras.utils.set_random_seed(seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    data = run_dataset(config)
    facts = {"resolved_precision": precision, "data_fingerprint": data_fingerprint(data),
             "num_replicas_in_sync": int(strategy.num_replicas_in_sync) if strategy else 1, **environment()}
    if plan != "fresh":
        check_resumable(run_dir, previous, facts)
        remove_partials(run_dir)  # what a kill cut short
    if plan == "score":
        config = previous
    else:
        config = _fit(run_dir, config, plan == "resume", data, facts, strategy, task, verbose, callbacks)
        if task and not task.is_chief:
            return
    test_once(run_dir, data, pd.read_csv(run_dir / "history.csv"), config)
    write_config(run_dir, config.replace(status=COMPLETED))
    remove(run_dir / "backup")


def _fit(run_dir: Path, config: RunConfig, resume: bool, data, facts: dict, strategy, task, verbose,
         callbacks) -> RunConfig:
    """Build, restore (``resume``) and train the network until the run is ``trained``: its best
    model, history and config final. Returns the configuration with what training recorded."""
    seed, precision = config.seed, facts["resolved_precision"]
    steps_per_epoch = math.ceil(len(data.train.labels) / config.batch_size)

    def scope():  # a strategy's scope is entered once per object
        return strategy.scope() if strategy else nullcontext()

    with precision_policy(precision), scope():
        network = build_model(config, data)
        compile_model(network, config, binary=data.num_classes == 2, steps_per_epoch=steps_per_epoch)

    config = config.replace(
        status=TRAINING, steps_per_epoch=steps_per_epoch,
        input_shape=[int(d) for d in network.get_layer("preprocessing").outputs[0].shape[1:]],
        raw_input_shape=[int(d) for d in data.image_shape], num_classes=data.num_classes,
        class_names=data.class_names, counts={split: int(len(getattr(data, split).labels))
                                                    for split in ("train", "val", "test")},
        normalization=normalization_statistics(network, len(data.train.labels)),
        parameters=count_parameters(network), multiply_adds=int(layer_table(network).iloc[-1]["multiply_adds"]),
        **facts,
    )
    write_config(run_dir, config)

    backup = Backup(run_dir / "backup")
    with precision_policy(precision):
        if config.distribute == "multiworker":
            build_for_multiworker(network, strategy,
                                  next(iter(_pipelines(data, config, replicas=strategy.num_replicas_in_sync)[1])))
        state, generation = TrainingState(), None
        if resume:
            with scope():
                if not network.optimizer.built:
                    # On every worker alike: creating a variable is a collective operation there.
                    network.optimizer.build(network.trainable_variables)
            if task is None or task.is_chief:
                # Outside the scope: loading creates throwaway variables (Keras' reference Optimizer),
                # which under MultiWorkerMirroredStrategy would wait for the other workers.
                state, generation = backup.restore(network)
            if task:  # every worker continues from the chief's backup
                broadcast_variables(strategy, task, _unique(network.variables + network.optimizer.variables))
                shared = chief_bytes(strategy, task, json.dumps(dataclasses.asdict(state) if state else None).encode())
                state = TrainingState(**json.loads(shared)) if json.loads(shared) else None
            restore_run_files(run_dir, state, generation)
            state = state or TrainingState()
        progress = EpochProgress(run_dir.name, config.model, seed, config.epochs)
        run_callbacks = _callbacks(run_dir, len(data.val.labels), config.patience, state, backup,
                                   (progress, *callbacks), write=task is None or task.is_chief)
        nan_guard = next(c for c in run_callbacks if isinstance(c, NaNGuard))
        if state.epoch < config.epochs and not state.stopped:
            fit_model(network, data, config, callbacks=run_callbacks, initial_epoch=state.epoch, verbose=verbose)
    if task and not task.is_chief:
        return config
    history_path = run_dir / "history.csv"
    config = config.replace(epochs_run=len(pd.read_csv(history_path)) if history_path.exists() else 0)
    if nan_guard.fired or not (run_dir / "model.keras").exists():
        config = config.replace(status=FAILED, error="the training loss became NaN (TerminateOnNaN); lower the "
                                "learning rate or use float32 precision")
        write_config(run_dir, config)
        raise TrainingFailed(f"Training of {config.model} failed: {config.error}. Run folder: {run_dir}")
    # The best model and the history are final: a kill from here on rescores only.
    config = config.replace(status=TRAINED)
    write_config(run_dir, config)
    return config


def _pipelines(data, config: RunConfig, first_epoch: int = 0,
               replicas: int = 1) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """The training and validation streams of raw images (:func:`labwork6.preprocessing.make_pipeline`)."""
    # Every worker builds the same stream; DATA sharding hands each its part of every batch.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train_pipeline = make_pipeline(data.train.images, targets(data.train.labels, data.num_classes),
                                   batch_size=config.batch_size, training=True, seed=config.seed,
                                   epochs=config.epochs, first_epoch=first_epoch)
    val_pipeline = make_pipeline(data.val.images, targets(data.val.labels, data.num_classes),
                                 batch_size=validation_batch_size(len(data.val.labels), config.batch_size, replicas),
                                 training=False)
    return train_pipeline.with_options(options), val_pipeline.with_options(options)


def validation_batch_size(num_images: int, batch_size: int, replicas: int = 1) -> int:
    """The batch size of the validation pass: ``batch_size``, except under a strategy with several
    ``replicas`` where Keras needs the first batch to split evenly between them (it averages that
    batch over the replicas to build the model) and no replica may get an empty last batch (an
    empty share crashed the convolutions). Validation scores are per image, so a smaller batch
    changes nothing else; the training batches, which the recipe fixes, are never changed."""
    if replicas <= 1:
        return batch_size
    for size in range(min(batch_size, num_images) // replicas * replicas, 0, -replicas):
        if num_images % size == 0 or num_images % size >= replicas:
            return size
    raise ValueError(f"The validation split's {num_images} images cannot be batched so that each of the {replicas} "
                     "replicas of the distribution strategy gets a share of every batch: use more images or fewer "
                     "devices.")


def fit_model(network: keras.Model, data, config: RunConfig, *, callbacks=(), initial_epoch: int = 0,
              verbose: int | str = "auto") -> keras.callbacks.History:
    """Train a compiled ``network`` on ``data.train`` for ``config.epochs`` epochs, validating on
    ``data.val`` after each: the ``fit`` call of every run.

    The input pipeline feeds raw uint8 images in batches of ``config.batch_size`` (the model
    scales, resizes, normalises and augments them itself), each epoch in an order drawn from
    (seed, epoch), so a run resumed at ``initial_epoch`` sees the batches an uninterrupted one
    would. ``callbacks`` are what :func:`train` passes: the epoch seeds, the history log, the
    selection score, the NaN guard, the best-model checkpoint, the backup and the progress line.
    """
    replicas = network.distribute_strategy.num_replicas_in_sync
    train_pipeline, val_pipeline = _pipelines(data, config, first_epoch=initial_epoch, replicas=replicas)
    steps_per_epoch = math.ceil(len(data.train.labels) / config.batch_size)
    return network.fit(train_pipeline, validation_data=val_pipeline, epochs=config.epochs,
                       initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch, callbacks=list(callbacks),
                       verbose=verbose, shuffle=False)  # the pipeline orders each epoch


def _unique(variables) -> list:
    seen, found = set(), []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            found.append(variable)
    return found


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
            folds = resolve_config(model, dataset, profile=profile, seed=seed, **overrides).folds
            for fold in range(folds) if folds else [None]:
                config = resolve_config(model, dataset, profile=profile, seed=seed, **{**overrides, "fold": fold})
                run_dir = run_folder(config, runs)
                if not is_completed(run_dir):
                    where = f"seed {seed}" + (f" fold {fold} of {folds}" if folds else "")
                    print(f"[labwork6] no completed run of {model} {where} in {run_dir}: training it with the "
                          f"{config.profile} profile's settings.", flush=True)
                    train(model, dataset, profile=profile, seed=seed, runs=runs, verbose=0,
                          **{**overrides, "fold": fold})
                found[(model, seed, fold)] = run_dir
    return found


def test_once(run_dir: Path, data, history: pd.DataFrame, config: RunConfig) -> dict:
    """Model selection is over: load the best epoch's model and use the test split, once.

    Writes the evaluation files (``predictions.csv`` names each test image by its id in the
    source), ``robustness.csv`` and ``robustness_predictions.csv`` (the test images of
    :func:`labwork6.recipes.robustness_split` under corruptions at the config's
    ``robustness_severities``, seeded by its seed so every model of a seed sees the same damage)
    and ``timing.json``; returns the metrics."""
    retracing = ExpectedRetracing()
    tf.get_logger().addFilter(retracing)
    try:
        return _test_once(run_dir, data, history, config)
    finally:
        tf.get_logger().removeFilter(retracing)


def _test_once(run_dir: Path, data, history: pd.DataFrame, config: RunConfig) -> dict:
    best = keras.models.load_model(run_dir / "model.keras")
    best_epoch = int(history.loc[history["val_selection"].idxmax(), "epoch"])
    # Every prediction in full batches of one shape: the step is traced once for the test split,
    # the corrupted images and the throughput (timed on the scoring it does anyway).
    probabilities = CountingPredictor(lambda images: predict_in_full_batches(best, images))
    test_probabilities = probabilities(data.test.images)
    predictions = labels_from_probabilities(test_probabilities)
    metrics = write_evaluation(run_dir, data.test.labels, predictions, test_probabilities, data.class_names,
                               image_ids=data.test.ids, best_epoch=best_epoch)
    scored = robustness_split(config, data)
    evaluate_robustness(run_dir, lambda images: labels_from_probabilities(probabilities(images)), scored.images,
                        scored.labels, seed=config.seed, ids=scored.ids, severities=config.robustness_severities)
    write_json(run_dir / "timing.json", timing(best, data.test.images, history, throughput=probabilities.throughput,
                                               throughput_images=probabilities.images))
    return metrics


