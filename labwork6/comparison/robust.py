"""Robustness side by side: accuracy under corrupted test images, per model, corruption type and pair.

Every run folder holds ``robustness.csv`` and ``robustness_predictions.csv``
(:mod:`labwork6.robustness`: a stratified subset of its test fold under every corruption at the
profile's severities, seeded by the run's seed, so all models of a fold, the SVC included, see
the same corrupted images). A repetition's folds score disjoint images, so their rows pool:

- :func:`robustness_frames`: per model, every (corruption, severity) pooled over the folds of its
  first repetition, with Wilson intervals (each image once per row);
- :func:`corruption_summary`: per model and corruption type the mean accuracy over the
  severities, with a bootstrap interval over the images (each image resampled with all its
  corrupted versions), each type's ranking of the models, and the unweighted mean over the
  types as one summary among them;
- :func:`paired_robustness`: per pair and type, the difference of those means on the same images,
  with a paired bootstrap interval;
- :func:`mean_corruption_table`: per repetition, the clean and the mean corruption accuracy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from labwork6.comparison.loading import (
    ALPHA,
    BASELINE_MODEL,
    N_RESAMPLES,
    group_runs,
    model_label,
    repetitions,
)
from labwork6.comparison.paired import compared_pairs
from labwork6.latex import MISSING_CELL, format_interval, percent_decimals
from labwork6.robustness import ROBUSTNESS_FILE, ROBUSTNESS_PREDICTIONS, mean_corruption_accuracy, read_robustness
from labwork6.stats import accuracy_interval

#: How the summary over corruption types is named in tables.
MEAN_ROW = "mean"


def run_robustness(run: dict) -> pd.DataFrame | None:
    """A run's ``robustness.csv`` (:func:`labwork6.robustness.read_robustness`), None without one."""
    return read_robustness(run["run_dir"]) if (Path(run["run_dir"]) / ROBUSTNESS_FILE).exists() else None


def pooled_robustness(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Robustness tables of disjoint image sets (a repetition's folds) as one: per (corruption,
    severity) the right answers and images summed, the accuracy and its Wilson 95% interval."""
    frame = pd.concat(tables).groupby(["corruption", "severity"], sort=False)[["correct", "total"]].sum()
    frame = frame.reset_index()
    frame["accuracy"] = frame["correct"] / frame["total"]
    bounds = [accuracy_interval(int(c), int(n), level=1 - ALPHA) for c, n in zip(frame["correct"], frame["total"],
                                                                                  strict=True)]
    frame["accuracy_low"], frame["accuracy_high"] = zip(*bounds, strict=True)
    return frame


def _models(runs, baseline) -> dict[str, dict[int, list[dict]]]:
    found = repetitions(runs, baseline)
    order = [*group_runs(runs), *([BASELINE_MODEL] if baseline else [])]
    return {name: found[name] for name in order if name in found}


def robustness_frames(runs: Iterable[dict], baseline: Sequence[dict] = ()) -> dict[str, pd.DataFrame]:
    """``{model label: pooled robustness table}`` of every model with ``robustness.csv`` files: its
    first repetition's folds pooled (:func:`pooled_robustness`; other seeds score the same images
    again and are not added), networks first, then the SVC."""
    frames = {}
    for name, seeds in _models(list(runs), list(baseline)).items():
        group = seeds[min(seeds)]
        tables = [table for table in map(run_robustness, group) if table is not None]
        if len(tables) == len(group):
            frames[model_label(name)] = pooled_robustness(tables)
    return frames


def corrupted_predictions(run: dict) -> pd.DataFrame | None:
    """A run's ``robustness_predictions.csv``: each scored image's label under every row of its
    ``robustness.csv`` (columns ``corruption``, ``severity``, ``image``, ``label``, ``prediction``);
    None when the run has none or an older one without image ids."""
    path = Path(run["run_dir"]) / ROBUSTNESS_PREDICTIONS
    if not path.exists():
        return None
    frame = pd.read_csv(path)
    return frame if {"image", "label"} <= set(frame.columns) else None


def image_shares(group: Sequence[dict]) -> pd.DataFrame | None:
    """Per scored image of a repetition (its folds pooled), the share of its corrupted versions
    classified right for each corruption type (columns: the corruptions, then :data:`MEAN_ROW`, the
    unweighted mean over the types), and ``clean`` (right on the clean image); None when a fold
    lacks the per-image predictions."""
    frames = [corrupted_predictions(run) for run in group]
    if any(frame is None for frame in frames):
        return None
    long = pd.concat(frames, ignore_index=True)
    long["right"] = (long["prediction"] == long["label"]).astype(float)
    clean = long[long["severity"] == 0].set_index("image")["right"]
    if clean.index.duplicated().any():
        raise ValueError(f"An image is scored under corruption by two folds of {group[0]['run_dir']}'s repetition: "
                         "the folds' test images must be disjoint.")
    corrupted = long[long["severity"] >= 1]
    shares = corrupted.pivot_table(index="image", columns="corruption", values="right", aggfunc="mean", sort=False)
    shares = shares[list(dict.fromkeys(corrupted["corruption"]))]
    shares[MEAN_ROW] = shares.mean(axis=1)
    shares["clean"] = clean.reindex(shares.index)
    return shares.sort_index()


def _bootstrap(values: np.ndarray, seed: int) -> tuple[float, float]:
    if np.all(values == values[0]):
        return float(values[0]), float(values[0])
    interval = bootstrap((values,), np.mean, n_resamples=N_RESAMPLES, confidence_level=1 - ALPHA,
                         method="percentile", rng=np.random.default_rng(seed)).confidence_interval
    return float(interval.low), float(interval.high)


def corruption_summary(runs: Iterable[dict], baseline: Sequence[dict] = ()) -> pd.DataFrame:
    """Per model (first repetition) and corruption type: ``accuracy`` (the mean over the
    severities scored, of the pooled images), its 95% percentile bootstrap interval over the images
    (``low``, ``high``; each image resampled with all its versions), ``images`` and ``rank`` (1 =
    the most accurate model on that type; ties share a rank); the row :data:`MEAN_ROW` is the
    unweighted mean over the types, one summary among them, and ``clean`` the scored images
    uncorrupted."""
    rows = []
    for name, seeds in _models(list(runs), list(baseline)).items():
        seed = min(seeds)
        shares = image_shares(seeds[seed])
        if shares is None:
            continue
        for column in shares.columns:
            values = shares[column].to_numpy(float)
            low, high = _bootstrap(values, seed)
            rows.append({"model": name, "seed": seed, "corruption": column, "accuracy": float(values.mean()),
                         "low": low, "high": high, "images": len(values)})
    frame = pd.DataFrame(rows, columns=["model", "seed", "corruption", "accuracy", "low", "high", "images"])
    frame["rank"] = frame.groupby("corruption")["accuracy"].rank(ascending=False, method="min").astype(int) \
        if not frame.empty else pd.Series(dtype=int)
    return frame


def paired_robustness(runs: Iterable[dict], baseline: Sequence[dict] = (), alpha: float = ALPHA) -> pd.DataFrame:
    """For every pair of :func:`compared_pairs` and repetition (seed), per corruption type (and
    :data:`MEAN_ROW`, the unweighted mean over the types): the difference of the two models' mean
    accuracies over the severities on the same images, with a percentile bootstrap interval (level
    ``1 - alpha``) over the images, each resampled with all its corrupted versions for both models
    at once. Columns: ``model_a``, ``model_b``, ``seed``, ``corruption``, ``difference``, ``low``,
    ``high``, ``n`` (images), ``significant`` (the interval excludes 0)."""
    runs, baseline = list(runs), list(baseline)
    found, rows = repetitions(runs, baseline), []
    for first, second in compared_pairs(runs, baseline):
        for seed in sorted(found.get(first, {}).keys() & found.get(second, {}).keys()):
            shares_a, shares_b = image_shares(found[first][seed]), image_shares(found[second][seed])
            if shares_a is None or shares_b is None:
                continue
            if not shares_a.index.equals(shares_b.index):
                print(f"[labwork6] warning: {model_label(first)} and {model_label(second)} (seed {seed}) were not "
                      "scored on the same corrupted images; left out of the paired robustness tests.")
                continue
            for corruption in [c for c in shares_a.columns if c != "clean"]:
                per_image = (shares_a[corruption] - shares_b[corruption]).to_numpy(float)
                low, high = _bootstrap(per_image, seed)
                rows.append({"model_a": first, "model_b": second, "seed": seed, "corruption": corruption,
                             "difference": float(per_image.mean()), "low": low, "high": high, "n": len(per_image),
                             "significant": bool(low > 0 or high < 0)})
    return pd.DataFrame(rows, columns=["model_a", "model_b", "seed", "corruption", "difference", "low", "high", "n",
                                       "significant"])


def mean_corruption_table(runs: Iterable[dict], baseline: Sequence[dict] = ()) -> pd.DataFrame:
    """Per repetition with robustness files (its folds pooled): ``model``, ``seed``, ``clean``
    (accuracy on the scored images uncorrupted), ``mean_corruption``
    (:func:`labwork6.robustness.mean_corruption_accuracy` of the pooled table) and ``images``."""
    rows = []
    for name, seeds in _models(list(runs), list(baseline)).items():
        for seed, group in seeds.items():
            tables = [table for table in map(run_robustness, group) if table is not None]
            if len(tables) != len(group):
                continue
            table = pooled_robustness(tables)
            clean = table[table["severity"] == 0]
            rows.append({"model": name, "seed": seed,
                         "clean": float(clean["accuracy"].iloc[0]) if len(clean) else np.nan,
                         "mean_corruption": mean_corruption_accuracy(table),
                         "images": int(clean["total"].iloc[0]) if len(clean) else 0})
    return pd.DataFrame(rows, columns=["model", "seed", "clean", "mean_corruption", "images"])


def format_robustness(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`robustness_frames` for reading: one row per (corruption, severity), the clean
    images first and the mean over the corrupted ones last; per model the accuracy in % with
    its Wilson 95% interval (on the scored images of every fold together)."""
    columns = {}
    for label, frame in frames.items():
        decimals = percent_decimals(int(frame["total"].min()))
        cells = {(corruption.replace("_", " ") if severity else "clean", str(severity) if severity else "–"):
                 format_interval(accuracy, low, high, decimals)
                 for corruption, severity, accuracy, low, high in frame[
                     ["corruption", "severity", "accuracy", "accuracy_low", "accuracy_high"]].itertuples(index=False)}
        corrupted = frame[frame["severity"] >= 1]
        severities = sorted(int(s) for s in corrupted["severity"].unique())
        cells[("mean of the corrupted", ", ".join(map(str, severities)))] = \
            f"{100 * corrupted['accuracy'].mean():.{decimals}f}"
        columns[label] = cells
    table = pd.DataFrame(columns).fillna(MISSING_CELL)
    table.index.names = ["Corruption", "Severity"]
    return table


def format_corruption_summary(summary: pd.DataFrame, pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`corruption_summary` for reading: one row per corruption type (then the mean over the
    types, then the clean images), per model the accuracy in % with its interval and its rank on
    that type in parentheses; with ``pairs`` (:func:`paired_robustness`), per pair of its first
    seed the difference (first minus second) in percentage points with its interval."""
    if summary.empty:
        return pd.DataFrame()
    decimals = percent_decimals(int(summary["images"].min()))
    order = list(dict.fromkeys(summary["corruption"]))
    columns = {}
    for name, part in summary.groupby("model", sort=False):
        part = part.set_index("corruption")
        columns[(model_label(name), "accuracy (rank)")] = {
            corruption: f"{format_interval(*part.loc[corruption, ['accuracy', 'low', 'high']], decimals)} "
                        f"({int(part.loc[corruption, 'rank'])})" for corruption in order if corruption in part.index}
    if pairs is not None and not pairs.empty:
        first_seed = pairs[pairs["seed"] == pairs["seed"].min()]
        for (first, second), part in first_seed.groupby(["model_a", "model_b"], sort=False):
            part = part.set_index("corruption")
            title = f"{'SVC' if first == BASELINE_MODEL else model_label(first)} vs " \
                    f"{'SVC' if second == BASELINE_MODEL else model_label(second)}"
            columns[(title, "difference (pp)")] = {
                corruption: format_interval(*part.loc[corruption, ["difference", "low", "high"]], decimals)
                for corruption in order if corruption in part.index}
    table = pd.DataFrame(columns).reindex(order).fillna(MISSING_CELL)
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    table.index = [name.replace("_", " ") if name not in (MEAN_ROW, "clean") else
                   ("mean over the types" if name == MEAN_ROW else "clean (scored images)") for name in table.index]
    table.index.name = "Corruption"
    return table
