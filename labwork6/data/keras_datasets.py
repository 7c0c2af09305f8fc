"""mnist, fashion_mnist, cifar10 and cifar100 through keras.datasets and its cache folder."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import numpy as np

from labwork6.data.core import Dataset, Split
from labwork6.data.splits import carve

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
_CLASS_NAMES = {
    "mnist": MNIST_CLASS_NAMES,
    "fashion_mnist": FASHION_MNIST_CLASS_NAMES,
    "cifar10": CIFAR10_CLASS_NAMES,
    "cifar100": CIFAR100_CLASS_NAMES,
}

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


def _read_mnist(folder: Path):
    with np.load(folder / "mnist.npz", allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def _read_cifar10(folder: Path):
    batches = [_read_cifar_batch(folder / name, "labels") for name in _CIFAR10_FILES]
    train = (np.concatenate([b[0] for b in batches[:5]]), np.concatenate([b[1] for b in batches[:5]]))
    return train, batches[5]


def _read_cifar100(folder: Path):
    return _read_cifar_batch(folder / "train", "fine_labels"), _read_cifar_batch(folder / "test", "fine_labels")


# Cached files we read ourselves, with keras' formats, instead of calling keras.datasets.<name>.load_data():
# keras' get_file re-downloads a cached mnist.npz whose sha256 is not the original's (and deletes it when
# the download fails), and for CIFAR it downloads again unless the original archive "<name>-target_archive"
# sits next to the extracted folder, so a cache without that archive (an extracted download, the folders of
# Keras < 3.8, the small test caches) could not be read offline. fashion_mnist has no hash: keras reads it.
_CACHE_READERS = {"mnist": _read_mnist, "cifar10": _read_cifar10, "cifar100": _read_cifar100}


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


def _load_arrays(key: str, folder: Path | None):
    """``(x_train, y_train), (x_test, y_test)`` from the cache ``folder`` or through keras.datasets."""
    reader = _CACHE_READERS.get(key)
    try:
        if folder is not None and reader is not None:
            return reader(folder)
        import keras

        return getattr(keras.datasets, key).load_data()
    except Exception as error:  # numpy, gzip, zipfile, pickle and urllib each raise their own types
        if folder is not None:
            raise ValueError(
                f"The cached {key!r} files in {folder} cannot be read ({type(error).__name__}: {error}). "
                f"Delete them so that keras downloads them again, or replace them: {_keras_how_to_place(key)}"
            ) from error
        raise FileNotFoundError(
            f"Dataset {key!r} is not in the Keras cache and could not be downloaded "
            f"({type(error).__name__}: {error}). Connect to the internet once, or {_keras_how_to_place(key)}"
        ) from error


def load_keras_dataset(key: str, val_fraction: float, seed: int) -> Dataset:
    """One of ``KERAS_DATASETS``: the official test split, val carved from the official train split."""
    folder = _find_keras_cache(key)
    (x_train, y_train), (x_test, y_test) = _load_arrays(key, folder)
    origin = f"keras.datasets.{key} " + ("(downloaded)" if folder is None else f"(cache: {folder})")
    class_names = _CLASS_NAMES[key]

    def as_split(x, y):
        x = np.asarray(x, np.uint8)
        return Split(x[..., None] if x.ndim == 3 else x, np.asarray(y).reshape(-1))

    parts = carve(as_split(x_train, y_train), {"val": val_fraction}, seed, class_names, key)
    notes = [
        f"{origin}; test is the official test split (test_fraction unused)",
        f"val: {val_fraction:.0%} of the official train split (stratified by class, seed {seed})",
    ]
    return Dataset(
        key, parts["train"], parts["val"], as_split(x_test, y_test), class_names, source=origin, seed=seed, notes=notes
    )
