"""Run folders: where a run lives, how its files are written and read back.

A run folder (``runs/<profile>/<dataset>-<model>-seed<seed>/``) holds ``config.json``,
``history.csv``, ``model.keras`` (the best epoch, preprocessing included), ``predictions.csv``,
``metrics.json``, ``confusion_matrix.csv``, ``classification_report.csv``, ``robustness.csv``
(test accuracy under corruptions) and ``timing.json``.
The SVC baseline writes the same files except the Keras ones.
"""

from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from labwork6.metrics import classification_metrics, classification_report_frame, confusion_matrix_frame
from labwork6.profiles import runs_root

RUN_FILES = ("config.json", "history.csv", "model.keras", "predictions.csv", "metrics.json",
             "confusion_matrix.csv", "classification_report.csv", "robustness.csv", "robustness_predictions.csv",
             "timing.json")


LOCK_NAME = ".lock"


class RunFolderInUse(FileExistsError):
    """Another live process is writing this run folder."""


def _lock_owner_alive(path: Path) -> bool:
    owner = load_json(path)
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        # Unreadable: being written this instant (young) or left by a crash (old).
        try:
            return time.time() - path.stat().st_mtime < 10
        except OSError:
            return False
    if owner.get("host") != socket.gethostname():
        return True  # another machine's process: cannot be checked from here
    try:
        os.kill(owner["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def run_lock(run_dir):
    """Hold ``<run_dir>/.lock`` (pid and host of this process) while writing the run folder.

    A second process on the same folder gets :class:`RunFolderInUse` naming the owner; a lock
    whose process is gone (killed, crashed) is stale and taken over.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    for _ in range(3):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if _lock_owner_alive(path):
                owner = load_json(path) or {}
                raise RunFolderInUse(
                    f"The run folder {run_dir} is being written by another process (pid {owner.get('pid', '?')} on "
                    f"{owner.get('host', '?')}). Wait for it to finish or stop it; a lock left by a process that "
                    f"no longer runs is taken over. Lock file: {path}") from None
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(descriptor, "w") as file:
            json.dump({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}, file)
        break
    else:
        raise RunFolderInUse(f"Could not lock the run folder {run_dir}: {path} keeps reappearing.")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def run_dir_for(model: str, dataset: str, seed: int, profile: str, root=None) -> Path:
    """The run folder of a (model, dataset, seed) in a profile."""
    dataset_label = Path(str(dataset).rstrip("/")).name or str(dataset)
    return runs_root(root) / profile / f"{dataset_label}-{model}-seed{seed}"


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {value!r}")


def write_json(path, data: dict) -> None:
    """Write ``data`` as indented JSON (numpy scalars and tuples allowed)."""
    Path(path).write_text(json.dumps(data, indent=2, default=_json_default) + "\n")


def load_json(path) -> dict | None:
    """The JSON object in ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def plain(config: dict) -> dict:
    """``config`` as JSON would give it back (tuples as lists, numpy scalars as numbers)."""
    return json.loads(json.dumps(config, default=_json_default))


def write_evaluation(run_dir, labels, predictions, probabilities, class_names, *, image_ids=None, **extra) -> dict:
    """Write ``predictions.csv``, ``metrics.json``, ``confusion_matrix.csv`` and
    ``classification_report.csv`` to ``run_dir``; return the metrics. ``image_ids`` (each test
    image's id in its source, ``Split.ids``) become the column ``image`` of ``predictions.csv``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    probabilities = np.asarray(probabilities, dtype="float64").reshape(len(labels), -1)
    names = [class_names[-1]] if probabilities.shape[1] == 1 else list(class_names)
    frame = pd.DataFrame({"index": np.arange(len(labels)), "label": labels, "prediction": predictions})
    if image_ids is not None:
        frame.insert(1, "image", np.asarray(image_ids))
    for column, name in enumerate(names):
        frame[f"prob_{name}"] = probabilities[:, column]
    frame.to_csv(run_dir / "predictions.csv", index=False)
    metrics = classification_metrics(labels, predictions, class_names)
    metrics.update(extra)
    write_json(run_dir / "metrics.json", metrics)
    confusion_matrix_frame(labels, predictions, class_names).to_csv(run_dir / "confusion_matrix.csv")
    classification_report_frame(labels, predictions, class_names).to_csv(run_dir / "classification_report.csv")
    return metrics


def load_run(run_dir) -> dict:
    """Read a run folder: config, metrics, timing (dicts) and history (DataFrame, or None)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").exists():
        raise FileNotFoundError(f"No run folder at {run_dir} (config.json missing). Train one with "
                                "`python -m labwork6 train --model NAME`.")
    run = {"run_dir": run_dir, "config": load_json(run_dir / "config.json")}
    for name in ("metrics", "timing"):
        run[name] = load_json(run_dir / f"{name}.json")
    history = run_dir / "history.csv"
    run["history"] = pd.read_csv(history) if history.exists() else None
    return run


def find_runs(root=None, profile: str | None = None, completed: bool = True) -> list[Path]:
    """Run folders under ``<root>/<profile>`` (all profiles when None), sorted."""
    base = runs_root(root)
    pattern = f"{profile}/*/config.json" if profile else "*/*/config.json"
    found = []
    for config_path in sorted(base.glob(pattern)):
        config = load_json(config_path) or {}
        if not completed or config.get("status") == "completed":
            found.append(config_path.parent)
    return found


def one_based_history(path: Path) -> pd.DataFrame:
    """``history.csv`` with epochs counted from 1, as the report counts them (Keras counts from 0)."""
    history = pd.read_csv(path)
    if len(history) and history["epoch"].iloc[0] == 0:
        history["epoch"] += 1
        history.to_csv(path, index=False)
    return history
