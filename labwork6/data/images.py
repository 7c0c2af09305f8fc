"""One image at a time: decode a file to uint8, check a requested size; resize as the model does."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm",
)


def check_image_size(image_size) -> tuple[int, int] | None:
    """``image_size`` as ``(height, width)``: ``None`` stays None, an int ``n`` becomes ``(n, n)``.

    Raises ``ValueError`` for anything but None, a positive int or two positive ints.
    """
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
            "image_size must be None (keep the size), a positive int or (height, width) of positive ints. "
            f"Received: image_size={image_size!r}."
        )
    return size


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode one image file to uint8: (H, W) if grayscale, (H, W, 3) if colour.

    Handles 1-bit, 8-bit and 16-bit grayscale, palette (a palette of greys stays grayscale),
    RGBA / LA (composited over white), CMYK and EXIF rotation. Raises what PIL raises.
    """
    with Image.open(path) as image:
        image.load()
        return _pil_to_array(ImageOps.exif_transpose(image))


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


#: How images are resized, here while loading and in the model's ``Resizing`` layer
#: (:func:`labwork6.preprocessing.build_preprocessing`): one operation, Keras' own.
RESIZE_INTERPOLATION = "bilinear"
RESIZE_ANTIALIAS = True
_RESIZE_CHUNK = 256  # images resized per call: bounds the float32 copy (e.g. CIFAR-10 upscaled to 224)


def resize_images(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 images (N, H, W, C) to ``size`` = (height, width), rounded back to uint8.

    The operation is ``keras.ops.image.resize`` (bilinear, antialiased), the one the model's
    ``Resizing`` layer calls, so an image resized while loading and one resized inside the
    model go through the same code (the model resizes values / 255: the same, as resizing is linear).
    """
    import keras  # here, not at the top: decoding and splitting images needs no TensorFlow

    height, width = size
    out = np.empty((len(images), height, width, images.shape[-1]), np.uint8)
    for start in range(0, len(images), _RESIZE_CHUNK):
        chunk = np.asarray(images[start:start + _RESIZE_CHUNK], dtype=np.float32)
        resized = keras.ops.convert_to_numpy(keras.ops.image.resize(
            chunk, (height, width), interpolation=RESIZE_INTERPOLATION, antialias=RESIZE_ANTIALIAS))
        out[start:start + len(chunk)] = np.clip(np.rint(resized), 0, 255)
    return out


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize one uint8 image (H, W, C) to ``size`` = (height, width), as :func:`resize_images`."""
    return resize_images(image[None], size)[0]
