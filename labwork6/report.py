"""The report's inputs, computed from the run folders: tables, numbers and figures.

:func:`write_report_inputs` reads every completed network run of a profile
(:func:`labwork6.comparison.load_runs`), makes sure the SVC baseline runs exist on the same
splits (:func:`labwork6.baseline.load_baselines`), and writes

- into ``report/generated/`` each table of :data:`TABLES` as ``<stem>.tex`` (booktabs),
  ``<stem>.csv`` and ``<stem>.md`` (:func:`labwork6.latex.write_table`), and ``numbers.tex``:
  every number and verdict the prose quotes as a macro (``\\VggAccuracyText``, ...), made by
  :func:`labwork6.latex.write_numbers` from the dicts of the sections in :data:`SECTIONS`,
  so that ``report/Report.6.CNN.tex`` holds no number typed by hand;
- into ``report/figures/`` the training curves, the confusion matrices, the accuracy under
  corruptions and the misclassified test images, each drawn at the size it is printed.

A table is added with one line in :data:`TABLES` and a ``\\generatedtable{<stem>}`` in the
report; a number with one entry in the dict of its section. :func:`build_pdf` runs latexmk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from labwork6.baseline import MODEL_NAME as BASELINE_MODEL
from labwork6.baseline import load_baselines
from labwork6.comparison import (
    comparison_table,
    data_table,
    format_comparison,
    format_paired,
    format_per_class,
    format_robustness,
    format_runs_table,
    group_runs,
    load_runs,
    mean_corruption_table,
    model_for_run,
    model_label,
    pair_verdict,
    paired_comparisons,
    paired_robustness,
    per_class_table,
    primary_models,
    recipe_table,
    robustness_frames,
    runs_by_seed,
    runs_table,
    summed_confusion_matrix,
    test_predictions,
)
from labwork6.latex import LatexError, Table, TexNotFoundError, build_pdf, write_numbers, write_table
from labwork6.models import facts as model_facts
from labwork6.models import get_model
from labwork6.report_numbers import SECTIONS, report_numbers
from labwork6.report_numbers.analysis import ERRORS_SHOWN
from labwork6.report_numbers.design import AUTHOR_PLACEHOLDER

#: Printed widths (inches) of the report's figures: the A4 text width and half of it.
TEXT_WIDTH, HALF_WIDTH = 6.4, 3.1


def report_author(start) -> str | None:
    """``author`` of ``[tool.labwork6]`` in the first ``pyproject.toml`` found from ``start``
    upwards (the repository's, for ``report/generated``); None when none sets it."""
    for folder in [Path(start).resolve(), *Path(start).resolve().parents]:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            # the section's lines up to the next [table] (tomllib is Python 3.11+, the package supports 3.10)
            section = re.search(r"^\[tool\.labwork6\]\s*$(.*?)(?=^\[|\Z)", pyproject.read_text(), re.M | re.S)
            author = re.search(r'^author\s*=\s*"([^"]*)"', section[1], re.M) if section else None
            return author[1].strip() or None if author else None
    return None


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


def gradcam_reading(run: dict) -> dict:
    """What the Grad-CAM maps of a run's network show: ``layer`` (:func:`labwork6.features.gradcam_layer`,
    the last convolutional block) and ``map`` (its ``h×w``); with the run's ``model.keras`` and
    one-channel images, also over all test images ``bright_share`` (the share of the heatmap's
    weight on the pixels brighter than their image's mean: a digit's strokes), ``bright_area``
    (the share of the image those pixels cover) and ``images`` (those with a non-empty map)."""
    from labwork6 import features

    model = model_for_run(run)
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


# --------------------------------------------------------------------------- what the report reads


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
        return model_for_run(run) if run else None

    @cached_property
    def resnet_model(self):
        run = self.first_run("resnet")
        # without ResNet runs the prose still describes ResNet19; its layer counts do not depend on the width
        return model_for_run(run) if run else get_model("resnet19", input_shape=(32, 32, 3), num_classes=10,
                                                        width=0.125)

    def at(self, label: str, column: str):
        """A value of the comparison table (None when it has no row ``label``)."""
        return self.comparison.at[label, column] if label in self.comparison.index else None

    def value(self, family: str, column: str):
        """A value of the compared model of ``family`` in the comparison table (None without runs)."""
        name = self.roles[family]
        return None if name is None else self.at(model_label(name), column)


# --------------------------------------------------------------------------- tables


def _per_class(data: ReportData) -> Table:
    classes = per_class_table(data.runs)
    shown = format_per_class(classes, [name for name in data.roles.values() if name])
    long_list = len(shown) > 25
    return Table(shown, numeric=classes, longtable=long_list, label="tab:per-class" if long_list else None,
                 caption="Per-class precision, recall and F1 on the test split (\\%)." if long_list else None)


def _architecture(data: ReportData) -> Table | None:
    if data.vgg_model is None:
        return None
    frame = model_facts.architecture_table(data.vgg_model)
    # VGG19-BN has 42 rows, which fit one page in the report's float
    return Table(frame, longtable=len(frame) > 50, column_format="llrrrrrrrrrr")


def _data(data: ReportData) -> Table:
    class_counts = data.baseline[0]["config"].get("class_counts") if data.baseline else None
    return Table(data_table(data.runs, pd.DataFrame(class_counts) if class_counts else None))


def _slide(data: ReportData) -> Table:
    widths = (2.2, 1.4, 2.0, 2.1, 2.6, 3.4)  # cm: the long cells wrap
    return Table(model_facts.vgg_vs_resnet50_table(),
                 column_format="".join(f">{{\\raggedright\\arraybackslash}}p{{{width}cm}}" for width in widths))


def _recipe(data: ReportData) -> Table:
    frame = recipe_table(data.runs)
    return Table(frame, column_format="l" * (frame.shape[1] + 1))


def _every_run(data: ReportData) -> Table:
    return Table(format_runs_table(data.per_run), numeric=data.per_run.set_index(["model", "seed"]))


def _paired(data: ReportData) -> Table | None:
    if data.paired.empty:
        return None
    shown = format_paired(data.paired, data.robust_pairs)
    return Table(shown, numeric=data.paired.set_index(["model_a", "model_b", "seed"]),
                 column_format="ll" + "r" * shown.shape[1])


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
    ("comparison_cost", lambda data: Table(data.comparison_shown[0], numeric=data.comparison)),
    ("comparison_metrics", lambda data: Table(data.comparison_shown[1], numeric=data.comparison)),
    ("runs", _every_run),
    ("paired", _paired),
    ("corruptions", _corruptions),
    ("robustness", _robustness),
    ("per_class", _per_class),
    ("vgg_vs_resnet50", _slide),
    ("architecture", _architecture),
    ("resnet_stages", lambda data: Table(model_facts.resnet_stages_table(data.resnet_model))
     if data.roles["resnet"] else None),
    ("recipe", _recipe),
    ("data", _data),
)


# --------------------------------------------------------------------------- figures


def plot_errors(data: ReportData):
    """The test images of the first seed that a compared network gets wrong, with every
    model's prediction and the errors both networks share framed
    (:func:`labwork6.plots.plot_model_errors`); None without a VGG run."""
    from labwork6.evaluate import load_test_split
    from labwork6.plots import plot_model_errors

    if data.errors is None:
        return None
    run = data.first_run("vgg")
    test_data, _ = load_test_split(run["run_dir"])
    names = [name for name in data.errors.columns if name != "label"]
    short = {name: "SVC" if name == BASELINE_MODEL else model_label(name) for name in names}
    return plot_model_errors(test_data.test.images, data.errors["label"].to_numpy(),
                             {short[name]: data.errors[name].to_numpy() for name in names},
                             run["config"]["class_names"],
                             shared_by=[short[name] for name in names if name != BASELINE_MODEL],
                             max_images=ERRORS_SHOWN, width=TEXT_WIDTH)


def write_figures(data: ReportData) -> list[Path]:
    """The training curves (PNG and PDF), each network's confusion matrix summed over seeds,
    the accuracy under corruptions and the misclassified test images, drawn at their printed size."""
    import matplotlib.pyplot as plt

    from labwork6.plots import plot_confusion_matrix, plot_robustness, save_figure

    data.figures_dir.mkdir(parents=True, exist_ok=True)
    figures = {"training_curves": (plot_training_curves(data.runs, width=TEXT_WIDTH), True)}
    for name, group in data.groups.items():
        seeds = f"{len(group)} seeds" if len(group) > 1 else f"seed {group[0]['config']['seed']}"
        figures[f"confusion_{name}"] = (plot_confusion_matrix(
            summed_confusion_matrix(group), title=f"{model_label(name)}, {seeds}", side=HALF_WIDTH), False)
    if data.robustness:
        figures["robustness"] = (plot_robustness(data.robustness), True)
    errors = plot_errors(data)
    if errors is not None:
        figures["errors"] = (errors, False)
    written = []
    for stem, (figure, pdf) in figures.items():
        written.extend(save_figure(figure, data.figures_dir / f"{stem}.png", pdf=pdf))
        plt.close(figure)
    for stem in ("robustness", "errors"):  # not drawn from these runs: an older one must not be shown
        if stem not in figures:
            for suffix in (".png", ".pdf"):
                (data.figures_dir / f"{stem}{suffix}").unlink(missing_ok=True)
    return written


# --------------------------------------------------------------------------- entry points


def write_report_inputs(runs_root="runs", profile: str = "default", out_dir="report/generated",
                        figures_dir="report/figures", *, dataset: str | None = None,
                        baseline: bool = True, author: str | None = None) -> list[Path]:
    """Write every generated input of ``report/Report.6.CNN.tex`` from the runs of ``profile``.

    Args:
        runs_root: the folder of run folders (``<runs_root>/<profile>/...``).
        profile: the profile whose completed runs are read (shown in the report).
        out_dir: where the tables (``.tex``, ``.csv``, ``.md``) and ``numbers.tex`` go.
        figures_dir: where the figures go (and where notebook 04's ``filters_<model>.png``
            etc. are looked for).
        dataset: which dataset's runs (default: see :func:`labwork6.comparison.load_runs`).
        baseline: also compare with the RBF SVC baseline, fitted into run folders next to
            the runs where they are missing (:func:`labwork6.baseline.ensure_baselines`).
        author: the name on the title page (default: :func:`report_author` from ``out_dir``).

    Returns:
        The written files.

    Raises:
        FileNotFoundError: there is no completed run.
    """
    runs = load_runs(runs_root, profile, dataset)
    data = ReportData(profile, runs, load_baselines(runs) if baseline else [], Path(figures_dir),
                      author or report_author(out_dir))
    written = []
    for stem, builder in TABLES:
        table = builder(data)
        stale = [Path(out_dir) / f"{stem}.{suffix}" for suffix in ("tex", "csv", "md")]
        if table is not None:
            written.extend(write_table(table, out_dir, stem))
        else:  # a table of earlier runs must not stand in for one these runs do not have
            for path in stale:
                path.unlink(missing_ok=True)
    written.extend(write_figures(data))
    written.append(write_numbers(report_numbers(data), Path(out_dir) / "numbers.tex",
                                 header="Generated by labwork6.report.write_report_inputs from the run folders. "
                                        "Do not edit."))
    return written


def report_summary(written: Iterable[Path]) -> pd.DataFrame:
    """The written files by kind and folder, for a notebook to show."""
    frame = pd.DataFrame({"file": [Path(p).name for p in written], "folder": [str(Path(p).parent) for p in written]})
    return frame.sort_values(["folder", "file"]).reset_index(drop=True)


__all__ = [
    "AUTHOR_PLACEHOLDER", "LatexError", "SECTIONS", "TABLES", "ReportData", "TexNotFoundError", "build_pdf",
    "plot_errors", "plot_training_curves", "report_author", "report_numbers", "report_summary", "write_figures",
    "write_report_inputs",
]
