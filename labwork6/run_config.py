"""The configuration of a run as ``config.json`` records it: a frozen dataclass with a version.

:class:`RunConfig` is a network run's: the settings :func:`labwork6.recipes.resolve_config`
resolves (recipe, profile, the caller's overrides), then the facts training records (status,
shapes, parameter counts, versions...). :class:`BaselineConfig` is the SVC baseline's. Both are
frozen: a change is a new object (:meth:`RunConfig.replace`). :func:`write_config` and
:func:`read_config` are the only code that writes or reads ``config.json``; the file is the
objects' fields as JSON (and ``evaluation``, derived from ``folds``), so older readers of the
JSON keep working. ``run_format`` is the version: a folder of another format is refused with
what changed (:data:`FORMAT_CHANGES`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labwork6.data import check_folds
from labwork6.durable import write_text
from labwork6.machine import resolve_precision
from labwork6.robustness import SEVERITIES

CONFIG_FILE = "config.json"
#: Bumped when run folders change meaning; FORMAT_CHANGES says what a folder of an older format lacks.
RUN_FORMAT = 3
FORMAT_CHANGES = {
    1: "its model.keras does not hold its preprocessing (it has normalization.json)",
    2: "a resnet19 run has the 64-filter stem of the TET code, not Zheng et al.'s 128, and with --channels "
       "its model.keras needs labwork6 to load",
}
#: The baseline is fitted on at most this many images (an RBF SVC is quadratic in the
#: training set; CIFAR-10's 42,500 training and validation images would take hours).
SVC_MAX_TRAIN = 10_000
OPTIMIZERS = ("adamw", "adam", "sgd")
DISTRIBUTIONS = (None, "mirrored", "multiworker")
#: A run's status: training -> trained (the best model and the history are final) -> completed
#: (the test split is scored), or failed; None before training starts.
TRAINING, TRAINED, COMPLETED, FAILED = "training", "trained", "completed", "failed"
STATUSES = (None, TRAINING, TRAINED, COMPLETED, FAILED)


class RunFormatError(ValueError):
    """A ``config.json`` of another ``run_format`` than this labwork6's (:data:`RUN_FORMAT`)."""


def recorded(default=None):
    """A field the run records (a fact of its data, machine or training), not a setting: two runs
    with equal settings are the same run whatever these say."""
    return field(default=default, metadata={"recorded": True})


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {value!r}")


def plain(value):
    """``value`` as JSON gives it back (tuples as lists, numpy scalars as numbers)."""
    return json.loads(json.dumps(value, default=_json_default))


def _tuple(value):
    return None if value is None else tuple(value)


def _check_positive_int(name: str, value, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer{' or None' if allow_none else ''}. "
                         f"Received: {name}={value!r}")


@dataclass(frozen=True, kw_only=True)
class _Config:
    """What every run folder's configuration holds: what was run on which split, and what it found."""

    model: str
    dataset: str
    profile: str
    seed: int = 0
    #: At most this many images of the source (drawn before folding), or None (all).
    subsample: int | None = None
    #: k of a stratified k-fold cross-validation and the fold tested, or None (a holdout split).
    folds: int | None = None
    fold: int | None = None
    #: Test images scored under corruption (None: all) and the severities used.
    robustness_images: int | None = None
    robustness_severities: tuple[int, ...] = SEVERITIES
    run_format: int = RUN_FORMAT
    status: str | None = recorded()
    class_names: tuple[str, ...] | None = recorded()
    num_classes: int | None = recorded()
    counts: dict | None = recorded()
    raw_input_shape: tuple[int, ...] | None = recorded()
    versions: dict | None = recorded()
    hardware: dict | None = recorded()

    def __post_init__(self):
        for name in ("class_names", "raw_input_shape", "robustness_severities", *self._tuples()):
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        object.__setattr__(self, "seed", int(self.seed))
        self.check()

    def _tuples(self) -> tuple[str, ...]:
        return ()

    @property
    def evaluation(self) -> str:
        """``"cross-validation"`` for a fold of one, else ``"holdout"``."""
        return "cross-validation" if self.folds else "holdout"

    def check(self) -> None:
        """Raise ``ValueError`` naming the first invalid value."""
        if self.run_format != RUN_FORMAT:
            raise RunFormatError(_format_message(self.run_format))
        if self.status not in STATUSES:
            raise ValueError(f"`status` must be one of {STATUSES}. Received: status={self.status!r}")
        _check_positive_int("subsample", self.subsample)
        if self.folds is not None:
            check_folds(self.folds, self.fold)
        elif self.fold is not None:
            raise ValueError(f"`fold` needs `folds` (cross-validation); a holdout split has no folds. Received: "
                             f"fold={self.fold!r}, folds=None")
        _check_positive_int("robustness_images", self.robustness_images)
        severities = self.robustness_severities or ()
        if not severities or any(isinstance(s, bool) or s not in SEVERITIES for s in severities) \
                or len(set(severities)) != len(severities):
            raise ValueError(f"`robustness_severities` must be distinct severities from {SEVERITIES}. Received: "
                             f"robustness_severities={list(self.robustness_severities or ())!r}")

    def replace(self, **changes):
        """A copy with ``changes`` (checked like a new configuration)."""
        return dataclasses.replace(self, **changes)

    def settings(self) -> dict:
        """The settings (every field but the recorded facts) as JSON values: what two runs must
        share to be the same run."""
        return plain({item.name: getattr(self, item.name) for item in dataclasses.fields(self)
                      if not item.metadata.get("recorded")} | {"evaluation": self.evaluation})

    def to_json(self) -> dict:
        """The ``config.json`` object: every field, and ``evaluation``."""
        return plain(dataclasses.asdict(self) | {"evaluation": self.evaluation})

    @classmethod
    def from_json(cls, data: dict):
        """The configuration a ``config.json`` object holds; ``RunFormatError`` for another format,
        ``ValueError`` naming keys this labwork6 does not know."""
        if not isinstance(data, dict):
            raise ValueError(f"A run configuration must be a JSON object. Received: {type(data).__name__}")
        found = data.get("run_format", 1)
        if found != RUN_FORMAT:
            raise RunFormatError(_format_message(found))
        names = {item.name for item in dataclasses.fields(cls)}
        unknown = set(data) - names - {"evaluation"}
        if unknown:
            raise ValueError(f"Unknown keys in a run configuration of {cls.__name__}: {sorted(unknown)}. "
                             f"Valid: {sorted(names)}")
        return cls(**{key: value for key, value in data.items() if key in names})


def _format_message(found) -> str:
    what = FORMAT_CHANGES.get(found, FORMAT_CHANGES[1]) if isinstance(found, int) and found < RUN_FORMAT else \
        "it was written by a newer labwork6"
    return f"the run was written by another labwork6: {what}. Received: run_format={found!r} (this labwork6 " \
           f"reads and writes {RUN_FORMAT})"


@dataclass(frozen=True, kw_only=True)
class RunConfig(_Config):
    """A network run: the recipe of its model family (:data:`labwork6.recipes.RECIPES`), the
    profile's settings and the caller's, then what training records."""

    # The recipe
    optimizer: str
    learning_rate: float
    weight_decay: float
    warmup_fraction: float
    label_smoothing: float
    batch_size: int
    epochs: int
    #: None: the native size, raised to min_image_size when smaller.
    image_size: int | None = None
    min_image_size: int | None = None
    model_options: dict = field(default_factory=dict)
    #: RandomContrast's factor in the training augmentation (0: none).
    contrast_augmentation: float | None = None
    # The profile's and the caller's settings
    width: float = 1.0
    precision: str = "auto"
    channels: int | None = None
    augment: bool = True
    deterministic: bool = False
    distribute: str | None = None
    patience: int | None = None
    #: The share of the training split kept (stratified, seeded), or None (all).
    train_fraction: float | None = None
    # Recorded by training
    dataset_source: str | None = recorded()
    steps_per_epoch: int | None = recorded()
    input_shape: tuple[int, ...] | None = recorded()
    normalization: dict | None = recorded()
    parameters: dict | None = recorded()
    multiply_adds: int | None = recorded()
    resolved_precision: str | None = recorded()
    data_fingerprint: str | None = recorded()
    num_replicas_in_sync: int | None = recorded()
    epochs_run: int | None = recorded()
    error: str | None = recorded()

    def _tuples(self) -> tuple[str, ...]:
        return ("input_shape",)

    def check(self) -> None:
        super().check()
        for key in ("epochs", "batch_size"):
            _check_positive_int(key, getattr(self, key), allow_none=False)
        _check_positive_int("image_size", self.image_size)
        if not self.learning_rate > 0:
            raise ValueError(f"`learning_rate` must be > 0. Received: learning_rate={self.learning_rate!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"`optimizer` must be one of {OPTIMIZERS}. Received: optimizer={self.optimizer!r}")
        if self.distribute not in DISTRIBUTIONS:
            raise ValueError(f"`distribute` must be one of {DISTRIBUTIONS}. Received: distribute={self.distribute!r}")
        if not 0 <= self.warmup_fraction < 1:
            raise ValueError(f"`warmup_fraction` must be in [0, 1). Received: {self.warmup_fraction!r}")
        resolve_precision(self.precision)  # validates the name
        fraction = self.train_fraction
        if fraction is not None and (isinstance(fraction, bool) or not isinstance(fraction, (int, float))
                                     or not 0 < fraction <= 1):
            raise ValueError(f"`train_fraction` must be a number in (0, 1] (the share of the training split kept). "
                             f"Received: train_fraction={fraction!r}")
        factor = self.contrast_augmentation
        if factor is not None and (isinstance(factor, bool) or not isinstance(factor, (int, float))
                                   or not 0 <= factor < 1):
            raise ValueError(f"`contrast_augmentation` must be a number in [0, 1) (RandomContrast's factor: contrast "
                             f"scaled by a random factor in [1 - f, 1 + f]; 0: none) or None (the recipe's). "
                             f"Received: contrast_augmentation={factor!r}")


@dataclass(frozen=True, kw_only=True)
class BaselineConfig(_Config):
    """The SVC baseline's run (:mod:`labwork6.baseline`): its settings, then what the fit records."""

    model: str = "svc"
    kernel: str = "rbf"
    features: str = ""
    max_train: int = SVC_MAX_TRAIN
    #: Each corruption's parameter per severity (labwork6.robustness.SEVERITY_PARAMETERS).
    corruptions: dict = field(default_factory=dict)
    class_counts: dict | None = recorded()
    source: str | None = recorded()
    fit_images: int | None = recorded()

    def check(self) -> None:
        super().check()
        _check_positive_int("max_train", self.max_train, allow_none=False)


def config_class(data: dict) -> type[_Config]:
    """The configuration class of a ``config.json`` object: by its ``model``."""
    return BaselineConfig if isinstance(data, dict) and data.get("model") == BaselineConfig.model else RunConfig


def write_config(run_dir, config: _Config) -> None:
    """Write ``config`` to ``<run_dir>/config.json``, whole or not at all (:mod:`labwork6.durable`)."""
    write_text(Path(run_dir) / CONFIG_FILE, json.dumps(config.to_json(), indent=2) + "\n")


def read_config(run_dir) -> RunConfig | BaselineConfig | None:
    """The configuration in ``<run_dir>/config.json``, or None when there is none. Raises
    ``RunFormatError`` for a run of another format and ``ValueError`` for a file that is not a
    run configuration (both name the file)."""
    path = Path(run_dir) / CONFIG_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        return config_class(data).from_json(data)
    except RunFormatError as error:
        raise RunFormatError(f"{path}: {error}") from None
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path} is not a run configuration of this labwork6: {error}") from None
