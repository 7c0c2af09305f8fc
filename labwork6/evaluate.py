"""Use a saved run: evaluate it on its test split or on other images, and predict single images."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from labwork6.data import load_dataset, read_folder, read_image
from labwork6.metrics import labels_from_probabilities
from labwork6.preprocessing import to_channels
from labwork6.recipes import RUN_FORMAT, run_dataset
from labwork6.runs import load_run, write_evaluation


def load_trained(run_dir):
    """The best model of a completed run folder and its config.

    The model holds its preprocessing: it classifies raw images (N, H, W, C), values 0-255,
    of any height and width with the run's channel count.
    """
    run_dir = Path(run_dir)
    config = load_run(run_dir)["config"]
    path = run_dir / "model.keras"
    if config.get("status") != "completed" or not path.exists():
        raise FileNotFoundError(
            f"The run in {run_dir} is not completed (status: {config.get('status')!r}); train it first with "
            f"`python -m labwork6 train --model {config.get('model', 'NAME')}`.")
    if (run_dir / "normalization.json").exists() or config.get("run_format", 1) < RUN_FORMAT:
        raise ValueError(
            f"The run in {run_dir} was trained by an older labwork6 whose model.keras does not hold its "
            "preprocessing (it has normalization.json). Retrain it: `python -m labwork6 train --model "
            f"{config.get('model', 'NAME')} --overwrite ...`. Received: run_format={config.get('run_format', 1)}")
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
            f"The test split of {config['dataset']!r} (seed {config['seed']}) does not match "
            f"{Path(run_dir) / 'predictions.csv'}: the data or its splitting changed since the run. Train it again.")
    return data, predictions


def evaluate_run(run_dir, dataset=None) -> tuple[dict, Path]:
    """Metrics of a saved run on its own test split, or on ``dataset`` (a name or folder).

    For a folder, its class folders must be among the run's classes (one or several of them
    is enough); a folder with ``test/`` is evaluated on its ``test/`` images, any other on all
    of them. A named dataset is evaluated on its test split. The files go to
    ``<run_dir>/evaluation/<dataset>/``; returns the metrics and that folder.
    """
    model, config = load_trained(run_dir)
    class_names = config["class_names"]
    if dataset is None:
        split, names = run_dataset(config).test, class_names
    elif Path(str(dataset)).is_dir():
        folder = Path(str(dataset))
        split, names, _ = read_folder(folder / "test" if (folder / "test").is_dir() else folder)
    else:
        data = load_dataset(dataset, seed=config["seed"])
        split, names = data.test, data.class_names
    unknown = sorted(set(names) - set(class_names))
    if unknown:
        raise ValueError(f"The dataset has classes the model does not know: {unknown}. "
                         f"The run was trained on: {class_names}. Received: dataset={dataset!r}")
    labels = np.array([class_names.index(name) for name in names])[split.labels]
    images = split.images
    images = to_channels(images, int(config["raw_input_shape"][-1]))
    probabilities = model.predict(images, batch_size=64, verbose=0)
    predictions = labels_from_probabilities(probabilities)
    label = "test" if dataset is None else re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(dataset).rstrip("/")).name)
    out_dir = Path(run_dir) / "evaluation" / label
    metrics = write_evaluation(out_dir, labels, predictions, probabilities, class_names, dataset=str(dataset or
                               config["dataset"]))
    return metrics, out_dir


def predict_images(run_dir, paths) -> list[dict]:
    """Class and probability of each image file, with the run's model (preprocessing included)."""
    model, config = load_trained(run_dir)
    class_names = config["class_names"]
    channels = int(config["raw_input_shape"][-1])
    rows = []
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"No such image file: {path}")
        try:
            image = read_image(path)
        except Exception as error:  # PIL raises several types for unreadable files
            raise ValueError(f"Cannot read {path} as an image ({error}). Received: {path}") from None
        probabilities = model.predict(to_channels(image, channels)[None], verbose=0)
        label = int(labels_from_probabilities(probabilities)[0])
        row = np.asarray(probabilities, dtype="float64").reshape(-1)
        probability = (row[0] if label == 1 else 1.0 - row[0]) if row.size == 1 else row[label]
        rows.append({"image": str(path), "class": class_names[label], "probability": float(probability)})
    return rows
