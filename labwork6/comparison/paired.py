"""Paired tests: two models on the same test images, per seed, and the words that follow.

:func:`paired_comparisons` runs :func:`labwork6.stats.compare` (McNemar's exact test and the
bootstrap interval of the accuracy difference) for every pair of :func:`compared_pairs` and
seed (a seed fixes the split, so both models of a pair saw the same images);
:func:`pair_verdict` turns a pair's rows into the report's verdict, conservatively over seeds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from labwork6.comparison.loading import (
    ALPHA,
    BASELINE_MODEL,
    primary_models,
    prose_label,
    runs_by_seed,
    short_label,
    test_predictions,
)
from labwork6.latex import MISSING_CELL, format_interval, percent_decimals
from labwork6.stats import compare


def compared_pairs(runs: Iterable[dict], baseline: Sequence[dict] = ()) -> list[tuple[str, str]]:
    """The pairs the report tests: the compared VGG against the compared ResNet, and each
    against the SVC baseline (those whose runs exist)."""
    roles = primary_models(runs)
    names = [name for name in (roles["vgg"], roles["resnet"], BASELINE_MODEL if baseline else None) if name]
    return [(first, second) for index, first in enumerate(names) for second in names[index + 1:]]


def same_images(first: dict, second: dict, y_first, y_second) -> bool:
    """True when two runs were tested on the same images (their labels agree); else a warning."""
    if len(y_first) == len(y_second) and np.array_equal(y_first, y_second):
        return True
    print(f"[labwork6] warning: {first['run_dir']} and {second['run_dir']} were not tested on the same images; "
          "they are left out of the paired comparison.")
    return False


def paired_comparisons(runs: Iterable[dict], baseline: Sequence[dict] = (), alpha: float = ALPHA) -> pd.DataFrame:
    """McNemar's exact test and the bootstrap interval of the accuracy difference for every
    pair of :func:`compared_pairs`, per seed (a seed fixes the split, so both models of a row
    saw the same test images): one row per (pair, seed) with ``model_a``, ``model_b``,
    ``seed`` and the keys of :func:`labwork6.stats.compare` (names: :func:`prose_label`)."""
    runs = list(runs)
    by_seed = runs_by_seed(runs, baseline)
    rows = []
    for first, second in compared_pairs(runs, baseline):
        for seed in sorted(by_seed[first].keys() & by_seed[second].keys()):
            run_a, run_b = by_seed[first][seed], by_seed[second][seed]
            (y_true, pred_a), (y_other, pred_b) = test_predictions(run_a), test_predictions(run_b)
            if same_images(run_a, run_b, y_true, y_other):
                rows.append({"model_a": first, "model_b": second, "seed": seed,
                             **compare(y_true, pred_a, pred_b, prose_label(first), prose_label(second), alpha)})
    return pd.DataFrame(rows)


def pair_verdict(rows: pd.DataFrame, alpha: float = ALPHA) -> dict:
    """The report's words for one pair over its seeds (rows of :func:`paired_comparisons`).

    One seed: the verdict of :func:`labwork6.stats.compare`. Several: a model is "more
    accurate" only when McNemar's test is significant at ``alpha`` in every seed, each time in
    its favour; otherwise the two "cannot be told apart". Returns ``verdict``, ``better`` (the
    more accurate model's name or None), ``significant_seeds``, ``seeds``, ``test_images``.
    """
    first, second = rows["name_a"].iloc[0], rows["name_b"].iloc[0]
    significant = rows["p_value"] < alpha
    wins = {first: int((significant & (rows["a_only"] > rows["b_only"])).sum()),
            second: int((significant & (rows["b_only"] > rows["a_only"])).sum())}
    seeds, images = len(rows), int(rows["n"].min())
    better = next((name for name, count in wins.items() if count == seeds), None)
    if seeds == 1:
        verdict = rows["verdict"].iloc[0]
    elif better:
        worse = second if better == first else first
        verdict = f"{better} is more accurate than {worse} (significant in each of the {seeds} seeds)"
    else:
        verdict = (f"{first} and {second} cannot be told apart on {images} test images (the difference is "
                   f"significant in {sum(wins.values())} of the {seeds} seeds)")
    return {"verdict": verdict, "better": better, "significant_seeds": sum(wins.values()), "seeds": seeds,
            "test_images": images}


def format_paired(paired: pd.DataFrame, robust: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`paired_comparisons` for reading: per pair and seed the images only the first or only
    the second model got right, those both got wrong, McNemar's p and the accuracy difference
    (first minus second, percentage points, 95% interval); with ``robust``
    (:func:`labwork6.comparison.paired_robustness`), also the difference of the mean accuracy
    on the corrupted images."""
    decimals = percent_decimals(int(paired["n"].min()))
    rows = {}
    for _, row in paired.iterrows():
        key = (f"{short_label(row['model_a'])} vs {short_label(row['model_b'])}", int(row["seed"]))
        rows[key] = {("Right only", "first"): int(row["a_only"]), ("Right only", "second"): int(row["b_only"]),
                     ("Both", "wrong"): int(row["both_wrong"]), ("McNemar", "p"): f"{row['p_value']:.2g}",
                     ("Difference (pp)", "accuracy"): format_interval(
                         row["difference"], row["difference_low"], row["difference_high"], decimals)}
        if robust is not None and not robust.empty:
            match = robust[(robust["model_a"] == row["model_a"]) & (robust["model_b"] == row["model_b"])
                           & (robust["seed"] == row["seed"])]
            rows[key][("Difference (pp)", "corrupted")] = MISSING_CELL if match.empty else format_interval(
                *match.iloc[0][["difference", "low", "high"]], decimals)
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["Pair (first vs second)", "Seed"])
    return frame
