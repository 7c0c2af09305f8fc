"""Inference in full batches (one traced shape) and the timing of a run."""

import keras
import numpy as np
import pandas as pd

from labwork6.speed import CountingPredictor, predict_in_full_batches, timing


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.predict_function = None
    return model


def test_full_batches_give_the_plain_predictions_with_one_batch_shape():
    model = _model()
    images = np.random.default_rng(0).random((37, 4, 4, 1)).astype("float32")
    seen = []
    original = model.predict_step

    def recording(data):
        seen.append(tuple(keras.ops.shape(data[0] if isinstance(data, tuple) else data)))
        return original(data)

    model.predict_step = recording
    found = predict_in_full_batches(model, images, batch_size=16)
    np.testing.assert_allclose(found, model(images).numpy(), rtol=1e-6, atol=1e-6)
    assert found.shape == (37, 3)
    assert set(seen) == {(16, 4, 4, 1)}  # 37 images: three batches of 16, the last one padded


def test_counting_predictor_leaves_the_first_call_out():
    calls = CountingPredictor(lambda images: np.zeros(len(images)))
    calls(np.zeros((5, 2)))
    assert calls.images == 0 and np.isnan(calls.throughput)
    calls(np.zeros((7, 2)))
    calls(np.zeros((3, 2)))
    assert calls.images == 10 and calls.throughput > 0


def test_timing_reads_the_history_and_keeps_the_measured_throughput():
    history = pd.DataFrame({"epoch": [1, 2], "epoch_seconds": [3.0, 5.0]})
    found = timing(_model(), np.zeros((8, 4, 4, 1), "float32"), history, throughput=123.0, throughput_images=80,
                   repeats=3)
    assert found["train_seconds"] == 8.0 and found["seconds_per_epoch"] == 4.0 and found["epochs_run"] == 2
    assert found["inference_throughput"] == 123.0 and found["throughput_images"] == 80
    assert found["inference_latency_ms"] > 0
