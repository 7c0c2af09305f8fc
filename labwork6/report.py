"""The report's inputs, computed from the run folders: tables, numbers and figures.

:func:`write_report_inputs` reads every completed network run of a profile
(:func:`labwork6.comparison.load_runs`), makes sure the SVC baseline runs exist on the same
splits (:func:`labwork6.baseline.load_baselines`), and writes

- into ``report/generated/`` each table of :data:`TABLES` as ``<stem>.tex`` (booktabs),
  ``<stem>.csv`` and ``<stem>.md`` (:func:`labwork6.latex.write_table`), and ``numbers.tex``:
  every number the prose quotes as a macro (``\\VggAccuracyPM``, ...), made by
  :func:`labwork6.latex.write_numbers` from the dicts of the sections in :data:`SECTIONS`,
  so that ``report/Report.6.CNN.tex`` holds no number typed by hand;
- into ``report/figures/`` the training curves and the confusion matrices.

A table is added with one line in :data:`TABLES` and a ``\\generatedtable{<stem>}`` in the
report; a number with one entry in the dict of its section. :func:`build_pdf` runs latexmk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from labwork6.baseline import load_baselines
from labwork6.comparison import (
    comparison_table,
    data_table,
    format_comparison,
    format_per_class,
    format_runs_table,
    group_runs,
    load_runs,
    model_for_run,
    model_label,
    per_class_table,
    primary_models,
    recipe_table,
    runs_table,
    summed_confusion_matrix,
)
from labwork6.latex import LatexError, Table, TexNotFoundError, build_pdf, write_numbers, write_table
from labwork6.models import facts as model_facts
from labwork6.models import get_model
from labwork6.report_numbers import SECTIONS, report_numbers


def plot_training_curves(runs: Iterable[dict]):
    """Training and validation loss and accuracy of every model (its first seed) on one
    figure, with the learning rate; epochs counted from 1."""
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
    return plot_history(histories, metrics=("loss", "accuracy", "learning_rate"))


# --------------------------------------------------------------------------- what the report reads


@dataclass
class ReportData:
    """The runs of one report and what is computed from them once (models, tables)."""

    profile: str
    runs: list[dict]
    baseline: list[dict] = field(default_factory=list)
    figures_dir: Path = Path("report/figures")

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
    def comparison(self) -> pd.DataFrame:
        return comparison_table(self.runs, self.baseline)

    @cached_property
    def comparison_shown(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The comparison for reading: (costs, test metrics), see :func:`format_comparison`."""
        return format_comparison(self.comparison)

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
                 caption="Per-class precision, recall and F1 on the test split (\\%, mean $\\pm$ std over seeds)."
                 if long_list else None)


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
    table = runs_table(data.runs)
    return Table(format_runs_table(table), numeric=table.set_index(["model", "seed"]))


#: Every generated table: (file stem, builder). A builder returns None when the runs do not
#: allow the table (no VGG, no ResNet); the report then shows a note in its place.
TABLES: tuple[tuple[str, Callable[[ReportData], Table | None]], ...] = (
    ("comparison_cost", lambda data: Table(data.comparison_shown[0], numeric=data.comparison)),
    ("comparison_metrics", lambda data: Table(data.comparison_shown[1], numeric=data.comparison)),
    ("runs", _every_run),
    ("per_class", _per_class),
    ("vgg_vs_resnet50", _slide),
    ("architecture", _architecture),
    ("resnet_stages", lambda data: Table(model_facts.resnet_stages_table(data.resnet_model))
     if data.roles["resnet"] else None),
    ("recipe", _recipe),
    ("data", _data),
)


# --------------------------------------------------------------------------- entry points


def write_figures(data: ReportData) -> list[Path]:
    """The training curves (PNG and PDF) and each model's confusion matrix summed over seeds."""
    import matplotlib.pyplot as plt

    from labwork6.plots import plot_confusion_matrix, save_figure

    data.figures_dir.mkdir(parents=True, exist_ok=True)
    figure = plot_training_curves(data.runs)
    written = list(save_figure(figure, data.figures_dir / "training_curves.png", pdf=True))
    plt.close(figure)
    for name, group in data.groups.items():
        seeds = f"{len(group)} seed{'s' if len(group) > 1 else ''}"
        figure = plot_confusion_matrix(summed_confusion_matrix(group),
                                       title=f"{model_label(name)}: test split, summed over {seeds}")
        written.extend(save_figure(figure, data.figures_dir / f"confusion_{name}.png"))
        plt.close(figure)
    return written


def write_report_inputs(runs_root="runs", profile: str = "default", out_dir="report/generated",
                        figures_dir="report/figures", *, dataset: str | None = None,
                        baseline: bool = True) -> list[Path]:
    """Write every generated input of ``report/Report.6.CNN.tex`` from the runs of ``profile``.

    Args:
        runs_root: the folder of run folders (``<runs_root>/<profile>/...``).
        profile: the profile whose completed runs are read (shown in the report).
        out_dir: where the tables (``.tex``, ``.csv``, ``.md``) and ``numbers.tex`` go.
        figures_dir: where the training curves and confusion matrices go (and where
            notebook 04's ``filters_<model>.png`` etc. are looked for).
        dataset: which dataset's runs (default: see :func:`labwork6.comparison.load_runs`).
        baseline: also compare with the RBF SVC baseline, fitted into run folders next to
            the runs where they are missing (:func:`labwork6.baseline.ensure_baselines`).

    Returns:
        The written files.

    Raises:
        FileNotFoundError: there is no completed run.
    """
    runs = load_runs(runs_root, profile, dataset)
    data = ReportData(profile, runs, load_baselines(runs) if baseline else [], Path(figures_dir))
    written = []
    for stem, builder in TABLES:
        table = builder(data)
        if table is not None:
            written.extend(write_table(table, out_dir, stem))
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
    "LatexError", "SECTIONS", "TABLES", "ReportData", "TexNotFoundError", "build_pdf", "plot_training_curves",
    "report_numbers", "report_summary", "write_figures", "write_report_inputs",
]
