"""The two networks block by block, with the same columns for both (:func:`block_table`), and
the share of a convolution's work that falls on zero padding (:func:`padding_share`)."""

from __future__ import annotations

import re

import keras
import numpy as np
import pandas as pd

from labwork6.latex import shape_text, thousands
from labwork6.models import layer_table

_VGG_BLOCK = re.compile(r"^(block\d+)_")
_RESNET_BLOCK = re.compile(r"^(conv\d+_block\d+)_")


def _block_of(name: str) -> str:
    """The block a layer belongs to: ``block3`` (VGG), ``conv3_block1`` (ResNet), ``stem`` (the
    ResNet's ``conv1_*``), or the layer's own name (``fc1``, ``predictions``, ``flatten``)."""
    for pattern in (_VGG_BLOCK, _RESNET_BLOCK):
        match = pattern.match(name)
        if match:
            return match.group(1)
    return "stem" if name.startswith("conv1_") else name


def _block_layers(layers) -> str:
    """What a block holds, in the slides' terms: ``4 × conv 3×3, 256; max pool 2×2`` or
    ``2 × conv 3×3, 256 (first stride 2); projection 1×1``."""
    convs = [layer for layer in layers if isinstance(layer, keras.layers.Conv2D) and not layer.name.endswith("_0_conv")]
    parts = []
    if convs:
        kernel = "×".join(str(k) for k in convs[0].kernel_size)
        stride = max(layer.strides[0] for layer in convs)
        parts.append(f"{len(convs)} × conv {kernel}, {convs[-1].filters}" if len(convs) > 1
                     else f"conv {kernel}, {convs[0].filters}")
        if stride > 1:
            parts[-1] += f" (first stride {stride})"
    parts += ["projection 1×1" for layer in layers if layer.name.endswith("_0_conv")]
    for layer in layers:
        if isinstance(layer, keras.layers.MaxPooling2D):
            parts.append(f"max pool {'×'.join(str(k) for k in layer.pool_size)}")
        elif isinstance(layer, keras.layers.Dense):
            parts.append(f"dense {layer.units}")
        elif isinstance(layer, keras.layers.GlobalAveragePooling2D):
            parts.append("global average pool")
        elif isinstance(layer, keras.layers.Flatten):
            parts.append("flatten")
    return "; ".join(parts)


#: The columns both networks' block tables share (:func:`block_table`).
BLOCK_COLUMNS = ("Layers", "Output", "K(F·F·D+1)", "Batch norm", "Parameters", "Multiply-adds")


def block_table(model: keras.Model) -> pd.DataFrame:
    """A built VGG or ResNet block by block, with the same columns for both (:data:`BLOCK_COLUMNS`):
    what the block holds, its output shape, its weights by the slides' formula (the sum of
    ``K(F·F·D+1)`` over its convolutions and dense layers, ``K·F·F·D`` for a convolution without
    bias), its batch-normalisation weights (4 per channel: a learned scale and shift, and the two
    moving statistics), its parameters as Keras counts them, and its multiply-adds per image.
    Layers without weights that keep the shape (flatten, global pooling) join the next row.
    A last row ``total``; the formula and batch norm add up to Keras' count in every row when the
    formulas hold (:func:`block_formula_mismatches`)."""
    table = layer_table(model).set_index("name")
    groups: dict[str, list] = {}
    pending: list = []
    for layer in model.layers:
        if layer.name not in table.index or isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, (keras.layers.Flatten, keras.layers.GlobalAveragePooling2D)):
            pending.append(layer)  # no weights, a reshaping: shown with the dense layer it feeds
            continue
        groups.setdefault(_block_of(layer.name), [*pending])
        pending = []
        groups[_block_of(layer.name)].append(layer)
    rows = []
    for block, layers in groups.items():
        names = [layer.name for layer in layers if layer.name in table.index]
        part = table.loc[names]
        weighted = part[part["type"].isin(["Conv2D", "Dense"])]
        norms = part[part["type"] == "BatchNormalization"]
        output = layers[-1].output.shape[1:]
        rows.append({"Block": block, "Layers": _block_layers(layers), "Output": shape_text(output),
                     "K(F·F·D+1)": int(weighted["formula_parameters"].astype("int64").sum()),
                     "Batch norm": int(norms["parameters"].sum()), "Parameters": int(part["parameters"].sum()),
                     "Multiply-adds": int(part["multiply_adds"].sum())})
    frame = pd.DataFrame(rows).set_index("Block")
    frame.loc["total"] = ["", "", *(int(frame[column].sum()) for column in BLOCK_COLUMNS[2:])]
    return frame


def block_formula_mismatches(frame: pd.DataFrame) -> list[str]:
    """The blocks of a :func:`block_table` whose formula weights plus batch-norm weights are not
    Keras' parameter count (empty when the slides' formula accounts for every parameter)."""
    total = frame["K(F·F·D+1)"].astype("int64") + frame["Batch norm"].astype("int64")
    return [str(block) for block in frame.index[total != frame["Parameters"].astype("int64")]]


def format_block_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A :func:`block_table` for reading: counts with thousands separators."""
    shown = frame.copy()
    for column in BLOCK_COLUMNS[2:]:
        shown[column] = [thousands(value) for value in frame[column]]
    return shown


def padding_share(layer) -> float:
    """The share of a convolution's kernel taps, over all its output positions, that fall on the
    zero padding rather than on the input map: 5/9 for a 3×3 kernel on a 2×2 map."""
    height, width = (int(d) for d in layer.input.shape[1:3])
    kernel, stride = layer.kernel_size[0], layer.strides[0]
    pad = (kernel - 1) // 2 if layer.padding == "same" else 0

    def inside(size: int) -> np.ndarray:  # per output position along one axis: taps on the map
        starts = np.arange(0, size + 2 * pad - kernel + 1, stride) - pad
        return np.array([len(set(range(start, start + kernel)) & set(range(size))) for start in starts])

    rows, columns = inside(height), inside(width)
    return 1.0 - float(rows.sum() * columns.sum()) / (len(rows) * len(columns) * kernel * kernel)


__all__ = ["BLOCK_COLUMNS", "block_formula_mismatches", "block_table", "format_block_table", "padding_share"]
