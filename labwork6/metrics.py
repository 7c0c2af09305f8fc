"""Classification metrics built on scikit-learn: accuracy, precision, recall, F1,
confusion matrix and classification report, and their mean and standard deviation
across runs with different seeds.

Labels are integers ``0 .. len(class_names) - 1``. Every function passes
``labels=range(len(class_names))`` to scikit-learn, so a class that is absent from a
small test split is still reported (with ``zero_division=0``: a precision or recall
whose denominator is zero counts as 0, and lowers the macro average).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

#: The keys of metrics.json that :func:`aggregate_runs` summarises by default.
SUMMARY_KEYS = ("accuracy", "precision", "recall", "f1")


def _check_class_names(class_names) -> list[str]:
    try:
        if isinstance(class_names, str | bytes):
            raise TypeError
        names = [str(name) for name in class_names]
    except TypeError:
        raise ValueError(
            f"`class_names` must be a list of class names. Received: class_names={class_names!r}"
        ) from None
    if len(names) < 2:
        raise ValueError(f"`class_names` must name at least 2 classes. Received: class_names={names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"`class_names` must be unique. Received: class_names={names!r}")
    return names


def as_labels(values, argument: str, num_classes: int) -> np.ndarray:
    """Integer label array of shape (N,), checked against ``range(num_classes)``; ``argument``
    names the values in the error message."""
    labels = np.asarray(values)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"`{argument}` must be a 1-D array of integer labels. Received: {argument} with "
            f"shape {labels.shape}"
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not (np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels))):
            raise ValueError(
                f"`{argument}` must hold integer labels (use labels_from_probabilities() for "
                f"probabilities). Received: {argument} of dtype {labels.dtype}, e.g. {labels[:5]!r}"
            )
    labels = labels.astype(np.int64)
    outside = labels[(labels < 0) | (labels >= num_classes)]
    if outside.size:
        raise ValueError(
            f"`{argument}` must hold labels in [0, {num_classes}) for {num_classes} classes. "
            f"Received: {argument} with labels {sorted(set(outside.tolist()))} out of range"
        )
    return labels


def _check_pair(y_true, y_pred, class_names) -> tuple[np.ndarray, np.ndarray, list[str]]:
    names = _check_class_names(class_names)
    y_pred = np.asarray(y_pred)
    if (
        y_pred.ndim == 2
        and np.issubdtype(y_pred.dtype, np.floating)
        and (y_pred.shape[1] > 1 or np.any((y_pred > 0) & (y_pred < 1)))
    ):
        y_pred = labels_from_probabilities(y_pred, num_classes=len(names))
    true = as_labels(y_true, "y_true", len(names))
    pred = as_labels(y_pred, "y_pred", len(names))
    if len(true) != len(pred):
        raise ValueError(
            "`y_true` and `y_pred` must have the same length. "
            f"Received: len(y_true)={len(true)}, len(y_pred)={len(pred)}"
        )
    if len(true) == 0:
        raise ValueError("`y_true` and `y_pred` are empty: there is nothing to evaluate. Received: 0 samples")
    return true, pred, names


def labels_from_probabilities(probs, num_classes: int | None = None) -> np.ndarray:
    """Predicted labels from a model's output.

    One column (a single sigmoid unit, shape ``(N,)`` or ``(N, 1)``): label 1 where the
    probability is >= 0.5, else 0. Several columns (softmax): the argmax.

    Args:
        probs: the probabilities, ``(N,)``, ``(N, 1)`` or ``(N, K)``.
        num_classes: if given, checks that the columns fit it (one column is valid
            only for 2 classes).

    Returns:
        int64 labels of shape ``(N,)``.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim == 1:
        probs = probs[:, None]
    if probs.ndim != 2 or probs.shape[1] < 1:
        raise ValueError(
            f"`probs` must have shape (N,), (N, 1) or (N, num_classes). Received: shape {probs.shape}"
        )
    columns = probs.shape[1]
    if num_classes is not None:
        expected = (1, 2) if num_classes == 2 else (num_classes,)
        if columns not in expected:
            raise ValueError(
                f"`probs` has {columns} column(s), which does not fit {num_classes} classes "
                f"(expected {' or '.join(map(str, expected))}). Received: shape {probs.shape}"
            )
    if columns == 1:
        return (probs[:, 0] >= 0.5).astype(np.int64)
    return np.argmax(probs, axis=1).astype(np.int64)


def classification_metrics(y_true, y_pred, class_names) -> dict:
    """Accuracy, precision, recall and F1 of a classifier, in the metrics.json schema.

    Args:
        y_true: true labels ``(N,)``.
        y_pred: predicted labels ``(N,)``, or probabilities ``(N, K)`` / ``(N, 1)``
            that :func:`labels_from_probabilities` turns into labels.
        class_names: one name per class, in label order.

    Returns:
        ``{"accuracy", "precision", "recall", "f1"}`` (the last three macro averages),
        ``"weighted": {"precision", "recall", "f1"}``, ``"per_class": {name:
        {"precision", "recall", "f1", "support"}}`` and ``"num_test"``. Plain Python
        floats and ints, ready for ``json.dump``.
    """
    true, pred, names = _check_pair(y_true, y_pred, class_names)
    labels = list(range(len(names)))

    def averaged(average):
        precision, recall, f1, _ = precision_recall_fscore_support(
            true, pred, labels=labels, average=average, zero_division=0
        )
        return precision, recall, f1

    macro = averaged("macro")
    weighted = averaged("weighted")
    precision, recall, f1, support = precision_recall_fscore_support(
        true, pred, labels=labels, average=None, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(true, pred)),
        "precision": float(macro[0]),
        "recall": float(macro[1]),
        "f1": float(macro[2]),
        "weighted": {"precision": float(weighted[0]), "recall": float(weighted[1]), "f1": float(weighted[2])},
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(names)
        },
        "num_test": int(len(true)),
    }


def confusion_matrix_frame(y_true, y_pred, class_names) -> pd.DataFrame:
    """Confusion matrix as a DataFrame: rows = true class (index name ``"true"``),
    columns = predicted class (columns name ``"predicted"``), counts as int64.
    Every class appears, also when it is absent from the split."""
    true, pred, names = _check_pair(y_true, y_pred, class_names)
    matrix = confusion_matrix(true, pred, labels=list(range(len(names))))
    return pd.DataFrame(
        matrix.astype(np.int64),
        index=pd.Index(names, name="true"),
        columns=pd.Index(names, name="predicted"),
    )


def classification_report_frame(y_true, y_pred, class_names) -> pd.DataFrame:
    """scikit-learn's classification report as a DataFrame.

    Rows: one per class, then ``"macro avg"``, ``"weighted avg"`` and ``"accuracy"``;
    columns: ``precision``, ``recall``, ``f1``, ``support``. As in scikit-learn's text
    report, the accuracy row holds the accuracy in the ``f1`` column and the number of
    samples as support; its precision and recall are NaN.
    """
    metrics = classification_metrics(y_true, y_pred, class_names)
    rows = {name: values for name, values in metrics["per_class"].items()}
    total = metrics["num_test"]
    rows["macro avg"] = {key: metrics[key] for key in ("precision", "recall", "f1")} | {"support": total}
    rows["weighted avg"] = dict(metrics["weighted"]) | {"support": total}
    rows["accuracy"] = {"precision": np.nan, "recall": np.nan, "f1": metrics["accuracy"], "support": total}
    frame = pd.DataFrame.from_dict(rows, orient="index")[["precision", "recall", "f1", "support"]]
    frame["support"] = frame["support"].astype(np.int64)
    frame.index.name = "class"
    return frame


def _lookup(metrics: Mapping, key: str):
    """``metrics[key]``, where a dotted key such as ``"weighted.f1"`` walks nested dicts."""
    value = metrics
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            available = sorted(k for k, v in metrics.items() if not isinstance(v, Mapping))
            raise ValueError(
                f"Metric {key!r} not found in a run's metrics (top-level numbers: {available}; "
                f"nested ones as 'weighted.f1' or 'per_class.<class>.f1'). Received: key={key!r}"
            )
        value = value[part]
    return value


def aggregate_runs(runs: Sequence[Mapping], keys: Sequence[str] = SUMMARY_KEYS) -> pd.DataFrame:
    """Mean and standard deviation of metrics across runs (e.g. seeds).

    Args:
        runs: metrics dicts (the metrics.json schema), one per run.
        keys: the metrics to summarise; a dotted key walks nested dicts
            (``"weighted.f1"``, ``"per_class.cat.recall"``).

    Returns:
        A DataFrame indexed by metric with columns ``mean``, ``std`` and ``n``.
        ``std`` is the sample standard deviation (ddof=1), so it is NaN for a single
        run: one run says nothing about the spread (:func:`format_mean_std` then
        prints the mean alone).
    """
    if isinstance(runs, Mapping) or not isinstance(runs, Sequence) or len(runs) == 0:
        raise ValueError(f"`runs` must be a non-empty list of metrics dicts. Received: runs={runs!r:.200}")
    if isinstance(keys, str):
        keys = (keys,)
    rows = {}
    for key in keys:
        values = np.array([float(_lookup(run, key)) for run in runs], dtype=np.float64)
        rows[key] = {
            "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if len(values) > 1 else math.nan,
            "n": len(values),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")[["mean", "std", "n"]]
    frame["n"] = frame["n"].astype(np.int64)
    frame.index.name = "metric"
    return frame


def format_mean_std(mean: float, std: float | None = None, percent: bool = True, decimals: int = 2) -> str:
    """``"99.26 ± 0.21"`` for tables (fractions shown as percentages by default).

    A missing or NaN ``std`` (a single run) prints the mean alone.
    """
    scale = 100.0 if percent else 1.0
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    text = f"{mean * scale:.{decimals}f}"
    if std is not None and not math.isnan(std):
        text += f" ± {std * scale:.{decimals}f}"
    return text


def macro_scores(y_true, y_pred, num_classes: int) -> dict:
    """Macro precision, recall and F1 from the counts of one confusion matrix, as
    :func:`classification_metrics` computes them (every class of ``range(num_classes)``,
    0 for a zero denominator), fast enough to be recomputed thousands of times (bootstrap)."""
    true, pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    matrix = np.bincount(true * num_classes + pred, minlength=num_classes * num_classes)
    matrix = matrix.reshape(num_classes, num_classes)
    hits = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros(num_classes), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros(num_classes), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(num_classes), where=total > 0)
    return {"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean())}


def macro_metric(key: str, num_classes: int):
    """``metric(y_true, y_pred)`` giving the macro ``key`` (precision, recall or f1) of
    :func:`macro_scores`, for :func:`labwork6.stats.bootstrap_interval`."""
    if key not in ("precision", "recall", "f1"):
        raise ValueError(f"`key` must be 'precision', 'recall' or 'f1'. Received: key={key!r}")
    return lambda y_true, y_pred: macro_scores(y_true, y_pred, num_classes)[key]


def percent_decimals(total: int) -> int:
    """The decimals a percentage over ``total`` test images supports: the fewest whose last
    digit is no larger than one image (270 images: one image is 0.37 points, so 1 decimal;
    30 images: 0 decimals; 10,000: 2)."""
    if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or total < 1:
        raise ValueError(f"`total` must be a positive number of images. Received: total={total!r}")
    return max(0, math.ceil(-math.log10(100.0 / int(total)) - 1e-12))


def format_interval(value: float, low: float, high: float, decimals: int = 1, percent: bool = True) -> str:
    """``"99.3 [97.3, 99.8]"``: a value and its interval (fractions shown as percentages)."""
    scale = 100.0 if percent else 1.0

    def number(x: float) -> str:
        text = f"{x * scale:.{decimals}f}"
        return text.lstrip("-") if float(text) == 0 else text  # no "-0"

    return f"{number(value)} [{number(low)}, {number(high)}]"
