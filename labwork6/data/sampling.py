"""Stratified, seeded draws of images by position: the one primitive that splitting and subsampling share."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split


def stratified_draw(labels: np.ndarray, n: int, random_state: np.random.RandomState) -> np.ndarray:
    """Sorted positions of up to ``n`` of ``labels``, drawn in proportion to the classes
    (scikit-learn's ``train_test_split(stratify=...)``), always leaving every class at least
    one image that is not drawn.

    Fewer than ``n`` are drawn only when leaving one image per class requires it. When the
    classes are too small to stratify (scikit-learn needs two images per class and ``n`` and
    what is left each at least the number of classes), the draw is a plain seeded one.
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    # a class's only image is never drawn: what is left (train, or a subsample) keeps every class
    pool = np.flatnonzero(np.isin(labels, classes[counts > 1]))
    splittable = int(np.count_nonzero(counts > 1))
    n = min(int(n), len(pool) - splittable)
    if n <= 0:
        return np.zeros(0, np.int64)
    stratify = labels[pool] if splittable <= n else None
    _, drawn = train_test_split(pool, test_size=n, stratify=stratify, random_state=random_state)
    return np.sort(_leave_one_per_class(labels, drawn, random_state))


def _leave_one_per_class(labels: np.ndarray, drawn: np.ndarray, random_state) -> np.ndarray:
    """``drawn`` with one image of every class it took whole swapped for a spare image of the rest.

    Hand-written: scikit-learn's stratified split rounds small classes and does not promise
    that both sides keep every class; a plain draw promises nothing."""
    drawn = np.asarray(drawn, np.int64)
    rest = np.setdiff1d(np.arange(len(labels)), drawn)
    for label in np.unique(labels[drawn]):
        if np.any(labels[rest] == label):
            continue
        back = drawn[labels[drawn] == label][0]
        rest_labels, rest_counts = np.unique(labels[rest], return_counts=True)
        spare = rest[np.isin(labels[rest], rest_labels[rest_counts > 1])]
        drawn = drawn[drawn != back]
        if len(spare):  # the draw keeps its size when another class can spare an image
            swap = spare[random_state.randint(len(spare))]
            drawn, rest = np.append(drawn, swap), rest[rest != swap]
        rest = np.append(rest, back)
    return drawn
