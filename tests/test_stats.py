"""labwork6.stats against published examples and cases that can be worked out by hand."""

import math

import numpy as np
import pytest
from scipy.stats import binom, binomtest, multinomial, norm

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


def test_a_vectorised_macro_metric_gives_the_per_resample_interval_and_sklearns_values():
    """macro_metric scores every resample in one call; the interval is the one a per-resample call
    gives, and each row's value is scikit-learn's macro score of that row."""
    from sklearn.metrics import f1_score, precision_score

    from labwork6.metrics import macro_metric

    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 10, 300)
    y_pred = np.where(rng.random(300) < 0.8, y_true, rng.integers(0, 10, 300))
    for key in ("precision", "recall", "f1"):
        metric = macro_metric(key, 10)
        assert metric.vectorized
        one_at_a_time = stats.bootstrap_interval(y_true, y_pred, lambda t, p, metric=metric: metric(t, p),
                                                 n_resamples=400, seed=5)
        assert stats.bootstrap_interval(y_true, y_pred, metric, n_resamples=400, seed=5) == one_at_a_time
    rows_true, rows_pred = y_true.reshape(3, 100), y_pred.reshape(3, 100)
    f1 = macro_metric("f1", 10)(rows_true, rows_pred)
    assert f1.shape == (3,)
    assert f1 == pytest.approx([f1_score(t, p, average="macro", labels=range(10), zero_division=0)
                                for t, p in zip(rows_true, rows_pred, strict=True)])
    columns = macro_metric("precision", 10)(rows_true.T, rows_pred.T, axis=0)  # the resamples along axis 1
    assert columns == pytest.approx([precision_score(t, p, average="macro", labels=range(10), zero_division=0)
                                     for t, p in zip(rows_true, rows_pred, strict=True)])


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
    # The difference interval is Newcombe's, and the power of the test is stated beside the verdict.
    assert (result["difference_low"], result["difference_high"]) == stats.newcombe_interval(20, 0, 6, 4)
    assert result["difference_low"] < -0.2 < result["difference_high"] < 0
    assert result["discordant"] == 6 and result["smallest_p_value"] == pytest.approx(0.03125)
    assert result["minimum_detectable_difference"] == stats.minimum_detectable_difference(30, 6)
    # Same counts, a stricter alpha: no winner.
    strict = stats.compare(y_true, pred_a, pred_b, "VGG19-BN", "ResNet19", alpha=0.01)
    assert strict["verdict"] == "VGG19-BN and ResNet19 cannot be told apart on 30 test images"


def test_compare_of_two_models_right_on_every_image_keeps_an_interval():
    y_true, pred_a, pred_b = paired_predictions(a_only=0, b_only=0, both_right=270, both_wrong=0)
    result = stats.compare(y_true, pred_a, pred_b, "VGG19-BN", "ResNet19")
    assert result["difference"] == 0.0 and result["p_value"] == 1.0 and result["smallest_p_value"] == 1.0
    assert result["difference_low"] < -0.01 and result["difference_high"] > 0.01  # not [0, 0]
    assert 0 < result["minimum_detectable_difference"] < 0.05


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
        (lambda: stats.compare([0, 1], [0, 1], [0, 1], "a", "b", power=1), "power=1"),
        (lambda: stats.smallest_p_value(-1), "discordant=-1"),
        (lambda: stats.discordant_needed(0), "alpha=0"),
        (lambda: stats.mcnemar_power(100, 0.02, 0.03), "difference=0.03"),
        (lambda: stats.mcnemar_power(100, 0.0, 0.0), "discordance=0.0"),
        (lambda: stats.mcnemar_power(0, 0.1, 0.0), "n=0"),
        (lambda: stats.minimum_detectable_difference(100, 101), "discordant=101"),
        (lambda: stats.minimum_detectable_difference(100, 5, power=80), "power=80"),
        (lambda: stats.minimum_detectable_difference_normal(100, 2.5), "discordant=2.5"),
        (lambda: stats.newcombe_interval(0, 0, 0, 0), "empty"),
        (lambda: stats.newcombe_interval(5, -1, 0, 0), "a_only=-1"),
        (lambda: stats.metric_interval([0, 1], [0, 1], stats.MACRO_METRICS["f1"], level=2), "level=2"),
        (lambda: stats.paired_summary([1, 0, 2], [1, 0, 1]), "Received values: \\[0, 1, 2\\]"),
        (lambda: stats.paired_over_folds([1, 0], [1, 0], [0, 0, 1]), "len\\(fold\\)=3"),
        (lambda: stats.paired_over_folds([1, 0], [1, 0, 1], [0, 1]), "len\\(correct_b\\)=3"),
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


# --------------------------------------------------------------------------- what the exact test could reach


def test_smallest_p_value_is_all_discordant_images_one_way():
    assert [stats.smallest_p_value(k) for k in range(8)] == [1.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625]
    for discordant in range(1, 40):  # the extreme outcome of scipy's exact binomial test
        assert stats.smallest_p_value(discordant) == pytest.approx(binomtest(0, discordant).pvalue, rel=1e-12)


@pytest.mark.parametrize("alpha, needed", [(0.05, 6), (0.01, 8), (0.1, 5), (0.0625, 6), (0.5, 3)])
def test_discordant_needed(alpha, needed):
    assert stats.discordant_needed(alpha) == needed
    # The fewest discordant images whose most lopsided split scipy calls significant (p < alpha, strictly).
    assert needed == next(m for m in range(1, 100) if binomtest(0, m).pvalue < alpha)


def brute_force_power(n: int, discordance: float, difference: float, alpha: float) -> float:
    """Every table (b, c, rest) of n images, weighted by its multinomial probability, tested by scipy."""
    cells = [(discordance + difference) / 2, (discordance - difference) / 2, 1 - discordance]
    return sum(multinomial.pmf([b, c, n - b - c], n, cells)
               for b in range(n + 1) for c in range(n + 1 - b) if b + c and binomtest(b, b + c).pvalue < alpha)


@pytest.mark.parametrize("discordance, difference, alpha", [(0.4, 0.2, 0.05), (0.5, -0.3, 0.05), (0.3, 0.1, 0.01),
                                                             (0.25, 0.25, 0.05), (0.6, 0.0, 0.1)])
def test_mcnemar_power_matches_a_brute_force_sum(discordance, difference, alpha):
    exact = stats.mcnemar_power(20, discordance, difference, alpha)
    assert exact == pytest.approx(brute_force_power(20, discordance, difference, alpha), abs=1e-12)


def test_mcnemar_power_rises_with_the_difference_and_holds_its_level():
    powers = [stats.mcnemar_power(60, 0.3, difference) for difference in np.linspace(0, 0.3, 61)]
    assert np.all(np.diff(powers) >= 0)  # what makes bisection find the smallest detectable difference
    assert powers[0] <= 0.05 and powers[-1] > 0.999
    assert stats.mcnemar_power(60, 0.3, -0.1) == pytest.approx(stats.mcnemar_power(60, 0.3, 0.1))


def test_minimum_detectable_difference_by_hand():
    # 6 images, none discordant: a difference d needs all 6 discordant one way (the test's
    # only significant outcome at 0.05), probability d**6, so d = 0.8 ** (1 / 6).
    assert stats.minimum_detectable_difference(6, 0) == pytest.approx(0.8 ** (1 / 6), abs=1e-9)
    assert math.isnan(stats.minimum_detectable_difference(5, 0))  # 5 images can never give p < 0.05
    # 1,797 images and no discordance: the smallest d with P(Binomial(1797, d) >= 6) = 0.8, above 6 / 1797.
    detectable = stats.minimum_detectable_difference(1797, 0)
    assert binom.sf(5, 1797, detectable) == pytest.approx(0.8, abs=1e-9)
    assert 6 / 1797 < detectable < 0.005
    assert stats.minimum_detectable_difference(1797, 0, power=0.9) > detectable


def test_minimum_detectable_difference_is_where_the_power_reaches_the_target():
    for n, discordant in ((270, 12), (599, 9), (1797, 27)):
        detectable = stats.minimum_detectable_difference(n, discordant)
        discordance = discordant / n
        assert detectable < discordance  # inside the observed discordance for these counts
        assert stats.mcnemar_power(n, discordance, detectable) == pytest.approx(0.8, abs=1e-9)
        assert stats.mcnemar_power(n, discordance, 0.98 * detectable) < 0.8
    # More discordance, more noise: a larger difference is needed; more images, a smaller one.
    assert stats.minimum_detectable_difference(1797, 27) < stats.minimum_detectable_difference(1797, 60)
    assert stats.minimum_detectable_difference(1797, 27) < stats.minimum_detectable_difference(599, 9)


def connor_sample_size(discordance: float, difference: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Connor (1987): n = [z_{1-alpha/2} sqrt(psi) + z_power sqrt(psi - delta^2)]^2 / delta^2."""
    z_a, z_b = norm.ppf(1 - alpha / 2), norm.ppf(power)
    return (z_a * math.sqrt(discordance) + z_b * math.sqrt(discordance - difference**2)) ** 2 / difference**2


def test_minimum_detectable_difference_normal_inverts_connor_1987():
    # The published example of powerandsamplesize.com's McNemar calculator (Connor 1987, p. 209):
    # p10 = 0.05, p01 = 0.45 (psi = 0.5, delta = 0.4), alpha = 0.05, 80% power: 23 pairs (22.01 unrounded).
    assert math.ceil(connor_sample_size(0.5, 0.4)) == 23
    assert stats.minimum_detectable_difference_normal(22, 11) > 0.4 > stats.minimum_detectable_difference_normal(24, 12)
    for n, discordant, power in ((22, 11, 0.8), (1797, 27, 0.8), (10000, 500, 0.9), (270, 40, 0.8)):
        difference = stats.minimum_detectable_difference_normal(n, discordant, power=power)
        assert connor_sample_size(discordant / n, difference, power=power) == pytest.approx(n, rel=1e-9)
    assert math.isnan(stats.minimum_detectable_difference_normal(1797, 0))
    assert math.isnan(stats.minimum_detectable_difference_normal(270, 4))  # the difference would exceed psi


@pytest.mark.parametrize("n, discordant, tolerance", [(5000, 250, 0.025), (1797, 27, 0.05)])
def test_exact_and_normal_minimum_detectable_differences_agree_for_large_n(n, discordant, tolerance):
    exact = stats.minimum_detectable_difference(n, discordant)
    normal = stats.minimum_detectable_difference_normal(n, discordant)
    assert normal < exact < normal * (1 + tolerance)  # the exact test is a little conservative


# --------------------------------------------------------------------------- Newcombe's interval


def test_newcombe_interval_matches_fagerland_lydersen_laake():
    # Complete response before and after consolidation therapy (Cavo et al. 2012), the paired
    # example of Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables (2017),
    # chapter 8: table [[59, 6], [16, 80]], Newcombe square-and-add -0.0621 (95% CI -0.1186 to
    # -0.0046), as their R package contingencytables prints it (tests/testthat/test-ch8.R).
    low, high = stats.newcombe_interval(both_right=59, a_only=6, b_only=16, both_wrong=80)
    assert (low, high) == pytest.approx((-0.1186, -0.0046), abs=5e-5)
    assert low < -10 / 161 < high
    # Swapping the models mirrors the interval.
    assert stats.newcombe_interval(59, 16, 6, 80) == pytest.approx((-high, -low), abs=1e-12)


def test_newcombe_interval_does_not_collapse_when_both_models_are_always_right():
    # Both accuracies 599/599: phi = 0 (a margin is 0), so the half-width is 1 - l, l the
    # Wilson lower bound of 599 of 599, n / (n + z^2).
    z = norm.ppf(0.975)
    half_width = 1 - 599 / (599 + z**2)
    assert stats.newcombe_interval(599, 0, 0, 0) == pytest.approx((-half_width, half_width), abs=1e-12)
    assert 0.006 < half_width < 0.007
    low, high = stats.newcombe_interval(0, 0, 0, 270)  # both always wrong
    assert low < 0 < high and high - low > 0.02


def test_newcombe_interval_is_close_to_the_bootstrap_away_from_the_boundary():
    y_true, pred_a, pred_b = paired_predictions(a_only=12, b_only=2, both_right=80, both_wrong=6)
    bootstrap = stats.paired_difference_interval(y_true, pred_a, pred_b, n_resamples=2000, seed=0)
    newcombe = stats.newcombe_interval(80, 12, 2, 6)
    assert newcombe == pytest.approx((bootstrap["low"], bootstrap["high"]), abs=0.02)
    narrow = stats.newcombe_interval(80, 12, 2, 6, level=0.5)
    assert newcombe[0] < narrow[0] < 0.10 < narrow[1] < newcombe[1]


# --------------------------------------------------------------------------- one model's metric at the boundary


def test_metric_interval_of_a_perfect_classifier_is_wilsons_not_a_point():
    labels = np.arange(270) % 10
    result = stats.metric_interval(labels, labels, stats.MACRO_METRICS["f1"], n_resamples=50)
    assert result["method"] == "wilson" and result["value"] == 1.0
    assert result["low"] == pytest.approx(270 / (270 + norm.ppf(0.975) ** 2), abs=1e-12)  # about 0.986
    assert 0.985 < result["low"] < 0.987 and result["high"] == 1.0
    wrong = stats.metric_interval(labels, (labels + 1) % 10, stats.MACRO_METRICS["recall"], n_resamples=50)
    assert wrong["method"] == "wilson" and wrong["low"] == 0.0 and 0.013 < wrong["high"] < 0.015


def test_metric_interval_is_the_bootstrap_when_some_image_is_wrong():
    labels = np.arange(270) % 10
    predictions = labels.copy()
    predictions[:3] = (predictions[:3] + 1) % 10
    f1 = stats.MACRO_METRICS["f1"]
    result = stats.metric_interval(labels, predictions, f1, n_resamples=100, seed=2)
    assert result["method"] == "bootstrap" and result["value"] == pytest.approx(f1(labels, predictions))
    assert (result["low"], result["high"]) == stats.bootstrap_interval(labels, predictions, f1, n_resamples=100, seed=2)
    assert result["low"] < result["value"] <= result["high"] <= 1.0


# --------------------------------------------------------------------------- folds


def fold_predictions(tables):
    """Per-image right/wrong of models a and b, and the fold, from one table per fold:
    (a_only, b_only, both_right, both_wrong)."""
    right_a, right_b, folds = [], [], []
    for fold, (a_only, b_only, both_right, both_wrong) in enumerate(tables):
        right_a += [1] * a_only + [0] * b_only + [1] * both_right + [0] * both_wrong
        right_b += [0] * a_only + [1] * b_only + [1] * both_right + [0] * both_wrong
        folds += [fold] * (a_only + b_only + both_right + both_wrong)
    order = np.random.default_rng(0).permutation(len(folds))  # folds interleaved, as images are
    return np.array(right_a)[order], np.array(right_b, dtype=bool)[order], np.array(folds)[order]


def test_paired_over_folds_pools_the_tables_and_keeps_each_fold():
    tables = [(3, 0, 596, 0), (2, 1, 595, 1), (1, 0, 598, 0)]
    right_a, right_b, folds = fold_predictions(tables)
    frame = stats.paired_over_folds(right_a, right_b, folds)
    assert list(frame.index) == [0, 1, 2, "pooled"] and frame.index.name == "fold"
    for fold, (a_only, b_only, both_right, both_wrong) in enumerate(tables):
        row = frame.loc[fold]
        assert (row["a_only"], row["b_only"], row["both_right"], row["both_wrong"], row["n"]) == (
            a_only, b_only, both_right, both_wrong, 599)
    pooled = frame.loc["pooled"]
    assert (pooled["n"], pooled["a_only"], pooled["b_only"], pooled["both_right"], pooled["both_wrong"]) == (
        1797, 6, 1, 1789, 1)
    assert pooled["correct_a"] == 1795 and pooled["accuracy_b"] == pytest.approx(1790 / 1797)
    assert (pooled["accuracy_a_low"], pooled["accuracy_a_high"]) == stats.accuracy_interval(1795, 1797)
    assert pooled["p_value"] == pytest.approx(binomtest(6, 7).pvalue) == pytest.approx(0.125)
    assert pooled["discordant"] == 7 and pooled["smallest_p_value"] == pytest.approx(2 / 128)
    assert pooled["minimum_detectable_difference"] == stats.minimum_detectable_difference(1797, 7)
    assert pooled["difference"] == pytest.approx(5 / 1797)
    assert (pooled["difference_low"], pooled["difference_high"]) == stats.newcombe_interval(1789, 6, 1, 1)
    # Fold 2: one discordant image can never be significant, and the interval is not a point.
    assert frame.loc[2, "smallest_p_value"] == 1.0 and frame.loc[2, "p_value"] == 1.0
    assert frame.loc[2, "difference_low"] < 0 < 1 / 599 < frame.loc[2, "difference_high"]
    assert stats.paired_summary(right_a, right_b) == pooled.to_dict()
