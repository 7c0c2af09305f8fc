"""Use a saved run: evaluate it on its test split or on other images, and predict single images."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from labwork6.data import load_dataset, read_image
from labwork6.metrics import labels_from_probabilities
from labwork6.preprocessing import Standardizer
from labwork6.runs import load_run, write_evaluation
from labwork6.train import run_dataset


def load_trained(run_dir):
    """The best model, the standardizer and the config of a completed run folder."""
    run = load_run(run_dir)
    config = run["config"]
    if config.get("status") != "completed" or not (Path(run_dir) / "model.keras").exists():
        raise FileNotFoundError(
            f"The run in {run_dir} is not completed (status: {config.get('status')!r}); train it first with "
            f"`python -m labwork6 train --model {config.get('model', 'NAME')}`.")
    model = keras.models.load_model(Path(run_dir) / "model.keras")
    standardizer = Standardizer.load(Path(run_dir) / "normalization.json")
    return model, standardizer, config


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
            f"The test split of {config['dataset']!r} (seed {config['seed']}) does not match "
            f"{Path(run_dir) / 'predictions.csv'}: the data or its splitting changed since the run. Train it again.")
    return data, predictions


def evaluate_run(run_dir, dataset=None) -> tuple[dict, Path]:
    """Metrics of a saved run on its own test split, or on ``dataset`` (a name or folder).

    For another dataset, class names must be among the run's; a folder without the
    ``train/val/test`` layout is evaluated on all its images, otherwise on its ``test/``.
    The files go to ``<run_dir>/evaluation/<dataset>/``; returns the metrics and that folder.
    """
    model, standardizer, config = load_trained(run_dir)
    class_names = config["class_names"]
    data = run_dataset(config) if dataset is None else load_dataset(dataset, seed=config["seed"])
    unknown = sorted(set(data.class_names) - set(class_names))
    if unknown:
        raise ValueError(f"The dataset has classes the model does not know: {unknown}. "
                         f"The run was trained on: {class_names}. Received: dataset={dataset!r}")
    to_run_label = np.array([class_names.index(name) for name in data.class_names])
    whole_folder = dataset is not None and Path(str(dataset)).is_dir() and not (Path(str(dataset)) / "test").is_dir()
    splits = [data.train, data.val, data.test] if whole_folder else [data.test]
    images = np.concatenate([s.images for s in splits])
    labels = to_run_label[np.concatenate([s.labels for s in splits])]
    probabilities = model.predict(standardizer.transform(images), batch_size=64, verbose=0)
    predictions = labels_from_probabilities(probabilities)
    label = "test" if dataset is None else re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(dataset).rstrip("/")).name)
    out_dir = Path(run_dir) / "evaluation" / label
    metrics = write_evaluation(out_dir, labels, predictions, probabilities, class_names, dataset=str(dataset or
                               config["dataset"]))
    return metrics, out_dir


def predict_images(run_dir, paths) -> list[dict]:
    """Class and probability of each image file, with the run's model and standardization."""
    model, standardizer, config = load_trained(run_dir)
    class_names = config["class_names"]
    channels = int(config["input_shape"][-1])
    rows = []
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"No such image file: {path}")
        try:
            image = read_image(path)
        except Exception as error:  # PIL raises several types for unreadable files
            raise ValueError(f"Cannot read {path} as an image ({error}). Received: {path}") from None
        image = _to_channels(image, channels)
        probabilities = model.predict(standardizer.transform(image[None]), verbose=0)
        label = int(labels_from_probabilities(probabilities)[0])
        row = np.asarray(probabilities, dtype="float64").reshape(-1)
        probability = (row[0] if label == 1 else 1.0 - row[0]) if row.size == 1 else row[label]
        rows.append({"image": str(path), "class": class_names[label], "probability": float(probability)})
    return rows


def _to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 -> (H, W, channels) uint8 (ITU-R 601 luma for colour -> grey)."""
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == channels:
        return image
    if channels == 3:
        return np.repeat(image, 3, axis=-1)
    luma = image.astype("float64") @ np.array([0.299, 0.587, 0.114])
    return np.clip(np.rint(luma), 0, 255).astype("uint8")[..., None]
