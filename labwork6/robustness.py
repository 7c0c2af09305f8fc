"""Accuracy under corrupted test images: a test that can separate models that tie on clean ones.

The corruptions follow MNIST-C (Mu & Gilmer, "MNIST-C: A Robustness Benchmark for
Computer Vision", 2019) and ImageNet-C (Hendrycks & Dietterich, "Benchmarking Neural
Network Robustness to Common Corruptions and Perturbations", ICLR 2019): each at five
severities, applied to the raw uint8 images ``(N, H, W, C)`` before any resizing (the
models resize and normalise inside themselves). Geometric parameters are fractions of
the image side, so an 8x8 digit and a 32x32 photograph are damaged alike; noise and
contrast parameters are ImageNet-C's. The random draws (noise, directions, positions)
depend on the seed and the corruption but not on the severity, so going up a severity
changes only the strength of the same damage.

:func:`robustness_table` scores a classifier on the clean images and on every
(corruption, severity), with Wilson 95% intervals; :func:`mean_corruption_accuracy` is
the headline number.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage
from skimage.util import random_noise

from labwork6.durable import write_csv
from labwork6.stats import accuracy_interval

CORRUPTIONS = ("gaussian_noise", "salt_and_pepper", "blur", "translation", "rotation", "contrast", "occlusion")
SEVERITIES = (1, 2, 3, 4, 5)

#: The parameter of each corruption at severities 1..5 (units in :data:`PARAMETER_UNITS`).
SEVERITY_PARAMETERS: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),  # ImageNet-C gaussian_noise
    "salt_and_pepper": (0.03, 0.06, 0.09, 0.17, 0.27),  # ImageNet-C impulse_noise
    "blur": (0.04, 0.06, 0.08, 0.11, 0.15),  # 0.3 .. 1.2 pixels on 8x8 digits
    "translation": (0.06, 0.12, 0.19, 0.25, 0.33),  # 0.5 .. 2.6 pixels on 8x8 digits
    "rotation": (10.0, 20.0, 30.0, 45.0, 60.0),
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),  # ImageNet-C contrast
    "occlusion": (0.125, 0.25, 0.375, 0.5, 0.625),  # 1 .. 5 pixels on 8x8 digits
}

PARAMETER_UNITS = {
    "gaussian_noise": "standard deviation of added noise, fraction of 255",
    "salt_and_pepper": "fraction of pixel values set to 0 or 255",
    "blur": "Gaussian sigma, fraction of the image side",
    "translation": "shift in a random direction, fraction of the image side",
    "rotation": "degrees, random sign",
    "contrast": "factor on each pixel's distance from the image mean",
    "occlusion": "side of a black square at a random place, fraction of the image side",
}

ROBUSTNESS_FILE = "robustness.csv"
#: Each test image's predicted label under each (corruption, severity): for paired tests.
ROBUSTNESS_PREDICTIONS = "robustness_predictions.csv"
TABLE_COLUMNS = ("corruption", "severity", "correct", "total", "accuracy", "accuracy_low", "accuracy_high")


def parameters_frame() -> pd.DataFrame:
    """:data:`SEVERITY_PARAMETERS` as a table: one row per corruption, one column per
    severity, and the unit."""
    frame = pd.DataFrame.from_dict(SEVERITY_PARAMETERS, orient="index", columns=list(SEVERITIES))
    frame.insert(0, "unit", [PARAMETER_UNITS[name] for name in frame.index])
    frame.index.name = "corruption"
    return frame


def _check_images(images) -> np.ndarray:
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
        description = (
            f"dtype {images.dtype}, shape {images.shape}" if isinstance(images, np.ndarray) else type(images).__name__
        )
        raise ValueError(
            "`images` must be a raw uint8 array (N, H, W, C), values 0..255, before any resizing or "
            f"normalisation. Received: {description}"
        )
    return images


def _check_corruption(corruption) -> str:
    if corruption not in CORRUPTIONS:
        raise ValueError(f"Unknown corruption. Valid: {', '.join(CORRUPTIONS)}. Received: corruption={corruption!r}")
    return corruption


def _check_severity(severity, allowed: Sequence[int] = (0, *SEVERITIES)) -> int:
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or severity not in allowed:
        raise ValueError(
            f"`severity` must be an integer in {tuple(allowed)}. Received: severity={severity!r}"
        )
    return int(severity)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _pixels(fraction: float, side: int) -> int:
    """``fraction`` of ``side`` rounded half up to whole pixels, at least 1."""
    return max(1, int(np.floor(fraction * side + 0.5)))


def _gaussian_noise(images, strength, rng):
    return random_noise(images, mode="gaussian", var=strength**2, rng=rng, clip=True) * 255.0


def _salt_and_pepper(images, strength, rng):
    return random_noise(images, mode="s&p", amount=strength, rng=rng) * 255.0


def _blur(images, strength, rng):
    height, width = images.shape[1:3]
    sigma = (0.0, strength * height, strength * width, 0.0)
    return ndimage.gaussian_filter(images.astype(np.float64), sigma=sigma, mode="nearest")


def _translation(images, strength, rng):
    height, width = images.shape[1:3]
    angles = rng.uniform(0.0, 2 * np.pi, size=len(images))
    out = np.empty(images.shape, np.float64)
    for index, (image, angle) in enumerate(zip(images, angles, strict=True)):
        offset = (strength * height * np.sin(angle), strength * width * np.cos(angle), 0.0)
        out[index] = ndimage.shift(image.astype(np.float64), offset, order=1, mode="constant", cval=0.0)
    return out


def _rotation(images, strength, rng):
    signs = rng.choice((-1.0, 1.0), size=len(images))
    out = np.empty(images.shape, np.float64)
    for index, (image, sign) in enumerate(zip(images, signs, strict=True)):
        out[index] = ndimage.rotate(
            image.astype(np.float64), sign * strength, axes=(1, 0), reshape=False, order=1, mode="constant", cval=0.0
        )
    return out


def _contrast(images, strength, rng):
    values = images.astype(np.float64)
    means = values.mean(axis=(1, 2), keepdims=True)
    return (values - means) * strength + means


def _occlusion(images, strength, rng):
    height, width = images.shape[1:3]
    size_y, size_x = _pixels(strength, height), _pixels(strength, width)
    # Uniform fractions rather than integer positions, so that the square's place moves
    # smoothly (and not at random) as its size grows with the severity.
    places = rng.random((len(images), 2))
    out = images.copy()
    for index, (along_y, along_x) in enumerate(places):
        top = int(along_y * (height - size_y + 1))
        left = int(along_x * (width - size_x + 1))
        out[index, top : top + size_y, left : left + size_x] = 0
    return out


_CORRUPT = {
    "gaussian_noise": _gaussian_noise,
    "salt_and_pepper": _salt_and_pepper,
    "blur": _blur,
    "translation": _translation,
    "rotation": _rotation,
    "contrast": _contrast,
    "occlusion": _occlusion,
}


def corrupt(images: np.ndarray, corruption: str, severity: int, seed: int = 0) -> np.ndarray:
    """``images`` (uint8, ``(N, H, W, C)``) with ``corruption`` at ``severity`` (0..5).

    Severity 0 returns an unchanged copy. The result is uint8 of the same shape, and the
    same for the same ``(seed, corruption, severity)``.
    """
    images = _check_images(images)
    corruption, severity = _check_corruption(corruption), _check_severity(severity)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed!r}")
    if severity == 0 or len(images) == 0:
        return images.copy()
    # One stream per (seed, corruption), shared by the severities (see the module docstring);
    # crc32 of the name, unlike hash(), is the same in every Python process.
    rng = np.random.default_rng([int(seed), zlib.crc32(corruption.encode())])
    strength = SEVERITY_PARAMETERS[corruption][severity - 1]
    return _to_uint8(_CORRUPT[corruption](images, strength, rng))


#: Images per call of ``predict`` at most. The rows are predicted together, a chunk of rows per
#: call, because every ``model.predict`` call pays a fixed start-up (about 0.4 s here, as much
#: as predicting 270 digits): with one call per row, scoring VGG19-BN's 36 rows took 34 s, in
#: chunks 20 s (2-core CPU).
PREDICT_CHUNK = 2**15


def _predict_in_chunks(predict, batches, num_batches: int, size: int) -> list[np.ndarray]:
    """``predict`` applied to each of ``num_batches`` batches of ``size`` images from the iterable
    ``batches``, as few calls as :data:`PREDICT_CHUNK` allows; one label array per batch."""
    per_call = max(1, PREDICT_CHUNK // size)
    batches, found = iter(batches), []
    while len(found) < num_batches:
        group = [next(batches) for _ in range(min(per_call, num_batches - len(found)))]
        predictions = np.asarray(predict(np.concatenate(group)))
        if predictions.shape != (len(group) * size,):
            raise ValueError(
                f"`predict` must return one label per image, shape ({len(group) * size},) for "
                f"{len(group) * size} images. Received: an array of shape {predictions.shape} "
                "(for probabilities, take the argmax inside `predict`)"
            )
        found.extend(np.split(predictions, len(group)))
    return found


def robustness_table(
    predict: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    labels,
    *,
    corruptions: Sequence[str] = CORRUPTIONS,
    severities: Sequence[int] = SEVERITIES,
    seed: int = 0,
) -> pd.DataFrame:
    """Accuracy of a classifier on the clean images and on each (corruption, severity).

    Args:
        predict: maps uint8 images ``(n, H, W, C)`` to ``n`` integer labels, e.g.
            ``lambda x: model.predict(x).argmax(axis=1)``.
        images: the raw uint8 test images ``(N, H, W, C)``.
        labels: their ``N`` true labels.

    Returns:
        A DataFrame with :data:`TABLE_COLUMNS`: first the clean row (corruption
        ``"none"``, severity 0), then one row per corruption and severity; the interval
        is Wilson's at 95% (:func:`labwork6.stats.accuracy_interval`).
    """
    images = _check_images(images)
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(images) or len(labels) == 0:
        raise ValueError(
            f"`labels` must hold one label per image ({len(images)} images, at least 1). "
            f"Received: labels with shape {labels.shape}"
        )
    if isinstance(corruptions, str) or not corruptions:
        raise ValueError(f"`corruptions` must be a non-empty list of names. Received: corruptions={corruptions!r}")
    for name in corruptions:
        _check_corruption(name)
    if isinstance(severities, (int, np.integer)) or not severities:
        raise ValueError(
            f"`severities` must be a non-empty list from {SEVERITIES}. Received: severities={severities!r}"
        )
    for severity in severities:
        _check_severity(severity, SEVERITIES)

    def row(corruption: str, severity: int, predictions: np.ndarray) -> dict:
        correct = int(np.sum(predictions == labels))
        low, high = accuracy_interval(correct, len(labels))
        return dict(zip(TABLE_COLUMNS, (corruption, severity, correct, len(labels), correct / len(labels), low, high),
                        strict=True))

    cases = [("none", 0), *((corruption, int(severity)) for corruption in corruptions for severity in severities)]
    batches = (images if severity == 0 else corrupt(images, corruption, severity, seed=seed)
               for corruption, severity in cases)
    predicted = _predict_in_chunks(predict, batches, len(cases), len(labels))
    rows = [row(corruption, severity, predictions)
            for (corruption, severity), predictions in zip(cases, predicted, strict=True)]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def check_table(table) -> pd.DataFrame:
    """``table`` if it is a :func:`robustness_table` (all its columns), else ``ValueError``."""
    missing = [c for c in TABLE_COLUMNS if c not in getattr(table, "columns", ())]
    if not isinstance(table, pd.DataFrame) or missing:
        raise ValueError(
            f"`table` must be a DataFrame from robustness_table() with columns {list(TABLE_COLUMNS)}. "
            f"Received: {type(table).__name__}, missing {missing}"
        )
    return table


def mean_corruption_accuracy(table: pd.DataFrame) -> float:
    """The mean accuracy over every corruption at every severity >= 1 (clean row excluded)."""
    corrupted = check_table(table)[lambda frame: frame["severity"] >= 1]
    if corrupted.empty:
        raise ValueError(f"`table` has no corrupted rows (severity >= 1). Received: {len(table)} rows, all clean")
    return float(corrupted["accuracy"].mean())


def write_robustness(run_dir, table: pd.DataFrame) -> Path:
    """Write ``table`` to ``<run_dir>/robustness.csv`` (folders created); return the path."""
    table = check_table(table)
    path = Path(run_dir) / ROBUSTNESS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(table.loc[:, list(TABLE_COLUMNS)], path, index=False)  # whole or not at all
    return path


def robustness_predictions(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray,
                           seed: int = 0, ids=None, **cases) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`robustness_table` of ``predict`` (``cases``: its ``corruptions`` and ``severities``)
    and every image's label under every row of it: a long frame with columns ``corruption``,
    ``severity``, ``index`` (position among ``images``), ``image`` (``ids``, each image's id in
    its source; the position when None), ``label`` and ``prediction``, for paired tests."""
    predicted = []

    def recording(batch):
        predicted.append(np.asarray(predict(batch)))
        return predicted[-1]

    table = robustness_table(recording, images, labels, seed=seed, **cases)
    ids = np.arange(len(labels)) if ids is None else np.asarray(ids)
    if ids.shape != (len(labels),):
        raise ValueError(f"`ids` must give one id per image ({len(labels)}). Received: shape {ids.shape}")
    # robustness_table predicts its rows in order (the clean images, then each (corruption,
    # severity)), several rows per call: the calls' labels, joined, are the rows' one after another.
    long = table.loc[table.index.repeat(len(labels)), ["corruption", "severity"]].reset_index(drop=True)
    long["index"] = np.tile(np.arange(len(labels)), len(table))
    long["image"] = np.tile(ids, len(table))
    long["label"] = np.tile(np.asarray(labels), len(table))
    long["prediction"] = np.concatenate(predicted)
    return table, long


def evaluate_robustness(run_dir, predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray,
                        labels: np.ndarray, seed: int = 0, *, ids=None,
                        severities: Sequence[int] = SEVERITIES) -> pd.DataFrame:
    """Score ``predict`` on the clean and corrupted ``images`` (:func:`robustness_predictions`, every
    corruption at ``severities``) and write ``robustness.csv`` and ``robustness_predictions.csv``
    (every image's label under every row) to ``run_dir``; return the table."""
    table, long = robustness_predictions(predict, images, labels, seed=seed, ids=ids,
                                         severities=[int(s) for s in severities])
    write_robustness(run_dir, table)
    write_csv(long, Path(run_dir) / ROBUSTNESS_PREDICTIONS, index=False)
    return table


def read_robustness(run_dir) -> pd.DataFrame:
    """The table that :func:`write_robustness` wrote to ``run_dir``."""
    path = Path(run_dir) / ROBUSTNESS_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"No {ROBUSTNESS_FILE} in {Path(run_dir)}: run robustness_table() on the run's model and "
            f"write_robustness() first. Received: run_dir={str(run_dir)!r}"
        )
    return check_table(pd.read_csv(path))


def normalized(images: np.ndarray, mean, std) -> np.ndarray:
    """uint8 ``images`` as a model's preprocessing normalises them: ``(x / 255 - mean) / std`` per
    channel (``mean``, ``std``: the statistics of the training split, one per channel, as a run's
    ``RunConfig.normalization`` records them). Resizing, which the model also does, keeps a
    constant background constant and is left out."""
    mean, std = np.asarray(mean, float).reshape(-1), np.asarray(std, float).reshape(-1)
    if mean.shape != std.shape or (std <= 0).any():
        raise ValueError(f"`mean` and `std` need one value per channel, std > 0. Received: mean={mean.tolist()}, "
                         f"std={std.tolist()}")
    return (_check_images(images).astype(np.float64) / 255.0 - mean) / std


def contrast_diagnosis(images: np.ndarray, mean, std, severities: Sequence[int] = SEVERITIES,
                       seed: int = 0) -> pd.DataFrame:
    """What the ``contrast`` corruption does to a model's normalised input.

    The corruption moves every pixel towards its image's mean: on a digit, whose background is
    0 (black) in every training image, the background turns grey. After the fixed normalisation
    of the training split (mean and std of all training pixels, mostly background) a black pixel
    is always ``-mean / std``; the grey background lands above that, at a value no training
    image had as background, while the strokes come down towards it.

    Args:
        images: raw uint8 images (N, H, W, C), e.g. test images.
        mean, std: the training split's per-channel statistics (``RunConfig.normalization``).

    Returns:
        One row per severity (0: the clean images): ``severity``, ``factor`` (the corruption's
        parameter), ``background`` (the mean normalised value of the pixels that are black, 0 in
        every channel, in the clean image), ``background_shift`` (its distance from the clean
        background, in units of the training std), ``strokes`` (the mean normalised value of the
        pixels at least half-bright in the clean image) and ``stroke_contrast`` (strokes minus
        background). NaN where the clean images have no such pixels.
    """
    images = _check_images(images)
    clean = images.astype(np.int64)
    background = (clean == 0).all(axis=-1)
    strokes = (clean >= 128).any(axis=-1)
    rows = []
    for severity in (0, *[_check_severity(s, SEVERITIES) for s in severities]):
        values = normalized(corrupt(images, "contrast", severity, seed=seed), mean, std).mean(axis=-1)
        row = {"severity": severity, "factor": 1.0 if severity == 0 else SEVERITY_PARAMETERS["contrast"][severity - 1],
               "background": float(values[background].mean()) if background.any() else np.nan,
               "strokes": float(values[strokes].mean()) if strokes.any() else np.nan}
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.insert(3, "background_shift", frame["background"] - frame["background"].iloc[0])
    frame["stroke_contrast"] = frame["strokes"] - frame["background"]
    return frame
