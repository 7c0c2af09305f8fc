"""The report's tables, numbers and figures, computed from the run folders, and the PDF.

:func:`write_report_inputs` reads every completed run of a profile
(``runs/<profile>/<dataset>-<model>-seed<seed>/``, see :mod:`labwork6.train`) and writes
into ``report/generated/``:

- LaTeX tables made by ``pandas.io.formats.style.Styler.to_latex`` (booktabs rules, names
  escaped), each with a CSV and a Markdown twin: the models side by side
  (``comparison_cost``, ``comparison_metrics``: mean +- std over seeds and the SVC baseline),
  per-class precision / recall / F1 (``per_class``), every run (``runs``), the slides'
  "VGG19 vs ResNet50" table recomputed at 224x224 (``vgg_vs_resnet50``), the VGG19 layer
  table with the slides' formulas (``architecture``), the ResNet19 stages
  (``resnet_stages``), the training recipes (``recipe``) and the data splits (``data``);
- ``numbers.tex``: every number the prose quotes as a macro (``\\VggAccuracy``, ...), so
  that ``report/Report.6.CNN.tex`` holds no number typed by hand;

and into ``report/figures/`` the training curves and the confusion matrices.
:func:`build_pdf` then runs ``latexmk`` on ``report/Report.6.CNN.tex``.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from labwork6.metrics import SUMMARY_KEYS, aggregate_runs, classification_metrics, format_mean_std
from labwork6.models import count_parameters, get_model, layer_table, model_family
from labwork6.profiles import get_profile
from labwork6.profiles import runs_root as resolve_runs_root
from labwork6.runs import find_runs, load_run

REPORT_NAME = "Report.6.CNN.tex"
TEX_INSTALL_HINT = (
    "Install TeX with `make tex`, or `sudo apt-get install latexmk texlive-latex-recommended "
    "texlive-latex-extra texlive-fonts-recommended lmodern` (Debian/Ubuntu; elsewhere install "
    "TeX Live or MiKTeX with latexmk)."
)

#: How each registry model is written in tables and prose.
MODEL_LABELS = {
    "vgg11": "VGG11", "vgg13": "VGG13", "vgg16": "VGG16", "vgg19": "VGG19", "vgg19_bn": "VGG19-BN",
    "resnet18": "ResNet18", "resnet19": "ResNet19", "resnet34": "ResNet34", "resnet50": "ResNet50",
    "plain34": "Plain34",
}
SVC_LABEL = "RBF SVC (pixels)"
OPTIMIZER_LABELS = {"adamw": "AdamW", "adam": "Adam", "sgd": "SGD with Nesterov momentum"}
#: The classical baseline is fitted on at most this many images (an RBF SVC is quadratic
#: in the training set; CIFAR-10's 42,500 training images would take hours).
SVC_MAX_TRAIN = 10_000

#: The slide "VGG19 vs ResNet50" as printed (its two columns are swapped), and what the
#: papers report for the rows that are not computed here (He et al. 2016, Table 4:
#: "VGG (v5)" 7.1% and ResNet-50 5.25% top-5 validation error, single model).
SLIDE_VGG19_VS_RESNET50 = {
    "top5_error": {"vgg19": "5.25%", "resnet50": "7.1%"},
    "parameters": {"vgg19": "25M", "resnet50": "138M"},
    "complexity": {"vgg19": "3.8B FLOPS", "resnet50": "15.3B FLOPS"},
    "structure": {"vgg19": "Fully conv", "resnet50": "Several fully connected layers"},
}
#: The papers' setting (ImageNet) in which the slide's table is recomputed.
REFERENCE_INPUT_SHAPE = (224, 224, 3)
REFERENCE_CLASSES = 1000
PAPER_TOP5_ERROR = {"vgg19": "7.1%", "resnet50": "5.25%"}
#: VGG16 as counted by He et al. 2016 (15.3 G multiply-adds) and keras.applications
#: (138,357,544 parameters): the slide's "VGG19" numbers are in fact VGG16's.
VGG16_PAPER = {"parameters": "138M", "complexity": "15.3B"}

_MACRO_NAME = re.compile(r"^[A-Za-z]+$")
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


class TexNotFoundError(RuntimeError):
    """latexmk or pdflatex is not installed; the message says how to install TeX."""


class LatexError(RuntimeError):
    """latexmk failed; the message holds the end of the LaTeX log."""


# --------------------------------------------------------------------------- small helpers


def model_label(name: str) -> str:
    """How a registry model (``vgg19_bn``) is written in the report (``VGG19-BN``)."""
    return MODEL_LABELS.get(name, name)


def tex_escape(text) -> str:
    """``text`` with LaTeX's special characters escaped (for macros; tables use Styler)."""
    return "".join(_LATEX_SPECIALS.get(char, char) for char in str(text))


def _thousands(value) -> str:
    return "n/a" if value is None or _isnan(value) else f"{int(round(float(value))):,}"


def _isnan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _fixed(value, decimals: int) -> str:
    return "n/a" if value is None or _isnan(value) else f"{float(value):.{decimals}f}"


def _shape_text(shape) -> str:
    return "×".join(str(int(d)) for d in shape)


def _mean_std(values: Sequence[float], percent: bool = False, decimals: int = 2) -> str:
    """``"mean ± std"`` of values (the mean alone for one value), via ``format_mean_std``."""
    values = [float(v) for v in values if v is not None and not _isnan(float(v))]
    if not values:
        return "n/a"
    std = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return format_mean_std(float(np.mean(values)), std, percent=percent, decimals=decimals)


def _to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table (pandas' ``to_markdown`` when ``tabulate`` is installed)."""
    try:
        return frame.to_markdown() + "\n"
    except ImportError:
        pass
    flat = frame.copy()
    if isinstance(flat.columns, pd.MultiIndex):
        flat.columns = [" ".join(str(p) for p in column if str(p)) for column in flat.columns]
    header = [str(flat.index.name or "")] + [str(c) for c in flat.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for index, row in flat.iterrows():
        cells = [str(index)] + ["" if (v is None or _isnan(v)) else str(v) for v in row.tolist()]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def table_to_latex(frame: pd.DataFrame, *, column_format: str | None = None, longtable: bool = False,
                   caption: str | None = None, label: str | None = None) -> str:
    """A DataFrame as a booktabs LaTeX table, made by ``Styler.to_latex(hrules=True)``.

    The index becomes the first column (one header row). Cells and column names are
    escaped (``escape="latex"``); the ``±`` and ``×`` signs of the formatted cells become
    ``$\\pm$`` and ``$\\times$``. Without ``longtable`` the result is a bare ``tabular``
    for the report to place in its own ``table`` float with its own caption;
    ``longtable`` tables (long lists) break across pages and carry ``caption`` and
    ``label`` themselves.
    """
    flat = frame.reset_index()
    if isinstance(frame.columns, pd.MultiIndex):
        # the index names go on the last header row, next to the other column names
        levels = frame.columns.nlevels
        flat.columns = pd.MultiIndex.from_tuples(
            [("",) * (levels - 1) + (column[0],) if i < frame.index.nlevels else column
             for i, column in enumerate(flat.columns)])
    styler = flat.style.format(escape="latex", na_rep="–").hide(axis="index")
    styler = styler.format_index(escape="latex", axis=1)
    if column_format is None:
        column_format = "l" * frame.index.nlevels + "r" * frame.shape[1]
    options = {"hrules": True, "column_format": column_format, "multicol_align": "c"}
    if longtable:
        options.update(environment="longtable", caption=caption, label=label)
    latex = styler.to_latex(**options)
    return latex.replace("±", r"$\pm$").replace("×", r"$\times$")


def _write_table(frame: pd.DataFrame, out_dir: Path, stem: str, written: list[Path], *,
                 numeric: pd.DataFrame | None = None, **latex_options) -> None:
    """``stem.tex`` (booktabs), ``stem.md`` and ``stem.csv`` (``numeric`` when given: the
    unrounded numbers, else the displayed table)."""
    (out_dir / f"{stem}.tex").write_text(table_to_latex(frame, **latex_options))
    (out_dir / f"{stem}.md").write_text(_to_markdown(frame))
    (numeric if numeric is not None else frame).to_csv(out_dir / f"{stem}.csv")
    written.extend(out_dir / f"{stem}.{suffix}" for suffix in ("tex", "md", "csv"))


# --------------------------------------------------------------------------- runs


def load_runs(runs_root="runs", profile: str = "default", dataset: str | None = None) -> list[dict]:
    """Every completed run of ``profile`` (one dataset), as :func:`labwork6.train.load_run` dicts.

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
    folders = find_runs(root, profile)
    if not folders:
        raise FileNotFoundError(
            f"No completed runs under '{(root / profile).resolve()}'. Train them first: "
            f"`python -m labwork6 train --model vgg19_bn --profile {profile}` (and --model resnet19), "
            f"`make notebooks PROFILE={profile}`, or `make all PROFILE={profile}`."
        )
    runs = []
    for folder in folders:
        run = load_run(folder)
        if run["metrics"] is None or run["timing"] is None:
            raise FileNotFoundError(f"Run {folder} is marked completed but metrics.json or timing.json is "
                                    "missing or unreadable; train it again with --overwrite.")
        runs.append(run)
    datasets = Counter(run["config"]["dataset"] for run in runs)
    if dataset is None:
        wanted = get_profile(profile)["dataset"] if profile in _profile_names() else None
        dataset = wanted if wanted in datasets else datasets.most_common(1)[0][0]
    kept = [run for run in runs if run["config"]["dataset"] == dataset]
    if not kept:
        raise FileNotFoundError(f"No completed runs on dataset {dataset!r} under '{root / profile}'. "
                                f"Datasets with runs: {sorted(datasets)}.")
    if len(datasets) > 1:
        others = sorted(set(datasets) - {dataset})
        print(f"[labwork6] the report uses the {len(kept)} runs on {dataset!r}; runs on {others} are left out.")
    return sorted(kept, key=lambda run: (run["config"]["model"], run["config"]["seed"]))


def _profile_names() -> tuple[str, ...]:
    from labwork6.profiles import PROFILES

    return tuple(PROFILES)


def group_runs(runs: Iterable[dict]) -> dict[str, list[dict]]:
    """Runs grouped by model name (VGG models first, then ResNets), each list by seed."""
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
    profile_models = get_profile(profile)["models"] if profile in _profile_names() else ()
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
        "Accuracy (%)": table["accuracy"].map(lambda v: _fixed(100 * v, 2)),
        "F1 (%)": table["f1"].map(lambda v: _fixed(100 * v, 2)),
        "Best epoch": table["best_epoch"].map(lambda v: "–" if v is None or _isnan(v) else str(int(v))),
        "Epochs": table["epochs_run"].astype(int),
        "Train time (s)": table["train_seconds"].map(lambda v: _fixed(v, 1)),
    })
    return shown.set_index(["Model", "Seed"])


# --------------------------------------------------------------------------- baseline


def _raw_features(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


@functools.lru_cache(maxsize=32)
def _svc_for_seed(dataset: str, seed: int, subsample: int | None, max_train: int) -> dict:
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    from labwork6.data import load_dataset

    data = load_dataset(dataset, seed=seed)
    if subsample:
        data = data.subsample(int(subsample), seed=seed)
    x_fit = np.concatenate([_raw_features(data.train.images), _raw_features(data.val.images)])
    y_fit = np.concatenate([data.train.labels, data.val.labels])
    if len(y_fit) > max_train:
        x_fit, _, y_fit, _ = train_test_split(x_fit, y_fit, train_size=max_train, stratify=y_fit,
                                              random_state=seed)
    start = time.perf_counter()
    classifier = SVC(kernel="rbf").fit(x_fit, y_fit)
    fit_seconds = time.perf_counter() - start
    predictions = classifier.predict(_raw_features(data.test.images))
    return {
        "seed": seed, "metrics": classification_metrics(data.test.labels, predictions, data.class_names),
        "timing": {"train_seconds": fit_seconds}, "fit_images": int(len(y_fit)),
        "support_vectors": int(classifier.support_vectors_.shape[0]),
        "test_labels": data.test.labels.copy(), "image_shape": tuple(int(d) for d in data.image_shape),
        "counts": data.counts(), "source": str(getattr(data, "source", dataset)),
    }


def svc_baseline(runs: Iterable[dict], max_train: int = SVC_MAX_TRAIN) -> list[dict]:
    """The classical baseline: an RBF SVC on raw pixels, one per seed of the runs.

    Each seed uses exactly the splits of the runs with that seed (same dataset, seed and
    subsample); the SVC is fitted on train + validation (it has no hyperparameter to
    select, so the validation images are extra training data: the "85/15" baseline of
    the REFERENCE) and evaluated once on the test split. Pixels are scaled to [0, 1] at
    the dataset's own size. A warning is printed when the test labels differ from the
    runs' ``predictions.csv`` (the splits would then not be the same).

    Returns:
        One dict per seed: ``seed``, ``metrics`` (metrics.json schema), ``timing``
        (``train_seconds``: the fit), ``fit_images``, ``support_vectors``, ...
    """
    by_seed: dict[int, dict] = {}
    for run in runs:
        by_seed.setdefault(int(run["config"]["seed"]), run)
    results = []
    for seed, run in sorted(by_seed.items()):
        config = run["config"]
        result = dict(_svc_for_seed(str(config["dataset"]), seed, config.get("subsample"), int(max_train)))
        predictions = Path(run["run_dir"]) / "predictions.csv"
        if predictions.exists():
            labels = pd.read_csv(predictions)["label"].to_numpy()
            if len(labels) != len(result["test_labels"]) or np.any(labels != result["test_labels"]):
                print(f"[labwork6] warning: the SVC's test split (seed {seed}) differs from the one in "
                      f"{predictions}; the baseline is not on the same images.")
        results.append(result)
    return results


# --------------------------------------------------------------------------- comparison

_COST_KEYS = ("train_seconds", "seconds_per_epoch", "epochs_run", "inference_latency_ms", "inference_throughput")


def comparison_table(runs: Iterable[dict], baseline: Sequence[dict] | None = None) -> pd.DataFrame:
    """The models side by side, unrounded: one row per model (and the SVC baseline).

    Columns: ``n`` (runs), ``input_shape`` (what the model saw, ``H×W×C``; the SVC: the raw
    images), ``parameters``, ``multiply_adds`` (per image at that input), then ``<key>_mean`` and
    ``<key>_std`` (sample std, NaN for one run) of ``train_seconds``,
    ``seconds_per_epoch``, ``epochs_run``, ``best_epoch``, ``inference_latency_ms``,
    ``inference_throughput``, ``accuracy``, ``precision``, ``recall``, ``f1`` (macro).
    """
    rows = {}
    for name, group in group_runs(runs).items():
        row = {"model": name, "n": len(group), "input_shape": _shape_text(group[0]["config"].get("input_shape", ())),
               "parameters": group[0]["config"]["parameters"]["total"],
               "multiply_adds": group[0]["config"]["multiply_adds"]}
        timing = aggregate_runs([run["timing"] for run in group], _COST_KEYS)
        best = [run["metrics"].get("best_epoch") for run in group]
        epochs = aggregate_runs([{"best_epoch": float(b) if b is not None else math.nan} for b in best],
                                ("best_epoch",))
        quality = aggregate_runs([run["metrics"] for run in group], SUMMARY_KEYS)
        for frame in (timing, epochs, quality):
            for key, values in frame.iterrows():
                row[f"{key}_mean"], row[f"{key}_std"] = values["mean"], values["std"]
        rows[model_label(name)] = row
    if baseline:
        row = {"model": "svc", "n": len(baseline), "input_shape": _shape_text(baseline[0]["image_shape"]),
               "parameters": math.nan, "multiply_adds": math.nan}
        fit = aggregate_runs([b["timing"] for b in baseline], ("train_seconds",))
        quality = aggregate_runs([b["metrics"] for b in baseline], SUMMARY_KEYS)
        for frame in (fit, quality):
            for key, values in frame.iterrows():
                row[f"{key}_mean"], row[f"{key}_std"] = values["mean"], values["std"]
        rows[SVC_LABEL] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "Model"
    return table


def _cell(table: pd.DataFrame, label: str, key: str, percent: bool = False, decimals: int = 2,
          integer: bool = False) -> str:
    """One table cell: ``mean ± std`` of ``key`` (the mean alone for one run; with
    ``integer``, a count such as epochs, also when every run has the same value)."""
    if f"{key}_mean" not in table.columns:
        return "–"
    mean, std = table.at[label, f"{key}_mean"], table.at[label, f"{key}_std"]
    if mean is None or _isnan(float(mean)):
        return "–"
    if integer and (_isnan(float(std)) or float(std) == 0.0) and float(mean).is_integer():
        return str(int(mean))
    return format_mean_std(float(mean), None if _isnan(float(std)) else float(std), percent=percent,
                           decimals=decimals)


def format_comparison(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`comparison_table` for reading, split in two tables that fit a page:
    the costs (size, time, speed) and the test metrics (percentages, mean ± std)."""
    cost, quality = {}, {}
    for label in table.index:
        row = table.loc[label]
        is_model = row["model"] != "svc"
        cost[label] = {
            ("Size", "Input"): row.get("input_shape") or "–",
            ("Size", "Parameters"): _thousands(row["parameters"]) if is_model else "–",
            ("Size", "Mult-adds (M)"): _fixed(row["multiply_adds"] / 1e6, 1) if is_model else "–",
            ("Training", "Epochs"): _cell(table, label, "epochs_run", decimals=1, integer=True),
            ("Training", "Best"): _cell(table, label, "best_epoch", decimals=1, integer=True),
            ("Training", "Time (s)"): _cell(table, label, "train_seconds", decimals=1 if is_model else 2),
            ("Inference", "Latency (ms)"): _cell(table, label, "inference_latency_ms", decimals=2),
            ("Inference", "Images/s"): _cell(table, label, "inference_throughput", decimals=0),
        }
        quality[label] = {"Runs": int(row["n"])} | {
            f"{name} (%)": _cell(table, label, key, percent=True)
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
        classes = list(group[0]["metrics"]["per_class"])
        for class_name in classes:
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
                format_mean_std(m, None if _isnan(s) else s, percent=True, decimals=1)
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


# --------------------------------------------------------------------------- architecture


@functools.lru_cache(maxsize=8)
def reference_counts(name: str) -> dict:
    """Parameters, multiply-adds and layer counts of ``name`` as in its paper (224x224x3,
    1000 classes), computed from the built model (slow for VGG19: 143.7M weights)."""
    model = get_model(name, input_shape=REFERENCE_INPUT_SHAPE, num_classes=REFERENCE_CLASSES)
    table = layer_table(model)
    return {"parameters": count_parameters(model), "multiply_adds": int(table.iloc[-1]["multiply_adds"]),
            **layer_counts(table)}


def layer_counts(table: pd.DataFrame) -> dict:
    """Layers of a :func:`~labwork6.models.layer_table` by kind: ``conv`` (main path),
    ``projection`` (the shortcut convolutions ``*_0_conv`` of a ResNet), ``dense``, ``pool``
    and ``weight_layers`` (conv + dense, projections not counted: the depth in the name)."""
    rows = table[table["name"] != "total"]
    conv = rows["type"] == "Conv2D"
    projection = conv & rows["name"].str.endswith("_0_conv")
    counts = {
        "conv": int((conv & ~projection).sum()), "projection": int(projection.sum()),
        "dense": int((rows["type"] == "Dense").sum()),
        "pool": int(rows["type"].str.contains("Pooling2D").sum()),
    }
    counts["weight_layers"] = counts["conv"] + counts["dense"]
    return counts


def vgg_vs_resnet50_table() -> pd.DataFrame:
    """The slides' "VGG19 vs ResNet50" table next to the values computed here.

    Parameters and multiply-adds come from :func:`labwork6.models.get_model` at
    224x224x3 with 1000 classes (the papers' setting); the top-5 errors are the papers'
    (He et al. 2016, Table 4). The last column says what the slide got wrong.
    """
    vgg, resnet = reference_counts("vgg19"), reference_counts("resnet50")
    slide = SLIDE_VGG19_VS_RESNET50
    rows = {
        "Accuracy (top-5 error, ImageNet)": [
            slide["top5_error"]["vgg19"], slide["top5_error"]["resnet50"],
            PAPER_TOP5_ERROR["vgg19"], PAPER_TOP5_ERROR["resnet50"],
            "columns swapped; these are top-5 errors, not accuracies"],
        "Parameters": [
            slide["parameters"]["vgg19"], slide["parameters"]["resnet50"],
            _thousands(vgg["parameters"]["trainable"]), _thousands(resnet["parameters"]["trainable"]),
            f"columns swapped; {VGG16_PAPER['parameters']} is VGG16's count"],
        "Multiply-adds (G)": [
            slide["complexity"]["vgg19"], slide["complexity"]["resnet50"],
            _fixed(vgg["multiply_adds"] / 1e9, 2), _fixed(resnet["multiply_adds"] / 1e9, 2),
            f"columns swapped; {VGG16_PAPER['complexity']} is VGG16's; "
            "the papers' FLOPs are multiply-adds"],
        "Convolution (structure)": [
            slide["structure"]["vgg19"], slide["structure"]["resnet50"],
            f"{vgg['conv']} conv, {vgg['pool']} max pool, {vgg['dense']} fully connected",
            f"{resnet['conv']} conv (+{resnet['projection']} projections), global average pool, "
            f"{resnet['dense']} fully connected",
            "columns swapped"],
    }
    frame = pd.DataFrame.from_dict(
        rows, orient="index",
        columns=pd.MultiIndex.from_tuples([("Slide (as printed)", "VGG19"), ("Slide (as printed)", "ResNet50"),
                                           ("Corrected", "VGG19"), ("Corrected", "ResNet50"),
                                           ("", "What was wrong")]))
    frame.index.name = "Factor"
    return frame


_LAYER_TYPES = {"Conv2D": "conv", "MaxPooling2D": "max pool", "Flatten": "flatten", "Dense": "dense",
                "BatchNormalization": "batch norm", "Activation": "activation"}


def architecture_table(model) -> pd.DataFrame:
    """The layers of a built VGG with the slides' quantities, one row per weight, batch
    normalisation or pooling layer (dropout and activation layers, which have no parameters
    and keep the shape, are left out).

    Columns: ``Layer``, ``Type``, ``Input`` (H×W×D), ``F``, ``S``, ``P``, ``K``,
    ``Output`` from ``((H - F + 2P)/S + 1) × ((W - F + 2P)/S + 1) × K``, ``K(F·F·D+1)``
    (for a dense layer F = 1 and D is its input length), ``Parameters`` (Keras'
    ``count_params``) and ``Multiply-adds``; a last row ``total`` (all layers).
    """
    import keras

    table = layer_table(model).set_index("name")
    rows = []
    for layer in model.layers:
        if isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout, keras.layers.ReLU,
                              keras.layers.Activation)):
            continue
        info = table.loc[layer.name]
        kind = type(layer).__name__
        row = {"Layer": layer.name, "Type": _LAYER_TYPES.get(kind, kind), "Input": "", "F": "", "S": "", "P": "",
               "K": "", "Output": _shape_text(info["output_shape"]), "K(F·F·D+1)": "",
               "Parameters": _thousands(info["parameters"]), "Multiply-adds": _thousands(info["multiply_adds"])}
        input_shape = tuple(int(d) for d in layer.input.shape[1:])
        row["Input"] = _shape_text(input_shape)
        if isinstance(layer, keras.layers.Conv2D):
            row.update(F=int(info["F"]), S=int(info["S"]), P=int(info["P"]), K=int(info["K"]),
                       Output=_shape_text(info["formula_output_shape"]))
            row["K(F·F·D+1)"] = _thousands(info["formula_parameters"])
        elif isinstance(layer, keras.layers.MaxPooling2D):
            size, stride = layer.pool_size[0], layer.strides[0]
            height, width, depth = input_shape
            row.update(F=size, S=stride, P=0,
                       Output=_shape_text(((height - size) // stride + 1, (width - size) // stride + 1, depth)))
        elif isinstance(layer, keras.layers.Dense):
            row.update(K=layer.units)
            row["K(F·F·D+1)"] = _thousands(layer.units * (input_shape[-1] + (1 if layer.use_bias else 0)))
        rows.append(row)
    total = table.loc["total"]
    rows.append({"Layer": "total", "Type": "", "Input": "", "F": "", "S": "", "P": "", "K": "", "Output": "",
                 "K(F·F·D+1)": "", "Parameters": _thousands(total["parameters"]),
                 "Multiply-adds": _thousands(total["multiply_adds"])})
    return pd.DataFrame(rows).set_index("Layer")


def model_for_run(run: dict, input_shape=None):
    """The (untrained) network of a run, built as :func:`labwork6.train.train` built it
    (at ``input_shape`` instead of the run's when given)."""
    config = run["config"]
    binary = int(config["num_classes"]) == 2
    input_shape = config["input_shape"] if input_shape is None else input_shape
    return get_model(config["model"], input_shape=tuple(int(d) for d in input_shape),
                     num_classes=int(config["num_classes"]), width=config.get("width", 1.0),
                     classifier_activation="sigmoid" if binary else "softmax", **(config.get("model_options") or {}))


def vgg_facts(model) -> dict:
    """What the prose says about a built VGG: ``batch_norm`` (bool), ``bn_momentum``,
    ``bn_parameters`` (all batch-normalisation weights, moving statistics included),
    ``head_units`` and ``dropout_rate`` of ``fc1``, ``flatten_length`` (the input of
    ``fc1``), ``dense_share`` (share of the parameters in the dense layers) and
    ``last_map`` (``H×W`` after the last pooling) and ``downsampling`` (input side / that side)."""
    import keras

    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    last = pools[-1].output.shape if pools else (None, None, None)
    return {
        "batch_norm": bool(norms), "bn_momentum": float(norms[0].momentum) if norms else None,
        "bn_parameters": int(sum(layer.count_params() for layer in norms)),
        "head_units": int(dense[0].units) if len(dense) > 1 else None,
        "dropout_rate": float(dropouts[0].rate) if dropouts else 0.0,
        "flatten_length": int(dense[0].input.shape[-1]) if dense else None,
        "dense_share": sum(layer.count_params() for layer in dense) / max(model.count_params(), 1),
        "last_map": f"{last[1]}×{last[2]}",
        "downsampling": int(model.inputs[0].shape[1] // last[1]) if last[1] else None,
    }


def resnet_facts(model) -> dict:
    """What the prose says about a built ResNet: ``last_map`` (``H×W`` of the last stage)
    and ``downsampling`` (input side / last stage side)."""
    blocks = [layer for layer in model.layers if re.fullmatch(r"conv\d+_block\d+_out", layer.name)]
    last = blocks[-1].output.shape if blocks else model.get_layer("conv1_relu").output.shape
    side = model.inputs[0].shape[1]
    return {"last_map": f"{last[1]}×{last[2]}", "downsampling": int(side // last[1]) if last[1] else None}


def resnet_stages_table(model) -> pd.DataFrame:
    """The stages of a built ResNet: output size, blocks, filters, first stride, layers."""
    import keras

    rows = []
    stem = model.get_layer("conv1_conv")
    rows.append({"Stage": "stem (conv1)", "Output": _shape_text(model.get_layer("conv1_relu").output.shape[1:]),
                 "Blocks": "–", "Filters": stem.filters, "Kernel": f"{stem.kernel_size[0]}×{stem.kernel_size[1]}",
                 "Stride": stem.strides[0], "Weight layers": 1})
    stage = 2
    while True:
        blocks = [layer for layer in model.layers if re.fullmatch(rf"conv{stage}_block\d+_out", layer.name)]
        if not blocks:
            break
        convs = [layer for layer in model.layers
                 if isinstance(layer, keras.layers.Conv2D) and layer.name.startswith(f"conv{stage}_")]
        main = [layer for layer in convs if not layer.name.endswith("_0_conv")]
        first = [layer for layer in convs if layer.name.startswith(f"conv{stage}_block1_")]
        rows.append({"Stage": f"conv{stage}", "Output": _shape_text(blocks[-1].output.shape[1:]),
                     "Blocks": len(blocks), "Filters": blocks[-1].output.shape[-1],
                     "Kernel": " / ".join(sorted({f"{c.kernel_size[0]}×{c.kernel_size[1]}" for c in main})),
                     "Stride": max(layer.strides[0] for layer in first),
                     "Weight layers": len(main)})
        stage += 1
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            rows.append({"Stage": layer.name, "Output": str(layer.units), "Blocks": "–", "Filters": "–",
                         "Kernel": "dense", "Stride": "–", "Weight layers": 1})
    frame = pd.DataFrame(rows).set_index("Stage")
    frame.loc["total"] = ["", "", "", "", "", int(sum(frame["Weight layers"]))]
    return frame


# --------------------------------------------------------------------------- recipe, data

_RECIPE_ROWS = (
    ("optimizer", "Optimizer"), ("learning_rate", "Peak learning rate"), ("weight_decay", "Weight decay"),
    ("warmup_fraction", "Warm-up (share of steps)"), ("label_smoothing", "Label smoothing"),
    ("batch_size", "Batch size"), ("epochs", "Epochs (planned)"), ("epochs_run", "Epochs (run)"),
    ("input_shape", "Input shape"), ("width", "Width multiplier"), ("model_options", "Model options"),
    ("resolved_precision", "Precision policy"), ("augment", "Augmentation"), ("subsample", "Subsample"),
)


def recipe_table(runs: Iterable[dict]) -> pd.DataFrame:
    """The training setup of each model (its first run's config): one column per model."""
    columns = {}
    for name, group in group_runs(runs).items():
        config = group[0]["config"]
        values = {}
        for key, title in _RECIPE_ROWS:
            value = config.get(key)
            if key == "input_shape" and value is not None:
                value = _shape_text(value)
            elif key == "model_options":
                value = ", ".join(f"{k}={v}" for k, v in (value or {}).items()) or "–"
            elif key == "augment":
                value = "yes" if value else "no"
            elif key == "subsample":
                value = f"{value} images per split" if value else "none"
            elif value is None:
                value = "–"
            values[title] = str(value)
        values["Seeds"] = ", ".join(str(run["config"]["seed"]) for run in group)
        columns[model_label(name)] = values
    frame = pd.DataFrame(columns)
    frame.index.name = "Setting"
    return frame


def data_table(runs: Iterable[dict], counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Images per split (from the first run's config) and, when ``counts`` (class × split,
    ``Dataset.counts()``) is given, the fewest and most images of a class."""
    config = next(iter(runs))["config"]
    split_counts = config.get("counts") or {}
    total = sum(split_counts.values()) or math.nan
    rows = {}
    for split, title in (("train", "Training"), ("val", "Validation"), ("test", "Test")):
        number = split_counts.get(split, math.nan)
        row = {"Images": _thousands(number), "Share (%)": _fixed(100 * number / total, 1)}
        if counts is not None and split in counts.columns:
            row["Per class"] = f"{int(counts[split].min())}–{int(counts[split].max())}"
        rows[title] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "Split"
    return frame


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


def augmentation_text(dataset: str, input_shape) -> str:
    """In words, the augmentation :func:`labwork6.preprocessing.augmentation_for` applies."""
    from labwork6.preprocessing import augmentation_for

    pipeline = augmentation_for(str(dataset), tuple(int(d) for d in input_shape))
    if pipeline is None:
        return "none (images too small to shift)"
    parts = []
    for layer in pipeline.layers:
        config = layer.get_config()
        kind = type(layer).__name__
        if kind == "RandomTranslation":
            parts.append(f"random translation by up to {100 * abs(float(config['height_factor'])):.0f}% of the "
                         f"height and {100 * abs(float(config['width_factor'])):.0f}% of the width")
        elif kind == "ZeroPadding2D":
            parts.append(f"zero padding by {config['padding'][0][0]} pixels")
        elif kind == "RandomCrop":
            parts.append(f"a random crop back to {config['height']}×{config['width']}")
        elif kind == "RandomFlip":
            parts.append(f"random {config['mode']} flips")
        else:
            parts.append(kind)
    return ", ".join(parts)


# --------------------------------------------------------------------------- numbers.tex


class _Macros:
    """Collects ``\\newcommand`` definitions; values are escaped unless ``raw``."""

    def __init__(self):
        self.lines: list[str] = []
        self.names: set[str] = set()

    def add(self, name: str, value, raw: bool = False) -> None:
        if not _MACRO_NAME.match(name) or name in self.names:
            raise ValueError(f"Bad or repeated macro name (letters only). Received: name={name!r}")
        self.names.add(name)
        text = str(value) if raw else tex_escape(value)
        text = text.replace("±", r"$\pm$").replace("×", r"$\times$")
        self.lines.append(f"\\newcommand{{\\{name}}}{{{text}}}")

    def flag(self, name: str, value: bool) -> None:
        self.lines.append(f"\\newif\\if{name}\\{name}{'true' if value else 'false'}")

    def text(self) -> str:
        header = "% Generated by labwork6.report.write_report_inputs from the run folders. Do not edit.\n"
        return header + "\n".join(self.lines) + "\n"


def _role_macros(macros: _Macros, prefix: str, name: str | None, table: pd.DataFrame, groups: dict,
                 figures_dir: Path) -> None:
    """Macros ``\\<prefix>Accuracy`` ... for one model (``n/a`` when it has no run)."""
    label = model_label(name) if name else {"Vgg": "VGG19", "Res": "ResNet19"}[prefix]
    macros.add(f"{prefix}Name", label)
    macros.add(f"{prefix}Model", name or "none")
    group = groups.get(name, [])
    config = group[0]["config"] if group else {}
    has = bool(group)
    macros.add(f"{prefix}Runs", len(group))
    macros.add(f"{prefix}Seeds", ", ".join(str(run["config"]["seed"]) for run in group) or "n/a")
    for key, title in (("accuracy", "Accuracy"), ("precision", "Precision"), ("recall", "Recall"),
                       ("f1", "Fscore")):
        mean = table.at[label, f"{key}_mean"] if has else math.nan
        std = table.at[label, f"{key}_std"] if has else math.nan
        macros.add(f"{prefix}{title}", _fixed(100 * mean, 2))
        macros.add(f"{prefix}{title}Std", _fixed(100 * std, 2) if not _isnan(std) else "n/a")
        macros.add(f"{prefix}{title}PM", _cell(table, label, key, percent=True) if has else "n/a")
    parameters = config.get("parameters", {})
    macros.add(f"{prefix}Parameters", _thousands(parameters.get("total")))
    macros.add(f"{prefix}ParametersTrainable", _thousands(parameters.get("trainable")))
    macros.add(f"{prefix}ParametersM", _fixed(parameters.get("total", math.nan) / 1e6, 2))
    macros.add(f"{prefix}MultiplyAddsM", _fixed(config.get("multiply_adds", math.nan) / 1e6, 1))
    for key, title, decimals in (("train_seconds", "TrainSeconds", 1), ("seconds_per_epoch", "SecondsPerEpoch", 1),
                                 ("epochs_run", "Epochs", 0), ("best_epoch", "BestEpoch", 1),
                                 ("inference_latency_ms", "Latency", 2), ("inference_throughput", "Throughput", 0)):
        macros.add(f"{prefix}{title}", _cell(table, label, key, decimals=decimals) if has else "n/a")
    macros.add(f"{prefix}Width", config.get("width", "n/a"))
    macros.add(f"{prefix}InputShape", _shape_text(config["input_shape"]) if config.get("input_shape") else "n/a")
    macros.add(f"{prefix}MinImageSize", config.get("min_image_size") or "n/a")
    macros.add(f"{prefix}Head", (config.get("model_options") or {}).get("head", "–"))
    macros.add(f"{prefix}Optimizer", OPTIMIZER_LABELS.get(config.get("optimizer"), config.get("optimizer", "n/a")))
    macros.add(f"{prefix}LearningRate", config.get("learning_rate", "n/a"))
    macros.add(f"{prefix}BatchSize", config.get("batch_size", "n/a"))
    macros.add(f"{prefix}WeightDecay", config.get("weight_decay", "n/a"))
    macros.add(f"{prefix}LabelSmoothing", config.get("label_smoothing", "n/a"))
    warmup = config.get("warmup_fraction")
    macros.add(f"{prefix}Warmup", _fixed(100 * warmup, 0) if warmup is not None else "n/a")
    macros.add(f"{prefix}PlannedEpochs", config.get("epochs", "n/a"))
    macros.add(f"{prefix}PrecisionPolicy", config.get("resolved_precision", config.get("precision", "n/a")))
    for kind in ("filters", "feature_maps", "gradcam"):
        title = "".join(part.capitalize() for part in kind.split("_"))
        path = figures_dir / f"{kind}_{name}.png"
        macros.add(f"{prefix}{title}Figure", f"figures/{path.name}" if name and path.exists() else "none",
                   raw=True)
    path = figures_dir / f"confusion_{name}.png"
    macros.add(f"{prefix}ConfusionFigure", f"figures/{path.name}" if name and path.exists() else "none", raw=True)


def _write_numbers(out_dir: Path, profile: str, runs: list[dict], table: pd.DataFrame, baseline: list[dict],
                   roles: dict, figures_dir: Path, extra: dict) -> Path:
    macros = _Macros()
    groups = group_runs(runs)
    # the data facts (input shape, augmentation, ...) are those of the VGG's runs, the report's subject
    first = groups[roles["vgg"]][0]["config"] if roles["vgg"] else runs[0]["config"]
    macros.add("ReportProfile", profile)
    macros.flag("SmokeProfile", profile == "smoke")
    macros.add("ReportDataset", first["dataset"])
    macros.add("ReportDate", datetime.date.today().isoformat())
    macros.add("NumRuns", len(runs))
    macros.add("NumModels", len(groups))
    macros.add("ModelList", ", ".join(model_label(name) for name in groups))
    macros.add("SeedList", ", ".join(str(s) for s in sorted({run["config"]["seed"] for run in runs})))
    versions, hardware = first.get("versions", {}), first.get("hardware", {})
    for key, title in (("labwork6", "Labwork"), ("tensorflow", "Tensorflow"), ("keras", "Keras"),
                       ("scikit-learn", "Sklearn"), ("python", "Python")):
        macros.add(f"Version{title}", versions.get(key, "n/a"))
    macros.add("HardwareProcessor", hardware.get("processor") or hardware.get("machine") or "n/a")
    macros.add("HardwareCpus", hardware.get("cpu_count", "n/a"))
    macros.add("HardwareGpus", ", ".join(hardware.get("gpus") or []) or "none")

    # data and standardization
    counts = first.get("counts") or {}
    macros.add("NumClasses", first.get("num_classes", "n/a"))
    macros.add("ClassNames", ", ".join(map(str, first.get("class_names", []))))
    for split, title in (("train", "Train"), ("val", "Val"), ("test", "Test")):
        macros.add(f"Num{title}", _thousands(counts.get(split)))
    macros.add("NumImages", _thousands(sum(counts.values()) if counts else None))
    macros.add("SubsampleNote", f"at most {first['subsample']} images per split" if first.get("subsample")
               else "all images")
    normalization = extra["normalization"]
    macros.add("RawShape", _shape_text(normalization.get("input_shape") or extra.get("raw_shape") or ()))
    macros.add("InputShape", _shape_text(first.get("input_shape", ())))  # the VGG's, the same as VggInputShape
    raw_side = (normalization.get("input_shape") or extra.get("raw_shape") or (None,))[0]
    for prefix, name in (("Vgg", roles["vgg"]), ("Res", roles["resnet"])):
        shape = groups[name][0]["config"].get("input_shape") if name else None
        macros.flag(f"{prefix}Upscaled", bool(shape and raw_side and int(shape[0]) > int(raw_side)))
    shapes = {tuple(groups[name][0]["config"].get("input_shape") or ()) for name in roles.values() if name}
    macros.flag("SameInputShape", len(shapes) <= 1)
    scale = normalization.get("scale")
    macros.add("PixelMax", _fixed(1 / scale, 0) if scale else "255")
    macros.add("StandardizerImages", _thousands(normalization.get("num_images")))
    macros.add("ChannelMeans", ", ".join(_fixed(m, 4) for m in normalization.get("mean", [])) or "n/a")
    macros.add("ChannelStds", ", ".join(_fixed(s, 4) for s in normalization.get("std", [])) or "n/a")
    macros.add("DatasetSource", extra.get("source", first["dataset"]))
    macros.add("Augmentation", augmentation_text(first["dataset"], first["input_shape"])
               if first.get("augment", True) and first.get("input_shape") else "none")
    macros.add("OneTestImage", _fixed(100 / counts["test"], 2) if counts.get("test") else "n/a")
    macros.add("OneValidationImage", _fixed(100 / counts["val"], 2) if counts.get("val") else "n/a")

    # the two models compared and the baseline
    macros.flag("HaveVgg", roles["vgg"] is not None)
    macros.flag("HaveResnet", roles["resnet"] is not None)
    macros.flag("HaveBaseline", bool(baseline))
    _role_macros(macros, "Vgg", roles["vgg"], table, groups, figures_dir)
    _role_macros(macros, "Res", roles["resnet"], table, groups, figures_dir)
    if baseline:
        for key, title in (("accuracy", "Accuracy"), ("precision", "Precision"), ("recall", "Recall"),
                           ("f1", "Fscore")):
            macros.add(f"Svc{title}PM", _cell(table, SVC_LABEL, key, percent=True))
        macros.add("SvcAccuracy", _fixed(100 * table.at[SVC_LABEL, "accuracy_mean"], 2))
        macros.add("SvcRuns", len(baseline))
        macros.add("SvcFitImages", _thousands(baseline[0]["fit_images"]))
        macros.add("SvcSupportVectors", _mean_std([b["support_vectors"] for b in baseline], decimals=0))
        macros.add("SvcFitSeconds", _cell(table, SVC_LABEL, "train_seconds", decimals=2))
        macros.add("SvcFeatures", _thousands(int(np.prod(baseline[0]["image_shape"]))))
        macros.add("SvcMaxTrain", _thousands(SVC_MAX_TRAIN))
    else:
        for name in ("SvcAccuracyPM", "SvcPrecisionPM", "SvcRecallPM", "SvcFscorePM", "SvcAccuracy", "SvcRuns",
                     "SvcFitImages", "SvcSupportVectors", "SvcFitSeconds", "SvcFeatures", "SvcMaxTrain"):
            macros.add(name, "n/a")

    # verdicts, so that the prose never states a result the numbers contradict
    vgg_label = model_label(roles["vgg"]) if roles["vgg"] else None
    res_label = model_label(roles["resnet"]) if roles["resnet"] else None
    if vgg_label and res_label:
        difference = 100 * (table.at[vgg_label, "accuracy_mean"] - table.at[res_label, "accuracy_mean"])
        macros.add("AccuracyGap", _fixed(abs(difference), 2))
        one_image = 100 / counts["test"] if counts.get("test") else 0.0
        if round(difference, 6) == 0:
            verdict = f"{vgg_label} and {res_label} are equally accurate"
        else:
            verdict = (f"{vgg_label if difference > 0 else res_label} is the more accurate, by "
                       f"{abs(difference):.2f} percentage points in mean accuracy")
            if abs(difference) < one_image:
                verdict += " (less than one test image)"
        macros.add("AccuracyVerdict", verdict)
        macros.add("MoreAccurate", vgg_label if difference > 0 else res_label if difference < 0 else "neither")
        macros.add("LessAccurate", res_label if difference > 0 else vgg_label if difference < 0 else "neither")
        slow = table.at[res_label, "seconds_per_epoch_mean"] / table.at[vgg_label, "seconds_per_epoch_mean"]
        macros.add("EpochTimeRatio", _fixed(slow, 1))
        # the slower model first, so the ratio reads as "times as long" (never "0.8 times as long")
        macros.add("EpochTimeVerdict", f"{res_label} took {slow:.1f} times as long as {vgg_label}" if slow >= 1
                   else f"{vgg_label} took {1 / slow:.1f} times as long as {res_label}")
        macros.add("ParameterRatio", _fixed(table.at[vgg_label, "parameters"] / table.at[res_label, "parameters"], 1))
        macros.add("MultiplyAddRatio",
                   _fixed(table.at[res_label, "multiply_adds"] / table.at[vgg_label, "multiply_adds"], 1))
        fewer = table.at[res_label, "parameters"] < table.at[vgg_label, "parameters"]
        macros.add("ResParameterWord", "fewer" if fewer else "more")
        more = table.at[res_label, "multiply_adds"] > table.at[vgg_label, "multiply_adds"]
        macros.add("ResComputeWord", "more" if more else "less")
    else:
        for name in ("AccuracyGap", "AccuracyVerdict", "MoreAccurate", "LessAccurate", "EpochTimeRatio",
                     "EpochTimeVerdict", "ParameterRatio", "MultiplyAddRatio", "ResParameterWord", "ResComputeWord"):
            macros.add(name, "n/a")
    for prefix, label in (("Vgg", vgg_label), ("Res", res_label)):
        if label and baseline:
            gap = round(float(table.at[label, "accuracy_mean"] - table.at[SVC_LABEL, "accuracy_mean"]), 9)
            macros.add(f"{prefix}VersusBaseline", "beats" if gap > 0 else "matches" if gap == 0 else "does not beat")
        else:
            macros.add(f"{prefix}VersusBaseline", "cannot be compared with")

    # architecture facts computed from the built models
    for prefix, counts_of in (("VggArch", extra.get("vgg_counts")), ("ResArch", extra.get("res_counts"))):
        for key, title in (("conv", "Conv"), ("projection", "Projections"), ("dense", "Dense"), ("pool", "Pool"),
                           ("weight_layers", "WeightLayers")):
            macros.add(f"{prefix}{title}", counts_of[key] if counts_of else "n/a")
    macros.add("ArchFormulaChecks", extra.get("formula_checks", "n/a"))
    from labwork6.models.vgg import VGG_CONFIGS, VGG_FILTERS, VGG_HEADS

    macros.add("VggBlockConvs", ", ".join(map(str, VGG_CONFIGS[19])))
    macros.add("VggBlockFilters", ", ".join(map(str, VGG_FILTERS)))
    macros.add("VggBlocks", len(VGG_FILTERS))
    macros.add("VggKernel", extra.get("vgg_kernel", "n/a"))
    macros.add("VggPoolSize", extra.get("vgg_pool", ("n/a", "n/a"))[0])
    macros.add("VggPoolStride", extra.get("vgg_pool", ("n/a", "n/a"))[1])
    from labwork6.models.resnet import RESNET_PRESETS

    resnet_preset = RESNET_PRESETS.get(roles["resnet"] or "resnet19", RESNET_PRESETS["resnet19"])
    macros.flag("ResSmallStem", resnet_preset.get("stem") == "small")
    macros.add("ResBlocksPerStage", ", ".join(str(stage.blocks) for stage in RESNET_PRESETS["resnet19"]["stages"]))
    macros.add("RefInputShape", _shape_text(REFERENCE_INPUT_SHAPE))
    macros.add("RefClasses", _thousands(REFERENCE_CLASSES))
    macros.add("VggPaperHeadUnits", _thousands(VGG_HEADS["paper"]))
    vgg = extra.get("vgg") or {}
    vgg_config = groups[roles["vgg"]][0]["config"] if roles["vgg"] else {}
    macros.flag("VggBatchNorm", bool(vgg.get("batch_norm")))
    macros.flag("VggPaperHead", (vgg_config.get("model_options") or {}).get("head", "paper") == "paper")
    macros.add("VggBnMomentum", vgg.get("bn_momentum") if vgg.get("bn_momentum") is not None else "n/a")
    macros.add("VggBnParameters", _thousands(vgg.get("bn_parameters")))
    macros.add("VggHeadUnits", _thousands(vgg.get("head_units")))
    macros.add("VggDropout", vgg.get("dropout_rate", "n/a"))
    macros.add("VggFlattenLength", _thousands(vgg.get("flatten_length")))
    macros.add("VggDenseShare", _fixed(100 * vgg["dense_share"], 0) if vgg else "n/a")
    macros.add("VggLastMap", vgg.get("last_map", "n/a"))
    resnet = extra.get("resnet") or {}
    macros.add("ResLastMap", resnet.get("last_map", "n/a"))
    macros.add("ResDownsampling", resnet.get("downsampling") or "n/a")
    # the maps the smallest allowed input leaves in the last stage (min_image_size / downsampling)
    for prefix, facts, name in (("Vgg", vgg, roles["vgg"]), ("Res", resnet, roles["resnet"])):
        minimum = groups[name][0]["config"].get("min_image_size") if name else None
        side = int(minimum) // facts["downsampling"] if minimum and facts.get("downsampling") else None
        macros.add(f"{prefix}MinMap", f"{side}×{side}" if side else "n/a")
    at_vgg_input = resnet.get("multiply_adds_at_vgg_input")
    macros.flag("ResCostAtVggInput", at_vgg_input is not None)
    macros.add("ResMultiplyAddsAtVggInputM", _fixed(at_vgg_input / 1e6, 1) if at_vgg_input else "n/a")
    vgg_adds = vgg_config.get("multiply_adds")
    macros.add("ResAtVggInputRatio", _fixed(at_vgg_input / vgg_adds, 1) if at_vgg_input and vgg_adds else "n/a")
    macros.add("VggCompactHeadUnits", _thousands(VGG_HEADS["compact"]))
    vgg_ref, res_ref = reference_counts("vgg19"), reference_counts("resnet50")
    macros.add("RefVggParameters", _thousands(vgg_ref["parameters"]["trainable"]))
    macros.add("RefVggParametersM", _fixed(vgg_ref["parameters"]["trainable"] / 1e6, 1))
    macros.add("RefVggMultiplyAddsG", _fixed(vgg_ref["multiply_adds"] / 1e9, 2))
    macros.add("RefResParameters", _thousands(res_ref["parameters"]["trainable"]))
    macros.add("RefResParametersM", _fixed(res_ref["parameters"]["trainable"] / 1e6, 1))
    macros.add("RefResNonTrainable", _thousands(res_ref["parameters"]["non_trainable"]))
    macros.add("RefResMultiplyAddsG", _fixed(res_ref["multiply_adds"] / 1e9, 2))
    macros.add("RefParameterRatio", _fixed(vgg_ref["parameters"]["trainable"] / res_ref["parameters"]["trainable"], 1))
    macros.add("RefMultiplyAddRatio", _fixed(vgg_ref["multiply_adds"] / res_ref["multiply_adds"], 1))
    macros.add("SlideVggParameters", SLIDE_VGG19_VS_RESNET50["parameters"]["vgg19"])
    macros.add("SlideResParameters", SLIDE_VGG19_VS_RESNET50["parameters"]["resnet50"])
    # the slides' dense-layer example: a 64x64x3 image into 1000 hidden units
    inputs = 64 * 64 * 3
    macros.add("BlowupSide", 64)
    macros.add("BlowupChannels", 3)
    macros.add("BlowupInputs", _thousands(inputs))
    macros.add("BlowupUnits", _thousands(1000))
    macros.add("BlowupWeights", _thousands(inputs * 1000))
    macros.add("BlowupBiases", _thousands(1000))
    path = out_dir / "numbers.tex"
    path.write_text(macros.text())
    return path


# --------------------------------------------------------------------------- entry points


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
        dataset: which dataset's runs (default: see :func:`load_runs`).
        baseline: also fit the RBF SVC baseline (:func:`svc_baseline`).

    Returns:
        The written files.

    Raises:
        FileNotFoundError: there is no completed run.
    """
    from labwork6.plots import plot_confusion_matrix, save_figure

    runs = load_runs(runs_root, profile, dataset)
    out_dir, figures_dir = Path(out_dir), Path(figures_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    groups = group_runs(runs)
    roles = primary_models(runs)

    svc = svc_baseline(runs) if baseline else []
    table = comparison_table(runs, svc)
    cost, quality = format_comparison(table)
    _write_table(cost, out_dir, "comparison_cost", written, numeric=table)
    _write_table(quality, out_dir, "comparison_metrics", written, numeric=table)
    table.to_csv(out_dir / "comparison.csv")
    written.append(out_dir / "comparison.csv")
    if svc:
        pd.DataFrame([{"seed": b["seed"], **{k: b["metrics"][k] for k in SUMMARY_KEYS},
                       "fit_seconds": b["timing"]["train_seconds"], "fit_images": b["fit_images"],
                       "support_vectors": b["support_vectors"]} for b in svc]).to_csv(
            out_dir / "svc_baseline.csv", index=False)
        written.append(out_dir / "svc_baseline.csv")

    every_run = runs_table(runs)
    _write_table(format_runs_table(every_run), out_dir, "runs", written, numeric=every_run.set_index(["model", "seed"]))

    classes = per_class_table(runs)
    shown_models = [name for name in (roles["vgg"], roles["resnet"]) if name]
    per_class = format_per_class(classes, shown_models)
    long_list = len(per_class) > 25
    _write_table(per_class, out_dir, "per_class", written, numeric=classes, longtable=long_list,
                 caption="Per-class precision, recall and F1 on the test split (\\%, mean $\\pm$ std over seeds)."
                 if long_list else None, label="tab:per-class" if long_list else None)

    _write_table(vgg_vs_resnet50_table(), out_dir, "vgg_vs_resnet50", written,
                 column_format="".join(f">{{\\raggedright\\arraybackslash}}p{{{width}cm}}"
                                       for width in (2.2, 1.4, 2.0, 2.1, 2.6, 3.4)))

    extra: dict = {"normalization": {}}
    if roles["vgg"]:
        model = model_for_run(groups[roles["vgg"]][0])
        architecture = architecture_table(model)
        # VGG19-BN has 42 rows, which fit one page in the report's float
        _write_table(architecture, out_dir, "architecture", written, longtable=len(architecture) > 50,
                     column_format="llrrrrrrrrrr")
        extra["vgg_counts"] = layer_counts(layer_table(model))
        conv_rows = layer_table(model)
        conv_rows = conv_rows[conv_rows["type"] == "Conv2D"]
        agree = (conv_rows["formula_parameters"].astype(int) == conv_rows["parameters"]).all() and all(
            tuple(a) == tuple(b) for a, b in zip(conv_rows["formula_output_shape"], conv_rows["output_shape"],
                                                 strict=True))
        extra["formula_checks"] = f"all {len(conv_rows)}" if agree else "not all"
        extra["vgg_kernel"] = f"{int(conv_rows['F'].iloc[0])}×{int(conv_rows['F'].iloc[0])}"
        pool = next(layer for layer in model.layers if type(layer).__name__ == "MaxPooling2D")
        extra["vgg_pool"] = (f"{pool.pool_size[0]}×{pool.pool_size[1]}", pool.strides[0])
        extra["vgg"] = vgg_facts(model)
        del model
    if roles["resnet"]:
        resnet_run = groups[roles["resnet"]][0]
        model = model_for_run(resnet_run)
        _write_table(resnet_stages_table(model), out_dir, "resnet_stages", written)
        extra["resnet"] = resnet_facts(model)
        if roles["vgg"]:
            vgg_shape = groups[roles["vgg"]][0]["config"]["input_shape"]
            if list(vgg_shape) != list(resnet_run["config"]["input_shape"]):
                # what the ResNet would cost at the VGG's input: why it runs on smaller images
                at_vgg_input = model_for_run(resnet_run, input_shape=vgg_shape)
                extra["resnet"]["multiply_adds_at_vgg_input"] = int(layer_table(at_vgg_input).iloc[-1]["multiply_adds"])
                del at_vgg_input
    else:  # the prose still describes ResNet19; its layer counts do not depend on the width
        model = get_model("resnet19", input_shape=(32, 32, 3), num_classes=10, width=0.125)
    extra["res_counts"] = layer_counts(layer_table(model))
    del model

    recipe = recipe_table(runs)
    _write_table(recipe, out_dir, "recipe", written, column_format="l" * (recipe.shape[1] + 1))
    class_counts = svc[0]["counts"] if svc else None
    _write_table(data_table(runs, class_counts), out_dir, "data", written)
    # the data facts of the prose (raw shape, standardization) are those of the VGG's runs
    data_run = groups[roles["vgg"]][0] if roles["vgg"] else runs[0]
    normalization = Path(data_run["run_dir"]) / "normalization.json"
    if normalization.exists():
        extra["normalization"] = json.loads(normalization.read_text())
    if svc:
        extra["raw_shape"] = svc[0]["image_shape"]
        extra["source"] = svc[0]["source"]

    import matplotlib.pyplot as plt

    figure = plot_training_curves(runs)
    written.extend(save_figure(figure, figures_dir / "training_curves.png", pdf=True))
    plt.close(figure)
    for name, group in groups.items():
        matrix = summed_confusion_matrix(group)
        seeds = f"{len(group)} seed{'s' if len(group) > 1 else ''}"
        figure = plot_confusion_matrix(matrix, title=f"{model_label(name)}: test split, summed over {seeds}")
        written.extend(save_figure(figure, figures_dir / f"confusion_{name}.png"))
        plt.close(figure)

    written.append(_write_numbers(out_dir, profile, runs, table, svc, roles, figures_dir, extra))
    return written


def build_pdf(report_dir="report") -> Path:
    """Compile ``report_dir/Report.6.CNN.tex`` with latexmk (pdflatex) and return the PDF.

    Raises:
        TexNotFoundError: latexmk or pdflatex is missing (the message says how to install).
        FileNotFoundError: the .tex or its generated inputs are missing.
        LatexError: LaTeX failed; the message ends with the log's last lines.
    """
    report_dir = Path(report_dir)
    source = report_dir / REPORT_NAME
    if not source.exists():
        raise FileNotFoundError(f"No {REPORT_NAME} in '{report_dir.resolve()}'.")
    if not (report_dir / "generated" / "numbers.tex").exists():
        raise FileNotFoundError(
            f"The generated report inputs are missing ({report_dir / 'generated'}/numbers.tex). Write them first: "
            "`python -m labwork6 report --profile PROFILE` or labwork6.report.write_report_inputs().")
    missing = [tool for tool in ("latexmk", "pdflatex") if shutil.which(tool) is None]
    if missing:
        raise TexNotFoundError(f"Cannot build the PDF report: {' and '.join(missing)} not found. {TEX_INSTALL_HINT}")
    command = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", REPORT_NAME]
    result = subprocess.run(command, cwd=report_dir, capture_output=True, text=True)
    pdf = report_dir / REPORT_NAME.replace(".tex", ".pdf")
    if result.returncode != 0 or not pdf.exists():
        log = report_dir / REPORT_NAME.replace(".tex", ".log")
        text = log.read_text(errors="replace") if log.exists() else result.stdout + result.stderr
        tail = "\n".join(text.splitlines()[-40:])
        raise LatexError(f"latexmk failed on {source} (exit {result.returncode}). End of the log:\n{tail}")
    return pdf


def report_summary(written: Iterable[Path]) -> pd.DataFrame:
    """The written files by kind and folder, for a notebook to show."""
    frame = pd.DataFrame({"file": [Path(p).name for p in written], "folder": [str(Path(p).parent) for p in written]})
    return frame.sort_values(["folder", "file"]).reset_index(drop=True)


__all__ = [
    "LatexError", "MODEL_LABELS", "SVC_LABEL", "TexNotFoundError", "architecture_table", "build_pdf",
    "comparison_table", "data_table", "format_comparison", "format_per_class", "format_runs_table", "group_runs",
    "layer_counts", "load_runs", "model_for_run", "model_label", "per_class_table", "plot_training_curves",
    "primary_models", "recipe_table", "reference_counts", "report_summary", "resnet_stages_table", "runs_table",
    "summed_confusion_matrix", "svc_baseline", "table_to_latex", "tex_escape", "vgg_vs_resnet50_table",
    "write_report_inputs",
]
