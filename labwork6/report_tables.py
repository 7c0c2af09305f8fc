"""The report's tables: one builder per table of :data:`TABLES`, each a function of a
:class:`~labwork6.report_data.ReportData` returning a :class:`labwork6.latex.Table` (or None when
the runs do not allow the table); and the architecture tables built from a model."""

from __future__ import annotations

import re
from collections.abc import Callable

import keras
import pandas as pd

from labwork6.baseline import MODEL_NAME as BASELINE_MODEL
from labwork6.comparison import (
    data_table,
    format_corruption_summary,
    format_paired,
    format_per_class,
    format_robustness,
    format_runs_table,
    model_label,
    per_class_table,
    pooled_rows,
    recipe_table,
)
from labwork6.latex import Table, fixed, shape_text, tex_escape, thousands
from labwork6.models import facts as model_facts
from labwork6.models import layer_table
from labwork6.report_data import ReportData
from labwork6.report_numbers.blocks import block_table, format_block_table

# --------------------------------------------------------------------------- from built models


def vgg_vs_resnet50_table() -> pd.DataFrame:
    """The slides' "VGG19 vs ResNet50" table next to the values computed here.

    Parameters and multiply-adds come from :func:`labwork6.models.get_model` at
    224x224x3 with 1000 classes (the papers' setting); the top-5 errors are the papers'
    (He et al. 2016, Table 4). The last column says what the slide got wrong, with VGG16
    built and counted the same way: the slide's "138M" and "15.3B" are VGG16's.
    """
    vgg, resnet = model_facts.reference_counts("vgg19"), model_facts.reference_counts("resnet50")
    vgg16 = model_facts.reference_counts("vgg16")
    slide = model_facts.SLIDE_VGG19_VS_RESNET50
    rows = {
        "Accuracy (top-5 error, ImageNet)": [
            slide["top5_error"]["vgg19"], slide["top5_error"]["resnet50"],
            model_facts.PAPER_TOP5_ERROR["vgg19"], model_facts.PAPER_TOP5_ERROR["resnet50"],
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


# short: the ResNet's layer table must fit the page at footnotesize
_LAYER_TYPES = {"Conv2D": "conv", "MaxPooling2D": "max pool", "Flatten": "flatten", "Dense": "dense",
                "BatchNormalization": "BN", "Activation": "activation", "Add": "add",
                "GlobalAveragePooling2D": "avg pool"}
_NOT_SHOWN = (keras.layers.InputLayer, keras.layers.Dropout, keras.layers.ReLU, keras.layers.Activation)


def _input_shape(layer) -> tuple:
    """A layer's input shape without the batch axis (the first input of an ``Add``)."""
    inputs = layer.input if not isinstance(layer.input, (list, tuple)) else layer.input[0]
    return tuple(int(d) for d in inputs.shape[1:])


def architecture_table(model: keras.Model) -> pd.DataFrame:
    """The layers of a built VGG or ResNet with the slides' quantities, one row per weight,
    batch normalisation, pooling or addition layer (dropout and activation layers, which have no
    parameters and keep the shape, are left out).

    Columns: ``Layer``, ``Type``, ``Input`` (H×W×D), ``F``, ``S``, ``P``, ``K``,
    ``Output`` from ``((H - F + 2P)/S + 1) × ((W - F + 2P)/S + 1) × K``, ``K(F·F·D+1)``
    (``K·F·F·D`` for a convolution without bias; for a dense layer F = 1 and D is its input
    length), ``Parameters`` (Keras' ``count_params``) and ``Multiply-adds``; a last row ``total``.
    """
    table = layer_table(model).set_index("name")
    blank = dict.fromkeys(("Type", "Input", "F", "S", "P", "K", "Output", "K(F·F·D+1)"), "")
    rows = []
    for layer in model.layers:
        if isinstance(layer, _NOT_SHOWN) or layer.name not in table.index:
            continue
        info = table.loc[layer.name]
        kind = type(layer).__name__
        input_shape = _input_shape(layer)
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


# --------------------------------------------------------------------------- from the runs


def _per_class(data: ReportData) -> Table:
    classes = per_class_table(data.runs)
    shown = format_per_class(classes, [name for name in data.roles.values() if name])
    long_list = len(shown) > 25
    return Table(shown, numeric=classes, longtable=long_list, label="tab:per-class" if long_list else None,
                 caption="Per-class precision, recall and F1 on the test split (\\%)." if long_list else None)


def _architecture(model: keras.Model | None, caption: str, label: str) -> Table | None:
    if model is None:
        return None
    return Table(architecture_table(model), longtable=True, column_format="llrrrrrrrrrr", caption=caption,
                 label=label)


def _blocks(model: keras.Model | None) -> Table | None:
    if model is None:
        return None
    frame = block_table(model)
    return Table(format_block_table(frame), numeric=frame,
                 column_format="l>{\\raggedright\\arraybackslash}p{3.7cm}rrrrr")


_LAYERS_CAPTION = ("{name} layer by layer, as trained (input {shape}; dropout and activation layers, which have no "
                   "parameters and keep the shape, are not shown): input, $F$, $S$, $P$, $K$ as in the slides; "
                   "``Output'' and $K(F\\cdot F\\cdot D+1)$ from "
                   "Eq.~(\\ref{{eq:output}}){bias}; ``Parameters'' as counted by Keras; multiply-adds per image.")


def _layers_of(family: str) -> Callable[[ReportData], Table | None]:
    def build(data: ReportData) -> Table | None:
        if not data.roles[family]:
            return None
        model = data.vgg_model if family == "vgg" else data.resnet_model
        run = data.first_run(family)
        bias = "" if family == "vgg" else " ($K\\cdot F\\cdot D$ per convolution: they have no bias)"
        caption = _LAYERS_CAPTION.format(name=tex_escape(model_label(data.roles[family])),
                                         shape=shape_text(run["config"].input_shape).replace("×", "$\\times$"),
                                         bias=bias)
        return _architecture(model, caption, f"tab:layers-{family}")

    return build


def _data(data: ReportData) -> Table:
    class_counts = data.baseline[0]["config"].class_counts if data.baseline else None
    return Table(data_table(data.runs, pd.DataFrame(class_counts) if class_counts else None))


def _slide(data: ReportData) -> Table:
    widths = (2.2, 1.4, 2.0, 2.1, 2.6, 3.4)  # cm: the long cells wrap
    return Table(vgg_vs_resnet50_table(),
                 column_format="".join(f">{{\\raggedright\\arraybackslash}}p{{{width}cm}}" for width in widths))


def _recipe(data: ReportData) -> Table:
    frame = recipe_table(data.runs)
    return Table(frame, column_format="l" * (frame.shape[1] + 1))


def _every_run(data: ReportData) -> Table:
    return Table(format_runs_table(data.per_run), numeric=data.per_run.set_index(["model", "seed", "fold"]))


def _paired(data: ReportData, pooled_only: bool) -> Table | None:
    if data.paired.empty:
        return None
    rows = pooled_rows(data.paired) if pooled_only else data.paired
    shown = format_paired(rows).rename_axis(index={"Pair (first vs second)": "Pair"})
    if pooled_only:  # one row per pair and seed: the fold column says "pooled" everywhere
        shown = shown.droplevel("Fold")
        if len(data.seeds) == 1:
            shown = shown.droplevel("Seed")
    return Table(shown, numeric=rows.set_index(["model_a", "model_b", "seed", "fold"]),
                 column_format="l" * shown.index.nlevels + "r" * shown.shape[1])


def _corruption_types(part: str) -> Callable[[ReportData], Table | None]:
    """Per corruption type, ``part`` "accuracy" (each model's accuracy with its interval and rank)
    or "difference" (each pair's paired difference with its interval): two tables that each fit
    the page."""

    def build(data: ReportData) -> Table | None:
        if data.corruption_types.empty:
            return None
        shown = format_corruption_summary(data.corruption_types, data.robust_pairs)
        kept = [column for column in shown.columns if column[1].startswith(part)]
        if not kept:
            return None
        shown = shown[kept]
        shown.columns = ["SVC" if who == model_label(BASELINE_MODEL) else who.replace(" vs ", " – ")
                         for who, _ in kept]
        return Table(shown, numeric=data.corruption_types.set_index(["model", "corruption"]) if part == "accuracy"
                     else data.robust_pairs, column_format="l" + "r" * shown.shape[1])

    return build


def _metrics(data: ReportData) -> Table:
    """The main results table: each model's pooled metrics with intervals and each fold's accuracy
    (the number of test images, the same for every model, is in the caption)."""
    shown = data.comparison_shown[1]
    if shown["Images"].nunique() == 1:
        shown = shown.drop(columns=["Images", "Runs"])
    return Table(shown.rename(columns={"Accuracy per fold (%)": "Per fold (%)"}), numeric=data.comparison)


def _cost(data: ReportData) -> Table:
    """Size, training cost and speed, one column per model (the models side by side fit the page)."""
    shown = data.comparison_shown[0].T
    shown.index = [f"{group}: {what}" if group else what for group, what in shown.index]
    shown.index.name = "Per model"
    return Table(shown, numeric=data.comparison, column_format="l" + "r" * shown.shape[1])


def _study_table(name: str, columns: dict[str, str]) -> Callable[[ReportData], Table | None]:
    """A table of ``make study`` (:mod:`labwork6.study`): ``columns`` {key: title}, fractions as %."""

    def build(data: ReportData) -> Table | None:
        frame = data.study.get(name)
        if frame is None or frame.empty:
            return None
        shown = pd.DataFrame({"Model": frame["model"].map(model_label)} | {
            title: [_study_cell(key, value) for value in frame[key]] for key, title in columns.items() if key in frame})
        return Table(shown.set_index("Model"), numeric=frame)

    return build


def _study_cell(key: str, value) -> str:
    if key in ("clean", "contrast", "mean_corruption", "accuracy", "accuracy_low", "accuracy_high"):
        return fixed(100 * float(value), 1)
    if key in ("val_images", "test_images", "robustness_images", "train_images", "seed"):
        return thousands(value)
    return "none" if key == "contrast_augmentation" and not value else f"{float(value):g}"


def _robustness(data: ReportData) -> Table | None:
    if not data.robustness:
        return None
    numeric = pd.concat(data.robustness, names=["model", "row"]).reset_index(level="row", drop=True)
    return Table(format_robustness(data.robustness), numeric=numeric)


def _corruptions(data: ReportData) -> Table | None:
    if not data.robustness:
        return None
    from labwork6.robustness import parameters_frame

    numeric = parameters_frame()
    shown = numeric.drop(columns="unit").map(lambda value: f"{value:g}")
    shown.columns = [f"Severity {severity}" for severity in shown.columns]
    shown.insert(0, "Parameter", numeric["unit"])
    shown.index = shown.index.str.replace("_", " ")
    shown.index.name = "Corruption"
    return Table(shown, numeric=numeric, column_format=">{\\raggedright\\arraybackslash}p{2.2cm}"
                 ">{\\raggedright\\arraybackslash}p{4.9cm}rrrrr")


#: Every generated table: (file stem, builder). A builder returns None when the runs do not
#: allow the table (no VGG, no ResNet, no robustness files); the report then leaves it out.
TABLES: tuple[tuple[str, Callable[[ReportData], Table | None]], ...] = (
    ("comparison_cost", _cost),
    ("comparison_metrics", _metrics),
    ("runs", _every_run),
    ("paired", lambda data: _paired(data, pooled_only=True)),
    ("paired_folds", lambda data: _paired(data, pooled_only=False)),
    ("corruptions", _corruptions),
    ("robustness", _robustness),
    ("corruption_types", _corruption_types("accuracy")),
    ("corruption_differences", _corruption_types("difference")),
    ("remedy_selection", _study_table("remedy_selection", {
        "seed": "Seed", "contrast_augmentation": "RandomContrast", "val_images": "Images", "clean": "Clean (%)",
        "contrast": "Contrast (%)", "mean_corruption": "All corruptions (%)"})),
    ("remedy_ablation", _study_table("remedy_ablation", {
        "seed": "Seed", "contrast_augmentation": "RandomContrast", "test_images": "Images", "accuracy": "Clean (%)",
        "robustness_images": "Scored", "mean_corruption": "Mean corruption (%)"})),
    ("learning_curve", _study_table("learning_curve", {
        "train_fraction": "Share", "train_images": "Training images", "test_images": "Images",
        "accuracy": "Accuracy (%)", "accuracy_low": "low", "accuracy_high": "high"})),
    ("per_class", _per_class),
    ("vgg_vs_resnet50", _slide),
    ("vgg_blocks", lambda data: _blocks(data.vgg_model)),
    ("resnet_blocks", lambda data: _blocks(data.resnet_model) if data.roles["resnet"] else None),
    ("vgg_layers", _layers_of("vgg")),
    ("resnet_layers", _layers_of("resnet")),
    ("recipe", _recipe),
    ("data", _data),
)
