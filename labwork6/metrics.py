"""Classification metrics built on scikit-learn: accuracy, precision, recall, F1,
confusion matrix and classification report (``classification_report(output_dict=True)``).

Labels are integers ``0 .. len(class_names) - 1``. Every function passes
``labels=range(len(class_names))`` to scikit-learn, so a class that is absent from a
small test split is still reported (with ``zero_division=0``: a precision or recall
whose denominator is zero counts as 0, and lowers the macro average).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

#: The headline keys of metrics.json (macro averages but accuracy), summarised over seeds by the comparison.
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
    report = _report(true, pred, names)

    def scores(row: dict) -> dict:
        return {"precision": float(row["precision"]), "recall": float(row["recall"]), "f1": float(row["f1-score"])}

    return {
        "accuracy": float(accuracy_score(true, pred)),
        **scores(report["macro avg"]),
        "weighted": scores(report["weighted avg"]),
        "per_class": {name: {**scores(report[name]), "support": int(report[name]["support"])} for name in names},
        "num_test": int(len(true)),
    }


def _report(true: np.ndarray, pred: np.ndarray, names: list[str]) -> dict:
    """scikit-learn's ``classification_report(output_dict=True)`` over every class of ``names``."""
    # A class named like a summary row ("accuracy", "macro avg") would overwrite it in the dict.
    clash = sorted({"accuracy", "macro avg", "weighted avg", "micro avg"} & set(names))
    if clash:
        raise ValueError(f"Class names may not be those of the report's summary rows. Received: {clash}")
    return classification_report(true, pred, labels=list(range(len(names))), target_names=names, output_dict=True,
                                 zero_division=0)


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
    true, pred, names = _check_pair(y_true, y_pred, class_names)
    report = _report(true, pred, names)
    accuracy = report.pop("accuracy")
    frame = pd.DataFrame.from_dict(report, orient="index").rename(columns={"f1-score": "f1"})
    frame.loc["accuracy"] = {"precision": np.nan, "recall": np.nan, "f1": accuracy, "support": len(true)}
    frame = frame[["precision", "recall", "f1", "support"]]
    frame["support"] = frame["support"].astype(np.int64)
    frame.index.name = "class"
    return frame


def _macro_rows(true: np.ndarray, pred: np.ndarray, num_classes: int) -> dict[str, np.ndarray]:
    """Macro precision, recall and F1 of each row of two ``(rows, images)`` label arrays, from one
    confusion matrix per row (a class without predictions or images counts 0)."""
    rows = true.shape[0]
    offsets = np.arange(rows, dtype=np.int64)[:, None] * (num_classes * num_classes)
    matrix = np.bincount((offsets + true * num_classes + pred).ravel(), minlength=rows * num_classes * num_classes)
    matrix = matrix.reshape(rows, num_classes, num_classes)
    hits = np.diagonal(matrix, axis1=1, axis2=2).astype(np.float64)
    predicted, actual = matrix.sum(axis=1), matrix.sum(axis=2)
    precision = np.divide(hits, predicted, out=np.zeros(hits.shape), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros(hits.shape), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(hits.shape), where=total > 0)
    return {"precision": precision.mean(axis=1), "recall": recall.mean(axis=1), "f1": f1.mean(axis=1)}


def macro_scores(y_true, y_pred, num_classes: int) -> dict:
    """Macro precision, recall and F1 from the counts of one confusion matrix, as
    :func:`classification_metrics` computes them (every class of ``range(num_classes)``,
    0 for a zero denominator), fast enough to be recomputed thousands of times (bootstrap)."""
    true, pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    return {key: float(value[0]) for key, value in _macro_rows(true[None], pred[None], num_classes).items()}


def macro_metric(key: str, num_classes: int):
    """``metric(y_true, y_pred, axis=-1)`` giving the macro ``key`` (precision, recall or f1) of
    :func:`macro_scores`, for :func:`labwork6.stats.bootstrap_interval`: a number for 1-D labels,
    one per resample for stacked ones (``metric.vectorized``: all resamples in one pass)."""
    if key not in ("precision", "recall", "f1"):
        raise ValueError(f"`key` must be 'precision', 'recall' or 'f1'. Received: key={key!r}")

    def metric(y_true, y_pred, axis: int = -1):
        true = np.moveaxis(np.asarray(y_true, dtype=np.int64), axis, -1)
        pred = np.moveaxis(np.asarray(y_pred, dtype=np.int64), axis, -1)
        values = _macro_rows(true.reshape(-1, true.shape[-1]), pred.reshape(-1, pred.shape[-1]), num_classes)[key]
        return values.reshape(true.shape[:-1]) if true.ndim > 1 else float(values[0])

    metric.vectorized = True
    return metric
