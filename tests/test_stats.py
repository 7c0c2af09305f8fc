"""labwork6.stats against published examples and cases that can be worked out by hand."""

import math

import numpy as np
import pytest

from labwork6 import stats


def paired_predictions(a_only: int, b_only: int, both_right: int, both_wrong: int):
    """Labels and two models' predictions with the given 2x2 table of right/wrong."""
    total = a_only + b_only + both_right + both_wrong
    y_true = np.zeros(total, dtype=np.int64)
    right_a = np.array([1] * a_only + [0] * b_only + [1] * both_right + [0] * both_wrong, dtype=bool)
    right_b = np.array([0] * a_only + [1] * b_only + [1] * both_right + [0] * both_wrong, dtype=bool)
    return y_true, np.where(right_a, 0, 1), np.where(right_b, 0, 2)


# Newcombe, "Two-sided confidence intervals for the single proportion: comparison of seven
# methods", Statistics in Medicine 17 (1998) 857-872, Table II, method 3 (Wilson score).
@pytest.mark.parametrize(
    "correct, total, low, high",
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_accuracy_interval_matches_newcombe_1998(correct, total, low, high):
    interval = stats.accuracy_interval(correct, total)
    assert interval == pytest.approx((low, high), abs=5e-5)


def test_accuracy_interval_is_inside_unit_range_and_widens_with_level():
    low, high = stats.accuracy_interval(30, 30)
    assert 0.85 < low < 1.0 and high == pytest.approx(1.0)
    narrow, wide = stats.accuracy_interval(268, 270, 0.9), stats.accuracy_interval(268, 270, 0.99)
    assert wide[0] < narrow[0] < 268 / 270 < narrow[1] < wide[1]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(correct=5, total=0), "total=0"),
        (dict(correct=11, total=10), "correct=11"),
        (dict(correct=-1, total=10), "correct=-1"),
        (dict(correct=2.5, total=10), "correct=2.5"),
        (dict(correct=5, total=10, level=1.0), "level=1.0"),
        (dict(correct=5, total=10, level=95), "level=95"),
    ],
)
def test_accuracy_interval_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        stats.accuracy_interval(**kwargs)


# Fagerland, Lydersen & Laake, "The McNemar test for binary matched-pairs data: mid-p and
# asymptotic are better than exact conditional", BMC Medical Research Methodology 13:91
# (2013), Table 1 (airway hyper-responsiveness before/after stem cell transplantation,
# Bentur et al. 2009): discordant pairs 1 and 7, exact conditional p = 0.070
# (2 * P(X <= 1), X ~ Binomial(8, 1/2) = 2 * 9/256 = 0.0703125).
def test_mcnemar_exact_matches_fagerland_2013():
    y_true, pred_a, pred_b = paired_predictions(a_only=1, b_only=7, both_right=1, both_wrong=12)
    result = stats.mcnemar_exact(y_true, pred_a, pred_b)
    assert result == {"a_only": 1, "b_only": 7, "both_right": 1, "both_wrong": 12,
                      "p_value": pytest.approx(0.0703125, rel=1e-12)}
    assert round(result["p_value"], 3) == 0.070


def test_mcnemar_exact_simple_cases():
    y_true, pred_a, pred_b = paired_predictions(a_only=0, b_only=0, both_right=8, both_wrong=2)
    assert stats.mcnemar_exact(y_true, pred_a, pred_b)["p_value"] == 1.0
    y_true, pred_a, pred_b = paired_predictions(a_only=0, b_only=6, both_right=20, both_wrong=0)
    assert stats.mcnemar_exact(y_true, pred_a, pred_b)["p_value"] == pytest.approx(2 * 0.5**6)
    # Swapping the models leaves the two-sided p-value unchanged.
    assert stats.mcnemar_exact(y_true, pred_b, pred_a)["p_value"] == pytest.approx(0.03125)
    y_true, pred_a, pred_b = paired_predictions(a_only=4, b_only=4, both_right=0, both_wrong=0)
    assert stats.mcnemar_exact(y_true, pred_a, pred_b)["p_value"] == 1.0


def test_bootstrap_interval_is_deterministic_per_seed_and_contains_the_estimate():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 4, size=120)
    y_pred = np.where(rng.random(120) < 0.8, y_true, rng.integers(0, 4, size=120))
    f1 = stats.MACRO_METRICS["f1"]
    first = stats.bootstrap_interval(y_true, y_pred, f1, n_resamples=300, seed=3)
    assert first == stats.bootstrap_interval(y_true, y_pred, f1, n_resamples=300, seed=3)
    assert first != stats.bootstrap_interval(y_true, y_pred, f1, n_resamples=300, seed=4)
    for name, metric in stats.MACRO_METRICS.items():
        low, high = stats.bootstrap_interval(y_true, y_pred, metric, n_resamples=300)
        assert low < metric(y_true, y_pred) < high, name
        assert 0.0 <= low and high <= 1.0
    narrow = stats.bootstrap_interval(y_true, y_pred, f1, n_resamples=300, level=0.5)
    assert first[0] < narrow[0] < narrow[1] < first[1]


def test_bootstrap_interval_of_a_perfect_classifier_is_a_point():
    labels = np.arange(20) % 4
    assert stats.bootstrap_interval(labels, labels, stats.MACRO_METRICS["recall"], n_resamples=50) == (1.0, 1.0)


def test_paired_difference_interval():
    y_true, pred_a, pred_b = paired_predictions(a_only=12, b_only=2, both_right=80, both_wrong=6)
    result = stats.paired_difference_interval(y_true, pred_a, pred_b, n_resamples=500, seed=0)
    assert result["difference"] == pytest.approx(0.10)
    assert result["low"] < 0.10 < result["high"]
    assert result["low"] > 0  # 12 against 2 discordant images: a is ahead in nearly every resample
    assert result == stats.paired_difference_interval(y_true, pred_a, pred_b, n_resamples=500, seed=0)
    swapped = stats.paired_difference_interval(y_true, pred_b, pred_a, n_resamples=500, seed=0)
    assert swapped["difference"] == pytest.approx(-0.10)
    identical = stats.paired_difference_interval(y_true, pred_a, pred_a, n_resamples=50)
    assert (identical["difference"], identical["low"], identical["high"]) == (0.0, 0.0, 0.0)


def test_compare_names_the_winner_only_when_the_test_says_so():
    y_true, pred_a, pred_b = paired_predictions(a_only=0, b_only=6, both_right=20, both_wrong=4)
    result = stats.compare(y_true, pred_a, pred_b, "VGG19-BN", "ResNet19")
    assert result["verdict"] == "ResNet19 is more accurate than VGG19-BN"
    assert (result["correct_a"], result["correct_b"], result["n"]) == (20, 26, 30)
    assert result["accuracy_b"] == pytest.approx(26 / 30)
    assert (result["accuracy_b_low"], result["accuracy_b_high"]) == stats.accuracy_interval(26, 30)
    assert result["p_value"] == pytest.approx(0.03125)
    assert result["difference"] == pytest.approx(-0.2)
    assert result["difference_low"] < -0.2 < result["difference_high"] < 0
    # Same counts, a stricter alpha: no winner.
    strict = stats.compare(y_true, pred_a, pred_b, "VGG19-BN", "ResNet19", alpha=0.01)
    assert strict["verdict"] == "VGG19-BN and ResNet19 cannot be told apart on 30 test images"


def test_compare_a_tie_of_one_image_is_not_a_win():
    y_true, pred_a, pred_b = paired_predictions(a_only=3, b_only=2, both_right=263, both_wrong=2)
    result = stats.compare(y_true, pred_a, pred_b, "ResNet19", "SVC")
    assert result["verdict"] == "ResNet19 and SVC cannot be told apart on 270 test images"
    assert result["p_value"] == 1.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: stats.mcnemar_exact([0, 1], [0, 1, 1], [0, 1]), "len\\(pred_a\\)=3"),
        (lambda: stats.mcnemar_exact([], [], []), "empty"),
        (lambda: stats.mcnemar_exact([[0, 1]], [[0, 1]], [[0, 1]]), "shape \\(1, 2\\)"),
        (lambda: stats.bootstrap_interval([0], [0], stats.MACRO_METRICS["f1"]), "at least 2"),
        (lambda: stats.bootstrap_interval([0, 1], [0, 1], "f1"), "metric='f1'"),
        (lambda: stats.bootstrap_interval([0, 1], [0, 1], stats.MACRO_METRICS["f1"], level=0), "level=0"),
        (lambda: stats.paired_difference_interval([0, 1], [0, 1], [0, 1], n_resamples=1), "n_resamples=1"),
        (lambda: stats.compare([0, 1], [0, 1], [0, 1], "a", "b", alpha=1.5), "alpha=1.5"),
        (lambda: stats.compare([0, 1], [0, 1], [0, 1], "a", "a"), "'a', 'a'"),
    ],
)
def test_bad_input_is_rejected_with_the_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_summary_over_seeds():
    summary = stats.summary_over_seeds([0.98, 0.99, 1.0])
    assert summary["mean"] == pytest.approx(0.99)
    assert summary["std"] == pytest.approx(0.01)  # ddof=1
    assert summary["values"] == [0.98, 0.99, 1.0] and summary["n"] == 3
    single = stats.summary_over_seeds(np.array([0.97]))
    assert single["mean"] == pytest.approx(0.97) and math.isnan(single["std"]) and single["n"] == 1
    for bad in ([], "0.9", [0.9, float("nan")], [0.9, "x"]):
        with pytest.raises(ValueError, match="Received: values="):
            stats.summary_over_seeds(bad)
