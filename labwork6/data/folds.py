"""Stratified k-fold cross-validation: which fold tests each image, and one fold's train, val and test.

With k folds every image is tested exactly once, by the model trained on the other k - 1 folds,
so the k test splits together are the whole source and the predictions of the k runs can be
pooled into one prediction per image. A split is a pure function of (images, seed, k, fold):
:func:`fold_assignment` is scikit-learn's ``StratifiedKFold(n_splits=k, shuffle=True,
random_state=seed)``; :func:`fold_split` takes fold ``fold`` as the test split and, from the other
folds, a stratified validation slice (seeded by ``(seed, fold)``) for the recipe's epoch choice.
"""

from __future__ import annotations

import math

import numpy as np

from labwork6.data.core import Split
from labwork6.data.sampling import stratified_draw

#: The share of the training folds' images kept aside for validation (the epoch choice).
VAL_FRACTION = 0.15


def check_folds(folds, fold) -> tuple[int, int]:
    """``(folds, fold)`` as ints, or ``ValueError`` naming the value: ``folds`` an int >= 2 and
    ``fold`` an int in ``[0, folds)``."""
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"`folds` must be an integer of at least 2 (the number of cross-validation folds; None "
                         f"for a holdout split). Received: folds={folds!r}")
    if isinstance(fold, bool) or not isinstance(fold, (int, np.integer)) or not 0 <= fold < folds:
        raise ValueError(f"`fold` must be an integer in [0, {int(folds) - 1}] (the fold that is the test split, "
                         f"counted from 0, with folds={int(folds)}). Received: fold={fold!r}")
    return int(folds), int(fold)


def fold_assignment(labels, folds: int, seed: int, class_names=None) -> np.ndarray:
    """The fold (0..``folds`` - 1) that tests each image, stratified by class and seeded:
    ``StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)`` of scikit-learn.

    Raises ``ValueError`` when a class has fewer than ``folds`` images (it could not appear in
    every test fold)."""
    from sklearn.model_selection import StratifiedKFold

    folds, _ = check_folds(folds, 0)
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    if (small := counts < folds).any():
        names = [class_names[c] if class_names is not None else int(c) for c in classes[small]]
        raise ValueError(f"{folds}-fold cross-validation needs at least {folds} images of every class; class(es) "
                         f"{names} have {counts[small].tolist()}. Use fewer folds or add images.")
    assigned = np.empty(len(labels), np.int64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(seed))
    for index, (_, test) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        assigned[test] = index
    return assigned


def fold_split(part: Split, folds: int, fold: int, seed: int, class_names, *,
               val_fraction: float = VAL_FRACTION) -> dict[str, Split]:
    """Fold ``fold`` of ``part`` as the test split; the other folds give a stratified validation
    slice of ``val_fraction`` (rounded up, seeded by ``(seed, fold)``) and the training split.

    Returns ``{"train": ..., "val": ..., "test": ...}``, each keeping the images' ``ids``."""
    folds, fold = check_folds(folds, fold)
    assigned = fold_assignment(part.labels, folds, seed, class_names)
    test = np.flatnonzero(assigned == fold)
    rest = np.flatnonzero(assigned != fold)
    wanted = math.ceil(round(val_fraction * len(rest), 9))
    val = rest[stratified_draw(part.labels[rest], wanted, np.random.RandomState([int(seed), fold]))]
    train = np.setdiff1d(rest, val)
    return {"train": part.take(train), "val": part.take(val), "test": part.take(test)}


def fold_note(folds: int, fold: int, seed: int, val_fraction: float = VAL_FRACTION) -> str:
    """The words ``Dataset.notes`` uses for one fold of a cross-validation."""
    return (f"{folds}-fold stratified cross-validation (seed {seed}): test = fold {fold} (folds counted from 0); "
            f"val = {val_fraction:.0%} of the other folds (stratified, seeded by seed and fold), rest train")


def stratified_subset(part: Split, max_images: int, seed) -> Split:
    """At most ``max_images`` of ``part``, drawn in proportion to the classes (seeded by ``seed``,
    an int or a sequence of ints), every class keeping at least one image; ``part`` itself when
    it is not larger."""
    if isinstance(max_images, bool) or not isinstance(max_images, (int, np.integer)) or max_images < 1:
        raise ValueError(f"`max_images` must be a positive integer. Received: max_images={max_images!r}")
    if len(part) <= max_images:
        return part
    seed = [int(value) for value in seed] if isinstance(seed, (list, tuple)) else int(seed)
    dropped = stratified_draw(part.labels, len(part) - int(max_images), np.random.RandomState(seed))
    return part.take(np.setdiff1d(np.arange(len(part)), dropped))
