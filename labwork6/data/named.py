"""``load_dataset``: a dataset by name (digits, faces, the keras.datasets ones) or from a folder."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from labwork6.data.core import DATASET_NAMES, KERAS_DATASETS, Dataset, Split
from labwork6.data.folders import FOLDER_LAYOUTS, check_folder_exists, load_folder
from labwork6.data.folds import check_folds, fold_note, fold_split, stratified_subset
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
    folds: int | None = None,
    fold: int = 0,
    max_images: int | None = None,
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
        folds, fold: k-fold cross-validation (:mod:`labwork6.data.folds`) for sources without a
            test split of their own (digits, faces, a folder without ``test/``): the test split is
            fold ``fold`` of ``folds`` (stratified, seeded), val is ``val_fraction`` of the other
            folds, so the ``folds`` test splits of one seed hold every image exactly once
            (``test_fraction`` unused). Sources with their own test split (the keras datasets, a
            folder with ``test/``) keep it: ``folds`` is not used there and ``Dataset.folds`` is None
            (see :func:`has_own_test_split`). None: a holdout split as above.
        max_images: at most this many images of a source split here, drawn stratified by class
            (seeded) before splitting or folding: a small dataset whose folds still cover it.

    Returns:
        A :class:`Dataset` with uint8 images (N, H, W, C) and int64 labels.
    """
    size = check_image_size(image_size)
    split = {"val_fraction": val_fraction, "test_fraction": test_fraction, "seed": seed, "folds": folds,
             "fold": fold, "max_images": max_images}
    if folds is not None:
        check_folds(folds, fold)
    if max_images is not None and (isinstance(max_images, bool) or not isinstance(max_images, (int, np.integer))
                                   or max_images < 2):
        raise ValueError(f"`max_images` must be an integer of at least 2, or None. Received: max_images={max_images!r}")
    if isinstance(source, os.PathLike):
        return load_folder(Path(source), size, **split)
    if not isinstance(source, str):
        raise TypeError(
            f"source must be a dataset name ({', '.join(DATASET_NAMES)}) or a folder path. "
            f"Received: source={source!r} of type {type(source).__name__}."
        )
    key = source.strip().lower().replace("-", "_")
    if key in DATASET_NAMES:
        if key in KERAS_DATASETS:
            dataset = load_keras_dataset(key, val_fraction, seed)
            if folds:
                dataset.notes.append(f"folds={folds} not used: {key} has its own test split (holdout evaluation)")
        else:
            dataset = _load_builtin(key, **split)
        if size is not None and dataset.image_shape[:2] != size:
            dataset = _resize_dataset(dataset, size)
        return dataset
    check_source(source)
    return load_folder(Path(source).expanduser(), size, **split)


def check_source(source: str | os.PathLike) -> None:
    """Refuse, without reading any image, a source :func:`load_dataset` cannot read: a name that
    is no dataset's and no path, or a folder that does not exist (training checks this before it
    makes a run folder for it)."""
    source = os.fspath(source) if isinstance(source, os.PathLike) else source
    if not isinstance(source, str):
        return  # load_dataset's own type check names it
    if source.strip().lower().replace("-", "_") in DATASET_NAMES:
        return
    looks_like_path = os.sep in source or "/" in source or source.startswith((".", "~"))
    if not (looks_like_path or Path(source).exists()):
        raise ValueError(
            f"Unknown dataset. Valid names: {', '.join(DATASET_NAMES)}; or a path to an image folder "
            f"({FOLDER_LAYOUTS}). Received: source={source!r}."
        )
    check_folder_exists(Path(source).expanduser())


def has_own_test_split(source: str | os.PathLike) -> bool:
    """True for sources that come with their own test split, which :func:`load_dataset` keeps
    (holdout evaluation, ``folds`` not used): the keras datasets and a folder with ``test/``."""
    if isinstance(source, str) and (key := source.strip().lower().replace("-", "_")) in DATASET_NAMES:
        return key in KERAS_DATASETS
    return (Path(source).expanduser() / "test").is_dir()


#: What scikit-learn's description of the digits says about who wrote them, quoted by
#: :func:`digits_writers` after checking that the installed scikit-learn still says it.
DIGITS_WRITERS_SENTENCE = ("From a total of 43 people, 30 contributed to the training set and different 13 to "
                           "the test set.")
DIGITS_TEST_SET_SENTENCE = "This is a copy of the test set of the UCI ML hand-written digits datasets"


def digits_writers() -> dict | None:
    """Who wrote scikit-learn's digits, from ``load_digits().DESCR`` (checked at run time).

    The 1,797 images are the test set of the UCI optdigits data, written by 13 people (the 30
    writers of its training set are not included). A random split, or the folds of a
    cross-validation, put images of every writer in training and test, so an accuracy measured
    this way is on writers the model has already seen; it does not say how it would read a new
    writer's digits. Returns ``quote`` (the two sentences, as scikit-learn words them),
    ``writers`` (13), ``writers_total`` (43), ``images`` and ``source``; None when the installed
    scikit-learn no longer says so (the facts are then not quoted)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    description = " ".join(bunch.DESCR.split())
    if DIGITS_WRITERS_SENTENCE not in description or DIGITS_TEST_SET_SENTENCE not in description:
        return None
    return {"quote": f"{DIGITS_TEST_SET_SENTENCE}. {DIGITS_WRITERS_SENTENCE}", "writers": 13, "writers_total": 43,
            "images": int(len(bunch.target)), "source": "sklearn.datasets.load_digits().DESCR"}


def _read_digits() -> tuple[Split, list[str], str, str]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # 17 grey levels (0..16) stretched to the canonical 0..255.
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    # ids: the row of load_digits, so that pooled predictions can be checked image by image
    return (Split(images, bunch.target, ids=np.arange(len(images))), DIGITS_CLASS_NAMES,
            "sklearn.datasets.load_digits",
            "8x8 grayscale, grey levels 0..16 scaled to 0..255; the UCI optdigits test set, written by 13 people "
            "(a split puts every writer in training and test: accuracy on writers already seen)")


def _read_faces() -> tuple[Split, list[str], str, str]:
    from skimage.data import lfw_subset

    images = np.rint(np.clip(lfw_subset(), 0.0, 1.0) * 255.0).astype(np.uint8)[..., None]
    labels = np.r_[np.ones(100, np.int64), np.zeros(len(images) - 100, np.int64)]
    return (Split(images, labels), FACES_CLASS_NAMES, "skimage.data.lfw_subset",
            "25x25 grayscale, first 100 faces (label 1), last 100 background crops (label 0); "
            "[0, 1] floats scaled to 0..255")


# Each reader returns the whole dataset, its class names, its source and a note on the conversion.
_BUILTIN_READERS = {"digits": _read_digits, "faces": _read_faces}


def _load_builtin(key: str, *, val_fraction: float, test_fraction: float, seed: int, folds: int | None, fold: int,
                  max_images: int | None) -> Dataset:
    """One of ``BUILTIN_DATASETS``: shipped inside a package, split (or folded) here."""
    whole, class_names, source, note = _BUILTIN_READERS[key]()
    notes = [f"{source}: {note}"]
    if max_images:
        whole = stratified_subset(whole, max_images, seed)
        notes.append(f"at most {max_images} images, drawn stratified by class (seed {seed}) before splitting")
    if folds:
        parts = fold_split(whole, folds, fold, seed, class_names, val_fraction=val_fraction)
        notes.append(fold_note(folds, fold, seed, val_fraction))
    else:
        fractions = {"val": val_fraction, "test": test_fraction}
        parts = carve(whole, fractions, seed, class_names, key)
        notes.append(split_note(fractions, seed))
    return Dataset(key, class_names=class_names, source=source, seed=seed, notes=notes,
                   folds=int(folds) if folds else None, fold=int(fold) if folds else None, **parts)


def _resize_dataset(dataset: Dataset, size: tuple[int, int]) -> Dataset:
    height, width = dataset.image_shape[:2]
    parts = {
        split: Split(resize_images(part.images, size), part.labels, part.files, part.ids)
        for split, part in dataset.splits.items()
    }
    note = f"resized from {height}x{width} to {size[0]}x{size[1]} (bilinear) while loading"
    return dataclasses.replace(dataset, **parts, notes=[*dataset.notes, note])
