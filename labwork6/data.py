"""Datasets: load, split, check and export images in one canonical form.

Every source ends up as a :class:`Dataset` with three :class:`Split` s (train, val, test).
Images are ``uint8`` arrays ``(N, H, W, C)`` (C is 1 for grayscale, 3 for colour) and
labels are ``int64`` indices into ``Dataset.class_names``. Scaling to ``[0, 1]``,
normalisation and resizing for a model live in :mod:`labwork6.preprocessing`.

Sources (``load_dataset(source)``):

- ``"digits"``: ``sklearn.datasets.load_digits`` (1,797 8x8 digits, 10 classes; offline);
- ``"faces"``: ``skimage.data.lfw_subset`` (100 faces, 100 background crops, 25x25; offline);
- ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"``, ``"cifar100"``: ``keras.datasets``, which
  downloads once into the Keras cache (``$KERAS_HOME/datasets``, default ``~/.keras/datasets``);
- a folder: ``ROOT/{train,val,test}/CLASS/*`` or ``ROOT/CLASS/*`` (split here with the seed).

Data code does not plot: the notebooks draw the pictures.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import gzip
import hashlib
import math
import os
import pickle
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageOps

SPLITS = ("train", "val", "test")
BUILTIN_DATASETS = ("digits", "faces")
KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100")
DATASET_NAMES = BUILTIN_DATASETS + KERAS_DATASETS
IMAGE_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm",
)
MANIFEST_NAME = "manifest.csv"
CLASSES_NAME = "classes.txt"
MANIFEST_COLUMNS = ("split", "class", "file", "sha256")

DIGITS_CLASS_NAMES = [str(i) for i in range(10)]
# Labels 0 = background crop, 1 = face: sorted names keep that order in an exported folder.
FACES_CLASS_NAMES = ["background", "face"]
MNIST_CLASS_NAMES = [str(i) for i in range(10)]
# keras.datasets label order; "T-shirt/top" made usable as a folder name.
FASHION_MNIST_CLASS_NAMES = [
    "t-shirt_top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"
]
CIFAR10_CLASS_NAMES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"
]
# The "fine_label_names" of cifar-100-python/meta, in label order.
CIFAR100_CLASS_NAMES = [
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle",
    "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear",
    "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon",
    "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail",
    "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
    "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
    "willow_tree", "wolf", "woman", "worm",
]

_FOLDER_LAYOUTS = "ROOT/{train,val,test}/CLASS/*.png or ROOT/CLASS/*.png"
_MAX_LISTED = 20


# --------------------------------------------------------------------------- containers


@dataclasses.dataclass(eq=False)
class Split:
    """One split: ``images`` uint8 (N, H, W, C), ``labels`` int64 (N,), ``files`` or None.

    ``files`` holds each image's path relative to the dataset folder when the images came
    from files, else ``None``.
    """

    images: np.ndarray
    labels: np.ndarray
    files: list[str] | None = None

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
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices) -> Split:
        """The images at ``indices``, as a new Split."""
        indices = np.asarray(indices, dtype=np.int64)
        files = None if self.files is None else [self.files[i] for i in indices]
        return Split(self.images[indices], self.labels[indices], files)


@dataclasses.dataclass(eq=False)
class Dataset:
    """Three splits of one image classification dataset, plus what is known about it.

    ``skipped`` lists ``(file, reason)`` for every file of a folder that was not read;
    ``notes`` says in words what was done to the data (splitting, resizing, conversions).
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
        rng = np.random.default_rng(seed)
        parts = {}
        for split, part in self.splits.items():
            if len(part) <= max_per_split:
                parts[split] = part
                continue
            parts[split] = part.take(
                _stratified_choice(part.labels, int(max_per_split), rng, at_least_one=True)
            )
        note = f"subsampled to at most {max_per_split} images per split (stratified, seed {seed})"
        return dataclasses.replace(self, **parts, notes=[*self.notes, note], skipped=list(self.skipped))


# --------------------------------------------------------------------------- entry point


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
    size = _check_image_size(image_size)
    if isinstance(source, os.PathLike):
        return _load_folder(Path(source), size, val_fraction, test_fraction, seed)
    if not isinstance(source, str):
        raise TypeError(
            f"source must be a dataset name ({', '.join(DATASET_NAMES)}) or a folder path. "
            f"Received: source={source!r} of type {type(source).__name__}."
        )
    key = source.strip().lower().replace("-", "_")
    if key in BUILTIN_DATASETS or key in KERAS_DATASETS:
        dataset = _load_named(key, val_fraction, test_fraction, seed)
        if size is not None and dataset.image_shape[:2] != size:
            dataset = _resize_dataset(dataset, size)
        return dataset
    looks_like_path = os.sep in source or "/" in source or source.startswith((".", "~"))
    if looks_like_path or Path(source).exists():
        return _load_folder(Path(source).expanduser(), size, val_fraction, test_fraction, seed)
    raise ValueError(
        f"Unknown dataset. Valid names: {', '.join(DATASET_NAMES)}; or a path to an image folder "
        f"({_FOLDER_LAYOUTS}). Received: source={source!r}."
    )


def _check_image_size(image_size) -> tuple[int, int] | None:
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        size = (int(image_size), int(image_size))
    elif (
        isinstance(image_size, (tuple, list))
        and len(image_size) == 2
        and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in image_size)
    ):
        size = (int(image_size[0]), int(image_size[1]))
    else:
        size = None
    if size is None or min(size) < 1:
        raise ValueError(
            "image_size must be None, a positive int or (height, width) of positive ints. "
            f"Received: image_size={image_size!r}."
        )
    return size


# --------------------------------------------------------------------------- splitting


def _check_fractions(fractions: dict[str, float]) -> None:
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


def _stratified_choice(
    labels: np.ndarray, n: int, rng, *, keep_one: bool = False, at_least_one: bool = False
):
    """Sorted indices of ``n`` images drawn per class in proportion to the class counts.

    ``keep_one`` leaves at least one image of every class out (so that train keeps each class);
    ``at_least_one`` gives every class at least one image when ``n`` allows it.
    """
    classes, counts = np.unique(labels, return_counts=True)
    caps = counts - 1 if keep_one else counts
    take = _allocate(counts, n, caps, rng, at_least_one)
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take, strict=True)]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def _carve(
    part: Split, fractions: dict[str, float], seed: int, class_names: list[str], what: str
) -> dict[str, Split]:
    """Split ``part`` into train plus the splits in ``fractions`` (stratified, seeded)."""
    _check_fractions(fractions)
    rng = np.random.default_rng(seed)
    n = len(part)
    remaining = np.arange(n)
    result = {}
    for split in ("test", "val"):
        if split not in fractions:
            continue
        wanted = math.ceil(round(fractions[split] * n, 9))
        chosen = _stratified_choice(part.labels[remaining], wanted, rng, keep_one=True, at_least_one=True)
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
    counts = {
        split: np.bincount(part.labels[idx], minlength=len(class_names)) for split, idx in result.items()
    }
    for split in ("val", "test"):
        if split in counts and (
            missing := [c for c, k in zip(class_names, counts[split], strict=True) if not k]
        ):
            warnings.warn(
                f"{what}: the {split} split has no images of class(es) {missing} (too few images to "
                "stratify); their metrics on that split will be undefined.",
                stacklevel=3,
            )
    return {split: part.take(idx) for split, idx in result.items()}


# --------------------------------------------------------------------------- named sources


def _load_named(key: str, val_fraction: float, test_fraction: float, seed: int) -> Dataset:
    fractions = {"val": val_fraction, "test": test_fraction}
    if key == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        # 16 grey levels (0..16) stretched to the canonical 0..255.
        images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
        return _embedded("digits", Split(images, bunch.target), DIGITS_CLASS_NAMES, "sklearn.datasets.load_digits",
                         "8x8 grayscale, grey levels 0..16 scaled to 0..255", fractions, seed)
    if key == "faces":
        from skimage.data import lfw_subset

        images = np.rint(np.clip(lfw_subset(), 0.0, 1.0) * 255.0).astype(np.uint8)[..., None]
        labels = np.r_[np.ones(100, np.int64), np.zeros(len(images) - 100, np.int64)]
        return _embedded("faces", Split(images, labels), FACES_CLASS_NAMES, "skimage.data.lfw_subset",
                         "25x25 grayscale, first 100 faces (label 1), last 100 background crops (label 0); "
                         "[0, 1] floats scaled to 0..255", fractions, seed)
    return _load_keras(key, val_fraction, seed)


def _embedded(name: str, whole: Split, class_names, source: str, note: str, fractions, seed: int) -> Dataset:
    """A dataset shipped inside a package, split here."""
    parts = _carve(whole, fractions, seed, class_names, name)
    return Dataset(name, class_names=class_names, source=source, seed=seed,
                   notes=[f"{source}: {note}", _split_note(fractions, seed)], **parts)


def _split_note(fractions: dict[str, float], seed: int) -> str:
    shares = ", ".join(f"{split} {fraction:.0%}" for split, fraction in fractions.items())
    return f"split here: {shares}, rest train (stratified by class, seed {seed})"


def _resize_dataset(dataset: Dataset, size: tuple[int, int]) -> Dataset:
    height, width = dataset.image_shape[:2]
    parts = {
        split: Split(resize_images(part.images, size), part.labels, part.files)
        for split, part in dataset.splits.items()
    }
    note = f"resized from {height}x{width} to {size[0]}x{size[1]} (bilinear) while loading"
    return dataclasses.replace(dataset, **parts, notes=[*dataset.notes, note])


def resize_images(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 images (N, H, W, C) to ``size`` = (height, width) with PIL's bilinear filter."""
    height, width = size
    out = np.empty((len(images), height, width, images.shape[-1]), np.uint8)
    for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        out[i] = np.asarray(pil.resize((width, height), Image.Resampling.BILINEAR)).reshape(out.shape[1:])
    return out


# --------------------------------------------------------------------------- keras.datasets

_KERAS_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_FASHION_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)
_CIFAR10_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
# Where keras.datasets keeps each dataset under KERAS_HOME: the first folder is the layout of
# Keras >= 3.8 (archives extracted into "<name>-target/"), the second that of older Keras 3.
_KERAS_CACHE = {
    "mnist": {"folders": ["datasets"], "files": ("mnist.npz",)},
    "fashion_mnist": {"folders": ["datasets/fashion-mnist"], "files": _FASHION_FILES},
    "cifar10": {
        "folders": [
            "datasets/cifar-10-batches-py-target/cifar-10-batches-py",
            "datasets/cifar-10-batches-py",
        ],
        "files": _CIFAR10_FILES,
    },
    "cifar100": {
        "folders": ["datasets/cifar-100-python-target/cifar-100-python", "datasets/cifar-100-python"],
        "files": ("train", "test"),
    },
}


def keras_cache_dirs() -> list[Path]:
    """Folders where keras.datasets keeps its downloads, most likely first.

    ``$KERAS_HOME`` when set, else ``~/.keras`` (``/tmp/.keras`` when home is not writable,
    as ``keras.utils.get_file`` does).
    """
    if os.environ.get("KERAS_HOME"):
        homes = [Path(os.environ["KERAS_HOME"]).expanduser()]
    else:
        base = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
        homes = [base / ".keras"]
    tmp = Path("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()) / ".keras"
    return list(dict.fromkeys([*homes, tmp]))


def _find_keras_cache(key: str) -> Path | None:
    spec = _KERAS_CACHE[key]
    for home in keras_cache_dirs():
        for folder in spec["folders"]:
            if all((home / folder / name).is_file() for name in spec["files"]):
                return home / folder
    return None


def _read_keras_cache(key: str, folder: Path):
    """Read the cached files with the same formats as the keras.datasets loaders."""
    if key == "mnist":
        with np.load(folder / "mnist.npz", allow_pickle=False) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    if key == "fashion_mnist":
        arrays = []
        for labels_name, images_name in (_FASHION_FILES[:2], _FASHION_FILES[2:]):
            with gzip.open(folder / labels_name, "rb") as f:
                labels = np.frombuffer(f.read(), np.uint8, offset=8)
            with gzip.open(folder / images_name, "rb") as f:
                images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(len(labels), 28, 28)
            arrays.append((images, labels))
        return tuple(arrays)
    if key == "cifar10":
        batches = [_read_cifar_batch(folder / name, "labels") for name in _CIFAR10_FILES]
        train = (np.concatenate([b[0] for b in batches[:5]]), np.concatenate([b[1] for b in batches[:5]]))
        return train, batches[5]
    return _read_cifar_batch(folder / "train", "fine_labels"), _read_cifar_batch(
        folder / "test", "fine_labels"
    )


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers only (as keras' RestrictedUnpickler)."""

    _ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
        }
    )

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"Refusing to unpickle {module}.{name} from a CIFAR batch file.")


def _read_cifar_batch(path: Path, label_key: str):
    """One CIFAR python batch: a pickled dict with b"data" (N, 3072) and a label list."""
    with open(path, "rb") as f:
        batch = {
            k.decode("utf8") if isinstance(k, bytes) else k: v
            for k, v in _NumpyOnlyUnpickler(f, encoding="bytes").load().items()
        }
    data = np.asarray(batch["data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return data, np.asarray(batch[label_key], np.int64)


def _keras_how_to_place(key: str) -> str:
    home = keras_cache_dirs()[0]
    spec = _KERAS_CACHE[key]
    folder = home / spec["folders"][0]
    if key == "mnist":
        how = f"download {_KERAS_BASE_URL}mnist.npz and save it as {folder / 'mnist.npz'}"
    elif key == "fashion_mnist":
        how = f"download {', '.join(_FASHION_FILES)} from {_KERAS_BASE_URL} into the folder {folder}"
    else:
        archive = {"cifar10": "cifar-10-python.tar.gz", "cifar100": "cifar-100-python.tar.gz"}[key]
        target = folder.parent
        how = (
            f"download https://www.cs.toronto.edu/~kriz/{archive} and either save it as "
            f"{target}_archive (keras checks and extracts it on the next call) or extract it so that "
            f"{folder}/ holds {', '.join(spec['files'])}"
        )
    return f"{how}. Set KERAS_HOME to use another cache folder (now: {home})."


def _keras_missing_message(key: str, error: Exception) -> str:
    return (
        f"Dataset {key!r} is not in the Keras cache and could not be downloaded "
        f"({type(error).__name__}: {error}). Connect to the internet once, or {_keras_how_to_place(key)}"
    )


def _load_keras(key: str, val_fraction: float, seed: int) -> Dataset:
    folder = _find_keras_cache(key)
    if folder is not None:
        try:
            (x_train, y_train), (x_test, y_test) = _read_keras_cache(key, folder)
        except Exception as error:  # numpy, gzip, zipfile and pickle each raise their own types
            raise ValueError(
                f"The cached {key!r} files in {folder} cannot be read ({type(error).__name__}: {error}). "
                f"Delete them so that keras downloads them again, or replace them: {_keras_how_to_place(key)}"
            ) from error
        origin = f"keras.datasets.{key} (cache: {folder})"
    else:
        import keras

        try:
            (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, key).load_data()
        except Exception as error:
            raise FileNotFoundError(_keras_missing_message(key, error)) from error
        origin = f"keras.datasets.{key} (downloaded)"
    class_names = {
        "mnist": MNIST_CLASS_NAMES,
        "fashion_mnist": FASHION_MNIST_CLASS_NAMES,
        "cifar10": CIFAR10_CLASS_NAMES,
        "cifar100": CIFAR100_CLASS_NAMES,
    }[key]

    def as_split(x, y):
        x = np.asarray(x, np.uint8)
        return Split(x[..., None] if x.ndim == 3 else x, np.asarray(y).reshape(-1))

    parts = _carve(as_split(x_train, y_train), {"val": val_fraction}, seed, class_names, key)
    notes = [
        f"{origin}; test is the official test split (test_fraction unused)",
        f"val: {val_fraction:.0%} of the official train split (stratified by class, seed {seed})",
    ]
    return Dataset(
        key,
        parts["train"],
        parts["val"],
        as_split(x_test, y_test),
        class_names,
        source=origin,
        seed=seed,
        notes=notes,
    )


# --------------------------------------------------------------------------- folders


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _list_class_dirs(folder: Path, root: Path, skipped: list) -> list[Path]:
    """Class sub-folders of ``folder``; everything else there is recorded in ``skipped``."""
    dirs = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            skipped.append((_relative(entry, root), "hidden file or folder, not read"))
        elif entry.is_dir():
            dirs.append(entry)
        elif not (folder == root and entry.name in (MANIFEST_NAME, CLASSES_NAME)):
            skipped.append((_relative(entry, root), "file outside the class folders, not read"))
    return dirs


def _pil_to_array(image: Image.Image) -> np.ndarray:
    """uint8 (H, W) for grayscale modes, (H, W, 3) for colour; alpha is composited over white."""
    mode = image.mode
    if mode in ("1", "L"):
        return np.asarray(image.convert("L"))
    if mode in ("LA", "La"):
        return np.asarray(_over_white(image).convert("L"))
    if mode.startswith("I"):  # 16-bit (I;16*) or 32-bit integer grayscale: 0..65535 -> 0..255
        values = np.asarray(image).astype(np.float64)
        return np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
    if mode == "F":
        values = np.asarray(image).astype(np.float64)
        if values.size and values.min() >= 0 and values.max() <= 1:
            values = values * 255.0
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    palette = mode == "P"
    if palette:
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    rgb = _over_white(image) if image.mode in ("RGBA", "RGBa", "PA") else image.convert("RGB")
    array = np.asarray(rgb)
    if palette and (array[..., 0] == array[..., 1]).all() and (array[..., 1] == array[..., 2]).all():
        return array[..., 0].copy()  # a palette of greys is a grayscale image
    return array


def _over_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode one image file to uint8: (H, W) if grayscale, (H, W, 3) if colour.

    Handles 1-bit, 8-bit and 16-bit grayscale, palette (a palette of greys stays grayscale),
    RGBA / LA (composited over white), CMYK and EXIF rotation. Raises what PIL raises.
    """
    with Image.open(path) as image:
        image.load()
        return _pil_to_array(ImageOps.exif_transpose(image))


def _read_class_folder(folder: Path, root: Path, label: int, skipped: list):
    images, labels, files, local_skips = [], [], [], []
    for entry in sorted(folder.iterdir()):
        rel = _relative(entry, root)
        if entry.name.startswith("."):
            local_skips.append((rel, "hidden file or folder, not read"))
        elif entry.is_dir():
            local_skips.append((rel, "sub-folder, not read (images must sit directly in the class folder)"))
        elif entry.suffix.lower() not in IMAGE_EXTENSIONS:
            local_skips.append(
                (
                    rel,
                    f"not an image file (extension {entry.suffix or 'none'!r}; "
                    f"read: {', '.join(IMAGE_EXTENSIONS)})",
                )
            )
        else:
            try:
                images.append(read_image(entry))
            except Exception as error:  # PIL raises many types for broken files
                local_skips.append((rel, f"cannot be decoded as an image ({type(error).__name__}: {error})"))
                continue
            labels.append(label)
            files.append(rel)
    skipped.extend(local_skips)
    return images, labels, files, local_skips


def _detect_layout(root: Path, skipped: list) -> tuple[dict[str, Path], list[Path]]:
    """Split folders ``{"train": ..., "val": ..., "test": ...}`` (those present) or ``{"all": root}``,
    and the folders found in ``root``."""
    if not root.exists():
        raise FileNotFoundError(
            f"Image folder not found: '{root}' (absolute: '{root.absolute()}'). Expected an existing folder "
            f"laid out as {_FOLDER_LAYOUTS}, or one of the dataset names: {', '.join(DATASET_NAMES)}."
        )
    if not root.is_dir():
        raise ValueError(
            f"Expected a folder laid out as {_FOLDER_LAYOUTS}. Received a file: source='{root}'."
        )
    dirs = _list_class_dirs(root, root, skipped)
    if not dirs:
        found = f"; it holds only {[f for f, _ in skipped]}" if skipped else " (it is empty)"
        raise ValueError(
            f"No class folders in '{root}'{found}. Expected {_FOLDER_LAYOUTS}: one sub-folder per class."
        )
    names = [d.name for d in dirs]
    split_names = [n for n in names if n in SPLITS]
    if not split_names:
        return {"all": root}, dirs
    others = [n for n in names if n not in SPLITS]
    if others or "train" not in split_names:
        raise ValueError(
            f"'{root}' mixes layouts: split folders {split_names} next to other folders {others}. Use either "
            "ROOT/{train,val,test}/CLASS/* (train/ required, val/ and test/ optional) or ROOT/CLASS/*."
        )
    return {split: root / split for split in SPLITS if split in split_names}, dirs


def _class_order(root: Path, names: set[str]) -> list[str]:
    """Sorted folder names, or the order in ROOT/classes.txt (written by export_dataset)."""
    listing = root / CLASSES_NAME
    if not listing.is_file():
        return sorted(names)
    listed = [line.strip() for line in listing.read_text(encoding="utf8").splitlines() if line.strip()]
    if sorted(listed) != sorted(names):
        raise ValueError(
            f"{listing} must list exactly the class folders, one per line, in label order. "
            f"Received: {listed}; class folders: {sorted(names)}."
        )
    return listed


def _load_folder(root: Path, size, val_fraction: float, test_fraction: float, seed: int) -> Dataset:
    skipped: list[tuple[str, str]] = []
    split_dirs, root_dirs = _detect_layout(root, skipped)
    class_dirs = {
        split: {d.name: d for d in (root_dirs if split == "all" else _list_class_dirs(path, root, skipped))}
        for split, path in split_dirs.items()
    }
    all_names = set().union(*class_dirs.values())
    missing = {split: sorted(all_names - set(dirs)) for split, dirs in class_dirs.items()}
    if any(missing.values()):
        lacking = "; ".join(f"{split}/ lacks {names}" for split, names in missing.items() if names)
        raise ValueError(
            f"The class folders differ between the splits of '{root}': {lacking}. Every split folder needs "
            f"the same class folders (found {sorted(all_names)} in all)."
        )
    class_names = _class_order(root, all_names)
    if len(class_names) < 2:
        raise ValueError(
            f"Found a single class {class_names} in '{root}': classification needs at least 2 class folders "
            f"({_FOLDER_LAYOUTS})."
        )

    decoded = {}
    empty = []
    for split, dirs in class_dirs.items():
        images, labels, files = [], [], []
        for label, name in enumerate(class_names):
            found, found_labels, found_files, local_skips = _read_class_folder(
                dirs[name], root, label, skipped
            )
            if not found:
                empty.append((split, _relative(dirs[name], root), local_skips))
            images += found
            labels += found_labels
            files += found_files
        decoded[split] = (images, labels, files)
    _report_skipped(skipped, root)
    hard = [(folder, skips) for split, folder, skips in empty if split in ("all", "train")]
    if hard:
        details = "; ".join(
            f"'{folder}'" + (f" (skipped: {', '.join(f for f, _ in skips[:5])})" if skips else " (empty)")
            for folder, skips in hard
        )
        raise ValueError(
            f"Class folder(s) with no readable images in '{root}': {details}. Each class needs training "
            f"images ({', '.join(IMAGE_EXTENSIONS)}); add images or remove the folder."
        )
    for split, folder, _ in empty:
        warnings.warn(
            f"Class folder '{folder}' has no images: that class is absent from {split}.", stacklevel=3
        )

    notes = []
    target = _harmonize(decoded, size, notes, root)
    parts = {}
    for split, (images, labels, files) in decoded.items():
        stacked = np.stack(images) if images else np.zeros((0, *target), np.uint8)
        parts[split] = Split(stacked, np.asarray(labels, np.int64), files)

    if "all" in parts:
        parts = _carve(
            parts["all"], {"val": val_fraction, "test": test_fraction}, seed, class_names, f"'{root}'"
        )
        notes.append(_split_note({"val": val_fraction, "test": test_fraction}, seed))
    else:
        carve = {s: f for s, f in (("val", val_fraction), ("test", test_fraction)) if s not in parts}
        notes.append(f"splits from the folders {sorted(parts)}")
        if carve:
            parts.update(_carve(parts["train"], carve, seed, class_names, f"'{root / 'train'}'"))
            notes.append(f"carved from train/: {_split_note(carve, seed)}")
    for split, part in parts.items():
        if not len(part):
            raise ValueError(f"The {split} split of '{root}' has no readable images; add images to {split}/.")
    return Dataset(
        root.resolve().name,
        parts["train"],
        parts["val"],
        parts["test"],
        class_names,
        skipped=skipped,
        source=str(root),
        seed=seed,
        notes=notes,
    )


def _report_skipped(skipped: list, root: Path) -> None:
    if not skipped:
        return
    listed = "\n".join(f"  {file}: {reason}" for file, reason in skipped[:_MAX_LISTED])
    more = f"\n  ... and {len(skipped) - _MAX_LISTED} more" if len(skipped) > _MAX_LISTED else ""
    warnings.warn(
        f"Skipped {len(skipped)} file(s) in '{root}' (all listed in Dataset.skipped):\n{listed}{more}",
        stacklevel=4,
    )


def _harmonize(decoded: dict, size, notes: list, root: Path) -> tuple[int, int, int]:
    """Bring every decoded image to one mode and size, in place; returns (H, W, C)."""
    arrays = [image for images, _, _ in decoded.values() for image in images]
    colour = sum(image.ndim == 3 for image in arrays)
    channels = 3 if colour else 1
    if colour and colour < len(arrays):
        message = (
            f"'{root}' mixes {len(arrays) - colour} grayscale and {colour} colour images: "
            "grayscale images repeated to RGB"
        )
        warnings.warn(message, stacklevel=4)
        notes.append(message)
    sizes = collections.Counter(image.shape[:2] for image in arrays)
    if size is not None:
        target = size
        if set(sizes) != {size}:
            notes.append(f"resized to {size[0]}x{size[1]} (bilinear) while loading")
    else:
        target = max(sizes, key=lambda s: (sizes[s], s[0] * s[1], s))
        if len(sizes) > 1:
            found = ", ".join(f"{h}x{w}: {n}" for (h, w), n in sizes.most_common())
            message = (
                f"'{root}' holds images of {len(sizes)} sizes ({found}); all resized to "
                f"{target[0]}x{target[1]}, the most common. Pass image_size=(height, width) to choose"
            )
            warnings.warn(message, stacklevel=4)
            notes.append(message)
    height, width = target
    for images, _, _ in decoded.values():
        for i, image in enumerate(images):
            if image.ndim == 2:
                image = image[..., None]
            if channels == 3 and image.shape[-1] == 1:
                image = np.repeat(image, 3, axis=-1)
            if image.shape[:2] != (height, width):
                pil = Image.fromarray(image[..., 0] if channels == 1 else image)
                image = np.asarray(pil.resize((width, height), Image.Resampling.BILINEAR)).reshape(
                    height, width, channels
                )
            images[i] = image
    return height, width, channels


# --------------------------------------------------------------------------- export and checks


def _check_folder_name(name: str) -> None:
    if not name or name in (".", "..") or name.startswith(".") or any(c in name for c in '/\\:*?"<>|\0'):
        raise ValueError(
            "Class names must be usable as folder names (not empty, not starting with '.', none of "
            f'/ \\ : * ? " < > |). Received: class name {name!r}.'
        )


def export_dataset(dataset: Dataset, out_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``dataset`` as ``OUT/{train,val,test}/CLASS/NNNNN.png`` plus a manifest; return its path.

    The manifest ``OUT/manifest.csv`` has the columns split, class, file (path relative to
    OUT) and sha256 (of the file); ``OUT/classes.txt`` lists the class names in label order.
    PNG is lossless, so ``load_dataset(OUT)`` gives back the same images, labels and splits
    (file ``NNNNN`` is the image's index in its split). Every class gets a folder in every
    split, even an empty one. ``overwrite=True`` replaces a previous export in OUT.
    """
    out = Path(out_dir)
    for name in dataset.class_names:
        _check_folder_name(name)
    known = {*SPLITS, MANIFEST_NAME, CLASSES_NAME}
    if out.exists():
        if not out.is_dir():
            raise ValueError(f"out_dir must be a folder. Received a file: out_dir='{out}'.")
        entries = sorted(out.iterdir())
        if entries and not overwrite:
            raise FileExistsError(
                f"'{out}' already exists and is not empty. Pass overwrite=True to replace a previous "
                "export, or choose a new folder."
            )
        unexpected = [e.name for e in entries if e.name not in known]
        if unexpected:
            raise ValueError(
                f"Refusing to overwrite '{out}': besides a previous export ({', '.join(sorted(known))}) "
                f"it holds {unexpected}. Choose an empty or new folder."
            )
        for entry in entries:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for split, part in dataset.splits.items():
        for name in dataset.class_names:
            (out / split / name).mkdir(parents=True, exist_ok=True)
        digits = max(5, len(str(len(part))))
        for index, (image, label) in enumerate(zip(part.images, part.labels, strict=True)):
            relative = f"{split}/{dataset.class_names[label]}/{index:0{digits}d}.png"
            pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
            pil.save(out / relative, format="PNG")
            rows.append((split, dataset.class_names[label], relative, _sha256_file(out / relative)))
    (out / CLASSES_NAME).write_text("\n".join(dataset.class_names) + "\n", encoding="utf8")
    manifest = out / MANIFEST_NAME
    with open(manifest, "w", newline="", encoding="utf8") as f:
        writer = csv.writer(f)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)
    return manifest


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def image_hash(image: np.ndarray) -> str:
    """sha256 of an image's pixels and shape: equal for identical images, whatever their file."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    return hashlib.sha256(repr(image.shape).encode() + image.tobytes()).hexdigest()


def leakage_report(dataset: Dataset) -> pd.DataFrame:
    """Identical images (same pixel hash) that occur in more than one split.

    One row per group of identical images with the columns sha256, splits (e.g.
    ``"train, test"``), count, classes (their labels; more than one means a label conflict)
    and members (``split[index]``, with the file where known). Empty when there is no leak.
    """
    groups: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
    for split, part in dataset.splits.items():
        for index, image in enumerate(part.images):
            groups[image_hash(image)].append((split, index))
    rows = []
    for digest, members in groups.items():
        splits = [s for s in SPLITS if any(m[0] == s for m in members)]
        if len(splits) < 2:
            continue
        parts = dataset.splits
        classes = sorted({dataset.class_names[parts[s].labels[i]] for s, i in members})
        described = [
            f"{s}[{i}]" + (f" ({parts[s].files[i]})" if parts[s].files is not None else "")
            for s, i in members
        ]
        rows.append(
            {
                "sha256": digest,
                "splits": ", ".join(splits),
                "count": len(members),
                "classes": ", ".join(classes),
                "members": "; ".join(described),
            }
        )
    columns = ["sha256", "splits", "count", "classes", "members"]
    return pd.DataFrame(rows, columns=columns).sort_values(["splits", "count"], ignore_index=True)


__all__ = [
    "BUILTIN_DATASETS", "DATASET_NAMES", "IMAGE_EXTENSIONS", "KERAS_DATASETS", "SPLITS", "Dataset", "Split",
    "export_dataset", "image_hash", "keras_cache_dirs", "leakage_report", "load_dataset", "read_image",
    "resize_images",
]
