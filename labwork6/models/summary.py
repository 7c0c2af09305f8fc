"""Layer tables of built models, with the slides' formulas next to what Keras computes."""

from __future__ import annotations

import math

import keras
import numpy as np
import pandas as pd

from labwork6.models._common import FRONT_LAYERS


def _network_layers(model: keras.Model) -> list:
    """The layers of the architecture: not the input, not the preprocessing or augmentation."""
    return [layer for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer) and layer.name not in FRONT_LAYERS]


def count_parameters(model: keras.Model) -> dict[str, int]:
    """Trainable, non-trainable and total parameter counts of ``model``'s network (the
    preprocessing in front of a trained model, e.g. its normalisation statistics, is not counted)."""
    layers = _network_layers(model)
    trainable = int(sum(np.prod(w.shape) for layer in layers for w in layer.trainable_weights))
    non_trainable = int(sum(np.prod(w.shape) for layer in layers for w in layer.non_trainable_weights))
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
    ``count_params()`` (:func:`check_formulas`). A dense layer is the case ``F = 1`` with
    ``D`` its input length (``H`` and ``W`` are left empty). The preprocessing and
    augmentation in front of a trained model are not listed. A last row ``total`` sums
    parameters and multiply-adds.
    """
    rows = []
    for layer in _network_layers(model):
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
            input_shape = _shape(layer.input.shape)
            depth = int(input_shape[-1])
            row.update(
                D=depth, F=1, S=1, P=0, K=layer.units,
                formula_output_shape=(*input_shape[:-1], layer.units),
                formula_parameters=layer.units * (depth + (1 if layer.use_bias else 0)),
                multiply_adds=depth * layer.units,
            )
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


_FORMULA_COLUMNS = ("name", "type", "output_shape", "formula_output_shape", "parameters", "formula_parameters")


def check_formulas(table: pd.DataFrame) -> pd.DataFrame | None:
    """Check the slides' formulas against Keras for every convolution and dense layer of a
    :func:`layer_table`: the output size ``(H - F + 2P)/S + 1`` against ``output_shape`` and
    ``K*(F*F*D + 1)`` against ``count_params()``.

    Returns:
        None when every layer agrees, else the disagreeing layers (name, type, Keras' and
        the formula's output shape and parameter count).

    Raises:
        ValueError: ``table`` is not a layer table, or it has no convolution or dense layer.
    """
    if not isinstance(table, pd.DataFrame) or not {"name", "type", "output_shape", "parameters"} <= set(table):
        received = list(table.columns) if isinstance(table, pd.DataFrame) else type(table).__name__
        raise ValueError("check_formulas needs a DataFrame made by labwork6.models.layer_table (columns name, "
                         f"type, output_shape, parameters, formula_...). Received: {received}")
    checked = table[table["type"].isin(["Conv2D", "Dense"])]
    if checked.empty:
        raise ValueError("The layer table has no Conv2D or Dense layer whose formulas could be checked. "
                         f"Received layer types: {sorted(set(table['type']) - {''})}")
    shapes_agree = [tuple(formula) == tuple(keras_shape)
                    for formula, keras_shape in zip(checked["formula_output_shape"], checked["output_shape"],
                                                    strict=True)]
    parameters_agree = (checked["formula_parameters"].astype("int64") == checked["parameters"]).to_numpy()
    wrong = checked[~(np.array(shapes_agree) & parameters_agree)]
    return None if wrong.empty else wrong[list(_FORMULA_COLUMNS)].reset_index(drop=True)
