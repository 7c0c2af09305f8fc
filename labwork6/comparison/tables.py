"""The runs side by side: every run (each fold), every model (its repetitions pooled over their
folds), per class, and the training settings and data of the report.

Each table comes unrounded (for the CSV files and notebooks) and formatted for reading
(``format_*``): percentages at the precision the test images support
(:func:`labwork6.latex.percent_decimals`), one repetition with its 95% interval, several
(seeds) as mean ± std of their pooled values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from labwork6.comparison.loading import (
    BASELINE_MODEL,
    COST_KEYS,
    METRICS,
    epoch_seconds,
    group_runs,
    model_label,
    pooled_intervals,
    pooled_runs,
    repetitions,
    run_intervals,
)
from labwork6.latex import (
    MISSING_CELL,
    fixed,
    format_interval,
    format_mean_std,
    is_missing,
    percent_decimals,
    shape_text,
    thousands,
)
from labwork6.metrics import SUMMARY_KEYS, classification_metrics


def _fold(config):
    return int(config.fold) if config.folds else "holdout"


def runs_table(runs: Iterable[dict]) -> pd.DataFrame:
    """One row per run (network or SVC; a fold of a cross-validation is a run): model, seed, fold
    (``"holdout"`` for a holdout run), test results on its own test split with intervals
    (:func:`run_intervals`), the epoch kept, the training steps and timings (unrounded)."""
    rows = []
    for run in runs:
        config, metrics, timing = run["config"], run["metrics"] or {}, run["timing"] or {}
        network = config.model != BASELINE_MODEL
        epochs = timing.get("epochs_run", config.epochs_run) if network else math.nan
        seconds = epoch_seconds(run)
        rows.append({
            "model": config.model, "seed": int(config.seed), "fold": _fold(config),
            "run": Path(run["run_dir"]).name,
            **run_intervals(run), "best_epoch": metrics.get("best_epoch", math.nan),
            "epochs_run": epochs if network else math.nan,
            "steps": epochs * config.steps_per_epoch if network and config.steps_per_epoch else math.nan,
            "train_seconds": timing.get("train_seconds", math.nan),
            "epoch_seconds_mean": seconds.mean() if len(seconds) else math.nan,
            "epoch_seconds_std": seconds.std(ddof=1) if len(seconds) > 1 else math.nan,
            **{key: timing.get(key, math.nan) for key in ("inference_latency_ms", "inference_throughput")},
            "parameters": config.parameters["total"] if network else math.nan,
            "multiply_adds": config.multiply_adds if network else math.nan,
        })
    return pd.DataFrame(rows)


def _decimals(table: pd.DataFrame) -> int:
    """Decimals of the percentages: what the (smallest) test split supports."""
    return percent_decimals(int(table["test_images"].min()))


def _interval_cell(row, key: str, decimals: int) -> str:
    return format_interval(row[key], row[f"{key}_low"], row[f"{key}_high"], decimals)


def format_runs_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`runs_table` for reading: right answers, and each metric in % with its 95% interval."""
    decimals = _decimals(table)
    shown = pd.DataFrame({
        "Model": table["model"].map(model_label), "Seed": table["seed"].astype(int), "Fold": table["fold"].astype(str),
        "Right": [f"{int(c)}/{int(n)}" for c, n in zip(table["correct"], table["test_images"], strict=True)],
        **{f"{title} (%)": [_interval_cell(row, key, decimals) for _, row in table.iterrows()]
           for key, title in METRICS},
        "Best epoch": table["best_epoch"].map(lambda v: MISSING_CELL if is_missing(v) else str(int(v))),
    })
    return shown.set_index(["Model", "Seed", "Fold"])


def repetition_table(runs: Iterable[dict], baseline: Sequence[dict] = ()) -> pd.DataFrame:
    """One row per repetition (model and seed; the network runs' and the SVC's): its folds pooled,
    each image once (:func:`labwork6.comparison.pooled_intervals`): ``model``, ``seed``, ``folds``,
    ``test_images``, ``correct``, the four metrics with their 95% intervals, and ``fold_accuracy``
    (each fold's accuracy, a list)."""
    rows = []
    for name, seeds in repetitions(runs, baseline).items():
        for seed, group in seeds.items():
            rows.append({"model": name, "seed": seed, **pooled_intervals(group)})
    return pd.DataFrame(rows)


def comparison_table(runs: Iterable[dict], baseline: Sequence[dict] | None = None) -> pd.DataFrame:
    """The models side by side, unrounded: one row per model (and the SVC baseline).

    Columns: ``n`` (repetitions: seeds, each pooling its folds), ``folds``, ``runs``, ``seeds``,
    ``input_shape`` (what the model saw, ``H×W×C``; the SVC: the raw images), ``parameters``,
    ``multiply_adds`` (per image at that input), ``test_images`` (pooled per repetition: with
    cross-validation every image of the dataset), then ``<key>_mean`` and ``<key>_std`` (sample
    std over the repetitions, NaN for one) of the pooled test metrics (``accuracy``,
    ``precision``, ``recall``, ``f1``, macro); for one repetition also ``<metric>_low``/``_high``,
    its 95% interval over the pooled images, and ``fold_accuracy`` (each fold's, a list; for
    several repetitions each repetition's pooled accuracy). The costs ``best_epoch``,
    ``epochs_run``, ``steps``, ``train_seconds`` and the inference timings are means (and std)
    over the runs (one per fold and seed); ``epoch_seconds_mean``/``_std`` pool the epochs of
    every run (:func:`epoch_seconds`).
    """
    runs, baseline = list(runs), list(baseline or [])
    pooled = repetition_table(runs, baseline)
    groups = [*group_runs(runs).items(), *([(BASELINE_MODEL, baseline)] if baseline else [])]
    rows = {}
    for name, group in groups:
        mine = pooled[pooled["model"] == name].sort_values("seed") if not pooled.empty else pooled
        if mine.empty:
            continue
        config = group[0]["config"]
        network = name != BASELINE_MODEL
        per_run = runs_table(group)
        row = {"model": name, "n": len(mine), "folds": int(config.folds or 1), "runs": len(group),
               "seeds": ", ".join(map(str, mine["seed"])),
               "input_shape": shape_text(config.input_shape if network else config.raw_input_shape),
               "parameters": per_run["parameters"].iloc[0], "multiply_adds": per_run["multiply_adds"].iloc[0],
               "test_images": int(mine["test_images"].min())}
        for key in SUMMARY_KEYS:
            values = mine[key].astype(float)
            row[f"{key}_mean"] = values.mean()
            row[f"{key}_std"] = values.std(ddof=1) if len(values) > 1 else math.nan
            for end in ("low", "high"):
                row[f"{key}_{end}"] = mine[f"{key}_{end}"].iloc[0] if len(mine) == 1 else math.nan
        row["fold_accuracy"] = list(mine["fold_accuracy"].iloc[0]) if len(mine) == 1 else list(mine["accuracy"])
        for key in ("best_epoch", *COST_KEYS):
            values = per_run[key].astype(float)
            row[f"{key}_mean"] = values.mean()
            row[f"{key}_std"] = values.std(ddof=1) if len(values) > 1 else math.nan
        seconds = np.concatenate([epoch_seconds(run) for run in group]) if network else np.array([])
        row["epoch_seconds_mean"] = seconds.mean() if len(seconds) else math.nan
        row["epoch_seconds_std"] = seconds.std(ddof=1) if len(seconds) > 1 else math.nan
        rows[model_label(name)] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "Model"
    return table


def table_cell(table: pd.DataFrame, label: str, key: str, percent: bool = False, decimals: int = 2,
               integer: bool = False) -> str | None:
    """``mean ± std`` of ``key`` in a :func:`comparison_table` row (the mean alone for one
    run; with ``integer``, a count such as epochs, also when every run has the same value);
    None when there is no such row or value."""
    if label not in table.index or f"{key}_mean" not in table.columns:
        return None
    mean, std = table.at[label, f"{key}_mean"], table.at[label, f"{key}_std"]
    if is_missing(mean):
        return None
    if integer and (is_missing(std) or float(std) == 0.0) and float(mean).is_integer():
        return str(int(mean))
    return format_mean_std(float(mean), None if is_missing(std) else float(std), percent=percent,
                           decimals=decimals)


def metric_cell(table: pd.DataFrame, label: str, key: str) -> str | None:
    """A test metric of a :func:`comparison_table` row in %, at the precision the test split
    supports: ``value [low, high]`` (95% interval) for one run, ``mean ± std`` for several."""
    if label not in table.index:
        return None
    row, decimals = table.loc[label], _decimals(table)
    if row["n"] == 1:
        return format_interval(row[f"{key}_mean"], row[f"{key}_low"], row[f"{key}_high"], decimals)
    return table_cell(table, label, key, percent=True, decimals=decimals)


def format_comparison(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`comparison_table` for reading, split in two tables that fit a page: the costs
    (size, training per run, speed) and the test metrics (:func:`metric_cell`) with, beside them,
    each fold's accuracy (one repetition) or each repetition's pooled accuracy (several)."""
    cost, quality = {}, {}
    several = bool((table["n"] > 1).any())
    for label in table.index:
        row = table.loc[label]
        is_model = row["model"] != BASELINE_MODEL
        cost[label] = {
            ("Size", "Input"): row.get("input_shape") or MISSING_CELL,
            ("Size", "Parameters"): thousands(row["parameters"]) if is_model else MISSING_CELL,
            ("Size", "Mult-adds (M)"): fixed(row["multiply_adds"] / 1e6, 1) if is_model else MISSING_CELL,
            ("Training per run", "Epochs"): table_cell(table, label, "epochs_run", decimals=1, integer=True),
            ("Training per run", "Steps"): table_cell(table, label, "steps", decimals=0, integer=True),
            ("Training per run", "s/epoch"): table_cell(table, label, "epoch_seconds", decimals=2),
            ("Training per run", "Time (s)"): table_cell(table, label, "train_seconds",
                                                         decimals=1 if is_model else 2),
            ("Inference", "Latency (ms)"): table_cell(table, label, "inference_latency_ms", decimals=1),
            ("Inference", "Images/s"): table_cell(table, label, "inference_throughput", decimals=0),
        }
        quality[label] = {"Images": thousands(row["test_images"]), "Runs": int(row["runs"])} | {
            f"{title} (%)": metric_cell(table, label, key) for key, title in METRICS}
        title = "Accuracy per seed (%)" if several else "Accuracy per fold (%)"
        images = int(row["test_images"]) if several else max(1, int(row["test_images"]) // int(row["folds"]))
        quality[label][title] = ", ".join(fixed(100 * value, percent_decimals(images))
                                          for value in row["fold_accuracy"])
    cost_frame, quality_frame = (pd.DataFrame.from_dict(d, orient="index") for d in (cost, quality))
    cost_frame.columns = pd.MultiIndex.from_tuples(cost_frame.columns)
    cost_frame.index.name = quality_frame.index.name = "Model"
    return cost_frame, quality_frame


def per_class_table(runs: Iterable[dict]) -> pd.DataFrame:
    """Per-class precision, recall and F1 of every model on its pooled test predictions (each image
    once per repetition), unrounded.

    Rows: ``(model, class)``; columns ``precision_mean``, ``precision_std``, ... , ``f1_std`` (over
    repetitions; NaN for one), ``support`` (test images of the class in a repetition) and ``n``
    (repetitions)."""
    rows = []
    for name, seeds in repetitions(runs).items():
        class_names = seeds[min(seeds)][0]["config"].class_names
        scores = []
        for group in seeds.values():
            frame = pooled_runs(group)
            scores.append(classification_metrics(frame["label"].to_numpy(), frame["prediction"].to_numpy(),
                                                 class_names)["per_class"])
        for class_name in class_names:
            row = {"model": name, "class": class_name, "n": len(scores),
                   "support": int(scores[0][class_name]["support"])}
            for key in ("precision", "recall", "f1"):
                # read directly: a class name may contain dots, which dotted keys would split on
                values = np.array([float(score[class_name][key]) for score in scores])
                row[f"{key}_mean"] = float(values.mean())
                row[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
            rows.append(row)
    return pd.DataFrame(rows).set_index(["model", "class"])


def format_per_class(table: pd.DataFrame, models: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`per_class_table` for reading: one row per class, columns (model, metric),
    percentages as mean ± std (at the precision the smallest class supports), and the class support."""
    models = list(models or table.index.get_level_values("model").unique())
    decimals = percent_decimals(max(1, int(table["support"].min())))
    columns = {}
    support = None
    for name in models:
        part = table.loc[name]
        support = part["support"] if support is None else support
        for key, title in (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1")):
            columns[(model_label(name), title)] = [
                format_mean_std(m, None if is_missing(s) else s, percent=True, decimals=decimals)
                for m, s in zip(part[f"{key}_mean"], part[f"{key}_std"], strict=True)
            ]
    frame = pd.DataFrame(columns, index=part.index)
    frame.insert(0, ("", "Support"), support.astype(int).to_numpy())
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = "Class"
    return frame


def summed_confusion_matrix(group: Sequence[dict]) -> pd.DataFrame:
    """The confusion matrices (``confusion_matrix.csv``) of a model's runs, summed over the runs: over
    a repetition's folds, the confusion matrix of its pooled predictions (over several seeds, each
    image counts once per seed)."""
    total = None
    for run in group:
        frame = pd.read_csv(Path(run["run_dir"]) / "confusion_matrix.csv", index_col=0, dtype=str)
        frame = frame.astype(np.int64)
        frame.columns = frame.columns.astype(str)
        total = frame if total is None else total.add(frame, fill_value=0)
    total.index.name, total.columns.name = "true", "predicted"
    return total.astype(int)


# --------------------------------------------------------------------------- recipe, data

_RECIPE_ROWS = (
    ("optimizer", "Optimizer"), ("learning_rate", "Peak learning rate"), ("weight_decay", "Weight decay"),
    ("warmup_fraction", "Warm-up (share of steps)"), ("label_smoothing", "Label smoothing"),
    ("batch_size", "Batch size"), ("epochs", "Epochs (planned)"), ("epochs_run", "Epochs (run)"),
    ("input_shape", "Input shape"), ("width", "Width multiplier"), ("model_options", "Model options"),
    ("resolved_precision", "Precision policy"), ("augment", "Augmentation"),
    ("contrast_augmentation", "Random contrast (factor)"), ("subsample", "Subsample"),
)


def _recipe_value(key: str, value) -> str:
    if key == "input_shape" and value is not None:
        return shape_text(value)
    if key == "model_options":
        return ", ".join(f"{k}={v}" for k, v in (value or {}).items()) or MISSING_CELL
    if key == "augment":
        return "yes" if value else "no"
    if key == "contrast_augmentation":
        return f"{value:g}" if value else "none"
    if key == "subsample":
        return f"at most {value} images" if value else "none"
    return MISSING_CELL if value is None else str(value)


def recipe_table(runs: Iterable[dict]) -> pd.DataFrame:
    """The training setup of each model (its first run's config): one column per model."""
    columns = {}
    for name, group in group_runs(runs).items():
        config = group[0]["config"]
        values = {title: _recipe_value(key, getattr(config, key)) for key, title in _RECIPE_ROWS}
        values["Seeds"] = ", ".join(dict.fromkeys(str(run["config"].seed) for run in group))
        values["Evaluation"] = (f"{config.folds}-fold cross-validation" if config.folds else "holdout")
        columns[model_label(name)] = values
    frame = pd.DataFrame(columns)
    frame.index.name = "Setting"
    return frame


def data_table(runs: Iterable[dict], class_counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Images per split (from the first run's config: with cross-validation, one fold's; every
    fold's test split is as large, within an image) and, when ``class_counts`` (class × split, as
    ``Dataset.counts()``) is given, the fewest and most images of a class."""
    config = next(iter(runs))["config"]
    split_counts = config.counts or {}
    total = sum(split_counts.values()) or math.nan
    rows = {}
    for split, title in (("train", "Training"), ("val", "Validation"), ("test", "Test")):
        number = split_counts.get(split, math.nan)
        row = {"Images": thousands(number), "Share (%)": fixed(100 * number / total, 1)}
        if class_counts is not None and split in class_counts.columns:
            row["Per class"] = f"{int(class_counts[split].min())}–{int(class_counts[split].max())}"
        rows[title] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "Split"
    return frame
