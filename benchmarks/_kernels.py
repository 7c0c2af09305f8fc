"""The machine's own rates that a training step is compared with: convolutions alone and memory passes.

:func:`conv_rates` times one 3x3 convolution's forward, backward-data and backward-filter pass
(``tf.nn.conv2d`` and its two gradients in one ``tf.function`` each, NHWC as Keras runs them) at
the shapes the default networks meet (batch 32), in float32 or bfloat16, GFLOP/s each.
:func:`stream_rate` times an element-wise pass over a large float32 tensor (GB/s moved, read plus
write), the bound of every element-wise op, the optimizer's update included.
"""

from __future__ import annotations

import math
import time

import numpy as np
import tensorflow as tf

#: (batch, height and width, input channels, output channels): VGG19-BN's blocks at 32x32 input
#: and ResNet19's stages at 16x16.
CONV_SHAPES = ((32, 32, 64, 64), (32, 16, 128, 128), (32, 8, 256, 256), (32, 4, 512, 512), (32, 2, 512, 512))


def _timed(function, arguments, min_seconds: float, repetitions: int) -> list[float]:
    result = function(*arguments)
    np.asarray(tf.reshape(result, [-1])[:1])
    start = time.perf_counter()
    result = function(*arguments)
    np.asarray(tf.reshape(result, [-1])[:1])
    count = max(1, math.ceil(min_seconds / max(time.perf_counter() - start, 1e-6)))
    found = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for _ in range(count):
            result = function(*arguments)
        np.asarray(tf.reshape(result, [-1])[:1])
        found.append((time.perf_counter() - start) / count)
    return found


def conv_rates(dtype: str = "float32", shapes=CONV_SHAPES, *, min_seconds: float = 0.3,
               repetitions: int = 3) -> list[dict]:
    """GFLOP/s (median of ``repetitions``) of a 3x3 'same' convolution, forward and both gradients."""
    rows = []
    for batch, side, channels_in, channels_out in shapes:
        x = tf.cast(tf.random.stateless_normal((batch, side, side, channels_in), seed=(0, 1)), dtype)
        w = tf.cast(tf.random.stateless_normal((3, 3, channels_in, channels_out), seed=(0, 2)), dtype)
        dy = tf.cast(tf.random.stateless_normal((batch, side, side, channels_out), seed=(0, 3)), dtype)
        input_shape, filter_shape = tf.shape(x), tf.shape(w)
        passes = {
            "forward": (tf.function(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME")), (x, w)),
            "backward-data": (tf.function(lambda dy, w, shape: tf.compat.v1.nn.conv2d_backprop_input(
                shape, w, dy, [1, 1, 1, 1], "SAME")), (dy, w, input_shape)),
            "backward-filter": (tf.function(lambda x, dy, shape: tf.compat.v1.nn.conv2d_backprop_filter(
                x, shape, dy, [1, 1, 1, 1], "SAME")), (x, dy, filter_shape)),
        }
        flops = 2.0 * batch * side * side * channels_in * channels_out * 9
        for name, (function, arguments) in passes.items():
            seconds = _timed(function, arguments, min_seconds, repetitions)
            rates = [flops / s / 1e9 for s in seconds]
            rows.append({"shape": f"{batch}x{side}x{side}x{channels_in}->{channels_out}", "pass": name,
                         "dtype": dtype, "gflops": float(np.median(rates)), "min": min(rates), "max": max(rates),
                         "ms": float(np.median(seconds)) * 1e3})
    return rows


def stream_rate(elements: int = 16 * 2**20, *, min_seconds: float = 0.3, repetitions: int = 3) -> dict:
    """GB/s of ``y = a * x + b`` over ``elements`` float32 (4 bytes read and 4 written per element)."""
    x = tf.random.stateless_normal((elements,), seed=(0, 4))
    function = tf.function(lambda x: x * 1.0001 + 0.5)
    seconds = _timed(function, (x,), min_seconds, repetitions)
    rates = [8.0 * elements / s / 1e9 for s in seconds]
    return {"elements": elements, "gb_per_second": float(np.median(rates)), "min": min(rates), "max": max(rates)}
