"""Run folders: where a run lives, what makes a folder one, how its files are written and read back.

A run folder (``runs/<profile>/<dataset>-<model>-seed<seed>/``) holds ``run.json`` (the marker,
written first: a folder without it is never changed or emptied), ``config.json``,
``history.csv``, ``model.keras`` (the best epoch, preprocessing included), ``predictions.csv``,
``metrics.json``, ``confusion_matrix.csv``, ``classification_report.csv``, ``robustness.csv``
(test accuracy under corruptions), ``robustness_predictions.csv`` and ``timing.json``; while a
run trains, ``backup/`` (:mod:`labwork6.backup`). Every file is written whole or not at all
(:mod:`labwork6.durable`). ``config.json``'s ``status`` moves ``training`` -> ``trained`` (the
best model and the history are final) -> ``completed`` (the test split is scored), or
``failed``. The SVC baseline writes the same files except the Keras ones.

:func:`plan_run` decides what a ``train`` call does with a folder: reuse a completed run with
the same settings, resume an interrupted one, score a trained one, or start afresh (an empty
folder, a failed run, ``overwrite``); anything else is refused with one line that names what
differs and the ways out.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from labwork6 import __version__
from labwork6.data import DATASET_NAMES
from labwork6.durable import PARTIAL_GLOB, remove, remove_partials, write_csv, write_text
from labwork6.locks import LOCK_NAME, RunFolderInUse, folder_lock
from labwork6.metrics import classification_metrics, classification_report_frame, confusion_matrix_frame
from labwork6.profiles import runs_root
from labwork6.run_config import (
    COMPLETED,
    CONFIG_FILE,
    FAILED,
    TRAINED,
    TRAINING,
    BaselineConfig,
    RunFormatError,
    plain,
    read_config,
    write_config,
)

__all__ = ["COMPLETED", "FAILED", "LOCK_NAME", "MARKER", "RUN_FILES", "TRAINED", "TRAINING", "RunFolderConflict",
           "RunFolderInUse", "read_config", "run_lock", "write_config"]

RUN_FILES = (CONFIG_FILE, "history.csv", "model.keras", "predictions.csv", "metrics.json",
             "confusion_matrix.csv", "classification_report.csv", "robustness.csv", "robustness_predictions.csv",
             "timing.json")
MARKER = "run.json"
#: The layout of a run folder that ``run.json`` announces (1: marker, backup generations, status states).
RUN_FOLDER_FORMAT = 1
#: What a fresh run may delete in a marked folder: only names this project writes.
_OWN_NAMES = (*RUN_FILES, "normalization.json", "backup", "evaluation")

#: What must not change under an interrupted run for its backup to continue it exactly.
_RESUME_CHECKS = {"resolved_precision": "precision", "num_replicas_in_sync": "replicas",
                  "versions.tensorflow": "TensorFlow", "versions.keras": "Keras", "versions.labwork6": "labwork6",
                  "data_fingerprint": "the data (hash of the split's images and labels)"}

run_lock = folder_lock


class RunFolderConflict(FileExistsError):
    """The folder holds something that this call must not replace (one line says why and what to do)."""


def dataset_source(dataset: str) -> str:
    """What a dataset argument refers to: a dataset's name, or the resolved path of a folder
    (``./data/x`` and ``data/x`` are one source)."""
    key = str(dataset).strip().lower().replace("-", "_")
    return key if key in DATASET_NAMES else str(Path(str(dataset)).expanduser().resolve())


def dataset_label(dataset: str) -> str:
    """The dataset's part of a folder name: a dataset's name, or a folder's name and a short
    hash of its resolved path (two folders called ``x`` give two labels)."""
    source = dataset_source(dataset)
    if source in DATASET_NAMES:
        return Path(str(dataset).strip().rstrip("/")).name or source
    return f"{Path(source).name or 'root'}-{hashlib.sha256(source.encode()).hexdigest()[:6]}"


def run_name(config) -> str:
    """A run folder's name for a configuration (:mod:`labwork6.run_config`):
    ``<dataset>-<model>-seed<S>``, and ``-fold<F>of<K>`` for a fold of a cross-validation."""
    name = f"{dataset_label(config.dataset)}-{config.model}-seed{int(config.seed)}"
    return f"{name}-fold{int(config.fold)}of{int(config.folds)}" if config.folds else name


def is_run_folder(run_dir) -> bool:
    """True when ``run_dir`` has the marker that labwork6 writes first into a run folder."""
    return (Path(run_dir) / MARKER).is_file()


def check_claimable(run_dir, config=None, *, overwrite: bool = False) -> bool:
    """Raise :class:`RunFolderConflict` unless ``run_dir`` is missing, empty or a run folder:
    a folder of someone else's files is never written into or emptied. Returns True when it is
    a completed run of ``config`` (a :class:`labwork6.run_config.RunConfig`) written before run
    folders had a marker (reused as it is, unless ``overwrite``: then it is refused, as it cannot
    be told from a user's folder)."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise NotADirectoryError(f"The run folder must be a folder. Received a file: {str(run_dir)!r}")
    if not run_dir.exists() or is_run_folder(run_dir):
        return False
    # The lock and a marker cut short by a kill are this project's: the folder is still empty.
    entries = sorted(entry.name for entry in run_dir.iterdir()
                     if entry.name != LOCK_NAME and not fnmatch.fnmatch(entry.name, PARTIAL_GLOB))
    if not entries:
        return False
    try:
        earlier = read_config(run_dir)
        of_labwork6 = earlier is not None
    except RunFormatError:
        earlier, of_labwork6 = None, True
    except ValueError:  # a config.json that is not a run's: a user's folder
        earlier, of_labwork6 = None, False
    if isinstance(earlier, BaselineConfig):
        raise RunFolderConflict(f"{run_dir} holds the {earlier.model} baseline's run, which a network's run does not "
                                "replace; choose another --run-dir (run_dir=...).")
    if of_labwork6:
        if earlier is not None and config is not None and not overwrite and earlier.status == COMPLETED \
                and not differences(earlier, config) \
                and all((run_dir / name).exists() for name in RUN_FILES):
            return True
        raise RunFolderConflict(
            f"{run_dir} holds a run of an earlier labwork6 (no {MARKER}), which is not changed or deleted; move or "
            "delete it yourself, or choose another --run-dir (run_dir=...).")
    shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
    raise RunFolderConflict(
        f"{run_dir} is not empty ({shown}) and is not a labwork6 run folder (it has no {MARKER}), so nothing "
        "in it is written or deleted; choose a new or empty folder with --run-dir (run_dir=...).")


def start_fresh(run_dir) -> None:
    """Empty a run folder of this project's files (a user's other files stay) and mark it."""
    run_dir = Path(run_dir)
    check_claimable(run_dir)
    if is_run_folder(run_dir):
        for name in _OWN_NAMES:
            remove(run_dir / name)
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_partials(run_dir)
    write_json(run_dir / MARKER, {"format": RUN_FOLDER_FORMAT, "labwork6": __version__,
                                  "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def comparable(config) -> dict:
    """The settings of a run configuration (:meth:`labwork6.run_config.RunConfig.settings`): what
    two runs must share to be the same run, the dataset as its resolved source."""
    settings = config.settings()
    settings["dataset"] = config.dataset_source or dataset_source(settings["dataset"])
    return settings


def differences(previous, current) -> list[str]:
    """``key: old -> new`` for every setting that differs (missing keys shown as None)."""
    old, new = comparable(previous), comparable(current)
    return [f"{key}: {old.get(key)!r} -> {new.get(key)!r}" for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)]


def plan_run(run_dir, config, previous, *, overwrite: bool = False) -> str:
    """What ``train`` does with ``run_dir`` (whose ``config.json`` held ``previous``, read under
    the lock): ``"reuse"`` a completed run with the same settings, ``"resume"`` an interrupted
    one from its backup, ``"score"`` a trained one (test split only), or ``"fresh"`` (nothing
    there, a failed run, ``overwrite``). Raises :class:`RunFolderConflict` for a run with other
    settings, naming them."""
    run_dir = Path(run_dir)
    status = previous.status if previous is not None else None
    if overwrite or status in (None, FAILED):
        return "fresh"
    changed = differences(previous, config)
    ways_out = "pass --overwrite (overwrite=True) to replace it, or choose another --run-dir (run_dir=...)"
    if status == COMPLETED:
        if changed:
            raise RunFolderConflict(f"{run_dir} holds a completed run with other settings ({'; '.join(changed)}); "
                                    f"{ways_out}.")
        if all((run_dir / name).exists() for name in RUN_FILES):
            return "reuse"
        if (run_dir / "model.keras").exists() and (run_dir / "history.csv").exists():
            return "score"
        raise RunFolderConflict(f"{run_dir} holds a completed run whose model.keras or history.csv is missing; "
                                f"{ways_out}.")
    if status in (TRAINING, TRAINED):
        if changed:
            why = (" (the learning-rate schedule spans all the epochs, so a run cannot go on with another "
                   "--epochs)") if any(line.startswith("epochs:") for line in changed) else ""
            raise RunFolderConflict(f"{run_dir} holds an interrupted run with other settings ({'; '.join(changed)})"
                                    f"{why}; rerun it with its own settings to resume it, {ways_out}.")
        return "score" if status == TRAINED else "resume"
    return "fresh"


def _lookup(config, dotted: str):
    found = config
    for part in dotted.split("."):
        found = found.get(part) if isinstance(found, dict) else getattr(found, part, None)
    return found


def check_resumable(run_dir, previous, current: dict) -> None:
    """Raise :class:`RunFolderConflict` when what an interrupted run's backup depends on
    changed since it started: precision, replicas, versions, the data."""
    changed = [f"{name} {_lookup(previous, key)!r} -> {_lookup(current, key)!r}"
               for key, name in _RESUME_CHECKS.items() if _lookup(previous, key) != _lookup(current, key)]
    if changed:
        raise RunFolderConflict(
            f"Cannot resume the interrupted run in {run_dir}: {'; '.join(changed)} since it started, so its backup "
            "would not continue it exactly; pass --overwrite (overwrite=True) to train it again from the start.")


def data_fingerprint(data) -> str:
    """A hash of a dataset's splits (images, labels) and class names: equal data, equal hash."""
    digest = hashlib.sha256(json.dumps(list(data.class_names)).encode())
    for split in ("train", "val", "test"):
        part = getattr(data, split)
        images = np.ascontiguousarray(part.images)
        digest.update(f"{split}{images.shape}{images.dtype}".encode())
        digest.update(images.tobytes())
        digest.update(np.ascontiguousarray(part.labels, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def write_json(path, data: dict) -> None:
    """Write ``data`` as indented JSON (numpy scalars and tuples allowed), whole or not at all."""
    write_text(path, json.dumps(plain(data), indent=2) + "\n")


def load_json(path) -> dict | None:
    """The JSON object in ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


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
    write_csv(frame, run_dir / "predictions.csv", index=False)
    metrics = classification_metrics(labels, predictions, class_names)
    metrics.update(extra)
    write_json(run_dir / "metrics.json", metrics)
    write_csv(confusion_matrix_frame(labels, predictions, class_names), run_dir / "confusion_matrix.csv")
    write_csv(classification_report_frame(labels, predictions, class_names), run_dir / "classification_report.csv")
    return metrics


def load_run(run_dir) -> dict:
    """Read a run folder: ``config`` (:func:`labwork6.run_config.read_config`), ``metrics`` and
    ``timing`` (dicts, None when missing) and ``history`` (DataFrame, or None)."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    if config is None:
        raise FileNotFoundError(f"No run folder at {run_dir} ({CONFIG_FILE} missing). Train one with "
                                "`python -m labwork6 train --model NAME`.")
    run = {"run_dir": run_dir, "config": config}
    for name in ("metrics", "timing"):
        run[name] = load_json(run_dir / f"{name}.json")
    history = run_dir / "history.csv"
    run["history"] = pd.read_csv(history) if history.exists() else None
    return run


def is_completed(run_dir) -> bool:
    """True when ``run_dir`` holds a completed run (its ``config.json`` says so)."""
    config = read_config(run_dir)
    return config is not None and config.status == COMPLETED


def find_runs(root=None, profile: str | None = None, completed: bool = True) -> list[Path]:
    """Run folders under ``<root>/<profile>`` (all profiles when None), sorted; only completed ones
    unless ``completed`` is false. A run of another format is refused (:class:`RunFormatError`)."""
    base = runs_root(root)
    pattern = f"{profile}/*/{CONFIG_FILE}" if profile else f"*/*/{CONFIG_FILE}"
    found = []
    for config_path in sorted(base.glob(pattern)):
        config = read_config(config_path.parent)  # None: removed since the glob
        if config is not None and (not completed or config.status == COMPLETED):
            found.append(config_path.parent)
    return found
