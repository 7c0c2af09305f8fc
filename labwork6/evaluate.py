"""Use a saved run: evaluate it on its test split or on other images, and predict image files."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from labwork6.data import load_dataset, read_folder, read_image
from labwork6.durable import remove_partials
from labwork6.metrics import labels_from_probabilities
from labwork6.preprocessing import to_channels
from labwork6.recipes import run_dataset
from labwork6.run_config import COMPLETED, RunFormatError
from labwork6.runs import dataset_label, load_run, run_lock, write_evaluation


def load_trained(run_dir):
    """The best model of a completed run folder and its config.

    The model holds its preprocessing: it classifies raw images (N, H, W, C), values 0-255,
    of any height and width with the run's channel count.
    """
    run_dir = Path(run_dir)
    try:
        config = load_run(run_dir)["config"]
    except RunFormatError as error:
        raise RunFormatError(f"{error}. Retrain it: `python -m labwork6 train --model NAME --overwrite ...`.") from None
    path = run_dir / "model.keras"
    if config.status != COMPLETED or not path.exists():
        raise FileNotFoundError(
            f"The run in {run_dir} is not completed (status: {config.status!r}); train it first with "
            f"`python -m labwork6 train --model {config.model}`.")
    try:
        model = keras.models.load_model(path)
    except Exception as error:  # Keras raises ValueError, OSError, zipfile errors... for a damaged file
        raise ValueError(f"Cannot read the model file {path}: it is corrupt or truncated ({type(error).__name__}: "
                         f"{str(error)[:200]}). Retrain the run with --overwrite.") from None
    return model, config


def load_test_split(run_dir):
    """The dataset a run was trained on (same split) and its ``predictions.csv``.

    Raises ``ValueError`` when the test labels no longer match the predictions (the data
    or its splitting changed since the run).
    """
    config = load_run(run_dir)["config"]
    data = run_dataset(config)
    predictions = pd.read_csv(Path(run_dir) / "predictions.csv")
    if len(predictions) != len(data.test) or (predictions["label"].to_numpy() != data.test.labels).any():
        raise ValueError(
            f"The test split of {config.dataset!r} (seed {config.seed}) does not match "
            f"{Path(run_dir) / 'predictions.csv'}: the data or its splitting changed since the run. Train it again.")
    return data, predictions


def evaluate_run(run_dir, dataset=None) -> tuple[dict, Path]:
    """Metrics of a saved run on its own test split, or on ``dataset`` (a name or folder).

    For a folder, its class folders must be among the run's classes (one or several of them
    is enough); a folder with ``test/`` is evaluated on its ``test/`` images, any other on all
    of them. A named dataset is evaluated on its test split. The files go to
    ``<run_dir>/evaluation/<name>/`` (:func:`evaluation_dir`: ``test`` for the run's own split,
    else the dataset's name, a folder's with a hash of its resolved path), written whole under
    the run folder's lock; returns the metrics and that folder.
    """
    model, config = load_trained(run_dir)
    out_dir = evaluation_dir(run_dir, dataset)  # before any work: a bad name fails at once
    class_names = config.class_names
    if dataset is None:
        split, names = run_dataset(config).test, class_names
    elif Path(str(dataset)).is_dir():
        folder = Path(str(dataset))
        split, names, _ = read_folder(folder / "test" if (folder / "test").is_dir() else folder)
    else:
        data = load_dataset(dataset, seed=config.seed)
        split, names = data.test, data.class_names
    unknown = sorted(set(names) - set(class_names))
    if unknown:
        raise ValueError(f"The dataset has classes the model does not know: {unknown}. "
                         f"The run was trained on: {class_names}. Received: dataset={dataset!r}")
    labels = np.array([class_names.index(name) for name in names])[split.labels]
    images = split.images
    images = to_channels(images, int(config.raw_input_shape[-1]))
    probabilities = model.predict(images, batch_size=64, verbose=0)
    predictions = labels_from_probabilities(probabilities)
    with run_lock(run_dir):
        if out_dir.is_dir():
            remove_partials(out_dir)  # left by a kill inside an earlier evaluation
        metrics = write_evaluation(out_dir, labels, predictions, probabilities, class_names,
                                   dataset=str(dataset or config.dataset))
    return metrics, out_dir


def evaluation_dir(run_dir, dataset=None) -> Path:
    """``<run_dir>/evaluation/<name>``: ``test`` for the run's own test split, a dataset's name,
    or a folder's name (resolved: ``DIR/..`` and ``./`` are named after the folder they mean) and
    a short hash of its path. Never a folder outside ``evaluation/``."""
    if dataset is None:
        name = "test"
    else:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset_label(str(dataset))).lstrip(".") or "dataset"
    base = Path(run_dir) / "evaluation"
    out_dir = base / name
    if out_dir.resolve().parent != base.resolve():
        raise ValueError(f"Cannot name an evaluation folder after {dataset!r}. Received: dataset={dataset!r}")
    return out_dir


def predict_images(run_dir, paths, *, batch_size: int = 64) -> list[dict]:
    """Class and probability of each image file, with the run's model (preprocessing included).

    Images of one size (after bringing them to the run's channel count) are classified together,
    ``batch_size`` at a time; the model resizes each to its input itself. Returns one dict per
    path, in order: ``image`` (the path as given), ``class`` (a name of the run's classes) and
    ``probability`` (the model's probability of that class).
    """
    paths = [str(path) for path in paths]
    images = [_read_for_prediction(path) for path in paths]  # every file checked before the model loads
    model, config = load_trained(run_dir)
    class_names = config.class_names
    channels = int(config.raw_input_shape[-1])
    images = [to_channels(image, channels) for image in images]
    by_shape: dict[tuple, list[int]] = {}
    for index, image in enumerate(images):
        by_shape.setdefault(image.shape, []).append(index)
    probabilities: list = [None] * len(images)
    for indices in by_shape.values():
        # One predict call per size (model.predict costs ~0.4 s per call however small the batch).
        output = np.asarray(model.predict(np.stack([images[i] for i in indices]), batch_size=batch_size,
                                          verbose=0), dtype="float64").reshape(len(indices), -1)
        for index, row in zip(indices, output, strict=True):
            probabilities[index] = row
    rows = []
    for path, row in zip(paths, probabilities, strict=True):
        label = int(labels_from_probabilities(row[None])[0])
        probability = (row[0] if label == 1 else 1.0 - row[0]) if row.size == 1 else row[label]
        rows.append({"image": path, "class": class_names[label], "probability": float(probability)})
    return rows


def _read_for_prediction(path: str) -> np.ndarray:
    if not Path(path).is_file():
        raise FileNotFoundError(f"No such image file: {path!r}")
    try:
        return read_image(path)
    except Exception as error:  # PIL raises several types for unreadable files
        raise ValueError(f"Cannot read {path!r} as an image ({error}). Received: {path!r}") from None


def printable_name(name: str) -> str:
    """``name`` as printed in a tab-separated table: as it is when every character is printable,
    else (a tab, a newline...) as a Python string literal, ``repr(name)``; also a name that
    starts with a quote, so that a field is a literal exactly when it starts with one."""
    return name if name.isprintable() and not name.startswith(("'", '"')) else repr(name)


def write_predictions(rows: list[dict], path, *, overwrite: bool = False) -> Path:
    """Write the rows of :func:`predict_images` to the CSV file ``path`` (columns image, class,
    probability; names quoted as CSV quotes them), whole: a temporary file, then a rename, so a
    kill leaves the old file or the new one. An existing file is replaced only with ``overwrite``."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"--output must be a CSV file, not a folder. Received: {str(path)!r}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r} exists; pass --overwrite to replace it.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"The folder of --output does not exist: {str(path.parent)!r}")
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False,
                                     newline="", encoding="utf8") as handle:
        temporary = Path(handle.name)
        try:
            pd.DataFrame(rows, columns=["image", "class", "probability"]).to_csv(handle, index=False)
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            temporary.unlink(missing_ok=True)
            raise
    os.replace(temporary, path)
    return path
