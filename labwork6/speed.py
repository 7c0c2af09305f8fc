"""How fast a trained model is: inference latency (batch 1) and throughput (batch 256), and
the training time from its history (``timing.json`` of a run, and the benchmarks)."""

from __future__ import annotations

import math
import time

import keras
import numpy as np
import pandas as pd


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
