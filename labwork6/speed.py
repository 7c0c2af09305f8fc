"""How fast a trained model is, and inference that traces its prediction step once.

:func:`predict_in_full_batches` is how a run scores images: every call to ``model.predict`` sees
only full batches (the last one padded), so its prediction step is traced for one batch shape,
not again for each partial last batch (each trace of VGG19-BN costs a second or more on a 2-core
CPU). :func:`timing` gives ``timing.json`` of a run: the training time from its history, the
inference latency (batch 1) and the throughput measured on the images the run scored anyway.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import pandas as pd

#: Images per prediction step when a run scores images.
PREDICT_BATCH = 256


def predict_in_full_batches(model: keras.Model, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """``model.predict(images)``, with the images padded (zeros) to a whole number of batches and
    the padding's outputs dropped: one traced batch shape for any number of images."""
    images = np.asarray(images)
    padding = -len(images) % batch_size
    if padding:
        images = np.concatenate([images, np.zeros((padding, *images.shape[1:]), images.dtype)])
    return model.predict(images, batch_size=batch_size, verbose=0)[:len(images) - padding]


class CountingPredictor:
    """``predict(images)`` timed for the throughput: the images and seconds of every call but the
    first, which also traces the prediction step."""

    def __init__(self, predict):
        self.predict, self.images, self.seconds, self.calls = predict, 0, 0.0, 0

    def __call__(self, images):
        start = time.perf_counter()
        found = self.predict(images)
        if self.calls:
            self.seconds += time.perf_counter() - start
            self.images += len(images)
        self.calls += 1
        return found

    @property
    def throughput(self) -> float:
        """Images per second over every call so far (NaN before any)."""
        return self.images / self.seconds if self.seconds else float("nan")


def timing(model: keras.Model, images: np.ndarray, history: pd.DataFrame, *, throughput: float,
           throughput_images: int, repeats: int = 10) -> dict:
    """Training time from the history, inference latency (the median of ``repeats`` predictions of
    one image, after one that builds the step for that shape) and the ``throughput`` (images per
    second in batches of :data:`PREDICT_BATCH`) measured while the run scored ``throughput_images``."""
    single = np.asarray(images)[:1]
    model.predict_on_batch(single)  # traces the step for one image
    latencies = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(single)
        latencies.append(time.perf_counter() - start)
    seconds = history["epoch_seconds"] if "epoch_seconds" in history else pd.Series(dtype=float)
    return {
        "train_seconds": float(seconds.sum()),
        "epochs_run": int(len(history)),
        "seconds_per_epoch": float(seconds.mean()) if len(seconds) else float("nan"),
        "inference_latency_ms": float(np.median(latencies) * 1000.0),
        "inference_throughput": float(throughput),
        "throughput_batch_size": PREDICT_BATCH,
        "throughput_images": int(throughput_images),
    }
