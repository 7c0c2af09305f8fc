"""What a report reads: :class:`ReportData`, the runs of one report and what is computed from them once.

The tables (:mod:`labwork6.report_tables`), the figures (:mod:`labwork6.report_figures`) and the
prose's numbers (:mod:`labwork6.report_numbers`) all read one :class:`ReportData`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from labwork6.baseline import MODEL_NAME as BASELINE_MODEL
from labwork6.comparison import (
    comparison_table,
    format_comparison,
    group_runs,
    mean_corruption_table,
    model_label,
    pair_verdict,
    paired_comparisons,
    paired_robustness,
    primary_models,
    robustness_frames,
    runs_by_seed,
    runs_table,
    test_predictions,
)
from labwork6.models import get_model
from labwork6.recipes import build_network


def gradcam_reading(run: dict) -> dict:
    """What the Grad-CAM maps of a run's network show: ``layer`` (:func:`labwork6.features.gradcam_layer`,
    the last convolutional block) and ``map`` (its ``h×w``); with the run's ``model.keras`` and
    one-channel images, also over all test images ``bright_share`` (the share of the heatmap's
    weight on the pixels brighter than their image's mean: a digit's strokes), ``bright_area``
    (the share of the image those pixels cover) and ``images`` (those with a non-empty map)."""
    from labwork6 import features

    model = build_network(run["config"])
    layer = features.gradcam_layer(model)
    height, width = model.get_layer(layer).output.shape[1:3]
    reading = {"layer": layer, "map": f"{height}×{width}"}
    if not (Path(run["run_dir"]) / "model.keras").exists() or int(run["config"]["raw_input_shape"][-1]) != 1:
        return reading
    from labwork6.evaluate import load_test_split, load_trained

    try:
        trained, _ = load_trained(run["run_dir"])
        images = load_test_split(run["run_dir"])[0].test.images
    except (ValueError, FileNotFoundError) as error:  # an older run format, or a changed split
        print(f"[labwork6] warning: Grad-CAM not measured for {run['run_dir']}: {error}")
        return reading
    heat = features.grad_cam(trained, images, layer_name=layer)
    gray = images[..., 0].astype(float)
    bright = gray > gray.mean(axis=(1, 2), keepdims=True)
    weight = heat.sum(axis=(1, 2))
    kept = weight > 0
    if kept.any():
        reading.update(bright_share=float(((heat * bright).sum(axis=(1, 2))[kept] / weight[kept]).mean()),
                       bright_area=float(bright[kept].mean()), images=int(kept.sum()))
    return reading


def _of_runs(function) -> cached_property:
    """A cached attribute of :class:`ReportData`: ``function(runs, baseline)``."""
    return cached_property(lambda data: function(data.runs, data.baseline))


@dataclass
class ReportData:
    """The runs of one report and what is computed from them once (models, tables, tests)."""

    profile: str
    runs: list[dict]
    baseline: list[dict] = field(default_factory=list)
    figures_dir: Path = Path("report/figures")
    author: str | None = None

    @cached_property
    def groups(self) -> dict[str, list[dict]]:
        return group_runs(self.runs)

    @cached_property
    def roles(self) -> dict[str, str | None]:
        return primary_models(self.runs)

    def first_run(self, family: str) -> dict | None:
        """The first run (by seed) of the compared model of ``family`` ("vgg", "resnet")."""
        name = self.roles[family]
        return self.groups[name][0] if name else None

    @cached_property
    def subject(self) -> dict:
        """The run whose data facts the report quotes: the VGG's, the report's subject."""
        return self.first_run("vgg") or self.runs[0]

    @cached_property
    def seeds(self) -> list[int]:
        """The seeds of the network runs."""
        return sorted({int(run["config"]["seed"]) for run in self.runs})

    @cached_property
    def per_run(self) -> pd.DataFrame:
        """:func:`labwork6.comparison.runs_table` of every run, the SVC's included."""
        return runs_table([*self.runs, *self.baseline])

    comparison = _of_runs(comparison_table)

    @cached_property
    def comparison_shown(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The comparison for reading: (costs, test metrics), see :func:`format_comparison`."""
        return format_comparison(self.comparison, self.per_run)

    paired = _of_runs(paired_comparisons)

    @cached_property
    def verdicts(self) -> dict[tuple[str, str], dict]:
        """:func:`labwork6.comparison.pair_verdict` of each tested pair ``(model_a, model_b)``."""
        if self.paired.empty:
            return {}
        return {pair: pair_verdict(rows) for pair, rows in self.paired.groupby(["model_a", "model_b"], sort=False)}

    robustness = _of_runs(robustness_frames)
    robust_pairs = _of_runs(paired_robustness)
    corruption_means = _of_runs(mean_corruption_table)

    @cached_property
    def error_seed(self) -> int | None:
        """The seed whose misclassified images the report shows: the VGG's first."""
        run = self.first_run("vgg")
        return int(run["config"]["seed"]) if run else None

    @cached_property
    def errors(self) -> pd.DataFrame | None:
        """The test images of :attr:`error_seed` with every model's prediction (columns ``label``
        and one per model: the compared VGG, ResNet and the SVC), None without a VGG run."""
        if not self.roles["vgg"]:
            return None
        by_seed, seed = runs_by_seed(self.runs, self.baseline), self.error_seed
        labels, _ = test_predictions(by_seed[self.roles["vgg"]][seed])
        frame = pd.DataFrame({"label": labels})
        for name in (self.roles["vgg"], self.roles["resnet"], BASELINE_MODEL):
            run = by_seed.get(name, {}).get(seed)
            if run is not None:
                theirs, predicted = test_predictions(run)
                if np.array_equal(theirs, labels):
                    frame[name] = predicted
        return frame

    @cached_property
    def gradcam(self) -> dict[str, dict]:
        """:func:`gradcam_reading` of the first run of each compared network."""
        return {family: gradcam_reading(self.first_run(family)) for family in ("vgg", "resnet")
                if self.first_run(family)}

    @cached_property
    def trained_filters(self) -> dict[str, np.ndarray]:
        """The first-layer kernels of the first run of each compared network, from its
        ``model.keras`` (families without one are left out)."""
        from labwork6.evaluate import load_trained
        from labwork6.features import first_layer_filters

        kernels = {}
        for family in ("vgg", "resnet"):
            run = self.first_run(family)
            if run and (Path(run["run_dir"]) / "model.keras").exists():
                try:
                    kernels[family] = first_layer_filters(load_trained(run["run_dir"])[0])
                except ValueError as error:  # an older run format
                    print(f"[labwork6] warning: first-layer filters not read from {run['run_dir']}: {error}")
        return kernels

    @cached_property
    def vgg_model(self):
        run = self.first_run("vgg")
        return build_network(run["config"]) if run else None

    @cached_property
    def resnet_model(self):
        run = self.first_run("resnet")
        # without ResNet runs the prose still describes ResNet19; its layer counts do not depend on the width
        return build_network(run["config"]) if run else get_model("resnet19", input_shape=(32, 32, 3), num_classes=10,
                                                        width=0.125)

    def at(self, label: str, column: str):
        """A value of the comparison table (None when it has no row ``label``)."""
        return self.comparison.at[label, column] if label in self.comparison.index else None

    def value(self, family: str, column: str):
        """A value of the compared model of ``family`` in the comparison table (None without runs)."""
        name = self.roles[family]
        return None if name is None else self.at(model_label(name), column)


__all__ = ["ReportData", "gradcam_reading"]
