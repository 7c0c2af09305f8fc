"""Keras callbacks of a training run: model selection and the best model's file, epoch log, NaN
guard, seeded epochs, early stopping that resumes."""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import numpy as np

from labwork6.durable import write_with

#: Room for this many random draws per layer and epoch before two epochs' streams overlap.
DRAWS_PER_EPOCH = 2**20


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


class EpochSeeds(keras.callbacks.Callback):
    """Restart every random layer's stream (dropout, augmentation) at a point set by the epoch.

    Keras' seed generators keep a ``[seed, counter]`` state that a weights file does not
    save, so a resumed run would draw other dropout masks and augmentations than an
    uninterrupted one. Setting the counter to ``epoch * DRAWS_PER_EPOCH`` at the start of each
    epoch makes epoch ``e``'s draws depend only on the layers' seeds and ``e``.
    """

    def on_epoch_begin(self, epoch, logs=None):
        for variable in self.model.variables:
            if variable.path.endswith("seed_generator_state"):
                state = np.array(keras.ops.convert_to_numpy(variable))
                state[1] = epoch * DRAWS_PER_EPOCH
                variable.assign(state)


class BestModel(keras.callbacks.Callback):
    """Save the model of the best epoch so far (highest ``monitor``) to ``path``, ready to
    predict: preprocessing and network with their weights, no optimizer state, not compiled.

    ``keras.callbacks.ModelCheckpoint`` saves the compiled model each time the score improves,
    and Keras 3 writes the optimizer's state into a ``.keras`` file (AdamW's two moments: three
    times the weights; 0.47 GB for VGG19-BN). Here an uncompiled copy of the model receives the
    weights and is saved: a third of the size, and a file that loads without warnings. How the
    run was compiled is in its ``config.json`` (``labwork6.train.compile_model`` rebuilds it);
    resuming uses ``backup/``, which keeps the optimizer. The file is written under a temporary
    name, fsynced and renamed (:func:`labwork6.durable.write_with`), so an interrupted save never
    leaves a broken ``path``; ``path`` is used as given (no ``{epoch}`` formatting).
    ``best_epoch`` is the epoch (counted from 1) of the saved model.
    """

    def __init__(self, path, monitor: str = "val_selection", initial_value_threshold: float | None = None,
                 best_epoch: int | None = None):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.best = -math.inf if initial_value_threshold is None else float(initial_value_threshold)
        self.best_epoch = best_epoch
        self._copy = None

    def on_epoch_end(self, epoch, logs=None):
        score = (logs or {}).get(self.monitor)
        if score is None or not math.isfinite(score) or score <= self.best:
            return
        self.best, self.best_epoch = float(score), epoch + 1
        if self._copy is None:
            # Not clone_model: it compiles the copy (and builds the optimizer) as the original.
            config = keras.saving.serialize_keras_object(self.model)
            config.pop("compile_config", None)
            self._copy = keras.saving.deserialize_keras_object(config)
        self._copy.set_weights(self.model.get_weights())
        write_with(self.path, self._copy.save)

    def on_train_end(self, logs=None):
        self._copy = None


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """``EarlyStopping`` whose counters survive an interruption: :meth:`get_state` goes into the
    backup and ``state`` (from it) is where a resumed run starts, so it stops at the epoch an
    uninterrupted run stops at. The best weights are not kept here: :class:`BestModel` saves them."""

    def __init__(self, *args, state: dict | None = None, **kwargs):
        super().__init__(*args, restore_best_weights=False, **kwargs)
        self._resume_from = dict(state or {})

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for key in ("wait", "best", "best_epoch", "stopped_epoch"):
            if key in self._resume_from:
                setattr(self, key, self._resume_from[key])

    def get_state(self) -> dict:
        """The counters that decide when to stop (JSON-ready)."""
        best = None if self.best is None else float(self.best)
        return {"wait": int(self.wait), "best": best, "best_epoch": int(self.best_epoch),
                "stopped_epoch": int(self.stopped_epoch)}
