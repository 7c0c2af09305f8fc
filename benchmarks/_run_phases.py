"""Where a training run's time goes outside the steps: ``labwork6.train.train`` with timers around its parts.

:func:`run_phases` calls ``train()`` exactly as the main job does (default profile, a temporary run
folder), with a callback that stamps the epochs, the first and last steps and the validation
passes, and with timers wrapped (in this process only, nothing in the package changes) around
the functions ``train()`` calls: building and compiling, saving the best model and the backup
each epoch, loading the best model, scoring the test split, corrupting the robustness images
and predicting them, and the timing section. :func:`first_step_anatomy` splits the first training
call into tracing (Python builds the graph), the rest of the first call (graph optimisation,
oneDNN primitive creation, first allocations) and a plain step.
"""

from __future__ import annotations

import tempfile
import time
from collections import defaultdict


class Clock:
    """Seconds spent in named parts (summed over calls) and their call counts."""

    def __init__(self):
        self.seconds, self.calls = defaultdict(float), defaultdict(int)

    def wrap(self, owner, attribute: str, label: str, patches: list):
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1

        setattr(owner, attribute, timed)
        patches.append((owner, attribute, original))


def _stamps_callback(stamps: dict):
    import keras

    class Stamps(keras.callbacks.Callback):
        """Wall-clock stamps of the fit's events (first and last step of each epoch, validation)."""

        def _stamp(self, key):
            stamps.setdefault(key, time.perf_counter())

        def on_train_begin(self, logs=None):
            self._stamp("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch
            self._stamp(f"epoch{epoch}_begin")

        def on_train_batch_begin(self, batch, logs=None):
            self._stamp(f"epoch{self._epoch}_first_step_begin")

        def on_train_batch_end(self, batch, logs=None):
            self._stamp(f"epoch{self._epoch}_first_step_end")
            stamps[f"epoch{self._epoch}_last_step_end"] = time.perf_counter()
            stamps[f"epoch{self._epoch}_steps"] = batch + 1

        def on_test_begin(self, logs=None):
            stamps[f"epoch{self._epoch}_validation_begin"] = time.perf_counter()

        def on_test_end(self, logs=None):
            stamps[f"epoch{self._epoch}_validation_end"] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            stamps[f"epoch{epoch}_end"] = time.perf_counter()

    return Stamps()


def run_phases(spec: dict) -> dict:
    """Train ``spec["model"]`` for ``spec["epochs"]`` epochs as ``make all`` does; seconds per part."""
    import keras

    import labwork6.robustness as robustness
    import labwork6.train as train_module
    from labwork6.callbacks import BestModel

    clock, patches, stamps = Clock(), [], {}
    for owner, attribute, label in (
            (train_module, "run_dataset", "load data"), (train_module, "build_model", "build model"),
            (train_module, "compile_model", "compile"), (train_module, "layer_table", "layer table (config)"),
            (BestModel, "on_epoch_end", "save best model (model.keras)"),
            (keras.callbacks.BackupAndRestore, "on_epoch_end", "save backup (weights + optimizer)"),
            (train_module, "test_once", "test_once (total)"), (keras.models, "load_model", "load best model"),
            (train_module, "write_evaluation", "write evaluation files"),
            (train_module, "evaluate_robustness", "robustness (total)"),
            (robustness, "corrupt", "robustness: corrupt images (numpy/scipy)"),
            (train_module, "timing", "timing section")):
        clock.wrap(owner, attribute, label, patches)
    # Predictions made by the network (test split and robustness): keras.Model.predict.
    clock.wrap(keras.Model, "predict", "predict calls (test + robustness)", patches)
    try:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            train_module.train(spec["model"], profile=spec.get("profile", "default"), seed=spec.get("seed", 0),
                               run_dir=folder,
                               overwrite=True, verbose=0, epochs=spec["epochs"], callbacks=[_stamps_callback(stamps)])
            total = time.perf_counter() - start
    finally:
        for owner, attribute, original in reversed(patches):
            setattr(owner, attribute, original)
    stamps = {key: value - start if not key.endswith("_steps") else value for key, value in stamps.items()}
    return {"model": spec["model"], "epochs": spec["epochs"], "total_seconds": total, "stamps": stamps,
            "parts": dict(clock.seconds), "calls": dict(clock.calls)}


def first_step_anatomy(spec: dict) -> dict:
    """Seconds of: tracing the train function (``get_concrete_function``, no execution), its first
    call (graph optimisation, oneDNN primitives, allocations, one step), and later plain steps;
    the same for the validation and predict functions."""
    import numpy as np
    from _profile import _setup

    from labwork6.train import precision_policy

    found = {}
    network, stream, config, precision = _setup(spec["model"], width=spec.get("width"))
    with precision_policy(precision):
        iterator = iter(stream)
        network.make_train_function()
        function = network.train_function
        # Keras' train_function is a Python wrapper around a tf.function (multi_step_on_iterator)
        # held in its closure: tracing that one builds the graph without running it.
        compiled = next(cell.cell_contents for cell in function.__closure__
                        if hasattr(cell.cell_contents, "get_concrete_function"))
        start = time.perf_counter()
        compiled.get_concrete_function(iterator)
        found["train: trace (python -> graph)"] = time.perf_counter() - start
        times = []
        for _ in range(spec.get("steps", 4)):
            start = time.perf_counter()
            np.asarray(function(iterator)["loss"])
            times.append(time.perf_counter() - start)
        found["train: first call (optimise graph, create primitives, one step)"] = times[0]
        found["train: later step (median)"] = float(np.median(times[1:]))
        images = np.asarray(next(iter(stream))[0])
        for batch in (256, 14, 1):
            data = np.concatenate([images] * (batch // len(images) + 1))[:batch]
            start = time.perf_counter()
            network.predict_on_batch(data)
            first = time.perf_counter() - start
            start = time.perf_counter()
            network.predict_on_batch(data)
            found[f"predict batch {batch}: first call"] = first
            found[f"predict batch {batch}: second call"] = time.perf_counter() - start
    return found
