"""Layer tables of built models, with the slides' formulas next to what Keras computes."""

from __future__ import annotations

import math

import keras
import numpy as np
import pandas as pd


def count_parameters(model: keras.Model) -> dict[str, int]:
    """Trainable, non-trainable and total parameter counts of ``model``."""
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    non_trainable = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return {"trainable": trainable, "non_trainable": non_trainable, "total": trainable + non_trainable}


def _shape(tensor_shape) -> tuple:
    return tuple(tensor_shape[1:])


def _padding(layer, kernel: int) -> int:
    # "same" pads (F - 1) / 2 on each side for the odd kernels used here; "valid" pads 0.
    return (kernel - 1) // 2 if layer.padding == "same" else 0


def layer_table(model: keras.Model) -> pd.DataFrame:
    """One row per layer: name, type, output shape, parameters and multiply-adds.

    For every convolution the row also has the slides' quantities: input ``H``, ``W``,
    ``D``, kernel size ``F``, stride ``S``, padding ``P``, filters ``K``, the output size
    ``(H - F + 2P)/S + 1`` and the parameter count ``K*(F*F*D + 1)`` (``K*F*F*D`` without
    bias), so they can be checked against Keras' own ``output_shape`` and
    ``count_params()``. A last row ``total`` sums parameters and multiply-adds.
    """
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        output_shape = _shape(layer.output.shape)
        row = {
            "name": layer.name,
            "type": type(layer).__name__,
            "output_shape": output_shape,
            "parameters": layer.count_params(),
            "multiply_adds": 0,
        }
        if isinstance(layer, keras.layers.Conv2D):
            height, width, depth = _shape(layer.input.shape)
            kernel, stride = layer.kernel_size[0], layer.strides[0]
            padding, filters = _padding(layer, kernel), layer.filters
            out_h = math.floor((height - kernel + 2 * padding) / stride) + 1
            out_w = math.floor((width - kernel + 2 * padding) / stride) + 1
            per_kernel = kernel * kernel * depth + (1 if layer.use_bias else 0)
            row.update(
                H=height, W=width, D=depth, F=kernel, S=stride, P=padding, K=filters,
                formula_output_shape=(out_h, out_w, filters),
                formula_parameters=filters * per_kernel,
                multiply_adds=out_h * out_w * filters * kernel * kernel * depth,
            )
        elif isinstance(layer, keras.layers.Dense):
            row["multiply_adds"] = int(layer.input.shape[-1]) * layer.units
        rows.append(row)
    table = pd.DataFrame(rows)
    total = {"name": "total", "type": "", "output_shape": None,
             "parameters": int(table["parameters"].sum()),
             "multiply_adds": int(table["multiply_adds"].sum())}
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    for column in ("H", "W", "D", "F", "S", "P", "K", "formula_parameters"):
        if column in table:
            table[column] = table[column].astype("Int64")
    return table
