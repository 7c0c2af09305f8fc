"""Robustness side by side: accuracy under corrupted test images, per model and pair.

Every run folder holds ``robustness.csv`` (:mod:`labwork6.robustness`: the test images under
seven corruptions at five severities, seeded by the run's seed, so all models of a seed see the
same damaged images). :func:`robustness_frames` pools each model's seeds,
:func:`mean_corruption_table` gives the headline number per run, and :func:`paired_robustness`
tests two models on the same corrupted images.
"""

from __future__ import annotations

import functools
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
    runs_by_seed,
    test_predictions,
)
from labwork6.comparison.paired import compared_pairs, same_images
from labwork6.latex import MISSING_CELL, format_interval, percent_decimals
from labwork6.metrics import labels_from_probabilities
from labwork6.robustness import (
    ROBUSTNESS_FILE,
    ROBUSTNESS_PREDICTIONS,
    mean_corruption_accuracy,
    read_robustness,
    robustness_predictions,
)
from labwork6.stats import accuracy_interval


def run_robustness(run: dict) -> pd.DataFrame | None:
    """A run's ``robustness.csv`` (:func:`labwork6.robustness.read_robustness`), None without one."""
    return read_robustness(run["run_dir"]) if (Path(run["run_dir"]) / ROBUSTNESS_FILE).exists() else None


def pooled_robustness(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Robustness tables of one model's seeds as one: per (corruption, severity) the right
    answers and images summed over the seeds, the accuracy and its Wilson 95% interval."""
    frame = pd.concat(tables).groupby(["corruption", "severity"], sort=False)[["correct", "total"]].sum()
    frame = frame.reset_index()
    frame["accuracy"] = frame["correct"] / frame["total"]
    bounds = [accuracy_interval(int(c), int(n), level=1 - ALPHA) for c, n in zip(frame["correct"], frame["total"],
                                                                                  strict=True)]
    frame["accuracy_low"], frame["accuracy_high"] = zip(*bounds, strict=True)
    return frame


def robustness_frames(runs: Iterable[dict], baseline: Sequence[dict] = ()) -> dict[str, pd.DataFrame]:
    """``{model label: pooled robustness table}`` of every model with ``robustness.csv`` files
    (:func:`pooled_robustness` over its seeds), networks first, then the SVC."""
    frames = {}
    for name, group in [*group_runs(runs).items(), *([(BASELINE_MODEL, list(baseline))] if baseline else [])]:
        tables = [table for table in map(run_robustness, group) if table is not None]
        if tables:
            frames[model_label(name)] = pooled_robustness(tables)
    return frames


def corrupted_predictions(run: dict) -> pd.DataFrame | None:
    """Each test image's predicted label under every corruption of the run's
    ``robustness.csv`` (columns ``corruption``, ``severity``, ``index``, ``prediction``).

    Read from ``robustness_predictions.csv`` where the run wrote one (the SVC does); otherwise
    recomputed with the run's ``model.keras`` on the same corrupted images (the run's seed),
    once per process. None when neither is there, or when the recomputed right answers differ
    from ``robustness.csv`` (the model or the data changed).
    """
    run_dir = Path(run["run_dir"])
    stamps = tuple(path.stat().st_mtime_ns if path.exists() else 0
                   for path in (run_dir / ROBUSTNESS_FILE, run_dir / ROBUSTNESS_PREDICTIONS, run_dir / "model.keras"))
    return _corrupted_predictions(str(run_dir), stamps)


@functools.lru_cache(maxsize=64)
def _corrupted_predictions(run_dir: str, stamps: tuple[int, ...]) -> pd.DataFrame | None:
    run_dir = Path(run_dir)
    table_stamp, stored_stamp, model_stamp = stamps
    if not table_stamp:
        return None
    if stored_stamp:
        return pd.read_csv(run_dir / ROBUSTNESS_PREDICTIONS)
    if not model_stamp:
        return None
    from labwork6.evaluate import load_test_split, load_trained

    try:
        model, config = load_trained(run_dir)
        data, _ = load_test_split(run_dir)
    except (ValueError, FileNotFoundError) as error:  # an older run format, or a changed split
        print(f"[labwork6] warning: {run_dir} left out of the paired robustness tests: {error}")
        return None
    stored = read_robustness(run_dir)
    corrupted = stored[stored["severity"] >= 1]
    # As training scored them (the same calls, batches of 256), so that the labels come out the same.
    table, long = robustness_predictions(
        lambda images: labels_from_probabilities(model.predict(images, batch_size=256, verbose=0)),
        data.test.images, data.test.labels, seed=int(config["seed"]),
        corruptions=list(corrupted["corruption"].unique()), severities=[int(s) for s in corrupted["severity"].unique()])
    if not table[["corruption", "severity", "correct"]].equals(stored[["corruption", "severity", "correct"]]):
        print(f"[labwork6] warning: {run_dir / 'model.keras'} does not reproduce its robustness.csv; "
              "its robustness is left out of the paired tests.")
        return None
    return long


def _mean_corrupted_correct(run: dict) -> np.ndarray | None:
    """Per test image, the share of its corrupted versions (severity >= 1) classified right."""
    predictions = corrupted_predictions(run)
    if predictions is None:
        return None
    labels, _ = test_predictions(run)
    corrupted = predictions[predictions["severity"] >= 1]
    right = corrupted["prediction"].to_numpy() == labels[corrupted["index"].to_numpy()]
    return np.bincount(corrupted["index"], weights=right, minlength=len(labels)) / np.bincount(
        corrupted["index"], minlength=len(labels))


def paired_robustness(runs: Iterable[dict], baseline: Sequence[dict] = (), alpha: float = ALPHA) -> pd.DataFrame:
    """The difference of the mean corruption accuracy for every pair of :func:`compared_pairs`
    and seed, with a percentile bootstrap interval (level ``1 - alpha``) over the test images:
    each image is resampled with all its corrupted versions, for both models at once.
    Columns: ``model_a``, ``model_b``, ``seed``, ``difference``, ``low``, ``high``, ``n``
    (test images), ``significant`` (the interval excludes 0)."""
    runs = list(runs)
    by_seed, rows = runs_by_seed(runs, baseline), []
    for first, second in compared_pairs(runs, baseline):
        for seed in sorted(by_seed[first].keys() & by_seed[second].keys()):
            run_a, run_b = by_seed[first][seed], by_seed[second][seed]
            if not same_images(run_a, run_b, test_predictions(run_a)[0], test_predictions(run_b)[0]):
                continue
            share_a, share_b = _mean_corrupted_correct(run_a), _mean_corrupted_correct(run_b)
            if share_a is None or share_b is None:
                continue
            per_image = share_a - share_b
            interval = bootstrap((per_image,), np.mean, n_resamples=N_RESAMPLES, confidence_level=1 - alpha,
                                 method="percentile", rng=np.random.default_rng(seed)).confidence_interval
            rows.append({"model_a": first, "model_b": second, "seed": seed, "difference": float(per_image.mean()),
                         "low": float(interval.low), "high": float(interval.high), "n": len(per_image),
                         "significant": bool(interval.low > 0 or interval.high < 0)})
    return pd.DataFrame(rows, columns=["model_a", "model_b", "seed", "difference", "low", "high", "n",
                                       "significant"])


def mean_corruption_table(runs: Iterable[dict], baseline: Sequence[dict] = ()) -> pd.DataFrame:
    """Per run with ``robustness.csv``: ``model``, ``seed``, ``clean`` (accuracy on the clean
    test images) and ``mean_corruption`` (:func:`labwork6.robustness.mean_corruption_accuracy`)."""
    rows = []
    for run in [*runs, *baseline]:
        table = run_robustness(run)
        if table is not None:
            clean = table[table["severity"] == 0]
            rows.append({"model": run["config"]["model"], "seed": int(run["config"]["seed"]),
                         "clean": float(clean["accuracy"].iloc[0]) if len(clean) else np.nan,
                         "mean_corruption": mean_corruption_accuracy(table)})
    return pd.DataFrame(rows, columns=["model", "seed", "clean", "mean_corruption"])


def format_robustness(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`robustness_frames` for reading: one row per (corruption, severity), the clean
    images first and the mean over the corrupted ones last; per model the accuracy in % with
    its Wilson 95% interval (on the images of every seed together)."""
    columns = {}
    for label, frame in frames.items():
        decimals = percent_decimals(int(frame["total"].min()))
        cells = {(corruption.replace("_", " ") if severity else "clean", str(severity) if severity else "–"):
                 format_interval(accuracy, low, high, decimals)
                 for corruption, severity, accuracy, low, high in frame[
                     ["corruption", "severity", "accuracy", "accuracy_low", "accuracy_high"]].itertuples(index=False)}
        corrupted = frame[frame["severity"] >= 1]
        cells[("mean of the corrupted", "1–5")] = f"{100 * corrupted['accuracy'].mean():.{decimals}f}"
        columns[label] = cells
    table = pd.DataFrame(columns).fillna(MISSING_CELL)
    table.index.names = ["Corruption", "Severity"]
    return table
