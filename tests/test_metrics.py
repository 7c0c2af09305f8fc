"""labwork6.metrics against small examples worked out by hand."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from labwork6.metrics import (
    classification_metrics,
    classification_report_frame,
    confusion_matrix_frame,
    labels_from_probabilities,
    macro_metric,
    macro_scores,
)

# Binary: 4 negatives, 6 positives.
#                    true 0      true 1
BINARY_TRUE = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
BINARY_PRED = [0, 0, 0, 1, 1, 1, 1, 1, 0, 0]
# Confusion matrix worked out by hand: true 0 -> 3 right, 1 wrong; true 1 -> 2 wrong, 4 right.
BINARY_CM = [[3, 1], [2, 4]]
# class "no":  precision 3/(3+2) = 0.6, recall 3/4 = 0.75, F1 = 2*0.6*0.75/1.35 = 2/3
# class "yes": precision 4/(4+1) = 0.8, recall 4/6 = 2/3,  F1 = 2*0.8*(2/3)/(0.8+2/3) = 8/11
BINARY_PER_CLASS = {
    "no": {"precision": 0.6, "recall": 0.75, "f1": 2 / 3, "support": 4},
    "yes": {"precision": 0.8, "recall": 2 / 3, "f1": 8 / 11, "support": 6},
}

# Three classes, 10 images.
MULTI_TRUE = [0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
MULTI_PRED = [0, 0, 1, 1, 1, 1, 2, 2, 2, 0]
# Rows = true, columns = predicted, counted by hand.
MULTI_CM = [[2, 1, 0], [0, 3, 1], [1, 0, 2]]
# Column sums 3, 4, 3 and row sums 3, 4, 3: precision = recall = F1 = 2/3, 3/4, 2/3.


def test_binary_example_by_hand():
    metrics = classification_metrics(BINARY_TRUE, BINARY_PRED, ["no", "yes"])
    assert metrics["accuracy"] == pytest.approx(0.7)
    assert metrics["precision"] == pytest.approx((0.6 + 0.8) / 2)
    assert metrics["recall"] == pytest.approx((0.75 + 2 / 3) / 2)  # 17/24
    assert metrics["f1"] == pytest.approx((2 / 3 + 8 / 11) / 2)  # 23/33
    # Weighted by support 4 and 6.
    assert metrics["weighted"]["precision"] == pytest.approx((4 * 0.6 + 6 * 0.8) / 10)  # 0.72
    assert metrics["weighted"]["recall"] == pytest.approx(0.7)
    assert metrics["weighted"]["f1"] == pytest.approx((4 * 2 / 3 + 6 * 8 / 11) / 10)
    for name, expected in BINARY_PER_CLASS.items():
        for key, value in expected.items():
            assert metrics["per_class"][name][key] == pytest.approx(value), (name, key)
    assert metrics["num_test"] == 10
    cm = confusion_matrix_frame(BINARY_TRUE, BINARY_PRED, ["no", "yes"])
    assert cm.to_numpy().tolist() == BINARY_CM
    assert list(cm.index) == ["no", "yes"] and cm.index.name == "true" and cm.columns.name == "predicted"


def test_schema_is_metrics_json():
    metrics = classification_metrics(BINARY_TRUE, BINARY_PRED, ["no", "yes"])
    assert set(metrics) == {"accuracy", "precision", "recall", "f1", "weighted", "per_class", "num_test"}
    assert set(metrics["weighted"]) == {"precision", "recall", "f1"}
    assert all(set(v) == {"precision", "recall", "f1", "support"} for v in metrics["per_class"].values())
    # Plain Python types: json.dumps must not need a custom encoder.
    assert json.loads(json.dumps(metrics)) == metrics
    assert isinstance(metrics["per_class"]["no"]["support"], int)


def test_three_classes_by_hand():
    names = ["a", "b", "c"]
    metrics = classification_metrics(MULTI_TRUE, MULTI_PRED, names)
    assert metrics["accuracy"] == pytest.approx(0.7)
    expected = {"a": 2 / 3, "b": 3 / 4, "c": 2 / 3}
    for name, value in expected.items():
        for key in ("precision", "recall", "f1"):
            assert metrics["per_class"][name][key] == pytest.approx(value)
    assert metrics["precision"] == pytest.approx(25 / 36)  # (2/3 + 3/4 + 2/3) / 3
    assert metrics["f1"] == pytest.approx(25 / 36)
    assert metrics["weighted"]["f1"] == pytest.approx((3 * 2 / 3 + 4 * 3 / 4 + 3 * 2 / 3) / 10)  # 0.7
    assert confusion_matrix_frame(MULTI_TRUE, MULTI_PRED, names).to_numpy().tolist() == MULTI_CM


def test_absent_class_is_still_reported():
    # Class "d" never occurs in this split: it has zero support and counts as 0 in the macro average.
    names = ["a", "b", "c", "d"]
    metrics = classification_metrics(MULTI_TRUE, MULTI_PRED, names)
    assert metrics["per_class"]["d"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert metrics["precision"] == pytest.approx((2 / 3 + 3 / 4 + 2 / 3) / 4)
    assert metrics["accuracy"] == pytest.approx(0.7)
    cm = confusion_matrix_frame(MULTI_TRUE, MULTI_PRED, names)
    assert cm.shape == (4, 4) and cm.loc["d"].sum() == 0 and cm["d"].sum() == 0


def test_sigmoid_threshold_and_softmax_argmax():
    sigmoid = np.array([0.0, 0.2, 0.4999, 0.5, 0.51, 1.0], dtype=np.float32)
    assert labels_from_probabilities(sigmoid).tolist() == [0, 0, 0, 1, 1, 1]
    assert labels_from_probabilities(sigmoid[:, None]).tolist() == [0, 0, 0, 1, 1, 1]
    softmax = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])
    assert labels_from_probabilities(softmax).tolist() == [0, 2, 1]
    # Probabilities go straight into classification_metrics as well.
    probs = np.where(np.array(BINARY_PRED) == 1, 0.9, 0.1)[:, None]
    assert classification_metrics(BINARY_TRUE, probs, ["no", "yes"]) == classification_metrics(
        BINARY_TRUE, BINARY_PRED, ["no", "yes"]
    )
    with pytest.raises(ValueError, match="4 column"):
        labels_from_probabilities(np.full((2, 4), 0.25), num_classes=3)


def test_classification_report_frame():
    report = classification_report_frame(MULTI_TRUE, MULTI_PRED, ["a", "b", "c"])
    assert list(report.columns) == ["precision", "recall", "f1", "support"]
    assert list(report.index) == ["a", "b", "c", "macro avg", "weighted avg", "accuracy"]
    assert report.loc["b", "recall"] == pytest.approx(0.75)
    assert report.loc["macro avg", "f1"] == pytest.approx(25 / 36)
    assert report.loc["accuracy", "f1"] == pytest.approx(0.7)
    assert math.isnan(report.loc["accuracy", "precision"])
    assert report["support"].tolist() == [3, 4, 3, 10, 10, 10]


@pytest.mark.parametrize(
    ("y_true", "y_pred", "names", "message"),
    [
        ([0, 1, 1], [0, 1], ["a", "b"], r"len\(y_true\)=3, len\(y_pred\)=2"),
        ([0, 1, 2], [0, 1, 1], ["a", "b"], r"\[0, 2\).*labels \[2\]"),
        ([0, 1, 1], [0, -1, 1], ["a", "b"], r"y_pred.*labels \[-1\]"),
        ([0, 1, 1], [0, 1, 1], ["a"], r"at least 2 classes.*\['a'\]"),
        ([0, 1, 1], [0, 1, 1], ["a", "a"], r"unique.*\['a', 'a'\]"),
        ([0, 1, 1], [0, 1, 1], "ab", r"list of class names.*'ab'"),
        ([0, 1], [0.5, 1.5], ["a", "b"], r"integer labels.*float64"),
        ([], [], ["a", "b"], "empty"),
    ],
)
def test_errors_name_the_received_values(y_true, y_pred, names, message):
    with pytest.raises(ValueError, match=message):
        classification_metrics(y_true, y_pred, names)


def test_probabilities_with_the_wrong_number_of_classes():
    with pytest.raises(ValueError, match=r"2 column.*3 classes"):
        classification_metrics([0, 1], np.array([[0.3, 0.7], [0.6, 0.4]]), ["a", "b", "c"])


def test_confusion_and_report_frames_hold_the_counts():
    # one "a" predicted as "b", one "b" predicted right
    matrix = confusion_matrix_frame([0, 1], [1, 1], ["a", "b"])
    assert isinstance(matrix, pd.DataFrame)
    assert (matrix.index.name, matrix.columns.name) == ("true", "predicted")
    assert matrix.to_numpy().tolist() == [[0, 1], [0, 1]] and list(matrix.columns) == ["a", "b"]
    report = classification_report_frame([0, 1], [1, 1], ["a", "b"])
    assert list(report.columns) == ["precision", "recall", "f1", "support"]
    assert list(report.index) == ["a", "b", "macro avg", "weighted avg", "accuracy"]
    assert report.loc["b"].tolist() == pytest.approx([0.5, 1.0, 2 / 3, 1])
    assert report.loc["a", "f1"] == 0.0 and report.loc["accuracy", "f1"] == 0.5
    assert report.loc["macro avg", "f1"] == pytest.approx(1 / 3) and report["support"].dtype == np.int64


def test_macro_scores_equal_classification_metrics():
    assert macro_scores(MULTI_TRUE, MULTI_PRED, 3) == pytest.approx({"precision": 25 / 36, "recall": 25 / 36,
                                                                     "f1": 25 / 36})
    rng = np.random.default_rng(0)
    for _ in range(20):  # small splits, where a class may be missing from the truth or the predictions
        y_true, y_pred = rng.integers(0, 6, size=15), rng.integers(0, 6, size=15)
        expected = classification_metrics(y_true, y_pred, [str(i) for i in range(6)])
        scores = macro_scores(y_true, y_pred, 6)
        for key in ("precision", "recall", "f1"):
            assert scores[key] == pytest.approx(expected[key])
            assert macro_metric(key, 6)(y_true, y_pred) == pytest.approx(expected[key])
    with pytest.raises(ValueError, match="key='accuracy'"):
        macro_metric("accuracy", 6)
