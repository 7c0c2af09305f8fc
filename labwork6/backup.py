"""The training state of a run, backed up after every epoch in two generations, each written whole.

``keras.callbacks.BackupAndRestore`` writes ``latest.weights.h5`` and
``training_metadata.json`` in place, one after the other (its ``double_checkpoint`` copies them
in place too): a kill inside or between the two writes leaves a torn file, or weights of one
epoch with the epoch count of another. Here each epoch's state is one folder,
``backup/epoch-NNNN/`` (``NNNN`` epochs finished), written under a temporary name and renamed
whole: the weights (with the optimizer's state), ``state.json`` (the epoch, the history rows,
the best score and epoch, early stopping's counters, whether training stopped early) and
``best.keras``, the best model so far (a hard link to ``model.keras``, no copy where the file
system has links). The two newest generations are kept; :meth:`Backup.restore` takes the
newest one that reads back and skips a damaged one, so weights, epoch, history and best model
always come from one moment.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import keras
import pandas as pd

from labwork6.durable import (
    commit,
    copy_file,
    fault_point,
    fsync_path,
    partial_path,
    remove,
    remove_partials,
    write_csv,
)

GENERATIONS = 2
WEIGHTS, STATE, BEST = "weights.weights.h5", "state.json", "best.keras"


@dataclasses.dataclass
class TrainingState:
    """Where a run's training stands after ``epoch`` finished epochs."""

    epoch: int = 0
    #: One row per finished epoch, ``epoch`` counted from 1, then the logged values.
    history: list = dataclasses.field(default_factory=list)
    best_score: float | None = None
    best_epoch: int | None = None
    early_stopping: dict | None = None
    stopped: bool = False  # early stopping (or the NaN guard) ended training


class Backup:
    """The generations of a run's training state in ``folder`` (``<run>/backup``)."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def generations(self) -> list[Path]:
        """The finished generations, newest first."""
        if not self.folder.is_dir():
            return []
        return sorted((path for path in self.folder.glob("epoch-*") if path.is_dir()), reverse=True)

    def save(self, model: keras.Model, state: TrainingState, best_model=None) -> Path:
        """Write ``state``, ``model``'s weights and a copy of ``best_model`` (if it exists) as a new
        generation; drop those beyond the newest :data:`GENERATIONS`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"epoch-{state.epoch:04d}"
        partial = partial_path(final)
        partial.mkdir()
        model.save_weights(partial / WEIGHTS)
        fault_point("saved", partial / WEIGHTS)  # written in place by Keras: torn if killed before this
        if best_model is not None and Path(best_model).exists():
            copy_file(best_model, partial / BEST)
        with open(partial / STATE, "w", encoding="utf8") as handle:
            json.dump(dataclasses.asdict(state), handle)
            handle.flush()
            os.fsync(handle.fileno())
        fsync_path(partial / WEIGHTS)
        fsync_path(partial)
        commit(partial, final)
        for old in self.generations()[GENERATIONS:]:
            remove(old)
        return final

    def restore(self, model: keras.Model) -> tuple[TrainingState, Path] | tuple[None, None]:
        """Load the newest generation that reads back whole into ``model`` (weights and
        optimizer state); return its state and folder, or ``(None, None)`` when there is none.

        Raises ``ValueError`` when generations exist but none can be read."""
        if self.folder.is_dir():
            remove_partials(self.folder)
        problems = []
        for generation in self.generations():
            try:
                state = TrainingState(**json.loads((generation / STATE).read_text(encoding="utf8")))
                if model.optimizer is not None and not model.optimizer.built:
                    model.optimizer.build(model.trainable_variables)  # its variables must exist to be loaded
                model.load_weights(generation / WEIGHTS)
            except Exception as error:  # h5py, JSON and Keras raise several types for a damaged file
                problems.append(f"{generation.name}: {type(error).__name__}: {str(error)[:120]}")
                print(f"[labwork6] the backup {generation} cannot be read ({problems[-1]}); trying an older one.",
                      flush=True)
                continue
            return state, generation
        if problems:
            raise ValueError(f"No backup in {self.folder} can be read ({'; '.join(problems)}). Pass --overwrite "
                             "(overwrite=True) to train the run again from the start.")
        return None, None


def restore_run_files(run_dir, state: TrainingState | None, generation: Path | None) -> None:
    """Make ``history.csv`` and ``model.keras`` of ``run_dir`` those of the restored backup
    (an epoch finished after it, or one cut short, leaves no trace)."""
    run_dir = Path(run_dir)
    remove_partials(run_dir)
    if state is not None and state.history:
        write_history(run_dir / "history.csv", state.history)
    else:
        remove(run_dir / "history.csv")
    if generation is not None and (generation / BEST).exists():
        copy_file(generation / BEST, run_dir / "model.keras")
    else:
        remove(run_dir / "model.keras")


def write_history(path, rows: list) -> None:
    """``history.csv``: one row per epoch, counted from 1, whole or not at all."""
    write_csv(pd.DataFrame(rows), path, index=False)


class BackupEachEpoch(keras.callbacks.Callback):
    """The last callback of a run: at each epoch's end, once every other callback has logged and
    saved, append the epoch to ``history.csv`` and back the training state up.

    Args:
        backup: the run's :class:`Backup`.
        run_dir: where ``history.csv`` and ``model.keras`` (the best model) are.
        state: the restored state (a new one for a fresh run), updated in place.
        best_model: the :class:`labwork6.callbacks.BestModel` of the run (``best``, ``best_epoch``).
        early_stopping: a :class:`labwork6.callbacks.ResumableEarlyStopping`, or None.
        write: False on a worker that does not write the run folder (multi-worker).
    """

    def __init__(self, backup: Backup, run_dir, state: TrainingState, best_model, early_stopping=None,
                 write: bool = True):
        super().__init__()
        self.backup, self.run_dir, self.state = backup, Path(run_dir), state
        self.best_model, self.early_stopping, self.write = best_model, early_stopping, write

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.state.history.append({"epoch": epoch + 1, **{key: float(logs[key]) for key in sorted(logs)}})
        self.state.epoch = epoch + 1
        if self.best_model.best_epoch is not None:
            self.state.best_score, self.state.best_epoch = float(self.best_model.best), self.best_model.best_epoch
        if self.early_stopping is not None:
            self.state.early_stopping = self.early_stopping.get_state()
        self.state.stopped = bool(self.model.stop_training)
        if not self.write:
            return
        write_history(self.run_dir / "history.csv", self.state.history)
        if math.isfinite(logs.get("loss", 0.0)):
            # A NaN epoch is not backed up: a run killed before it is marked failed trains it again.
            self.backup.save(self.model, self.state, self.run_dir / "model.keras")
