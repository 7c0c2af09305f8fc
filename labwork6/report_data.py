"""What a report reads: :class:`ReportData`, the runs of one report and what is computed from them once.

The runs are repetitions (seeds), each a k-fold cross-validation whose folds are pooled into one
prediction per image (:mod:`labwork6.comparison`), or one holdout run.

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
    corruption_summary,
    format_comparison,
    group_runs,
    mean_corruption_table,
    model_label,
    pair_verdict,
    paired_comparisons,
    paired_robustness,
    pooled_rows,
    pooled_runs,
    primary_models,
    repetition_table,
    repetitions,
    robustness_frames,
    runs_table,
)
from labwork6.models import get_model
from labwork6.recipes import build_network, run_dataset

#: The tables ``make study`` writes next to its runs (:mod:`labwork6.study`), read when they exist.
STUDY_TABLES = ("remedy_selection", "remedy_ablation", "learning_curve")


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
        """The seeds of the network runs (the repetitions)."""
        return sorted({int(run["config"].seed) for run in self.runs})

    @cached_property
    def folds(self) -> int | None:
        """The number of cross-validation folds of the runs (None: holdout runs)."""
        return self.subject["config"].folds or None

    @cached_property
    def repetitions(self) -> dict[str, dict[int, list[dict]]]:
        """:func:`labwork6.comparison.repetitions` of the network runs and the SVC's."""
        return repetitions(self.runs, self.baseline)

    @cached_property
    def pooled(self) -> pd.DataFrame:
        """:func:`labwork6.comparison.repetition_table`: each repetition's folds pooled."""
        return repetition_table(self.runs, self.baseline)

    @cached_property
    def per_run(self) -> pd.DataFrame:
        """:func:`labwork6.comparison.runs_table` of every run, the SVC's included."""
        return runs_table([*self.runs, *self.baseline])

    comparison = _of_runs(comparison_table)

    @cached_property
    def comparison_shown(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The comparison for reading: (costs, test metrics), see :func:`format_comparison`."""
        return format_comparison(self.comparison)

    paired = _of_runs(paired_comparisons)

    @cached_property
    def verdicts(self) -> dict[tuple[str, str], dict]:
        """:func:`labwork6.comparison.pair_verdict` of each tested pair ``(model_a, model_b)``."""
        if self.paired.empty:
            return {}
        return {pair: pair_verdict(rows) for pair, rows in self.paired.groupby(["model_a", "model_b"], sort=False)}

    @cached_property
    def paired_pooled(self) -> pd.DataFrame:
        """The rows of :attr:`paired` pooled over the folds (one per pair and seed)."""
        return pooled_rows(self.paired)

    robustness = _of_runs(robustness_frames)
    robust_pairs = _of_runs(paired_robustness)
    corruption_means = _of_runs(mean_corruption_table)
    corruption_types = _of_runs(corruption_summary)

    @cached_property
    def error_seed(self) -> int | None:
        """The repetition whose misclassified images the report shows: the VGG's first seed."""
        run = self.first_run("vgg")
        return int(run["config"].seed) if run else None

    @cached_property
    def errors(self) -> pd.DataFrame | None:
        """The pooled test images of :attr:`error_seed` (each image once, indexed by its id in the
        source) with ``fold``, ``label`` and every model's prediction (one column per model: the
        compared VGG, ResNet and the SVC), None without a VGG run."""
        if not self.roles["vgg"]:
            return None
        seed = self.error_seed
        pooled = pooled_runs(self.repetitions[self.roles["vgg"]][seed])
        frame = pooled[["image", "fold", "label"]].set_index("image")
        for name in (self.roles["vgg"], self.roles["resnet"], BASELINE_MODEL):
            group = self.repetitions.get(name, {}).get(seed)
            if group is not None:
                theirs = pooled_runs(group).set_index("image")
                if theirs.index.equals(frame.index) and (theirs["label"] == frame["label"]).all():
                    frame[name] = theirs["prediction"]
        return frame

    def error_images(self) -> np.ndarray:
        """The raw images of :attr:`errors`, in its order, read again from each fold's test split."""
        images = {}
        for run in self.repetitions[self.roles["vgg"]][self.error_seed]:
            test = run_dataset(run["config"]).test
            images.update(zip(test.ids.tolist(), test.images, strict=True))
        return np.stack([images[image] for image in self.errors.index])

    @cached_property
    def contrast_diagnosis(self) -> pd.DataFrame | None:
        """:func:`labwork6.robustness.contrast_diagnosis` of the compared VGG's first run: its
        test images under the contrast corruption, normalised with its training statistics."""
        from labwork6.robustness import contrast_diagnosis

        run = self.first_run("vgg") or self.runs[0]
        standard = run["config"].normalization or {}
        if not standard.get("mean"):
            return None
        return contrast_diagnosis(run_dataset(run["config"]).test.images, standard["mean"], standard["std"],
                                  seed=int(run["config"].seed))

    @cached_property
    def study(self) -> dict[str, pd.DataFrame]:
        """The tables of ``make study`` (:data:`STUDY_TABLES`) found next to the runs
        (``<runs>/study/<name>.csv``); empty without a study."""
        root = Path(self.runs[0]["run_dir"]).parent.parent / "study"
        return {name: pd.read_csv(root / f"{name}.csv") for name in STUDY_TABLES if (root / f"{name}.csv").exists()}

    @cached_property
    def writers(self) -> dict | None:
        """:func:`labwork6.data.digits_writers` when the runs are on digits, else None."""
        from labwork6.data import digits_writers

        return digits_writers() if self.subject["config"].dataset == "digits" else None

    @cached_property
    def trained_models(self) -> dict[str, object]:
        """The trained model (``model.keras``) of the first run of each compared network; families
        without one (or with an older run format) are left out."""
        from labwork6.evaluate import load_trained

        models = {}
        for family in ("vgg", "resnet"):
            run = self.first_run(family)
            if run and (Path(run["run_dir"]) / "model.keras").exists():
                try:
                    models[family] = load_trained(run["run_dir"])[0]
                except ValueError as error:  # an older run format
                    print(f"[labwork6] warning: the trained model of {run['run_dir']} is not read: {error}")
        return models

    @cached_property
    def trained_filters(self) -> dict[str, np.ndarray]:
        """The first-layer kernels of :attr:`trained_models`."""
        from labwork6.features import first_layer_filters

        return {family: first_layer_filters(model) for family, model in self.trained_models.items()}

    @cached_property
    def initial_filters(self) -> dict[str, np.ndarray]:
        """The first-layer kernels each network of :attr:`trained_filters` started from, rebuilt
        as training built them: ``keras.utils.set_random_seed(seed)``, then the run's network.
        The bare network (:func:`labwork6.recipes.build_network`) draws the same initial weights
        as :func:`labwork6.train.build_model`, whose preprocessing and augmentation layers take
        their own seeds, and it needs no data; a test compares both with a training run's kernels
        at its first step."""
        import keras

        from labwork6.features import first_layer_filters

        kernels = {}
        for family in self.trained_filters:
            config = self.first_run(family)["config"]
            keras.utils.set_random_seed(int(config.seed))  # as labwork6.train does before building
            kernels[family] = first_layer_filters(build_network(config))
        return kernels

    @cached_property
    def feature_image(self) -> tuple[int, np.ndarray] | None:
        """The test image the feature-map figures follow: the first of the VGG's first run's test
        split (its id in the source and the raw image), None without a run."""
        run = self.first_run("vgg") or self.first_run("resnet")
        if run is None:
            return None
        test = run_dataset(run["config"]).test
        return int(test.ids[0]), test.images[0]

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


__all__ = ["STUDY_TABLES", "ReportData"]
