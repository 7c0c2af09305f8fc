"""Stratified, seeded splitting of one :class:`~labwork6.data.core.Split` into train, val and test."""

from __future__ import annotations

import math
import warnings

import numpy as np

from labwork6.data.core import Split
from labwork6.data.sampling import stratified_draw


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


def carve(part: Split, fractions: dict[str, float], seed: int, class_names: list[str], what: str) -> dict[str, Split]:
    """Split ``part`` into train plus the splits in ``fractions`` (stratified, seeded).

    Test is drawn first, then val, each rounded up, by :func:`~labwork6.data.sampling.stratified_draw`
    (scikit-learn); train keeps at least one image of every class. ``what`` names the images in
    errors and warnings.
    """
    check_fractions(fractions)
    random_state = np.random.RandomState(seed)
    n = len(part)
    remaining = np.arange(n)
    result = {}
    for split in ("test", "val"):
        if split not in fractions:
            continue
        wanted = math.ceil(round(fractions[split] * n, 9))
        chosen = stratified_draw(part.labels[remaining], wanted, random_state)
        result[split] = remaining[chosen]
        remaining = np.delete(remaining, chosen)
    received = ", ".join(f"{s}_fraction={f!r}" for s, f in fractions.items())
    for split, indices in result.items():
        if not len(indices):
            raise ValueError(
                f"Splitting the {n} images of {what} with {received} leaves the {split} split empty "
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
