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

Sources without a test split of their own (digits, faces, a folder without ``test/``) can be
evaluated by stratified k-fold cross-validation (``load_dataset(..., folds=k, fold=f)``,
:mod:`labwork6.data.folds`): the k test folds of one seed hold every image exactly once, and
``Split.ids`` names each image in its source so that pooled predictions can be checked.

``read_folder(root)`` reads every image of a folder, one class being enough (to evaluate a
model on some of its classes). Data code does not plot: the notebooks draw the pictures.

Modules: ``sampling`` (stratified seeded draws, scikit-learn), ``core`` (Split, Dataset, names),
``splits`` (splitting into train, val and test), ``folds`` (k-fold cross-validation), ``images``
(decoding, size checks, resizing),
``folders`` (image folders), ``keras_datasets`` (the keras.datasets cache), ``named``
(``load_dataset``), ``export`` (PNG export, leakage).
"""

from labwork6.data.core import BUILTIN_DATASETS, DATASET_NAMES, KERAS_DATASETS, SPLITS, Dataset, Split
from labwork6.data.export import export_dataset, image_hash, leakage_report
from labwork6.data.folders import read_folder
from labwork6.data.folds import VAL_FRACTION, check_folds, fold_assignment, stratified_subset
from labwork6.data.images import IMAGE_EXTENSIONS, check_image_size, read_image, resize_images
from labwork6.data.keras_datasets import keras_cache_dirs
from labwork6.data.named import check_source, digits_writers, has_own_test_split, load_dataset

__all__ = [
    "BUILTIN_DATASETS", "DATASET_NAMES", "IMAGE_EXTENSIONS", "KERAS_DATASETS", "SPLITS", "VAL_FRACTION", "Dataset",
    "Split", "check_folds", "check_image_size", "check_source", "digits_writers", "export_dataset", "fold_assignment",
    "has_own_test_split", "image_hash", "keras_cache_dirs", "leakage_report", "load_dataset", "read_folder",
    "read_image", "resize_images", "stratified_subset",
]
