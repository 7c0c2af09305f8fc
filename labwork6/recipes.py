"""Training recipes and the configuration of a run: what to train, how long, how fast.

A run's configuration is the recipe of its model family, then the profile's settings, then
the caller's overrides; :func:`resolve_config` builds it and checks every value. From a
configuration, :func:`run_dataset` gives the run's data and :func:`build_network` its network
(for training, and for reading a finished run).
"""

from __future__ import annotations

import keras

from labwork6.data import load_dataset
from labwork6.machine import resolve_precision
from labwork6.models import get_model, model_family
from labwork6.optimizers import XlaAdamW
from labwork6.profiles import get_profile

#: AdamW with a short linear warm-up and a cosine decay to zero, label smoothing, small
#: batches (many steps on small data): what trained both families from scratch here.
_ADAMW_COSINE = {
    "optimizer": "adamw",
    "learning_rate": 1e-3,
    "weight_decay": 1e-4,
    "warmup_fraction": 0.05,
    "label_smoothing": 0.1,
    "batch_size": 32,
    "image_size": None,  # None: the native size, raised to min_image_size when smaller
}

#: Default training recipe per model family: what reliably trains each network from
#: scratch on small data (README, "Training recipe", says why).
RECIPES: dict[str, dict] = {
    # Half ResNet19's peak rate: at 1e-3 VGG19-BN's validation accuracy swung for epochs. The
    # paper's head without its dropout (as keras.applications.VGG19): in 5-6 epochs the paper's
    # 0.5 slowed learning (README, "Training recipe, and why").
    "vgg": {**_ADAMW_COSINE, "learning_rate": 5e-4, "epochs": 5, "min_image_size": 32,  # five 2x2 poolings
            "model_options": {"head": "paper", "dropout_rate": 0.0}},
    # Two stride-2 stages leave 4x4 maps at 16x16, as 32x32 CIFAR images leave 8x8.
    "resnet": {**_ADAMW_COSINE, "epochs": 5, "min_image_size": 16, "model_options": {}},
}
OPTIMIZERS = ("adamw", "adam", "sgd")
DISTRIBUTIONS = (None, "mirrored", "multiworker")
#: Bumped when run folders change meaning (2: preprocessing inside model.keras; 3: resnet19 with Zheng
#: et al.'s 128-filter stem, as format-2 runs of resnet19 had the TET code's 64, and only stock Keras layers).
RUN_FORMAT = 3


def resolve_config(model: str, dataset: str | None = None, *, profile: str | None = None, seed: int = 0,
                   **overrides) -> dict:
    """The full configuration of a run: recipe of the model family, then profile, then overrides.

    ``overrides`` may set any recipe key (``epochs``, ``batch_size``, ``learning_rate``,
    ``optimizer``, ``weight_decay``, ``warmup_fraction``, ``label_smoothing``,
    ``image_size``, ``model_options``) and ``width``, ``precision``, ``channels``,
    ``augment``, ``deterministic``, ``distribute``, ``patience``, ``subsample``; a value
    of None keeps the default.
    """
    family = model_family(model)
    settings = get_profile(profile)
    config = {"model": model, "dataset": str(dataset or settings["dataset"]), "profile": settings["name"],
              "seed": int(seed), "run_format": RUN_FORMAT, **RECIPES[family]}
    config["model_options"] = dict(config["model_options"])
    config.update({"width": settings["width"], "precision": settings["precision"],
                   "subsample": settings["subsample"], "channels": None, "augment": True,
                   "deterministic": False, "distribute": None, "patience": None})
    for key in ("epochs", "batch_size"):
        if settings.get(key):
            config[key] = settings[key]
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(f"Unknown training options {sorted(unknown)}. Valid: {sorted(config)}")
    config.update({key: value for key, value in overrides.items() if value is not None})
    check_config(config)
    return config


def check_config(config: dict) -> None:
    """Raise ``ValueError`` naming the first invalid value of a run configuration."""
    positive = {"epochs": int, "batch_size": int, "image_size": int}
    for key, kind in positive.items():
        value = config[key]
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool) or value < 1):
            raise ValueError(f"`{key}` must be a positive integer. Received: {key}={value!r}")
    if not config["learning_rate"] > 0:
        raise ValueError(f"`learning_rate` must be > 0. Received: learning_rate={config['learning_rate']!r}")
    if config["optimizer"] not in OPTIMIZERS:
        raise ValueError(f"`optimizer` must be one of {OPTIMIZERS}. Received: optimizer={config['optimizer']!r}")
    if config["distribute"] not in DISTRIBUTIONS:
        raise ValueError(f"`distribute` must be one of {DISTRIBUTIONS}. Received: distribute={config['distribute']!r}")
    if not 0 <= config["warmup_fraction"] < 1:
        raise ValueError(f"`warmup_fraction` must be in [0, 1). Received: {config['warmup_fraction']!r}")
    resolve_precision(config["precision"])  # validates the name


def run_dataset(config: dict):
    """The dataset of a run, split (and, in the smoke profile, subsampled) exactly as it was trained."""
    data = load_dataset(config["dataset"], seed=config["seed"])
    if config.get("subsample"):
        data = data.subsample(config["subsample"], seed=config["seed"])
    return data


def build_network(config: dict, input_shape=None, num_classes: int | None = None, *, preprocessing=None,
                  augmentation=None) -> keras.Model:
    """The network of a run from its configuration: ``config["model"]`` at ``config["width"]``
    with its ``model_options``, a sigmoid unit for two classes, else a softmax.

    Training passes the ``preprocessing`` and ``augmentation`` layers that go in front, and the
    ``input_shape`` and ``num_classes`` of its data; for a finished run they default to the
    ``input_shape`` (the network's, after preprocessing) and ``num_classes`` of its config, and the
    result is the bare, untrained network (``input_shape`` may ask for another size).
    """
    input_shape = config["input_shape"] if input_shape is None else input_shape
    num_classes = int(config["num_classes"] if num_classes is None else num_classes)
    return get_model(config["model"], input_shape=tuple(int(d) for d in input_shape), num_classes=num_classes,
                     width=config.get("width", 1.0), classifier_activation="sigmoid" if num_classes == 2 else "softmax",
                     preprocessing=preprocessing, augmentation=augmentation, **(config.get("model_options") or {}))


def model_image_size(config: dict, image_shape) -> int | None:
    """The size images are resized to: ``image_size`` if set, else the native size, raised to
    the family's ``min_image_size`` when smaller (digits' 8x8 -> 32x32 for VGG)."""
    if config.get("image_size"):
        return config["image_size"]
    minimum = config.get("min_image_size") or 1
    return minimum if min(image_shape[:2]) < minimum else None


def make_optimizer(config: dict, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The recipe's optimizer with a linear warm-up then cosine decay to zero, per step."""
    total = steps_per_epoch * config["epochs"]
    warmup = int(config["warmup_fraction"] * total)
    peak = config["learning_rate"]
    if warmup:
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0, max(1, total - warmup), warmup_target=peak, warmup_steps=warmup)
    else:
        schedule = keras.optimizers.schedules.CosineDecay(peak, max(1, total))
    if config["optimizer"] == "sgd":
        return keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=config["weight_decay"])
    if config["optimizer"] == "adam":
        return keras.optimizers.Adam(schedule)
    # Keras' AdamW, its update fused by XLA on TensorFlow (1.27x per VGG19-BN step on a 2-core CPU).
    return XlaAdamW(schedule, weight_decay=config["weight_decay"])
