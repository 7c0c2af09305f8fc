"""XlaAdamW: Keras' AdamW arithmetic, fused by XLA; equal to keras.optimizers.AdamW to float32 rounding."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from labwork6.optimizers import XlaAdamW

SHAPES = ((3, 3, 4, 8), (16,), (32, 16), (5,))


def _train(optimizer_class, weight_decay: float, steps: int = 8, **kwargs) -> tuple[list, list]:
    rng = np.random.default_rng(0)
    initial = [rng.standard_normal(shape).astype("float32") for shape in SHAPES]
    gradients = [[0.1 * rng.standard_normal(shape).astype("float32") for shape in SHAPES] for _ in range(steps)]
    schedule = keras.optimizers.schedules.CosineDecay(0.0, 100, warmup_target=5e-2, warmup_steps=3)
    optimizer = optimizer_class(schedule, weight_decay=weight_decay, **kwargs)
    variables = [keras.Variable(value) for value in initial]
    optimizer.build(variables)

    @tf.function
    def update(grads):
        optimizer.apply(grads, variables)

    for step in gradients:
        update([tf.constant(value) for value in step])
    return initial, [variable.numpy() for variable in variables]


@pytest.mark.parametrize("weight_decay", [0.0, 1e-4, 0.5])
def test_equals_keras_adamw_to_rounding(weight_decay):
    initial, expected = _train(keras.optimizers.AdamW, weight_decay)
    _, found = _train(XlaAdamW, weight_decay)
    moved = max(float(np.abs(e - i).max()) for e, i in zip(expected, initial, strict=True))
    assert moved > 1e-2  # the updates are large enough to tell a wrong formula apart
    for e, f in zip(expected, found, strict=True):
        np.testing.assert_allclose(f, e, rtol=0, atol=2e-6)


def test_weight_decay_is_applied():
    _, without = _train(XlaAdamW, 0.0)
    _, with_decay = _train(XlaAdamW, 0.5)
    assert max(float(np.abs(a - b).max()) for a, b in zip(without, with_decay, strict=True)) > 1e-3


def test_amsgrad_falls_back_to_keras():
    _, expected = _train(keras.optimizers.AdamW, 1e-4, amsgrad=True)
    _, found = _train(XlaAdamW, 1e-4, amsgrad=True)
    for e, f in zip(expected, found, strict=True):
        np.testing.assert_array_equal(f, e)


def test_serialises_by_name():
    optimizer = XlaAdamW(1e-3, weight_decay=1e-4)
    config = keras.saving.serialize_keras_object(optimizer)
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, XlaAdamW) and restored.weight_decay == pytest.approx(1e-4)
