"""How sure a test-set comparison is: intervals for one classifier and paired tests for two.

With 270 test images one image moves the accuracy by 0.37 points, so two models a
point apart may still be the same model on another split. The functions here put a
number on that:

- :func:`accuracy_interval`: Wilson score interval of an accuracy (Wilson 1927; the
  method Newcombe 1998 recommends for a single proportion).
- :func:`bootstrap_interval`: percentile bootstrap interval of any metric of
  ``(y_true, y_pred)``, e.g. the macro F1 of :data:`MACRO_METRICS` (Efron & Tibshirani 1993).
- :func:`mcnemar_exact`: the exact McNemar test for two classifiers on the same images
  (McNemar 1947; recommended for comparing classifiers by Dietterich 1998).
- :func:`paired_difference_interval`: bootstrap interval of the accuracy difference,
  both models resampled on the same images.
- :func:`compare`: all of these for two models, with a one-line verdict.
- :func:`summary_over_seeds`: mean and sample standard deviation across training seeds.

The computations are scipy's (``scipy.stats.binomtest``, ``scipy.stats.bootstrap``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import numpy as np
from scipy.stats import binomtest, bootstrap
from sklearn.metrics import f1_score, precision_score, recall_score

#: Macro-averaged metrics for :func:`bootstrap_interval`. A class without predictions
#: (or without images) in a resample counts as 0, as in labwork6.metrics.
MACRO_METRICS: dict[str, Callable] = {
    "precision": partial(precision_score, average="macro", zero_division=0),
    "recall": partial(recall_score, average="macro", zero_division=0),
    "f1": partial(f1_score, average="macro", zero_division=0),
}


def _check_level(level) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"`level` must be a number in (0, 1), e.g. 0.95. Received: level={level!r}")
    return float(level)


def _check_resamples(n_resamples) -> int:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 2:
        raise ValueError(f"`n_resamples` must be an integer >= 2. Received: n_resamples={n_resamples!r}")
    return int(n_resamples)


def _check_labels(minimum: int = 1, **arrays) -> list[np.ndarray]:
    """The keyword arrays as 1-D arrays of one common length, at least ``minimum``."""
    checked = []
    for name, values in arrays.items():
        array = np.asarray(values)
        if array.ndim != 1:
            raise ValueError(f"`{name}` must be a 1-D array of labels. Received: {name} with shape {array.shape}")
        checked.append(array)
    lengths = {name: len(array) for name, array in zip(arrays, checked, strict=True)}
    if len(set(lengths.values())) > 1:
        received = ", ".join(f"len({name})={length}" for name, length in lengths.items())
        raise ValueError(f"{', '.join(f'`{name}`' for name in arrays)} must have the same length. Received: {received}")
    if len(checked[0]) < minimum:
        what = "are empty: there is nothing to evaluate" if minimum == 1 else f"must hold at least {minimum} images"
        raise ValueError(f"The labels {what}. Received: {lengths}")
    return checked


def accuracy_interval(correct: int, total: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of the accuracy ``correct / total``.

    Unlike the normal approximation ``p +- 1.96 sqrt(p(1-p)/n)`` it stays inside [0, 1]
    and is not empty at 100% (30 of 30 right gives about [0.886, 1]).
    Reference: Newcombe, "Two-sided confidence intervals for the single proportion:
    comparison of seven methods", Statistics in Medicine 17 (1998), method 3.
    """
    level = _check_level(level)
    for name, value in (("correct", correct), ("total", total)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"`{name}` must be an integer count. Received: {name}={value!r}")
    if total < 1 or not 0 <= correct <= total:
        raise ValueError(
            f"Counts must satisfy 0 <= correct <= total and total >= 1. Received: correct={correct}, total={total}"
        )
    interval = binomtest(int(correct), int(total)).proportion_ci(confidence_level=level, method="wilson")
    return float(interval.low), float(interval.high)


def bootstrap_interval(
    y_true, y_pred, metric: Callable, *, n_resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(y_true, y_pred)`` over the test images.

    Each resample draws the test images with replacement (true and predicted label of
    an image stay together) and recomputes the metric. The same seed gives the same
    interval.

    Args:
        metric: a function of ``(y_true, y_pred)`` returning a number, e.g.
            ``MACRO_METRICS["f1"]``.
        n_resamples: number of resamples.
    """
    y_true, y_pred = _check_labels(2, y_true=y_true, y_pred=y_pred)
    level, n_resamples = _check_level(level), _check_resamples(n_resamples)
    if not callable(metric):
        raise ValueError(f"`metric` must be a function of (y_true, y_pred). Received: metric={metric!r}")
    return _percentile_bootstrap((y_true, y_pred), lambda true, pred: float(metric(true, pred)), level, n_resamples,
                                 seed, paired=True, vectorized=False)


def _percentile_bootstrap(samples, statistic, level: float, n_resamples: int, seed: int, **options):
    """``(low, high)`` of scipy's percentile bootstrap, seeded."""
    result = bootstrap(samples, statistic, n_resamples=n_resamples, confidence_level=level, method="percentile",
                       rng=np.random.default_rng(seed), **options)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def mcnemar_exact(y_true, pred_a, pred_b) -> dict:
    """The exact McNemar test of two classifiers on the same test images.

    Only the images on which the two disagree about being right carry information:
    under "equally accurate", each of the ``a_only + b_only`` discordant images is
    equally likely to favour either model, so ``a_only`` is Binomial(a_only + b_only, 1/2).

    Returns:
        ``a_only`` (a right, b wrong), ``b_only``, ``both_right``, ``both_wrong`` (ints)
        and ``p_value``: the two-sided exact binomial p-value, 1.0 without discordant
        images. Reference: McNemar, Psychometrika 12 (1947); Dietterich, Neural
        Computation 10 (1998).
    """
    y_true, pred_a, pred_b = _check_labels(y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    right_a, right_b = pred_a == y_true, pred_b == y_true
    a_only = int(np.sum(right_a & ~right_b))
    b_only = int(np.sum(~right_a & right_b))
    discordant = a_only + b_only
    p_value = 1.0 if discordant == 0 else float(binomtest(a_only, discordant, 0.5).pvalue)
    return {
        "a_only": a_only,
        "b_only": b_only,
        "both_right": int(np.sum(right_a & right_b)),
        "both_wrong": int(np.sum(~right_a & ~right_b)),
        "p_value": p_value,
    }


def paired_difference_interval(
    y_true, pred_a, pred_b, *, n_resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> dict:
    """Accuracy of a minus accuracy of b, with a percentile bootstrap interval in which
    both models are scored on the same resampled images.

    Returns:
        ``difference`` (in [-1, 1], fraction units), ``low``, ``high``, ``level``,
        ``n_resamples``.
    """
    y_true, pred_a, pred_b = _check_labels(2, y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    level, n_resamples = _check_level(level), _check_resamples(n_resamples)
    # Per image: +1 when only a is right, -1 when only b is, 0 otherwise; its mean over
    # a resample is that resample's accuracy difference.
    per_image = (pred_a == y_true).astype(np.int64) - (pred_b == y_true).astype(np.int64)
    low, high = _percentile_bootstrap((per_image,), np.mean, level, n_resamples, seed)
    return {"difference": float(per_image.sum() / len(per_image)), "low": low, "high": high, "level": level,
            "n_resamples": n_resamples}


def compare(y_true, pred_a, pred_b, name_a: str, name_b: str, alpha: float = 0.05) -> dict:
    """Two classifiers on the same test images: accuracies with Wilson intervals, the
    exact McNemar test, the bootstrap interval of the difference and a verdict.

    The verdict names the more accurate model only when the McNemar p-value is below
    ``alpha``, and takes the direction from the counts of discordant images; otherwise
    it says the two cannot be told apart on this many images.

    Returns:
        A flat dict: ``name_a``, ``name_b``, ``n``, ``correct_a``, ``accuracy_a``,
        ``accuracy_a_low``, ``accuracy_a_high`` (the same for b), the keys of
        :func:`mcnemar_exact`, ``difference``, ``difference_low``, ``difference_high``,
        ``alpha`` and ``verdict``.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be a number in (0, 1), e.g. 0.05. Received: alpha={alpha!r}")
    if not name_a or not name_b or name_a == name_b:
        raise ValueError(f"`name_a` and `name_b` must be two different names. Received: {name_a!r}, {name_b!r}")
    y_true, pred_a, pred_b = _check_labels(2, y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    total = len(y_true)
    result = {"name_a": name_a, "name_b": name_b, "n": total}
    for suffix, predictions in (("a", pred_a), ("b", pred_b)):
        correct = int(np.sum(predictions == y_true))
        low, high = accuracy_interval(correct, total)
        result |= {
            f"correct_{suffix}": correct,
            f"accuracy_{suffix}": correct / total,
            f"accuracy_{suffix}_low": low,
            f"accuracy_{suffix}_high": high,
        }
    test = mcnemar_exact(y_true, pred_a, pred_b)
    difference = paired_difference_interval(y_true, pred_a, pred_b)
    result |= test | {
        "difference": difference["difference"],
        "difference_low": difference["low"],
        "difference_high": difference["high"],
        "alpha": float(alpha),
    }
    if test["p_value"] < alpha and test["a_only"] != test["b_only"]:
        winner, loser = (name_a, name_b) if test["a_only"] > test["b_only"] else (name_b, name_a)
        result["verdict"] = f"{winner} is more accurate than {loser}"
    else:
        result["verdict"] = f"{name_a} and {name_b} cannot be told apart on {total} test images"
    return result


def summary_over_seeds(values: Sequence[float]) -> dict:
    """Mean and sample standard deviation (ddof=1) of one metric across seeds.

    Returns:
        ``mean``, ``std`` (NaN for a single value: one run says nothing about the
        spread), ``values`` (the list, as floats) and ``n``.
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, (Sequence, np.ndarray)):
        raise ValueError(f"`values` must be a list of numbers, one per seed. Received: values={values!r}")
    try:
        numbers = [float(value) for value in values]
    except (TypeError, ValueError):
        raise ValueError(f"`values` must hold numbers only. Received: values={values!r}") from None
    if not numbers:
        raise ValueError(f"`values` must hold at least one value. Received: values={values!r}")
    if not all(math.isfinite(number) for number in numbers):
        raise ValueError(f"`values` must be finite numbers. Received: values={numbers!r}")
    array = np.asarray(numbers)
    return {
        "mean": float(array.mean()),
        "std": float(array.std(ddof=1)) if len(array) > 1 else math.nan,
        "values": numbers,
        "n": len(numbers),
    }
