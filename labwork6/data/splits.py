"""Stratified, seeded splitting: how many images of each class go to val and test, and which."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from labwork6.data.core import Split


def check_fractions(fractions: dict[str, float]) -> None:
    """Raise ``ValueError`` unless every ``{split: fraction}`` lies in (0, 1) and they sum below 1."""
    for split, fraction in fractions.items():
        name = f"{split}_fraction"
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, (int, float, np.floating))
            or not (0 < fraction < 1)
        ):
            raise ValueError(
                f"{name} must be a number strictly between 0 and 1 (0 leaves the {split} split empty). "
                f"Received: {name}={fraction!r}."
            )
    if sum(fractions.values()) >= 1:
        received = ", ".join(f"{split}_fraction={f!r}" for split, f in fractions.items())
        raise ValueError(
            f"The fractions must add up to less than 1 so that training images remain. Received: {received}."
        )


def _allocate(counts: np.ndarray, n: int, caps: np.ndarray, rng, at_least_one: bool) -> np.ndarray:
    """Images to take per class: proportional to ``counts``, summing to ``n`` where ``caps`` allow."""
    quotas = n * counts / counts.sum()
    take = np.minimum(np.floor(quotas + 1e-9).astype(np.int64), caps)
    floor_one = np.minimum(1, caps) if at_least_one and n >= np.count_nonzero(caps) else np.zeros_like(caps)
    take = np.maximum(take, floor_one)
    tie_break = rng.random(len(counts))
    while take.sum() < n:
        room = np.flatnonzero(take < caps)
        if not len(room):
            break
        order = room[np.lexsort((tie_break[room], -(quotas - take)[room]))]
        take[order[0]] += 1
    while take.sum() > n:
        spare = np.flatnonzero(take > floor_one)
        order = spare[np.lexsort((tie_break[spare], (quotas - take)[spare]))]
        take[order[0]] -= 1
    return take


def stratified_choice(labels: np.ndarray, n: int, rng, *, keep_one: bool = False, at_least_one: bool = False):
    """Sorted indices of ``n`` images drawn per class in proportion to the class counts.

    ``keep_one`` leaves at least one image of every class out (so that train keeps each class);
    ``at_least_one`` gives every class at least one image when ``n`` allows it.
    """
    classes, counts = np.unique(labels, return_counts=True)
    caps = counts - 1 if keep_one else counts
    take = _allocate(counts, n, caps, rng, at_least_one)
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take, strict=True)]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def carve(part: Split, fractions: dict[str, float], seed: int, class_names: list[str], what: str) -> dict[str, Split]:
    """Split ``part`` into train plus the splits in ``fractions`` (stratified, seeded).

    Test is drawn first, then val, each rounded up; train keeps at least one image of every
    class. ``what`` names the images in errors and warnings.
    """
    check_fractions(fractions)
    rng = np.random.default_rng(seed)
    n = len(part)
    remaining = np.arange(n)
    result = {}
    for split in ("test", "val"):
        if split not in fractions:
            continue
        wanted = math.ceil(round(fractions[split] * n, 9))
        chosen = stratified_choice(part.labels[remaining], wanted, rng, keep_one=True, at_least_one=True)
        result[split] = remaining[chosen]
        remaining = np.delete(remaining, chosen)
    received = ", ".join(f"{s}_fraction={f!r}" for s, f in fractions.items())
    for split, indices in result.items():
        if not len(indices) or not len(remaining):
            empty = split if not len(indices) else "train"
            raise ValueError(
                f"Splitting the {n} images of {what} with {received} leaves the {empty} split empty "
                f"(train keeps at least one image of each class). Use fractions in (0, 1) that leave "
                "every split at least one image, or add images."
            )
    result["train"] = remaining
    counts = {split: np.bincount(part.labels[idx], minlength=len(class_names)) for split, idx in result.items()}
    for split in ("val", "test"):
        if split in counts and (missing := [c for c, k in zip(class_names, counts[split], strict=True) if not k]):
            warnings.warn(
                f"{what}: the {split} split has no images of class(es) {missing} (too few images to "
                "stratify); their metrics on that split will be undefined.",
                stacklevel=3,
            )
    return {split: part.take(idx) for split, idx in result.items()}


def split_note(fractions: dict[str, float], seed: int) -> str:
    """The words ``Dataset.notes`` uses for a split made here."""
    shares = ", ".join(f"{split} {fraction:.0%}" for split, fraction in fractions.items())
    return f"split here: {shares}, rest train (stratified by class, seed {seed})"
