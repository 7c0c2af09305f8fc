"""Argument checks and the classifier layer shared by the VGG and ResNet builders."""

from __future__ import annotations

import keras

CLASSIFIER_ACTIVATIONS = ("softmax", "sigmoid", None)
#: Names of the layers a trained model puts between its input and the network (see
#: :func:`front_layers`); they are not part of the architecture and are not counted.
FRONT_LAYERS = ("preprocessing", "augmentation")


def check_common_arguments(
    input_shape, num_classes, width, classifier_activation, min_size
) -> tuple[int, int, int]:
    """Validate the arguments every builder takes; return ``(height, width, channels)``.

    ``min_size`` is the smallest height and width the network accepts (its total
    down-sampling factor).
    """
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise ValueError(
            "`input_shape` must be a tuple (height, width, channels). "
            f"Received: input_shape={input_shape!r}"
        ) from None
    if len(shape) != 3 or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise ValueError(
            "`input_shape` must have rank 3 and integer sizes: (height, width, channels), "
            f"e.g. (32, 32, 3). Received: input_shape={input_shape!r}"
        )
    height, width_px, channels = shape
    if channels < 1:
        raise ValueError(f"`input_shape` needs at least one channel. Received: input_shape={shape}")
    if height < min_size or width_px < min_size:
        raise ValueError(
            f"This network down-samples its input {min_size}x, so height and width must be "
            f">= {min_size}. Received: input_shape={shape}. Resize the images "
            f"(e.g. image_size={min_size})."
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"`num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}"
        )
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
        raise ValueError(
            f"`width` must be a number > 0 (1.0 = the paper's widths). Received: width={width!r}"
        )
    if classifier_activation not in CLASSIFIER_ACTIVATIONS:
        raise ValueError(
            "`classifier_activation` must be one of 'softmax', 'sigmoid' or None (logits). "
            f"Received: classifier_activation={classifier_activation!r}"
        )
    return height, width_px, channels


def front_layers(input_shape, preprocessing=None, augmentation=None) -> tuple[tuple, list]:
    """The shape of the model's ``Input`` and the layers between it and the network.

    ``preprocessing`` (a model named "preprocessing", e.g.
    :func:`labwork6.preprocessing.build_preprocessing`) turns raw images into the network's
    ``input_shape``; the model's input is then the preprocessing's (raw images of any size).
    ``augmentation`` (named "augmentation") is active in training only. Both None: the
    input is ``input_shape`` and there is nothing in front, as in keras.applications.
    """
    for layer, name in zip((preprocessing, augmentation), FRONT_LAYERS, strict=True):
        if layer is not None and layer.name != name:
            raise ValueError(f"The {name} layer must be named {name!r}. Received: name={layer.name!r}")
    shape = tuple(input_shape)
    if preprocessing is not None:
        produced = tuple(preprocessing.outputs[0].shape[1:])
        if produced != shape:
            raise ValueError(
                f"`preprocessing` must produce the network's input_shape {shape}. "
                f"Received: preprocessing with output shape {produced}"
            )
        shape = tuple(preprocessing.inputs[0].shape[1:])
    return shape, [layer for layer in (preprocessing, augmentation) if layer is not None]


def scaled(units: int, width: float) -> int:
    """Number of filters or units for a width multiplier (never below 1)."""
    return max(1, int(round(units * width)))


def output_units(num_classes: int, classifier_activation) -> int:
    """One sigmoid unit for two classes (the slides' binary case), else one unit per class."""
    if num_classes == 2 and classifier_activation == "sigmoid":
        return 1
    return num_classes


def predictions_layer(num_classes: int, classifier_activation) -> keras.layers.Dense:
    """The last layer, kept in float32 so mixed precision never rounds the probabilities."""
    return keras.layers.Dense(
        output_units(num_classes, classifier_activation),
        activation=classifier_activation,
        dtype="float32",
        name="predictions",
    )
