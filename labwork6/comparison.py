"""Runs side by side: a profile's completed runs, grouped by model and tabulated.

:func:`load_runs` reads the network runs of a profile (``runs/<profile>/...``, see
:mod:`labwork6.runs`); the tables put them side by side, unrounded (:func:`comparison_table`,
:func:`per_class_table`, :func:`runs_table`) and formatted for reading (``format_*``), with
the SVC baseline runs of :mod:`labwork6.baseline` as one more row. Notebook 05 and
:mod:`labwork6.report` use them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from labwork6.baseline import MODEL_NAME as BASELINE_MODEL
from labwork6.latex import MISSING_CELL, fixed, is_missing, shape_text, thousands
from labwork6.metrics import SUMMARY_KEYS, aggregate_runs, format_mean_std
from labwork6.models import get_model, model_family
from labwork6.profiles import PROFILES, get_profile
from labwork6.profiles import runs_root as resolve_runs_root
from labwork6.runs import find_runs, load_run

#: How each model is written in tables and prose.
MODEL_LABELS = {
    "vgg11": "VGG11", "vgg13": "VGG13", "vgg16": "VGG16", "vgg19": "VGG19", "vgg19_bn": "VGG19-BN",
    "resnet18": "ResNet18", "resnet19": "ResNet19", "resnet34": "ResNet34", "resnet50": "ResNet50",
    "plain34": "Plain34", BASELINE_MODEL: "RBF SVC (pixels)",
}
SVC_LABEL = MODEL_LABELS[BASELINE_MODEL]
#: Timings of a network run that the comparison shows (the baseline has ``train_seconds`` only).
COST_KEYS = ("train_seconds", "seconds_per_epoch", "epochs_run", "inference_latency_ms", "inference_throughput")


def model_label(name: str) -> str:
    """How a model (``vgg19_bn``) is written in the report (``VGG19-BN``)."""
    return MODEL_LABELS.get(name, name)


def model_for_run(run: dict, input_shape=None) -> keras.Model:
    """The bare (untrained) network of a run, built as the training built it, at the
    network's ``input_shape`` (or at ``input_shape`` when given)."""
    config = run["config"]
    binary = int(config["num_classes"]) == 2
    input_shape = config["input_shape"] if input_shape is None else input_shape
    return get_model(config["model"], input_shape=tuple(int(d) for d in input_shape),
                     num_classes=int(config["num_classes"]), width=config.get("width", 1.0),
                     classifier_activation="sigmoid" if binary else "softmax", **(config.get("model_options") or {}))


# --------------------------------------------------------------------------- runs


def load_runs(runs_root="runs", profile: str = "default", dataset: str | None = None) -> list[dict]:
    """Every completed network run of ``profile`` on one dataset, as :func:`labwork6.runs.load_run`
    dicts, sorted by model and seed (the SVC baseline runs are left out).

    Args:
        runs_root: the folder holding ``<profile>/<dataset>-<model>-seed<seed>/``
            (None: ``$LABWORK6_RUNS`` or ``runs``).
        profile: the profile whose runs are read.
        dataset: keep the runs of this dataset; None keeps the profile's dataset, or the
            dataset with the most runs when the profile's has none.

    Raises:
        FileNotFoundError: no completed run (naming the folder and the commands that
            create runs).
    """
    root = resolve_runs_root(runs_root)
    runs = []
    for folder in find_runs(root, profile):
        run = load_run(folder)
        if run["config"].get("model") == BASELINE_MODEL:
            continue
        if run["metrics"] is None or run["timing"] is None:
            raise FileNotFoundError(f"Run {folder} is marked completed but metrics.json or timing.json is "
                                    "missing or unreadable; train it again with --overwrite.")
        runs.append(run)
    if not runs:
        raise FileNotFoundError(
            f"No completed runs under '{(root / profile).resolve()}'. Train them first: "
            f"`python -m labwork6 train --model vgg19_bn --profile {profile}` (and --model resnet19), "
            f"`make notebooks PROFILE={profile}`, or `make all PROFILE={profile}`."
        )
    datasets = Counter(run["config"]["dataset"] for run in runs)
    if dataset is None:
        wanted = get_profile(profile)["dataset"] if profile in PROFILES else None
        dataset = wanted if wanted in datasets else datasets.most_common(1)[0][0]
    kept = [run for run in runs if run["config"]["dataset"] == dataset]
    if not kept:
        raise FileNotFoundError(f"No completed runs on dataset {dataset!r} under '{root / profile}'. "
                                f"Datasets with runs: {sorted(datasets)}.")
    if len(datasets) > 1:
        others = sorted(set(datasets) - {dataset})
        print(f"[labwork6] the report uses the {len(kept)} runs on {dataset!r}; runs on {others} are left out.")
    return sorted(kept, key=lambda run: (run["config"]["model"], run["config"]["seed"]))


def group_runs(runs: Iterable[dict]) -> dict[str, list[dict]]:
    """Network runs grouped by model name (VGG models first, then ResNets), each list by seed."""
    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(run["config"]["model"], []).append(run)
    order = sorted(groups, key=lambda name: (model_family(name) != "vgg", name))
    return {name: sorted(groups[name], key=lambda run: run["config"]["seed"]) for name in order}


def primary_models(runs: Iterable[dict]) -> dict[str, str | None]:
    """The two models the report compares: ``{"vgg": ..., "resnet": ...}``.

    Of each family, the runs' profile's model (``vgg19_bn``, ``resnet19``) when it has
    runs, else VGG19 or ResNet19, else the first model (None when a family has no run).
    """
    runs = list(runs)
    names = list(group_runs(runs))
    profile = runs[0]["config"].get("profile") if runs else None
    profile_models = get_profile(profile)["models"] if profile in PROFILES else ()
    chosen = {}
    for family, fallback in (("vgg", "vgg19"), ("resnet", "resnet19")):
        candidates = [name for name in names if model_family(name) == family]
        preferred = [name for name in profile_models if model_family(name) == family] + [fallback]
        chosen[family] = next((name for name in preferred if name in candidates),
                              candidates[0] if candidates else None)
    return chosen


def runs_table(runs: Iterable[dict]) -> pd.DataFrame:
    """One row per run: its model, seed, test metrics, epochs and timings (unrounded)."""
    rows = []
    for run in runs:
        config, metrics, timing = run["config"], run["metrics"], run["timing"]
        rows.append({
            "model": config["model"], "seed": int(config["seed"]), "run": Path(run["run_dir"]).name,
            **{key: float(metrics[key]) for key in SUMMARY_KEYS},
            "best_epoch": metrics.get("best_epoch"), "epochs_run": timing.get("epochs_run", config.get("epochs_run")),
            "train_seconds": timing["train_seconds"], "seconds_per_epoch": timing["seconds_per_epoch"],
            "inference_latency_ms": timing["inference_latency_ms"],
            "inference_throughput": timing["inference_throughput"],
            "parameters": config["parameters"]["total"], "multiply_adds": config["multiply_adds"],
        })
    return pd.DataFrame(rows)


def format_runs_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`runs_table` for reading: percentages, rounded seconds, model labels."""
    shown = pd.DataFrame({
        "Model": table["model"].map(model_label), "Seed": table["seed"].astype(int),
        "Accuracy (%)": table["accuracy"].map(lambda v: fixed(100 * v, 2)),
        "F1 (%)": table["f1"].map(lambda v: fixed(100 * v, 2)),
        "Best epoch": table["best_epoch"].map(lambda v: MISSING_CELL if is_missing(v) else str(int(v))),
        "Epochs": table["epochs_run"].astype(int),
        "Train time (s)": table["train_seconds"].map(lambda v: fixed(v, 1)),
    })
    return shown.set_index(["Model", "Seed"])


# --------------------------------------------------------------------------- comparison


def _summary_row(group: Sequence[dict]) -> dict:
    """One model's row of :func:`comparison_table` (a network's or the baseline's runs)."""
    config = group[0]["config"]
    network = config["model"] != BASELINE_MODEL
    row = {"model": config["model"], "n": len(group),
           "input_shape": shape_text(config.get("input_shape" if network else "raw_input_shape")),
           "parameters": config["parameters"]["total"] if network else math.nan,
           "multiply_adds": config["multiply_adds"] if network else math.nan}
    frames = [aggregate_runs([run["timing"] for run in group], COST_KEYS if network else ("train_seconds",))]
    if network:
        best = [run["metrics"].get("best_epoch") for run in group]
        frames.append(aggregate_runs([{"best_epoch": math.nan if b is None else float(b)} for b in best],
                                     ("best_epoch",)))
    frames.append(aggregate_runs([run["metrics"] for run in group], SUMMARY_KEYS))
    for frame in frames:
        for key, values in frame.iterrows():
            row[f"{key}_mean"], row[f"{key}_std"] = values["mean"], values["std"]
    return row


def comparison_table(runs: Iterable[dict], baseline: Sequence[dict] | None = None) -> pd.DataFrame:
    """The models side by side, unrounded: one row per model (and the SVC baseline).

    ``baseline`` holds the baseline's runs (:func:`labwork6.baseline.load_baselines`).
    Columns: ``n`` (runs), ``input_shape`` (what the model saw, ``H×W×C``; the SVC: the raw
    images), ``parameters``, ``multiply_adds`` (per image at that input), then ``<key>_mean`` and
    ``<key>_std`` (sample std, NaN for one run) of ``train_seconds``,
    ``seconds_per_epoch``, ``epochs_run``, ``best_epoch``, ``inference_latency_ms``,
    ``inference_throughput``, ``accuracy``, ``precision``, ``recall``, ``f1`` (macro).
    """
    groups = list(group_runs(runs).values()) + ([list(baseline)] if baseline else [])
    rows = {model_label(group[0]["config"]["model"]): _summary_row(group) for group in groups}
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


def format_comparison(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`comparison_table` for reading, split in two tables that fit a page:
    the costs (size, time, speed) and the test metrics (percentages, mean ± std)."""
    cost, quality = {}, {}
    for label in table.index:
        row = table.loc[label]
        is_model = row["model"] != BASELINE_MODEL
        cost[label] = {
            ("Size", "Input"): row.get("input_shape") or MISSING_CELL,
            ("Size", "Parameters"): thousands(row["parameters"]) if is_model else MISSING_CELL,
            ("Size", "Mult-adds (M)"): fixed(row["multiply_adds"] / 1e6, 1) if is_model else MISSING_CELL,
            ("Training", "Epochs"): table_cell(table, label, "epochs_run", decimals=1, integer=True),
            ("Training", "Best"): table_cell(table, label, "best_epoch", decimals=1, integer=True),
            ("Training", "Time (s)"): table_cell(table, label, "train_seconds", decimals=1 if is_model else 2),
            ("Inference", "Latency (ms)"): table_cell(table, label, "inference_latency_ms", decimals=2),
            ("Inference", "Images/s"): table_cell(table, label, "inference_throughput", decimals=0),
        }
        quality[label] = {"Runs": int(row["n"])} | {
            f"{name} (%)": table_cell(table, label, key, percent=True)
            for key, name in (("accuracy", "Accuracy"), ("precision", "Precision"), ("recall", "Recall"),
                              ("f1", "F1"))
        }
    cost_frame, quality_frame = (pd.DataFrame.from_dict(d, orient="index") for d in (cost, quality))
    cost_frame.columns = pd.MultiIndex.from_tuples(cost_frame.columns)
    cost_frame.index.name = quality_frame.index.name = "Model"
    return cost_frame, quality_frame


def per_class_table(runs: Iterable[dict]) -> pd.DataFrame:
    """Per-class precision, recall and F1 of every model, unrounded.

    Rows: ``(model, class)``; columns ``precision_mean``, ``precision_std``, ... ,
    ``f1_std``, ``support`` (test images of the class, first seed) and ``n`` (runs).
    """
    rows = []
    for name, group in group_runs(runs).items():
        for class_name in group[0]["metrics"]["per_class"]:
            row = {"model": name, "class": class_name, "n": len(group),
                   "support": int(group[0]["metrics"]["per_class"][class_name]["support"])}
            for key in ("precision", "recall", "f1"):
                # read directly: a class name may contain dots, which aggregate_runs' keys split on
                values = np.array([float(run["metrics"]["per_class"][class_name][key]) for run in group])
                row[f"{key}_mean"] = float(values.mean())
                row[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
            rows.append(row)
    return pd.DataFrame(rows).set_index(["model", "class"])


def format_per_class(table: pd.DataFrame, models: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`per_class_table` for reading: one row per class, columns (model, metric),
    percentages as mean ± std, and the class support."""
    models = list(models or table.index.get_level_values("model").unique())
    columns = {}
    support = None
    for name in models:
        part = table.loc[name]
        support = part["support"] if support is None else support
        for key, title in (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1")):
            columns[(model_label(name), title)] = [
                format_mean_std(m, None if is_missing(s) else s, percent=True, decimals=1)
                for m, s in zip(part[f"{key}_mean"], part[f"{key}_std"], strict=True)
            ]
    frame = pd.DataFrame(columns, index=part.index)
    frame.insert(0, ("", "Support"), support.astype(int).to_numpy())
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = "Class"
    return frame


def summed_confusion_matrix(group: Sequence[dict]) -> pd.DataFrame:
    """The confusion matrices (``confusion_matrix.csv``) of a model's runs, summed over seeds."""
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
    ("resolved_precision", "Precision policy"), ("augment", "Augmentation"), ("subsample", "Subsample"),
)


def _recipe_value(key: str, value) -> str:
    if key == "input_shape" and value is not None:
        return shape_text(value)
    if key == "model_options":
        return ", ".join(f"{k}={v}" for k, v in (value or {}).items()) or MISSING_CELL
    if key == "augment":
        return "yes" if value else "no"
    if key == "subsample":
        return f"{value} images per split" if value else "none"
    return MISSING_CELL if value is None else str(value)


def recipe_table(runs: Iterable[dict]) -> pd.DataFrame:
    """The training setup of each model (its first run's config): one column per model."""
    columns = {}
    for name, group in group_runs(runs).items():
        config = group[0]["config"]
        values = {title: _recipe_value(key, config.get(key)) for key, title in _RECIPE_ROWS}
        values["Seeds"] = ", ".join(str(run["config"]["seed"]) for run in group)
        columns[model_label(name)] = values
    frame = pd.DataFrame(columns)
    frame.index.name = "Setting"
    return frame


def data_table(runs: Iterable[dict], class_counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Images per split (from the first run's config) and, when ``class_counts`` (class ×
    split, as ``Dataset.counts()``) is given, the fewest and most images of a class."""
    config = next(iter(runs))["config"]
    split_counts = config.get("counts") or {}
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
