"""One line per epoch from a training run to whoever watches: the terminal of the main job.

Training runs inside notebook kernels, whose output the terminal never sees. When the
environment variable ``LABWORK6_PROGRESS`` names a file, every run appends one JSON line per
epoch to it (:class:`EpochProgress`); the pipeline follows that file (:class:`ProgressFollower`)
and prints a line per epoch with the estimated time left for the run and for the whole job.
Keras' own progress bar stays in the notebook.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import keras

PROGRESS_ENV = "LABWORK6_PROGRESS"


class EpochProgress(keras.callbacks.Callback):
    """Appends ``{"run", "model", "seed", "epoch", "epochs", "seconds", "accuracy", "val_accuracy"}``
    to the file named by ``$LABWORK6_PROGRESS`` at the end of every epoch (nothing when unset)."""

    def __init__(self, run: str, model: str, seed: int, epochs: int):
        super().__init__()
        self.path = os.environ.get(PROGRESS_ENV)
        self.fields = {"run": run, "model": model, "seed": seed, "epochs": epochs}

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if not self.path:
            return
        logs = logs or {}
        line = {**self.fields, "epoch": epoch + 1, "seconds": time.perf_counter() - self._start,
                "accuracy": logs.get("accuracy"), "val_accuracy": logs.get("val_accuracy")}
        with open(self.path, "a", encoding="utf8") as file:
            file.write(json.dumps(line, default=float) + "\n")


def format_seconds(seconds: float) -> str:
    """``1 min 05 s`` or ``42 s``."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class ProgressFollower:
    """Follows a progress file in a thread and logs a line per epoch.

    ``planned`` maps each run the job will train (its folder name, e.g.
    ``digits-vgg19_bn-seed0``) to ``(model, epochs)``; the job's time left is the epochs not yet
    run times each run's seconds per epoch: its own latest (the first epoch, which also builds
    the graph, does not count), else the mean of the runs of the same model, else of any run
    seen. Runs not planned (e.g. notebook 03's faces run) are added when they appear. The
    follower of the next notebook takes the ``previous`` one's epochs and rates, so the runs
    an earlier notebook finished are not counted again.
    """

    def __init__(self, path, planned: dict[str, tuple[str, int]], log=print, prefix: str = "", poll: float = 0.5,
                 *, previous: ProgressFollower | None = None):
        self.path, self.planned, self.log, self.prefix, self.poll = Path(path), dict(planned), log, prefix, poll
        self.profile_runs = set(planned)  # whose rates stand for runs not seen yet
        self.done: dict[str, int] = {}
        self.rates: dict[str, float] = {}  # seconds per epoch, per run
        if previous is not None:  # the job's earlier notebooks: the epochs they ran, and at what rate
            self.planned.update(previous.planned)
            self.profile_runs |= previous.profile_runs
            self.done.update(previous.done)
            self.rates.update(previous.rates)
        self._stop = threading.Event()
        self._offset = self.path.stat().st_size if self.path.exists() else 0
        self._thread = threading.Thread(target=self._follow, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._read()  # lines written just before the end

    def _rate(self, run: str, model: str, fallback: float) -> float:
        """Seconds per epoch of ``run``: its own, else the mean of the planned runs of the same
        model seen so far, else of any planned run seen, else ``fallback``."""
        if run in self.rates:
            return self.rates[run]
        planned = {name: rate for name, rate in self.rates.items() if name in self.profile_runs}
        same = [rate for name, rate in planned.items() if self.planned[name][0] == model]
        seen = same or list(planned.values())
        return sum(seen) / len(seen) if seen else fallback

    def line(self, record: dict) -> str:
        """The terminal line for one epoch record (also updates the estimates)."""
        run, model, seconds = record["run"], record["model"], float(record["seconds"])
        self.done[run] = int(record["epoch"])
        self.planned.setdefault(run, (model, int(record["epochs"])))
        if int(record["epoch"]) > 1:  # the first epoch also builds the graph
            self.rates[run] = seconds
        run_left = (int(record["epochs"]) - int(record["epoch"])) * self._rate(run, model, seconds)
        job_left = sum(max(0, epochs - self.done.get(name, 0)) * self._rate(name, kind, seconds)
                       for name, (kind, epochs) in self.planned.items())

        def percent(value):
            return "n/a" if value is None else f"{100 * float(value):.1f}%"

        return (f"{self.prefix}{run}: epoch {record['epoch']}/{record['epochs']}, "
                f"train {percent(record.get('accuracy'))}, val {percent(record.get('val_accuracy'))}, "
                f"{seconds:.1f} s/epoch, run ~{format_seconds(run_left)} left, "
                f"training in this job ~{format_seconds(job_left)} left")

    def _read(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf8") as file:
            file.seek(self._offset)
            text = file.read()
        complete, _, _ = text.rpartition("\n")
        if not complete:
            return
        self._offset += len((complete + "\n").encode("utf8"))
        for raw in complete.splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            self.log(self.line(record), flush=True)

    def _follow(self) -> None:
        while not self._stop.wait(self.poll):
            self._read()
