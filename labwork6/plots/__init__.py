"""Figures for the notebooks and the report.

Every function takes arrays or DataFrames and returns a matplotlib ``Figure``; nothing
here trains a model or loads data. Images may be uint8 or float (standardised images
are stretched to their own range for display); grayscale ``(H, W, 1)`` or ``(H, W)``
images are drawn with a gray colour map. Figures are made with ``pyplot`` so that a
notebook shows them inline; a script without a display uses the Agg backend. The figures
the report prints take a ``width`` (or ``side``) in inches and keep their text at 8 pt or
more at that size.

- :mod:`~labwork6.plots.images`: pictures of images and of what a network computes on them
  (samples, filters and what training changed in them, feature maps, Grad-CAM, misclassified
  images, what normalisation makes of a low-contrast image), and :func:`save_figure`.
- :mod:`~labwork6.plots.charts`: charts of numbers (training curves, confusion matrices,
  accuracy under corruptions), with one marker and line style per model so that lines stay
  apart in grey print; heatmaps in viridis or magma (perceptually uniform).
"""

import os
import sys

import matplotlib

if (
    "MPLBACKEND" not in os.environ
    and "ipykernel" not in sys.modules
    and sys.platform.startswith("linux")
    and not os.environ.get("DISPLAY")
    and not os.environ.get("WAYLAND_DISPLAY")
):
    matplotlib.use("Agg")

# after the backend choice
from labwork6.plots.charts import (  # noqa: E402
    plot_confusion_matrix,
    plot_history,
    plot_robustness,
    uses_log_scale,
)
from labwork6.plots.images import (  # noqa: E402
    plot_contrast_diagnosis,
    plot_feature_maps,
    plot_filter_change,
    plot_filters,
    plot_gradcam,
    plot_misclassified,
    plot_model_errors,
    plot_samples,
    save_figure,
)

__all__ = [
    "plot_confusion_matrix", "plot_contrast_diagnosis", "plot_feature_maps", "plot_filter_change", "plot_filters",
    "plot_gradcam", "plot_history", "plot_misclassified", "plot_model_errors", "plot_robustness", "plot_samples",
    "save_figure", "uses_log_scale",
]
