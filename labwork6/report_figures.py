"""The report's figures, each drawn at the size it is printed and saved as PDF (vector where it is a
chart), with no text under 8 pt: the training curves, the confusion matrices, the accuracy under
corruptions, the contrast diagnosis, the misclassified test images, and per network the first-layer
filters before and after training and the feature maps of one test image."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from labwork6.baseline import MODEL_NAME as BASELINE_MODEL
from labwork6.comparison import group_runs, model_label, summed_confusion_matrix
from labwork6.recipes import run_dataset
from labwork6.report_data import ReportData
from labwork6.report_numbers.analysis import CHANNELS_SHOWN, ERRORS_SHOWN, FILTERS_SHOWN

#: Printed widths (inches) of the report's figures: the A4 text width (16.4 cm = 6.46 in, with a
#: margin for the tight bounding box) and about half of it. The report includes every figure at its
#: natural size, so the 8 pt drawn here are 8 pt on paper.
TEXT_WIDTH, HALF_WIDTH = 6.3, 3.1
#: The side of each confusion matrix (two side by side), in inches.
CONFUSION_SIDE = 2.7
#: The smallest text of every figure, in points, at its printed size.
MIN_FONT_SIZE = 8
#: Font sizes of the report's figures (matplotlib's defaults are 10 pt: fine, but wide).
FIGURE_STYLE = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "xtick.labelsize": 8,
                "ytick.labelsize": 8, "legend.fontsize": 8, "figure.titlesize": 9, "pdf.fonttype": 42}


def plot_training_curves(runs: Iterable[dict], width: float | None = None,
                         metrics: Sequence[str] = ("loss", "accuracy", "learning_rate"),
                         log_scale: Sequence[str] = ("loss", "learning_rate"), by_model: bool = False):
    """Training and validation curves of every model (its first run) on one figure, one panel per
    metric (and per model with ``by_model``, so that near-identical curves of two models do not
    hide each other); epochs counted from 1, ``log_scale`` panels on a log axis when their values
    span more than :data:`labwork6.plots.charts.LOG_SCALE_RATIO` (:func:`labwork6.plots.uses_log_scale`)."""
    from labwork6.plots import plot_history

    histories = {}
    for name, group in group_runs(runs).items():
        history = group[0]["history"]
        if history is None or history.empty:
            continue
        history = history.copy()
        history["epoch"] = np.arange(1, len(history) + 1)
        config = group[0]["config"]
        fold = f", fold {config.fold}" if config.folds else ""
        histories[f"{model_label(name)} (seed {config.seed}{fold})"] = history
    if not histories:
        raise FileNotFoundError("No run has a history.csv: there are no training curves to draw.")
    return plot_history(histories, metrics=metrics, log_scale=log_scale, width=width, by_model=by_model)


def plot_errors(data: ReportData):
    """The test images of the first seed (its folds pooled: every image once) that a compared
    network gets wrong, with every model's prediction and the errors both networks share framed
    (:func:`labwork6.plots.plot_model_errors`); each image is titled by its id in the source
    (for digits, its row of ``load_digits``). None without a VGG run."""
    from labwork6.plots import plot_model_errors

    if data.errors is None:
        return None
    run = data.first_run("vgg")
    names = [name for name in data.errors.columns if name not in ("label", "fold")]
    short = {name: "SVC" if name == BASELINE_MODEL else model_label(name) for name in names}
    wrong = np.zeros(len(data.errors), bool)
    for name in names:
        if name != BASELINE_MODEL:
            wrong |= (data.errors[name] != data.errors["label"]).to_numpy()
    images = data.error_images()
    frame = data.errors
    if wrong.any():  # only the images a network gets wrong are drawn
        frame, images = frame[wrong], images[wrong]
    return plot_model_errors(images, frame["label"].to_numpy(),
                             {short[name]: frame[name].to_numpy() for name in names},
                             run["config"].class_names,
                             shared_by=[short[name] for name in names if name != BASELINE_MODEL],
                             indices=frame.index.to_numpy(), max_images=ERRORS_SHOWN, width=TEXT_WIDTH)


def plot_contrast(data: ReportData):
    """What the normalisation makes of clean test digits and of the same under contrast at severity
    1 (:func:`labwork6.plots.plot_contrast_diagnosis`), with the compared VGG's first run's
    statistics; None without them."""
    from labwork6.plots import plot_contrast_diagnosis

    run = data.first_run("vgg") or data.runs[0]
    standard = run["config"].normalization or {}
    if not standard.get("mean"):
        return None
    images = run_dataset(run["config"]).test.images
    return plot_contrast_diagnosis(images, standard["mean"], standard["std"], severity=1, count=10,
                                   seed=int(run["config"].seed), width=TEXT_WIDTH)


def plot_filters_learned(data: ReportData, family: str):
    """The first-layer filters of a network's first run as built (from its seed) and as trained
    (:func:`labwork6.plots.plot_filter_change`); None without its ``model.keras``."""
    from labwork6.plots import plot_filter_change

    if family not in data.trained_filters:
        return None
    seed = data.first_run(family)["config"].seed
    return plot_filter_change(data.initial_filters[family], data.trained_filters[family], max_filters=FILTERS_SHOWN,
                              labels=(f"initial\n(seed {seed})", "trained"), width=TEXT_WIDTH)


def block_label(layer: str) -> str:
    """A block output's name in words: ``block3_pool`` -> ``after block 3``, ``conv1_relu`` ->
    ``after the stem``, ``conv3_block3_out`` -> ``after stage 2`` (Keras' ``conv1`` is the stem, so
    ``conv2`` is the first stage of residual blocks)."""
    vgg = re.fullmatch(r"block(\d+)_pool", layer)
    resnet = re.fullmatch(r"conv(\d+)_block\d+_out", layer)
    where = (f"after block {vgg.group(1)}" if vgg else f"after stage {int(resnet.group(1)) - 1}" if resnet
             else "after the stem" if layer.startswith("conv1") else layer)
    return where


def plot_block_maps(data: ReportData, family: str):
    """The feature maps of one test image (:attr:`ReportData.feature_image`) after each block of a
    network's first run, :data:`CHANNELS_SHOWN` strongest channels per block; None without its
    ``model.keras``."""
    from labwork6 import features
    from labwork6.plots import plot_feature_maps

    model = data.trained_models.get(family)
    if model is None or data.feature_image is None:
        return None
    image = data.feature_image[1]
    maps = features.feature_maps(model, image[None], features.block_output_layers(model))
    labelled = {block_label(layer): value[0] for layer, value in maps.items()}
    return plot_feature_maps(labelled, image=image, max_channels=CHANNELS_SHOWN, width=TEXT_WIDTH)


def _figures(data: ReportData) -> dict:
    """Every figure of the report by file stem (None: not drawn from these runs)."""
    from labwork6.plots import plot_confusion_matrix, plot_robustness

    figures = {"training_curves": plot_training_curves(data.runs, width=TEXT_WIDTH, metrics=("loss", "accuracy"),
                                                       log_scale=("loss",), by_model=True)}
    for name, group in data.groups.items():
        seeds = {int(run["config"].seed) for run in group}
        seeds = (f"{len(seeds)} seeds" if len(seeds) > 1 else f"seed {min(seeds)}") + (
            f", {len(group) // len(seeds)} folds" if data.folds else "")
        figures[f"confusion_{name}"] = plot_confusion_matrix(
            summed_confusion_matrix(group), title=f"{model_label(name)}, {seeds}", side=CONFUSION_SIDE)
    figures["robustness"] = plot_robustness(data.robustness, width=TEXT_WIDTH) if data.robustness else None
    figures["errors"] = plot_errors(data)
    figures["contrast_diagnosis"] = plot_contrast(data)
    for family in ("vgg", "resnet"):
        name = data.roles[family]
        if name:
            figures[f"filter_change_{name}"] = plot_filters_learned(data, family)
            figures[f"block_maps_{name}"] = plot_block_maps(data, family)
    return figures


def write_figures(data: ReportData) -> list[Path]:
    """Draw every figure of the report at its printed size (:data:`FIGURE_STYLE`) and save it as
    PDF and PNG in ``data.figures_dir``; a figure these runs cannot give is removed there, so that
    an older one is never shown."""
    from labwork6.plots import save_figure

    data.figures_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with plt.rc_context(FIGURE_STYLE):
        for stem, figure in _figures(data).items():
            if figure is None:
                for suffix in (".png", ".pdf"):
                    (data.figures_dir / f"{stem}{suffix}").unlink(missing_ok=True)
                continue
            written.extend(save_figure(figure, data.figures_dir / f"{stem}.png", pdf=True))
            plt.close(figure)
    return written


__all__ = ["CONFUSION_SIDE", "FIGURE_STYLE", "HALF_WIDTH", "MIN_FONT_SIZE", "TEXT_WIDTH",
           "block_label", "plot_block_maps", "plot_contrast", "plot_errors", "plot_filters_learned",
           "plot_training_curves", "write_figures"]
