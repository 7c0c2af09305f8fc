"""The report's figures, each drawn at the size it is printed: the training curves, the
confusion matrices summed over seeds, the accuracy under corruptions and the misclassified test images."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from labwork6.baseline import MODEL_NAME as BASELINE_MODEL
from labwork6.comparison import group_runs, model_label, summed_confusion_matrix
from labwork6.recipes import run_dataset
from labwork6.report_data import ReportData
from labwork6.report_numbers.analysis import ERRORS_SHOWN

#: Printed widths (inches) of the report's figures: the A4 text width and half of it.
TEXT_WIDTH, HALF_WIDTH = 6.4, 3.1


def plot_training_curves(runs: Iterable[dict], width: float | None = None):
    """Training and validation loss and accuracy of every model (its first seed) on one
    figure, with the learning rate; epochs counted from 1, loss on a log scale."""
    from labwork6.plots import plot_history

    histories = {}
    for name, group in group_runs(runs).items():
        history = group[0]["history"]
        if history is None or history.empty:
            continue
        history = history.copy()
        history["epoch"] = np.arange(1, len(history) + 1)
        histories[f"{model_label(name)} (seed {group[0]['config']['seed']})"] = history
    if not histories:
        raise FileNotFoundError("No run has a history.csv: there are no training curves to draw.")
    return plot_history(histories, metrics=("loss", "accuracy", "learning_rate"),
                        log_scale=("loss", "learning_rate"), width=width)


def plot_errors(data: ReportData):
    """The test images of the first seed (its folds pooled) that a compared network gets wrong,
    with every model's prediction and the errors both networks share framed
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
                             run["config"]["class_names"],
                             shared_by=[short[name] for name in names if name != BASELINE_MODEL],
                             indices=frame.index.to_numpy(), max_images=ERRORS_SHOWN, width=TEXT_WIDTH)


def plot_contrast(data: ReportData):
    """What the normalisation makes of clean test digits and of the same under contrast at severity
    1 (:func:`labwork6.plots.plot_contrast_diagnosis`), with the compared VGG's first run's
    statistics; None without them."""
    from labwork6.plots import plot_contrast_diagnosis

    run = data.first_run("vgg") or data.runs[0]
    standard = run["config"].get("normalization") or {}
    if not standard.get("mean"):
        return None
    images = run_dataset(run["config"]).test.images
    return plot_contrast_diagnosis(images, standard["mean"], standard["std"], severity=1, count=8,
                                   seed=int(run["config"]["seed"]), width=TEXT_WIDTH)


def write_figures(data: ReportData) -> list[Path]:
    """The training curves (PNG and PDF), each network's confusion matrix summed over seeds,
    the accuracy under corruptions and the misclassified test images, drawn at their printed size."""
    import matplotlib.pyplot as plt

    from labwork6.plots import plot_confusion_matrix, plot_robustness, save_figure

    data.figures_dir.mkdir(parents=True, exist_ok=True)
    figures = {"training_curves": (plot_training_curves(data.runs, width=TEXT_WIDTH), True)}
    for name, group in data.groups.items():
        seeds = {int(run["config"]["seed"]) for run in group}
        seeds = (f"{len(seeds)} seeds" if len(seeds) > 1 else f"seed {min(seeds)}") + (
            f", {len(group) // len(seeds)} folds" if data.folds else "")
        figures[f"confusion_{name}"] = (plot_confusion_matrix(
            summed_confusion_matrix(group), title=f"{model_label(name)}, {seeds}", side=HALF_WIDTH), False)
    if data.robustness:
        figures["robustness"] = (plot_robustness(data.robustness), True)
    errors = plot_errors(data)
    if errors is not None:
        figures["errors"] = (errors, False)
    contrast = plot_contrast(data)
    if contrast is not None:
        figures["contrast_diagnosis"] = (contrast, False)
    written = []
    for stem, (figure, pdf) in figures.items():
        written.extend(save_figure(figure, data.figures_dir / f"{stem}.png", pdf=pdf))
        plt.close(figure)
    # not drawn from these runs: an older one must not be shown
    for stem in ("robustness", "errors", "contrast_diagnosis"):
        if stem not in figures:
            for suffix in (".png", ".pdf"):
                (data.figures_dir / f"{stem}{suffix}").unlink(missing_ok=True)
    return written


__all__ = ["HALF_WIDTH", "TEXT_WIDTH", "plot_contrast", "plot_errors", "plot_training_curves", "write_figures"]
