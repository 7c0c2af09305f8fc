"""Bring raw images to what a network needs, as Keras layers inside the model, and feed them.

- :func:`build_preprocessing`: the layers a trained model starts with: scale uint8 to [0, 1]
  (``Rescaling``), resize to the network's input (``Resizing``, bilinear, antialiased), keep or
  change the channels (1 <-> 3, a frozen 1x1 ``Conv2D``), then subtract the per-channel mean and
  divide by the std (``Normalization``, adapted on the training split only). Saved inside
  ``model.keras``; all stock Keras layers, so a saved model classifies raw images of any size
  alone, loaded with ``keras.models.load_model`` where labwork6 is not installed.
- :func:`augmentation_for`: Keras random layers that suit a dataset (digits are never
  flipped), placed in the model after the preprocessing; active in training only.
- :func:`make_pipeline`: ``tf.data`` input pipeline over raw images. For training, the order
  of epoch ``e`` depends only on ``(seed, e)``, so a resumed run sees the same batches.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from labwork6.data import check_image_size
from labwork6.data.images import RESIZE_ANTIALIAS, RESIZE_INTERPOLATION

# Images whose horizontal mirror is another symbol (or the same symbol written wrongly).
NO_FLIP_DATASETS = ("digits", "mnist")
#: ITU-R BT.601 luma, what tf.image.rgb_to_grayscale and PIL's "L" mode use.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


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


def channel_conversion(in_channels: int, out_channels: int, name: str = "channels") -> keras.layers.Conv2D:
    """A frozen 1x1 convolution from ``in_channels`` to ``out_channels`` (1 or 3), a stock Keras
    layer so that a saved model loads without labwork6: grey -> RGB repeats the channel (kernel
    of ones), RGB -> grey takes the ITU-R 601 luma (kernel :data:`LUMA_WEIGHTS`), as
    :func:`to_channels` does (without its rounding to uint8)."""
    if _check_channels(in_channels) is None or _check_channels(out_channels) is None:
        raise ValueError(f"channel_conversion needs 1 or 3 channels on both sides. Received: in_channels="
                         f"{in_channels!r}, out_channels={out_channels!r}.")
    if in_channels == out_channels:
        kernel = np.eye(in_channels)
    elif out_channels == 3:
        kernel = np.ones((1, 3))
    else:
        kernel = np.reshape(LUMA_WEIGHTS, (3, 1))
    layer = keras.layers.Conv2D(out_channels, 1, use_bias=False, trainable=False, name=name, dtype="float32")
    layer.build((None, None, None, in_channels))
    layer.kernel.assign(kernel.reshape(1, 1, in_channels, out_channels).astype("float32"))
    return layer


def build_preprocessing(train_images, image_size=None, channels=None, *, batch_size: int = 512) -> keras.Sequential:
    """The preprocessing layers of a model, adapted on ``train_images`` (the training split only).

    Args:
        train_images: uint8 ``(N, H, W, C)``, C = 1 or 3; never val or test images (their
            statistics would leak into training).
        image_size: None keeps H x W; an int or (height, width) resizes (bilinear, antialias).
        channels: None keeps C; 1 converts RGB to luma; 3 repeats grayscale to RGB
            (:func:`channel_conversion`).

    Returns:
        A ``keras.Sequential`` named "preprocessing" whose input is raw images of any height
        and width with C channels (values 0-255) and whose output is float32
        ``(image_size, channels)``, zero mean and unit variance per channel on the training
        split. Layers: ``rescaling``, ``resizing``, (``channels``), ``normalization``; all
        float32 whatever the global mixed-precision policy.
    """
    _check_images(train_images, "build_preprocessing")
    if len(train_images) == 0:
        raise ValueError("build_preprocessing needs at least one training image. Received: 0 images.")
    height, width, in_channels = (int(d) for d in train_images.shape[1:])
    out_height, out_width = check_image_size(image_size) or (height, width)
    out_channels = _check_channels(channels) or in_channels
    layers = [
        keras.layers.Rescaling(1.0 / 255.0, name="rescaling", dtype="float32"),
        keras.layers.Resizing(out_height, out_width, interpolation=RESIZE_INTERPOLATION, antialias=RESIZE_ANTIALIAS,
                              name="resizing", dtype="float32"),
    ]
    if out_channels != in_channels:
        layers.append(channel_conversion(in_channels, out_channels))
    prepare = keras.Sequential([keras.Input((None, None, in_channels), name="raw_images"), *layers])
    normalization = keras.layers.Normalization(axis=-1, name="normalization", dtype="float32")
    normalization.adapt(tf.data.Dataset.from_tensor_slices(train_images).batch(batch_size)
                        .map(lambda images: prepare(tf.cast(images, tf.float32))))
    return keras.Sequential([keras.Input((None, None, in_channels), name="raw_images"), *layers, normalization],
                            name="preprocessing")


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """(H, W) or (H, W, C) uint8 -> (H, W, channels) uint8, e.g. a colour photo for a model
    trained on grayscale digits (ITU-R 601 luma) or the other way round."""
    _check_channels(channels)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == channels:
        return image
    if channels == 3:
        return np.repeat(image, 3, axis=-1)
    luma = image.astype("float64") @ np.array(LUMA_WEIGHTS)
    return np.clip(np.rint(luma), 0, 255).astype("uint8")[..., None]


def epoch_order(num_images: int, seed: int, epoch: int) -> tf.Tensor:
    """The training order of epoch ``epoch``: a permutation that depends only on (seed, epoch)."""
    seed_pair = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_shuffle(tf.range(num_images, dtype=tf.int64), seed=seed_pair)


def make_pipeline(
    x,
    y,
    *,
    batch_size: int,
    training: bool,
    seed: int = 0,
    epochs: int = 1,
    first_epoch: int = 0,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """A tf.data pipeline over in-memory raw images and labels.

    Images come out as float32 (values unchanged). Evaluation (``training=False``): the images
    in order, batched, once. Training: a stream of the batches of epochs ``first_epoch`` ..
    ``epochs - 1`` (then again from ``first_epoch``), each epoch in the order
    :func:`epoch_order` (``seed``, epoch) gives, to be used with ``steps_per_epoch`` in
    ``fit``; a run resumed at epoch ``e`` passes ``first_epoch=e`` and sees exactly the
    batches an uninterrupted run sees from there.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}.")
    if len(x) != len(y):
        raise ValueError(f"x and y need the same length. Received: len(x)={len(x)}, len(y)={len(y)}.")
    if len(x) == 0:
        raise ValueError("make_pipeline needs at least one image. Received: 0 images.")
    if not 0 <= first_epoch < epochs:
        raise ValueError(f"Need 0 <= first_epoch < epochs. Received: first_epoch={first_epoch}, epochs={epochs}.")
    # Images leave the pipeline as float32 (the models' input dtype): distribution strategies
    # reduce a batch across workers to build the model, which uint8 does not support.
    if not training:
        dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(int(batch_size))
        return dataset.map(lambda images, labels: (tf.cast(images, tf.float32), labels)).prefetch(tf.data.AUTOTUNE)
    images, labels, count = tf.constant(x), tf.constant(y), len(x)
    dataset = tf.data.Dataset.range(first_epoch, epochs).flat_map(
        lambda epoch: tf.data.Dataset.from_tensor_slices(epoch_order(count, seed, epoch))
        .batch(int(batch_size), drop_remainder=drop_remainder))
    dataset = dataset.map(lambda index: (tf.cast(tf.gather(images, index), tf.float32), tf.gather(labels, index)))
    # Repeated, so that a reader that takes a batch ahead (Keras does, to build a distributed
    # model) cannot exhaust it; fit's steps_per_epoch bounds what training reads.
    return dataset.repeat().prefetch(tf.data.AUTOTUNE)


def augmentation_for(dataset_name: str, image_shape, seed: int = 0, *, flip: bool | None = None):
    """Keras preprocessing layers that suit ``dataset_name`` for images of ``image_shape``.

    - digits, mnist: random translation of up to 10% (edges repeated, i.e. background);
      never flipped, a mirrored digit is another symbol or none.
    - everything else (faces, fashion_mnist, cifar10, cifar100, folders): a random shift of
      up to 1/8 of the side in whole pixels with zeros (the training mean) filling in, which is
      the standard CIFAR pad-and-crop, plus random horizontal flips.

    The layers sit in the model after the preprocessing and are the identity at inference.

    Args:
        image_shape: (H, W, C) of the normalised images (the network's input).
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
        # Pad-and-crop (pad 1/8 of the side, crop back) as a shift by whole pixels: the same
        # images, and unlike RandomCrop the identity at inference.
        shift = max(1, round(min(height, width) / 8))
        layers.append(keras.layers.RandomTranslation(shift / height, shift / width, fill_mode="constant",
                                                     interpolation="nearest", fill_value=0.0, seed=seed,
                                                     dtype="float32", name="random_shift"))
    if do_flip:
        layers.append(
            keras.layers.RandomFlip("horizontal", seed=seed + 1, dtype="float32", name="random_flip")
        )
    return keras.Sequential(layers, name="augmentation")


__all__ = ["LUMA_WEIGHTS", "NO_FLIP_DATASETS", "augmentation_for", "build_preprocessing", "channel_conversion",
           "epoch_order", "make_pipeline", "to_channels"]
