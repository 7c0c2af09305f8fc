"""Standardize images for a model and feed them with tf.data.

- :class:`Standardizer`: resize to the model's input (bilinear, antialiased), keep or change
  the channels (1 <-> 3), scale uint8 to [0, 1], then subtract the per-channel mean and
  divide by the per-channel std, both computed on the training split only. Saved with a run
  as JSON (``normalization.json``).
- :func:`make_pipeline`: ``tf.data`` input pipeline (standardize, cache, seeded shuffle,
  batch, augmentation, prefetch).
- :func:`augmentation_for`: Keras preprocessing layers that suit a dataset (digits are never
  flipped).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

_FORMAT = "labwork6.Standardizer"
# Images whose horizontal mirror is another symbol (or the same symbol written wrongly).
NO_FLIP_DATASETS = ("digits", "mnist")


def _check_size(image_size) -> tuple[int, int] | None:
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        size = (int(image_size), int(image_size))
    elif isinstance(image_size, (tuple, list)) and len(image_size) == 2:
        size = tuple(int(s) if isinstance(s, (int, np.integer)) and not isinstance(s, bool) else -1
                     for s in image_size)
    else:
        size = (-1, -1)
    if min(size) < 1:
        raise ValueError(
            "image_size must be None (keep the size), a positive int or (height, width) of positive ints. "
            f"Received: image_size={image_size!r}."
        )
    return size


def _check_channels(channels) -> int | None:
    if channels not in (None, 1, 3) or isinstance(channels, bool):
        raise ValueError(
            "channels must be None (keep), 1 (grayscale) or 3 (RGB). "
            f"Received: channels={channels!r}."
        )
    return channels


def _check_images(images, what: str) -> None:
    shape = tuple(images.shape)
    dtype = images.dtype if isinstance(images, np.ndarray) else images.dtype.as_numpy_dtype
    if dtype != np.uint8 or len(shape) != 4 or shape[-1] not in (1, 3):
        raise ValueError(
            f"{what} expects uint8 images (N, H, W, C) with C = 1 or 3, as in labwork6.data.Split. "
            f"Received: dtype={np.dtype(dtype).name}, shape={shape}."
        )


class Standardizer:
    """Resize, convert channels, scale to [0, 1] and normalise with training statistics.

    Build one with :meth:`fit` on the training images only; apply it to every split with
    :meth:`transform` (numpy) or :meth:`transform_tensor` (inside tf.data or a model).

    Attributes:
        input_shape: (H, W, C) of the images it was fitted on.
        output_shape: (H, W, C) of what it returns (the model's input shape).
        mean, std: per-channel statistics of the scaled training images (length C out).
    """

    def __init__(self, input_shape, output_shape, mean, std, num_images: int = 0):
        self.input_shape = tuple(int(d) for d in input_shape)
        self.output_shape = tuple(int(d) for d in output_shape)
        self.mean = np.asarray(mean, np.float32).reshape(-1)
        self.std = np.asarray(std, np.float32).reshape(-1)
        self.num_images = int(num_images)
        channels = self.output_shape[-1]
        if len(self.mean) != channels or len(self.std) != channels or (self.std <= 0).any():
            raise ValueError(
                f"mean and std need {channels} values (one per output channel) and std > 0. "
                f"Received: mean={self.mean.tolist()}, std={self.std.tolist()}."
            )

    @classmethod
    def fit(cls, train_images, image_size=None, channels=None, *, batch_size: int = 512) -> Standardizer:
        """Fit on the training images (uint8, N x H x W x C): per-channel mean and std after
        resizing and channel conversion.

        Args:
            train_images: the training split only; never val or test (their statistics would
                leak into training).
            image_size: None keeps H x W; an int or (height, width) resizes (bilinear, antialias).
            channels: None keeps C; 1 converts RGB to luminance; 3 repeats grayscale to RGB.
        """
        _check_images(train_images, "Standardizer.fit")
        if len(train_images) == 0:
            raise ValueError("Standardizer.fit needs at least one training image. Received: 0 images.")
        size = _check_size(image_size)
        channels = _check_channels(channels)
        height, width, in_channels = train_images.shape[1:]
        out_shape = (*(size or (height, width)), channels or in_channels)
        fitted = cls(train_images.shape[1:], out_shape, np.zeros(out_shape[-1]), np.ones(out_shape[-1]))
        total = np.zeros(out_shape[-1])
        squares = np.zeros(out_shape[-1])
        for start in range(0, len(train_images), batch_size):
            batch = fitted._prepare(tf.convert_to_tensor(train_images[start : start + batch_size]))
            batch = tf.cast(batch, tf.float64)
            total += tf.reduce_sum(batch, axis=(0, 1, 2)).numpy()
            squares += tf.reduce_sum(tf.square(batch), axis=(0, 1, 2)).numpy()
        count = len(train_images) * out_shape[0] * out_shape[1]
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
        # A constant channel (e.g. a blank border everywhere) would divide by zero.
        std = np.where(std < 1e-6, 1.0, std)
        return cls(train_images.shape[1:], out_shape, mean, std, num_images=len(train_images))

    def _prepare(self, images: tf.Tensor) -> tf.Tensor:
        """uint8 (N, H, W, C) -> float32 in [0, 1], resized and channel-converted (not normalised)."""
        images = tf.cast(images, tf.float32) / 255.0
        height, width, channels = self.output_shape
        if images.shape[1] != height or images.shape[2] != width:
            images = tf.image.resize(images, (height, width), method="bilinear", antialias=True)
            images = tf.clip_by_value(images, 0.0, 1.0)
        if images.shape[-1] == 1 and channels == 3:
            images = tf.repeat(images, 3, axis=-1)
        elif images.shape[-1] == 3 and channels == 1:
            images = tf.image.rgb_to_grayscale(images)
        return images

    def transform_tensor(self, images: tf.Tensor) -> tf.Tensor:
        """The standardization as TensorFlow ops: uint8 (N, H, W, C) -> float32 ``output_shape``.

        Images of another size or channel count (1 or 3) than the training images are brought
        to ``output_shape`` too, e.g. a folder of colour photos for a model trained on digits.
        """
        images = tf.convert_to_tensor(images)
        _check_images(images, "Standardizer.transform_tensor")
        return (self._prepare(images) - self.mean) / self.std

    def transform(self, images: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
        """Standardize uint8 images (N, H, W, C) -> float32 numpy array (N, *output_shape)."""
        images = np.asarray(images)
        _check_images(images, "Standardizer.transform")
        out = np.empty((len(images), *self.output_shape), np.float32)
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            out[start : start + batch_size] = self.transform_tensor(batch).numpy()
        return out

    def inverse_transform(self, images: np.ndarray) -> np.ndarray:
        """Undo the normalisation (not the resize): float32 -> uint8 images, e.g. for display."""
        restored = (np.asarray(images, np.float32) * self.std + self.mean) * 255.0
        return np.clip(np.rint(restored), 0, 255).astype(np.uint8)

    def to_dict(self) -> dict:
        """JSON-ready description (what ``normalization.json`` holds)."""
        return {
            "format": _FORMAT,
            "version": 1,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "image_size": list(self.output_shape[:2]),
            "channels": self.output_shape[-1],
            "scale": 1.0 / 255.0,
            "mean": [float(m) for m in self.mean],
            "std": [float(s) for s in self.std],
            "num_images": self.num_images,
            "resize": "bilinear, antialias",
            "fitted_on": "train split only",
        }

    @classmethod
    def from_dict(cls, config: dict) -> Standardizer:
        """Rebuild a Standardizer from :meth:`to_dict`'s output."""
        if not isinstance(config, dict) or config.get("format") != _FORMAT:
            raise ValueError(
                f"Not a Standardizer description: expected a dict with format={_FORMAT!r}. "
                f"Received: {str(config)[:200]}."
            )
        return cls(config["input_shape"], config["output_shape"], config["mean"], config["std"],
                   config.get("num_images", 0))

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as JSON to ``path`` (e.g. ``RUN/normalization.json``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Standardizer:
        """Read a Standardizer saved with :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No Standardizer JSON at '{path}' (written by Standardizer.save).")
        return cls.from_dict(json.loads(path.read_text(encoding="utf8")))

    def __repr__(self) -> str:
        return (f"Standardizer(input_shape={self.input_shape}, output_shape={self.output_shape}, "
                f"mean={[round(float(m), 4) for m in self.mean]}, std={[round(float(s), 4) for s in self.std]})")


def make_pipeline(
    x,
    y,
    *,
    batch_size: int,
    training: bool,
    seed: int = 0,
    augmentation=None,
    standardizer: Standardizer | None = None,
    cache: bool | str = True,
    shuffle_buffer: int | None = None,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """A tf.data pipeline over in-memory images and labels.

    Order: (standardize) -> cache -> (shuffle, seeded) -> batch -> (augment) -> prefetch; the
    bracketed steps run only with a ``standardizer`` / when ``training``.

    Args:
        x: images; uint8 when ``standardizer`` is given (it is applied here, once, before
            the cache), else already standardized float32.
        y: labels, one per image.
        training: shuffle and augment (evaluation pipelines keep the order).
        seed: shuffle seed; the same seed gives the same order epoch after epoch.
        augmentation: a callable such as :func:`augmentation_for`'s result, applied per batch
            with ``training=True`` on training pipelines only.
        cache: True caches in memory, a string caches to that file, False does not cache
            (large images, e.g. CIFAR at 224x224, do not fit in memory).
        shuffle_buffer: None shuffles the whole split.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}.")
    if len(x) != len(y):
        raise ValueError(f"x and y need the same length. Received: len(x)={len(x)}, len(y)={len(y)}.")
    if len(x) == 0:
        raise ValueError("make_pipeline needs at least one image. Received: 0 images.")
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if standardizer is not None:
        dataset = (
            dataset.batch(256)
            .map(lambda images, labels: (standardizer.transform_tensor(images), labels),
                 num_parallel_calls=tf.data.AUTOTUNE)
            .unbatch()
            # unbatch() forgets the length; Keras needs it for progress bars and epoch ends.
            .apply(tf.data.experimental.assert_cardinality(len(x)))
        )
    if cache:
        dataset = dataset.cache(cache if isinstance(cache, str) else "")
    if training:
        buffer = len(x) if shuffle_buffer is None else int(shuffle_buffer)
        dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(int(batch_size), drop_remainder=drop_remainder)
    if training and augmentation is not None:
        # Sequential map: keras' seeded random layers then give the same draws run after run.
        dataset = dataset.map(lambda images, labels: (augmentation(images, training=True), labels))
    return dataset.prefetch(tf.data.AUTOTUNE)


def augmentation_for(dataset_name: str, image_shape, seed: int = 0, *, flip: bool | None = None):
    """Keras preprocessing layers that suit ``dataset_name`` for images of ``image_shape``.

    - digits, mnist: random translation of up to 10% (edges repeated, i.e. background);
      never flipped, a mirrored digit is another symbol or none.
    - everything else (faces, fashion_mnist, cifar10, cifar100, folders): pad by 1/8 of the
      side and crop back at a random position (the standard CIFAR recipe) plus random
      horizontal flips. Padding is 0, the training mean after standardization.

    Args:
        image_shape: (H, W, C) of the standardized images the model sees.
        seed: seeds the random layers.
        flip: override whether to flip horizontally (None: by dataset as above).

    Returns:
        A ``keras.Sequential`` (call it with ``training=True``), or None for images under 8
        pixels on a side, where there is nothing sensible to shift.
    """
    if not isinstance(dataset_name, str) or not dataset_name:
        raise ValueError(f"dataset_name must be a non-empty string. Received: dataset_name={dataset_name!r}.")
    shape = tuple(image_shape)
    if len(shape) != 3 or not all(isinstance(d, (int, np.integer)) and d > 0 for d in shape):
        raise ValueError(
            f"image_shape must be (height, width, channels) of positive ints. Received: image_shape={image_shape!r}."
        )
    height, width, _ = (int(d) for d in shape)
    if min(height, width) < 8:
        return None
    name = dataset_name.lower().replace("-", "_")
    digits_like = name in NO_FLIP_DATASETS
    do_flip = (not digits_like) if flip is None else bool(flip)
    layers = [keras.Input(shape=shape)]
    if digits_like:
        layers.append(keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed,
                                                     dtype="float32", name="random_translation"))
    else:
        pad = max(1, round(min(height, width) / 8))
        layers += [
            keras.layers.ZeroPadding2D(pad, dtype="float32", name="pad"),
            keras.layers.RandomCrop(height, width, seed=seed, dtype="float32", name="random_crop"),
        ]
    if do_flip:
        layers.append(
            keras.layers.RandomFlip("horizontal", seed=seed + 1, dtype="float32", name="random_flip")
        )
    return keras.Sequential(layers, name=f"augmentation_{name}")


__all__ = ["NO_FLIP_DATASETS", "Standardizer", "augmentation_for", "make_pipeline"]
