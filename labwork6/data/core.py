"""The containers every source ends up in: :class:`Split` and :class:`Dataset`, and the source names."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from labwork6.data.sampling import stratified_draw

SPLITS = ("train", "val", "test")
BUILTIN_DATASETS = ("digits", "faces")
KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100")
DATASET_NAMES = BUILTIN_DATASETS + KERAS_DATASETS


@dataclasses.dataclass(eq=False)
class Split:
    """One split: ``images`` uint8 (N, H, W, C), ``labels`` int64 (N,), ``files`` or None, ``ids``.

    ``files`` holds each image's path relative to the dataset folder when the images came
    from files, else ``None``. ``ids`` names each image in its source, so that predictions
    from different splits of one source can be pooled and checked (each image tested once):
    the file path for images from files, else the image's position in the array the source
    gives (the row of ``load_digits``, the position in a keras dataset's official split).
    A Split made without ``ids`` numbers its images 0..N-1; :meth:`take` keeps them.
    """

    images: np.ndarray
    labels: np.ndarray
    files: list[str] | None = None
    ids: np.ndarray | None = None

    def __post_init__(self):
        images = np.asarray(self.images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ValueError(
                "Split images must be a uint8 array (N, H, W, C) with C = 1 or 3. "
                f"Received: dtype={images.dtype}, shape={images.shape}."
            )
        labels = np.asarray(self.labels).reshape(-1).astype(np.int64)
        if len(labels) != len(images):
            raise ValueError(
                f"Split needs one label per image. Received: {len(images)} images, {len(labels)} labels."
            )
        if self.files is not None:
            self.files = [str(f) for f in self.files]
            if len(self.files) != len(images):
                raise ValueError(
                    f"Split needs one file name per image. Received: {len(images)} images, "
                    f"{len(self.files)} files."
                )
        if self.ids is None:
            ids = np.asarray(self.files, dtype=object) if self.files is not None else np.arange(len(labels))
        else:
            ids = np.asarray(self.ids)
            if ids.shape != (len(labels),):
                raise ValueError(f"Split needs one id per image. Received: {len(images)} images, ids of shape "
                                 f"{ids.shape}.")
        self.images, self.labels, self.ids = images, labels, ids

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices) -> Split:
        """The images at ``indices``, as a new Split."""
        indices = np.asarray(indices, dtype=np.int64)
        files = None if self.files is None else [self.files[i] for i in indices]
        return Split(self.images[indices], self.labels[indices], files, self.ids[indices])


@dataclasses.dataclass(eq=False)
class Dataset:
    """Three splits of one image classification dataset, plus what is known about it.

    ``skipped`` lists ``(file, reason)`` for every file of a folder that was not read;
    ``notes`` says in words what was done to the data (splitting, resizing, conversions).
    ``folds`` and ``fold``: for k-fold cross-validation (:mod:`labwork6.data.folds`), k and the
    fold that is the test split; both None for a holdout split.
    """

    name: str
    train: Split
    val: Split
    test: Split
    class_names: list[str]
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    source: str = ""
    seed: int | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    folds: int | None = None
    fold: int | None = None

    def __post_init__(self):
        self.class_names = [str(c) for c in self.class_names]
        shapes = {split: part.images.shape[1:] for split, part in self.splits.items()}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"All splits need the same image shape. Received: {shapes}.")
        for split, part in self.splits.items():
            if len(part) and (part.labels.min() < 0 or part.labels.max() >= len(self.class_names)):
                raise ValueError(
                    f"Labels of split {split!r} must lie in [0, {len(self.class_names) - 1}] "
                    f"({len(self.class_names)} classes). Received: {part.labels.min()}..{part.labels.max()}."
                )

    @property
    def splits(self) -> dict[str, Split]:
        """``{"train": ..., "val": ..., "test": ...}``."""
        return {"train": self.train, "val": self.val, "test": self.test}

    @property
    def evaluation(self) -> str:
        """``"cross-validation"`` (the test split is one of ``folds`` folds) or ``"holdout"``."""
        return "cross-validation" if self.folds else "holdout"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the stored uint8 images."""
        return tuple(int(d) for d in self.train.images.shape[1:])

    def counts(self) -> pd.DataFrame:
        """Images per class (rows, in label order) and split (columns train, val, test)."""
        data = {
            split: np.bincount(part.labels, minlength=self.num_classes) for split, part in self.splits.items()
        }
        frame = pd.DataFrame(data, index=pd.Index(self.class_names, name="class"))
        frame.columns.name = "split"
        return frame

    def describe(self) -> dict:
        """A JSON-ready summary: source, image shape, classes and counts per class per split."""
        counts = self.counts()
        height, width, channels = self.image_shape
        return {
            "name": self.name,
            "source": self.source,
            "seed": self.seed,
            "evaluation": self.evaluation,
            "folds": self.folds,
            "fold": self.fold,
            "image_shape": [height, width, channels],
            "image_size": [height, width],
            "channels": channels,
            "dtype": "uint8",
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "sizes": {split: len(part) for split, part in self.splits.items()},
            "counts": {split: {c: int(n) for c, n in counts[split].items()} for split in SPLITS},
            "skipped": len(self.skipped),
            "notes": list(self.notes),
        }

    def subsample(self, max_per_split: int, seed: int = 0) -> Dataset:
        """A smaller Dataset with at most ``max_per_split`` images per split, stratified by class.

        Every class present in a split keeps at least one image there. Used by the smoke profile.
        """
        if (
            isinstance(max_per_split, bool)
            or not isinstance(max_per_split, (int, np.integer))
            or (max_per_split < self.num_classes)
        ):
            raise ValueError(
                "max_per_split must be an int of at least the number of classes "
                f"({self.num_classes}) so that each class keeps an image. "
                f"Received: max_per_split={max_per_split!r}."
            )
        random_state = np.random.RandomState(seed)
        parts = {}
        for split, part in self.splits.items():
            if len(part) <= max_per_split:
                parts[split] = part
                continue
            # drop the surplus, stratified: every class keeps at least one image
            dropped = stratified_draw(part.labels, len(part) - int(max_per_split), random_state)
            parts[split] = part.take(np.setdiff1d(np.arange(len(part)), dropped))
        note = f"subsampled to at most {max_per_split} images per split (stratified, seed {seed})"
        return dataclasses.replace(self, **parts, notes=[*self.notes, note], skipped=list(self.skipped))
