"""The report's figures are readable at the size they are printed, and its first-layer "initial" filters
are the ones training started from.

Every figure the report prints is drawn by a :mod:`labwork6.plots` function at the width
:mod:`labwork6.report_figures` gives it, under its style: after drawing, no visible text is under
8 pt and the saved PDF is no wider than the report's text (which includes figures at their natural
size, so 8 pt on screen are 8 pt on paper).
"""

from __future__ import annotations

import re

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from labwork6 import plots
from labwork6.report import TEXT_WIDTH_PT
from labwork6.report_figures import CONFUSION_SIDE, FIGURE_STYLE, MIN_FONT_SIZE, TEXT_WIDTH
from labwork6.report_numbers.analysis import CHANNELS_SHOWN, ERRORS_SHOWN, FILTERS_SHOWN
from labwork6.robustness import CORRUPTIONS, TABLE_COLUMNS

RNG = np.random.default_rng(0)
CLASSES = [str(i) for i in range(10)]


def _history(epochs: int, shift: float) -> pd.DataFrame:
    epoch = np.arange(1, epochs + 1)
    return pd.DataFrame({"epoch": epoch, "loss": 2.0 / epoch + shift, "val_loss": 2.2 / epoch + shift,
                         "accuracy": 1 - 0.5 / epoch, "val_accuracy": 1 - 0.45 / epoch})


def _robustness_table(offset: float) -> pd.DataFrame:
    rows = [("none", 0, 90, 100)] + [(c, s, int(90 - 10 * s - offset), 100) for c in CORRUPTIONS for s in (1, 3, 5)]
    frame = pd.DataFrame(rows, columns=["corruption", "severity", "correct", "total"])
    frame["accuracy"] = frame["correct"] / frame["total"]
    frame["accuracy_low"], frame["accuracy_high"] = frame["accuracy"] - 0.05, np.minimum(frame["accuracy"] + 0.05, 1)
    return frame[list(TABLE_COLUMNS)]


def _figures():
    """Each figure of the report as report_figures draws it (same functions, widths and sizes)."""
    images = RNG.integers(0, 256, size=(30, 8, 8, 1), dtype=np.uint8)
    labels = RNG.integers(0, 10, size=30)
    matrix = pd.DataFrame(RNG.integers(0, 200, size=(10, 10)), index=CLASSES, columns=CLASSES)
    kernel = RNG.normal(size=(3, 3, 1, 128))
    maps = {f"after block {b}": RNG.random((32 >> b, 32 >> b, 64 * b)) for b in range(1, 6)}
    return {
        "training curves": lambda: plots.plot_history(
            {"VGG19-BN (seed 0, fold 0)": _history(5, 0.1), "ResNet19 (seed 0, fold 0)": _history(5, 0.0)},
            metrics=("loss", "accuracy"), log_scale=("loss",), width=TEXT_WIDTH),
        "confusion matrix": lambda: plots.plot_confusion_matrix(matrix, title="VGG19-BN, seed 0, 3 folds",
                                                                side=CONFUSION_SIDE),
        "robustness": lambda: plots.plot_robustness(
            {"VGG19-BN": _robustness_table(0), "ResNet19": _robustness_table(3), "RBF SVC (pixels)":
             _robustness_table(8)}, width=TEXT_WIDTH),
        "errors": lambda: plots.plot_model_errors(
            images, labels, {"VGG19-BN": (labels + 1) % 10, "ResNet19": labels, "SVC": labels}, CLASSES,
            shared_by=["VGG19-BN", "ResNet19"], indices=np.arange(1000, 1030), max_images=ERRORS_SHOWN,
            width=TEXT_WIDTH),
        "contrast diagnosis": lambda: plots.plot_contrast_diagnosis(images, [0.3], [0.32], count=10,
                                                                   width=TEXT_WIDTH),
        "filters before and after": lambda: plots.plot_filter_change(
            kernel, kernel * 1.1, max_filters=FILTERS_SHOWN, labels=("initial\n(seed 0)", "trained"),
            width=TEXT_WIDTH),
        "feature maps": lambda: plots.plot_feature_maps(maps, image=images[0], max_channels=CHANNELS_SHOWN,
                                                        width=TEXT_WIDTH),
    }


@pytest.mark.parametrize("name", list(_figures()))
def test_every_report_figure_is_readable_at_its_printed_size(name, tmp_path):
    with plt.rc_context(FIGURE_STYLE):
        figure = _figures()[name]()
        figure.canvas.draw()  # tick labels exist once drawn
        sizes = [text.get_fontsize() for text in figure.findobj(Text)
                 if text.get_visible() and text.get_text().strip()]
        figure.savefig(tmp_path / "figure.pdf", bbox_inches="tight")
        plt.close(figure)
    assert sizes and min(sizes) >= MIN_FONT_SIZE, (name, sorted(set(sizes)))
    width = float(re.search(rb"/MediaBox \[ *0 0 ([\d.]+)", (tmp_path / "figure.pdf").read_bytes()).group(1))
    assert width <= TEXT_WIDTH_PT, f"{name} is {width:.0f} pt wide: the report would shrink its text"


def test_heatmaps_use_perceptually_uniform_colour_maps():
    matrix = pd.DataFrame(np.eye(10, dtype=int) * 20, index=CLASSES, columns=CLASSES)
    figure = plots.plot_confusion_matrix(matrix)
    assert figure.axes[0].images[0].get_cmap().name == "viridis"
    plt.close(figure)
    heat = np.zeros((2, 8, 8))
    figure = plots.plot_gradcam(RNG.integers(0, 256, size=(2, 8, 8, 1), dtype=np.uint8), heat)
    assert {image.get_cmap().name for ax in figure.axes for image in ax.images} >= {"magma"}
    plt.close(figure)
    kernel = RNG.normal(size=(3, 3, 1, 4))
    figure = plots.plot_filter_change(kernel, kernel, max_filters=4)
    images = [image for ax in figure.axes for image in ax.images]
    assert {image.get_cmap().name for image in images} == {"viridis"}
    # one colour scale for both rows, symmetric about 0: a change in size shows
    limits = {image.get_clim() for image in images}
    assert len(limits) == 1 and limits.pop() == pytest.approx((-np.abs(kernel).max(), np.abs(kernel).max()))
    plt.close(figure)
    with pytest.raises(ValueError, match="one shape"):
        plots.plot_filter_change(kernel, kernel[..., :2])


def test_training_curves_stay_apart_in_grey():
    figure = plots.plot_history({"A": _history(5, 0.1), "B": _history(5, 0.0)}, metrics=("loss",))
    lines = figure.axes[0].get_lines()
    # per model a marker, per split a line style; validation drawn over training with open markers
    assert len({(line.get_marker(), line.get_linestyle()) for line in lines}) == 4
    validation = [line for line in lines if line.get_linestyle() == "--"]
    assert validation and all(line.get_zorder() > 2 and line.get_markerfacecolor() == "white" for line in validation)
    plt.close(figure)
    assert plots.uses_log_scale([8.0, 1.0, 0.5]) and not plots.uses_log_scale([1.0, 0.5, 0.4])
    assert not plots.uses_log_scale([0.0, 5.0])


@pytest.mark.slow
def test_initial_filters_are_the_ones_training_started_from(tmp_path):
    """A smoke run's first-layer kernels at its first step (read by a callback) equal the report's
    "initial" kernels, rebuilt from the run's seed without its data."""
    from labwork6.comparison import load_runs
    from labwork6.features import first_layer_filters
    from labwork6.report_data import ReportData
    from labwork6.train import train

    class FirstStep(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.kernel = first_layer_filters(self.model).copy()

    seen = FirstStep()
    train("vgg19_bn", profile="smoke", seed=3, fold=0, runs=tmp_path, callbacks=[seen], verbose=0)
    data = ReportData("smoke", load_runs(tmp_path, "smoke"))
    assert np.array_equal(data.initial_filters["vgg"], seen.kernel)
    assert not np.array_equal(data.trained_filters["vgg"], seen.kernel)  # training moved them
    keras.utils.set_random_seed(4)  # another seed would not do
    assert not np.array_equal(first_layer_filters(keras.models.clone_model(data.vgg_model)), seen.kernel)


def test_block_labels_are_words():
    from labwork6.report_figures import block_label

    assert block_label("block3_pool") == "after block 3"
    assert block_label("conv1_relu") == "after the stem"
    assert block_label("conv2_block3_out") == "after stage 1"  # the first stage of residual blocks
    assert block_label("conv4_block2_out") == "after stage 3"
