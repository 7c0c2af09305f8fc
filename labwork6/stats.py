"""How sure a test-set comparison is: intervals for one classifier and paired tests for two.

With 270 test images one image moves the accuracy by 0.37 points, so two models a
point apart may still be the same model on another split. The functions here put a
number on that:

- :func:`accuracy_interval`: Wilson score interval of an accuracy (Wilson 1927; the
  method Newcombe 1998 recommends for a single proportion).
- :func:`bootstrap_interval`: percentile bootstrap interval of any metric of
  ``(y_true, y_pred)``, e.g. the macro F1 of :data:`MACRO_METRICS` (Efron & Tibshirani 1993);
  :func:`metric_interval` the same, with a Wilson interval where the bootstrap collapses
  (every image right, or every image wrong).
- :func:`mcnemar_exact`: the exact McNemar test for two classifiers on the same images
  (McNemar 1947; recommended for comparing classifiers by Dietterich 1998).
- What that test could have found: :func:`smallest_p_value` (all discordant images one way),
  :func:`discordant_needed`, :func:`mcnemar_power` and :func:`minimum_detectable_difference`
  (exact), :func:`minimum_detectable_difference_normal` (Connor 1987, as a cross-check).
- :func:`newcombe_interval`: interval of a paired accuracy difference (Newcombe 1998, method
  10), not empty when the two models agree on every image;
  :func:`paired_difference_interval` is the bootstrap one, which is.
- :func:`paired_summary`, :func:`paired_over_folds` and :func:`compare`: all of these for two
  models, per fold and pooled, with a one-line verdict.
- :func:`summary_over_seeds`: mean and sample standard deviation across training seeds.

The computations are scipy's (``scipy.stats.binom``, ``binomtest``, ``bootstrap``) where it has
them; the power and the Newcombe interval, which scipy lacks, are written out here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import binom, binomtest, bootstrap, norm
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
            ``MACRO_METRICS["f1"]``; one with ``metric.vectorized`` true also takes stacked
            resamples and ``axis`` (scipy's vectorized statistic) and is called once.
        n_resamples: number of resamples.
    """
    y_true, y_pred = _check_labels(2, y_true=y_true, y_pred=y_pred)
    level, n_resamples = _check_level(level), _check_resamples(n_resamples)
    if not callable(metric):
        raise ValueError(f"`metric` must be a function of (y_true, y_pred). Received: metric={metric!r}")
    if getattr(metric, "vectorized", False):  # e.g. labwork6.metrics.macro_metric: every resample in one call
        return _percentile_bootstrap((y_true, y_pred), lambda true, pred, axis=-1: metric(true, pred, axis=axis),
                                     level, n_resamples, seed, paired=True, vectorized=True)
    return _percentile_bootstrap((y_true, y_pred), lambda true, pred: float(metric(true, pred)), level, n_resamples,
                                 seed, paired=True, vectorized=False)


def _percentile_bootstrap(samples, statistic, level: float, n_resamples: int, seed: int, **options):
    """``(low, high)`` of scipy's percentile bootstrap, seeded."""
    result = bootstrap(samples, statistic, n_resamples=n_resamples, confidence_level=level, method="percentile",
                       rng=np.random.default_rng(seed), **options)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def metric_interval(
    y_true, y_pred, metric: Callable, *, n_resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> dict:
    """An interval of ``metric(y_true, y_pred)`` that is not a point when no image is wrong.

    With every test image right, every bootstrap resample scores 1 and
    :func:`bootstrap_interval` reads [1, 1], a certainty 270 images cannot give. There (and
    when every image is wrong and the metric is 0) the interval is Wilson's for 0 errors
    (or 0 right) of n, :func:`accuracy_interval`: [n / (n + z^2), 1], about [0.986, 1] for
    270 images at 95% (the one-sided "rule of three" would give an error rate up to 3/n,
    1.1%). It stands in for the macro metrics, which are 1 exactly when every image is right
    and near the accuracy on balanced classes. Anywhere else it is :func:`bootstrap_interval`.

    Returns:
        ``value``, ``low``, ``high`` and ``method`` (``"bootstrap"`` or ``"wilson"``, for the
        report to say which).
    """
    y_true, y_pred = _check_labels(2, y_true=y_true, y_pred=y_pred)
    level, n_resamples = _check_level(level), _check_resamples(n_resamples)
    if not callable(metric):
        raise ValueError(f"`metric` must be a function of (y_true, y_pred). Received: metric={metric!r}")
    value, correct, total = float(metric(y_true, y_pred)), int(np.sum(y_true == y_pred)), len(y_true)
    if (value == 1.0 and correct == total) or (value == 0.0 and correct == 0):
        low, high = accuracy_interval(correct, total, level)
        return {"value": value, "low": low, "high": high, "method": "wilson"}
    low, high = bootstrap_interval(y_true, y_pred, metric, n_resamples=n_resamples, level=level, seed=seed)
    return {"value": value, "low": low, "high": high, "method": "bootstrap"}


# --------------------------------------------------------------------------- two models on the same images


def _check_alpha(alpha, name: str = "alpha") -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        example = "0.05" if name == "alpha" else "0.8"
        raise ValueError(f"`{name}` must be a number in (0, 1), e.g. {example}. Received: {name}={alpha!r}")
    return float(alpha)


def _check_count(name: str, value, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def _check_correct(**arrays) -> list[np.ndarray]:
    """Per-image right/wrong arrays (bool or 0/1) as boolean arrays of one common, non-zero length."""
    checked = []
    for name, array in zip(arrays, _check_labels(**arrays), strict=True):
        if array.dtype != bool and not np.isin(array, (0, 1)).all():
            raise ValueError(f"`{name}` must say per image whether the model was right (True/False or 1/0). "
                             f"Received values: {np.unique(array)[:5].tolist()}")
        checked.append(array.astype(bool))
    return checked


def _table(right_a: np.ndarray, right_b: np.ndarray) -> dict:
    return {"a_only": int(np.sum(right_a & ~right_b)), "b_only": int(np.sum(~right_a & right_b)),
            "both_right": int(np.sum(right_a & right_b)), "both_wrong": int(np.sum(~right_a & ~right_b))}


def _mcnemar_p(a_only: int, b_only: int) -> float:
    return 1.0 if a_only + b_only == 0 else float(binomtest(a_only, a_only + b_only, 0.5).pvalue)


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
    table = _table(pred_a == y_true, pred_b == y_true)
    return table | {"p_value": _mcnemar_p(table["a_only"], table["b_only"])}


def smallest_p_value(discordant: int) -> float:
    """The smallest two-sided p-value the exact McNemar test can give with ``discordant``
    images (those exactly one model gets right): all of them one way, ``2 * 0.5**discordant``,
    at most 1. Four cannot go below 0.125, six reach 0.03125.

    Reference: the test is the two-sided binomial test of Binomial(discordant, 1/2) (McNemar,
    Psychometrika 12, 1947), whose extreme outcomes 0 and ``discordant`` each have
    probability 0.5**discordant.
    """
    return min(1.0, 2.0 * 0.5 ** _check_count("discordant", discordant))


def discordant_needed(alpha: float = 0.05) -> int:
    """The fewest discordant images with which the exact McNemar test can reach p < ``alpha``
    (all of them one way, :func:`smallest_p_value`): 6 at 0.05 (5 give 0.0625), 8 at 0.01."""
    alpha, count = _check_alpha(alpha), 1
    while smallest_p_value(count) >= alpha:
        count += 1
    return count


def _rejection_bounds(max_discordant: int, alpha: float) -> np.ndarray:
    """For m = 0..max_discordant discordant images, the largest k such that the exact test
    rejects when one model has k or fewer of them (-1: it cannot reject)."""
    # Binomial(m, 1/2) is symmetric, so the two-sided p of b is 2 P(X <= min(b, m - b)), and it
    # is below alpha exactly for min(b, m - b) <= k with P(X <= k) < alpha / 2.
    return binom.ppf(alpha / 2, np.arange(max_discordant + 1), 0.5).astype(np.int64) - 1


def _power(n: int, discordance: float, difference: float, alpha: float) -> float:
    if discordance == 0:
        return 0.0  # no discordant image: the test never rejects
    discordant = np.arange(n + 1)
    bound = _rejection_bounds(n, alpha)
    favour_a = min(1.0, max(0.0, (discordance + difference) / (2 * discordance)))
    rejects = binom.cdf(bound, discordant, favour_a) + binom.sf(discordant - bound - 1, discordant, favour_a)
    return float(min(1.0, np.dot(binom.pmf(discordant, n, discordance), rejects)))


def mcnemar_power(n: int, discordance: float, difference: float, alpha: float = 0.05) -> float:
    """Exact power of the exact McNemar test (two-sided, level ``alpha``) on ``n`` paired images.

    Each image is discordant with probability ``discordance`` (psi) and then favours model a
    with probability (psi + delta) / (2 psi), delta = ``difference`` = accuracy a minus
    accuracy b (so |delta| <= psi). The discordant count m is Binomial(n, psi), a's share of
    it Binomial(m, (psi + delta) / (2 psi)), and the power is P(p-value < alpha) summed over
    both exactly, with no normal approximation.

    Reference: the model of Connor, "Sample size for testing differences in proportions for the
    paired-sample design", Biometrics 43 (1987) 207-211, who checks his normal approximation
    (:func:`minimum_detectable_difference_normal`) against exact values of this sum (Schork &
    Williams, Communications in Statistics B 9, 1980).
    """
    n = _check_count("n", n, minimum=1)
    if isinstance(discordance, bool) or not isinstance(discordance, (int, float)) or not 0 < discordance <= 1:
        raise ValueError(f"`discordance` must be a rate in (0, 1]. Received: discordance={discordance!r}")
    if isinstance(difference, bool) or not isinstance(difference, (int, float)) or abs(difference) > discordance:
        raise ValueError(f"`difference` must be a number with |difference| <= discordance ({discordance}): an "
                         f"accuracy difference needs that many discordant images. Received: difference={difference!r}")
    return _power(n, float(discordance), float(difference), _check_alpha(alpha))


def minimum_detectable_difference(n: int, discordant: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest accuracy difference (fraction units) that the exact McNemar test on ``n``
    paired images detects with probability ``power`` at level ``alpha``, at the observed
    discordance rate psi = ``discordant / n`` (:func:`mcnemar_power`).

    A difference delta needs discordance of at least delta; for delta above the observed psi,
    psi is taken as delta (every discordant image one way, the case most favourable to the
    test). So with no discordant image the answer is not 0 but the smallest delta with
    P(Binomial(n, delta) >= :func:`discordant_needed`) >= ``power``: about 0.44 points on
    1,797 images (6 / 1,797 = 0.33 points would be detected with probability only 0.55).

    Exact tests are not monotone in n (the power saw-tooths as n grows), but at fixed n and
    psi the power rises with delta: given m discordant images the test rejects for b <= k or
    b >= m - k, whose probability has derivative m [f(m-k-1) - f(k)] in P(favour a), f the
    Binomial(m - 1, .) pmf, and that is >= 0 above 1/2 since k < m / 2 (beyond psi,
    P(Binomial(n, delta) >= needed) rises too). So the root that bisection finds is the
    smallest delta from which the power stays at or above ``power``.

    Returns:
        The difference in [0, 1]; NaN when ``n`` is below :func:`discordant_needed` (no
        outcome of so few images is significant).
    """
    n, alpha = _check_count("n", n, minimum=1), _check_alpha(alpha)
    discordant, power = _check_count("discordant", discordant), _check_alpha(power, "power")
    if discordant > n:
        raise ValueError(f"`discordant` must be at most n={n}. Received: discordant={discordant}")
    if n < discordant_needed(alpha):
        return math.nan

    def shortfall(difference: float) -> float:
        return _power(n, max(discordant / n, difference), difference, alpha) - power

    return 0.0 if shortfall(0.0) >= 0 else float(brentq(shortfall, 0.0, 1.0, xtol=1e-12))


def minimum_detectable_difference_normal(n: int, discordant: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Connor's normal approximation to :func:`minimum_detectable_difference`, as a cross-check.

    Connor (Biometrics 43, 1987, 207-211) gives the images needed as
    n = [z_{1-alpha/2} sqrt(psi) + z_power sqrt(psi - delta^2)]^2 / delta^2; solved for delta
    (a quadratic) that is delta = sqrt(psi) [z_a sqrt(n) + z_b sqrt(n - z_a^2 + z_b^2)] / (n + z_b^2).
    NaN without discordant images or when delta would exceed psi (the approximation's model
    has no room for it).
    """
    n, alpha = _check_count("n", n, minimum=1), _check_alpha(alpha)
    discordant, power = _check_count("discordant", discordant), _check_alpha(power, "power")
    if discordant > n:
        raise ValueError(f"`discordant` must be at most n={n}. Received: discordant={discordant}")
    discordance, z_a, z_b = discordant / n, norm.ppf(1 - alpha / 2), norm.ppf(power)
    if discordant == 0 or n - z_a**2 + z_b**2 < 0:
        return math.nan
    difference = math.sqrt(discordance) * (z_a * math.sqrt(n) + z_b * math.sqrt(n - z_a**2 + z_b**2)) / (n + z_b**2)
    return float(difference) if difference <= discordance else math.nan


def newcombe_interval(
    both_right: int, a_only: int, b_only: int, both_wrong: int, level: float = 0.95
) -> tuple[float, float]:
    """Interval of accuracy a minus accuracy b, ``(a_only - b_only) / n``, from the paired table.

    Newcombe's hybrid score ("square-and-add") interval: with (l1, u1), (l2, u2) the Wilson
    intervals of the accuracies p1, p2 and d = p1 - p2,
    low = d - sqrt((p1 - l1)^2 - 2 phi (p1 - l1)(u2 - p2) + (u2 - p2)^2) and
    high = d + sqrt((p2 - l2)^2 - 2 phi (p2 - l2)(u1 - p1) + (u1 - p1)^2), where phi is the
    correlation of the two right/wrong outcomes, ``both_right * both_wrong - a_only * b_only``
    less n / 2 when positive (not below 0), over the root of the product of the four margins
    (0 when a margin is 0). Unlike the bootstrap it is not [0, 0] when the two models agree on
    every image: 599 of 599 right by both gives about [-0.0064, 0.0064].

    Reference: Newcombe, "Improved confidence intervals for the difference between binomial
    proportions based on paired data", Statistics in Medicine 17 (1998) 2635-2650, method 10,
    as written out in Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables
    (2017), chapter 8.
    """
    counts = [_check_count(name, value) for name, value in
              (("both_right", both_right), ("a_only", a_only), ("b_only", b_only), ("both_wrong", both_wrong))]
    both_right, a_only, b_only, both_wrong = counts
    total, level = sum(counts), _check_level(level)
    if total == 0:
        raise ValueError(f"The table is empty: there is nothing to compare. Received: counts={counts}")
    p1, p2 = (both_right + a_only) / total, (both_right + b_only) / total
    (l1, u1), (l2, u2) = (accuracy_interval(both_right + a_only, total, level),
                          accuracy_interval(both_right + b_only, total, level))
    margins = (both_right + a_only) * (b_only + both_wrong) * (both_right + b_only) * (a_only + both_wrong)
    cross = both_right * both_wrong - a_only * b_only
    cross = max(cross - total / 2, 0) if cross > 0 else cross  # Newcombe's continuity correction of phi
    phi = cross / math.sqrt(margins) if margins > 0 else 0.0
    difference = p1 - p2
    low = difference - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = difference + math.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
    return max(-1.0, low), min(1.0, high)


def paired_difference_interval(
    y_true, pred_a, pred_b, *, n_resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> dict:
    """Accuracy of a minus accuracy of b, with a percentile bootstrap interval in which
    both models are scored on the same resampled images. It is [0, 0] when the two agree on
    every image; :func:`newcombe_interval` is not.

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


def paired_summary(correct_a, correct_b, alpha: float = 0.05, power: float = 0.8) -> dict:
    """Two models scored on the same images: ``correct_a``, ``correct_b`` say per image
    whether each was right (bool or 0/1).

    Returns:
        ``n``, ``correct_a``, ``accuracy_a``, ``accuracy_a_low``, ``accuracy_a_high`` (Wilson,
        :func:`accuracy_interval`), the same for b, the table of :func:`mcnemar_exact`
        (``a_only``, ``b_only``, ``both_right``, ``both_wrong``) and its ``p_value``,
        ``discordant`` (a_only + b_only), ``smallest_p_value``,
        ``minimum_detectable_difference`` (exact, at ``power``), ``difference`` (accuracy a
        minus b, fraction units) with Newcombe's ``difference_low``, ``difference_high``,
        ``alpha`` and ``power``. Intervals are at level 1 - alpha.
    """
    right_a, right_b = _check_correct(correct_a=correct_a, correct_b=correct_b)
    alpha, power, total = _check_alpha(alpha), _check_alpha(power, "power"), len(right_a)
    result = {"n": total}
    for suffix, right in (("a", right_a), ("b", right_b)):
        correct = int(right.sum())
        low, high = accuracy_interval(correct, total, 1 - alpha)
        result |= {f"correct_{suffix}": correct, f"accuracy_{suffix}": correct / total,
                   f"accuracy_{suffix}_low": low, f"accuracy_{suffix}_high": high}
    table = _table(right_a, right_b)
    discordant = table["a_only"] + table["b_only"]
    low, high = newcombe_interval(table["both_right"], table["a_only"], table["b_only"], table["both_wrong"], 1 - alpha)
    return result | table | {
        "p_value": _mcnemar_p(table["a_only"], table["b_only"]),
        "discordant": discordant,
        "smallest_p_value": smallest_p_value(discordant),
        "minimum_detectable_difference": minimum_detectable_difference(total, discordant, alpha, power),
        "difference": (table["a_only"] - table["b_only"]) / total,
        "difference_low": low,
        "difference_high": high,
        "alpha": alpha,
        "power": power,
    }


def paired_over_folds(correct_a, correct_b, fold, alpha: float = 0.05, power: float = 0.8) -> pd.DataFrame:
    """:func:`paired_summary` per fold and pooled, for k-fold cross-validation.

    With each image tested once per model (in the fold that held it out), the pooled images
    are independent pairs and McNemar's test on all of them is valid; the per-fold rows show
    how much the folds differ.

    Args:
        correct_a, correct_b: per image, whether model a (b) got it right.
        fold: per image, the fold that tested it.

    Returns:
        One row per fold (sorted), then a row ``"pooled"``, indexed by ``fold``; the columns
        are the keys of :func:`paired_summary`.
    """
    right_a, right_b = _check_correct(correct_a=correct_a, correct_b=correct_b)
    (fold,) = _check_labels(fold=fold)
    if len(fold) != len(right_a):
        raise ValueError(f"`fold` must give one fold per image. Received: len(fold)={len(fold)}, "
                         f"len(correct_a)={len(right_a)}")
    labels = np.unique(fold)
    rows = [paired_summary(right_a[fold == label], right_b[fold == label], alpha, power) for label in labels]
    rows.append(paired_summary(right_a, right_b, alpha, power))
    index = pd.Index([label.item() for label in labels] + ["pooled"], dtype=object, name="fold")
    return pd.DataFrame(rows, index=index)


def compare(y_true, pred_a, pred_b, name_a: str, name_b: str, alpha: float = 0.05, power: float = 0.8) -> dict:
    """Two classifiers on the same test images: :func:`paired_summary` and a verdict.

    The verdict names the more accurate model only when the McNemar p-value is below
    ``alpha``, and takes the direction from the counts of discordant images; otherwise
    it says the two cannot be told apart on this many images.

    Returns:
        A flat dict: ``name_a``, ``name_b``, the keys of :func:`paired_summary` (the
        difference interval is Newcombe's) and ``verdict``.
    """
    alpha = _check_alpha(alpha)
    if not name_a or not name_b or name_a == name_b:
        raise ValueError(f"`name_a` and `name_b` must be two different names. Received: {name_a!r}, {name_b!r}")
    y_true, pred_a, pred_b = _check_labels(2, y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    result = {"name_a": name_a, "name_b": name_b} | paired_summary(pred_a == y_true, pred_b == y_true, alpha, power)
    if result["p_value"] < alpha and result["a_only"] != result["b_only"]:
        winner, loser = (name_a, name_b) if result["a_only"] > result["b_only"] else (name_b, name_a)
        result["verdict"] = f"{winner} is more accurate than {loser}"
    else:
        result["verdict"] = f"{name_a} and {name_b} cannot be told apart on {result['n']} test images"
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
