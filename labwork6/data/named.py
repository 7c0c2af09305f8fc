"""``load_dataset``: a dataset by name (digits, faces, the keras.datasets ones) or from a folder."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from labwork6.data.core import DATASET_NAMES, KERAS_DATASETS, Dataset, Split
from labwork6.data.folders import FOLDER_LAYOUTS, load_folder
from labwork6.data.images import check_image_size, resize_images
from labwork6.data.keras_datasets import load_keras_dataset
from labwork6.data.splits import carve, split_note

DIGITS_CLASS_NAMES = [str(i) for i in range(10)]
# Labels 0 = background crop, 1 = face: sorted names keep that order in an exported folder.
FACES_CLASS_NAMES = ["background", "face"]


def load_dataset(
    source: str | os.PathLike = "digits",
    *,
    image_size: int | tuple[int, int] | None = None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> Dataset:
    """Load a dataset by name or from a folder, split into train / val / test.

    Args:
        source: one of ``DATASET_NAMES`` (``"digits"``, ``"faces"``, ``"mnist"``,
            ``"fashion_mnist"``, ``"cifar10"``, ``"cifar100"``) or a path to a folder laid out
            as ``ROOT/{train,val,test}/CLASS/*`` or ``ROOT/CLASS/*``. Names win over folders of
            the same name: write ``./digits`` to mean a folder.
        image_size: ``None`` keeps the images' size (a folder of mixed sizes is resized to its
            most common size, with a warning); an int or ``(height, width)`` resizes every
            image (bilinear) while loading.
        val_fraction, test_fraction: shares of the images put in val and test when a split has
            to be made here (stratified by class, rounded up). Sources with an official test
            split (the keras datasets) take val from their train split and ignore
            ``test_fraction``; a folder's own ``val/`` or ``test/`` is used as it is.
        seed: fixes every split.

    Returns:
        A :class:`Dataset` with uint8 images (N, H, W, C) and int64 labels.
    """
    size = check_image_size(image_size)
    if isinstance(source, os.PathLike):
        return load_folder(Path(source), size, val_fraction, test_fraction, seed)
    if not isinstance(source, str):
        raise TypeError(
            f"source must be a dataset name ({', '.join(DATASET_NAMES)}) or a folder path. "
            f"Received: source={source!r} of type {type(source).__name__}."
        )
    key = source.strip().lower().replace("-", "_")
    if key in DATASET_NAMES:
        if key in KERAS_DATASETS:
            dataset = load_keras_dataset(key, val_fraction, seed)
        else:
            dataset = _load_builtin(key, {"val": val_fraction, "test": test_fraction}, seed)
        if size is not None and dataset.image_shape[:2] != size:
            dataset = _resize_dataset(dataset, size)
        return dataset
    looks_like_path = os.sep in source or "/" in source or source.startswith((".", "~"))
    if looks_like_path or Path(source).exists():
        return load_folder(Path(source).expanduser(), size, val_fraction, test_fraction, seed)
    raise ValueError(
        f"Unknown dataset. Valid names: {', '.join(DATASET_NAMES)}; or a path to an image folder "
        f"({FOLDER_LAYOUTS}). Received: source={source!r}."
    )


def _read_digits() -> tuple[Split, list[str], str, str]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # 17 grey levels (0..16) stretched to the canonical 0..255.
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    return (Split(images, bunch.target), DIGITS_CLASS_NAMES, "sklearn.datasets.load_digits",
            "8x8 grayscale, grey levels 0..16 scaled to 0..255")


def _read_faces() -> tuple[Split, list[str], str, str]:
    from skimage.data import lfw_subset

    images = np.rint(np.clip(lfw_subset(), 0.0, 1.0) * 255.0).astype(np.uint8)[..., None]
    labels = np.r_[np.ones(100, np.int64), np.zeros(len(images) - 100, np.int64)]
    return (Split(images, labels), FACES_CLASS_NAMES, "skimage.data.lfw_subset",
            "25x25 grayscale, first 100 faces (label 1), last 100 background crops (label 0); "
            "[0, 1] floats scaled to 0..255")


# Each reader returns the whole dataset, its class names, its source and a note on the conversion.
_BUILTIN_READERS = {"digits": _read_digits, "faces": _read_faces}


def _load_builtin(key: str, fractions: dict[str, float], seed: int) -> Dataset:
    """One of ``BUILTIN_DATASETS``: shipped inside a package, split here."""
    whole, class_names, source, note = _BUILTIN_READERS[key]()
    parts = carve(whole, fractions, seed, class_names, key)
    notes = [f"{source}: {note}", split_note(fractions, seed)]
    return Dataset(key, class_names=class_names, source=source, seed=seed, notes=notes, **parts)


def _resize_dataset(dataset: Dataset, size: tuple[int, int]) -> Dataset:
    height, width = dataset.image_shape[:2]
    parts = {
        split: Split(resize_images(part.images, size), part.labels, part.files)
        for split, part in dataset.splits.items()
    }
    note = f"resized from {height}x{width} to {size[0]}x{size[1]} (bilinear) while loading"
    return dataclasses.replace(dataset, **parts, notes=[*dataset.notes, note])
