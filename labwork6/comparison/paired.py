"""Paired tests: two models on the same test images, pooled over a repetition's folds, and the words that follow.

In a k-fold cross-validation every image is tested once per model, by the run whose test fold
holds it, so two models' pooled predictions are one pair per image: McNemar's exact test on all
of them is valid (the images are independent pairs), and the per-fold rows show how much the
folds differ (:func:`labwork6.stats.paired_over_folds`). :func:`paired_comparisons` does it for
every pair of :func:`compared_pairs` and repetition (seed); :func:`pair_verdict` turns a pair's
pooled rows into the report's verdict, with its evidence: the test, p, the discordant images and
the smallest difference the test could have detected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from labwork6.comparison.loading import (
    ALPHA,
    BASELINE_MODEL,
    pooled_runs,
    primary_models,
    prose_label,
    repetitions,
    short_label,
)
from labwork6.latex import MISSING_CELL, format_interval, percent_decimals, thousands
from labwork6.stats import paired_over_folds

#: The power at which the minimum detectable difference is given.
POWER = 0.8


def compared_pairs(runs: Iterable[dict], baseline: Sequence[dict] = ()) -> list[tuple[str, str]]:
    """The pairs the report tests: the compared VGG against the compared ResNet, and each
    against the SVC baseline (those whose runs exist)."""
    roles = primary_models(runs)
    names = [name for name in (roles["vgg"], roles["resnet"], BASELINE_MODEL if baseline else None) if name]
    return [(first, second) for index, first in enumerate(names) for second in names[index + 1:]]


def paired_frame(group_a: Sequence[dict], group_b: Sequence[dict]) -> pd.DataFrame | None:
    """Two repetitions' pooled predictions side by side, one row per image (columns ``image``,
    ``fold``, ``label``, ``prediction_a``, ``prediction_b``); None, with a printed warning, when
    they were not tested on the same images in the same folds."""
    first, second = pooled_runs(group_a), pooled_runs(group_b)
    same = (len(first) == len(second) and (first["image"].to_numpy() == second["image"].to_numpy()).all()
            and (first["label"].to_numpy() == second["label"].to_numpy()).all()
            and (first["fold"].to_numpy() == second["fold"].to_numpy()).all())
    if not same:
        print(f"[labwork6] warning: {group_a[0]['run_dir']} and {group_b[0]['run_dir']} (and their other folds) were "
              "not tested on the same images in the same folds; they are left out of the paired comparison.")
        return None
    return first.rename(columns={"prediction": "prediction_a"}).assign(prediction_b=second["prediction"].to_numpy())


def paired_comparisons(runs: Iterable[dict], baseline: Sequence[dict] = (), alpha: float = ALPHA,
                       power: float = POWER) -> pd.DataFrame:
    """:func:`labwork6.stats.paired_over_folds` for every pair of :func:`compared_pairs` and
    repetition (seed): per fold and pooled over the folds, McNemar's exact p, the discordant
    images, the smallest reachable p, the minimum detectable difference (level ``alpha``,
    ``power``) and Newcombe's interval of the accuracy difference.

    Returns one row per (pair, seed, fold) with ``model_a``, ``model_b``, ``name_a``, ``name_b``
    (:func:`prose_label`), ``seed``, ``fold`` (an int, or ``"pooled"``; a holdout run has only the
    pooled row) and the keys of :func:`labwork6.stats.paired_summary`.
    """
    runs = list(runs)
    found = repetitions(runs, baseline)
    rows = []
    for first, second in compared_pairs(runs, baseline):
        for seed in sorted(found.get(first, {}).keys() & found.get(second, {}).keys()):
            frame = paired_frame(found[first][seed], found[second][seed])
            if frame is None:
                continue
            table = paired_over_folds(frame["prediction_a"] == frame["label"], frame["prediction_b"] == frame["label"],
                                      frame["fold"].to_numpy(), alpha, power)
            if frame["fold"].nunique() == 1:
                table = table.loc[["pooled"]]
            for fold, row in table.iterrows():
                rows.append({"model_a": first, "model_b": second, "name_a": prose_label(first),
                             "name_b": prose_label(second), "seed": seed, "fold": fold, **row.to_dict()})
    frame = pd.DataFrame(rows)
    for column in ("n", "correct_a", "correct_b", "a_only", "b_only", "both_right", "both_wrong", "discordant"):
        if column in frame:
            frame[column] = frame[column].astype(int)
    return frame


def pooled_rows(paired: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`paired_comparisons` pooled over the folds (one per pair and seed)."""
    return paired[paired["fold"].astype(str) == "pooled"] if not paired.empty else paired


def evidence(row, decimals: int) -> str:
    """One pooled row's evidence in words: the test, p, the discordant images and what the test
    could detect."""
    detectable = row["minimum_detectable_difference"]
    can = (f"with {100 * row['power']:.0f}% power the test detects a difference of "
           f"{100 * detectable:.{decimals}f} points or more" if detectable == detectable else
           "too few images for the test to detect any difference")
    return (f"McNemar's exact p = {row['p_value']:.2g}, {row['discordant']} discordant image"
            f"{'s' if row['discordant'] != 1 else ''} ({row['a_only']} against {row['b_only']}; the smallest p "
            f"{row['discordant']} can reach is {row['smallest_p_value']:.2g}); {can}")


def pair_verdict(rows: pd.DataFrame, alpha: float = ALPHA) -> dict:
    """The report's words for one pair over its repetitions (its rows of :func:`paired_comparisons`;
    the pooled ones are read).

    A model is "more accurate" only when McNemar's test on the pooled images is significant at
    ``alpha`` in every repetition, each time in its favour; otherwise the two "cannot be told
    apart", and the sentence says what the test could have detected. Returns ``verdict``,
    ``better`` (the more accurate model's name or None), ``significant_seeds``, ``seeds``,
    ``test_images``.
    """
    pooled = pooled_rows(rows)
    first, second = pooled["name_a"].iloc[0], pooled["name_b"].iloc[0]
    significant = pooled["p_value"] < alpha
    wins = {first: int((significant & (pooled["a_only"] > pooled["b_only"])).sum()),
            second: int((significant & (pooled["b_only"] > pooled["a_only"])).sum())}
    seeds, images = len(pooled), int(pooled["n"].min())
    decimals = percent_decimals(images)
    better = next((name for name, count in wins.items() if count == seeds), None)
    if seeds == 1:
        row = pooled.iloc[0]
        if better:
            worse = second if better == first else first
            verdict = (f"{better} is more accurate than {worse} on the {thousands(images)} test images "
                       f"({evidence(row, decimals)})")
        else:
            verdict = (f"{first} and {second} cannot be told apart on the {thousands(images)} test images "
                       f"({evidence(row, decimals)})")
    else:
        detectable = pooled["minimum_detectable_difference"]
        reach = (f"; the test could detect differences of {100 * detectable.min():.{decimals}f} to "
                 f"{100 * detectable.max():.{decimals}f} points with {100 * pooled['power'].iloc[0]:.0f}% power"
                 if detectable.notna().all() else "")
        if better:
            worse = second if better == first else first
            verdict = (f"{better} is more accurate than {worse} (McNemar's exact test significant in each of the "
                       f"{seeds} repetitions of {thousands(images)} images{reach})")
        else:
            verdict = (f"{first} and {second} cannot be told apart on {thousands(images)} test images (McNemar's "
                       f"exact test significant in {sum(wins.values())} of the {seeds} repetitions, "
                       f"{' and '.join(str(d) for d in pooled['discordant'])} discordant images{reach})")
    return {"verdict": verdict, "better": better, "significant_seeds": sum(wins.values()), "seeds": seeds,
            "test_images": images}


def format_paired(paired: pd.DataFrame) -> pd.DataFrame:
    """:func:`paired_comparisons` for reading: per pair, seed and fold (then pooled) the images only
    the first or only the second model got right, those both got wrong, the discordant images,
    McNemar's exact p, the smallest p those images can reach, the minimum detectable difference
    (percentage points, at the rows' power) and the accuracy difference (first minus second,
    percentage points) with Newcombe's 95% interval."""
    decimals = percent_decimals(int(paired["n"].min()))
    rows = {}
    for _, row in paired.iterrows():
        fold = "pooled" if str(row["fold"]) == "pooled" else str(int(row["fold"]))
        key = (f"{short_label(row['model_a'])} vs {short_label(row['model_b'])}", int(row["seed"]), fold)
        detectable = row["minimum_detectable_difference"]
        rows[key] = {("Images", "n"): thousands(row["n"]), ("Right only", "first"): int(row["a_only"]),
                     ("Right only", "second"): int(row["b_only"]), ("Both", "wrong"): int(row["both_wrong"]),
                     ("McNemar", "p"): f"{row['p_value']:.2g}", ("McNemar", "smallest p"):
                     f"{row['smallest_p_value']:.2g}",
                     ("Detectable", "(pp)"): MISSING_CELL if detectable != detectable else
                     f"{100 * detectable:.{decimals}f}",
                     ("Difference (pp)", "accuracy"): format_interval(
                         row["difference"], row["difference_low"], row["difference_high"], decimals)}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["Pair (first vs second)", "Seed", "Fold"])
    return frame
