"""Model registry: every architecture of the project by name, built from scratch."""

from __future__ import annotations

from functools import partial

import keras

from labwork6.models.resnet import build_resnet, build_resnet_preset
from labwork6.models.summary import count_parameters, layer_table
from labwork6.models.vgg import build_vgg, build_vgg19

MODELS = {
    "vgg11": partial(build_vgg, 11),
    "vgg13": partial(build_vgg, 13),
    "vgg16": partial(build_vgg, 16),
    "vgg19": partial(build_vgg, 19),
    "vgg19_bn": partial(build_vgg, 19, batch_norm=True),
    "resnet18": partial(build_resnet_preset, "resnet18"),
    "resnet19": partial(build_resnet_preset, "resnet19"),  # Zheng et al.'s table: 128-filter stem
    "resnet19_tet": partial(build_resnet_preset, "resnet19_tet"),  # Deng et al.'s TET code: 64-filter stem
    "resnet34": partial(build_resnet_preset, "resnet34"),
    "resnet50": partial(build_resnet_preset, "resnet50"),
    "resnet50_v1_5": partial(build_resnet_preset, "resnet50_v1_5"),
    "plain34": partial(build_resnet_preset, "plain34"),
}
MODEL_NAMES = tuple(MODELS)


def _check_name(name) -> None:
    if name not in MODELS:
        raise ValueError(f"Unknown model. Valid names: {', '.join(MODEL_NAMES)}. Received: name={name!r}")


def get_model(name: str, **kwargs) -> keras.Model:
    """Build the registered model ``name`` (uncompiled, randomly initialised).

    Keyword arguments go to the builder (:func:`build_vgg` or :func:`build_resnet`),
    e.g. ``input_shape``, ``num_classes``, ``width``, ``classifier_activation``.
    """
    _check_name(name)
    return MODELS[name](**kwargs)


def model_family(name: str) -> str:
    """``"vgg"`` or ``"resnet"`` (``plain34`` counts as a ResNet: same builder and recipe)."""
    _check_name(name)
    return "vgg" if name.startswith("vgg") else "resnet"


__all__ = [
    "MODELS", "MODEL_NAMES", "build_resnet", "build_vgg", "build_vgg19", "count_parameters",
    "get_model", "layer_table", "model_family",
]
