"""VGG networks built with the Keras Sequential API.

Reference:
    Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
    Recognition", ICLR 2015 (arXiv:1409.1556), Table 1, configurations A, B, D, E.
"""

from __future__ import annotations

import keras

from labwork6.models._common import check_common_arguments, front_layers, predictions_layer, scaled

#: Convolutions per block for each depth (Table 1 of the paper); every block ends with a
#: 2x2 max pooling of stride 2 and the five blocks have 64, 128, 256, 512, 512 filters.
VGG_CONFIGS = {
    11: (1, 1, 2, 2, 2),  # A
    13: (2, 2, 2, 2, 2),  # B
    16: (2, 2, 3, 3, 3),  # D
    19: (2, 2, 4, 4, 4),  # E
}
VGG_FILTERS = (64, 128, 256, 512, 512)

#: Fully connected units per head: the paper's fc4096-fc4096, or a compact head for
#: small images (the same three weight layers, so VGG19 keeps its 19 layers).
VGG_HEADS = {"paper": 4096, "compact": 512}

#: Five poolings halve height and width five times.
VGG_MIN_SIZE = 2 ** len(VGG_FILTERS)


def build_vgg(
    depth: int = 19,
    *,
    input_shape=(224, 224, 3),
    num_classes: int = 1000,
    batch_norm: bool = False,
    head: str = "paper",
    dropout_rate: float = 0.5,
    width: float = 1.0,
    classifier_activation: str | None = "softmax",
    kernel_initializer: str = "he_normal",
    preprocessing: keras.Layer | None = None,
    augmentation: keras.Layer | None = None,
    name: str | None = None,
) -> keras.Sequential:
    """Build an uncompiled VGG network (configuration A, B, D or E) with ``keras.Sequential``.

    Args:
        depth: 11, 13, 16 or 19 weight layers.
        input_shape: ``(height, width, channels)``, any channel count; height and width
            must be >= 32 because the five poolings halve them five times.
        num_classes: >= 2. With 2 classes and ``classifier_activation="sigmoid"`` the
            network ends in one sigmoid unit (binary cross-entropy), as the slides teach.
        batch_norm: False is the paper's network; True puts batch normalisation after
            every convolution (VGG19-BN).
        head: ``"paper"`` (fc4096-fc4096) or ``"compact"`` (fc512-fc512), each with
            dropout ``dropout_rate`` after the two hidden layers.
        width: multiplier of every filter and unit count; 1.0 is the paper.
        classifier_activation: ``"softmax"``, ``"sigmoid"`` or None (logits).
        kernel_initializer: initialiser of the convolutions (He et al. 2015 by default,
            which trains the 19-layer network from scratch without the paper's staging).

    Returns:
        An uncompiled ``keras.Sequential`` with keras.applications layer names
        (``block1_conv1`` ... ``block5_pool``, ``flatten``, ``fc1``, ``fc2``,
        ``predictions``). The default configuration has 143,667,240 parameters, exactly
        ``keras.applications.VGG19(weights=None)``. No pretrained weights are ever loaded.
    """
    if depth not in VGG_CONFIGS:
        raise ValueError(
            f"`depth` must be one of {sorted(VGG_CONFIGS)}. Received: depth={depth!r}"
        )
    if head not in VGG_HEADS:
        raise ValueError(f"`head` must be one of {sorted(VGG_HEADS)}. Received: head={head!r}")
    if not 0 <= dropout_rate < 1:
        raise ValueError(f"`dropout_rate` must be in [0, 1). Received: dropout_rate={dropout_rate!r}")
    check_common_arguments(input_shape, num_classes, width, classifier_activation, VGG_MIN_SIZE)

    raw_shape, front = front_layers(input_shape, preprocessing, augmentation)
    layers = [keras.Input(shape=raw_shape, name="input_layer"), *front]
    for block, (convs, filters) in enumerate(zip(VGG_CONFIGS[depth], VGG_FILTERS, strict=True), start=1):
        for index in range(1, convs + 1):
            prefix = f"block{block}_"
            layers.append(
                keras.layers.Conv2D(
                    scaled(filters, width),
                    3,
                    padding="same",
                    activation=None if batch_norm else "relu",
                    kernel_initializer=kernel_initializer,
                    name=f"{prefix}conv{index}",
                )
            )
            if batch_norm:
                # Momentum 0.9 (PyTorch's 0.1): with ~20 steps per epoch on small data,
                # Keras' 0.99 leaves the moving statistics far from the batch ones.
                layers.append(keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{prefix}bn{index}"))
                layers.append(keras.layers.ReLU(name=f"{prefix}relu{index}"))
        layers.append(keras.layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool"))

    units = scaled(VGG_HEADS[head], width)
    layers.append(keras.layers.Flatten(name="flatten"))
    for index in (1, 2):
        layers.append(keras.layers.Dense(units, activation="relu", name=f"fc{index}"))
        if dropout_rate:
            layers.append(keras.layers.Dropout(dropout_rate, name=f"fc{index}_dropout"))
    layers.append(predictions_layer(num_classes, classifier_activation))
    # One Sequential from the whole stack: it builds once. `model.add(layer)` after an Input rebuilds
    # the model at every layer (VGG19-BN: 1.5 s to build instead of 0.7 s on 2 cores).
    model = keras.Sequential(layers, name=name or f"vgg{depth}{'_bn' if batch_norm else ''}")
    return model


def build_vgg19(**kwargs) -> keras.Sequential:
    """VGG19 (configuration E): 16 convolutions and 3 fully connected layers.

    Takes the keyword arguments of :func:`build_vgg`.
    """
    return build_vgg(19, **kwargs)
