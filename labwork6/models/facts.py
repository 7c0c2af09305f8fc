"""Facts about the architectures, computed from built models: layer counts, the counts at the
papers' 224x224x3 with 1000 classes, the facts the prose quotes (head, batch normalisation, last
feature map, ...), and what the slide "VGG19 vs ResNet50" printed. The report's tables of them
are in :mod:`labwork6.report_tables`."""

from __future__ import annotations

import functools
import re

import keras
import pandas as pd

from labwork6.models import get_model
from labwork6.models.summary import count_parameters, layer_table

#: The papers' setting (ImageNet) in which the slide's table is recomputed.
REFERENCE_INPUT_SHAPE = (224, 224, 3)
REFERENCE_CLASSES = 1000
#: The slide "VGG19 vs ResNet50" as printed (its two columns are swapped), and what the
#: papers report for the rows that are not computed here (He et al. 2016, Table 4:
#: "VGG (v5)" 7.1% and ResNet-50 5.25% top-5 validation error, single model).
SLIDE_VGG19_VS_RESNET50 = {
    "top5_error": {"vgg19": "5.25%", "resnet50": "7.1%"},
    "parameters": {"vgg19": "25M", "resnet50": "138M"},
    "complexity": {"vgg19": "3.8B FLOPS", "resnet50": "15.3B FLOPS"},
    "structure": {"vgg19": "Fully conv", "resnet50": "Several fully connected layers"},
}
PAPER_TOP5_ERROR = {"vgg19": "7.1%", "resnet50": "5.25%"}


def layer_counts(table: pd.DataFrame) -> dict:
    """Layers of a :func:`~labwork6.models.layer_table` by kind: ``conv`` (main path),
    ``projection`` (the shortcut convolutions ``*_0_conv`` of a ResNet), ``dense``, ``pool``
    and ``weight_layers`` (conv + dense, projections not counted: the depth in the name)."""
    rows = table[table["name"] != "total"]
    conv = rows["type"] == "Conv2D"
    projection = conv & rows["name"].str.endswith("_0_conv")
    counts = {
        "conv": int((conv & ~projection).sum()), "projection": int(projection.sum()),
        "dense": int((rows["type"] == "Dense").sum()),
        "pool": int(rows["type"].str.contains("Pooling2D").sum()),
    }
    counts["weight_layers"] = counts["conv"] + counts["dense"]
    return counts


@functools.lru_cache(maxsize=8)
def reference_counts(name: str) -> dict:
    """Parameters, multiply-adds and layer counts of ``name`` as in its paper (224x224x3,
    1000 classes), computed from the built model (slow for VGG19: 143.7M weights)."""
    model = get_model(name, input_shape=REFERENCE_INPUT_SHAPE, num_classes=REFERENCE_CLASSES)
    table = layer_table(model)
    return {"parameters": count_parameters(model), "multiply_adds": int(table.iloc[-1]["multiply_adds"]),
            **layer_counts(table)}


def vgg_facts(model: keras.Model) -> dict:
    """What the prose says about a built VGG: ``batch_norm`` (bool), ``bn_momentum``,
    ``bn_parameters`` (all batch-normalisation weights, moving statistics included),
    ``head_units`` and ``dropout_rate`` of ``fc1``, ``flatten_length`` (the input of
    ``fc1``), ``dense_share`` (share of the parameters in the dense layers), ``kernel``
    (``(F, F)`` of the convolutions), ``pool_size`` (``(F, F)``) and ``pool_stride`` of the
    poolings, ``last_map`` (``(H, W)`` after the last pooling) and ``downsampling`` (input side /
    that side)."""
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    last = pools[-1].output.shape if pools else (None, None, None)
    return {
        "batch_norm": bool(norms), "bn_momentum": float(norms[0].momentum) if norms else None,
        "bn_parameters": int(sum(layer.count_params() for layer in norms)),
        "head_units": int(dense[0].units) if len(dense) > 1 else None,
        "dropout_rate": float(dropouts[0].rate) if dropouts else 0.0,
        "flatten_length": int(dense[0].input.shape[-1]) if dense else None,
        "dense_share": sum(layer.count_params() for layer in dense) / max(model.count_params(), 1),
        "kernel": tuple(convs[0].kernel_size) if convs else None,
        "pool_size": tuple(pools[0].pool_size) if pools else None,
        "pool_stride": int(pools[0].strides[0]) if pools else None,
        "last_map": (last[1], last[2]) if pools else None,
        "downsampling": int(model.inputs[0].shape[1] // last[1]) if last[1] else None,
    }


def resnet_facts(model: keras.Model) -> dict:
    """What the prose says about a built ResNet: ``last_map`` (``(H, W)`` of the last stage)
    and ``downsampling`` (input side / last stage side)."""
    blocks = [layer for layer in model.layers if re.fullmatch(r"conv\d+_block\d+_out", layer.name)]
    last = blocks[-1].output.shape if blocks else model.get_layer("conv1_relu").output.shape
    side = model.inputs[0].shape[1]
    return {"last_map": (last[1], last[2]), "downsampling": int(side // last[1]) if last[1] else None}
