"""What the report says about the architectures, computed from built models.

Layer counts, the VGG19 layer table with the slides' quantities, the ResNet stages, the facts
the prose quotes (head, batch normalisation, last feature map, ...), and the slides'
"VGG19 vs ResNet50" table recomputed at the papers' 224x224x3 with 1000 classes.
"""

from __future__ import annotations

import functools
import re

import keras
import pandas as pd

from labwork6.latex import fixed, shape_text, thousands
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


def vgg_vs_resnet50_table() -> pd.DataFrame:
    """The slides' "VGG19 vs ResNet50" table next to the values computed here.

    Parameters and multiply-adds come from :func:`labwork6.models.get_model` at
    224x224x3 with 1000 classes (the papers' setting); the top-5 errors are the papers'
    (He et al. 2016, Table 4). The last column says what the slide got wrong, with VGG16
    built and counted the same way: the slide's "138M" and "15.3B" are VGG16's.
    """
    vgg, resnet, vgg16 = reference_counts("vgg19"), reference_counts("resnet50"), reference_counts("vgg16")
    slide = SLIDE_VGG19_VS_RESNET50
    rows = {
        "Accuracy (top-5 error, ImageNet)": [
            slide["top5_error"]["vgg19"], slide["top5_error"]["resnet50"],
            PAPER_TOP5_ERROR["vgg19"], PAPER_TOP5_ERROR["resnet50"],
            "columns swapped; these are top-5 errors, not accuracies"],
        "Parameters": [
            slide["parameters"]["vgg19"], slide["parameters"]["resnet50"],
            thousands(vgg["parameters"]["trainable"]), thousands(resnet["parameters"]["trainable"]),
            f"columns swapped; {slide['parameters']['resnet50']} is VGG16's count "
            f"({thousands(vgg16['parameters']['trainable'])} computed here)"],
        "Multiply-adds (G)": [
            slide["complexity"]["vgg19"], slide["complexity"]["resnet50"],
            fixed(vgg["multiply_adds"] / 1e9, 2), fixed(resnet["multiply_adds"] / 1e9, 2),
            f"columns swapped; {slide['complexity']['resnet50'].split()[0]} is about VGG16's "
            f"({fixed(vgg16['multiply_adds'] / 1e9, 2)} G computed here); the papers' FLOPs are multiply-adds"],
        "Convolution (structure)": [
            slide["structure"]["vgg19"], slide["structure"]["resnet50"],
            f"{vgg['conv']} conv, {vgg['pool']} max pool, {vgg['dense']} fully connected",
            f"{resnet['conv']} conv (+{resnet['projection']} projections), global average pool, "
            f"{resnet['dense']} fully connected",
            "columns swapped"],
    }
    frame = pd.DataFrame.from_dict(
        rows, orient="index",
        columns=pd.MultiIndex.from_tuples([("Slide (as printed)", "VGG19"), ("Slide (as printed)", "ResNet50"),
                                           ("Corrected", "VGG19"), ("Corrected", "ResNet50"),
                                           ("", "What was wrong")]))
    frame.index.name = "Factor"
    return frame


_LAYER_TYPES = {"Conv2D": "conv", "MaxPooling2D": "max pool", "Flatten": "flatten", "Dense": "dense",
                "BatchNormalization": "batch norm", "Activation": "activation"}
_NOT_SHOWN = (keras.layers.InputLayer, keras.layers.Dropout, keras.layers.ReLU, keras.layers.Activation)


def architecture_table(model: keras.Model) -> pd.DataFrame:
    """The layers of a built VGG with the slides' quantities, one row per weight, batch
    normalisation or pooling layer (dropout and activation layers, which have no parameters
    and keep the shape, are left out).

    Columns: ``Layer``, ``Type``, ``Input`` (H×W×D), ``F``, ``S``, ``P``, ``K``,
    ``Output`` from ``((H - F + 2P)/S + 1) × ((W - F + 2P)/S + 1) × K``, ``K(F·F·D+1)``
    (for a dense layer F = 1 and D is its input length), ``Parameters`` (Keras'
    ``count_params``) and ``Multiply-adds``; a last row ``total`` (all layers).
    """
    table = layer_table(model).set_index("name")
    blank = dict.fromkeys(("Type", "Input", "F", "S", "P", "K", "Output", "K(F·F·D+1)"), "")
    rows = []
    for layer in model.layers:
        if isinstance(layer, _NOT_SHOWN):
            continue
        info = table.loc[layer.name]
        kind = type(layer).__name__
        input_shape = tuple(int(d) for d in layer.input.shape[1:])
        row = {"Layer": layer.name, **blank, "Type": _LAYER_TYPES.get(kind, kind), "Input": shape_text(input_shape),
               "Output": shape_text(info["output_shape"]), "Parameters": thousands(info["parameters"]),
               "Multiply-adds": thousands(info["multiply_adds"])}
        if isinstance(layer, keras.layers.Conv2D):
            row.update(F=int(info["F"]), S=int(info["S"]), P=int(info["P"]), K=int(info["K"]),
                       Output=shape_text(info["formula_output_shape"]))
            row["K(F·F·D+1)"] = thousands(info["formula_parameters"])
        elif isinstance(layer, keras.layers.MaxPooling2D):
            size, stride = layer.pool_size[0], layer.strides[0]
            height, width, depth = input_shape
            row.update(F=size, S=stride, P=0,
                       Output=shape_text(((height - size) // stride + 1, (width - size) // stride + 1, depth)))
        elif isinstance(layer, keras.layers.Dense):
            row.update(K=layer.units)
            row["K(F·F·D+1)"] = thousands(info["formula_parameters"])
        rows.append(row)
    total = table.loc["total"]
    rows.append({"Layer": "total", **blank, "Parameters": thousands(total["parameters"]),
                 "Multiply-adds": thousands(total["multiply_adds"])})
    return pd.DataFrame(rows).set_index("Layer")


def vgg_facts(model: keras.Model) -> dict:
    """What the prose says about a built VGG: ``batch_norm`` (bool), ``bn_momentum``,
    ``bn_parameters`` (all batch-normalisation weights, moving statistics included),
    ``head_units`` and ``dropout_rate`` of ``fc1``, ``flatten_length`` (the input of
    ``fc1``), ``dense_share`` (share of the parameters in the dense layers), ``kernel``
    (``F×F`` of the convolutions), ``pool_size`` (``F×F``) and ``pool_stride`` of the
    poolings, ``last_map`` (``H×W`` after the last pooling) and ``downsampling`` (input side /
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
        "kernel": shape_text(convs[0].kernel_size) if convs else None,
        "pool_size": shape_text(pools[0].pool_size) if pools else None,
        "pool_stride": int(pools[0].strides[0]) if pools else None,
        "last_map": f"{last[1]}×{last[2]}",
        "downsampling": int(model.inputs[0].shape[1] // last[1]) if last[1] else None,
    }


def resnet_facts(model: keras.Model) -> dict:
    """What the prose says about a built ResNet: ``last_map`` (``H×W`` of the last stage)
    and ``downsampling`` (input side / last stage side)."""
    blocks = [layer for layer in model.layers if re.fullmatch(r"conv\d+_block\d+_out", layer.name)]
    last = blocks[-1].output.shape if blocks else model.get_layer("conv1_relu").output.shape
    side = model.inputs[0].shape[1]
    return {"last_map": f"{last[1]}×{last[2]}", "downsampling": int(side // last[1]) if last[1] else None}


def resnet_stages_table(model: keras.Model) -> pd.DataFrame:
    """The stages of a built ResNet: output size, blocks, filters, first stride, layers."""
    rows = []
    stem = model.get_layer("conv1_conv")
    rows.append({"Stage": "stem (conv1)", "Output": shape_text(model.get_layer("conv1_relu").output.shape[1:]),
                 "Blocks": "–", "Filters": stem.filters, "Kernel": shape_text(stem.kernel_size),
                 "Stride": stem.strides[0], "Weight layers": 1})
    stage = 2
    while True:
        blocks = [layer for layer in model.layers if re.fullmatch(rf"conv{stage}_block\d+_out", layer.name)]
        if not blocks:
            break
        convs = [layer for layer in model.layers
                 if isinstance(layer, keras.layers.Conv2D) and layer.name.startswith(f"conv{stage}_")]
        main = [layer for layer in convs if not layer.name.endswith("_0_conv")]
        first = [layer for layer in convs if layer.name.startswith(f"conv{stage}_block1_")]
        rows.append({"Stage": f"conv{stage}", "Output": shape_text(blocks[-1].output.shape[1:]),
                     "Blocks": len(blocks), "Filters": blocks[-1].output.shape[-1],
                     "Kernel": " / ".join(sorted({shape_text(c.kernel_size) for c in main})),
                     "Stride": max(layer.strides[0] for layer in first),
                     "Weight layers": len(main)})
        stage += 1
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            rows.append({"Stage": layer.name, "Output": str(layer.units), "Blocks": "–", "Filters": "–",
                         "Kernel": "dense", "Stride": "–", "Weight layers": 1})
    frame = pd.DataFrame(rows).set_index("Stage")
    frame.loc["total"] = ["", "", "", "", "", int(sum(frame["Weight layers"]))]
    return frame
